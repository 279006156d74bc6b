//! Rate limits as data, decided by pure code: the generic cell rate
//! algorithm (GCRA), whose whole state is one instant.
//!
//! A [`Rate`] allows `burst` events at once and `per_hour` more per hour:
//! any closed one-hour span holds at most `burst + per_hour` events. The
//! state is the *theoretical arrival time* (TAT) of the next event; no
//! state, or a TAT in the past, means the full burst is available.

use chrono::{DateTime, Duration, Utc};

/// A rate: a burst, and a steady refill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Events allowed at once (at least 1).
    pub burst: u32,
    /// Events added per hour (at least 1).
    pub per_hour: u32,
}

impl Rate {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
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
