//! A minimal drive store: folder and file metadata in SQLite, content on
//! disk, addressed by its SHA-1 (so a copy shares the bytes of its source).
//!
//! One drive per user. Good enough to demonstrate and test the share-link
//! API end to end; a real host plugs in its own [`DriveStore`].

use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use rand::RngCore as _;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use sha1::{Digest, Sha1};
use sharelink_core::package::SNIFF_PREFIX_BYTES;
use sharelink_core::{
    CatalogError, DriveId, FileCatalog, FileId, FileKind, FileMeta, Member, PackageKind,
    sniff_package,
};
use sharelink_http::{
    AsyncTask, ChildPage, ChildQuery, CopyError, CopyLimits, CopyOutcome, DriveStore, FileEntry,
    ListError, TaskState, page_entries,
};
use sharelink_sqlite::StampedCache;

use crate::accounts::Accounts;

/// The columns [`row_to_entry`] reads, in its order: a macro, so that the
/// statements using them are constant strings (no formatting per query).
macro_rules! entry_columns {
    () => {
        "drive_id, file_id, parent_id, name, kind, mime, size, sha1, created_at, updated_at"
    };
}

/// Deepest folder tree a copy or an import walks.
const MAX_TREE_DEPTH: usize = 64;

/// Files and folders in SQLite, content in `blobs/`.
#[derive(Clone)]
pub struct SqliteDrives {
    db: Arc<Mutex<Connection>>,
    readers: Option<Readers>,
    blobs: PathBuf,
    accounts: Accounts,
    max_drive_entries: u64,
}

/// Read-only connections to the drive database, used in turn (WAL lets them
/// read while the writer commits).
#[derive(Clone)]
pub struct Readers {
    connections: Arc<Vec<Mutex<Connection>>>,
    next: Arc<AtomicUsize>,
    /// File rows as of the database's current WAL header: answers repeated
    /// lookups (scope walks, listings of a share's items) without a read
    /// transaction, and is emptied by any commit, from any process (an
    /// `import` beside the server included).
    entries: Arc<StampedCache<(DriveId, FileId), FileEntry>>,
}

/// File rows kept in memory by [`Readers`].
const CACHED_ENTRIES: usize = 16_384;

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("connections", &self.connections.len())
            .field("cached_entries", &self.entries.len())
            .finish()
    }
}

impl Readers {
    /// Opens `count` (at least one) read-only connections to the database
    /// at `path`, which must already exist in WAL mode.
    pub fn open(path: &Path, count: usize) -> rusqlite::Result<Self> {
        let connections = (0..count.max(1))
            .map(|_| {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                conn.busy_timeout(std::time::Duration::from_secs(5))?;
                Ok(Mutex::new(conn))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let entries = StampedCache::open(path, CACHED_ENTRIES).map_err(|e| {
            rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN),
                Some(format!(
                    "cannot open the wal-index of {}: {e}",
                    path.display()
                )),
            )
        })?;
        Ok(Self {
            connections: Arc::new(connections),
            next: Arc::new(AtomicUsize::new(0)),
            entries: Arc::new(entries),
        })
    }

