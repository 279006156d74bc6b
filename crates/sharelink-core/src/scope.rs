//! Which files lie inside a share.
//!
//! The host owns the files; it answers through a [`FileCatalog`]. The pure
//! rule ([`check_in_scope`]) says a file is inside a share if it is one of the
//! shared ids, or a descendant of one, within [`MAX_SCOPE_DEPTH`] levels. A
//! whole-drive share (`share_all_files`) contains every file of its drive.
//! Files outside a share are reported as `NotFound.File`, whether or not they
//! exist, so a share never reveals what else its drive holds.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::code::ErrorCode;
use crate::fields::{DriveId, FileId};
use crate::package::{PackageKind, SNIFF_PREFIX_BYTES};
use crate::share::ShareFiles;

/// The deepest a file may sit below a shared folder. Deeper files are treated
/// as outside the share, so a cyclic or corrupt catalogue cannot loop.
pub const MAX_SCOPE_DEPTH: usize = 64;

/// The id PDS uses for the top level of a drive or a share.
pub const ROOT_ID: &str = "root";

/// A file or a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A file with content.
    File,
    /// A folder.
    Folder,
}

impl FileKind {
    /// The PDS wire spelling: `file` or `folder`.
    pub fn as_wire(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Folder => "folder",
        }
    }
}

/// What the host knows about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileMeta {
    /// The drive it lives in.
    pub drive_id: DriveId,
    /// Its id.
    pub file_id: FileId,
    /// Its parent folder; `None` at the top level of the drive (`root`).
    pub parent_file_id: Option<FileId>,
    /// Its name.
    pub name: String,
    /// File or folder.
    pub kind: FileKind,
    /// Its MIME type, if known.
    pub mime_type: Option<String>,
    /// Size in bytes (0 for folders).
    pub size: u64,
}

/// The host catalogue failed (not "the file does not exist", which is `Ok(None)`).
#[derive(Debug, thiserror::Error)]
#[error("file catalogue failed: {message}")]
pub struct CatalogError {
    /// What went wrong.
    pub message: String,
    /// The underlying error.
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl CatalogError {
    /// An error with a message only.
    pub fn msg(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }
}

/// The host's view of its files.
///
/// Implementations must be cheap to call repeatedly; the engine walks the
/// parent chain one call at a time unless [`FileCatalog::ancestors`] is
/// overridden with something faster (a stored path, a recursive query).
pub trait FileCatalog: Send + Sync {
    /// Whether every read answers from this machine (memory, a local
    /// file) in microseconds: no network round trip, no wait longer than a
    /// local commit. The HTTP layer then runs read-only requests on its
    /// async workers instead of handing each to a blocking thread (a
    /// thread hop costs more than such a read). The default, `false`, is
    /// always safe.
    fn reads_are_local(&self) -> bool {
        false
    }

    /// The file's metadata, or `Ok(None)` if the drive has no such file.
    fn file(&self, drive: &DriveId, file: &FileId) -> Result<Option<FileMeta>, CatalogError>;

    /// The file's ancestors, nearest first, excluding the file and the drive
    /// root; at most `max_depth + 1` entries (returning more is pointless:
    /// the engine stops there).
    fn ancestors(
        &self,
        drive: &DriveId,
        meta: &FileMeta,
        max_depth: usize,
    ) -> Result<Vec<FileId>, CatalogError> {
        let mut out = Vec::new();
        let mut next = meta.parent_file_id.clone();
        while let Some(parent) = next {
            if out.len() > max_depth {
                break;
            }
            next = match self.file(drive, &parent)? {
                Some(m) => m.parent_file_id,
                None => None,
            };
            out.push(parent);
        }
        Ok(out)
    }

    /// What the file's content says it is, for the file-type policy: an app
    /// package ([`PackageKind`]) or `None`. Asked only when the policy
    /// applies (a download or preview through an external share of a tenant
    /// without a custom domain) and the name and MIME type passed.
    ///
    /// The default sniffs [`FileCatalog::content_prefix`] with
    /// [`sniff_package`](crate::package::sniff_package). A host that
    /// classifies files when they are stored (as the reference server does
    /// at import) overrides this with its stored answer, which is cheaper
    /// and can look at the whole file.
    fn package_kind(&self, meta: &FileMeta) -> Result<Option<PackageKind>, CatalogError> {
        Ok(self
            .content_prefix(meta, SNIFF_PREFIX_BYTES)?
            .and_then(|bytes| crate::package::sniff_package(&bytes)))
    }

