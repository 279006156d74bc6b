//! The share itself, and its state transitions.
//!
//! Every transition is a pure function of the current [`Share`], its input and
//! `now`, returning the next `Share` or a typed [`ShareError`]. Nothing here
//! reads a clock, touches storage or draws randomness. The
//! [`Engine`](crate::Engine) loads the share, calls a transition, and writes the
//! result back with a version check.
//!
//! Invariants kept by construction:
//! - a share that is cancelled, forbidden or expired at `now`, or whose
//!   password does not verify, never yields [`TokenClaims`];
//! - the token epoch changes whenever the password, audience, expiration or
//!   status changes, so that outstanding tokens die;
//! - the version increases by exactly one with every stored change.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::code::{ErrorCode, InputError};
use crate::fields::{Creator, Description, DriveId, FileId, ShareName, TenantId, UserId};
use crate::id::ShareId;
use crate::password::{PasswordHash, SharePassword};
use crate::token::{TokenClaims, TokenError, VerifiedToken};

/// Most files one share may list explicitly (PDS: `file_id_list` 1–100).
pub const MAX_SHARED_FILES: usize = 100;
/// Longest share-token lifetime, and the default (PDS `expire_sec`).
pub const MAX_TOKEN_LIFETIME_SECS: u32 = 7200;

/// What a share exposes: an explicit list of top-level files and folders, or
/// the whole drive (`share_all_files`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareFiles {
    /// 1–100 distinct top-level file or folder ids (a [`SharedIds`] holds
    /// only such lists).
    Listed(SharedIds),
    /// Every file of the drive.
    AllFiles,
}

/// The explicit file list of a share: 1–[`MAX_SHARED_FILES`] distinct ids
/// in the creator's order.
///
/// A value that exists is valid: the only ways to get one are
/// [`SharedIds::new`] (or [`ShareFiles::listed`]) and deserializing, and
/// both check the same rule, so a stored or hand-written list of 0, 101 or
/// duplicate ids is refused, never loaded.
///
/// ```compile_fail
/// # use sharelink_core::{ShareFiles, SharedIds};
/// // The list is private: no empty or duplicate list can be built by hand.
/// let files = ShareFiles::Listed(SharedIds(Vec::new()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<FileId>", into = "Vec<FileId>")]
pub struct SharedIds(Vec<FileId>);

impl SharedIds {
    /// Validates an explicit list: 1–100 ids, no duplicates.
    pub fn new(ids: Vec<FileId>) -> Result<Self, InputError> {
        if ids.is_empty() {
            return Err(InputError::Missing {
                field: "file_id_list",
            });
        }
        if ids.len() > MAX_SHARED_FILES {
            return Err(InputError::out_of_range(
                "file_id_list",
                format!("1..={MAX_SHARED_FILES} ids, got {}", ids.len()),
            ));
        }
        let mut seen = BTreeSet::new();
        if let Some(dup) = ids.iter().find(|id| !seen.insert(*id)) {
            return Err(InputError::invalid(
                "file_id_list",
                format!("duplicate id {dup}"),
            ));
        }
        Ok(Self(ids))
    }

    /// The ids, in the creator's order.
    pub fn as_slice(&self) -> &[FileId] {
        &self.0
    }

    /// Whether `id` is one of the shared ids.
    pub fn contains(&self, id: &FileId) -> bool {
        self.0.contains(id)
    }
}

impl TryFrom<Vec<FileId>> for SharedIds {
    type Error = InputError;
    fn try_from(ids: Vec<FileId>) -> Result<Self, InputError> {
        Self::new(ids)
    }
}

impl From<SharedIds> for Vec<FileId> {
    fn from(ids: SharedIds) -> Self {
        ids.0
    }
}

impl ShareFiles {
    /// Validates an explicit list: 1–100 ids, no duplicates.
    pub fn listed(ids: Vec<FileId>) -> Result<Self, InputError> {
        SharedIds::new(ids).map(Self::Listed)
    }

    /// The explicit ids, or an empty slice for a whole-drive share.
    pub fn ids(&self) -> &[FileId] {
        match self {
            Self::Listed(ids) => ids.as_slice(),
            Self::AllFiles => &[],
        }
    }
}