    fn next(&self) -> std::sync::MutexGuard<'_, Connection> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.connections.len();
        self.connections[i]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Most files and folders one drive may hold (copies into a fuller drive are
/// refused with `403 QuotaExhausted.Drive`).
pub const DEFAULT_MAX_DRIVE_ENTRIES: u64 = 100_000;

/// Rows a background copy writes per transaction: the metadata lock is
/// released between batches, so other requests never wait for a whole tree.
const COPY_BATCH: usize = 256;

impl std::fmt::Debug for SqliteDrives {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDrives")
            .field("blobs", &self.blobs)
            .finish_non_exhaustive()
    }
}

/// What a new file is made from.
#[derive(Debug)]
pub enum NewContent<'a> {
    /// A folder.
    Folder,
    /// A file with these bytes.
    Bytes(&'a [u8]),
    /// A file copied from this path on disk.
    Path(&'a Path),
}

impl SqliteDrives {
    /// The store over the shared metadata connection, with content in `blobs`.
    pub fn new(db: Arc<Mutex<Connection>>, blobs: PathBuf, accounts: Accounts) -> io::Result<Self> {
        // Content is private: the directory 0700, every blob created 0600.
        crate::private::dir(&blobs)?;
        Ok(Self {
            db,
            readers: None,
            blobs,
            accounts,
            max_drive_entries: DEFAULT_MAX_DRIVE_ENTRIES,
        })
    }

    /// Reads (file lookups, listings) through these read-only connections
    /// instead of the shared writer: two requests then read at once, and
    /// neither waits for a copy's commit.
    pub fn with_readers(mut self, readers: Readers) -> Self {
        self.readers = Some(readers);
        self
    }

    /// Sets the most files and folders one drive may hold.
    pub fn with_max_drive_entries(mut self, max: u64) -> Self {
        self.max_drive_entries = max;
        self
    }

    /// Creates the schema if it does not exist.
    pub fn init_schema(conn: &Connection) -> rusqlite::Result<()> {
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS files (
                drive_id   TEXT NOT NULL,
                file_id    TEXT NOT NULL,
                parent_id  TEXT,
                name       TEXT NOT NULL,
                kind       TEXT NOT NULL,
                mime       TEXT,
                size       INTEGER NOT NULL,
                sha1       TEXT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                PRIMARY KEY (drive_id, file_id)
            );
            CREATE INDEX IF NOT EXISTS files_by_parent ON files (drive_id, parent_id, name);
            -- What each blob's content is, for the file-type policy: an app
            -- package ('android', 'ios') or 'none'. Computed when the blob is
            -- stored; blobs are content-addressed, so copies share it.
            CREATE TABLE IF NOT EXISTS blob_packages (
                sha1 TEXT PRIMARY KEY,
                kind TEXT NOT NULL
            );
            CREATE TABLE IF NOT EXISTS copy_tasks (
                task_id  TEXT PRIMARY KEY,
                drive_id TEXT NOT NULL,
                total    INTEGER NOT NULL,
                done     INTEGER NOT NULL,
                state    TEXT NOT NULL,
                message  TEXT NOT NULL DEFAULT ''
            );
            -- A copy that was running when the process stopped never finishes.
            UPDATE copy_tasks SET state = 'failed', message = 'interrupted by a restart'
                WHERE state = 'running';",
        )
    }

    /// Adds a file or folder. `id` may be given (seeding) or drawn at random.
    pub fn add(
        &self,
        drive: &DriveId,
        parent: Option<&FileId>,
        name: &str,
        content: NewContent<'_>,
        id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<FileMeta, CopyError> {
        let (kind, size, sha1) = match content {
            NewContent::Folder => (FileKind::Folder, 0, None),
            NewContent::Bytes(bytes) => {
                let (size, hash) = self.store_blob(&mut &bytes[..]).map_err(store_err)?;
                (FileKind::File, size, Some(hash))
            }
            NewContent::Path(path) => {
                let mut f = fs::File::open(path).map_err(store_err)?;
                let (size, hash) = self.store_blob(&mut f).map_err(store_err)?;
                (FileKind::File, size, Some(hash))
            }
        };
        let file_id = match id {
            Some(id) => FileId::new(id).map_err(|e| store_err(io::Error::other(e.to_string())))?,
            None => new_file_id(),
        };
        let meta = FileMeta {
            drive_id: drive.clone(),
            file_id,
            parent_file_id: parent.cloned(),
            name: name.to_owned(),
            kind,
            mime_type: (kind == FileKind::File).then(|| mime_of(name).to_owned()),
            size,
        };
        let conn = self.lock();
        if let Some(p) = parent {
            check_parent(&conn, drive, p)?;
        }
        if let Some(hash) = &sha1 {
            // Classified once per blob, at import: the policy then asks the
            // table, never the bytes.
            let kind = self.classify_blob(hash).map_err(store_err)?;
            record_package(&conn, hash, kind).map_err(sql_err)?;
        }
        if name_taken(&conn, drive, parent, name).map_err(sql_err)? {
            return Err(CopyError::NameTaken { name: name.into() });
        }
        insert(&conn, &meta, sha1.as_deref(), now).map_err(sql_err)?;
        Ok(meta)
    }

    /// Imports a local folder (recursively) or file into `parent` of `drive`.
    /// Returns how many files and folders were created.
    pub fn import(
        &self,
        drive: &DriveId,
        parent: Option<&FileId>,
        path: &Path,
        now: DateTime<Utc>,
    ) -> Result<usize, CopyError> {
        self.import_at(drive, parent, path, now, 0)
    }

    fn import_at(
        &self,
        drive: &DriveId,
        parent: Option<&FileId>,
        path: &Path,
        now: DateTime<Utc>,
        depth: usize,
    ) -> Result<usize, CopyError> {
        if depth > MAX_TREE_DEPTH {
            return Err(store_err(io::Error::other("folder tree too deep")));
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| store_err(io::Error::other("path has no file name")))?;
        let md = fs::symlink_metadata(path).map_err(store_err)?;
        if md.is_dir() {
            let folder = self.add(drive, parent, &name, NewContent::Folder, None, now)?;
            let mut count = 1;
            let mut entries: Vec<_> = fs::read_dir(path)
                .map_err(store_err)?
                .collect::<Result<_, _>>()
                .map_err(store_err)?;
            entries.sort_by_key(fs::DirEntry::file_name);
            for entry in entries {
                count +=
                    self.import_at(drive, Some(&folder.file_id), &entry.path(), now, depth + 1)?;
            }
            Ok(count)
        } else if md.is_file() {
            self.add(drive, parent, &name, NewContent::Path(path), None, now)?;
            Ok(1)
        } else {
            // Symlinks and special files are skipped.
            Ok(0)
        }
    }

    /// A connection for a read: a reader if there are any, else the writer.
    fn read(&self) -> std::sync::MutexGuard<'_, Connection> {
        match &self.readers {
            Some(readers) => readers.next(),
            None => self.lock(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Streams `reader` into a temporary file, then renames it to its hash.
    fn store_blob(&self, reader: &mut dyn Read) -> io::Result<(u64, String)> {
        let mut tmp_name = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut tmp_name);
        let tmp = self.blobs.join(format!("tmp-{}", hex(&tmp_name)));
        let mut out = {
            let mut options = fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(0o600);
            }
            options.open(&tmp)?
        };
        let mut hasher = Sha1::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            let chunk = buf.get(..n).unwrap_or_default();
            hasher.update(chunk);
            out.write_all(chunk)?;
            size += n as u64;
        }
        out.sync_all()?;
        let hash = hex(&hasher.finalize()).to_uppercase();
        fs::rename(&tmp, self.blob_path(&hash))?;
        // The rename itself must survive a crash before the metadata row
        // that points at it is acknowledged.
        fs::File::open(&self.blobs)?.sync_all()?;
        Ok((size, hash))
    }

    fn blob_path(&self, hash: &str) -> PathBuf {
        self.blobs.join(hash)
    }

    /// What a stored blob is, judged from its first 64 KiB (local ZIP
    /// headers) and its last 1 MiB (the ZIP central directory).
    fn classify_blob(&self, hash: &str) -> io::Result<Option<PackageKind>> {
        use std::io::{Seek, SeekFrom};
        let mut f = fs::File::open(self.blob_path(hash))?;
        let mut head = Vec::new();
        (&mut f)
            .take(SNIFF_PREFIX_BYTES as u64)
            .read_to_end(&mut head)?;
        if let Some(kind) = sniff_package(&head) {
            return Ok(Some(kind));
        }
        let len = f.metadata()?.len();
        let tail_len = len.min(CLASSIFY_TAIL_BYTES);
        f.seek(SeekFrom::Start(len - tail_len))?;
        let mut tail = Vec::new();
        f.take(tail_len).read_to_end(&mut tail)?;
        Ok(sniff_package(&tail))
    }
}

/// How much of a blob's end [`SqliteDrives::classify_blob`] reads.
const CLASSIFY_TAIL_BYTES: u64 = 1024 * 1024;

fn record_package(
    conn: &Connection,
    hash: &str,
    kind: Option<PackageKind>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("INSERT OR REPLACE INTO blob_packages (sha1, kind) VALUES (?1, ?2)")?
        .execute(params![hash, kind.map_or("none", PackageKind::as_str)])?;
    Ok(())
}

/// Everything below `root`, breadth first, with each entry's content hash;
/// refused as soon as it passes `limits`.
fn walk_tree(
    conn: &Connection,
    root: &FileMeta,
    limits: &CopyLimits,
) -> Result<Vec<FileEntry>, CopyError> {
    let mut out = Vec::new();
    let mut level = vec![root.file_id.clone()];
    let mut depth = 0;
    while !level.is_empty() {
        depth += 1;
        let mut next = Vec::new();
        for parent in &level {
            for child in children(conn, &root.drive_id, Some(parent)).map_err(sql_err)? {
                if depth > limits.max_depth {
                    return Err(CopyError::TooDeep {
                        limit: limits.max_depth,
                    });
                }
                if out.len() as u64 + 2 > limits.max_entries {
                    return Err(CopyError::TooManyEntries {
                        limit: limits.max_entries,
                    });
                }
                if child.meta.kind == FileKind::Folder {
                    next.push(child.meta.file_id.clone());
                }
                out.push(child);
            }
        }
        level = next;
    }
    Ok(out)
}

impl FileCatalog for SqliteDrives {
    /// One local SQLite file; a read waits at most for a local commit.
    fn reads_are_local(&self) -> bool {
        true
    }

