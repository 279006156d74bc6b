//! # sharelink-server
//!
//! The reference server: the PDS share-link API of [`sharelink_http`] over a
//! data directory. It wires concrete pieces together and holds no domain
//! logic of its own.
//!
//! A data directory holds:
//!
//! | path | what |
//! |---|---|
//! | `shares.sqlite` (or `shares.sled/`) | the share store |
//! | `drive.sqlite` | tenants, users, development access tokens (SHA-256 only), file metadata |
//! | `blobs/` | file content, named by SHA-1 |
//! | `keys` | the signing key ring (see [`keys`]), mode 0600, generated on first start; `--keys` may put it elsewhere |
//! | `keys.seen/` | which key file each running instance uses (for `rotate-key`) |
//! | `<user>.token` | the seeded demo users' access tokens, mode 0600 |

pub mod accounts;
pub mod drive_store;
pub mod keys;
pub mod private;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::Utc;
use rusqlite::Connection;
use sharelink_core::{
    Clock, CreateShareRequest, DriveId, Engine, EngineConfig, FileId, PasswordHasher, ShareFiles,
    ShareId, ShareName, SharePassword, Storage, SystemClock, TenantId, UserId,
};
use sharelink_http::pages::PagesConfig;
use sharelink_http::{ApiConfig, Authenticator, ShareApi};

pub use accounts::{Accounts, DevAuthenticator, DevToken, User};
pub use drive_store::{NewContent, SqliteDrives};

/// Which share store the server uses.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum StorageKind {
    /// `shares.sqlite` (default).
    #[default]
    Sqlite,
    /// `shares.sled/`.
    Sled,
    /// A PostgreSQL database, by connection string (`postgres://…`):
    /// several instances on one database share every share, quota and
    /// limit.
    Postgres(String),
}

impl std::fmt::Debug for StorageKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite => f.write_str("Sqlite"),
            Self::Sled => f.write_str("Sled"),
            // The connection string may hold a password.
            Self::Postgres(url) => write!(f, "Postgres({})", sharelink_postgres::redact_url(url)),
        }
    }
}

