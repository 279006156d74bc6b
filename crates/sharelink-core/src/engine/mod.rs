//! The [`Engine`]: the one type a host calls.
//!
//! It is the driver layer. For each operation it reads the clock once, loads
//! state from the [`Storage`] and the host's [`FileCatalog`], runs the pure
//! transition, writes the result back with a version check (retrying a
//! bounded number of times on conflict), and emits an [`Event`]. Share-link
//! rules live in the pure modules, not here.
//!
//! It also guards the process: password hashes run on a small pool of
//! threads with a bounded queue (a full queue is `Error::Overloaded`, 503),
//! and token requests and password changes have per-client and per-creator
//! rates ([`EngineConfig::token_rate`](crate::EngineConfig::token_rate),
//! [`EngineConfig::password_set_rate`](crate::EngineConfig::password_set_rate)),
//! kept in memory, per process.

mod access;
pub(crate) mod error;
mod grants;
mod group;
mod guards;
mod manage;
mod requests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use chrono::{DateTime, Utc};
use rand::{CryptoRng, RngCore};

pub use access::{ContentAuthorization, FileAuthorization, IssuedToken, ListAuthorization};
pub use grants::{DriveFileAuthorization, IssuedGrant, RedeemedGrant};
pub use requests::{AnonymousShareView, CreateShareRequest, FileRequest, TokenRequest};

use self::error::Error;
use crate::clock::{Clock, SystemClock};
use crate::config::{ConfigError, EngineConfig};
use crate::events::{Event, EventSink, NoEvents};
use crate::fields::TenantId;
use crate::id::ShareId;
use crate::quota::{QuotaKey, QuotaKind, TenantPolicy, next_reset};
use crate::scope::FileCatalog;
use crate::share::Share;
use crate::storage::{PurgeReport, PurgeRequest, QuotaCharge, Storage, UpdateOutcome};
use crate::token::{KeyId, KeyRing, KeyRingError, SigningKey};

/// A cryptographically secure RNG the engine can own.
pub trait SecureRng: RngCore + CryptoRng + Send {}
impl<R: RngCore + CryptoRng + Send> SecureRng for R {}

/// The share-link engine. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct Engine {
    storage: Arc<dyn Storage>,
    catalog: Arc<dyn FileCatalog>,
    clock: Arc<dyn Clock>,
    keys: RwLock<KeyRing>,
    config: EngineConfig,
    tenants: RwLock<HashMap<TenantId, TenantPolicy>>,
    events: Arc<dyn EventSink>,
    rng: Mutex<Box<dyn SecureRng>>,
    token_requests: crate::rate::RateLimiter,
    password_sets: crate::rate::RateLimiter,
    hashing: guards::HashPool,
    commits: group::Commits,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("config", &self.config)
            .field("hashing", &self.hashing)
            .field(
                "keys",
                &*self.keys.read().unwrap_or_else(PoisonError::into_inner),
            )
            .finish_non_exhaustive()
    }
}

/// Builds an [`Engine`]. Storage, catalogue and key ring are required; the
/// rest defaults to the system clock, [`EngineConfig::default`], no events
/// and the operating system's CSPRNG.
pub struct EngineBuilder {
    storage: Arc<dyn Storage>,
    catalog: Arc<dyn FileCatalog>,
    keys: KeyRing,
    clock: Arc<dyn Clock>,
    config: EngineConfig,
    events: Arc<dyn EventSink>,
    rng: Box<dyn SecureRng>,
    tenants: HashMap<TenantId, TenantPolicy>,
}

impl EngineBuilder {
    /// Uses this clock instead of the system clock.
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
    /// Uses this configuration.
    pub fn config(mut self, config: EngineConfig) -> Self {
        self.config = config;
        self
    }
    /// Sends events to this sink.
    pub fn events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = events;
        self
    }
    /// Draws ids, salts and keys from this RNG (for deterministic tests; it
    /// must still be a CSPRNG).
    pub fn rng(mut self, rng: Box<dyn SecureRng>) -> Self {
        self.rng = rng;
        self
    }
    /// Sets one tenant's policy (custom domain, limit overrides).
    pub fn tenant(mut self, tenant: TenantId, policy: TenantPolicy) -> Self {
        self.tenants.insert(tenant, policy);
        self
    }
    /// Finishes the engine, after checking its configuration
    /// ([`EngineConfig::validate`]): a setting that cannot work is refused
    /// here, not at the first request.
    pub fn build(self) -> Result<Engine, ConfigError> {
        self.config.validate()?;
        Ok(Engine {
            token_requests: crate::rate::RateLimiter::new(
                self.config.token_rate,
                "share token requests",
            ),
            password_sets: crate::rate::RateLimiter::new(
                self.config.password_set_rate,
                "password changes",
            ),
            hashing: guards::HashPool::new(self.config.hash_workers, self.config.hash_queue),
            commits: group::Commits::default(),
            storage: self.storage,
            catalog: self.catalog,
            clock: self.clock,
            keys: RwLock::new(self.keys),
            config: self.config,
            tenants: RwLock::new(self.tenants),
            events: self.events,
            rng: Mutex::new(self.rng),
        })
    }
}

impl Engine {
    /// Starts building an engine over `storage`, the host's `catalog` and `keys`.
    pub fn builder(
        storage: Arc<dyn Storage>,
        catalog: Arc<dyn FileCatalog>,
        keys: KeyRing,
    ) -> EngineBuilder {
        EngineBuilder {
            storage,
            catalog,
            keys,
            clock: Arc::new(SystemClock),
            config: EngineConfig::default(),
            events: Arc::new(NoEvents),
            rng: Box::new(rand::rngs::OsRng),
            tenants: HashMap::new(),
        }
    }

