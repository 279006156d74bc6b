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
//! ## Module map
//!
//! | module | what lives there |
//! |---|---|
//! | [`id`], [`fields`] | parsed newtypes: share ids, drive/file/user ids, names, client keys |
//! | [`password`] | share passwords and their argon2id hashes (the one slow path) |
//! | [`share`] | the [`Share`] and its pure transitions (create, update, cancel, moderate, count, issue a token); its parts; its stored form, [`ShareRecord`] |
//! | [`token`] | share tokens: claims, the signing key ring, verification |
//! | [`grant`] | signed download and preview URLs (`g1.` grants) |
//! | [`scope`], [`memory_catalog`] | which files lie inside a share; the host's [`FileCatalog`] |
//! | [`file_policy`], [`package`] | the APK/IPA rule: names, MIME types and content |
//! | [`quota`], [`throttle`], [`rate`] | daily tenant quotas, password-guessing budgets, per-client rates |
//! | [`storage`], [`memory`] | the [`Storage`] contract and the reference [`MemoryStorage`]; for SQL backends, [`storage::steps`] (record_access's steps, once) and [`storage::columns`] (how the domain goes into columns) |
//! | [`engine`] | the driver: clock, storage, catalogue, events, hashing pool |
//! | [`error`] | [`Error`], [`ErrorCode`] and the per-family errors |
//! | [`listing`] | one query for a creator's shares: filter, order, keyset cursor, page |
//! | [`clock`], [`config`], [`events`], [`fault`] | the clock, settings, events, fault injection |
//!
//! ## Implementing `Storage`
//!
//! A backend implements [`Storage`] (small, sync, `&self`, `Send + Sync`);
//! each method's doc states what it must guarantee (atomicity, version
//! checks, limits never passed across threads and processes). It is done
//! when the conformance suite of `sharelink-testkit` passes:
//!
//! ```text
//! sharelink_testkit::conformance_suite!(stored_bodies: MY_RAW_BODIES, |faults| {
//!     let dir = tempfile::tempdir().unwrap();
//!     (MyStorage::open(dir.path(), faults).unwrap(), dir)
//! });
//! ```
//!
//! That expands to one named test per contract case, the races, a
//! model-based property test against [`MemoryStorage`], fault injection at
//! every internal write step and the golden stored-format case; the
//! testkit's `crash` module adds the SIGKILL and cross-process harnesses.
//! The SQLite and sled crates are worked examples.
//!
//! Three things a backend gets from this crate rather than inventing:
//! - **the stored form**: store [`ShareRecord::encode_share`] as the body
//!   and keep the counters and version beside it (they change on every
//!   counted use); read back with [`ShareRecord::decode_share`], which
//!   re-checks every invariant and reads every older format;
//! - **listing**: [`Storage::list_shares`] answers a [`ShareListQuery`] in
//!   order from an index for every [`ShareOrderBy`], starting strictly
//!   after the cursor's `(key, id)` (keyset paging);
//!   [`listing::page_from_ordered`] builds the page from an ordered scan
//!   for backends that filter outside their query language;
//! - **the counting rules**: [`Share::count_use`] and the quota helpers
//!   state what an atomic counter must do.
//!
//! ## Error codes
//!
//! Every error maps to one [`ErrorCode`], a stable PDS code string and its
//! HTTP status:
//!
//! | code | status | meaning |
//! |---|---|---|
//! | `InvalidParameter` | 400 | a parameter is malformed |
//! | `InvalidParameterMissing` | 400 | a required parameter is missing |
//! | `InvalidParameterOutOfRange` | 400 | a parameter is outside its range |
//! | `InvalidResource.SharePwd` | 400 | the share password is wrong or missing |
//! | `ShareLinkTokenInvalid` | 401 | the share token is missing, malformed, expired or revoked |
//! | `ShareLink.Cancelled` / `.Expired` / `.Forbidden` | 403 | the share cannot be used |
//! | `ForbiddenNoPermission.ShareLink` | 403 | members only, or not the creator |
//! | `ForbiddenNoPermission.Preview` / `.Download` / `.Save` | 403 | that action is disabled |
//! | `ShareLink.PreviewLimitExceeded` / `.DownloadLimitExceeded` / `.SaveLimitExceeded` | 403 | that limit is reached |
//! | `ForbiddenFileType.Download` | 403 | the file-type policy refuses the file |
//! | `DownloadUrlInvalid` | 403 | a download URL is malformed, expired, revoked or for another file |
//! | `NotFound.ShareLink` / `NotFound.File` | 404 | no such share; the file is not in the share |
//! | `TooManyRequests` | 429 | a throttle or rate refused; retry later |
//! | `QuotaExhausted.ShareLinkCreate` / `.ShareLinkAccess` | 429 | the tenant's daily quota is used up |
//! | `InternalError` | 500 | the storage or the catalogue failed |
//! | `ServiceUnavailable` | 503 | overloaded or conflicting; retry |
//!
//! A test checks this table against [`ErrorCode::ALL`].
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
//!     .build()?;
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
//! let ok = engine.authorize_download(&FileRequest {
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
pub mod code;
pub mod config;
pub mod engine;
pub mod error;
pub mod events;
pub mod fault;
pub mod fields;
pub mod file_policy;
pub mod grant;
pub mod id;
pub mod listing;
pub mod memory;
pub mod memory_catalog;
pub mod package;
pub mod password;
pub mod quota;
pub mod rate;
pub mod scope;
pub mod share;
pub mod storage;
pub mod throttle;
pub mod token;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{ConfigError, EngineConfig};
pub use engine::{
    AnonymousShareView, ContentAuthorization, CreateShareRequest, DriveFileAuthorization, Engine,
    EngineBuilder, FileAuthorization, FileRequest, IssuedGrant, IssuedToken, ListAuthorization,
    RedeemedGrant, SecureRng, TokenRequest,
};
pub use error::{Error, ErrorCode, InputError, RateLimited, WrongPassword};
pub use events::{Event, EventSink, NoEvents, RecordedEvents};
pub use fault::{FaultInjector, NoFaults};
pub use fields::{ClientKey, Creator, Description, DriveId, FileId, ShareName, TenantId, UserId};
pub use file_policy::{FileTypePolicy, MatchedRule, PolicyRefusal};
pub use grant::{ContentGrant, GrantError, GrantKind, GrantedShare, SignedGrant};
pub use id::ShareId;
pub use listing::{
    PageRequest, ShareCursor, ShareFilter, ShareListQuery, ShareOrder, ShareOrderBy, SharePage,
    SortKey,
};
pub use memory::MemoryStorage;
pub use memory_catalog::MemoryCatalog;
pub use package::{PackageKind, sniff_package};
pub use password::{PasswordHash, PasswordHasher, SharePassword};
pub use quota::{QuotaExhausted, QuotaKey, QuotaKind, QuotaPolicy, TenantPolicy};
pub use rate::{Rate, RateLimiter};
pub use scope::{CatalogError, FileCatalog, FileKind, FileMeta, ListTarget, ScopeError};
pub use share::{
    Action, Audience, Counters, LimitedUse, Limits, Member, Moderation, PasswordChange,
    Permissions, RecordError, Share, ShareError, ShareFiles, ShareRecord, ShareStatus, ShareUpdate,
    SharedIds, UseKind,
};
pub use storage::{
    AccessItem, AccessOutcome, AccessRecord, AccessUpdate, InsertOutcome, PurgeReport,
    PurgeRequest, QuotaCharge, QuotaOutcome, Storage, StorageError, UpdateOutcome, UseCount,
    UseOutcome,
};
pub use throttle::{ThrottlePolicy, ThrottleRefusal, ThrottleScope};
pub use token::{
    KeyId, KeyRing, KeyRingError, MAX_SIGNED_LIFETIME_SECS, ShareToken, SigningKey, TokenClaims,
    TokenError, UnverifiedToken, VerifiedToken,
};
