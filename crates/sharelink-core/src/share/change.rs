//! What a creator asks for: a new share ([`ShareSpec`]) or a change to one
//! ([`ShareUpdate`]).

use std::num::NonZeroU64;

use chrono::{DateTime, Utc};

use crate::fields::{Creator, Description, DriveId, ShareName, TenantId};
use crate::password::SharePassword;

use super::{Audience, Limits, Permissions, ShareFiles, ShareStatus};

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

// A change of a share's password.
///
/// The caller gives the new password in clear ([`SharePassword`]); the
/// [`Engine`](crate::Engine) hashes it ([`ShareUpdate::try_map_password`])
/// before the share sees it, so [`Share::update`](super::Share::update)
/// only ever takes a `PasswordChange<`[`PasswordHash`](crate::PasswordHash)`>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordChange<P = SharePassword> {
    /// Remove the password: anyone with the link may get a token.
    Remove,
    /// Set (or replace) the password.
    Set(P),
}

impl<P> PasswordChange<P> {
    /// The new password, if one is set.
    pub fn new_password(&self) -> Option<&P> {
        match self {
            Self::Remove => None,
            Self::Set(p) => Some(p),
        }
    }
}

/// A change to a share (PDS UpdateShareLink, plus `audience`): every `None`
/// leaves that field as it is.
///
/// `P` is how a new password is held: in clear ([`SharePassword`], the
/// default, what a caller builds) or hashed ([`PasswordHash`](crate::PasswordHash), what the
/// share's transition takes).
#[derive(Debug, Clone)]
pub struct ShareUpdate<P = SharePassword> {
    /// Set or remove the password.
    pub password: Option<PasswordChange<P>>,
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
    /// New preview limit: `Some(None)` = unlimited.
    pub preview_limit: Option<Option<NonZeroU64>>,
    /// New download limit: `Some(None)` = unlimited.
    pub download_limit: Option<Option<NonZeroU64>>,
    /// New save limit: `Some(None)` = unlimited.
    pub save_limit: Option<Option<NonZeroU64>>,
    /// Reset or set the preview counter.
    pub preview_count: Option<u64>,
    /// Reset or set the download counter.
    pub download_count: Option<u64>,
    /// Reset or set the save counter.
    pub save_count: Option<u64>,
}

impl<P> Default for ShareUpdate<P> {
    fn default() -> Self {
        Self {
            password: None,
            name: None,
            description: None,
            expiration: None,
            status: None,
            audience: None,
            disable_preview: None,
            disable_download: None,
            disable_save: None,
            preview_limit: None,
            download_limit: None,
            save_limit: None,
            preview_count: None,
            download_count: None,
            save_count: None,
        }
    }
}

impl<P> ShareUpdate<P> {
    /// The same change with a new password turned into `Q` by `f` (the
    /// engine hashes it); every other field is kept.
    pub fn try_map_password<Q, E>(
        self,
        f: impl FnOnce(P) -> Result<Q, E>,
    ) -> Result<ShareUpdate<Q>, E> {
        let password = match self.password {
            None => None,
            Some(PasswordChange::Remove) => Some(PasswordChange::Remove),
            Some(PasswordChange::Set(p)) => Some(PasswordChange::Set(f(p)?)),
        };
        Ok(ShareUpdate {
            password,
            name: self.name,
            description: self.description,
            expiration: self.expiration,
            status: self.status,
            audience: self.audience,
            disable_preview: self.disable_preview,
            disable_download: self.disable_download,
            disable_save: self.disable_save,
            preview_limit: self.preview_limit,
            download_limit: self.download_limit,
            save_limit: self.save_limit,
            preview_count: self.preview_count,
            download_count: self.download_count,
            save_count: self.save_count,
        })
    }
}
