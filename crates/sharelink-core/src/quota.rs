//! Per-tenant daily quotas: share creations and share accesses.
//!
//! PDS lets a tenant without a custom domain create 500 shares and access
//! shares 500 times a day. Here an *access* is one share token issued. Days
//! are counted in a fixed UTC offset, +08:00 by default (where the seed
//! service counts them). Limits are data ([`QuotaPolicy`], [`TenantPolicy`]);
//! the arithmetic is pure ([`consume`], [`QuotaKey::for_instant`]); the
//! atomic counting is the storage's job
//! ([`Storage::consume_quota`](crate::Storage::consume_quota)).

use std::fmt;

use chrono::{DateTime, Days, FixedOffset, NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::code::ErrorCode;
use crate::fields::TenantId;

/// Which daily counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaKind {
    /// Shares created.
    Create,
    /// Share tokens issued.
    Access,
}

impl QuotaKind {
    /// A stable lower-case name, used as a storage key component.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Access => "access",
        }
    }
}

impl fmt::Display for QuotaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Default daily limits and where a day starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaPolicy {
    /// Shares a tenant may create per day (default 500).
    pub creations_per_day: u32,
    /// Share tokens a tenant's shares may issue per day (default 500).
    pub accesses_per_day: u32,
    /// The UTC offset whose midnight starts a quota day (default +08:00).
    pub day_offset: FixedOffset,
}

impl Default for QuotaPolicy {
    fn default() -> Self {
        Self {
            creations_per_day: 500,
            accesses_per_day: 500,
            day_offset: FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!()),
        }
    }
}

/// What one tenant has configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TenantPolicy {
    /// A custom domain lifts both daily quotas and the APK/IPA rule.
    pub custom_domain: bool,
    /// Overrides [`QuotaPolicy::creations_per_day`] for this tenant.
    pub creations_per_day: Option<u32>,
    /// Overrides [`QuotaPolicy::accesses_per_day`] for this tenant.
    pub accesses_per_day: Option<u32>,
}

impl TenantPolicy {
    /// The daily limit for `kind`; `None` means unlimited (custom domain).
    pub fn limit(&self, defaults: &QuotaPolicy, kind: QuotaKind) -> Option<u32> {
        if self.custom_domain {
            return None;
        }
        Some(match kind {
            QuotaKind::Create => self.creations_per_day.unwrap_or(defaults.creations_per_day),
            QuotaKind::Access => self.accesses_per_day.unwrap_or(defaults.accesses_per_day),
        })
    }
}

/// Names one counter: a tenant, a kind and a quota day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct QuotaKey {
    /// The tenant.
    pub tenant: TenantId,
    /// Which counter.
    pub kind: QuotaKind,
    /// The quota day, as a calendar date in the policy's offset.
    pub day: NaiveDate,
}

impl QuotaKey {
    /// The key of the counter that `now` falls into.
    pub fn for_instant(
        tenant: TenantId,
        kind: QuotaKind,
        now: DateTime<Utc>,
        offset: FixedOffset,
    ) -> Self {
        Self {
            tenant,
            kind,
            day: quota_day(now, offset),
        }
    }
}

/// The quota day that `now` falls into.
pub fn quota_day(now: DateTime<Utc>, offset: FixedOffset) -> NaiveDate {
    now.with_timezone(&offset).date_naive()
}

/// The instant the quota day containing `now` ends (the next local midnight).
pub fn next_reset(now: DateTime<Utc>, offset: FixedOffset) -> DateTime<Utc> {
    let day = quota_day(now, offset);
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    offset
        .from_local_datetime(&next.and_time(chrono::NaiveTime::MIN))
        .single()
        .map_or(now, |t| t.with_timezone(&Utc))
}

/// The pure counting rule: one more use if `used < limit`.
///
/// Returns the new count, or `None` if the limit is reached. Backends must
/// apply exactly this rule atomically.
pub fn consume(used: u32, limit: u32) -> Option<u32> {
    (used < limit).then(|| used + 1)
}

/// A daily quota is used up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {kind} quota of tenant {tenant} ({limit} a day) is used up; it resets at {resets_at}")]
pub struct QuotaExhausted {
    /// The tenant.
    pub tenant: TenantId,
    /// Which counter.
    pub kind: QuotaKind,
    /// Its daily limit.
    pub limit: u32,
    /// When the next quota day starts.
    pub resets_at: DateTime<Utc>,
}

impl QuotaExhausted {
    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self.kind {
            QuotaKind::Create => ErrorCode::QuotaExhaustedShareLinkCreate,
            QuotaKind::Access => ErrorCode::QuotaExhaustedShareLinkAccess,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn day_boundary_is_midnight_in_utc_plus_8() {
        let off = QuotaPolicy::default().day_offset;
        // 15:59:59Z is 23:59:59 in +08:00; 16:00Z is the next day.
        assert_eq!(
            quota_day(t("2026-03-01T15:59:59Z"), off).to_string(),
            "2026-03-01"
        );
        assert_eq!(
            quota_day(t("2026-03-01T16:00:00Z"), off).to_string(),
            "2026-03-02"
        );
        assert_eq!(
            next_reset(t("2026-03-01T10:00:00Z"), off),
            t("2026-03-01T16:00:00Z")
        );
        assert_eq!(
            next_reset(t("2026-03-01T16:00:00Z"), off),
            t("2026-03-02T16:00:00Z")
        );
    }

    #[test]
    fn custom_domain_is_unlimited_and_overrides_apply() {
        let d = QuotaPolicy::default();
        assert_eq!(
            TenantPolicy::default().limit(&d, QuotaKind::Create),
            Some(500)
        );
        let custom = TenantPolicy {
            custom_domain: true,
            ..Default::default()
        };
        assert_eq!(custom.limit(&d, QuotaKind::Access), None);
        let small = TenantPolicy {
            accesses_per_day: Some(3),
            ..Default::default()
        };
        assert_eq!(small.limit(&d, QuotaKind::Access), Some(3));
        assert_eq!(small.limit(&d, QuotaKind::Create), Some(500));
    }

    #[test]
    fn consume_stops_at_the_limit() {
        assert_eq!(consume(0, 2), Some(1));
        assert_eq!(consume(1, 2), Some(2));
        assert_eq!(consume(2, 2), None);
        assert_eq!(consume(0, 0), None);
    }

    proptest! {
        /// The reset instant is always strictly after `now`, at most a day
        /// later, and starts a different quota day.
        #[test]
        fn reset_is_the_next_day_start(secs in 0i64..4_000_000_000, off_h in -12i32..=14) {
            let off = FixedOffset::east_opt(off_h * 3600).unwrap();
            let now = DateTime::from_timestamp(secs, 0).unwrap();
            let reset = next_reset(now, off);
            prop_assert!(reset > now);
            prop_assert!(reset - now <= chrono::Duration::days(1));
            prop_assert_ne!(quota_day(reset, off), quota_day(now, off));
            prop_assert_eq!(quota_day(reset - chrono::Duration::seconds(1), off), quota_day(now, off));
        }
    }
}
