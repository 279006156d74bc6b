//! [`MemoryCatalog`]: a small in-memory [`FileCatalog`] for tests, examples
//! and hosts that want to try the engine before wiring their own files.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

use crate::fields::{DriveId, FileId};
use crate::scope::{CatalogError, FileCatalog, FileKind, FileMeta};

/// Files and folders kept in a map, keyed by drive and file id.
#[derive(Debug, Default)]
pub struct MemoryCatalog {
    files: RwLock<BTreeMap<(DriveId, FileId), FileMeta>>,
    /// The first bytes of files that have content (for the file-type
    /// policy's content check).
    prefixes: RwLock<BTreeMap<(DriveId, FileId), Vec<u8>>>,
}

impl MemoryCatalog {
    /// An empty catalogue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a file.
    pub fn insert(&self, meta: FileMeta) {
        self.files
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((meta.drive_id.clone(), meta.file_id.clone()), meta);
    }

    /// Adds a file or folder with the given parent (`None` = the drive's root)
    /// and returns its metadata. MIME is left unknown and size is 0.
    pub fn add(
        &self,
        drive: &DriveId,
        id: &str,
        parent: Option<&str>,
        name: &str,
        kind: FileKind,
    ) -> Result<FileMeta, crate::InputError> {
        let meta = FileMeta {
            drive_id: drive.clone(),
            file_id: FileId::new(id)?,
            parent_file_id: parent.map(FileId::new).transpose()?,
            name: name.to_owned(),
            kind,
            mime_type: None,
            size: 0,
        };
        self.insert(meta.clone());
        Ok(meta)
    }

    /// Records the first bytes of a file's content, which
    /// [`FileCatalog::content_prefix`] then hands to the engine.
    pub fn set_content_prefix(&self, drive: &DriveId, file: &FileId, bytes: Vec<u8>) {
        self.prefixes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((drive.clone(), file.clone()), bytes);
    }

    /// The children of a folder (`None` = the drive's root), by name.
    pub fn children(&self, drive: &DriveId, parent: Option<&FileId>) -> Vec<FileMeta> {
        let mut out: Vec<FileMeta> = self
            .files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .filter(|m| &m.drive_id == drive && m.parent_file_id.as_ref() == parent)
            .cloned()
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

impl FileCatalog for MemoryCatalog {
    fn reads_are_local(&self) -> bool {
        true
    }
    fn file(&self, drive: &DriveId, file: &FileId) -> Result<Option<FileMeta>, CatalogError> {
        Ok(self
            .files
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(drive.clone(), file.clone()))
            .cloned())
    }

    fn content_prefix(&self, meta: &FileMeta, max: usize) -> Result<Option<Vec<u8>>, CatalogError> {
        Ok(self
            .prefixes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(meta.drive_id.clone(), meta.file_id.clone()))
            .map(|b| b.get(..max.min(b.len())).unwrap_or_default().to_vec()))
    }
}