/// Who may use a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Anyone who has the link (and the password, if set).
    #[default]
    Anyone,
    /// Only signed-in members of the share's tenant (PDS `require_login`).
    MembersOnly,
}

/// The creator's own switch: the share is live or cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareStatus {
    /// Live (`enabled` on the wire).
    Enabled,
    /// Cancelled by its creator (`disabled` on the wire).
    Cancelled,
}

impl ShareStatus {
    /// The PDS wire spelling: `enabled` or `disabled`.
    pub fn as_wire(self) -> &'static str {
        match self {
            Self::Enabled => "enabled",
            Self::Cancelled => "disabled",
        }
    }

    /// Parses the PDS wire spelling.
    pub fn from_wire(s: &str) -> Result<Self, InputError> {
        match s {
            "enabled" => Ok(Self::Enabled),
            "disabled" => Ok(Self::Cancelled),
            other => Err(InputError::invalid(
                "status",
                format!("expected \"enabled\" or \"disabled\", got {other:?}"),
            )),
        }
    }
}

/// An administrator's verdict, independent of the creator's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Moderation {
    /// Not restricted.
    #[default]
    Allowed,
    /// Forbidden by an administrator: nothing can be done with the share
    /// until it is unforbidden.
    Forbidden,
}

/// What a receiver does with a file in a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// List a folder.
    List,
    /// Read a file's metadata.
    Get,
    /// Preview a file.
    Preview,
    /// Download a file's bytes.
    Download,
    /// Save (copy) into one's own drive.
    Save,
}

impl Action {
    /// The counter this action uses, if it has one.
    pub fn use_kind(self) -> Option<UseKind> {
        self.limited_use().map(LimitedUse::use_kind)
    }

    /// The limited (and switchable) use this action is, if any: preview,
    /// download or save. Listing and reading metadata are neither counted
    /// nor limited.
    pub fn limited_use(self) -> Option<LimitedUse> {
        match self {
            Self::Preview => Some(LimitedUse::Preview),
            Self::Download => Some(LimitedUse::Download),
            Self::Save => Some(LimitedUse::Save),
            Self::List | Self::Get => None,
        }
    }
}

/// A use a share can disable and limit: exactly the three PDS has switches
/// and limits for (`disable_*`, `*_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LimitedUse {
    /// A preview.
    Preview,
    /// A download.
    Download,
    /// A save (copy).
    Save,
}

impl LimitedUse {
    /// The counter it uses.
    pub fn use_kind(self) -> UseKind {
        match self {
            Self::Preview => UseKind::Preview,
            Self::Download => UseKind::Download,
            Self::Save => UseKind::Save,
        }
    }

    /// The limited use a counter belongs to; `None` for accesses, which no
    /// share limits (the tenant quota does).
    pub fn of(kind: UseKind) -> Option<Self> {
        match kind {
            UseKind::Preview => Some(Self::Preview),
            UseKind::Download => Some(Self::Download),
            UseKind::Save => Some(Self::Save),
            UseKind::Access => None,
        }
    }

    /// A stable lower-case name.
    pub fn as_str(self) -> &'static str {
        self.use_kind().as_str()
    }
}

impl fmt::Display for LimitedUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::List => "list",
            Self::Get => "get",
            Self::Preview => "preview",
            Self::Download => "download",
            Self::Save => "save",
        })
    }
}

/// A counted use of a share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum UseKind {
    /// A share token was issued (no per-share limit; the tenant quota applies).
    Access,
    /// A preview.
    Preview,
    /// A download.
    Download,
    /// A save (copy).
    Save,
}

impl UseKind {
    /// All kinds, in a fixed order.
    pub const ALL: [UseKind; 4] = [Self::Access, Self::Preview, Self::Download, Self::Save];

    /// A stable lower-case name, used by storage backends as a column/key name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Preview => "preview",
            Self::Download => "download",
            Self::Save => "save",
        }
    }
}