/// Why the server could not start or a command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A file in the data directory could not be read or written.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The metadata database failed.
    #[error("drive database: {0}")]
    Db(#[from] rusqlite::Error),
    /// The share store failed to open.
    #[error("share store: {0}")]
    Storage(#[from] sharelink_core::StorageError),
    /// The engine's configuration cannot work.
    #[error(transparent)]
    Config(#[from] sharelink_core::ConfigError),
    /// The key file is unusable, or a rotation step does not apply.
    #[error("key file {}: {source}", path.display())]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: keys::KeyFileError,
    },
    /// Invalid input (a user id, a tenant, a key file).
    #[error("{0}")]
    Input(String),
    /// A drive operation failed.
    #[error("drive: {0}")]
    Drive(#[from] sharelink_http::CopyError),
}

fn io_err(what: impl Into<String>) -> impl FnOnce(io::Error) -> ServerError {
    let what = what.into();
    move |source| ServerError::Io { what, source }
}

fn input(e: impl std::fmt::Display) -> ServerError {
    ServerError::Input(e.to_string())
}

/// The demo tenant seeded on first start.
pub const DEMO_TENANT: &str = "demo";

/// The extraction code of the demo share a first start creates.
pub const DEMO_SHARE_CODE: &str = "s3cret";

/// Where the demo share's id is kept, in the data directory.
const DEMO_SHARE_FILE: &str = "demo-share";

/// Read-only connections to `drive.sqlite` besides the writer.
const DRIVE_READERS: usize = 4;

/// What the first start created.
#[derive(Debug)]
pub struct Seeded {
    /// The sharing user (`alice`), who owns the sample files.
    pub alice: (User, DevToken),
    /// A receiving user (`bob`), to copy shared files into.
    pub bob: (User, DevToken),
}

/// The metadata side of a data directory (accounts and drives), without the
/// share engine: what the CLI's admin commands need.
#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
    /// Tenants, users and access tokens.
    pub accounts: Accounts,
    /// Files and folders.
    pub drives: SqliteDrives,
}

impl DataDir {
    /// Opens (creating if needed) the data directory at `root`.
    pub fn open(root: &Path) -> Result<Self, ServerError> {
        private::dir(root).map_err(io_err(format!("creating {}", root.display())))?;
        // A directory from an older version or another umask is tightened.
        private::tree(root).map_err(io_err(format!("securing {}", root.display())))?;
        let path = root.join("drive.sqlite");
        private::database(&path).map_err(io_err(format!("securing {}", path.display())))?;
        let conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        Accounts::init_schema(&conn)?;
        SqliteDrives::init_schema(&conn)?;
        let db = Arc::new(Mutex::new(conn));
        let accounts = Accounts::new(db.clone(), &path)
            .map_err(io_err(format!("opening {}", path.display())))?;
        let drives = SqliteDrives::new(db, root.join("blobs"), accounts.clone())
            .map_err(io_err("creating blobs/"))?
            .with_readers(drive_store::Readers::open(&path, DRIVE_READERS)?);
        Ok(Self {
            root: root.to_owned(),
            accounts,
            drives,
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Seeds the demo tenant, users and files if there are no users yet.
    pub fn seed_if_empty(&self) -> Result<Option<Seeded>, ServerError> {
        let tenant = TenantId::new(DEMO_TENANT).map_err(input)?;
        let alice_id = UserId::new("alice").map_err(input)?;
        if self.accounts.user(&tenant, &alice_id)?.is_some() {
            return Ok(None);
        }
        let alice = self
            .accounts
            .add_user(&tenant, &alice_id, "Alice Liddell", "13800138000")?;
        let bob = self.accounts.add_user(
            &tenant,
            &UserId::new("bob").map_err(input)?,
            "Bob Builder",
            "13900139000",
        )?;
        let drive = &alice.0.drive_id;
        let now = Utc::now();
        let d = &self.drives;
        d.add(
            drive,
            None,
            "welcome.txt",
            NewContent::Bytes(b"Hello from sharelink! This file was shared with you.\n"),
            Some("welcome"),
            now,
        )?;
        let photos = d.add(
            drive,
            None,
            "photos",
            NewContent::Folder,
            Some("photos"),
            now,
        )?;
        d.add(
            drive,
            Some(&photos.file_id),
            "sunset.jpg",
            // A real (tiny) JPEG, so that its preview renders.
            NewContent::Bytes(include_bytes!("../assets/sunset.jpg")),
            Some("sunset"),
            now,
        )?;
        d.add(
            drive,
            Some(&photos.file_id),
            "notes.md",
            NewContent::Bytes(b"# Holiday notes\n\n- sunset at 19:42\n"),
            Some("notes"),
            now,
        )?;
        d.add(
            drive,
            None,
            "app-release.apk",
            NewContent::Bytes(b"PK\x03\x04 not really an Android package"),
            Some("app"),
            now,
        )?;
        for (name, (_, token)) in [("alice", &alice), ("bob", &bob)] {
            write_secret(
                &self.root.join(format!("{name}.token")),
                token.expose_secret().as_bytes(),
            )?;
        }
        Ok(Some(Seeded { alice, bob }))
    }

    /// The key file used when no other path is given: `<data dir>/keys`.
    pub fn default_keys(&self) -> keys::KeyStore {
        keys::KeyStore::new(self.root.join("keys"))
    }

    /// Imports a local file or folder into a user's drive (at the root, or
    /// into the folder `into`). Returns how many items were created.
    pub fn import(
        &self,
        tenant: &TenantId,
        user: &UserId,
        from: &Path,
        into: Option<&FileId>,
    ) -> Result<(DriveId, usize), ServerError> {
        let user = self
            .accounts
            .user(tenant, user)?
            .ok_or_else(|| input(format!("no user {user} in tenant {tenant}")))?;
        let n = self.drives.import(&user.drive_id, into, from, Utc::now())?;
        Ok((user.drive_id, n))
    }
}

/// Writes a secret file readable by its owner only.
fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), ServerError> {
    private::write(path, bytes).map_err(io_err(format!("writing {}", path.display())))
}

/// How [`App::open`] builds the engine.
#[derive(Clone)]
pub struct AppOptions {
    /// The share store.
    pub storage: StorageKind,
    /// Password hashing cost (default: argon2id at production cost).
    pub password_hasher: PasswordHasher,
    /// The engine's clock (default: the system clock; tests use a manual one).
    pub clock: Arc<dyn Clock>,
    /// The key file (default: `<data dir>/keys`). Every instance of a fleet
    /// names the same one.
    pub keys: Option<PathBuf>,
}

impl Default for AppOptions {
    fn default() -> Self {
        Self {
            storage: StorageKind::default(),
            password_hasher: PasswordHasher::default(),
            clock: Arc::new(SystemClock),
            keys: None,
        }
    }
}

impl std::fmt::Debug for AppOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppOptions")
            .field("storage", &self.storage)
            .field("password_hasher", &self.password_hasher)
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

/// Everything a running server holds.
#[derive(Debug, Clone)]
pub struct App {
    /// The data directory.
    pub data: DataDir,
    /// The engine.
    pub engine: Arc<Engine>,
    /// The key file the engine's ring comes from.
    pub keys: keys::KeyStore,
}

impl App {
    /// Opens the data directory, the share store and the engine.
    pub fn open(root: &Path, options: &AppOptions) -> Result<Self, ServerError> {
        let data = DataDir::open(root)?;
        let store: Arc<dyn Storage> = match &options.storage {
            StorageKind::Sqlite => {
                let path = root.join("shares.sqlite");
                private::database(&path).map_err(io_err(format!("securing {}", path.display())))?;
                Arc::new(sharelink_sqlite::SqliteStorage::open(
                    path,
                    &sharelink_sqlite::SqliteOptions::default(),
                )?)
            }
            StorageKind::Sled => {
                let path = root.join("shares.sled");
                private::dir(&path).map_err(io_err(format!("creating {}", path.display())))?;
                let store = sharelink_sled::SledStorage::open(
                    &path,
                    &sharelink_sled::SledOptions::default(),
                )?;
                private::tree(&path).map_err(io_err(format!("securing {}", path.display())))?;
                Arc::new(store)
            }
            StorageKind::Postgres(url) => Arc::new(sharelink_postgres::PostgresStorage::connect(
                &sharelink_postgres::PostgresOptions::new(url.clone()),
            )?),
        };
        let key_store = options
            .keys
            .clone()
            .map_or_else(|| data.default_keys(), keys::KeyStore::new);
        let now = options.clock.now();
        let loaded = key_store.load_or_create(&root.join("signing-key"), now)?;
        let keys = loaded.file.ring_at(now);
        let config = EngineConfig {
            password_hasher: options.password_hasher,
            ..EngineConfig::default()
        };
        let engine = Engine::builder(store, Arc::new(data.drives.clone()), keys)
            .config(config)
            .clock(options.clock.clone())
            .build()?;
        let app = Self {
            engine: Arc::new(engine),
            data,
            keys: key_store,
        };
        app.reload_tenants()?;
        Ok(app)
    }

    /// Re-reads every tenant's policy from the data directory into the
    /// engine (so `set-tenant` from another process takes effect without a
    /// restart). Returns how many tenants were loaded.
    pub fn reload_tenants(&self) -> Result<usize, ServerError> {
        let tenants = self.data.accounts.tenants()?;
        let n = tenants.len();
        for (tenant, policy) in tenants {
            self.engine.set_tenant_policy(tenant, policy);
        }
        Ok(n)
    }

    /// Starts following the key file: the engine runs on the file's keys
    /// from now on, and [`keys::KeyWatcher::tick`] keeps it so.
    pub fn key_watcher(&self, listen: &str) -> Result<keys::KeyWatcher, ServerError> {
        let loaded = self
            .keys
            .read()?
            .ok_or_else(|| ServerError::Input(format!("{} is gone", self.keys.path().display())))?;
        self.engine
            .replace_key_ring(loaded.file.ring_at(self.engine.now()));
        Ok(keys::KeyWatcher::new(self.keys.clone(), loaded, listen))
    }

    /// The PDS API over this app, with development authentication, and
    /// the share pages (`/s/{share_id}`, sign-in, "My drive", "My shares").
    pub fn api(&self, config: ApiConfig) -> ShareApi<DevAuthenticator, SqliteDrives> {
        ShareApi::new(
            self.engine.clone(),
            Arc::new(DevAuthenticator::new(self.data.accounts.clone())),
            Arc::new(self.data.drives.clone()),
            config,
        )
        .with_pages(PagesConfig::default())
    }

    /// The router of [`Self::api`].
    pub fn router(&self, config: ApiConfig) -> axum::Router {
        self.api(config).router()
    }

    /// Creates the demo share of a first start: alice shares `photos`,
    /// `welcome.txt` and `app-release.apk` with the extraction code
    /// [`DEMO_SHARE_CODE`], so that the printed link shows every kind of
    /// row (a folder, a file, an image, a refused package). Its id is kept
    /// in `<data dir>/demo-share`.
    pub fn create_demo_share(&self, seeded: &Seeded) -> Result<ShareId, ServerError> {
        let (alice, token) = &seeded.alice;
        let caller = DevAuthenticator::new(self.data.accounts.clone())
            .authenticate(token.expose_secret())
            .map_err(input)?;
        let files = ["photos", "welcome", "app"]
            .iter()
            .map(|f| FileId::new(*f))
            .collect::<Result<Vec<_>, _>>()
            .map_err(input)?;
        let mut req = CreateShareRequest::new(
            caller.member.tenant,
            caller.profile,
            alice.drive_id.clone(),
            ShareFiles::listed(files).map_err(input)?,
        );
        req.password = Some(SharePassword::new(DEMO_SHARE_CODE).map_err(input)?);
        req.name = Some(ShareName::new("Alice's holiday").map_err(input)?);
        let share = self.engine.create_share_link(req).map_err(input)?;
        write_secret(
            &self.data.root.join(DEMO_SHARE_FILE),
            share.id().as_str().as_bytes(),
        )?;
        Ok(share.id().clone())
    }

    /// The demo share a first start created, if its file is there.
    pub fn demo_share(&self) -> Option<ShareId> {
        std::fs::read_to_string(self.data.root.join(DEMO_SHARE_FILE))
            .ok()
            .and_then(|s| s.trim().parse().ok())
    }
}
