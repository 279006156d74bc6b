//! Many threads against one limit: exactly `limit` succeed.

use std::sync::Barrier;
use std::thread;

use sharelink_core::*;

use crate::fixtures::{ShareFixture, charge};

/// Threads per race.
pub const THREADS: usize = 8;
/// Attempts per thread.
pub const ATTEMPTS: usize = 50;

fn race<F: Fn(usize) -> bool + Sync>(f: F) -> usize {
    let barrier = Barrier::new(THREADS);
    thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (f, barrier) = (&f, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    (0..ATTEMPTS).filter(|i| f(t * ATTEMPTS + i)).count()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("racer panicked"))
            .sum()
    })
}

/// 8 threads × 50 attempts against a quota of 137: exactly 137 succeed.
pub fn race_quota_exactly_limit(s: &dyn Storage) {
    let c = charge(0, QuotaKind::Access, 0, 137);
    let ok = race(|_| match s.consume_quota(&c).expect("consume_quota") {
        QuotaOutcome::Consumed { .. } => true,
        QuotaOutcome::Exhausted { .. } => false,
    });
    assert_eq!(ok, 137);
    assert_eq!(s.quota_used(&c.key).unwrap(), 137);
}

/// 8 threads × 50 attempts against a download limit of 61: exactly 61 succeed.
pub fn race_download_limit_exactly_limit(s: &dyn Storage) {
    let mut f = ShareFixture::new(1);
    f.download_limit = 61;
    let share = f.build();
    assert_eq!(
        s.insert_share(&share, None).unwrap(),
        InsertOutcome::Inserted
    );
    let ok = race(|_| {
        match s
            .count_use(share.id(), UseKind::Download, 0)
            .expect("count_use")
        {
            UseOutcome::Counted(_) => true,
            UseOutcome::LimitReached { .. } => false,
            other => panic!("unexpected {other:?}"),
        }
    });
    assert_eq!(ok, 61);
    let stored = s.get_share(share.id()).unwrap().unwrap();
    assert_eq!(stored.counters().download, 61);
    assert_eq!(stored.version(), 1 + 61);
}

/// Charge-and-refund: 8 threads × 50 attempts against a download limit of
/// 20, where every third counted use "fails" and is refunded. Exactly 20
/// uses are kept, and the counter never passed 20 on the way.
pub fn race_count_and_refund_never_pass_the_limit(s: &dyn Storage) {
    let mut f = ShareFixture::new(1);
    f.download_limit = 20;
    let share = f.build();
    assert_eq!(
        s.insert_share(&share, None).unwrap(),
        InsertOutcome::Inserted
    );
    let kept = race(|n| {
        match s
            .count_use(share.id(), UseKind::Download, 0)
            .expect("count_use")
        {
            UseOutcome::Counted(after) => {
                assert!(after.counters.download <= 20, "{after:?}");
                if n % 3 == 0 {
                    let back = s
                        .refund_use(share.id(), UseKind::Download)
                        .expect("refund_use")
                        .expect("share exists");
                    assert!(back.counters.download < 20, "{back:?}");
                    false
                } else {
                    true
                }
            }
            UseOutcome::LimitReached { .. } => false,
            other => panic!("unexpected {other:?}"),
        }
    });
    assert_eq!(kept, 20);
    let stored = s.get_share(share.id()).unwrap().unwrap();
    assert_eq!(stored.counters().download, 20);
}

/// 8 threads × 50 inserts of distinct shares against a creation quota of 45:
/// exactly 45 shares exist and the quota reads 45.
pub fn race_inserts_against_creation_quota(s: &dyn Storage) {
    let c = charge(0, QuotaKind::Create, 0, 45);
    let ok = race(|n| {
        let share = ShareFixture::new(u32::try_from(n).expect("small")).build();
        match s.insert_share(&share, Some(&c)).expect("insert_share") {
            InsertOutcome::Inserted => true,
            InsertOutcome::QuotaExhausted { .. } => false,
            InsertOutcome::IdTaken => panic!("ids are distinct"),
        }
    });
    assert_eq!(ok, 45);
    assert_eq!(s.quota_used(&c.key).unwrap(), 45);
    let stored = (0..THREADS * ATTEMPTS)
        .filter(|n| {
            s.get_share(&crate::fixtures::share_id(
                u32::try_from(*n).expect("small"),
            ))
            .unwrap()
            .is_some()
        })
        .count();
    assert_eq!(stored, 45);
}

/// 8 threads racing compare-and-swap updates of one share: every success is
/// exactly one version, and the final version counts them all.
pub fn race_updates_never_lose_a_write(s: &dyn Storage) {
    let share = ShareFixture::new(1).build();
    assert_eq!(
        s.insert_share(&share, None).unwrap(),
        InsertOutcome::Inserted
    );
    let ok = race(|_| {
        let current = s.get_share(share.id()).unwrap().expect("share");
        let expected = current.version();
        let next = current.count_use(UseKind::Preview).expect("unlimited");
        match s.update_share(&next, expected).expect("update_share") {
            UpdateOutcome::Updated => true,
            UpdateOutcome::Conflict { .. } => false,
            UpdateOutcome::NotFound => panic!("share vanished"),
        }
    });
    let stored = s.get_share(share.id()).unwrap().unwrap();
    assert!(ok >= 1);
    assert_eq!(stored.counters().preview, u64::try_from(ok).unwrap());
    assert_eq!(stored.version(), 1 + u64::try_from(ok).unwrap());
}

/// 8 threads × 50 token issues recorded against an access quota of 89:
/// exactly 89 are recorded and the share counts 89 accesses.
pub fn race_record_access_exactly_quota(s: &dyn Storage) {
    let share = ShareFixture::new(1).build();
    assert_eq!(
        s.insert_share(&share, None).unwrap(),
        InsertOutcome::Inserted
    );
    let c = charge(0, QuotaKind::Access, 0, 89);
    let client = crate::fixtures::client(0);
    let ok = race(|_| {
        let record = AccessRecord {
            share_id: share.id(),
            expected_epoch: 0,
            client: &client,
            charge: Some(&c),
        };
        let mut charge_it = |throttle| AccessUpdate {
            throttle,
            charge_quota: true,
        };
        match s
            .record_access(&record, &mut charge_it)
            .expect("record_access")
        {
            AccessOutcome::Recorded(_) => true,
            AccessOutcome::QuotaExhausted { .. } => false,
            other => panic!("unexpected {other:?}"),
        }
    });
    assert_eq!(ok, 89);
    assert_eq!(s.quota_used(&c.key).unwrap(), 89);
    assert_eq!(
        s.get_share(share.id()).unwrap().unwrap().counters().access,
        89
    );
}