    /// Up to `max` bytes from the start of the file's content, or `None` if
    /// the host does not offer content to the engine (the default; the
    /// policy then judges by name and MIME type alone).
    fn content_prefix(&self, meta: &FileMeta, max: usize) -> Result<Option<Vec<u8>>, CatalogError> {
        let _ = (meta, max);
        Ok(None)
    }
}

impl<C: FileCatalog + ?Sized> FileCatalog for std::sync::Arc<C> {
    fn file(&self, drive: &DriveId, file: &FileId) -> Result<Option<FileMeta>, CatalogError> {
        (**self).file(drive, file)
    }
    fn ancestors(
        &self,
        drive: &DriveId,
        meta: &FileMeta,
        max_depth: usize,
    ) -> Result<Vec<FileId>, CatalogError> {
        (**self).ancestors(drive, meta, max_depth)
    }
    fn package_kind(&self, meta: &FileMeta) -> Result<Option<PackageKind>, CatalogError> {
        (**self).package_kind(meta)
    }
    fn content_prefix(&self, meta: &FileMeta, max: usize) -> Result<Option<Vec<u8>>, CatalogError> {
        (**self).content_prefix(meta, max)
    }
    fn reads_are_local(&self) -> bool {
        (**self).reads_are_local()
    }
}

/// Why a file is not reachable through a share.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScopeError {
    /// The file is not inside the share, or does not exist.
    #[error("the resource file cannot be found in this share")]
    NotInShare,
    /// The file sits deeper than [`MAX_SCOPE_DEPTH`] below the shared folder.
    #[error("the resource file is deeper than {max} levels below the share")]
    TooDeep {
        /// The bound.
        max: usize,
    },
    /// The host catalogue failed.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

impl ScopeError {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::NotInShare | Self::TooDeep { .. } => ErrorCode::NotFoundFile,
            Self::Catalog(_) => ErrorCode::InternalError,
        }
    }
}

/// The pure rule: is `file` (with `ancestors`, nearest first) inside a share
/// of `files`? Ancestors beyond `max_depth` are not considered.
pub fn check_in_scope(
    files: &ShareFiles,
    file: &FileId,
    ancestors: &[FileId],
    max_depth: usize,
) -> Result<(), ScopeError> {
    let ids = match files {
        ShareFiles::AllFiles => return Ok(()),
        ShareFiles::Listed(ids) => ids,
    };
    if ids.contains(file) {
        return Ok(());
    }
    for (depth, ancestor) in ancestors.iter().enumerate() {
        if depth >= max_depth {
            return Err(ScopeError::TooDeep { max: max_depth });
        }
        if ids.contains(ancestor) {
            return Ok(());
        }
    }
    Err(ScopeError::NotInShare)
}

/// What listing a folder of a share means.
#[derive(Clone, PartialEq, Eq)]
pub enum ListTarget {
    /// The share's root: exactly these shared items, in the creator's order.
    SharedItems(Vec<FileId>),
    /// The drive's root (whole-drive shares).
    DriveRoot,
    /// The children of this folder, which is inside the share.
    Folder(FileId),
}

impl fmt::Debug for ListTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SharedItems(ids) => write!(f, "SharedItems({} ids)", ids.len()),
            Self::DriveRoot => f.write_str("DriveRoot"),
            Self::Folder(id) => write!(f, "Folder({id})"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<FileId> {
        v.iter().map(|s| FileId::new(*s).unwrap()).collect()
    }

    #[test]
    fn shared_items_and_descendants_are_in_scope() {
        let files = ShareFiles::listed(ids(&["a", "dir"])).unwrap();
        let f = |s: &str| FileId::new(s).unwrap();
        assert!(check_in_scope(&files, &f("a"), &[], MAX_SCOPE_DEPTH).is_ok());
        assert!(check_in_scope(&files, &f("x"), &ids(&["sub", "dir"]), MAX_SCOPE_DEPTH).is_ok());
        assert!(matches!(
            check_in_scope(&files, &f("x"), &ids(&["sub", "other"]), MAX_SCOPE_DEPTH),
            Err(ScopeError::NotInShare)
        ));
        assert!(check_in_scope(&ShareFiles::AllFiles, &f("x"), &[], MAX_SCOPE_DEPTH).is_ok());
    }

    /// A catalogue behind an `Arc` answers exactly as the catalogue does,
    /// `reads_are_local` included (the HTTP layer's inline reads depend on it).
    #[test]
    fn an_arc_forwards_reads_are_local() {
        struct Remote;
        impl FileCatalog for Remote {
            fn file(&self, _: &DriveId, _: &FileId) -> Result<Option<FileMeta>, CatalogError> {
                Ok(None)
            }
        }
        let local = crate::MemoryCatalog::new();
        assert!(local.reads_are_local());
        assert!(std::sync::Arc::new(local).reads_are_local());
        assert!(!std::sync::Arc::new(Remote).reads_are_local());
        let shared: std::sync::Arc<dyn FileCatalog> =
            std::sync::Arc::new(crate::MemoryCatalog::new());
        assert!(std::sync::Arc::new(shared).reads_are_local());
    }

    #[test]
    fn depth_is_bounded() {
        let files = ShareFiles::listed(ids(&["top"])).unwrap();
        let mut chain: Vec<FileId> = (0..3)
            .map(|i| FileId::new(format!("d{i}")).unwrap())
            .collect();
        chain.push(FileId::new("top").unwrap());
        let leaf = FileId::new("leaf").unwrap();
        assert!(check_in_scope(&files, &leaf, &chain, 4).is_ok());
        assert!(matches!(
            check_in_scope(&files, &leaf, &chain, 3),
            Err(ScopeError::TooDeep { max: 3 })
        ));
        assert_eq!(
            ScopeError::TooDeep { max: 3 }.code(),
            ErrorCode::NotFoundFile
        );
    }
}
