//! Fault injection: a [`FaultInjector`] that fails the Nth check inside a
//! backend, and a [`FailingStorage`] wrapper that fails the Nth write call.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use sharelink_core::fault::injected;
use sharelink_core::throttle::ThrottleState;
use sharelink_core::*;

use crate::fixtures::{ShareFixture, charge, client, share_id, t0};

/// Fails the `n`th check (1-based), once; every other check passes.
#[derive(Debug)]
pub struct FailNth {
    n: usize,
    seen: AtomicUsize,
}

impl FailNth {
    /// Fails the `n`th check.
    pub fn new(n: usize) -> Self {
        Self {
            n,
            seen: AtomicUsize::new(0),
        }
    }

    /// How many checks the backend has made so far.
    pub fn checks(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }
}

impl FaultInjector for FailNth {
    fn check(&self, point: &'static str) -> Result<(), StorageError> {
        if self.seen.fetch_add(1, Ordering::SeqCst) + 1 == self.n {
            Err(injected(point))
        } else {
            Ok(())
        }
    }
}

/// The multi-part writes of a backend, each failed at every internal fault
/// point in turn: a failed call must leave nothing half-written.
///
/// - `insert_share` with a charge: either the share *and* its charge are
///   stored, or neither.
/// - `update_throttle`: either both the share part and the client part
///   change, or neither.
pub fn faults_leave_nothing_half_written<S: Storage, G>(
    build: &dyn Fn(Arc<dyn FaultInjector>) -> (S, G),
) {
    let mut injected_any = false;
    for n in 1..=40 {
        let faults = Arc::new(FailNth::new(n));
        let (s, _guard) = build(faults.clone());
        let c = charge(0, QuotaKind::Create, 0, 100);
        let mut stored = 0u32;
        let mut failed = false;
        for i in 0..4 {
            let share = ShareFixture::new(i).build();
            match s.insert_share(&share, Some(&c)) {
                Ok(InsertOutcome::Inserted) => {
                    stored += 1;
                    assert!(s.get_share(share.id()).unwrap().is_some());
                }
                Ok(other) => panic!("unexpected {other:?}"),
                Err(_) => {
                    failed = true;
                    assert_eq!(
                        s.get_share(share.id()).unwrap(),
                        None,
                        "fault {n}: a failed insert left its share behind"
                    );
                }
            }
            assert_eq!(
                s.quota_used(&c.key).unwrap(),
                stored,
                "fault {n}: the quota charge and the stored shares disagree"
            );
        }
        let before = s.update_throttle(&share_id(0), &client(0), &mut |st| st);
        let before = match before {
            Ok(b) => b,
            Err(_) => {
                failed = true;
                ThrottleState::default()
            }
        };
        let admit = &mut |st: ThrottleState| crate::fixtures::admitted(st, t0());
        match s.update_throttle(&share_id(0), &client(0), admit) {
            Ok(after) => assert_eq!(after.share.in_flight, before.share.in_flight + 1),
            Err(_) => {
                failed = true;
                let now = s
                    .update_throttle(&share_id(0), &client(0), &mut |st| st)
                    .unwrap();
                assert_eq!(
                    now, before,
                    "fault {n}: a failed throttle update was half-applied"
                );
            }
        }
        assert_eq!(
            failed,
            n <= faults.checks(),
            "fault {n}: injected iff reached"
        );
        injected_any |= failed;
    }
    assert!(
        injected_any,
        "the backend never consulted its fault injector"
    );
}

/// Wraps a [`Storage`] and fails the `n`th write call (insert, update,
/// consume, count, throttle update, purge) before it reaches the store.
pub struct FailingStorage<S> {
    inner: S,
    fail_at: usize,
    writes: AtomicUsize,
}

impl<S: Storage> FailingStorage<S> {
    /// Fails the `n`th write (1-based).
    pub fn new(inner: S, n: usize) -> Self {
        Self {
            inner,
            fail_at: n,
            writes: AtomicUsize::new(0),
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    fn write(&self, what: &'static str) -> Result<(), StorageError> {
        if self.writes.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            Err(injected(what))
        } else {
            Ok(())
        }
    }
}

impl<S: Storage> Storage for FailingStorage<S> {
    fn insert_share(
        &self,
        share: &Share,
        charge: Option<&QuotaCharge>,
    ) -> Result<InsertOutcome, StorageError> {
        self.write("insert_share")?;
        self.inner.insert_share(share, charge)
    }
    fn get_share(&self, id: &ShareId) -> Result<Option<Share>, StorageError> {
        self.inner.get_share(id)
    }
    fn update_share(
        &self,
        share: &Share,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StorageError> {
        self.write("update_share")?;
        self.inner.update_share(share, expected_version)
    }
    fn list_shares(
        &self,
        owner: &Member,
        query: &ShareListQuery,
    ) -> Result<SharePage, StorageError> {
        self.inner.list_shares(owner, query)
    }
    fn consume_quota(&self, charge: &QuotaCharge) -> Result<QuotaOutcome, StorageError> {
        self.write("consume_quota")?;
        self.inner.consume_quota(charge)
    }
    fn quota_used(&self, key: &QuotaKey) -> Result<u32, StorageError> {
        self.inner.quota_used(key)
    }
    fn count_use(
        &self,
        id: &ShareId,
        kind: UseKind,
        expected_epoch: u64,
    ) -> Result<UseOutcome, StorageError> {
        self.write("count_use")?;
        self.inner.count_use(id, kind, expected_epoch)
    }
    fn refund_use(&self, id: &ShareId, kind: UseKind) -> Result<Option<UseCount>, StorageError> {
        self.write("refund_use")?;
        self.inner.refund_use(id, kind)
    }
    fn update_throttle(
        &self,
        share: &ShareId,
        client: &ClientKey,
        apply: &mut dyn FnMut(ThrottleState) -> ThrottleState,
    ) -> Result<ThrottleState, StorageError> {
        self.write("update_throttle")?;
        self.inner.update_throttle(share, client, apply)
    }
    fn record_access(
        &self,
        access: &AccessRecord<'_>,
        apply: &mut dyn FnMut(ThrottleState) -> AccessUpdate,
    ) -> Result<AccessOutcome, StorageError> {
        self.write("record_access")?;
        self.inner.record_access(access, apply)
    }
    fn purge(&self, request: &PurgeRequest) -> Result<PurgeReport, StorageError> {
        self.write("purge")?;
        self.inner.purge(request)
    }
    fn insert_shares(
        &self,
        batch: &[(Share, Option<QuotaCharge>)],
    ) -> Result<Vec<InsertOutcome>, StorageError> {
        self.write("insert_shares")?;
        self.inner.insert_shares(batch)
    }
    fn count_uses(
        &self,
        batch: &[(ShareId, UseKind, u64)],
    ) -> Result<Vec<UseOutcome>, StorageError> {
        self.write("count_uses")?;
        self.inner.count_uses(batch)
    }
}
