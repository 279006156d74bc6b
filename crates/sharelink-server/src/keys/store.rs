//! The key file on disk, and the acknowledgements serving instances leave
//! beside it.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use sha2::{Digest as _, Sha256};
use sharelink_core::{KeyId, SigningKey};

use super::key_file::{KeyFile, KeyFileError};
use crate::{ServerError, io_err, private};

/// An acknowledgement not refreshed for this long belongs to an instance
/// that stopped (or is stalled); rotation stops waiting for it.
pub const ACK_STALE_AFTER: Duration = Duration::from_secs(10);

/// A key file's identity: the first 16 bytes of its SHA-256, in hex. Two
/// instances with the same digest run the same keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest(String);

impl FileDigest {
    fn of(bytes: &[u8]) -> Self {
        let hash = Sha256::digest(bytes);
        Self(hash[..16].iter().map(|b| format!("{b:02x}")).collect())
    }

    /// The digest as hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A key file as read: its content and its digest.
#[derive(Debug, Clone)]
pub struct LoadedKeys {
    /// The keys.
    pub file: KeyFile,
    /// The digest of the bytes they were parsed from.
    pub digest: FileDigest,
}

/// What [`KeyStore::reread`] found.
#[derive(Debug, Clone)]
pub enum Reread {
    /// The file is gone.
    Gone,
    /// The file is the one already known.
    Same,
    /// The file changed; here is what it holds now.
    Changed(LoadedKeys),
}

/// One serving instance's acknowledgement: the key file it runs on.
#[derive(Debug, Clone)]
pub struct Acknowledgement {
    /// The instance (`<pid>-<random>`).
    pub instance: String,
    /// Where it listens, for the operator.
    pub listen: String,
    /// The digest of the key file it runs on.
    pub digest: FileDigest,
    /// How long ago it last wrote this.
    pub age: Duration,
}

/// The fleet's key file at one path, with its acknowledgements in
/// `<path>.seen/` and its rotation lock at `<path>.lock`. Every instance and
/// every `rotate-key` of a fleet must point at the same path (a shared
/// directory, or a file the deployment keeps identical everywhere).
#[derive(Debug, Clone)]
pub struct KeyStore {
    path: PathBuf,
}

impl KeyStore {
    /// The key file at `path` (which need not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The key file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    fn seen_dir(&self) -> PathBuf {
        self.sibling(".seen")
    }

    fn bad_file(&self, source: KeyFileError) -> ServerError {
        ServerError::KeyFile {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads and parses the key file; `None` if it does not exist.
    pub fn read(&self) -> Result<Option<LoadedKeys>, ServerError> {
        match self.read_bytes()? {
            Some(bytes) => {
                let digest = FileDigest::of(&bytes);
                self.parse(&bytes, digest).map(Some)
            }
            None => Ok(None),
        }
    }

    /// Re-reads the key file, parsing it only when its digest is not
    /// `known` (serving instances call this every second).
    pub fn reread(&self, known: &FileDigest) -> Result<Reread, ServerError> {
        let Some(bytes) = self.read_bytes()? else {
            return Ok(Reread::Gone);
        };
        let digest = FileDigest::of(&bytes);
        if &digest == known {
            return Ok(Reread::Same);
        }
        self.parse(&bytes, digest).map(Reread::Changed)
    }

    fn read_bytes(&self) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>, ServerError> {
        match fs::read(&self.path) {
            Ok(bytes) => Ok(Some(zeroize::Zeroizing::new(bytes))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_err(format!("reading {}", self.path.display()))(e)),
        }
    }

    fn parse(&self, bytes: &[u8], digest: FileDigest) -> Result<LoadedKeys, ServerError> {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            self.bad_file(KeyFileError::Malformed {
                line: 0,
                reason: "not UTF-8 text".into(),
            })
        })?;
        let file = KeyFile::parse(text).map_err(|e| self.bad_file(e))?;
        Ok(LoadedKeys { file, digest })
    }

