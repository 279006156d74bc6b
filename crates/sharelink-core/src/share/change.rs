//! What a creator asks for: a new share ([`ShareSpec`]) or a change to one
//! ([`ShareUpdate`]).

use chrono::{DateTime, Utc};

use crate::fields::{Creator, Description, DriveId, ShareName, TenantId};
use crate::password::PasswordHash;

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
