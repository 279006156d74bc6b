//! What the host provides: who the caller is, and its drives.
//!
//! Both traits are synchronous: the router calls them on a blocking thread
//! (`spawn_blocking`), never on the async runtime's workers, so an
//! implementation may query a database or a file system directly. The one
//! exception is opt-in: when the engine's storage, the authenticator and the
//! drive store all answer `reads_are_local() == true` (reads from memory or
//! a local file, in microseconds), the read-only requests (`get_by_anonymous`,
//! `share_link/get`, `file/get`, `file/list`, and a download through a
//! signed URL or a `HEAD`: its lookups, `open_at` and the first 64 KiB read)
//! run on the worker that received them, because a thread hop costs more
//! than such a read. Anything that hashes a password or writes stays on a
//! blocking thread, and so does every further chunk of a download.

use std::io::Read;

use chrono::{DateTime, Utc};
use sharelink_core::{
    CatalogError, Creator, DriveId, FileCatalog, FileId, FileKind, FileMeta, InputError, Member,
};

/// The signed-in caller, as the host's [`Authenticator`] resolves it.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Tenant and user id.
    pub member: Member,
    /// Profile shown (masked) to receivers of the caller's shares.
    pub profile: Creator,
}

/// Why an access token was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The token is unknown, expired or malformed: `401 AccessTokenInvalid`.
    #[error("AccessToken is invalid. {0}")]
    InvalidToken(String),
    /// The authenticator itself failed: `500 InternalError`.
    #[error("authentication failed: {0}")]
    Unavailable(String),
}

/// Resolves `Authorization: Bearer <access token>` to a caller.
///
/// The router passes only the token text (after `Bearer `). It never logs
/// it. Return [`AuthError::InvalidToken`] for any token you do not accept.
pub trait Authenticator: Send + Sync + 'static {
    /// The caller this access token belongs to.
    fn authenticate(&self, access_token: &str) -> Result<Caller, AuthError>;

    /// Whether `authenticate` answers from this machine (memory, a local
    /// file) in microseconds: no network round trip, no wait longer than a
    /// local commit. The HTTP layer then runs read-only requests on its
    /// async workers instead of handing each to a blocking thread (a
    /// thread hop costs more than such a read). The default, `false`, is
    /// always safe.
    fn reads_are_local(&self) -> bool {
        false
    }
}

/// A file as the wire shows it: the engine's [`FileMeta`] plus the
/// timestamps and content hash PDS clients display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Identity, parent, name, kind, MIME type and size.
    pub meta: FileMeta,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last modification time.
    pub updated_at: DateTime<Utc>,
    /// Upper-case hex SHA-1 of the content (PDS `content_hash`), if known.
    pub content_hash: Option<String>,
}

/// Sort key of a folder listing (PDS `order_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOrder {
    /// By name.
    Name,
    /// By creation time (PDS default).
    CreatedAt,
    /// By modification time.
    UpdatedAt,
    /// By size.
    Size,
}

/// PDS's file categories (`category` of ListFile and of each file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// Installation packages (`apk`, `ipa`, ...).
    App,
    /// Archives.
    Zip,
    /// Images.
    Image,
    /// Documents.
    Doc,
    /// Video.
    Video,
    /// Audio.
    Audio,
    /// Anything else.
    Others,
}

/// One page request of a folder listing.
#[derive(Debug, Clone)]
pub struct ChildQuery {
    /// Page size, 1..=100.
    pub limit: usize,
    /// The previous page's `next_marker`, or empty for the first page.
    pub marker: String,
    /// Sort key.
    pub order_by: FileOrder,
    /// Descending instead of ascending.
    pub descending: bool,
    /// Only files or only folders.
    pub kind: Option<FileKind>,
    /// Only this category.
    pub category: Option<Category>,
}

/// One page of a folder listing.
#[derive(Debug, Clone, Default)]
pub struct ChildPage {
    /// The entries, in the requested order.
    pub items: Vec<FileEntry>,
    /// Marker of the next page; empty on the last page.
    pub next_marker: String,
}

/// The result of copying a file or folder into a drive.
#[derive(Debug, Clone)]
pub struct CopyOutcome {
    /// The new file (or folder) in the target drive.
    pub file: FileMeta,
    /// For folders copied in the background, the task id the client may
    /// poll. `None` when the copy is complete on return.
    pub async_task_id: Option<String>,
}

/// The state of a background task (PDS `GetAsyncTask`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskState {
    /// Still running.
    Running,
    /// Done, everything succeeded.
    Succeed,
    /// Done, some items failed.
    PartialSucceed,
    /// Failed.
    Failed {
        /// Why.
        message: String,
    },
}

