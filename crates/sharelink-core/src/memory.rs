//! [`MemoryStorage`]: the reference [`Storage`] implementation.
//!
//! Everything lives in one mutex-guarded set of `BTreeMap`s, so every method
//! is trivially atomic. Nothing is durable: the data dies with the process.
//! Use it in tests, and as the model other backends are checked against.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::fault::{FaultInjector, NoFaults};
use crate::fields::{ClientKey, TenantId, UserId};
use crate::id::ShareId;
use crate::listing::{ShareListQuery, ShareOrderBy, SharePage, SortKey, page_from_ordered};
use crate::quota::{self, QuotaKey};
use crate::share::{Member, Share, ShareError, UseKind};
use crate::storage::{
    AccessOutcome, AccessRecord, AccessUpdate, InsertOutcome, PurgeReport, PurgeRequest,
    QuotaCharge, QuotaOutcome, Storage, StorageError, UpdateOutcome, UseCount, UseOutcome,
    share_is_purgeable,
};
use crate::throttle::{self, ClientThrottle, ShareThrottle, ThrottleState};

/// One creator's shares, ordered by each [`ShareOrderBy`]: the index every
/// listing is served from.
type CreatorIndex = BTreeMap<ShareOrderBy, BTreeSet<(SortKey, ShareId)>>;

#[derive(Default)]
struct Inner {
    shares: BTreeMap<ShareId, Share>,
    by_creator: BTreeMap<(TenantId, UserId), CreatorIndex>,
    quota: BTreeMap<QuotaKey, u32>,
    share_throttle: BTreeMap<ShareId, ShareThrottle>,
    client_throttle: BTreeMap<(ShareId, ClientKey), ClientThrottle>,
}

/// An in-process, non-durable store.
pub struct MemoryStorage {
    inner: Mutex<Inner>,
    faults: Arc<dyn FaultInjector>,
}

impl Default for MemoryStorage {
    fn default() -> Self {
        Self {
            inner: Mutex::default(),
            faults: Arc::new(NoFaults),
        }
    }
}

impl std::fmt::Debug for MemoryStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = self.lock();
        f.debug_struct("MemoryStorage")
            .field("shares", &inner.shares.len())
            .field("quota_counters", &inner.quota.len())
            .finish()
    }
}

impl MemoryStorage {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store that consults `faults` between the steps of each
    /// multi-part write (for atomicity tests).
    pub fn with_fault_injector(faults: Arc<dyn FaultInjector>) -> Self {
        Self {
            inner: Mutex::default(),
            faults,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied change:
        // every method computes first and mutates last.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn index_mut(&mut self, share: &Share) -> &mut CreatorIndex {
        self.by_creator
            .entry((share.tenant().clone(), share.creator().user_id.clone()))
            .or_default()
    }

    fn index(&mut self, share: &Share) {
        let index = self.index_mut(share);
        for by in ShareOrderBy::ALL {
            index
                .entry(by)
                .or_default()
                .insert((by.key_of(share), share.id().clone()));
        }
    }

    fn unindex(&mut self, share: &Share) {
        let index = self.index_mut(share);
        for by in ShareOrderBy::ALL {
            if let Some(keys) = index.get_mut(&by) {
                keys.remove(&(by.key_of(share), share.id().clone()));
            }
        }
    }
}

impl Storage for MemoryStorage {
    fn reads_are_local(&self) -> bool {
        true
    }
    fn insert_share(
        &self,
        share: &Share,
        charge: Option<&QuotaCharge>,
    ) -> Result<InsertOutcome, StorageError> {
        let mut inner = self.lock();
        if inner.shares.contains_key(share.id()) {
            return Ok(InsertOutcome::IdTaken);
        }
        // Stage every change, pass the fault points, then apply: a fault
        // leaves nothing behind.
        let mut new_quota = None;
        if let Some(c) = charge {
            let used = inner.quota.get(&c.key).copied().unwrap_or(0);
            match quota::consume(used, c.limit) {
                Some(n) => new_quota = Some((c.key.clone(), n)),
                None => return Ok(InsertOutcome::QuotaExhausted { used }),
            }
        }
        self.faults.check("insert_share:after_share")?;
        self.faults.check("insert_share:after_quota")?;
        if let Some((key, n)) = new_quota {
            inner.quota.insert(key, n);
        }
        inner.index(share);
        inner.shares.insert(share.id().clone(), share.clone());
        Ok(InsertOutcome::Inserted)
    }