    /// Reads the key file, or creates it on first start: from a
    /// `legacy` single-key file (`<key id> <base64>`, which is then
    /// removed) if there is one, else with a fresh key from the OS CSPRNG.
    /// Instances starting together agree on one file: the first to link
    /// its file into place wins, the others read it.
    pub fn load_or_create(
        &self,
        legacy: &Path,
        now: DateTime<Utc>,
    ) -> Result<LoadedKeys, ServerError> {
        if let Some(loaded) = self.read()? {
            return Ok(loaded);
        }
        let key = match read_legacy(legacy)? {
            Some(key) => key,
            None => KeyFile::generate_key(now, &mut rand::rngs::OsRng),
        };
        let file = KeyFile::new(key, now);
        let (tmp, _) = self.write_temporary(&file)?;
        let linked = fs::hard_link(&tmp, &self.path);
        let _ = fs::remove_file(&tmp);
        match linked {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io_err(format!("creating {}", self.path.display()))(e)),
        }
        let loaded = self.read()?.ok_or_else(|| {
            io_err(format!("reading {}", self.path.display()))(io::ErrorKind::NotFound.into())
        })?;
        if loaded.file.signing().key.id() == file.signing().key.id() && legacy.exists() {
            // Its key now lives in the key file.
            fs::remove_file(legacy).map_err(io_err(format!("removing {}", legacy.display())))?;
        }
        Ok(loaded)
    }

    /// Replaces the key file atomically (write, sync, rename): a reader
    /// sees the old file or the new one, never a mix. Returns the new
    /// digest.
    pub fn replace(&self, file: &KeyFile) -> Result<FileDigest, ServerError> {
        let (tmp, digest) = self.write_temporary(file)?;
        fs::rename(&tmp, &self.path)
            .map_err(io_err(format!("replacing {}", self.path.display())))?;
        Ok(digest)
    }

    /// Writes `file` next to the key file; returns the path and the
    /// digest of what was written.
    fn write_temporary(&self, file: &KeyFile) -> Result<(PathBuf, FileDigest), ServerError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            private::dir(dir).map_err(io_err(format!("creating {}", dir.display())))?;
        }
        let tmp = self.sibling(&format!(
            ".tmp-{}-{:08x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let text = zeroize::Zeroizing::new(file.render());
        private::write(&tmp, text.as_bytes())
            .map_err(io_err(format!("writing {}", tmp.display())))?;
        Ok((tmp, FileDigest::of(text.as_bytes())))
    }

    /// Records that `instance` (listening on `listen`) runs the key file
    /// with `digest`. Serving instances call this every reload.
    pub fn acknowledge(
        &self,
        instance: &str,
        listen: &str,
        digest: &FileDigest,
    ) -> Result<(), ServerError> {
        let dir = self.seen_dir();
        private::dir(&dir).map_err(io_err(format!("creating {}", dir.display())))?;
        let tmp = dir.join(format!(".{instance}.tmp"));
        private::write(&tmp, format!("{} {listen}\n", digest.as_str()).as_bytes())
            .map_err(io_err(format!("writing {}", tmp.display())))?;
        let path = dir.join(instance);
        fs::rename(&tmp, &path).map_err(io_err(format!("writing {}", path.display())))
    }

    /// Removes `instance`'s acknowledgement (a clean shutdown).
    pub fn forget(&self, instance: &str) {
        let _ = fs::remove_file(self.seen_dir().join(instance));
    }

    /// Every acknowledgement refreshed within [`ACK_STALE_AFTER`]: the
    /// instances serving now. Older ones are removed once they are a
    /// hundred times staler, so that stopped instances do not pile up.
    pub fn live_acknowledgements(&self) -> Result<Vec<Acknowledgement>, ServerError> {
        let dir = self.seen_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(format!("reading {}", dir.display()))(e)),
        };
        let now = SystemTime::now();
        let mut live = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_err(format!("reading {}", dir.display())))?;
            let instance = entry.file_name().to_string_lossy().into_owned();
            if instance.starts_with('.') {
                continue;
            }
            let Ok(modified) = entry.metadata().and_then(|m| m.modified()) else {
                continue; // removed meanwhile
            };
            let age = now.duration_since(modified).unwrap_or_default();
            if age > ACK_STALE_AFTER {
                if age > ACK_STALE_AFTER * 100 {
                    let _ = fs::remove_file(entry.path());
                }
                continue;
            }
            let Ok(text) = fs::read_to_string(entry.path()) else {
                continue;
            };
            let mut fields = text.split_whitespace();
            let digest = FileDigest(fields.next().unwrap_or_default().to_owned());
            let listen = fields.next().unwrap_or_default().to_owned();
            live.push(Acknowledgement {
                instance,
                listen,
                digest,
                age,
            });
        }
        live.sort_by(|a, b| a.instance.cmp(&b.instance));
        Ok(live)
    }

    /// Takes the rotation lock (`<path>.lock`), so that two `rotate-key`
    /// runs cannot interleave. Released on drop.
    pub fn lock(&self) -> Result<RotationLock, ServerError> {
        let path = self.sibling(".lock");
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        match options.open(&path) {
            Ok(mut f) => {
                let _ = writeln!(f, "{}", std::process::id());
                Ok(RotationLock { path })
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(ServerError::Input(format!(
                "another rotate-key is running ({} exists; remove it if no rotate-key is running)",
                path.display()
            ))),
            Err(e) => Err(io_err(format!("creating {}", path.display()))(e)),
        }
    }
}

/// Held while a rotation runs; removes the lock file on drop.
#[derive(Debug)]
pub struct RotationLock {
    path: PathBuf,
}

impl Drop for RotationLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The single-key file of earlier versions (`<key id> <base64>`).
fn read_legacy(path: &Path) -> Result<Option<SigningKey>, ServerError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => zeroize::Zeroizing::new(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(format!("reading {}", path.display()))(e)),
    };
    let bad = |what: &str| ServerError::Input(format!("{}: {what}", path.display()));
    let (kid, secret) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| bad("not `<key id> <base64>`"))?;
    let secret = zeroize::Zeroizing::new(
        STANDARD
            .decode(secret)
            .map_err(|_| bad("the secret is not base64"))?,
    );
    let id = KeyId::new(kid).map_err(|e| bad(&e.to_string()))?;
    SigningKey::new(id, &secret)
        .map(Some)
        .map_err(|e| bad(&e.to_string()))
}
