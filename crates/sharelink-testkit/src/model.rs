//! Model-based property test: random operation sequences applied to a
//! backend and to [`MemoryStorage`] (the reference) must give the same
//! results, step by step.
//!
//! Key spaces and times are kept small so that id collisions, quota limits,
//! use limits, version conflicts, creation-time ties and purges all happen.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use sharelink_core::share::ShareUpdate;
use sharelink_core::throttle::{self, ThrottlePolicy, ThrottleState};
use sharelink_core::*;

use crate::fixtures::{ShareFixture, at, charge, client, list_every_page, member, share_id};

/// One step of a sequence.
#[derive(Debug, Clone)]
pub enum Op {
    /// Insert a fixture share, optionally charging a creation quota.
    Insert {
        /// The fixture.
        fixture: (u32, u32, u32, i64, Option<i64>, u64),
        /// Charge with this limit.
        charge_limit: Option<u32>,
    },
    /// Read a share.
    Get(u32),
    /// Cancel (a transition computed from the reference's current state).
    Cancel {
        /// Share number.
        id: u32,
        /// Use an outdated expected version.
        stale: bool,
    },
    /// Rename.
    Rename {
        /// Share number.
        id: u32,
        /// Use an outdated expected version.
        stale: bool,
    },
    /// Count a use.
    CountUse {
        /// Share number.
        id: u32,
        /// Which counter.
        kind: UseKind,
        /// Expected epoch.
        epoch: u64,
    },
    /// Give a use back.
    RefundUse {
        /// Share number.
        id: u32,
        /// Which counter.
        kind: UseKind,
    },
    /// Consume a quota unit.
    Consume {
        /// Tenant number.
        tenant: u32,
        /// Create or access.
        kind: QuotaKind,
        /// Day offset.
        day: u32,
        /// Limit.
        limit: u32,
    },
    /// Admit a throttled attempt at a time, or settle it as a success.
    Throttle {
        /// Share number.
        id: u32,
        /// Client number.
        client: u32,
        /// Seconds after t0.
        at: i64,
        /// Settle as success instead of admitting.
        settle: bool,
    },
    /// Page through a creator's list.
    List {
        /// Tenant number.
        tenant: u32,
        /// Creator number.
        creator: u32,
        /// Include cancelled shares.
        include_cancelled: bool,
        /// Page size.
        limit: usize,
        /// The order: a [`ShareOrderBy::ALL`] index and a direction.
        order: (usize, bool),
    },
    /// Record a token issue, optionally settling a client; the quota is
    /// charged once per client and day.
    RecordAccess {
        /// Share number.
        id: u32,
        /// Expected epoch.
        epoch: u64,
        /// Client number.
        client: u32,
        /// Charge the access quota with this limit.
        charge_limit: Option<u32>,
        /// Settle the client's throttle as a success.
        settle: bool,
    },
    /// Insert a batch of fixture shares against one creation quota.
    InsertBatch {
        /// Share numbers.
        ids: Vec<u32>,
        /// The quota limit.
        limit: u32,
    },
    /// Count a batch of uses.
    CountBatch(Vec<(u32, UseKind, u64)>),
    /// Purge with a cutoff (seconds after t0) and a quota day.
    Purge {
        /// Seconds after t0.
        cutoff: i64,
        /// Quota days before this offset are deleted.
        day: u32,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0u32..6;
    prop_oneof![
        4 => ((id.clone(), 0u32..2, 0u32..2, 0i64..3, prop::option::of(1i64..4), 0u64..3), prop::option::of(0u32..4))
            .prop_map(|((i, t, c, cr, ex, dl), charge_limit)| Op::Insert {
                fixture: (i, t, c, cr * 10, ex.map(|e| cr * 10 + e * 100), dl),
                charge_limit,
            }),
        1 => id.clone().prop_map(Op::Get),
        1 => (id.clone(), any::<bool>()).prop_map(|(id, stale)| Op::Cancel { id, stale }),
        1 => (id.clone(), any::<bool>()).prop_map(|(id, stale)| Op::Rename { id, stale }),
        3 => (id.clone(), prop::sample::select(UseKind::ALL.to_vec()), 0u64..2)
            .prop_map(|(id, kind, epoch)| Op::CountUse { id, kind, epoch }),
        1 => (id.clone(), prop::sample::select(UseKind::ALL.to_vec()))
            .prop_map(|(id, kind)| Op::RefundUse { id, kind }),
        2 => (0u32..2, prop::sample::select(vec![QuotaKind::Create, QuotaKind::Access]), 0u32..3, 0u32..4)
            .prop_map(|(tenant, kind, day, limit)| Op::Consume { tenant, kind, day, limit }),
        2 => (id.clone(), 0u32..3, 0i64..8000, any::<bool>())
            .prop_map(|(id, client, at, settle)| Op::Throttle { id, client, at, settle }),
        2 => (0u32..2, 0u32..2, any::<bool>(), 1usize..4, (0usize..4, any::<bool>()))
            .prop_map(|(tenant, creator, include_cancelled, limit, order)| Op::List { tenant, creator, include_cancelled, limit, order }),
        1 => (0i64..600, 0u32..3).prop_map(|(cutoff, day)| Op::Purge { cutoff, day }),
        2 => (id.clone(), 0u64..2, 0u32..3, prop::option::of(0u32..4), any::<bool>())
            .prop_map(|(id, epoch, client, charge_limit, settle)| Op::RecordAccess { id, epoch, client, charge_limit, settle }),
        1 => (prop::collection::vec(id.clone(), 0..5), 0u32..5)
            .prop_map(|(ids, limit)| Op::InsertBatch { ids, limit }),
        1 => prop::collection::vec((id.clone(), prop::sample::select(UseKind::ALL.to_vec()), 0u64..2), 0..5)
            .prop_map(Op::CountBatch),
    ]
}

fn fixture(f: (u32, u32, u32, i64, Option<i64>, u64)) -> Share {
    let (id, t, c, created, expires, dl) = f;
    ShareFixture {
        id,
        tenant: t,
        creator: c,
        created,
        expires,
        download_limit: dl,
        password: None,
    }
    .build()
}

/// The result of one step, in a comparable form.
fn apply(s: &dyn Storage, reference: &dyn Storage, op: &Op) -> String {
    let ok = |r: Result<String, StorageError>| r.unwrap_or_else(|e| panic!("backend error: {e}"));
    match op {
        Op::Insert {
            fixture: f,
            charge_limit,
        } => {
            let share = fixture(*f);
            let c = charge_limit.map(|l| charge(f.1, QuotaKind::Create, 0, l));
            ok(s.insert_share(&share, c.as_ref()).map(|o| format!("{o:?}")))
        }
        Op::Get(id) => ok(s.get_share(&share_id(*id)).map(|o| format!("{o:?}"))),
        Op::Cancel { id, stale } | Op::Rename { id, stale } => {
            let current = reference
                .get_share(&share_id(*id))
                .expect("reference")
                .unwrap_or_else(|| fixture((*id, 0, 0, 0, None, 0)));
            let expected = current.version() - u64::from(*stale);
            let next = match op {
                Op::Cancel { .. } => current.cancel(at(700)),
                _ => current.update(
                    ShareUpdate {
                        name: Some(ShareName::new(format!("renamed {}", id % 3)).expect("valid")),
                        ..Default::default()
                    },
                    at(700),
                ),
            };
            match next {
                Ok(next) => ok(s.update_share(&next, expected).map(|o| format!("{o:?}"))),
                Err(e) => format!("transition refused: {e}"),
            }
        }
        Op::CountUse { id, kind, epoch } => ok(s
            .count_use(&share_id(*id), *kind, *epoch)
            .map(|o| format!("{o:?}"))),
        Op::RefundUse { id, kind } => ok(s
            .refund_use(&share_id(*id), *kind)
            .map(|o| format!("{o:?}"))),
        Op::Consume {
            tenant: t,
            kind,
            day,
            limit,
        } => ok(s
            .consume_quota(&charge(*t, *kind, *day, *limit))
            .map(|o| format!("{o:?}"))),
        Op::Throttle {
            id,
            client: c,
            at: t,
            settle,
        } => {
            let now = at(*t);
            let settle = *settle;
            ok(s.update_throttle(&share_id(*id), &client(*c), &mut |st| {
                if settle {
                    crate::fixtures::succeeded(st, now).throttle
                } else {
                    crate::fixtures::admitted(st, now)
                }
            })
            .map(|o| format!("{o:?}")))
        }
        Op::List {
            tenant: t,
            creator,
            include_cancelled,
            limit,
            order: (by, descending),
        } => {
            let query = ShareListQuery {
                filter: if *include_cancelled {
                    ShareFilter::default()
                } else {
                    ShareFilter::enabled_only()
                },
                order: ShareOrder {
                    by: ShareOrderBy::ALL[*by % ShareOrderBy::ALL.len()],
                    descending: *descending,
                },
                page: PageRequest {
                    limit: *limit,
                    ..PageRequest::default()
                },
            };
            format!("{:?}", list_every_page(s, &member(*t, *creator), &query))
        }
        Op::RecordAccess {
            id,
            epoch,
            client: c,
            charge_limit,
            settle,
        } => {
            let sid = share_id(*id);
            let key = client(*c);
            let ch = charge_limit.map(|l| charge(0, QuotaKind::Access, 0, l));
            let record = AccessRecord {
                share_id: &sid,
                expected_epoch: *epoch,
                client: &key,
                charge: ch.as_ref(),
            };
            // Settle (or not), then charge once per client and day.
            let settle = *settle;
            let day = crate::fixtures::t0().date_naive();
            let mut apply = |st: ThrottleState| {
                let st = if settle {
                    crate::fixtures::succeeded(st, crate::fixtures::t0()).throttle
                } else {
                    st
                };
                let (throttle, charge_quota) = throttle::note_access(st, day);
                AccessUpdate {
                    throttle,
                    charge_quota,
                }
            };
            let out = ok(s
                .record_access(&record, &mut apply)
                .map(|o| format!("{o:?}")));
            // Make the throttle effect visible to the comparison.
            let st = ok(s
                .update_throttle(&sid, &key, &mut |st| st)
                .map(|o| format!("{o:?}")));
            format!("{out} / {st}")
        }
        Op::InsertBatch { ids, limit } => {
            let c = charge(0, QuotaKind::Create, 1, *limit);
            let batch: Vec<(Share, Option<QuotaCharge>)> = ids
                .iter()
                .map(|i| (fixture((*i, 0, 0, 0, None, 1)), Some(c.clone())))
                .collect();
            ok(s.insert_shares(&batch).map(|o| format!("{o:?}")))
        }
        Op::CountBatch(items) => {
            let batch: Vec<(ShareId, UseKind, u64)> = items
                .iter()
                .map(|(i, k, e)| (share_id(*i), *k, *e))
                .collect();
            ok(s.count_uses(&batch).map(|o| format!("{o:?}")))
        }
        Op::Purge { cutoff, day } => {
            let req = PurgeRequest {
                shares_before: at(*cutoff),
                quota_days_before: charge(0, QuotaKind::Create, *day, 0).key.day,
                throttle_policy: ThrottlePolicy::default(),
                now: at(4000),
            };
            ok(s.purge(&req).map(|o| format!("{o:?}")))
        }
    }
}

/// Runs `cases` random sequences against fresh backends from `build`,
/// comparing every step with [`MemoryStorage`].
pub fn model_matches_memory<S: Storage, G>(build: &dyn Fn() -> (S, G), cases: u32) {
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(), 1..40), |ops| {
        let (backend, _guard) = build();
        let reference = MemoryStorage::new();
        for (step, op) in ops.iter().enumerate() {
            // Transitions are computed from the reference *before* it applies
            // the step, so both stores get the same input.
            let got = apply(&backend, &reference, op);
            let want = apply(&reference, &reference, op);
            if got != want {
                return Err(TestCaseError::fail(format!(
                    "step {step} {op:?}:\n backend:   {got}\n reference: {want}"
                )));
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("backend diverged from MemoryStorage: {e}");
    }
}