/// Per-action switches (PDS `disable_preview` / `disable_download` / `disable_save`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Permissions {
    /// Preview is refused.
    pub disable_preview: bool,
    /// Download is refused.
    pub disable_download: bool,
    /// Save (copy) is refused.
    pub disable_save: bool,
}

impl Permissions {
    /// Whether `action` is switched off on the share.
    pub fn disables(&self, action: Action) -> bool {
        match action {
            Action::Preview => self.disable_preview,
            Action::Download => self.disable_download,
            Action::Save => self.disable_save,
            Action::List | Action::Get => false,
        }
    }
}

/// The largest counter or limit (PDS's int64): counters never pass it, and
/// larger limits are refused as input.
pub const MAX_COUNT: u64 = i64::MAX.unsigned_abs();

/// Per-share use limits; 0 means unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Limits {
    /// Most previews (0 = unlimited).
    pub preview: u64,
    /// Most downloads (0 = unlimited).
    pub download: u64,
    /// Most saves (0 = unlimited).
    pub save: u64,
}

impl Limits {
    /// Checks that every limit is at most [`MAX_COUNT`].
    pub fn check(&self) -> Result<(), InputError> {
        for (field, v) in [
            ("preview_limit", self.preview),
            ("download_limit", self.download),
            ("save_limit", self.save),
        ] {
            if v > MAX_COUNT {
                return Err(InputError::out_of_range(
                    field,
                    format!("at most {MAX_COUNT} (0 = unlimited), got {v}"),
                ));
            }
        }
        Ok(())
    }

    /// The limit for `kind`, where 0 means unlimited. Accesses are never limited per share.
    pub fn of(&self, kind: UseKind) -> u64 {
        match kind {
            UseKind::Access => 0,
            UseKind::Preview => self.preview,
            UseKind::Download => self.download,
            UseKind::Save => self.save,
        }
    }
}

/// Per-share use counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Counters {
    /// Share tokens issued.
    pub access: u64,
    /// Previews counted.
    pub preview: u64,
    /// Downloads counted.
    pub download: u64,
    /// Saves counted.
    pub save: u64,
}

impl Counters {
    /// The counter for `kind`.
    pub fn of(&self, kind: UseKind) -> u64 {
        match kind {
            UseKind::Access => self.access,
            UseKind::Preview => self.preview,
            UseKind::Download => self.download,
            UseKind::Save => self.save,
        }
    }

    fn slot(&mut self, kind: UseKind) -> &mut u64 {
        match kind {
            UseKind::Access => &mut self.access,
            UseKind::Preview => &mut self.preview,
            UseKind::Download => &mut self.download,
            UseKind::Save => &mut self.save,
        }
    }
}

/// A signed-in member of a tenant, as the host's authenticator reports it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Member {
    /// The member's tenant.
    pub tenant: TenantId,
    /// The member's user id.
    pub user_id: UserId,
}

/// What a creator asks for when creating a share (password already hashed).
#[derive(Debug, Clone)]
pub struct ShareSpec {
    /// The owning tenant (PDS domain).
    pub tenant: TenantId,
    /// The drive the files live in.
    pub drive_id: DriveId,
    /// The creator's public profile.
    pub creator: Creator,
    /// What is shared.
    pub files: ShareFiles,
    /// Display name (PDS default: the first file's name; the engine fills it).
    pub name: ShareName,
    /// Free text.
    pub description: Description,
    /// When the share stops working; `None` = never. Must be after `now`.
    pub expiration: Option<DateTime<Utc>>,
    /// Who may use it.
    pub audience: Audience,
    /// Per-action switches.
    pub permissions: Permissions,
    /// Per-action limits.
    pub limits: Limits,
}