    fn get_share(&self, id: &ShareId) -> Result<Option<Share>, StorageError> {
        Ok(self.lock().shares.get(id).cloned())
    }

    fn update_share(
        &self,
        share: &Share,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StorageError> {
        let mut inner = self.lock();
        let Some(current) = inner.shares.get(share.id()).cloned() else {
            return Ok(UpdateOutcome::NotFound);
        };
        if current.version() != expected_version {
            return Ok(UpdateOutcome::Conflict {
                current_version: current.version(),
            });
        }
        inner.unindex(&current);
        inner.index(share);
        inner.shares.insert(share.id().clone(), share.clone());
        Ok(UpdateOutcome::Updated)
    }

    fn list_shares(
        &self,
        owner: &Member,
        query: &ShareListQuery,
    ) -> Result<SharePage, StorageError> {
        use std::ops::Bound;
        let inner = self.lock();
        let empty = BTreeSet::new();
        let keys = inner
            .by_creator
            .get(&(owner.tenant.clone(), owner.user_id.clone()))
            .and_then(|index| index.get(&query.order.by))
            .unwrap_or(&empty);
        let cursor = query
            .page
            .after
            .as_ref()
            .map(|c| (c.key.clone(), c.share_id.clone()));
        let descending = query.order.descending;
        let range = match (&cursor, descending) {
            (None, _) => keys.range::<(SortKey, ShareId), _>(..),
            (Some(c), false) => keys.range((Bound::Excluded(c), Bound::Unbounded)),
            (Some(c), true) => keys.range((Bound::Unbounded, Bound::Excluded(c))),
        };
        let ids: Box<dyn Iterator<Item = &(SortKey, ShareId)>> = if descending {
            Box::new(range.rev())
        } else {
            Box::new(range)
        };
        let shares = ids.filter_map(|(_, id)| inner.shares.get(id).cloned().map(Ok));
        page_from_ordered(shares, query)
    }

    fn consume_quota(&self, charge: &QuotaCharge) -> Result<QuotaOutcome, StorageError> {
        let mut inner = self.lock();
        let used = inner.quota.get(&charge.key).copied().unwrap_or(0);
        Ok(match quota::consume(used, charge.limit) {
            Some(n) => {
                inner.quota.insert(charge.key.clone(), n);
                QuotaOutcome::Consumed { used: n }
            }
            None => QuotaOutcome::Exhausted { used },
        })
    }

    fn quota_used(&self, key: &QuotaKey) -> Result<u32, StorageError> {
        Ok(self.lock().quota.get(key).copied().unwrap_or(0))
    }

    fn count_use(
        &self,
        id: &ShareId,
        kind: UseKind,
        expected_epoch: u64,
    ) -> Result<UseOutcome, StorageError> {
        let mut inner = self.lock();
        let Some(current) = inner.shares.get_mut(id) else {
            return Ok(UseOutcome::NotFound);
        };
        if current.token_epoch() != expected_epoch {
            return Ok(UseOutcome::EpochMoved);
        }
        match current.clone().count_use(kind) {
            Ok(next) => {
                *current = next.clone();
                Ok(UseOutcome::Counted(UseCount::from(&next)))
            }
            Err(ShareError::LimitReached { limit, .. }) => Ok(UseOutcome::LimitReached { limit }),
            Err(e) => Err(StorageError::Corrupt {
                what: format!("share {id}"),
                reason: e.to_string(),
            }),
        }
    }

    fn refund_use(&self, id: &ShareId, kind: UseKind) -> Result<Option<UseCount>, StorageError> {
        let mut inner = self.lock();
        let Some(current) = inner.shares.get_mut(id) else {
            return Ok(None);
        };
        let next = current.clone().refund_use(kind);
        *current = next.clone();
        Ok(Some(UseCount::from(&next)))
    }

    fn update_throttle(
        &self,
        share: &ShareId,
        client: &ClientKey,
        apply: &mut dyn FnMut(ThrottleState) -> ThrottleState,
    ) -> Result<ThrottleState, StorageError> {
        let mut inner = self.lock();
        let key = (share.clone(), client.clone());
        let current = ThrottleState {
            share: inner.share_throttle.get(share).copied().unwrap_or_default(),
            client: inner.client_throttle.get(&key).copied().unwrap_or_default(),
        };
        let next = apply(current);
        self.faults.check("update_throttle:after_share_part")?;
        inner.share_throttle.insert(share.clone(), next.share);
        inner.client_throttle.insert(key, next.client);
        Ok(next)
    }

    fn record_access(
        &self,
        access: &AccessRecord<'_>,
        apply: &mut dyn FnMut(ThrottleState) -> AccessUpdate,
    ) -> Result<AccessOutcome, StorageError> {
        let mut inner = self.lock();
        let Some(current) = inner.shares.get(access.share_id) else {
            return Ok(AccessOutcome::NotFound);
        };
        if current.token_epoch() != access.expected_epoch {
            return Ok(AccessOutcome::EpochMoved);
        }
        let counted =
            current
                .clone()
                .count_use(UseKind::Access)
                .map_err(|e| StorageError::Corrupt {
                    what: format!("share {}", access.share_id),
                    reason: e.to_string(),
                })?;
        let key = (access.share_id.clone(), access.client.clone());
        let update = apply(ThrottleState {
            share: inner
                .share_throttle
                .get(access.share_id)
                .copied()
                .unwrap_or_default(),
            client: inner.client_throttle.get(&key).copied().unwrap_or_default(),
        });
        let mut new_quota = None;
        if let (Some(c), true) = (access.charge, update.charge_quota) {
            let used = inner.quota.get(&c.key).copied().unwrap_or(0);
            match quota::consume(used, c.limit) {
                Some(n) => new_quota = Some((c.key.clone(), n)),
                None => return Ok(AccessOutcome::QuotaExhausted { used }),
            }
        }
        self.faults.check("record_access:after_throttle")?;
        self.faults.check("record_access:after_quota")?;
        inner
            .share_throttle
            .insert(access.share_id.clone(), update.throttle.share);
        inner.client_throttle.insert(key, update.throttle.client);
        if let Some((k, n)) = new_quota {
            inner.quota.insert(k, n);
        }
        inner
            .shares
            .insert(access.share_id.clone(), counted.clone());
        Ok(AccessOutcome::Recorded(UseCount::from(&counted)))
    }

    fn purge(&self, request: &PurgeRequest) -> Result<PurgeReport, StorageError> {
        let mut inner = self.lock();
        let mut report = PurgeReport::default();
        let doomed: Vec<Share> = inner
            .shares
            .values()
            .filter(|s| share_is_purgeable(s, request.shares_before))
            .cloned()
            .collect();
        for share in &doomed {
            inner.shares.remove(share.id());
            inner.unindex(share);
            if inner.share_throttle.remove(share.id()).is_some() {
                report.throttle_records += 1;
            }
            report.shares += 1;
        }
        let before = inner.client_throttle.len();
        inner
            .client_throttle
            .retain(|(id, _), _| !doomed.iter().any(|s| s.id() == id));
        report.throttle_records += before - inner.client_throttle.len();

        let before = inner.quota.len();
        inner
            .quota
            .retain(|k, _| k.day >= request.quota_days_before);
        report.quota_counters = before - inner.quota.len();

        // Throttle records are stale when neither half carries information.
        let Inner {
            share_throttle,
            client_throttle,
            ..
        } = &mut *inner;
        let before = client_throttle.len() + share_throttle.len();
        let policy = request.throttle_policy;
        client_throttle.retain(|_, c| {
            let state = ThrottleState {
                share: ShareThrottle::default(),
                client: *c,
            };
            !throttle::is_stale(&state, &policy, request.now)
        });
        share_throttle.retain(|_, s| {
            let state = ThrottleState {
                share: *s,
                client: ClientThrottle::default(),
            };
            !throttle::is_stale(&state, &policy, request.now)
        });
        report.throttle_records += before - (client_throttle.len() + share_throttle.len());
        Ok(report)
    }
}
