//! A read cache that stays exact across connections and processes.
//!
//! In WAL mode every commit to a database, by any connection of any process,
//! rewrites the *wal-index header* at the start of the database's `-shm`
//! file before the commit returns: it holds a change counter, the WAL's
//! last frame, its salts and checksums, and readers find new data through
//! it (see SQLite's "WAL-mode file format", section 2.2). While those 48
//! bytes stay the same, nothing has been committed, so an answer read from
//! the database is still the answer.
//!
//! [`StampedCache`] keeps decoded rows under the header they were read at:
//! a lookup reads the header (one `pread`, no lock, no SQLite call) and
//! answers from memory only if it has not changed. Any commit anywhere
//! empties the cache at the next lookup. A cancelled share or a moved file
//! is therefore never served from memory after its commit, whichever
//! process made it; what the cache saves is the read transaction (its file
//! locks and their mutex), the statement and the decoding, on stores that
//! are read far more often than written.

use std::collections::HashMap;
use std::fs::File;
use std::hash::Hash;
use std::path::{Path, PathBuf};
use std::sync::{PoisonError, RwLock};

/// Bytes of one copy of the wal-index header.
const HEADER_BYTES: usize = 48;
/// Offset of `isInit` in the header: 1 once a connection has built it.
const IS_INIT_OFFSET: usize = 12;

/// The wal-index header of a database at one moment: equal stamps mean no
/// commit in between.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp([u8; HEADER_BYTES]);

/// Reads a WAL database's wal-index header from its `-shm` file.
#[derive(Debug)]
pub struct WalStamp {
    shm: File,
}

impl WalStamp {
    /// Opens the `-shm` file of the WAL database at `db`. The database must
    /// be open in WAL mode by this process (so that the file exists and
    /// stays: SQLite removes it only when its last connection closes).
    pub fn open(db: &Path) -> std::io::Result<Self> {
        Ok(Self {
            shm: File::open(shm_path(db))?,
        })
    }

    /// The current header, or `None` if it cannot be trusted now: unreadable,
    /// not yet initialised, or caught mid-write (SQLite writes its two
    /// copies one after the other; they differ only during a commit).
    pub fn read(&self) -> Option<Stamp> {
        let mut both = [0u8; 2 * HEADER_BYTES];
        if read_at(&self.shm, &mut both, 0).ok()? != both.len() {
            return None;
        }
        let (first, second) = both.split_at(HEADER_BYTES);
        if first != second || first.get(IS_INIT_OFFSET) != Some(&1) {
            return None;
        }
        let mut stamp = [0u8; HEADER_BYTES];
        stamp.copy_from_slice(first);
        Some(Stamp(stamp))
    }
}

fn shm_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-shm");
    PathBuf::from(name)
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Decoded rows of one database, valid while its wal-index header stays the
/// same (see the module docs). Holds at most `capacity` entries; when full it
/// starts over. Only rows that exist are kept: an unknown key always reaches
/// the database, so a flood of made-up ids cannot crowd out real ones.
#[derive(Debug)]
pub struct StampedCache<K, V> {
    stamp: WalStamp,
    capacity: usize,
    generation: RwLock<Generation<K, V>>,
}

#[derive(Debug)]
struct Generation<K, V> {
    stamp: Option<Stamp>,
    entries: HashMap<K, V>,
}

impl<K: Eq + Hash + Clone, V: Clone> StampedCache<K, V> {
    /// A cache of the WAL database at `db` holding up to `capacity` rows.
    pub fn open(db: &Path, capacity: usize) -> std::io::Result<Self> {
        Ok(Self {
            stamp: WalStamp::open(db)?,
            capacity,
            generation: RwLock::new(Generation {
                stamp: None,
                entries: HashMap::new(),
            }),
        })
    }

    /// The row for `key`: from memory if the database has not changed since
    /// it was read, else from `load`, whose answer is then kept (if it is a
    /// row and no commit came in between).
    pub fn get_or_load<E>(
        &self,
        key: &K,
        load: impl FnOnce() -> Result<Option<V>, E>,
    ) -> Result<Option<V>, E> {
        match self.stamp.read() {
            Some(before) => self.lookup(before, key, load),
            None => load(),
        }
    }