/// A change to a share: every `None` leaves that field as it is
/// (the subset of PDS UpdateShareLink plus `audience`).
#[derive(Debug, Clone, Default)]
pub struct ShareUpdate {
    /// `Some(None)` removes the password; `Some(Some(h))` sets a new one.
    pub password: Option<Option<PasswordHash>>,
    /// New display name.
    pub name: Option<ShareName>,
    /// New description.
    pub description: Option<Description>,
    /// `Some(None)` = never expires; `Some(Some(t))` requires `t > now`.
    pub expiration: Option<Option<DateTime<Utc>>>,
    /// Enable or cancel (the creator's status).
    pub status: Option<ShareStatus>,
    /// New audience.
    pub audience: Option<Audience>,
    /// New `disable_preview`.
    pub disable_preview: Option<bool>,
    /// New `disable_download`.
    pub disable_download: Option<bool>,
    /// New `disable_save`.
    pub disable_save: Option<bool>,
    /// New preview limit (0 = unlimited).
    pub preview_limit: Option<u64>,
    /// New download limit (0 = unlimited).
    pub download_limit: Option<u64>,
    /// New save limit (0 = unlimited).
    pub save_limit: Option<u64>,
    /// Reset or set the preview counter.
    pub preview_count: Option<u64>,
    /// Reset or set the download counter.
    pub download_count: Option<u64>,
    /// Reset or set the save counter.
    pub save_count: Option<u64>,
}

/// A share link and all of its state.
///
/// Fields are private: a `Share` comes only from [`Share::create`], from a
/// transition, or from deserializing a stored one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    id: ShareId,
    tenant: TenantId,
    drive_id: DriveId,
    creator: Creator,
    files: ShareFiles,
    name: ShareName,
    description: Description,
    password: Option<PasswordHash>,
    expiration: Option<DateTime<Utc>>,
    audience: Audience,
    permissions: Permissions,
    limits: Limits,
    counters: Counters,
    status: ShareStatus,
    moderation: Moderation,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    version: u64,
    token_epoch: u64,
}

impl fmt::Debug for Share {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Share")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("drive_id", &self.drive_id)
            .field("creator", &self.creator)
            .field("files", &self.files)
            .field("name", &self.name)
            .field("has_password", &self.password.is_some())
            .field("expiration", &self.expiration)
            .field("audience", &self.audience)
            .field("permissions", &self.permissions)
            .field("limits", &self.limits)
            .field("counters", &self.counters)
            .field("status", &self.status)
            .field("moderation", &self.moderation)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("version", &self.version)
            .field("token_epoch", &self.token_epoch)
            .finish()
    }
}

/// Why a share refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// Malformed input (for instance an expiration in the past).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The creator cancelled the share.
    #[error("share_link is cancelled by the creator")]
    Cancelled,
    /// The share expired at `at`.
    #[error("share_link expired at {at} (now {now})")]
    Expired {
        /// When it expired.
        at: DateTime<Utc>,
        /// The instant of the refused call.
        now: DateTime<Utc>,
    },
    /// An administrator forbade the share.
    #[error("share_link is forbidden")]
    Forbidden,
    /// The share has a password and none was given.
    #[error("the resource share_pwd is missing")]
    PasswordRequired,
    /// The given password is wrong.
    #[error("the resource share_pwd is not valid")]
    WrongPassword,
    /// A members-only share, and the caller is not a member of its tenant
    /// (or not the member its token was issued to).
    #[error("no permission to access resource share_link: members only")]
    NotMember,
    /// A creator-only operation by someone else.
    #[error("no permission to access resource share_link: not its creator")]
    NotCreator,
    /// The action is disabled on this share.
    #[error("{action} is disabled on this share_link")]
    ActionDisabled {
        /// The refused use.
        action: LimitedUse,
    },
    /// The per-share limit for this use is reached.
    #[error("the {kind} limit of this share_link ({limit}) is reached")]
    LimitReached {
        /// The counted use.
        kind: LimitedUse,
        /// The limit.
        limit: u64,
    },
    /// The share token does not open this share for this caller now.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// An unforbid on a share that is not forbidden.
    #[error("share_link is not forbidden")]
    NotForbidden,
}

