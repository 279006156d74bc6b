//! Inputs and outputs of engine operations, already parsed into domain types.

use chrono::{DateTime, Utc};

use crate::fields::{ClientKey, Creator, Description, DriveId, FileId, ShareName, TenantId};
use crate::id::ShareId;
use crate::password::SharePassword;
use crate::share::{Audience, Counters, Limits, Member, Permissions, Share, ShareFiles};

/// Input of [`Engine::create_share_link`](crate::Engine::create_share_link).
#[derive(Debug, Clone)]
pub struct CreateShareRequest {
    /// The creator's tenant.
    pub tenant: TenantId,
    /// The creator's profile (its `user_id` identifies the creator).
    pub creator: Creator,
    /// The drive holding the files.
    pub drive_id: DriveId,
    /// What to share.
    pub files: ShareFiles,
    /// Optional password.
    pub password: Option<SharePassword>,
    /// Display name; defaults to the first shared file's name.
    pub name: Option<ShareName>,
    /// Description.
    pub description: Description,
    /// Expiration; `None` = never. Must be in the future.
    pub expiration: Option<DateTime<Utc>>,
    /// Who may use it.
    pub audience: Audience,
    /// Per-action switches.
    pub permissions: Permissions,
    /// Per-action limits.
    pub limits: Limits,
}

impl CreateShareRequest {
    /// A request with defaults: no password, no expiration, anyone, no limits.
    pub fn new(tenant: TenantId, creator: Creator, drive_id: DriveId, files: ShareFiles) -> Self {
        Self {
            tenant,
            creator,
            drive_id,
            files,
            password: None,
            name: None,
            description: Description::default(),
            expiration: None,
            audience: Audience::Anyone,
            permissions: Permissions::default(),
            limits: Limits::default(),
        }
    }
}

/// Input of [`Engine::get_share_token`](crate::Engine::get_share_token).
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// The share.
    pub share_id: ShareId,
    /// The password typed, if any.
    pub password: Option<SharePassword>,
    /// Requested lifetime in seconds: `None`/0 = 7200, otherwise 1..=7200.
    pub expire_sec: Option<u32>,
    /// The host's throttling key for this client (an IP prefix, say).
    pub client: ClientKey,
    /// The signed-in caller, if any (needed for members-only shares).
    pub caller: Option<Member>,
}

/// Input of the `authorize_*` operations: a use of one file of a share
/// (list, get, preview, download, save) under a share token.
///
/// Not to be confused with an *access*, which in this crate (as in PDS's
/// `access_count` and access quota) always means **a share token issued**:
/// [`UseKind::Access`](crate::UseKind::Access),
/// [`QuotaKind::Access`](crate::QuotaKind::Access),
/// [`Storage::record_access`](crate::Storage::record_access).
#[derive(Debug, Clone)]
pub struct FileRequest<'a> {
    /// The `x-share-token` text.
    pub token: &'a str,
    /// The share the request names.
    pub share_id: &'a ShareId,
    /// The file (or `root` for listing the share's top level).
    pub file_id: &'a FileId,
    /// The signed-in caller, if any.
    pub caller: Option<&'a Member>,
}

/// The public view of a share (PDS GetShareLinkByAnonymous).
///
/// Never contains the password, its hash or the file list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnonymousShareView {
    /// The share id.
    pub share_id: ShareId,
    /// The creator's user id.
    pub creator_id: String,
    /// The creator's name, masked.
    pub creator_name: String,
    /// The creator's phone, masked.
    pub creator_phone: String,
    /// The creator's avatar URL.
    pub avatar: String,
    /// The share's name.
    pub share_name: String,
    /// The share's description.
    pub description: String,
    /// Expiration (`None` = never).
    pub expiration: Option<DateTime<Utc>>,
    /// Last update.
    pub updated_at: DateTime<Utc>,
    /// Whether a password is needed.
    pub has_pwd: bool,
    /// Whether only members may use it.
    pub require_login: bool,
    /// Per-action switches.
    pub permissions: Permissions,
    /// Limits.
    pub limits: Limits,
    /// Counters.
    pub counters: Counters,
    /// Number of top-level shared items (0 for whole-drive shares).
    pub file_count: usize,
}

impl AnonymousShareView {
    pub(crate) fn of(share: &Share) -> Self {
        let creator = share.creator();
        Self {
            share_id: share.id().clone(),
            creator_id: creator.user_id.to_string(),
            creator_name: creator.masked_name(),
            creator_phone: creator.masked_phone(),
            avatar: creator.avatar.clone(),
            share_name: share.name().to_string(),
            description: share.description().to_string(),
            expiration: share.expiration(),
            updated_at: share.updated_at(),
            has_pwd: share.has_password(),
            require_login: share.audience() == Audience::MembersOnly,
            permissions: share.permissions(),
            limits: share.limits(),
            counters: share.counters(),
            file_count: share.files().ids().len(),
        }
    }
}