    /// [`get_or_load`](Self::get_or_load) for each of `keys`, under **one**
    /// read of the header (one system call, not one per key): every row is
    /// as the database was at the start of the call or newer, as with
    /// separate lookups.
    pub fn get_many_or_load<E>(
        &self,
        keys: &[K],
        mut load: impl FnMut(&K) -> Result<Option<V>, E>,
    ) -> Result<Vec<Option<V>>, E> {
        let before = self.stamp.read();
        keys.iter()
            .map(|key| match before {
                Some(before) => self.lookup(before, key, || load(key)),
                None => load(key),
            })
            .collect()
    }

    /// The row for `key`, given the header read before this lookup began.
    fn lookup<E>(
        &self,
        before: Stamp,
        key: &K,
        load: impl FnOnce() -> Result<Option<V>, E>,
    ) -> Result<Option<V>, E> {
        {
            let generation = self
                .generation
                .read()
                .unwrap_or_else(PoisonError::into_inner);
            if generation.stamp == Some(before) {
                if let Some(v) = generation.entries.get(key) {
                    return Ok(Some(v.clone()));
                }
            }
        }
        // `before` was read before `load` began, so the row is at least as
        // new as `before`: kept under it, the row is dropped at the next
        // lookup if anything was committed meanwhile.
        let row = load()?;
        if let Some(v) = &row {
            self.keep(before, key.clone(), v.clone());
        }
        Ok(row)
    }

    fn keep(&self, read_at: Stamp, key: K, value: V) {
        let mut generation = self
            .generation
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if generation.stamp != Some(read_at) {
            // Start a new generation only at the current header: a row read
            // before a commit must not outlive it.
            if self.stamp.read() != Some(read_at) {
                return;
            }
            generation.entries.clear();
            generation.stamp = Some(read_at);
        }
        if generation.entries.len() >= self.capacity {
            generation.entries.clear();
        }
        if self.capacity > 0 {
            generation.entries.insert(key, value);
        }
    }

    /// How many rows are held (for tests and diagnostics).
    pub fn len(&self) -> usize {
        self.generation
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    fn wal_db(dir: &Path) -> (PathBuf, Connection) {
        let path = dir.join("db.sqlite");
        let conn = Connection::open(&path).unwrap();
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        conn.execute_batch("CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL);")
            .unwrap();
        (path, conn)
    }

    /// [`wal_db`] with the row `a = one` committed.
    fn wal_db_holding_a(dir: &Path) -> (PathBuf, Connection) {
        let (path, writer) = wal_db(dir);
        writer
            .execute("INSERT INTO t (k, v) VALUES ('a', 'one')", [])
            .unwrap();
        (path, writer)
    }

    fn value(conn: &Connection, k: &str) -> rusqlite::Result<Option<String>> {
        use rusqlite::OptionalExtension as _;
        conn.query_row("SELECT v FROM t WHERE k = ?1", [k], |r| r.get(0))
            .optional()
    }

    #[test]
    fn the_header_changes_with_every_commit_and_only_then() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_db(dir.path());
        let other = Connection::open(&path).unwrap();
        let stamp = WalStamp::open(&path).unwrap();
        let first = stamp.read().expect("an initialised header");
        value(&other, "a").unwrap();
        assert_eq!(stamp.read(), Some(first), "a read commits nothing");
        let mut seen = vec![first];
        for i in 0..20 {
            let conn = if i % 2 == 0 { &writer } else { &other };
            conn.execute(
                "INSERT INTO t (k, v) VALUES ('a', ?1) ON CONFLICT (k) DO UPDATE SET v = ?1",
                [i.to_string()],
            )
            .unwrap();
            let now = stamp.read().expect("a header after a commit");
            assert!(!seen.contains(&now), "commit {i} left a header seen before");
            seen.push(now);
        }
        // A checkpoint moves data into the database file; the next commit
        // restarts the WAL, and the header still changes.
        writer
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        let before = stamp.read().unwrap();
        writer.execute("UPDATE t SET v = 'x'", []).unwrap();
        assert_ne!(stamp.read().unwrap(), before);
    }