impl ShareError {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Input(e) => e.code(),
            Self::Cancelled => ErrorCode::ShareLinkCancelled,
            Self::Expired { .. } => ErrorCode::ShareLinkExpired,
            Self::Forbidden => ErrorCode::ShareLinkForbidden,
            Self::PasswordRequired | Self::WrongPassword => ErrorCode::InvalidResourceSharePwd,
            Self::NotMember | Self::NotCreator => ErrorCode::ForbiddenNoPermissionShareLink,
            Self::ActionDisabled { action } => match action {
                LimitedUse::Preview => ErrorCode::ForbiddenNoPermissionPreview,
                LimitedUse::Download => ErrorCode::ForbiddenNoPermissionDownload,
                LimitedUse::Save => ErrorCode::ForbiddenNoPermissionSave,
            },
            Self::LimitReached { kind, .. } => match kind {
                LimitedUse::Preview => ErrorCode::ShareLinkPreviewLimitExceeded,
                LimitedUse::Download => ErrorCode::ShareLinkDownloadLimitExceeded,
                LimitedUse::Save => ErrorCode::ShareLinkSaveLimitExceeded,
            },
            Self::Token(_) => ErrorCode::ShareLinkTokenInvalid,
            Self::NotForbidden => ErrorCode::InvalidParameter,
        }
    }
}

/// Proof that a password check passed for one share at one token epoch.
///
/// Only [`Share::verify_password`] makes one, and [`Share::issue_token`]
/// accepts it only for the same share and epoch.
#[derive(Debug)]
pub struct PasswordProof {
    share_id: ShareId,
    token_epoch: u64,
}

impl Share {
    /// Creates a share: version 1, token epoch 0, counters at zero.
    ///
    /// Fails if the expiration is not after `now`.
    pub fn create(
        id: ShareId,
        spec: ShareSpec,
        password: Option<PasswordHash>,
        now: DateTime<Utc>,
    ) -> Result<Self, ShareError> {
        check_future_expiration(spec.expiration, now)?;
        spec.limits.check()?;
        Ok(Self {
            id,
            tenant: spec.tenant,
            drive_id: spec.drive_id,
            creator: spec.creator,
            files: spec.files,
            name: spec.name,
            description: spec.description,
            password,
            expiration: spec.expiration,
            audience: spec.audience,
            permissions: spec.permissions,
            limits: spec.limits,
            counters: Counters::default(),
            status: ShareStatus::Enabled,
            moderation: Moderation::Allowed,
            created_at: now,
            updated_at: now,
            version: 1,
            token_epoch: 0,
        })
    }

    /// Applies a creator's update.
    ///
    /// Refused on a forbidden share. A new expiration must be after `now`.
    /// Bumps the token epoch if the password, audience, expiration or status
    /// changes, which revokes every outstanding token.
    pub fn update(mut self, patch: ShareUpdate, now: DateTime<Utc>) -> Result<Self, ShareError> {
        if self.moderation == Moderation::Forbidden {
            return Err(ShareError::Forbidden);
        }
        let mut revoke = false;
        if let Some(password) = patch.password {
            revoke |= password != self.password;
            self.password = password;
        }
        if let Some(expiration) = patch.expiration {
            check_future_expiration(expiration, now)?;
            revoke |= expiration != self.expiration;
            self.expiration = expiration;
        }
        if let Some(status) = patch.status {
            revoke |= status != self.status;
            self.status = status;
        }
        if let Some(audience) = patch.audience {
            revoke |= audience != self.audience;
            self.audience = audience;
        }
        set_if(&mut self.name, patch.name);
        set_if(&mut self.description, patch.description);
        set_if(&mut self.permissions.disable_preview, patch.disable_preview);
        set_if(
            &mut self.permissions.disable_download,
            patch.disable_download,
        );
        set_if(&mut self.permissions.disable_save, patch.disable_save);
        set_if(&mut self.limits.preview, patch.preview_limit);
        set_if(&mut self.limits.download, patch.download_limit);
        set_if(&mut self.limits.save, patch.save_limit);
        set_if(&mut self.counters.preview, patch.preview_count);
        set_if(&mut self.counters.download, patch.download_count);
        set_if(&mut self.counters.save, patch.save_count);
        self.limits.check()?;
        for (field, v) in [
            ("preview_count", self.counters.preview),
            ("download_count", self.counters.download),
            ("save_count", self.counters.save),
        ] {
            if v > MAX_COUNT {
                return Err(InputError::out_of_range(
                    field,
                    format!("at most {MAX_COUNT}, got {v}"),
                )
                .into());
            }
        }
        Ok(self.touched(now, revoke))
    }

