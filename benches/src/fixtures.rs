//! Engines on every backend, and token material.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sharelink_core::*;
use sharelink_postgres::testing::SchemaGuard;
use sharelink_sled::{SledOptions, SledStorage};
use sharelink_sqlite::{SqliteOptions, SqliteStorage, Synchronous};

/// The backends measured, with their durability setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Memory,
    SqliteFull,
    SqliteNormal,
    SledFlush,
    SledNoFlush,
    /// PostgreSQL (the test database, a schema of its own, durable
    /// commits); not in [`Backend::ALL`]: its rows need a database.
    Postgres,
}

impl Backend {
    pub const ALL: [Backend; 5] = [
        Backend::Memory,
        Backend::SqliteFull,
        Backend::SqliteNormal,
        Backend::SledFlush,
        Backend::SledNoFlush,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Memory => "memory",
            Backend::SqliteFull => "sqlite FULL",
            Backend::SqliteNormal => "sqlite NORMAL",
            Backend::SledFlush => "sled flush",
            Backend::SledNoFlush => "sled no-flush",
            Backend::Postgres => "postgres",
        }
    }

    /// Opens a fresh store of this kind in `dir`, with what must live as
    /// long as it (a PostgreSQL schema's guard).
    pub fn open(self, dir: &std::path::Path) -> (Arc<dyn Storage>, Option<SchemaGuard>) {
        let store: Arc<dyn Storage> = match self {
            Backend::Postgres => {
                let (store, guard) = sharelink_postgres::testing::fresh_store(Arc::new(NoFaults))
                    .expect("postgres store");
                return (Arc::new(store), Some(guard));
            }
            Backend::Memory => Arc::new(MemoryStorage::new()),
            Backend::SqliteFull | Backend::SqliteNormal => {
                let options = SqliteOptions {
                    synchronous: if self == Backend::SqliteFull {
                        Synchronous::Full
                    } else {
                        Synchronous::Normal
                    },
                    ..SqliteOptions::default()
                };
                Arc::new(
                    SqliteStorage::open(dir.join("bench.sqlite"), &options).expect("open sqlite"),
                )
            }
            Backend::SledFlush | Backend::SledNoFlush => {
                let options = SledOptions {
                    flush_every_write: self == Backend::SledFlush,
                    ..SledOptions::default()
                };
                Arc::new(SledStorage::open(dir.join("bench.sled"), &options).expect("open sled"))
            }
        };
        (store, None)
    }
}

/// The fixed instant fixtures are built at.
pub fn now() -> DateTime<Utc> {
    SystemClock.now()
}

pub fn key_ring() -> KeyRing {
    KeyRing::new(SigningKey::new(KeyId::new("k1").expect("id"), &[42u8; 32]).expect("key"))
}

pub fn claims(at: DateTime<Utc>) -> TokenClaims {
    TokenClaims::danger_new(
        ShareId::parse("O2Nhm5VnC2pmV9CxjETt8S").expect("id"),
        3,
        at,
        at + Duration::seconds(7200),
        None,
    )
}

/// An engine over one backend, with a drive, a share with a password and
/// a live token.
pub struct EngineFixture {
    pub engine: Engine,
    pub storage: Arc<dyn Storage>,
    pub member: Member,
    pub drive: DriveId,
    pub share: Share,
    pub token: String,
    pub file: FileId,
    pub _dir: tempfile::TempDir,
    pub _guard: Option<SchemaGuard>,
}

pub const PASSWORD: &str = "4xK9";