    /// Whether the engine's reads (its storage and the host's catalogue)
    /// are all local (see [`Storage::reads_are_local`]): a read-only
    /// request may then run on an async worker.
    pub fn reads_are_local(&self) -> bool {
        self.storage.reads_are_local() && self.catalog.reads_are_local()
    }

    /// Sets (or replaces) one tenant's policy.
    pub fn set_tenant_policy(&self, tenant: TenantId, policy: TenantPolicy) {
        self.tenants
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(tenant, policy);
    }

    /// The policy in force for `tenant`.
    pub fn tenant_policy(&self, tenant: &TenantId) -> TenantPolicy {
        self.tenants
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(tenant)
            .copied()
            .unwrap_or(self.config.default_tenant)
    }

    /// The current instant on the engine's clock (for hosts that compute
    /// `Retry-After` or display times consistently with the engine).
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Makes `key` the active signing key; older keys keep verifying.
    pub fn rotate_signing_key(&self, key: SigningKey) -> Result<(), KeyRingError> {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .rotate(key)
    }

    /// Replaces the whole key ring at once (a fleet reloading its shared key
    /// file): from the next request on, tokens are signed with `ring`'s
    /// active key and verified against its keys only.
    pub fn replace_key_ring(&self, ring: KeyRing) {
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = ring;
    }

    /// The ids of the keys in the ring, active first.
    pub fn key_ids(&self) -> Vec<KeyId> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .key_ids()
            .cloned()
            .collect()
    }

    /// Removes a verification-only key; tokens signed with it stop working.
    pub fn remove_signing_key(&self, id: &KeyId) -> Result<SigningKey, KeyRingError> {
        self.keys
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
    }

    /// A fresh signing key from the engine's CSPRNG, for [`Engine::rotate_signing_key`].
    pub fn generate_signing_key(&self, id: KeyId) -> SigningKey {
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        SigningKey::generate(id, &mut **rng)
    }

    /// Today's use and limit of a tenant's quota (`None` limit = unlimited).
    pub fn quota_usage(
        &self,
        tenant: &TenantId,
        kind: QuotaKind,
    ) -> Result<(u32, Option<u32>), Error> {
        let now = self.clock.now();
        let key = QuotaKey::for_instant(tenant.clone(), kind, now, self.config.quota.day_offset);
        let used = self.storage.quota_used(&key)?;
        Ok((
            used,
            self.tenant_policy(tenant).limit(&self.config.quota, kind),
        ))
    }

    /// Deletes shares that expired or were cancelled more than `retention`
    /// ago, quota counters older than `retention`, and stale throttle records.
    pub fn purge(&self, retention: chrono::Duration) -> Result<PurgeReport, Error> {
        let now = self.clock.now();
        let cutoff = now - retention;
        let report = self.storage.purge(&PurgeRequest {
            shares_before: cutoff,
            quota_days_before: crate::quota::quota_day(cutoff, self.config.quota.day_offset),
            throttle_policy: self.config.throttle,
            now,
        })?;
        Ok(report)
    }

    /// Runs password hashing work on the bounded hashing pool.
    fn hash<T: Send + 'static>(
        &self,
        now: DateTime<Utc>,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        self.hashing
            .run(f)
            .map_err(|guards::Busy| Error::Overloaded {
                retry_at: now + chrono::Duration::seconds(1),
            })
    }

    fn emit(&self, event: Event) {
        self.events.emit(&event);
    }

    fn random_bytes<const N: usize>(&self) -> [u8; N] {
        let mut out = [0u8; N];
        self.rng
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .fill_bytes(&mut out);
        out
    }

    fn new_share_id(&self) -> Result<ShareId, Error> {
        let mut rng = self.rng.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(ShareId::generate(&mut **rng, self.config.share_id_len)?)
    }

    fn load(&self, id: &ShareId) -> Result<Share, Error> {
        self.storage
            .get_share(id)?
            .ok_or_else(|| Error::ShareNotFound(id.clone()))
    }

    /// The quota charge for `tenant` and `kind` at `now`, or `None` if unlimited.
    fn quota_charge(
        &self,
        tenant: &TenantId,
        kind: QuotaKind,
        now: DateTime<Utc>,
    ) -> Option<QuotaCharge> {
        let limit = self.tenant_policy(tenant).limit(&self.config.quota, kind)?;
        Some(QuotaCharge {
            key: QuotaKey::for_instant(tenant.clone(), kind, now, self.config.quota.day_offset),
            limit,
        })
    }

    fn quota_exhausted(&self, charge: &QuotaCharge, now: DateTime<Utc>) -> Error {
        self.emit(Event::QuotaRefused {
            tenant: charge.key.tenant.clone(),
            kind: charge.key.kind,
        });
        Error::Quota(crate::quota::QuotaExhausted {
            tenant: charge.key.tenant.clone(),
            kind: charge.key.kind,
            limit: charge.limit,
            resets_at: next_reset(now, self.config.quota.day_offset),
        })
    }

    /// Read-modify-write of one share with bounded retries on version conflicts.
    fn modify_share(
        &self,
        id: &ShareId,
        mut transition: impl FnMut(Share) -> Result<Share, Error>,
    ) -> Result<(Share, Share), Error> {
        let attempts = self.config.max_update_attempts.max(1);
        for _ in 0..attempts {
            let before = self.load(id)?;
            let expected = before.version();
            let after = transition(before.clone())?;
            match self.storage.update_share(&after, expected)? {
                UpdateOutcome::Updated => return Ok((before, after)),
                UpdateOutcome::Conflict { .. } => continue,
                UpdateOutcome::NotFound => return Err(Error::ShareNotFound(id.clone())),
            }
        }
        Err(Error::Contention {
            share_id: id.clone(),
            attempts,
        })
    }
}

#[cfg(test)]
mod tests;
