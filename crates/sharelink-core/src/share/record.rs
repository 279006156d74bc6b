//! The stored form of a share: what every backend writes, apart from the
//! domain type.
//!
//! A backend stores a share as two parts:
//! - the **body**: a [`ShareRecord`] encoded by [`ShareRecord::encode_body`]
//!   (JSON with stable field names and a `format` number);
//! - the **counters and version**, which change with every counted use and
//!   live outside the body (columns, a fixed-width value), so that counting
//!   never rewrites the body and the body never holds a stale copy of them.
//!
//! [`ShareRecord::decode_share`] rebuilds a [`Share`] from the two parts and
//! re-checks every invariant a share keeps ([`TryFrom<ShareRecord>`]): a
//! hand-edited or corrupt row is refused as
//! [`StorageError::Corrupt`](crate::StorageError::Corrupt), never loaded.
//!
//! The format is pinned by golden vectors (`sharelink_testkit::golden`) that
//! every backend's conformance run writes and reads back byte for byte.
//! Renaming a field of [`Share`] cannot change it; changing this file does,
//! and must come with a new `format` number and a reader for the old one.
//!
//! Formats:
//! - `0`: the body of releases up to 0.3, the serialized `Share` itself
//!   (no `format` field; it also held counters and version, which are
//!   ignored: the backends' own copies are the true ones). Still read.
//! - `1` ([`SHARE_RECORD_FORMAT`]): the fields below, written by this build.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::code::InputError;
use crate::fields::{Creator, Description, DriveId, FileId, ShareName, TenantId, UserId};
use crate::id::ShareId;
use crate::password::PasswordHash;
use crate::storage::StorageError;

use super::{
    Audience, Counters, Limits, MAX_COUNT, Moderation, Permissions, Share, ShareFiles, ShareStatus,
    SharedIds, UseKind,
};

/// The body format this build writes; it reads this one and every older one.
pub const SHARE_RECORD_FORMAT: u32 = 1;

/// Everything a backend stores of a share, as plain data.
///
/// Build one with `ShareRecord::from(&share)`; turn one back into a share
/// with `Share::try_from(record)`, which checks every invariant. The body
/// fields are what [`encode_body`](Self::encode_body) writes; `counters` and
/// `version` are kept by the backend beside the body and are not part of it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareRecord {
    /// Body format; absent (0) in bodies written before formats had numbers.
    #[serde(default)]
    pub format: u32,
    /// Share id.
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// Drive of the files.
    pub drive_id: String,
    /// The creator's public profile.
    pub creator: CreatorRecord,
    /// What is shared.
    pub files: FilesRecord,
    /// Display name.
    pub name: String,
    /// Description.
    pub description: String,
    /// The password's argon2id PHC string, if the share has one.
    pub password: Option<String>,
    /// When the share stops working.
    pub expiration: Option<DateTime<Utc>>,
    /// Who may use it.
    pub audience: Audience,
    /// Per-action switches.
    pub permissions: Permissions,
    /// Per-action limits, 0 meaning unlimited.
    pub limits: LimitsRecord,
    /// The creator's status.
    pub status: ShareStatus,
    /// The administrator's verdict.
    pub moderation: Moderation,
    /// Creation instant.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Token epoch.
    pub token_epoch: u64,
    /// Use counters: stored by the backend outside the body.
    #[serde(skip)]
    pub counters: Counters,
    /// Version: stored by the backend outside the body.
    #[serde(skip)]
    pub version: u64,
}

/// The creator's profile as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatorRecord {
    /// User id.
    pub user_id: String,
    /// Display name.
    pub display_name: String,
    /// Phone number.
    pub phone: String,
    /// Avatar URL.
    pub avatar: String,
}

/// What a share exposes, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilesRecord {
    /// An explicit list of top-level file ids.
    Listed(Vec<String>),
    /// The whole drive.
    AllFiles,
}

/// Per-share limits as stored: 0 is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LimitsRecord {
    /// Most previews.
    pub preview: u64,
    /// Most downloads.
    pub download: u64,
    /// Most saves.
    pub save: u64,
}

impl fmt::Debug for ShareRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // No password hash and no phone number in logs.
        f.debug_struct("ShareRecord")
            .field("format", &self.format)
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("has_password", &self.password.is_some())
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

/// Why a stored share could not be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// The body is not a share record at all.
    #[error("not a share record: {0}")]
    Malformed(String),
    /// Written by a newer build.
    #[error("share record format {found} is newer than this build reads ({SHARE_RECORD_FORMAT})")]
    NewerFormat {
        /// The format found.
        found: u32,
    },
    /// A field breaks an invariant of [`Share`].
    #[error("share record breaks an invariant: {0}")]
    Invalid(#[source] InputError),
}

impl From<InputError> for RecordError {
    fn from(e: InputError) -> Self {
        Self::Invalid(e)
    }
}

impl RecordError {
    /// The storage error for this failure on the record `what`
    /// (`share sAvciMEXKRz`, say).
    pub fn into_storage(self, what: impl Into<String>) -> StorageError {
        match self {
            Self::NewerFormat { found } => StorageError::IncompatibleFormat {
                found,
                supported: SHARE_RECORD_FORMAT,
            },
            other => StorageError::Corrupt {
                what: what.into(),
                reason: other.to_string(),
            },
        }
    }
}

impl ShareRecord {
    /// The body bytes a backend stores: JSON of every field but `counters`
    /// and `version`, in a fixed order.
    pub fn encode_body(&self) -> Result<Vec<u8>, StorageError> {
        serde_json::to_vec(self).map_err(|e| StorageError::backend("encode share record", e))
    }

