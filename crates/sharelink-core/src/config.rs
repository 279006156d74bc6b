//! Engine configuration: every policy number in one place, with defaults.

use crate::file_policy::FileTypePolicy;
use crate::id::ShareId;
use crate::password::PasswordHasher;
use crate::quota::{QuotaPolicy, TenantPolicy};
use crate::rate::Rate;
use crate::scope::MAX_SCOPE_DEPTH;
use crate::throttle::ThrottlePolicy;

/// Everything the [`Engine`](crate::Engine) can be told, with defaults that
/// follow PDS where PDS says something.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Length of generated share ids (default 22, at least 11).
    pub share_id_len: usize,
    /// argon2id cost for new passwords.
    pub password_hasher: PasswordHasher,
    /// Daily quota defaults and the day boundary.
    pub quota: QuotaPolicy,
    /// Policy for tenants without an explicit entry.
    pub default_tenant: TenantPolicy,
    /// The APK/IPA rule.
    pub file_policy: FileTypePolicy,
    /// The password-guessing throttle.
    pub throttle: ThrottlePolicy,
    /// Attempts at an optimistic update before giving up with `ServiceUnavailable`.
    pub max_update_attempts: u32,
    /// How deep below a shared folder a file may be.
    pub max_scope_depth: usize,
    /// Share-token requests one client key may make, across all shares
    /// (default: 60 at once, 600 an hour). Over it: `429 TooManyRequests`.
    pub token_rate: Rate,
    /// Passwords one creator may set, on creates and updates (default: 10 at
    /// once, 120 an hour). Over it: `429 TooManyRequests`.
    pub password_set_rate: Rate,
    /// Threads computing password hashes (default 0: one per CPU).
    pub hash_workers: usize,
    /// Hashes that may wait for a worker (default 32). Beyond it a request
    /// needing a hash is refused at once with `503 ServiceUnavailable`.
    pub hash_queue: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            share_id_len: ShareId::DEFAULT_LEN,
            password_hasher: PasswordHasher::default(),
            quota: QuotaPolicy::default(),
            default_tenant: TenantPolicy::default(),
            file_policy: FileTypePolicy::default(),
            throttle: ThrottlePolicy::default(),
            max_update_attempts: 8,
            max_scope_depth: MAX_SCOPE_DEPTH,
            token_rate: Rate {
                burst: 60,
                per_hour: 600,
            },
            password_set_rate: Rate {
                burst: 10,
                per_hour: 120,
            },
            hash_workers: 0,
            hash_queue: 32,
        }
    }
}
