//! Password-guessing throttle, decided before any password hash is computed.
//!
//! A share remembers, per client key (an opaque string from the host, such as
//! an IP address or IPv6 /64), that client's failures and attempts in
//! flight, and across all clients two **evaluation budgets**. Every password
//! evaluation draws one unit from a budget *before* the hash is computed; a
//! right password gives its unit back. So the budgets bound the wrong
//! guesses a share ever evaluates, and right passwords cost nothing.
//!
//! # The numbers (defaults of [`ThrottlePolicy`])
//!
//! - **At most 100 wrong guesses evaluated per share per hour**, from any
//!   number of addresses ([`ThrottlePolicy::max_failures_per_hour`]):
//!   - the *fresh* budget serves clients with no failure on record on this
//!     share: a burst of 20, refilling at 40 an hour (one unit per 90 s);
//!   - the *suspect* budget serves clients that have guessed wrong: a burst
//!     of 10, refilling at 30 an hour (one unit per 120 s).
//!
//!   Each is a GCRA bucket (one timestamp of state), so any one-hour span
//!   admits at most burst + hourly rate units: 20 + 40 + 10 + 30 = 100.
//!   Against a 6-character alphanumeric code (36⁶ ≈ 2·10⁹) that is about
//!   2,400 years of continuous guessing for even odds.
//! - **Per client:** 5 free failures, then waits of 1 s, 2 s, 4 s … up to
//!   15 minutes between attempts; forgotten after 24 hours without failures
//!   and reset by a right password. At most 2 attempts of one client are in
//!   flight at once (a third waits 1 s).
//!
//! # Why a right password gets in during an attack
//!
//! An attacker's address moves into the suspect budget with its first wrong
//! guess, so guessing from a fixed set of addresses can exhaust the suspect
//! budget but not the fresh one: a client that has not guessed wrong draws
//! from the fresh budget, which such an attacker cannot touch after its
//! first failure per address. With 2 attempts in flight per address, an
//! attacker with *k* addresses takes at most 2*k* fresh units once; the
//! fresh budget then refills at one unit per 90 s and only new addresses
//! can take it. So a legitimate client gets in at once unless the attacker
//! spends more than 20 new addresses at once, and within 90 s unless it
//! keeps spending one new address per 90 s; the hostile-client tests check
//! the first case (4 attacking addresses, the right password accepted in
//! well under 60 s).
//!
//! # Bursts of right passwords
//!
//! An attempt in flight is not a failure. When a budget is empty only
//! because attempts are still being evaluated (and right ones give their
//! unit back), the refusal says to retry in 1 s, not at the next refill; a
//! client over its in-flight cap is also told 1 s. So a burst of right
//! passwords (many people behind one NAT) sees at most `Retry-After: 1`.
//!
//! # Why charge first
//!
//! [`admit`] takes the budget unit atomically in storage before the hash is
//! computed, and [`settle`] records how it ended. A flood of concurrent
//! guesses therefore cannot slip past the budgets while their hashes are
//! computed, and it buys the attacker at most the budgets' worth of argon2
//! work.
//!
//! # Access-quota fairness
//!
//! The same per-client record remembers the quota day on which the client
//! was last charged an access to the share ([`note_access`]), so repeated
//! token requests from one client for one share cost the tenant's access
//! quota once a day.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::rate::Rate;

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
    /// Evaluations the fresh budget allows at once.
    pub fresh_burst: u32,
    /// Evaluations the fresh budget adds per hour.
    pub fresh_per_hour: u32,
    /// Evaluations the suspect budget allows at once.
    pub suspect_burst: u32,
    /// Evaluations the suspect budget adds per hour.
    pub suspect_per_hour: u32,
    /// Attempts of one client that may be evaluated at the same time.
    pub max_in_flight_per_client: u32,
    /// An attempt not settled after this long is presumed lost (a crash
    /// between admission and settlement) and stops counting as in flight.
    pub in_flight_ttl: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay: Duration::seconds(1),
            max_delay: Duration::minutes(15),
            client_memory: Duration::hours(24),
            fresh_burst: 20,
            fresh_per_hour: 40,
            suspect_burst: 10,
            suspect_per_hour: 30,
            max_in_flight_per_client: 2,
            in_flight_ttl: Duration::seconds(60),
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

    /// The most wrong guesses a share evaluates in any one hour.
    pub fn max_failures_per_hour(&self) -> u32 {
        self.fresh_burst
            .saturating_add(self.fresh_per_hour)
            .saturating_add(self.suspect_burst)
            .saturating_add(self.suspect_per_hour)
    }

    /// The rate of one budget.
    pub fn rate(&self, pool: Pool) -> Rate {
        match pool {
            Pool::Fresh => Rate {
                burst: self.fresh_burst,
                per_hour: self.fresh_per_hour,
            },
            Pool::Suspect => Rate {
                burst: self.suspect_burst,
                per_hour: self.suspect_per_hour,
            },
        }
    }
}