    #[test]
    fn a_commit_by_another_connection_is_seen_at_the_next_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_db_holding_a(dir.path());
        let reader = Connection::open(&path).unwrap();
        let cache: StampedCache<String, String> = StampedCache::open(&path, 16).unwrap();
        let loads = std::cell::Cell::new(0);
        let get = || {
            cache.get_or_load(&"a".to_owned(), || {
                loads.set(loads.get() + 1);
                value(&reader, "a")
            })
        };
        assert_eq!(get().unwrap().as_deref(), Some("one"));
        assert_eq!(get().unwrap().as_deref(), Some("one"));
        assert_eq!(loads.get(), 1, "the second lookup is answered from memory");
        writer.execute("UPDATE t SET v = 'two'", []).unwrap();
        assert_eq!(get().unwrap().as_deref(), Some("two"));
        assert_eq!(loads.get(), 2);
        writer.execute("DELETE FROM t", []).unwrap();
        assert_eq!(get().unwrap(), None);
        assert_eq!(get().unwrap(), None);
        assert_eq!(loads.get(), 4, "a missing row is not kept");
    }

    #[test]
    fn a_batch_answers_from_memory_until_a_commit_then_reads_again() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_db_holding_a(dir.path());
        writer
            .execute("INSERT INTO t (k, v) VALUES ('b', 'bee')", [])
            .unwrap();
        let reader = Connection::open(&path).unwrap();
        let cache: StampedCache<String, String> = StampedCache::open(&path, 16).unwrap();
        let keys = ["a", "b", "missing"].map(str::to_owned);
        let loads = std::cell::Cell::new(0);
        let get = || {
            cache.get_many_or_load(&keys, |k| {
                loads.set(loads.get() + 1);
                value(&reader, k)
            })
        };
        let want = |a: &str| vec![Some(a.to_owned()), Some("bee".to_owned()), None];
        assert_eq!(get().unwrap(), want("one"));
        assert_eq!(loads.get(), 3);
        assert_eq!(get().unwrap(), want("one"));
        assert_eq!(loads.get(), 4, "only the missing key is read again");
        writer
            .execute("UPDATE t SET v = 'two' WHERE k = 'a'", [])
            .unwrap();
        assert_eq!(
            get().unwrap(),
            want("two"),
            "a commit is seen at the next batch"
        );
        assert_eq!(loads.get(), 7);
        // A load's error ends the batch.
        let err: Result<Vec<Option<String>>, &str> = cache.get_many_or_load(&keys, |_| Err("down"));
        assert_eq!(err, Err("down"));
    }

    #[test]
    fn a_row_read_across_a_commit_is_not_kept_under_the_older_header() {
        let dir = tempfile::tempdir().unwrap();
        let (path, writer) = wal_db_holding_a(dir.path());
        let cache: StampedCache<String, String> = StampedCache::open(&path, 16).unwrap();
        // The commit lands between the header read and the load.
        let got = cache
            .get_or_load(&"a".to_owned(), || {
                writer.execute("UPDATE t SET v = 'two'", [])?;
                value(&writer, "a")
            })
            .unwrap();
        assert_eq!(got.as_deref(), Some("two"));
        assert!(cache.is_empty(), "kept under a header that no longer holds");
        writer.execute("UPDATE t SET v = 'three'", []).unwrap();
        let got = cache
            .get_or_load(&"a".to_owned(), || value(&writer, "a"))
            .unwrap();
        assert_eq!(got.as_deref(), Some("three"));
    }

    #[test]
    fn a_full_cache_starts_over_and_capacity_zero_keeps_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _writer) = wal_db(dir.path());
        let cache: StampedCache<u32, u32> = StampedCache::open(&path, 3).unwrap();
        for k in 0..3 {
            cache.get_or_load(&k, || Ok::<_, ()>(Some(k))).unwrap();
        }
        assert_eq!(cache.len(), 3);
        cache.get_or_load(&9, || Ok::<_, ()>(Some(9))).unwrap();
        assert_eq!(cache.len(), 1);
        let none: StampedCache<u32, u32> = StampedCache::open(&path, 0).unwrap();
        none.get_or_load(&1, || Ok::<_, ()>(Some(1))).unwrap();
        assert!(none.is_empty());
    }
}