    /// Cancels the share: tokens die, nothing more can be done with it until
    /// it is re-enabled. Refused if already cancelled or forbidden.
    pub fn cancel(self, now: DateTime<Utc>) -> Result<Self, ShareError> {
        if self.moderation == Moderation::Forbidden {
            return Err(ShareError::Forbidden);
        }
        if self.status == ShareStatus::Cancelled {
            return Err(ShareError::Cancelled);
        }
        let mut next = self;
        next.status = ShareStatus::Cancelled;
        Ok(next.touched(now, true))
    }

    /// An administrator forbids the share. Idempotence is refused: forbidding
    /// a forbidden share is [`ShareError::Forbidden`].
    pub fn forbid(self, now: DateTime<Utc>) -> Result<Self, ShareError> {
        if self.moderation == Moderation::Forbidden {
            return Err(ShareError::Forbidden);
        }
        let mut next = self;
        next.moderation = Moderation::Forbidden;
        Ok(next.touched(now, true))
    }

    /// An administrator lifts a forbid. The creator's status is as it was.
    /// Outstanding tokens stay dead (the epoch moves again).
    pub fn unforbid(self, now: DateTime<Utc>) -> Result<Self, ShareError> {
        if self.moderation != Moderation::Forbidden {
            return Err(ShareError::NotForbidden);
        }
        let mut next = self;
        next.moderation = Moderation::Allowed;
        Ok(next.touched(now, true))
    }

    /// The same freshly created share under another id (used when a drawn id
    /// turns out to be taken). Only valid before the share is stored.
    pub(crate) fn with_id(mut self, id: ShareId) -> Self {
        self.id = id;
        self
    }

    /// The share with counters and version as a storage backend keeps them
    /// outside the encoded share (in columns, say). **For storage backends
    /// only**, when reading a share back or applying a
    /// [`UseCount`](crate::storage::UseCount); nothing else changes.
    ///
    /// It changes this value only. Limits hold because the engine counts
    /// through [`Storage`](crate::Storage) and reads shares back from it;
    /// a host that "resets" a value's counters and writes it with
    /// `update_share` would be rewriting its own store's history, hence the
    /// name.
    pub fn danger_restore_counters(mut self, counters: Counters, version: u64) -> Self {
        self.counters = counters;
        self.version = version;
        self
    }

    /// Counts one use of `kind`, refusing once the limit is reached.
    /// Bumps the version but not `updated_at` or the token epoch.
    pub fn count_use(mut self, kind: UseKind) -> Result<Self, ShareError> {
        let limit = self.limits.of(kind);
        let slot = self.counters.slot(kind);
        // A counter never passes MAX_COUNT: limited uses stop there,
        // accesses (never limited) saturate.
        if let Some(used) = LimitedUse::of(kind) {
            if limit != 0 && *slot >= limit {
                return Err(ShareError::LimitReached { kind: used, limit });
            }
            if *slot >= MAX_COUNT {
                return Err(ShareError::LimitReached {
                    kind: used,
                    limit: MAX_COUNT,
                });
            }
        }
        *slot = (*slot + 1).min(MAX_COUNT);
        self.version += 1;
        Ok(self)
    }

    /// Gives back one use of `kind` that [`Share::count_use`] took for work
    /// that then failed (a save whose copy failed): the counter goes down by
    /// one, never below 0, and the version goes up by one.
    pub fn refund_use(mut self, kind: UseKind) -> Self {
        let slot = self.counters.slot(kind);
        *slot = slot.saturating_sub(1);
        self.version += 1;
        self
    }

    /// Whether the share can be used at `now`: not forbidden, not cancelled,
    /// not expired (in that order of precedence).
    pub fn check_usable(&self, now: DateTime<Utc>) -> Result<(), ShareError> {
        if self.moderation == Moderation::Forbidden {
            return Err(ShareError::Forbidden);
        }
        if self.status == ShareStatus::Cancelled {
            return Err(ShareError::Cancelled);
        }
        if let Some(at) = self.expiration {
            if at <= now {
                return Err(ShareError::Expired { at, now });
            }
        }
        Ok(())
    }

