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

/// A setting of [`EngineConfig`] that cannot work, found when the engine is
/// built ([`EngineBuilder::build`](crate::engine::EngineBuilder::build)),
/// never later as a client-facing error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid engine configuration: {field}: {reason}")]
pub struct ConfigError {
    /// The setting.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl EngineConfig {
    /// Checks every setting: share ids 11–64 characters, at least one update
    /// attempt, a scope depth of 1..=64, rates of at least 1, and blocked
    /// extensions that are non-empty, lower case and dot-free.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &'static str, reason: String| Err(ConfigError { field, reason });
        if !(ShareId::MIN_LEN..=ShareId::MAX_LEN).contains(&self.share_id_len) {
            return bad(
                "share_id_len",
                format!(
                    "{} is outside {}..={}",
                    self.share_id_len,
                    ShareId::MIN_LEN,
                    ShareId::MAX_LEN
                ),
            );
        }
        if self.max_update_attempts == 0 {
            return bad("max_update_attempts", "must be at least 1".into());
        }
        if !(1..=MAX_SCOPE_DEPTH).contains(&self.max_scope_depth) {
            return bad(
                "max_scope_depth",
                format!("{} is outside 1..={MAX_SCOPE_DEPTH}", self.max_scope_depth),
            );
        }
        for (field, rate) in [
            ("token_rate", self.token_rate),
            ("password_set_rate", self.password_set_rate),
        ] {
            if rate.burst == 0 || rate.per_hour == 0 {
                return bad(field, "burst and per_hour must be at least 1".into());
            }
        }
        for ext in &self.file_policy.blocked_extensions {
            if ext.is_empty() || ext.contains('.') || *ext != ext.to_lowercase() {
                return bad(
                    "file_policy.blocked_extensions",
                    format!("{ext:?} must be non-empty, lower case, without a dot"),
                );
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_each_bad_setting_is_named() {
        assert_eq!(EngineConfig::default().validate(), Ok(()));
        let cases: Vec<(EngineConfig, &str)> = vec![
            (
                EngineConfig {
                    share_id_len: 5,
                    ..EngineConfig::default()
                },
                "share_id_len",
            ),
            (
                EngineConfig {
                    max_update_attempts: 0,
                    ..EngineConfig::default()
                },
                "max_update_attempts",
            ),
            (
                EngineConfig {
                    max_scope_depth: 0,
                    ..EngineConfig::default()
                },
                "max_scope_depth",
            ),
            (
                EngineConfig {
                    token_rate: Rate {
                        burst: 0,
                        per_hour: 1,
                    },
                    ..EngineConfig::default()
                },
                "token_rate",
            ),
            (
                EngineConfig {
                    file_policy: FileTypePolicy {
                        blocked_extensions: vec![".APK".into()],
                        ..FileTypePolicy::default()
                    },
                    ..EngineConfig::default()
                },
                "file_policy.blocked_extensions",
            ),
        ];
        for (config, field) in cases {
            assert_eq!(config.validate().unwrap_err().field, field);
        }
    }
}