    fn file(&self, drive: &DriveId, file: &FileId) -> Result<Option<FileMeta>, CatalogError> {
        Ok(self.entry(drive, file)?.map(|e| e.meta))
    }

    /// The kind recorded at import; a blob stored before the table existed
    /// is classified now, once.
    fn package_kind(&self, meta: &FileMeta) -> Result<Option<PackageKind>, CatalogError> {
        let Some(hash) = self
            .entry(&meta.drive_id, &meta.file_id)?
            .and_then(|e| e.content_hash)
        else {
            return Ok(None);
        };
        let stored: Option<String> = self
            .read()
            .prepare_cached("SELECT kind FROM blob_packages WHERE sha1 = ?1")
            .and_then(|mut st| st.query_row([&hash], |r| r.get(0)).optional())
            .map_err(catalog_err)?;
        if let Some(kind) = stored {
            return Ok(PackageKind::parse(&kind));
        }
        let kind = self
            .classify_blob(&hash)
            .map_err(|e| CatalogError::msg(format!("cannot read content {hash}: {e}")))?;
        record_package(&self.lock(), &hash, kind).map_err(catalog_err)?;
        Ok(kind)
    }
}

impl SqliteDrives {
    /// One file row, read from the database.
    fn load_entry(
        &self,
        drive: &DriveId,
        file: &FileId,
    ) -> Result<Option<FileEntry>, CatalogError> {
        self.read()
            .prepare_cached(concat!(
                "SELECT ",
                entry_columns!(),
                " FROM files WHERE drive_id = ?1 AND file_id = ?2"
            ))
            .and_then(|mut st| {
                st.query_row(params![drive.as_str(), file.as_str()], row_to_entry)
                    .optional()
            })
            .map_err(catalog_err)?
            .transpose()
    }
}

impl DriveStore for SqliteDrives {
    fn may_access(&self, caller: &Member, drive: &DriveId) -> Result<bool, CatalogError> {
        Ok(self
            .accounts
            .drive_of(caller)
            .map_err(|e| CatalogError::msg(e.to_string()))?
            .is_some_and(|d| &d == drive))
    }