    /// Checks who may ask for a token: for members-only shares, the caller
    /// must be a member of the share's tenant.
    pub fn check_audience(&self, caller: Option<&Member>) -> Result<(), ShareError> {
        match self.audience {
            Audience::Anyone => Ok(()),
            Audience::MembersOnly => match caller {
                Some(m) if m.tenant == self.tenant => Ok(()),
                _ => Err(ShareError::NotMember),
            },
        }
    }

    /// Checks a creator-only operation.
    pub fn check_creator(&self, caller: &Member) -> Result<(), ShareError> {
        if caller.tenant == self.tenant && caller.user_id == self.creator.user_id {
            Ok(())
        } else {
            Err(ShareError::NotCreator)
        }
    }

    /// Verifies the password a receiver gave. A share without a password
    /// accepts a missing password (and ignores a given one, as PDS does).
    /// Costs one argon2 hash when the share has a password.
    pub fn verify_password(
        &self,
        given: Option<&SharePassword>,
    ) -> Result<PasswordProof, ShareError> {
        if let Some(hash) = &self.password {
            let given = given.ok_or(ShareError::PasswordRequired)?;
            if !hash.verify(given) {
                return Err(ShareError::WrongPassword);
            }
        }
        Ok(PasswordProof {
            share_id: self.id.clone(),
            token_epoch: self.token_epoch,
        })
    }