/// A background task a [`CopyOutcome::async_task_id`] named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncTask {
    /// Its state.
    pub state: TaskState,
    /// Items to process.
    pub total: u64,
    /// Items processed so far.
    pub done: u64,
}

/// How much one copy may hold. The router passes its configured limits to
/// [`DriveStore::copy`], which must refuse a larger tree before writing
/// anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CopyLimits {
    /// Most files and folders in the copied tree, its root included
    /// (default 10,000).
    pub max_entries: u64,
    /// Deepest level below the copied folder (default 32).
    pub max_depth: usize,
}

impl Default for CopyLimits {
    fn default() -> Self {
        Self {
            max_entries: 10_000,
            max_depth: 32,
        }
    }
}

/// Why a folder listing failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// The query is not valid for this store (a marker it did not issue):
    /// `400 InvalidParameter`.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The host's store failed: `500 InternalError`.
    #[error(transparent)]
    Store(#[from] CatalogError),
}

/// Why a copy failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CopyError {
    /// A file with that name exists in the target folder and `auto_rename`
    /// is off: `409 AlreadyExist.File`.
    #[error("a file named {name:?} already exists in the target folder")]
    NameTaken {
        /// The clashing name.
        name: String,
    },
    /// The target folder does not exist in the target drive: `404 NotFound.File`.
    #[error("the target folder {0} cannot be found")]
    ParentNotFound(String),
    /// The target is a file, not a folder: `400 InvalidParameter`.
    #[error("the target {0} is not a folder")]
    ParentNotFolder(String),
    /// A folder cannot be copied into itself or its own descendants.
    #[error("a folder cannot be copied into itself")]
    IntoItself,
    /// The tree holds more entries than [`CopyLimits::max_entries`]:
    /// `400 TooManyEntries.Copy`.
    #[error("the folder holds more than {limit} files and folders, the most one copy may hold")]
    TooManyEntries {
        /// The limit.
        limit: u64,
    },
    /// The tree is deeper than [`CopyLimits::max_depth`]: `400 TooDeep.Copy`.
    #[error("the folder is more than {limit} levels deep, the deepest one copy may be")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
    /// The target drive would hold more entries than the host allows:
    /// `403 QuotaExhausted.Drive`.
    #[error("the target drive would exceed its limit of {limit} files and folders")]
    DriveFull {
        /// The drive's limit.
        limit: u64,
    },
    /// The host's store failed: `500 InternalError`.
    #[error(transparent)]
    Store(#[from] CatalogError),
}

