//! Password-guessing throttle, decided before any password hash is computed.
//!
//! Failed token requests are counted per share and client key (an opaque
//! string from the host, such as an IP prefix) and per share overall.
//!
//! # The numbers (defaults of [`ThrottlePolicy`])
//!
//! - A client gets **5 free failures** on a share. From the 6th on it waits
//!   1 s, then 2 s, 4 s, … doubling up to **15 minutes** between attempts.
//!   That allows about 17 guesses in the first hour and 4 an hour after that.
//!   A client's record is forgotten after **24 hours** without failures, and
//!   reset by a correct password.
//! - Across all clients, a share accepts at most **20 failed guesses per
//!   hour** (fixed one-hour windows). Against a 4-digit numeric code (10⁴
//!   values) that is about 250 hours of continuous guessing for even odds;
//!   against a 4-character alphanumeric code (36⁴ ≈ 1.7 M) about 4.8 years.
//! - One attacker does not lock out another client's correct password: the
//!   delays are per client. Only the share-wide ceiling, once tripped, makes
//!   everyone wait for the window to end.
//!
//! # Why charge first
//!
//! [`admit`] charges the attempt as a failure *before* the password is
//! checked, atomically in storage; a correct password then refunds it through
//! [`settle`]. So a flood of concurrent guesses cannot slip past the counters
//! while their hashes are computed, and it buys the attacker at most the free
//! failures' worth of argon2 work (about 11 ms each at the default cost),
//! not unlimited CPU.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Throttle parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures a client may make before delays start.
    pub free_failures: u32,
    /// The first delay; each further failure doubles it.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
    /// How long a client's failures are remembered after the last one.
    pub client_memory: Duration,
    /// Failed guesses a share accepts per window, across all clients.
    pub share_failures_per_window: u32,
    /// The share-wide window.
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay: Duration::seconds(1),
            max_delay: Duration::minutes(15),
            client_memory: Duration::hours(24),
            share_failures_per_window: 20,
            window: Duration::hours(1),
        }
    }
}

impl ThrottlePolicy {
    /// The wait imposed after a client's `failures`-th failure.
    pub fn delay_after(&self, failures: u32) -> Duration {
        if failures <= self.free_failures {
            return Duration::zero();
        }
        let doublings = (failures - self.free_failures - 1).min(40);
        let factor = 1i32.checked_shl(doublings.min(30)).unwrap_or(i32::MAX);
        self.base_delay
            .checked_mul(factor)
            .map_or(self.max_delay, |d| d.min(self.max_delay))
    }
}

/// One client's record on one share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientThrottle {
    /// Failures counted (charged attempts not refunded).
    pub failures: u32,
    /// The last charged attempt.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// No attempt is admitted before this instant.
    pub blocked_until: Option<DateTime<Utc>>,
}

/// A share's record across all clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ShareThrottle {
    /// Start of the current window.
    pub window_start: Option<DateTime<Utc>>,
    /// Failures charged in the current window.
    pub failures: u32,
}

/// The two records an admission decision reads and writes together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ThrottleState {
    /// The share-wide record.
    pub share: ShareThrottle,
    /// This client's record.
    pub client: ClientThrottle,
}

/// Whose limit refused the attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleScope {
    /// This client must wait.
    Client,
    /// The share-wide ceiling tripped: everyone must wait.
    Share,
}

/// An attempt refused by the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many failed password attempts ({scope:?} limit); retry at {retry_at}")]
pub struct ThrottleRefusal {
    /// Which limit.
    pub scope: ThrottleScope,
    /// When an attempt will be admitted again.
    pub retry_at: DateTime<Utc>,
}

/// How a charged attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The password was right: refund the charge and forget the client's failures.
    Success,
    /// The password was wrong: the charge stands.
    Failure,
}

/// Admits or refuses an attempt at `now`. An admitted attempt is charged as
/// a failure in the returned state; [`settle`] refunds it on success.
pub fn admit(
    state: ThrottleState,
    policy: &ThrottlePolicy,
    now: DateTime<Utc>,
) -> Result<ThrottleState, ThrottleRefusal> {
    let mut s = forget_stale(state, policy, now);
    if let Some(until) = s.client.blocked_until {
        if until > now {
            return Err(ThrottleRefusal {
                scope: ThrottleScope::Client,
                retry_at: until,
            });
        }
    }
    if s.share.failures >= policy.share_failures_per_window {
        let start = s.share.window_start.unwrap_or(now);
        return Err(ThrottleRefusal {
            scope: ThrottleScope::Share,
            retry_at: start + policy.window,
        });
    }
    s.share.window_start.get_or_insert(now);
    s.share.failures += 1;
    s.client.failures = s.client.failures.saturating_add(1);
    s.client.last_failure_at = Some(now);
    let delay = policy.delay_after(s.client.failures);
    s.client.blocked_until = (delay > Duration::zero()).then(|| now + delay);
    Ok(s)
}