    /// Issues the claims of a share token, for a caller who passed the
    /// password check (`proof`) of this share at its current epoch.
    ///
    /// `expire_sec` must be in `1..=7200` (`None` or 0 mean 7200). The token
    /// never outlives the share's own expiration. Members-only tokens are
    /// bound to the caller.
    pub fn issue_token(
        &self,
        proof: &PasswordProof,
        caller: Option<&Member>,
        expire_sec: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<TokenClaims, ShareError> {
        self.check_usable(now)?;
        self.check_audience(caller)?;
        if proof.share_id != self.id || proof.token_epoch != self.token_epoch {
            return Err(ShareError::Token(TokenError::Revoked));
        }
        let lifetime = token_lifetime(expire_sec)?;
        let mut expires_at = now + Duration::seconds(i64::from(lifetime));
        if let Some(share_end) = self.expiration {
            expires_at = expires_at.min(share_end);
        }
        let member = match self.audience {
            Audience::Anyone => None,
            Audience::MembersOnly => caller.map(|m| m.user_id.clone()),
        };
        Ok(TokenClaims::new(
            self.id.clone(),
            self.token_epoch,
            now,
            expires_at,
            member,
        ))
    }

    /// Password check and issue in one step: the whole pure rule for
    /// "may this caller have a token now". The engine runs the two halves
    /// separately so that throttling happens before any hash is computed.
    pub fn request_token(
        &self,
        given: Option<&SharePassword>,
        caller: Option<&Member>,
        expire_sec: Option<u32>,
        now: DateTime<Utc>,
    ) -> Result<TokenClaims, ShareError> {
        self.check_usable(now)?;
        self.check_audience(caller)?;
        let proof = self.verify_password(given)?;
        self.issue_token(&proof, caller, expire_sec, now)
    }

    /// Decides whether a verified token lets `caller` perform `action` now.
    ///
    /// The token must be for this share and its current epoch, not expired,
    /// and (members-only) issued to this caller. The action must be enabled
    /// and its limit not yet reached. The count itself is taken atomically by
    /// the storage ([`count_use`](Self::count_use) is its pure rule).
    pub fn authorize(
        &self,
        token: &VerifiedToken,
        caller: Option<&Member>,
        action: Action,
        now: DateTime<Utc>,
    ) -> Result<(), ShareError> {
        let claims = token.claims();
        if claims.share_id() != &self.id {
            return Err(TokenError::WrongShare.into());
        }
        if claims.expires_at() <= now {
            return Err(TokenError::Expired {
                at: claims.expires_at(),
                now,
            }
            .into());
        }
        if claims.token_epoch() != self.token_epoch {
            return Err(TokenError::Revoked.into());
        }
        self.check_usable(now)?;
        if self.audience == Audience::MembersOnly {
            let bound = claims.member();
            let ok = matches!((caller, bound), (Some(c), Some(b))
                if c.tenant == self.tenant && &c.user_id == b);
            if !ok {
                return Err(ShareError::NotMember);
            }
        }
        if let Some(used) = action.limited_use() {
            if self.permissions.disables(action) {
                return Err(ShareError::ActionDisabled { action: used });
            }
            let kind = used.use_kind();
            let limit = self.limits.of(kind);
            if limit != 0 && self.counters.of(kind) >= limit {
                return Err(ShareError::LimitReached { kind: used, limit });
            }
        }
        Ok(())
    }

    fn touched(mut self, now: DateTime<Utc>, revoke: bool) -> Self {
        if revoke {
            self.token_epoch += 1;
        }
        self.version += 1;
        self.updated_at = self.updated_at.max(now);
        self
    }
}

/// Getters.
impl Share {
    /// The share id.
    pub fn id(&self) -> &ShareId {
        &self.id
    }
    /// The owning tenant.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }
    /// The drive the files live in.
    pub fn drive_id(&self) -> &DriveId {
        &self.drive_id
    }
    /// The creator's profile.
    pub fn creator(&self) -> &Creator {
        &self.creator
    }
    /// What is shared.
    pub fn files(&self) -> &ShareFiles {
        &self.files
    }
    /// Display name.
    pub fn name(&self) -> &ShareName {
        &self.name
    }
    /// Description.
    pub fn description(&self) -> &Description {
        &self.description
    }
    /// Whether a password is required.
    pub fn has_password(&self) -> bool {
        self.password.is_some()
    }
    /// The stored password hash, for storage backends.
    pub fn password_hash(&self) -> Option<&PasswordHash> {
        self.password.as_ref()
    }
    /// When the share expires; `None` = never.
    pub fn expiration(&self) -> Option<DateTime<Utc>> {
        self.expiration
    }
    /// Whether the share has expired at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expiration.is_some_and(|at| at <= now)
    }
    /// Who may use it.
    pub fn audience(&self) -> Audience {
        self.audience
    }
    /// Per-action switches.
    pub fn permissions(&self) -> Permissions {
        self.permissions
    }
    /// Per-action limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }
    /// Use counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }
    /// The creator's status.
    pub fn status(&self) -> ShareStatus {
        self.status
    }
    /// The administrator's verdict.
    pub fn moderation(&self) -> Moderation {
        self.moderation
    }
    /// Creation instant.
    pub fn created_at(&self) -> DateTime<Utc> {
        self.created_at
    }
    /// Last change by its creator or an administrator.
    pub fn updated_at(&self) -> DateTime<Utc> {
        self.updated_at
    }
    /// Optimistic-concurrency version: +1 with every stored change.
    pub fn version(&self) -> u64 {
        self.version
    }
    /// Token epoch: tokens carry it and die when it moves.
    pub fn token_epoch(&self) -> u64 {
        self.token_epoch
    }
}

fn set_if<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

fn check_future_expiration(
    expiration: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), InputError> {
    match expiration {
        Some(at) if at <= now => Err(InputError::out_of_range(
            "expiration",
            format!("must be in the future (got {at}, now {now})"),
        )),
        _ => Ok(()),
    }
}

/// Validates a requested token lifetime: `None` or 0 mean 7200; otherwise
/// 1..=7200 seconds.
pub fn token_lifetime(expire_sec: Option<u32>) -> Result<u32, InputError> {
    match expire_sec {
        None | Some(0) => Ok(MAX_TOKEN_LIFETIME_SECS),
        Some(s) if s <= MAX_TOKEN_LIFETIME_SECS => Ok(s),
        Some(s) => Err(InputError::out_of_range(
            "expire_sec",
            format!("must be in (0, {MAX_TOKEN_LIFETIME_SECS}], got {s}"),
        )),
    }
}

#[cfg(test)]
mod tests;
