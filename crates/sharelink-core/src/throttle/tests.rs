use super::*;
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

/// One share's records, as storage would keep them.
#[derive(Default)]
struct Share {
    share: ShareThrottle,
    clients: std::collections::HashMap<u32, ClientThrottle>,
}

impl Share {
    fn admit(
        &mut self,
        client: u32,
        p: &ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> Result<Admission, ThrottleRefusal> {
        let state = ThrottleState {
            share: self.share,
            client: self.clients.get(&client).copied().unwrap_or_default(),
        };
        let (next, admission) = admit(state, p, now)?;
        self.store(client, next);
        Ok(admission)
    }

    fn settle(
        &mut self,
        client: u32,
        a: Admission,
        outcome: AttemptOutcome,
        p: &ThrottlePolicy,
        now: DateTime<Utc>,
    ) {
        let state = ThrottleState {
            share: self.share,
            client: self.clients.get(&client).copied().unwrap_or_default(),
        };
        let next = settle(state, a, outcome, p, now);
        self.store(client, next);
    }

    fn store(&mut self, client: u32, s: ThrottleState) {
        self.share = s.share;
        self.clients.insert(client, s.client);
    }

    /// An attempt evaluated at once.
    fn attempt(
        &mut self,
        client: u32,
        right: bool,
        p: &ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> Result<(), ThrottleRefusal> {
        let a = self.admit(client, p, now)?;
        let outcome = if right {
            AttemptOutcome::Success
        } else {
            AttemptOutcome::Failure
        };
        self.settle(client, a, outcome, p, now);
        Ok(())
    }
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
    assert_eq!(p.max_failures_per_hour(), 100);
}

#[test]
fn a_client_is_slowed_then_admitted_after_waiting() {
    let p = ThrottlePolicy::default();
    let mut s = Share::default();
    for _ in 0..6 {
        s.attempt(1, false, &p, t0()).unwrap();
    }
    let refusal = s.admit(1, &p, t0()).unwrap_err();
    assert_eq!(refusal.scope, ThrottleScope::Client);
    assert_eq!(refusal.retry_at, t0() + Duration::seconds(1));
    assert!(s.admit(1, &p, t0() + Duration::seconds(1)).is_ok());
}

#[test]
fn success_refunds_and_forgets_the_client() {
    let p = ThrottlePolicy::default();
    let mut s = Share::default();
    s.attempt(1, false, &p, t0()).unwrap();
    assert_eq!(s.clients[&1].failures, 1);
    let before = s.share;
    s.attempt(1, true, &p, t0()).unwrap();
    assert_eq!(s.share, before, "a right password costs no budget");
    assert_eq!(s.clients[&1], ClientThrottle::default());
}

#[test]
fn an_attempt_in_flight_is_not_a_failure() {
    let p = ThrottlePolicy::default();
    let mut s = Share::default();
    let a = s.admit(1, &p, t0()).unwrap();
    assert_eq!(s.clients[&1].failures, 0);
    assert_eq!(s.clients[&1].in_flight, 1);
    s.settle(1, a, AttemptOutcome::Abandoned, &p, t0());
    assert_eq!(
        s.clients[&1],
        ClientThrottle::default(),
        "{:?}",
        s.clients[&1]
    );
    assert!(s.share.fresh.is_full(t0()));
}

#[test]
fn guessing_from_a_few_addresses_cannot_lock_out_a_right_password() {
    let p = ThrottlePolicy::default();
    let mut s = Share::default();
    let mut now = t0();
    let mut evaluated = 0;
    // Four attacking addresses guess as fast as they are let, every 100 ms,
    // for an hour; the owner's friend (client 0) tries once a minute.
    for tick in 0..36_000u32 {
        now += Duration::milliseconds(100);
        for attacker in 1..=4 {
            if s.attempt(attacker, false, &p, now).is_ok() {
                evaluated += 1;
            }
        }
        if tick % 600 == 0 {
            s.attempt(0, true, &p, now)
                .expect("a client with the right password is never refused");
        }
    }
    assert!(evaluated <= 100, "{evaluated} wrong guesses evaluated");
    assert!(
        evaluated >= 30,
        "the attackers were evaluated {evaluated} times"
    );
}

#[test]
fn bursts_of_right_passwords_wait_a_second_at_most() {
    let p = ThrottlePolicy::default();
    // 30 people behind 30 addresses, all at once, hashes still running.
    let mut s = Share::default();
    let mut admitted = Vec::new();
    for c in 0..30 {
        match s.admit(c, &p, t0()) {
            Ok(a) => admitted.push((c, a)),
            Err(r) => assert!(r.retry_at <= t0() + Duration::seconds(1), "{r:?}"),
        }
    }
    assert_eq!(admitted.len(), 20);
    for (c, a) in admitted {
        s.settle(c, a, AttemptOutcome::Success, &p, t0());
    }
    for c in 20..30 {
        s.attempt(c, true, &p, t0() + Duration::seconds(1)).unwrap();
    }
    // 10 at once from one address: 2 in flight, the rest told 1 s.
    let mut s = Share::default();
    let mut admitted = 0;
    for _ in 0..10 {
        match s.admit(7, &p, t0()) {
            Ok(_) => admitted += 1,
            Err(r) => {
                assert_eq!(r.retry_at, t0() + Duration::seconds(1));
                assert_eq!(r.scope, ThrottleScope::Client);
            }
        }
    }
    assert_eq!(admitted, 2);
}

#[test]
fn lost_attempts_stop_counting_as_in_flight() {
    let p = ThrottlePolicy::default();
    let mut s = Share::default();
    s.admit(1, &p, t0()).unwrap();
    s.admit(1, &p, t0()).unwrap();
    assert!(s.admit(1, &p, t0()).is_err());
    assert!(s.admit(1, &p, t0() + p.in_flight_ttl).is_ok());
}

#[test]
fn access_is_charged_once_per_client_share_and_day() {
    let day = t0().date_naive();
    let (s, charge) = note_access(ThrottleState::default(), day);
    assert!(charge);
    let (s, charge) = note_access(s, day);
    assert!(!charge);
    let (_, charge) = note_access(s, day.succ_opt().unwrap());
    assert!(charge);
}

#[test]
fn stale_records_are_forgotten() {
    let p = ThrottlePolicy::default();
    let mut s = Share::default();
    for _ in 0..3 {
        s.attempt(1, false, &p, t0()).unwrap();
    }
    let state = ThrottleState {
        share: s.share,
        client: s.clients[&1],
    };
    assert!(!is_stale(&state, &p, t0()));
    assert!(is_stale(&state, &p, t0() + Duration::hours(24)));
    let (noted, _) = note_access(ThrottleState::default(), t0().date_naive());
    assert!(!is_stale(&noted, &p, t0()));
    assert!(is_stale(&noted, &p, t0() + Duration::days(3)));
}

/// A stored record from before the budgets (a window and a failure count)
/// still decodes, as an empty one.
#[test]
fn records_of_the_previous_shape_decode() {
    let old: ShareThrottle =
        serde_json::from_str(r#"{"window_start":"2026-01-01T00:00:00Z","failures":20}"#).unwrap();
    assert_eq!(old, ShareThrottle::default());
    let old: ClientThrottle = serde_json::from_str(
        r#"{"failures":3,"last_failure_at":"2026-01-01T00:00:00Z","blocked_until":null}"#,
    )
    .unwrap();
    assert_eq!(old.failures, 3);
}

proptest! {
    /// Whatever the clients do, in whatever order attempts settle, no
    /// one-hour span holds more than `max_failures_per_hour` wrong guesses
    /// evaluated, and a refusal always names a future instant.
    #[test]
    fn ceilings_hold(steps in prop::collection::vec((0u32..8, 0i64..120, 0u8..4), 1..400)) {
        let p = ThrottlePolicy::default();
        let mut s = Share::default();
        let mut now = t0();
        let mut pending: Vec<(u32, Admission, DateTime<Utc>)> = Vec::new();
        let mut failures: Vec<DateTime<Utc>> = Vec::new();
        for (client, dt, action) in steps {
            now += Duration::seconds(dt);
            match action {
                // Start an attempt.
                0 | 1 => match s.admit(client, &p, now) {
                    Ok(a) => pending.push((client, a, now)),
                    Err(r) => prop_assert!(r.retry_at > now),
                },
                // Settle the oldest attempt in flight, wrong or right.
                _ => {
                    if !pending.is_empty() {
                        let (c, a, admitted_at) = pending.remove(0);
                        let outcome = if action == 2 { AttemptOutcome::Failure } else { AttemptOutcome::Success };
                        if outcome == AttemptOutcome::Failure {
                            failures.push(admitted_at);
                        }
                        s.settle(c, a, outcome, &p, now);
                    }
                }
            }
        }
        // Wrong guesses by the instant they were admitted (evaluation starts
        // there): no closed one-hour span holds more than the ceiling.
        failures.sort();
        for (i, start) in failures.iter().enumerate() {
            let in_window = failures[i..]
                .iter()
                .filter(|t| **t <= *start + Duration::hours(1))
                .count();
            prop_assert!(
                in_window <= p.max_failures_per_hour() as usize,
                "{in_window} failures within an hour"
            );
        }
    }
}