/// Records how an admitted attempt ended.
pub fn settle(state: ThrottleState, outcome: AttemptOutcome) -> ThrottleState {
    match outcome {
        AttemptOutcome::Failure => state,
        AttemptOutcome::Success => ThrottleState {
            share: ShareThrottle {
                failures: state.share.failures.saturating_sub(1),
                ..state.share
            },
            client: ClientThrottle::default(),
        },
    }
}

/// Whether a stored state carries no information any more at `now`
/// (storage may delete it).
pub fn is_stale(state: &ThrottleState, policy: &ThrottlePolicy, now: DateTime<Utc>) -> bool {
    forget_stale(*state, policy, now) == ThrottleState::default()
}

fn forget_stale(
    mut s: ThrottleState,
    policy: &ThrottlePolicy,
    now: DateTime<Utc>,
) -> ThrottleState {
    if s.client
        .last_failure_at
        .is_some_and(|t| t + policy.client_memory <= now)
        && s.client.blocked_until.is_none_or(|t| t <= now)
    {
        s.client = ClientThrottle::default();
    }
    if s.share
        .window_start
        .is_some_and(|t| t + policy.window <= now)
    {
        s.share = ShareThrottle::default();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn delays_grow_after_free_failures_and_cap() {
        let p = ThrottlePolicy::default();
        assert_eq!(p.delay_after(5), Duration::zero());
        assert_eq!(p.delay_after(6), Duration::seconds(1));
        assert_eq!(p.delay_after(7), Duration::seconds(2));
        assert_eq!(p.delay_after(10), Duration::seconds(16));
        assert_eq!(p.delay_after(100), Duration::minutes(15));
        assert_eq!(p.delay_after(u32::MAX), Duration::minutes(15));
    }

    #[test]
    fn a_client_is_slowed_then_admitted_after_waiting() {
        let p = ThrottlePolicy::default();
        let mut s = ThrottleState::default();
        for _ in 0..6 {
            s = admit(s, &p, t0()).unwrap();
        }
        let refusal = admit(s, &p, t0()).unwrap_err();
        assert_eq!(refusal.scope, ThrottleScope::Client);
        assert_eq!(refusal.retry_at, t0() + Duration::seconds(1));
        assert!(admit(s, &p, t0() + Duration::seconds(1)).is_ok());
    }

    #[test]
    fn success_refunds_and_forgets_the_client() {
        let p = ThrottlePolicy::default();
        let s = admit(ThrottleState::default(), &p, t0()).unwrap();
        assert_eq!(s.share.failures, 1);
        let s = settle(s, AttemptOutcome::Success);
        assert_eq!(s.share.failures, 0);
        assert_eq!(s.client, ClientThrottle::default());
    }

    #[test]
    fn share_ceiling_trips_for_everyone_until_the_window_ends() {
        let p = ThrottlePolicy::default();
        let mut share = ShareThrottle::default();
        for _ in 0..p.share_failures_per_window {
            // A fresh client each time: no client delay applies.
            let s = admit(
                ThrottleState {
                    share,
                    client: ClientThrottle::default(),
                },
                &p,
                t0(),
            )
            .unwrap();
            share = s.share;
        }
        let fresh = ThrottleState {
            share,
            client: ClientThrottle::default(),
        };
        let refusal = admit(fresh, &p, t0() + Duration::minutes(30)).unwrap_err();
        assert_eq!(refusal.scope, ThrottleScope::Share);
        assert_eq!(refusal.retry_at, t0() + Duration::hours(1));
        assert!(admit(fresh, &p, t0() + Duration::hours(1)).is_ok());
    }

    #[test]
    fn stale_records_are_forgotten() {
        let p = ThrottlePolicy::default();
        let mut s = ThrottleState::default();
        for _ in 0..3 {
            s = admit(s, &p, t0()).unwrap();
        }
        assert!(!is_stale(&s, &p, t0()));
        assert!(is_stale(&s, &p, t0() + Duration::hours(24)));
    }

    proptest! {
        /// Under any sequence of attempts and clock steps, a share never
        /// admits more than the ceiling's worth of uncompensated failures in
        /// one window, and a client is never admitted while blocked.
        #[test]
        fn ceilings_hold(steps in prop::collection::vec((0u8..4, 0i64..400, any::<bool>()), 1..200)) {
            let p = ThrottlePolicy::default();
            let mut share = ShareThrottle::default();
            let mut clients = [ClientThrottle::default(); 4];
            let mut now = t0();
            for (client, dt, ok) in steps {
                now += Duration::seconds(dt);
                let c = usize::from(client);
                let before = ThrottleState { share, client: clients[c] };
                match admit(before, &p, now) {
                    Ok(s) => {
                        if let Some(until) = before.client.blocked_until {
                            prop_assert!(until <= now || before.client.last_failure_at.is_some_and(|t| t + p.client_memory <= now));
                        }
                        let s = settle(s, if ok { AttemptOutcome::Success } else { AttemptOutcome::Failure });
                        prop_assert!(s.share.failures <= p.share_failures_per_window);
                        share = s.share;
                        clients[c] = s.client;
                    }
                    Err(r) => prop_assert!(r.retry_at > now),
                }
            }
        }
    }
}