    fn drives_of(&self, caller: &Member) -> Result<Vec<DriveId>, CatalogError> {
        Ok(self
            .accounts
            .drive_of(caller)
            .map_err(|e| CatalogError::msg(e.to_string()))?
            .into_iter()
            .collect())
    }

    fn entry(&self, drive: &DriveId, file: &FileId) -> Result<Option<FileEntry>, CatalogError> {
        let load = || self.load_entry(drive, file);
        match &self.readers {
            Some(readers) => readers
                .entries
                .get_or_load(&(drive.clone(), file.clone()), load),
            None => load(),
        }
    }

    /// One check of the cache for all of them.
    fn entries(
        &self,
        drive: &DriveId,
        files: &[FileId],
    ) -> Result<Vec<Option<FileEntry>>, CatalogError> {
        match &self.readers {
            Some(readers) => {
                let keys: Vec<_> = files.iter().map(|f| (drive.clone(), f.clone())).collect();
                readers
                    .entries
                    .get_many_or_load(&keys, |(d, f)| self.load_entry(d, f))
            }
            None => files.iter().map(|f| self.load_entry(drive, f)).collect(),
        }
    }

    fn list_children(
        &self,
        drive: &DriveId,
        parent: Option<&FileId>,
        query: &ChildQuery,
    ) -> Result<ChildPage, ListError> {
        let all = children(&self.read(), drive, parent).map_err(catalog_err)?;
        Ok(page_entries(all, query)?)
    }

