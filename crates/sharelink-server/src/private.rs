//! Data at rest readable by its owner only, whatever the umask.
//!
//! The data directory holds password hashes (crackable offline, with no
//! throttle), phone numbers and the signing key. Directories are made 0700
//! and files 0600, both when created and, for a data directory written by
//! an older version or under another umask, every time it is opened.
//! SQLite creates its `-wal` and `-shm` files with the database file's
//! mode, so a database file created 0600 keeps its journal private too.
//! The server binary also sets its umask to 0077, so that files the stores
//! create later (sled's segments, blobs) start private.

use std::fs;
use std::io;
use std::path::Path;

/// Restricts files this process creates from now on to their owner (umask
/// 0077). Returns the previous mask.
#[cfg(unix)]
pub fn restrict_umask() -> u32 {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077)).as_raw_mode()
}

/// Creates `path` (and its parents) if needed, and makes it 0700.
pub fn dir(path: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path)?;
    set_mode(path, 0o700)
}

/// Creates an empty database file with mode 0600 if it does not exist, and
/// makes it and its `-wal`, `-shm` and `-journal` files 0600.
pub fn database(path: &Path) -> io::Result<()> {
    file(path)?;
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut side = path.as_os_str().to_owned();
        side.push(suffix);
        let side = Path::new(&side);
        if side.exists() {
            set_mode(side, 0o600)?;
        }
    }
    Ok(())
}

/// Writes `bytes` to a file readable by its owner only (created 0600,
/// truncated if it exists), and syncs it.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// Creates an empty file with mode 0600 if it does not exist, and makes it
/// 0600.
pub fn file(path: &Path) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?;
    set_mode(path, 0o600)
}

/// Makes every directory under `root` 0700 and every file 0600.
pub fn tree(root: &Path) -> io::Result<()> {
    set_mode(root, 0o700)?;
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        if kind.is_dir() {
            tree(&entry.path())?;
        } else if kind.is_file() {
            set_mode(&entry.path(), 0o600)?;
        }
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}