/// The host's drives: metadata (through [`FileCatalog`], which the engine
/// also uses for scope checks), listings, access checks, copies and content.
pub trait DriveStore: FileCatalog + 'static {
    /// Whether `caller` may read and write `drive` (list, get, download,
    /// share its files, copy into it).
    fn may_access(&self, caller: &Member, drive: &DriveId) -> Result<bool, CatalogError>;

    /// The drives `caller` may use, their default first: the share pages
    /// show these under "My drive", and "Save to my drive" copies into the
    /// first one's root. The default knows none (the pages then offer no
    /// drive to browse and no saving).
    fn drives_of(&self, caller: &Member) -> Result<Vec<DriveId>, CatalogError> {
        let _ = caller;
        Ok(Vec::new())
    }

    /// The wire view of one file, or `Ok(None)` if the drive has no such file.
    fn entry(&self, drive: &DriveId, file: &FileId) -> Result<Option<FileEntry>, CatalogError>;

    /// [`entry`](Self::entry) for each of `files`, in order: what listing
    /// a share's top level reads. The default asks one at a time; a store
    /// with a cheaper batch read (one query, one cache check) overrides it.
    fn entries(
        &self,
        drive: &DriveId,
        files: &[FileId],
    ) -> Result<Vec<Option<FileEntry>>, CatalogError> {
        files.iter().map(|f| self.entry(drive, f)).collect()
    }

    /// One page of the children of `parent` (`None` = the drive's root).
    /// The parent has been checked to be a folder of the drive.
    /// [`page_entries`](crate::page_entries) implements ordering, filters
    /// and markers over an in-memory list.
    ///
    /// A marker this store did not issue (or any other query it cannot
    /// serve) is [`ListError::Input`], answered `400`; only a failure of the
    /// store itself is [`ListError::Store`] (`500`).
    fn list_children(
        &self,
        drive: &DriveId,
        parent: Option<&FileId>,
        query: &ChildQuery,
    ) -> Result<ChildPage, ListError>;

    /// Copies `source` (and, for a folder, everything below it) into
    /// `to_parent` (`None` = root) of `to_drive`. With `auto_rename`, a
    /// clashing name gets a suffix instead of failing.
    ///
    /// A tree over `limits` must be refused ([`CopyError::TooManyEntries`],
    /// [`CopyError::TooDeep`]) before anything is written. A large copy
    /// should not hold up other requests: return once the new root exists,
    /// with an `async_task_id` that [`async_task`](Self::async_task)
    /// reports on, and copy the rest in the background.
    fn copy(
        &self,
        source: &FileMeta,
        to_drive: &DriveId,
        to_parent: Option<&FileId>,
        auto_rename: bool,
        limits: &CopyLimits,
    ) -> Result<CopyOutcome, CopyError>;

    /// The state of a background task this store started (the
    /// `async_task_id` of a folder copy), as `caller` may see it; `Ok(None)`
    /// if there is no such task or it is not the caller's (`404
    /// NotFound.AsyncTask`). The default knows no tasks.
    fn async_task(&self, caller: &Member, id: &str) -> Result<Option<AsyncTask>, CatalogError> {
        let _ = (caller, id);
        Ok(None)
    }

    /// Opens a file's content for reading. Called on a blocking thread; the
    /// router streams what it reads. The content must be exactly
    /// `file.size` bytes long: that is the `Content-Length` sent, and ranges
    /// are resolved against it.
    fn open(&self, file: &FileMeta) -> Result<Box<dyn Read + Send>, CatalogError>;

    /// Opens a file's content positioned at byte `offset` (the start of a
    /// requested range; `offset <= file.size`). Called on a blocking thread.
    ///
    /// The default opens the file and reads and discards `offset` bytes. A
    /// store that can seek should override it: a range is free to ask for
    /// through a signed URL, and without a seek a range at the end of a
    /// large file costs the server a read of the whole file.
    fn open_at(&self, file: &FileMeta, offset: u64) -> Result<Box<dyn Read + Send>, CatalogError> {
        let mut reader = self.open(file)?;
        if offset > 0 {
            let skipped = std::io::copy(&mut (&mut reader).take(offset), &mut std::io::sink())
                .map_err(|e| CatalogError {
                    message: format!("cannot read {} up to the range", file.file_id),
                    source: Some(Box::new(e)),
                })?;
            if skipped < offset {
                return Err(CatalogError::msg(format!(
                    "content of {} is shorter than its recorded size",
                    file.file_id
                )));
            }
        }
        Ok(reader)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One file whose content can only be read forwards.
    struct OneFile(&'static [u8]);

    impl FileCatalog for OneFile {
        fn file(&self, _: &DriveId, _: &FileId) -> Result<Option<FileMeta>, CatalogError> {
            Ok(None)
        }
    }

    impl DriveStore for OneFile {
        fn may_access(&self, _: &Member, _: &DriveId) -> Result<bool, CatalogError> {
            Ok(false)
        }
        fn entry(&self, _: &DriveId, _: &FileId) -> Result<Option<FileEntry>, CatalogError> {
            Ok(None)
        }
        fn list_children(
            &self,
            _: &DriveId,
            _: Option<&FileId>,
            _: &ChildQuery,
        ) -> Result<ChildPage, ListError> {
            Err(ListError::Store(CatalogError::msg("not listed")))
        }
        fn copy(
            &self,
            _: &FileMeta,
            _: &DriveId,
            _: Option<&FileId>,
            _: bool,
            _: &CopyLimits,
        ) -> Result<CopyOutcome, CopyError> {
            Err(CopyError::Store(CatalogError::msg("not copied")))
        }
        fn open(&self, _: &FileMeta) -> Result<Box<dyn Read + Send>, CatalogError> {
            Ok(Box::new(self.0))
        }
    }

    fn meta(size: u64) -> FileMeta {
        FileMeta {
            drive_id: DriveId::new("d").unwrap(),
            file_id: FileId::new("f").unwrap(),
            parent_file_id: None,
            name: "f.txt".into(),
            kind: FileKind::File,
            mime_type: None,
            size,
        }
    }

    #[test]
    fn default_open_at_reads_up_to_the_offset() {
        let store = OneFile(b"hello world");
        let mut rest = String::new();
        store
            .open_at(&meta(11), 6)
            .unwrap()
            .read_to_string(&mut rest)
            .unwrap();
        assert_eq!(rest, "world");
        let mut all = String::new();
        store
            .open_at(&meta(11), 0)
            .unwrap()
            .read_to_string(&mut all)
            .unwrap();
        assert_eq!(all, "hello world");
        // Content shorter than the offset: a store error, not a short body.
        let err = store.open_at(&meta(40), 20).err().unwrap();
        assert!(err.message.contains("shorter"), "{}", err.message);
    }
}