    fn copy(
        &self,
        source: &FileMeta,
        to_drive: &DriveId,
        to_parent: Option<&FileId>,
        auto_rename: bool,
        limits: &CopyLimits,
    ) -> Result<CopyOutcome, CopyError> {
        let now = Utc::now();
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(sql_err)?;
        if let Some(p) = to_parent {
            check_parent(&tx, to_drive, p)?;
            if source.kind == FileKind::Folder && &source.drive_id == to_drive {
                // Refuse copying a folder into itself or below itself.
                let mut cursor = Some(p.clone());
                let mut steps = 0;
                while let Some(c) = cursor {
                    if c == source.file_id {
                        return Err(CopyError::IntoItself);
                    }
                    steps += 1;
                    if steps > MAX_TREE_DEPTH {
                        break;
                    }
                    cursor = parent_of(&tx, to_drive, &c).map_err(sql_err)?;
                }
            }
        }
        let below = if source.kind == FileKind::Folder {
            walk_tree(&tx, source, limits)?
        } else {
            Vec::new()
        };
        let total = below.len() as u64 + 1;
        if drive_entries(&tx, to_drive).map_err(sql_err)? + total > self.max_drive_entries {
            return Err(CopyError::DriveFull {
                limit: self.max_drive_entries,
            });
        }
        let name = free_name(&tx, to_drive, to_parent, &source.name, auto_rename)?;
        let sha1 = sha1_of(&tx, &source.drive_id, &source.file_id).map_err(sql_err)?;
        let root = FileMeta {
            drive_id: to_drive.clone(),
            file_id: new_file_id(),
            parent_file_id: to_parent.cloned(),
            name,
            ..source.clone()
        };
        insert(&tx, &root, sha1.as_deref(), now).map_err(sql_err)?;
        if source.kind != FileKind::Folder {
            tx.commit().map_err(sql_err)?;
            return Ok(CopyOutcome {
                file: root,
                async_task_id: None,
            });
        }
        let task_id = format!("{COPY_TASK_PREFIX}{}", root.file_id);
        let state = if below.is_empty() {
            "succeed"
        } else {
            "running"
        };
        tx.execute(
            "INSERT INTO copy_tasks (task_id, drive_id, total, done, state) VALUES (?1, ?2, ?3, 1, ?4)",
            params![task_id, to_drive.as_str(), i64::try_from(total).unwrap_or(i64::MAX), state],
        )
        .map_err(sql_err)?;
        tx.commit().map_err(sql_err)?;
        drop(conn);
        if !below.is_empty() {
            let store = self.clone();
            let job = CopyJob {
                task_id: task_id.clone(),
                from_root: source.file_id.clone(),
                to_root: root.clone(),
                entries: below,
                now,
            };
            let spawned = std::thread::Builder::new()
                .name("sharelink-copy".into())
                .spawn(move || store.run_copy(job));
            if let Err(e) = spawned {
                self.finish_task(&task_id, Err(&format!("could not start the copy: {e}")));
            }
        }
        Ok(CopyOutcome {
            file: root,
            async_task_id: Some(task_id),
        })
    }

