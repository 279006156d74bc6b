//! The parts of a share: what it exposes, who may use it, its status,
//! switches, limits and counters, and the uses it counts.

use std::collections::BTreeSet;
use std::fmt;
use std::num::NonZeroU64;

use serde::{Deserialize, Serialize};

use crate::code::InputError;
use crate::fields::{FileId, TenantId, UserId};

/// Most files one share may list explicitly (PDS: `file_id_list` 1–100).
pub const MAX_SHARED_FILES: usize = 100;

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

/// Per-share use limits: `None` is unlimited.
///
/// (PDS writes "unlimited" as 0 on the wire, and the backends store it as 0;
/// [`Limits::from_wire`] and [`Limits::wire`] convert.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Limits {
    /// Most previews.
    pub preview: Option<NonZeroU64>,
    /// Most downloads.
    pub download: Option<NonZeroU64>,
    /// Most saves.
    pub save: Option<NonZeroU64>,
}

impl Limits {
    /// Limits from the wire's numbers, where 0 means unlimited.
    pub fn from_wire(preview: u64, download: u64, save: u64) -> Self {
        Self {
            preview: NonZeroU64::new(preview),
            download: NonZeroU64::new(download),
            save: NonZeroU64::new(save),
        }
    }

    /// Checks that every limit is at most [`MAX_COUNT`].
    pub fn check(&self) -> Result<(), InputError> {
        for (field, v) in [
            ("preview_limit", self.preview),
            ("download_limit", self.download),
            ("save_limit", self.save),
        ] {
            if let Some(v) = v.filter(|v| v.get() > MAX_COUNT) {
                return Err(InputError::out_of_range(
                    field,
                    format!("at most {MAX_COUNT} (0 = unlimited), got {v}"),
                ));
            }
        }
        Ok(())
    }

    /// The limit for `kind`; `None` is unlimited. Accesses are never
    /// limited per share (the tenant quota applies).
    pub fn of(&self, kind: UseKind) -> Option<NonZeroU64> {
        match kind {
            UseKind::Access => None,
            UseKind::Preview => self.preview,
            UseKind::Download => self.download,
            UseKind::Save => self.save,
        }
    }

    /// The limit for `kind` as the wire and the backends write it: 0 is
    /// unlimited.
    pub fn wire(&self, kind: UseKind) -> u64 {
        self.of(kind).map_or(0, NonZeroU64::get)
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

    pub(super) fn slot(&mut self, kind: UseKind) -> &mut u64 {
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