    /// Reads a body written by [`encode_body`](Self::encode_body) in this
    /// or any older format, with the counters and version the backend kept
    /// beside it. Checks the format, not the share's invariants (that is
    /// `Share::try_from`).
    pub fn decode_body(body: &[u8], counters: Counters, version: u64) -> Result<Self, RecordError> {
        let mut record: Self =
            serde_json::from_slice(body).map_err(|e| RecordError::Malformed(e.to_string()))?;
        if record.format > SHARE_RECORD_FORMAT {
            return Err(RecordError::NewerFormat {
                found: record.format,
            });
        }
        record.counters = counters;
        record.version = version;
        Ok(record)
    }

    /// The body of `share`, for a backend to store.
    pub fn encode_share(share: &Share) -> Result<Vec<u8>, StorageError> {
        Self::from(share).encode_body()
    }

    /// What a backend does to read a share back: decodes the body stored
    /// under `id`, attaches the counters and version kept beside it, checks
    /// every invariant and that the body is the share of that id.
    pub fn decode_share(
        id: &str,
        body: &[u8],
        counters: Counters,
        version: u64,
    ) -> Result<Share, StorageError> {
        let what = || format!("share {id}");
        let share = Self::decode_body(body, counters, version)
            .and_then(Share::try_from)
            .map_err(|e| e.into_storage(what()))?;
        if share.id().as_str() != id {
            return Err(StorageError::Corrupt {
                what: what(),
                reason: format!("the row holds share {}", share.id()),
            });
        }
        Ok(share)
    }
}

impl From<&Share> for ShareRecord {
    fn from(s: &Share) -> Self {
        let creator = s.creator();
        let limits = s.limits();
        Self {
            format: SHARE_RECORD_FORMAT,
            id: s.id().to_string(),
            tenant: s.tenant().to_string(),
            drive_id: s.drive_id().to_string(),
            creator: CreatorRecord {
                user_id: creator.user_id.to_string(),
                display_name: creator.display_name.clone(),
                phone: creator.phone.clone(),
                avatar: creator.avatar.clone(),
            },
            files: match s.files() {
                ShareFiles::Listed(ids) => {
                    FilesRecord::Listed(ids.as_slice().iter().map(ToString::to_string).collect())
                }
                ShareFiles::AllFiles => FilesRecord::AllFiles,
            },
            name: s.name().to_string(),
            description: s.description().to_string(),
            password: s.password_hash().map(|h| h.as_phc().to_owned()),
            expiration: s.expiration(),
            audience: s.audience(),
            permissions: s.permissions(),
            limits: LimitsRecord {
                preview: limits.wire(UseKind::Preview),
                download: limits.wire(UseKind::Download),
                save: limits.wire(UseKind::Save),
            },
            status: s.status(),
            moderation: s.moderation(),
            created_at: s.created_at(),
            updated_at: s.updated_at(),
            token_epoch: s.token_epoch(),
            counters: s.counters(),
            version: s.version(),
        }
    }
}

impl TryFrom<ShareRecord> for Share {
    type Error = RecordError;

    /// Rebuilds a share, checking every invariant that [`Share::create`]
    /// and the transitions keep: valid ids, names and password hash, 1–100
    /// distinct listed files, limits and counters within [`MAX_COUNT`],
    /// `created_at <= updated_at`, an expiration after creation, and a
    /// version of at least 1.
    fn try_from(r: ShareRecord) -> Result<Self, RecordError> {
        let invalid = |field: &'static str, reason: String| InputError::invalid(field, reason);
        let files = match r.files {
            FilesRecord::AllFiles => ShareFiles::AllFiles,
            FilesRecord::Listed(ids) => ShareFiles::Listed(SharedIds::new(
                ids.into_iter()
                    .map(FileId::new)
                    .collect::<Result<Vec<_>, _>>()?,
            )?),
        };
        let limits = Limits::from_wire(r.limits.preview, r.limits.download, r.limits.save);
        limits.check()?;
        for kind in UseKind::ALL {
            if r.counters.of(kind) > MAX_COUNT {
                return Err(invalid("counters", format!("{kind:?} passes {MAX_COUNT}")).into());
            }
        }
        if r.updated_at < r.created_at {
            return Err(invalid("updated_at", "before created_at".into()).into());
        }
        if r.expiration.is_some_and(|at| at <= r.created_at) {
            return Err(invalid("expiration", "not after created_at".into()).into());
        }
        if r.version == 0 {
            return Err(invalid("version", "a stored share has version 1 or more".into()).into());
        }
        Ok(Share {
            id: ShareId::parse(&r.id)?,
            tenant: TenantId::new(r.tenant)?,
            drive_id: DriveId::new(r.drive_id)?,
            creator: Creator {
                user_id: UserId::new(r.creator.user_id)?,
                display_name: r.creator.display_name,
                phone: r.creator.phone,
                avatar: r.creator.avatar,
            },
            files,
            name: ShareName::new(r.name)?,
            description: Description::new(r.description)?,
            password: r
                .password
                .as_deref()
                .map(PasswordHash::from_phc)
                .transpose()?,
            expiration: r.expiration,
            audience: r.audience,
            permissions: r.permissions,
            limits,
            counters: r.counters,
            status: r.status,
            moderation: r.moderation,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
            token_epoch: r.token_epoch,
        })
    }
}