    /// A folder copy's task: running with its progress, or finished. Only
    /// the owner of the target drive sees it.
    fn async_task(&self, caller: &Member, id: &str) -> Result<Option<AsyncTask>, CatalogError> {
        let Some(drive) = self
            .accounts
            .drive_of(caller)
            .map_err(|e| CatalogError::msg(e.to_string()))?
        else {
            return Ok(None);
        };
        let row: Option<(i64, i64, String, String)> = self
            .lock()
            .prepare_cached(
                "SELECT total, done, state, message FROM copy_tasks WHERE task_id = ?1 AND drive_id = ?2",
            )
            .and_then(|mut st| {
                st.query_row(params![id, drive.as_str()], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .optional()
            })
            .map_err(catalog_err)?;
        Ok(row.map(|(total, done, state, message)| AsyncTask {
            state: match state.as_str() {
                "running" => TaskState::Running,
                "succeed" => TaskState::Succeed,
                _ => TaskState::Failed { message },
            },
            total: u64::try_from(total).unwrap_or(0),
            done: u64::try_from(done).unwrap_or(0),
        }))
    }

    fn open(&self, file: &FileMeta) -> Result<Box<dyn Read + Send>, CatalogError> {
        self.open_at(file, 0)
    }

    /// Seeks to the range's start: a range costs what it sends.
    fn open_at(&self, file: &FileMeta, offset: u64) -> Result<Box<dyn Read + Send>, CatalogError> {
        // The cached row: as fresh as a read of the database (see `Readers`).
        let sha1 = self
            .entry(&file.drive_id, &file.file_id)?
            .and_then(|e| e.content_hash)
            .ok_or_else(|| CatalogError::msg(format!("{} has no content", file.file_id)))?;
        let mut f = fs::File::open(self.blob_path(&sha1)).map_err(|e| CatalogError {
            message: format!("content of {} is missing", file.file_id),
            source: Some(Box::new(e)),
        })?;
        if offset > 0 {
            f.seek(SeekFrom::Start(offset)).map_err(|e| CatalogError {
                message: format!("cannot seek in the content of {}", file.file_id),
                source: Some(Box::new(e)),
            })?;
        }
        Ok(Box::new(f))
    }
}

/// The rows a background folder copy still has to write.
struct CopyJob {
    task_id: String,
    from_root: FileId,
    to_root: FileMeta,
    /// The source entries below the root, parents before children.
    entries: Vec<FileEntry>,
    now: DateTime<Utc>,
}

impl SqliteDrives {
    /// Writes a folder copy's rows in batches of [`COPY_BATCH`], one
    /// transaction each, updating the task's progress with every batch.
    fn run_copy(&self, job: CopyJob) {
        let mut ids: std::collections::HashMap<FileId, FileId> =
            std::collections::HashMap::with_capacity(job.entries.len() + 1);
        ids.insert(job.from_root.clone(), job.to_root.file_id.clone());
        let mut done: i64 = 1;
        for batch in job.entries.chunks(COPY_BATCH) {
            let written = (|| -> rusqlite::Result<()> {
                let mut conn = self.lock();
                let tx = conn.transaction()?;
                for entry in batch {
                    let Some(parent) = entry
                        .meta
                        .parent_file_id
                        .as_ref()
                        .and_then(|p| ids.get(p))
                        .cloned()
                    else {
                        continue; // its parent was not copied (cannot happen in BFS order)
                    };
                    let copy = FileMeta {
                        drive_id: job.to_root.drive_id.clone(),
                        file_id: new_file_id(),
                        parent_file_id: Some(parent),
                        ..entry.meta.clone()
                    };
                    insert(&tx, &copy, entry.content_hash.as_deref(), job.now)?;
                    ids.insert(entry.meta.file_id.clone(), copy.file_id);
                }
                done += i64::try_from(batch.len()).unwrap_or(i64::MAX);
                tx.execute(
                    "UPDATE copy_tasks SET done = ?2 WHERE task_id = ?1",
                    params![job.task_id, done],
                )?;
                tx.commit()
            })();
            if let Err(e) = written {
                tracing::error!(error = %e, task = %job.task_id, "background copy failed");
                self.finish_task(&job.task_id, Err("the copy failed; part of it was written"));
                return;
            }
        }
        self.finish_task(&job.task_id, Ok(()));
    }