/// Which budget an evaluation draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pool {
    /// Clients with no failure on record on this share.
    Fresh,
    /// Clients that have guessed wrong.
    Suspect,
}

/// A GCRA budget: the theoretical arrival time of the next unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Budget {
    /// `None` (or a past instant): the full burst is available.
    pub tat: Option<DateTime<Utc>>,
}

impl Budget {
    /// Takes one unit at `now`, or says when one will be available.
    fn take(self, rate: Rate, now: DateTime<Utc>) -> Result<Self, DateTime<Utc>> {
        rate.take(self.tat, now).map(|tat| Self { tat: Some(tat) })
    }

    /// Gives one unit back (a right password).
    fn refund(self, rate: Rate) -> Self {
        Self {
            tat: rate.refund(self.tat),
        }
    }

    fn is_full(&self, now: DateTime<Utc>) -> bool {
        crate::rate::is_idle(self.tat, now)
    }
}

/// One client's record on one share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientThrottle {
    /// Wrong passwords evaluated (since the last right one, within memory).
    pub failures: u32,
    /// The last wrong password.
    pub last_failure_at: Option<DateTime<Utc>>,
    /// No attempt is admitted before this instant.
    pub blocked_until: Option<DateTime<Utc>>,
    /// Attempts admitted and not yet settled.
    pub in_flight: u32,
    /// The last admission.
    pub admitted_at: Option<DateTime<Utc>>,
    /// The quota day on which this client was last charged an access to
    /// this share.
    pub access_day: Option<NaiveDate>,
}

/// A share's record across all clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ShareThrottle {
    /// The budget of clients with no failure on record.
    pub fresh: Budget,
    /// The budget of clients that have guessed wrong.
    pub suspect: Budget,
    /// Attempts admitted and not yet settled, across clients.
    pub in_flight: u32,
    /// The last admission.
    pub admitted_at: Option<DateTime<Utc>>,
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
    /// This client must wait (its failures, or its attempts in flight).
    Client,
    /// The share's evaluation budget for this kind of client is spent.
    Share,
}

/// An attempt refused by the throttle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many password attempts ({scope:?} limit); retry at {retry_at}")]
pub struct ThrottleRefusal {
    /// Which limit.
    pub scope: ThrottleScope,
    /// When an attempt will be admitted again.
    pub retry_at: DateTime<Utc>,
}

/// An admitted attempt: what [`settle`] needs to know about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The budget it drew from.
    pub pool: Pool,
}

/// How an admitted attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The password was right: the unit goes back, the client's failures
    /// are forgotten.
    Success,
    /// The password was wrong: the unit stays spent, the client's failure
    /// is recorded (and may start a delay).
    Failure,
    /// The password was never evaluated, or its verdict is void (the share
    /// changed meanwhile, the server was too busy to hash): the unit goes
    /// back, the client's record is unchanged.
    Abandoned,
}

/// Admits or refuses an attempt at `now`. An admitted attempt has taken a
/// unit of its budget and counts as in flight until [`settle`]d.
pub fn admit(
    state: ThrottleState,
    policy: &ThrottlePolicy,
    now: DateTime<Utc>,
) -> Result<(ThrottleState, Admission), ThrottleRefusal> {
    let mut s = forget_stale(state, policy, now);
    if let Some(until) = s.client.blocked_until.filter(|t| *t > now) {
        return Err(ThrottleRefusal {
            scope: ThrottleScope::Client,
            retry_at: until,
        });
    }
    let soon = now + Duration::seconds(1);
    if s.client.in_flight >= policy.max_in_flight_per_client.max(1) {
        return Err(ThrottleRefusal {
            scope: ThrottleScope::Client,
            retry_at: soon,
        });
    }
    let pool = if s.client.failures == 0 {
        Pool::Fresh
    } else {
        Pool::Suspect
    };
    let rate = policy.rate(pool);
    let budget = match pool {
        Pool::Fresh => &mut s.share.fresh,
        Pool::Suspect => &mut s.share.suspect,
    };
    match budget.take(rate, now) {
        Ok(next) => *budget = next,
        Err(retry_at) => {
            // Units held by attempts in flight may come back at once.
            let retry_at = if s.share.in_flight > 0 {
                retry_at.min(soon)
            } else {
                retry_at
            };
            return Err(ThrottleRefusal {
                scope: ThrottleScope::Share,
                retry_at: retry_at.max(now + Duration::milliseconds(1)),
            });
        }
    }
    s.share.in_flight = s.share.in_flight.saturating_add(1);
    s.share.admitted_at = Some(now);
    s.client.in_flight = s.client.in_flight.saturating_add(1);
    s.client.admitted_at = Some(now);
    Ok((s, Admission { pool }))
}

