//! Engine configuration: every policy number in one place, with defaults.

use crate::file_policy::FileTypePolicy;
use crate::id::ShareId;
use crate::password::PasswordHasher;
use crate::quota::{QuotaPolicy, TenantPolicy};
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
        }
    }
}