    fn finish_task(&self, task_id: &str, outcome: Result<(), &str>) {
        let (state, message) = match outcome {
            Ok(()) => ("succeed", ""),
            Err(m) => ("failed", m),
        };
        let res = self.lock().execute(
            "UPDATE copy_tasks SET state = ?2, message = ?3 WHERE task_id = ?1",
            params![task_id, state, message],
        );
        if let Err(e) = res {
            tracing::error!(error = %e, task = %task_id, "recording a copy's end failed");
        }
    }
}

/// How many files and folders `drive` holds, counting those that folder
/// copies still running in the background have yet to write: a copy
/// reserves its entries when it is accepted, so copies started back to back
/// can never pass the drive's cap together.
fn drive_entries(conn: &Connection, drive: &DriveId) -> rusqlite::Result<u64> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT (SELECT COUNT(*) FROM files WHERE drive_id = ?1)
                  + (SELECT COALESCE(SUM(total - done), 0) FROM copy_tasks
                     WHERE drive_id = ?1 AND state = 'running')",
        )?
        .query_row([drive.as_str()], |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Prefix of the task ids of folder copies.
const COPY_TASK_PREFIX: &str = "copy-";

fn row_to_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<FileEntry, CatalogError>> {
    let drive: String = row.get(0)?;
    let file: String = row.get(1)?;
    let parent: Option<String> = row.get(2)?;
    let name: String = row.get(3)?;
    let kind: String = row.get(4)?;
    let mime: Option<String> = row.get(5)?;
    let size: i64 = row.get(6)?;
    let sha1: Option<String> = row.get(7)?;
    let created: String = row.get(8)?;
    let updated: String = row.get(9)?;
    Ok((|| {
        let bad = |what: &str| CatalogError::msg(format!("corrupt file row {file}: {what}"));
        Ok(FileEntry {
            meta: FileMeta {
                drive_id: DriveId::new(drive.clone()).map_err(|_| bad("drive_id"))?,
                file_id: FileId::new(file.clone()).map_err(|_| bad("file_id"))?,
                parent_file_id: parent
                    .map(FileId::new)
                    .transpose()
                    .map_err(|_| bad("parent_id"))?,
                name,
                kind: match kind.as_str() {
                    "folder" => FileKind::Folder,
                    "file" => FileKind::File,
                    _ => return Err(bad("kind")),
                },
                mime_type: mime,
                size: u64::try_from(size).map_err(|_| bad("size"))?,
            },
            created_at: parse_time(&created).ok_or_else(|| bad("created_at"))?,
            updated_at: parse_time(&updated).ok_or_else(|| bad("updated_at"))?,
            content_hash: sha1,
        })
    })())
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn children(
    conn: &Connection,
    drive: &DriveId,
    parent: Option<&FileId>,
) -> rusqlite::Result<Vec<FileEntry>> {
    let mut st = conn.prepare_cached(concat!(
        "SELECT ",
        entry_columns!(),
        " FROM files WHERE drive_id = ?1 AND parent_id IS ?2"
    ))?;
    let rows = st.query_map(
        params![drive.as_str(), parent.map(FileId::as_str)],
        row_to_entry,
    )?;
    let mut out = Vec::new();
    for row in rows {
        match row? {
            Ok(e) => out.push(e),
            Err(e) => tracing::warn!(error = %e, "skipping a corrupt file row"),
        }
    }
    Ok(out)
}

fn insert(
    conn: &Connection,
    m: &FileMeta,
    sha1: Option<&str>,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let t = now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    conn.prepare_cached(
        "INSERT INTO files (drive_id, file_id, parent_id, name, kind, mime, size, sha1, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
    )?
    .execute(params![
        m.drive_id.as_str(),
        m.file_id.as_str(),
        m.parent_file_id.as_ref().map(FileId::as_str),
        m.name,
        m.kind.as_wire(),
        m.mime_type,
        i64::try_from(m.size).unwrap_or(i64::MAX),
        sha1,
        t,
    ])?;
    Ok(())
}

fn sha1_of(conn: &Connection, drive: &DriveId, file: &FileId) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT sha1 FROM files WHERE drive_id = ?1 AND file_id = ?2")?
        .query_row(params![drive.as_str(), file.as_str()], |r| r.get(0))
        .optional()
        .map(Option::flatten)
}

fn parent_of(
    conn: &Connection,
    drive: &DriveId,
    file: &FileId,
) -> rusqlite::Result<Option<FileId>> {
    let p: Option<Option<String>> = conn
        .prepare_cached("SELECT parent_id FROM files WHERE drive_id = ?1 AND file_id = ?2")?
        .query_row(params![drive.as_str(), file.as_str()], |r| r.get(0))
        .optional()?;
    Ok(p.flatten().and_then(|p| FileId::new(p).ok()))
}

fn check_parent(conn: &Connection, drive: &DriveId, parent: &FileId) -> Result<(), CopyError> {
    let kind: Option<String> = conn
        .prepare_cached("SELECT kind FROM files WHERE drive_id = ?1 AND file_id = ?2")
        .and_then(|mut st| {
            st.query_row(params![drive.as_str(), parent.as_str()], |r| r.get(0))
                .optional()
        })
        .map_err(sql_err)?;
    match kind.as_deref() {
        None => Err(CopyError::ParentNotFound(parent.to_string())),
        Some("folder") => Ok(()),
        Some(_) => Err(CopyError::ParentNotFolder(parent.to_string())),
    }
}

fn name_taken(
    conn: &Connection,
    drive: &DriveId,
    parent: Option<&FileId>,
    name: &str,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM files WHERE drive_id = ?1 AND parent_id IS ?2 AND name = ?3)",
    )?
    .query_row(
        params![drive.as_str(), parent.map(FileId::as_str), name],
        |r| r.get(0),
    )
}