/// Records how an admitted attempt ended, at `now`.
pub fn settle(
    state: ThrottleState,
    admission: Admission,
    outcome: AttemptOutcome,
    policy: &ThrottlePolicy,
    now: DateTime<Utc>,
) -> ThrottleState {
    let mut s = state;
    s.share.in_flight = s.share.in_flight.saturating_sub(1);
    s.client.in_flight = s.client.in_flight.saturating_sub(1);
    let rate = policy.rate(admission.pool);
    let budget = match admission.pool {
        Pool::Fresh => &mut s.share.fresh,
        Pool::Suspect => &mut s.share.suspect,
    };
    match outcome {
        AttemptOutcome::Success => {
            *budget = budget.refund(rate);
            s.client = ClientThrottle {
                in_flight: s.client.in_flight,
                admitted_at: s.client.admitted_at,
                access_day: s.client.access_day,
                ..ClientThrottle::default()
            };
        }
        AttemptOutcome::Abandoned => *budget = budget.refund(rate),
        AttemptOutcome::Failure => {
            s.client.failures = s.client.failures.saturating_add(1);
            s.client.last_failure_at = Some(now);
            let delay = policy.delay_after(s.client.failures);
            s.client.blocked_until = (delay > Duration::zero()).then(|| now + delay);
        }
    }
    tidy(s, now)
}

/// Drops what carries no information: spent-and-refilled budgets, the
/// admission instant of nothing in flight.
fn tidy(mut s: ThrottleState, now: DateTime<Utc>) -> ThrottleState {
    for budget in [&mut s.share.fresh, &mut s.share.suspect] {
        if budget.is_full(now) {
            *budget = Budget::default();
        }
    }
    if s.share.in_flight == 0 {
        s.share.admitted_at = None;
    }
    if s.client.in_flight == 0 {
        s.client.admitted_at = None;
    }
    s
}

/// Notes that the client is being issued a token on quota day `day`, and
/// says whether the tenant's access quota must be charged for it: only the
/// first time per client, share and day.
pub fn note_access(state: ThrottleState, day: NaiveDate) -> (ThrottleState, bool) {
    let charge = state.client.access_day != Some(day);
    let mut s = state;
    s.client.access_day = Some(day);
    (s, charge)
}

/// Whether a stored state carries no information any more at `now`
/// (storage may delete it).
pub fn is_stale(state: &ThrottleState, policy: &ThrottlePolicy, now: DateTime<Utc>) -> bool {
    let s = forget_stale(*state, policy, now);
    let access_live = s
        .client
        .access_day
        .is_some_and(|d| d >= (now - Duration::days(2)).date_naive());
    let client_idle = ClientThrottle {
        access_day: None,
        ..s.client
    } == ClientThrottle::default();
    let share_idle =
        s.share.fresh.is_full(now) && s.share.suspect.is_full(now) && s.share.in_flight == 0;
    client_idle && !access_live && share_idle
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
        s.client.failures = 0;
        s.client.last_failure_at = None;
        s.client.blocked_until = None;
    }
    if s.client.blocked_until.is_some_and(|t| t <= now) {
        s.client.blocked_until = None;
    }
    let lost = |at: Option<DateTime<Utc>>| at.is_none_or(|t| t + policy.in_flight_ttl <= now);
    if lost(s.client.admitted_at) {
        s.client.in_flight = 0;
        s.client.admitted_at = None;
    }
    if lost(s.share.admitted_at) {
        s.share.in_flight = 0;
        s.share.admitted_at = None;
    }
    tidy(s, now)
}

#[cfg(test)]
mod tests;
