//! # sharelink-core
//!
//! The pure domain of PDS-style share links, and the [`Engine`] that drives it.
//!
//! ## The contract: sans-IO
//!
//! The domain modules ([`id`], [`fields`], [`password`], [`share`],
//! [`token`], [`quota`], [`file_policy`], [`throttle`], [`scope`]) do **no
//! I/O, read no clock and draw no ambient randomness**. Time comes in as a
//! `now` argument and randomness as an RNG argument. Every state change is a
//! function `(state, input, now) -> next state | typed error`. A
//! `clippy.toml` in this crate bans `SystemTime::now`, `Utc::now`,
//! `thread_rng` and file/network I/O; the single sanctioned clock read is
//! [`SystemClock`].
//!
//! The driver layer ([`Engine`]) is where the outside world comes in: a
//! [`Clock`], a [`Storage`], the host's [`FileCatalog`], an [`EventSink`] and
//! a CSPRNG (the OS's by default). Data flows one way: the engine reads,
//! calls a pure transition, writes.
//!
//! ## Invariants
//!
//! - An expired, cancelled, forbidden or wrong-password share never yields a token.
//! - A token opens only its own share, only before it expires, only while the
//!   share's token epoch is unchanged, and only under a key the ring holds.
//! - No limit or quota is exceeded, whatever the concurrency (the storage
//!   counts atomically).
//! - Bad input gets a typed error with a stable [`ErrorCode`]; nothing panics on it.
//! - Secrets (passwords, hashes, keys, tokens) never appear in events or `Debug`.
//!
//! ## Quick start
//!
//! ```
//! use std::sync::Arc;
//! use sharelink_core::*;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let drive = DriveId::new("drive-1")?;
//! let catalog = Arc::new(MemoryCatalog::new());
//! catalog.add(&drive, "f1", None, "report.pdf", FileKind::File)?;
//!
//! let keys = KeyRing::new(SigningKey::generate(KeyId::new("k1")?, &mut rand::rngs::OsRng));
//! let config = EngineConfig {
//!     password_hasher: PasswordHasher::insecure_fast(), // tests only
//!     ..EngineConfig::default()
//! };
//! let engine = Engine::builder(Arc::new(MemoryStorage::new()), catalog, keys)
//!     .config(config)
//!     .build();
//!
//! let alice = Member { tenant: TenantId::new("acme")?, user_id: UserId::new("alice")? };
//! let mut req = CreateShareRequest::new(
//!     alice.tenant.clone(),
//!     Creator::new(alice.user_id.clone()),
//!     drive,
//!     ShareFiles::listed(vec![FileId::new("f1")?])?,
//! );
//! req.password = Some(SharePassword::new("1234")?);
//! let share = engine.create_share_link(req)?;
//!
//! let issued = engine.get_share_token(TokenRequest {
//!     share_id: share.id().clone(),
//!     password: Some(SharePassword::new("1234")?),
//!     expire_sec: None,
//!     client: ClientKey::new("203.0.113.0/24")?,
//!     caller: None,
//! })?;
//! assert_eq!(issued.expires_in, 7200);
//!
//! let ok = engine.authorize_download(&AccessRequest {
//!     token: issued.token.expose_secret(),
//!     share_id: share.id(),
//!     file_id: &FileId::new("f1")?,
//!     caller: None,
//! })?;
//! assert_eq!(ok.share().counters().download, 1);
//! # Ok(())
//! # }
//! ```
#![cfg_attr(
    not(test),
    warn(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod clock;
pub mod config;
pub mod engine;
pub mod error;
pub mod events;
pub mod fault;
pub mod fields;
pub mod file_policy;
pub mod grant;
pub mod id;
pub mod memory;
pub mod memory_catalog;
pub mod package;
pub mod password;
pub mod quota;
pub mod rate;
pub mod scope;
pub mod search;
pub mod share;
pub mod storage;
pub mod throttle;
pub mod token;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::EngineConfig;
pub use engine::{
    AccessRequest, AnonymousShareView, ContentAuthorization, CreateShareRequest, Engine,
    EngineBuilder, FileAuthorization, IssuedGrant, IssuedToken, ListAuthorization, RedeemedGrant,
    SecureRng, SharePageView, TokenRequest, UpdateShareRequest,
};
pub use error::{Error, ErrorCode, InputError, RateLimited};
pub use events::{Event, EventSink, NoEvents, RecordedEvents};
pub use fault::{FaultInjector, NoFaults};
pub use fields::{ClientKey, Creator, Description, DriveId, FileId, ShareName, TenantId, UserId};
pub use file_policy::{FileTypePolicy, MatchedRule, PolicyRefusal};
pub use grant::{DownloadGrant, GrantError, GrantKind, GrantedShare, SignedGrant};
pub use id::ShareId;
pub use memory::MemoryStorage;
pub use memory_catalog::MemoryCatalog;
pub use package::{PackageKind, sniff_package};
pub use password::{PasswordHash, PasswordHasher, SharePassword};
pub use quota::{QuotaExhausted, QuotaKey, QuotaKind, QuotaPolicy, TenantPolicy};
pub use rate::{Rate, RateLimiter};
pub use scope::{CatalogError, FileCatalog, FileKind, FileMeta, ListTarget, ScopeError};
pub use search::{ShareFilter, ShareOrder, ShareOrderBy};
pub use share::{
    Action, Audience, Counters, Limits, Member, Moderation, Permissions, Share, ShareError,
    ShareFiles, ShareStatus, SharedIds, UseKind,
};
pub use storage::{
    AccessOutcome, AccessRecord, AccessUpdate, InsertOutcome, ListMarker, PurgeReport,
    PurgeRequest, QuotaCharge, QuotaOutcome, SharePage, ShareQuery, Storage, StorageError,
    UpdateOutcome, UseCount, UseOutcome,
};
pub use throttle::{ThrottlePolicy, ThrottleRefusal, ThrottleScope};
pub use token::{
    KeyId, KeyRing, KeyRingError, ShareToken, SigningKey, TokenClaims, TokenError, UnverifiedToken,
    VerifiedToken,
};
