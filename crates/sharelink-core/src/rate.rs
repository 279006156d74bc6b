//! Rate limits as data, decided by pure code: the generic cell rate
//! algorithm (GCRA), whose whole state is one instant.
//!
//! A [`Rate`] allows `burst` events at once and `per_hour` more per hour:
//! any closed one-hour span holds at most `burst + per_hour` events. The
//! state is the *theoretical arrival time* (TAT) of the next event; no
//! state, or a TAT in the past, means the full burst is available.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Duration, Utc};

/// A request refused by a rate limit of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many {what} from this client; retry at {retry_at}")]
pub struct RateLimited {
    /// What was limited (`share token requests`, `password changes`, `copies`).
    pub what: &'static str,
    /// When a request will be allowed again.
    pub retry_at: DateTime<Utc>,
}

/// A rate: a burst, and a steady refill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Events allowed at once (at least 1).
    pub burst: u32,
    /// Events added per hour (at least 1).
    pub per_hour: u32,
}

impl Rate {
    /// No limit at all (for benchmarks and hosts that limit elsewhere).
    pub const UNLIMITED: Rate = Rate {
        burst: u32::MAX,
        per_hour: u32::MAX,
    };

    /// The time one event's allowance takes to come back.
    pub fn interval(&self) -> Duration {
        Duration::milliseconds(3_600_000 / i64::from(self.per_hour.max(1)))
    }

    /// Takes one event at `now` from the state `tat`: the new state, or the
    /// instant at which an event will be allowed.
    pub fn take(
        &self,
        tat: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, DateTime<Utc>> {
        let step = self.interval();
        if step.is_zero() {
            // Over 3.6 million an hour (`UNLIMITED`): nothing to count. Without
            // this, concurrent callers whose `now` arrive out of order would be
            // refused by an allowance of zero.
            return Ok(tat.map_or(now, |t| t.max(now)));
        }
        let base = tat.filter(|t| *t > now).unwrap_or(now);
        let next = base + step;
        let allowance = step * i32::try_from(self.burst.max(1)).unwrap_or(i32::MAX);
        if next - now <= allowance {
            Ok(next)
        } else {
            Err(next - allowance)
        }
    }

    /// Gives one event back (it did not happen after all).
    pub fn refund(&self, tat: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
        tat.map(|t| t - self.interval())
    }
}

/// Whether a state allows the full burst at `now` (and can be forgotten).
pub fn is_idle(tat: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    tat.is_none_or(|t| t <= now)
}

/// Keys remembered before idle ones are dropped.
const MAX_TRACKED_KEYS: usize = 100_000;

/// A [`Rate`] per key (a client address, a caller), in memory: per
/// process, for limits that protect the process rather than a share's rules.
#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    what: &'static str,
    next: Mutex<HashMap<String, DateTime<Utc>>>,
}

impl RateLimiter {
    /// A limiter applying `rate` to each key; `what` names the limited
    /// events in refusals (`share token requests`).
    pub fn new(rate: Rate, what: &'static str) -> Self {
        Self {
            rate,
            what,
            next: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one event for `key` at `now`, or refuses with the instant at
    /// which one will be allowed.
    pub fn check(&self, key: &str, now: DateTime<Utc>) -> Result<(), RateLimited> {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        if next.len() >= MAX_TRACKED_KEYS {
            next.retain(|_, tat| *tat > now);
            if next.len() >= MAX_TRACKED_KEYS {
                // More distinct busy keys than we remember: start afresh
                // rather than grow without bound.
                next.clear();
            }
        }
        match self.rate.take(next.get(key).copied(), now) {
            Ok(tat) => {
                next.insert(key.to_owned(), tat);
                Ok(())
            }
            Err(retry_at) => Err(RateLimited {
                what: self.what,
                retry_at,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[test]
    fn limiter_is_per_key() {
        let l = RateLimiter::new(
            Rate {
                burst: 2,
                per_hour: 60,
            },
            "things",
        );
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        l.check("a", t).unwrap();
        l.check("a", t).unwrap();
        let e = l.check("a", t).unwrap_err();
        assert_eq!(e.retry_at, t + Duration::minutes(1));
        l.check("b", t).unwrap();
        l.check("a", t + Duration::minutes(1)).unwrap();
    }

    #[test]
    fn unlimited_is_unlimited() {
        let mut tat = None;
        for _ in 0..10_000 {
            tat = Some(Rate::UNLIMITED.take(tat, t0()).unwrap());
        }
    }

    #[test]
    fn unlimited_admits_callers_whose_clocks_arrive_out_of_order() {
        // Two requests read the clock, the later one records first.
        let later = Rate::UNLIMITED.take(None, t0() + Duration::milliseconds(5));
        let tat = later.unwrap();
        assert!(Rate::UNLIMITED.take(Some(tat), t0()).is_ok());
        let limiter = RateLimiter::new(Rate::UNLIMITED, "things");
        limiter
            .check("k", t0() + Duration::milliseconds(5))
            .unwrap();
        limiter.check("k", t0()).unwrap();
    }

    #[test]
    fn burst_then_steady() {
        let r = Rate {
            burst: 3,
            per_hour: 60,
        };
        let mut tat = None;
        for _ in 0..3 {
            tat = Some(r.take(tat, t0()).unwrap());
        }
        let retry = r.take(tat, t0()).unwrap_err();
        assert_eq!(retry, t0() + Duration::minutes(1));
        assert!(r.take(tat, retry).is_ok());
        // A refund makes room again at once.
        assert!(r.take(r.refund(tat), t0()).is_ok());
    }

    proptest! {
        /// No closed hour ever holds more than burst + per_hour events, and
        /// a refusal names a future instant.
        #[test]
        fn never_more_than_burst_plus_rate(gaps in prop::collection::vec(0i64..200, 1..500)) {
            let r = Rate { burst: 5, per_hour: 30 };
            let mut tat = None;
            let mut now = t0();
            let mut events = Vec::new();
            for g in gaps {
                now += Duration::seconds(g);
                match r.take(tat, now) {
                    Ok(next) => { tat = Some(next); events.push(now); }
                    Err(at) => prop_assert!(at > now),
                }
            }
            for (i, start) in events.iter().enumerate() {
                let n = events[i..].iter().filter(|t| **t <= *start + Duration::hours(1)).count();
                prop_assert!(n <= 35, "{n} events in an hour");
            }
        }
    }
}