/// `name`, or with `auto_rename` the first free `stem(n).ext`.
fn free_name(
    conn: &Connection,
    drive: &DriveId,
    parent: Option<&FileId>,
    name: &str,
    auto_rename: bool,
) -> Result<String, CopyError> {
    if !name_taken(conn, drive, parent, name).map_err(sql_err)? {
        return Ok(name.to_owned());
    }
    if !auto_rename {
        return Err(CopyError::NameTaken { name: name.into() });
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    for n in 1..10_000 {
        let candidate = format!("{stem}({n}){ext}");
        if !name_taken(conn, drive, parent, &candidate).map_err(sql_err)? {
            return Ok(candidate);
        }
    }
    Err(CopyError::NameTaken { name: name.into() })
}

/// A random 40-hex-character file id, like PDS's.
fn new_file_id() -> FileId {
    let mut b = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut b);
    FileId::new(hex(&b)).unwrap_or_else(|_| unreachable!("hex is a valid file id"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A MIME type from the extension; enough for the file-type policy and
/// browsers. Unknown extensions are `application/octet-stream`.
pub fn mime_of(name: &str) -> &'static str {
    match sharelink_http::extension_of(name).as_str() {
        "txt" | "md" => "text/plain; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "csv" => "text/csv",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "svg" => "image/svg+xml",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        "zip" => "application/zip",
        "apk" => "application/vnd.android.package-archive",
        "ipa" => "application/octet-stream",
        _ => "application/octet-stream",
    }
}

fn store_err(e: io::Error) -> CopyError {
    CopyError::Store(CatalogError {
        message: "drive store I/O failed".into(),
        source: Some(Box::new(e)),
    })
}

fn sql_err(e: rusqlite::Error) -> CopyError {
    CopyError::Store(catalog_err(e))
}

fn catalog_err(e: rusqlite::Error) -> CatalogError {
    CatalogError {
        message: "drive metadata query failed".into(),
        source: Some(Box::new(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Entries a running folder copy has yet to write count against the
    /// drive's cap; a failed or finished copy reserves nothing.
    #[test]
    fn running_copies_reserve_their_entries() {
        let conn = Connection::open_in_memory().unwrap();
        SqliteDrives::init_schema(&conn).unwrap();
        let drive = DriveId::new("d").unwrap();
        assert_eq!(drive_entries(&conn, &drive).unwrap(), 0);
        for (task, state) in [("t1", "running"), ("t2", "failed"), ("t3", "succeed")] {
            conn.execute(
                "INSERT INTO copy_tasks (task_id, drive_id, total, done, state)
                 VALUES (?1, 'd', 100, 40, ?2)",
                params![task, state],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO copy_tasks (task_id, drive_id, total, done, state)
             VALUES ('other', 'e', 100, 1, 'running')",
            [],
        )
        .unwrap();
        assert_eq!(drive_entries(&conn, &drive).unwrap(), 60);
    }

    /// A file row read twice is answered from memory the second time; a
    /// change committed through another connection (as an `import` in
    /// another process would) is seen at the next read.
    #[test]
    fn cached_entries_follow_commits_from_other_connections() {
        let dir = tempfile::tempdir().unwrap();
        let data = crate::DataDir::open(dir.path()).unwrap();
        let drive = DriveId::new("drive-cache").unwrap();
        let meta = data
            .drives
            .add(
                &drive,
                None,
                "a.txt",
                NewContent::Bytes(b"hello"),
                None,
                Utc::now(),
            )
            .unwrap();
        let cached = || data.drives.readers.as_ref().unwrap().entries.len();
        let name = || {
            data.drives
                .entry(&drive, &meta.file_id)
                .unwrap()
                .unwrap()
                .meta
                .name
        };
        assert_eq!(name(), "a.txt");
        assert_eq!(cached(), 1);
        assert_eq!(name(), "a.txt");
        let other = Connection::open(dir.path().join("drive.sqlite")).unwrap();
        other
            .execute(
                "UPDATE files SET name = 'b.txt' WHERE file_id = ?1",
                [meta.file_id.as_str()],
            )
            .unwrap();
        assert_eq!(name(), "b.txt", "a commit elsewhere was missed");
        // The batch read sees the same rows, and the next commit.
        let ghost = FileId::new("ghost").unwrap();
        let names = || {
            data.drives
                .entries(&drive, &[meta.file_id.clone(), ghost.clone()])
                .unwrap()
                .into_iter()
                .map(|e| e.map(|e| e.meta.name))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(), [Some("b.txt".to_owned()), None]);
        other
            .execute(
                "UPDATE files SET name = 'c.txt' WHERE file_id = ?1",
                [meta.file_id.as_str()],
            )
            .unwrap();
        assert_eq!(names(), [Some("c.txt".to_owned()), None]);
        assert_eq!(cached(), 1, "a missing file is not kept");
        other
            .execute(
                "DELETE FROM files WHERE file_id = ?1",
                [meta.file_id.as_str()],
            )
            .unwrap();
        assert!(data.drives.entry(&drive, &meta.file_id).unwrap().is_none());
    }
}