impl EngineFixture {
    pub fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let (storage, guard) = backend.open(dir.path());
        let drive = DriveId::new("drive").expect("id");
        let catalog = Arc::new(MemoryCatalog::new());
        catalog
            .add(&drive, "folder", None, "Folder", FileKind::Folder)
            .expect("add");
        catalog
            .add(&drive, "f1", Some("folder"), "report.pdf", FileKind::File)
            .expect("add");
        let mut config = EngineConfig {
            password_hasher: PasswordHasher::insecure_fast(),
            ..EngineConfig::default()
        };
        // Benchmarks run far past the daily quotas; keep them charged but unreachable.
        config.quota.creations_per_day = u32::MAX;
        config.quota.accesses_per_day = u32::MAX;
        // One client asks for every token: the per-client rates would refuse.
        config.token_rate = sharelink_core::Rate::UNLIMITED;
        config.password_set_rate = sharelink_core::Rate::UNLIMITED;
        let engine = Engine::builder(storage.clone(), catalog, key_ring())
            .config(config)
            .build()
            .expect("a valid engine configuration");
        let member = Member {
            tenant: TenantId::new("acme").expect("id"),
            user_id: UserId::new("alice").expect("id"),
        };
        let mut req = Self::request_for(&member, &drive);
        req.password = Some(SharePassword::new(PASSWORD).expect("pw"));
        let share = engine.create_share_link(req).expect("create");
        let issued = engine
            .get_share_token(Self::token_request(&share))
            .expect("token");
        Self {
            engine,
            storage,
            member,
            drive,
            share,
            token: issued.token.expose_secret().to_owned(),
            file: FileId::new("f1").expect("id"),
            _dir: dir,
            _guard: guard,
        }
    }

    pub fn request_for(member: &Member, drive: &DriveId) -> CreateShareRequest {
        CreateShareRequest::new(
            member.tenant.clone(),
            Creator::new(member.user_id.clone()),
            drive.clone(),
            ShareFiles::listed(vec![FileId::new("folder").expect("id")]).expect("files"),
        )
    }

    pub fn request(&self) -> CreateShareRequest {
        Self::request_for(&self.member, &self.drive)
    }

    pub fn token_request(share: &Share) -> TokenRequest {
        TokenRequest {
            share_id: share.id().clone(),
            password: Some(SharePassword::new(PASSWORD).expect("pw")),
            expire_sec: None,
            client: ClientKey::new("198.51.100.0/24").expect("key"),
            caller: None,
        }
    }

    pub fn create(&self) {
        self.engine
            .create_share_link(self.request())
            .expect("create");
    }

    pub fn get_token(&self) {
        self.engine
            .get_share_token(Self::token_request(&self.share))
            .expect("token");
    }

    pub fn download(&self) {
        self.engine
            .authorize_download(&FileRequest {
                token: &self.token,
                share_id: self.share.id(),
                file_id: &self.file,
                caller: None,
            })
            .expect("download");
    }

    pub fn consume_quota(&self, charge: &QuotaCharge) {
        self.storage.consume_quota(charge).expect("quota");
    }
}

/// A quota charge that never runs out.
pub fn unlimited_charge(kind: QuotaKind) -> QuotaCharge {
    QuotaCharge {
        key: QuotaKey::for_instant(
            TenantId::new("acme").expect("id"),
            kind,
            now(),
            QuotaPolicy::default().day_offset,
        ),
        limit: u32::MAX,
    }
}

/// A catalogue with a chain of folders `depth` deep under a shared folder,
/// and the leaf's metadata.
pub fn scope_fixture(depth: usize) -> (MemoryCatalog, DriveId, ShareFiles, FileMeta) {
    let drive = DriveId::new("drive").expect("id");
    let catalog = MemoryCatalog::new();
    catalog
        .add(&drive, "top", None, "Top", FileKind::Folder)
        .expect("add");
    let mut parent = "top".to_owned();
    for i in 0..depth.saturating_sub(1) {
        let id = format!("d{i}");
        catalog
            .add(&drive, &id, Some(&parent), &id, FileKind::Folder)
            .expect("add");
        parent = id;
    }
    let leaf = catalog
        .add(&drive, "leaf", Some(&parent), "leaf.txt", FileKind::File)
        .expect("add");
    let files = ShareFiles::listed(vec![FileId::new("top").expect("id")]).expect("files");
    (catalog, drive, files, leaf)
}
