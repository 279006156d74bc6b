//! [`SledStorage`]: the [`Storage`] implementation.

use std::path::Path;
use std::sync::Arc;

use sharelink_core::fault::{FaultInjector, NoFaults};
use sharelink_core::listing::{ShareListQuery, SharePage, page_from_ordered};
use sharelink_core::quota;
use sharelink_core::share::{MAX_COUNT, ShareRecord};
use sharelink_core::storage::share_is_purgeable;
use sharelink_core::throttle::{self, ClientThrottle, ShareThrottle, ThrottleState};
use sharelink_core::{
    AccessItem, AccessOutcome, AccessRecord, AccessUpdate, ClientKey, InsertOutcome, Member,
    PurgeReport, PurgeRequest, QuotaCharge, QuotaKey, QuotaOutcome, Share, ShareId, Storage,
    StorageError, UpdateOutcome, UseCount, UseKind, UseOutcome,
};
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionResult, Transactional,
    TransactionalTree,
};
use sled::{Db, Tree};

use crate::codec::{self, Counts, STORE_FORMAT};

/// Options for [`SledStorage::open`].
#[derive(Debug, Clone)]
pub struct SledOptions {
    /// Flush (fsync) before acknowledging every write (default `true`).
    pub flush_every_write: bool,
    /// sled's page cache, in bytes (default 64 MiB).
    pub cache_capacity: u64,
}

impl Default for SledOptions {
    fn default() -> Self {
        Self {
            flush_every_write: true,
            cache_capacity: 64 * 1024 * 1024,
        }
    }
}

/// How long [`SledStorage::open`] waits for the directory lock that a
/// just-dropped store of the same process may still hold.
pub const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// A [`Storage`] in a sled database directory.
pub struct SledStorage {
    db: Db,
    shares: Tree,
    counters: Tree,
    index: Tree,
    quota: Tree,
    throttle_share: Tree,
    throttle_client: Tree,
    flush: bool,
    faults: Arc<dyn FaultInjector>,
}

impl std::fmt::Debug for SledStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SledStorage")
            .field("shares", &self.shares.len())
            .field("flush_every_write", &self.flush)
            .finish_non_exhaustive()
    }
}

fn sled_err(what: &'static str) -> impl FnOnce(sled::Error) -> StorageError {
    move |e| StorageError::backend(format!("sled: {what}"), e)
}

type TxResult<T> = Result<T, ConflictableTransactionError<StorageError>>;

fn abort<T>(r: Result<T, StorageError>) -> TxResult<T> {
    r.map_err(ConflictableTransactionError::Abort)
}

fn finish<T>(r: TransactionResult<T, StorageError>) -> Result<T, StorageError> {
    match r {
        Ok(v) => Ok(v),
        Err(TransactionError::Abort(e)) => Err(e),
        Err(TransactionError::Storage(e)) => Err(StorageError::backend("sled: transaction", e)),
    }
}

fn share_what(id: &str) -> impl Fn() -> String + '_ {
    move || format!("share {id}")
}

/// Decodes a stored share value (`[version] ++ share record body`) as read
/// from the `shares` tree under key `id`, with zero counters at version 1.
/// Never panics; exposed for fuzzing.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn decode_stored_share(id: &str, bytes: &[u8]) -> Result<Share, StorageError> {
    decode_share(id, bytes, sharelink_core::Counters::default(), 1)
}

/// Decodes a stored counter value (`[version] ++ be32`). Never panics;
/// exposed for fuzzing.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn decode_stored_u32(bytes: &[u8]) -> Result<u32, StorageError> {
    codec::decode_u32(|| "counter".into(), bytes)
}

/// A share from its stored value (`[version] ++ share record body`) and
/// the counters and version kept in the `counters` tree.
fn decode_share(
    id: &str,
    bytes: &[u8],
    counters: sharelink_core::Counters,
    version: u64,
) -> Result<Share, StorageError> {
    let body = codec::versioned_body(share_what(id), bytes)?;
    ShareRecord::decode_share(id, body, counters, version)
}

/// The stored value of a share: `[version] ++ share record body`.
fn encode_share(share: &Share) -> Result<Vec<u8>, StorageError> {
    Ok(codec::with_version(&ShareRecord::encode_share(share)?))
}

impl SledStorage {
    /// Opens (creating if needed) the store in directory `path`. Refuses a
    /// store written by a newer format.
    ///
    /// sled locks the directory while a database is open, and its
    /// background flusher can hold the lock for a moment after the last
    /// handle of a previous store is dropped; opening waits up to
    /// [`LOCK_WAIT`] for that before failing.
    pub fn open(path: impl AsRef<Path>, options: &SledOptions) -> Result<Self, StorageError> {
        let config = sled::Config::new()
            .path(path)
            .cache_capacity(options.cache_capacity);
        let started = std::time::Instant::now();
        let db = loop {
            match config.open() {
                Ok(db) => break db,
                Err(sled::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::Other
                        && e.to_string().contains("could not acquire lock")
                        && started.elapsed() < LOCK_WAIT =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => return Err(sled_err("open")(e)),
            }
        };
        Self::init(db, options)
    }

    /// A temporary store, deleted on drop (for tests and examples).
    pub fn open_temporary() -> Result<Self, StorageError> {
        let db = sled::Config::new()
            .temporary(true)
            .open()
            .map_err(sled_err("open temporary"))?;
        Self::init(db, &SledOptions::default())
    }

    fn init(db: Db, options: &SledOptions) -> Result<Self, StorageError> {
        let meta = db.open_tree("meta").map_err(sled_err("open meta"))?;
        let found = match meta.get("format").map_err(sled_err("read format"))? {
            Some(v) => Some(u32::from_be_bytes(v.as_ref().try_into().map_err(|_| {
                StorageError::Corrupt {
                    what: "store format marker".into(),
                    reason: format!("expected 4 bytes, found {}", v.len()),
                }
            })?)),
            None => None,
        };
        if let Some(found) = found.filter(|f| *f > STORE_FORMAT) {
            return Err(StorageError::IncompatibleFormat {
                found,
                supported: STORE_FORMAT,
            });
        }
        let tree = |name: &'static str| db.open_tree(name).map_err(sled_err("open tree"));
        let store = Self {
            shares: tree("shares")?,
            counters: tree("counters")?,
            index: tree("share_index")?,
            quota: tree("quota")?,
            throttle_share: tree("throttle_share")?,
            throttle_client: tree("throttle_client")?,
            flush: options.flush_every_write,
            faults: Arc::new(NoFaults),
            db,
        };
        if found != Some(STORE_FORMAT) {
            if found == Some(1) {
                store.build_share_index()?;
            }
            meta.insert("format", &STORE_FORMAT.to_be_bytes())
                .map_err(sled_err("write format"))?;
            store.db.flush().map_err(sled_err("flush"))?;
        }
        Ok(store)
    }

    /// Format 1 → 2: indexes every share under every sort key, then drops
    /// the old creation-time index. Runs at open, before anything else can
    /// use the store; if it is interrupted, the format stays 1 and the next
    /// open runs it again (inserting an index key twice is harmless).
    fn build_share_index(&self) -> Result<(), StorageError> {
        for entry in self.shares.iter() {
            let (key, value) = entry.map_err(sled_err("scan shares"))?;
            let id = String::from_utf8_lossy(&key).into_owned();
            let counts = self
                .counters
                .get(&key)
                .map_err(sled_err("get counters"))?
                .ok_or_else(|| StorageError::Corrupt {
                    what: format!("share {id}"),
                    reason: "its counters are missing".into(),
                })?;
            let c = Counts::decode(counts_what(&id), &counts)?;
            let share = decode_share(&id, &value, c.counters, c.version)?;
            for index_key in codec::index_keys(&share) {
                self.index
                    .insert(index_key, &[])
                    .map_err(sled_err("build share index"))?;
            }
        }
        self.db
            .drop_tree("shares_by_creator")
            .map_err(sled_err("drop the format-1 index"))?;
        Ok(())
    }

    /// Consults `faults` between the writes of multi-key transactions (for
    /// atomicity tests; production code never needs this).
    pub fn with_fault_injector(mut self, faults: Arc<dyn FaultInjector>) -> Self {
        self.faults = faults;
        self
    }

    /// The stored body of a share (the [`ShareRecord`] bytes, without this
    /// store's version prefix), or `None` if there is no such share.
    ///
    /// **For the testkit's golden stored-format case only** (see
    /// `sharelink_testkit::golden`).
    #[doc(hidden)]
    pub fn danger_raw_share_body(&self, id: &ShareId) -> Result<Option<Vec<u8>>, StorageError> {
        let Some(value) = self.share_value(id)? else {
            return Ok(None);
        };
        codec::versioned_body(share_what(id.as_str()), &value).map(|b| Some(b.to_vec()))
    }

    /// The stored value of a share, as it is in the `shares` tree.
    fn share_value(&self, id: &ShareId) -> Result<Option<sled::IVec>, StorageError> {
        self.shares.get(id.as_str()).map_err(sled_err("get share"))
    }

    /// Overwrites the stored body of a share with `body` (record bytes,
    /// without this store's version prefix), bypassing every check.
    ///
    /// **For the testkit's golden stored-format case only**: anything else
    /// that writes here can store a share no rule would allow.
    #[doc(hidden)]
    pub fn danger_overwrite_share_body(
        &self,
        id: &ShareId,
        body: &[u8],
    ) -> Result<(), StorageError> {
        self.shares
            .insert(id.as_str(), codec::with_version(body))
            .map_err(sled_err("overwrite share body"))?;
        self.durable(())
    }

    /// The underlying sled database, for this crate's tests only: writing
    /// to it directly would bypass every rule the store keeps.
    #[cfg(test)]
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Makes acknowledged writes durable, per the flush policy.
    /// The trees one token issue touches.
    fn access_trees(&self) -> (&Tree, &Tree, &Tree, &Tree) {
        (
            &self.counters,
            &self.quota,
            &self.throttle_share,
            &self.throttle_client,
        )
    }

    /// One token issue inside a transaction over [`Self::access_trees`].
    /// Checks in the reference order (share, epoch, quota) before writing
    /// anything, so that every refusal writes nothing.
    fn access_in(
        &self,
        (counts, quota, ts, tc): &(
            TransactionalTree,
            TransactionalTree,
            TransactionalTree,
            TransactionalTree,
        ),
        access: &AccessRecord<'_>,
        apply: &mut (dyn FnMut(ThrottleState) -> AccessUpdate + '_),
    ) -> TxResult<AccessOutcome> {
        let id = access.share_id.as_str();
        let ckey = codec::client_key(id, access.client.as_str());
        let Some(current) = counts.get(id)? else {
            return Ok(AccessOutcome::NotFound);
        };
        let c = abort(Counts::decode(counts_what(id), &current))?;
        if c.epoch != access.expected_epoch {
            return Ok(AccessOutcome::EpochMoved);
        }
        let update = apply(read_throttle_tx(ts, tc, id, &ckey)?);
        if let (Some(c), true) = (access.charge, update.charge_quota) {
            let k = codec::quota_key(&c.key);
            let used = match quota.get(&k)? {
                Some(v) => abort(codec::decode_u32(|| format!("quota {}", c.key.tenant), &v))?,
                None => 0,
            };
            match quota::consume(used, c.limit) {
                Some(n) => {
                    quota.insert(k.as_slice(), codec::encode_u32(n))?;
                }
                None => return Ok(AccessOutcome::QuotaExhausted { used }),
            }
        }
        let UseOutcome::Counted(count) =
            count_in(counts, id, UseKind::Access, access.expected_epoch)?
        else {
            return abort(Err(StorageError::Corrupt {
                what: format!("share {id}"),
                reason: "the access could not be counted".into(),
            }));
        };
        self.fault("record_access:after_quota")?;
        let next = update.throttle;
        ts.insert(id, abort(codec::encode(&next.share))?)?;
        self.fault("update_throttle:after_share_part")?;
        tc.insert(ckey.as_slice(), abort(codec::encode(&next.client))?)?;
        Ok(AccessOutcome::Recorded(count))
    }

    fn durable<T>(&self, value: T) -> Result<T, StorageError> {
        if self.flush {
            self.db.flush().map_err(sled_err("flush"))?;
        }
        Ok(value)
    }

    fn fault(&self, point: &'static str) -> TxResult<()> {
        abort(self.faults.check(point))
    }
}

/// An insert with its value and keys encoded outside the transaction.
struct PreparedInsert<'a> {
    share: &'a Share,
    value: Vec<u8>,
    index: Vec<Vec<u8>>,
    charge: Option<(&'a QuotaCharge, Vec<u8>)>,
}

impl<'a> PreparedInsert<'a> {
    fn new(share: &'a Share, charge: Option<&'a QuotaCharge>) -> Result<Self, StorageError> {
        Ok(Self {
            share,
            value: encode_share(share)?,
            index: codec::index_keys(share),
            charge: charge.map(|c| (c, codec::quota_key(&c.key))),
        })
    }
}

impl SledStorage {
    fn insert_in(
        &self,
        (shares, counts, idx, quota): (
            &TransactionalTree,
            &TransactionalTree,
            &TransactionalTree,
            &TransactionalTree,
        ),
        item: &PreparedInsert<'_>,
    ) -> TxResult<InsertOutcome> {
        let id = item.share.id().as_str().as_bytes();
        if shares.get(id)?.is_some() {
            return Ok(InsertOutcome::IdTaken);
        }
        let mut next_used = None;
        if let Some((c, k)) = &item.charge {
            let used = match quota.get(k)? {
                Some(v) => abort(codec::decode_u32(|| format!("quota {}", c.key.tenant), &v))?,
                None => 0,
            };
            match quota::consume(used, c.limit) {
                Some(n) => next_used = Some(n),
                None => return Ok(InsertOutcome::QuotaExhausted { used }),
            }
        }
        shares.insert(id, item.value.as_slice())?;
        counts.insert(id, &Counts::of(item.share).encode()[..])?;
        for key in &item.index {
            idx.insert(key.as_slice(), &[])?;
        }
        self.fault("insert_share:after_share")?;
        if let (Some(n), Some((_, k))) = (next_used, &item.charge) {
            quota.insert(k.as_slice(), codec::encode_u32(n))?;
        }
        self.fault("insert_share:after_quota")?;
        Ok(InsertOutcome::Inserted)
    }
}

fn counts_what(id: &str) -> impl Fn() -> String + '_ {
    move || format!("counters of share {id}")
}

/// `count_use` on the counters tree: fixed-width integers, no JSON.
fn count_in(
    counts: &TransactionalTree,
    key: &str,
    kind: UseKind,
    expected_epoch: u64,
) -> TxResult<UseOutcome> {
    let Some(current) = counts.get(key)? else {
        return Ok(UseOutcome::NotFound);
    };
    let mut c = abort(Counts::decode(counts_what(key), &current))?;
    if c.epoch != expected_epoch {
        return Ok(UseOutcome::EpochMoved);
    }
    let limit = c.limits.of(kind);
    let slot = match kind {
        UseKind::Access => &mut c.counters.access,
        UseKind::Preview => &mut c.counters.preview,
        UseKind::Download => &mut c.counters.download,
        UseKind::Save => &mut c.counters.save,
    };
    if let Some(limit) = limit.filter(|l| *slot >= l.get()) {
        return Ok(UseOutcome::LimitReached { limit: limit.get() });
    }
    // A counter never passes MAX_COUNT: limited uses stop, accesses saturate.
    if *slot >= MAX_COUNT && kind != UseKind::Access {
        return Ok(UseOutcome::LimitReached { limit: MAX_COUNT });
    }
    *slot = (*slot + 1).min(MAX_COUNT);
    c.version += 1;
    counts.insert(key, &c.encode()[..])?;
    Ok(UseOutcome::Counted(UseCount {
        counters: c.counters,
        version: c.version,
    }))
}

/// `refund_use` on the counters tree.
fn refund_in(counts: &TransactionalTree, key: &str, kind: UseKind) -> TxResult<Option<UseCount>> {
    let Some(current) = counts.get(key)? else {
        return Ok(None);
    };
    let mut c = abort(Counts::decode(counts_what(key), &current))?;
    let slot = match kind {
        UseKind::Access => &mut c.counters.access,
        UseKind::Preview => &mut c.counters.preview,
        UseKind::Download => &mut c.counters.download,
        UseKind::Save => &mut c.counters.save,
    };
    *slot = slot.saturating_sub(1);
    c.version += 1;
    counts.insert(key, &c.encode()[..])?;
    Ok(Some(UseCount {
        counters: c.counters,
        version: c.version,
    }))
}

fn read_throttle_tx(
    ts: &TransactionalTree,
    tc: &TransactionalTree,
    share: &str,
    ckey: &[u8],
) -> TxResult<ThrottleState> {
    Ok(ThrottleState {
        share: match ts.get(share)? {
            Some(v) => abort(codec::decode(|| format!("throttle of share {share}"), &v))?,
            None => ShareThrottle::default(),
        },
        client: match tc.get(ckey)? {
            Some(v) => abort(codec::decode(
                || format!("throttle client record of share {share}"),
                &v,
            ))?,
            None => ClientThrottle::default(),
        },
    })
}

impl Storage for SledStorage {
    fn insert_share(
        &self,
        share: &Share,
        charge: Option<&QuotaCharge>,
    ) -> Result<InsertOutcome, StorageError> {
        let item = PreparedInsert::new(share, charge)?;
        let outcome = finish(
            (&self.shares, &self.counters, &self.index, &self.quota)
                .transaction(|(s, c, i, q)| self.insert_in((s, c, i, q), &item)),
        )?;
        self.durable(outcome)
    }

    fn insert_shares(
        &self,
        batch: &[(Share, Option<QuotaCharge>)],
    ) -> Result<Vec<InsertOutcome>, StorageError> {
        let items = batch
            .iter()
            .map(|(share, charge)| PreparedInsert::new(share, charge.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let outcomes = finish(
            (&self.shares, &self.counters, &self.index, &self.quota).transaction(|(s, c, i, q)| {
                items
                    .iter()
                    .map(|item| self.insert_in((s, c, i, q), item))
                    .collect::<TxResult<Vec<_>>>()
            }),
        )?;
        self.durable(outcomes)
    }

    fn get_share(&self, id: &ShareId) -> Result<Option<Share>, StorageError> {
        let Some(value) = self.share_value(id)? else {
            return Ok(None);
        };
        let counts = self
            .counters
            .get(id.as_str())
            .map_err(sled_err("get counters"))?
            .ok_or_else(|| StorageError::Corrupt {
                what: format!("share {id}"),
                reason: "its counters are missing".into(),
            })?;
        let c = Counts::decode(counts_what(id.as_str()), &counts)?;
        decode_share(id.as_str(), &value, c.counters, c.version).map(Some)
    }

    fn update_share(
        &self,
        share: &Share,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StorageError> {
        let id = share.id().as_str();
        let value = encode_share(share)?;
        let counts = Counts::of(share).encode();
        let new_keys = codec::index_keys(share);
        let outcome = finish((&self.shares, &self.counters, &self.index).transaction(
            |(shares, c, idx)| {
                let Some(current) = c.get(id)? else {
                    return Ok(UpdateOutcome::NotFound);
                };
                let current = abort(Counts::decode(counts_what(id), &current))?;
                if current.version != expected_version {
                    return Ok(UpdateOutcome::Conflict {
                        current_version: current.version,
                    });
                }
                // The sort keys may have moved (name, description,
                // update time): replace the share's index entries.
                if let Some(before) = shares.get(id)? {
                    let before =
                        abort(decode_share(id, &before, current.counters, current.version))?;
                    for key in codec::index_keys(&before) {
                        idx.remove(key)?;
                    }
                }
                for key in &new_keys {
                    idx.insert(key.as_slice(), &[])?;
                }
                shares.insert(id, value.as_slice())?;
                c.insert(id, &counts[..])?;
                Ok(UpdateOutcome::Updated)
            },
        ))?;
        self.durable(outcome)
    }

    fn list_shares(
        &self,
        owner: &Member,
        query: &ShareListQuery,
    ) -> Result<SharePage, StorageError> {
        use std::ops::Bound;
        let by = query.order.by;
        let prefix = codec::index_prefix(owner.tenant.as_str(), owner.user_id.as_str(), by);
        let cursor = query
            .page
            .after
            .as_ref()
            .map(|c| codec::index_key(&prefix, &c.key, &c.share_id));
        let keys: Box<dyn Iterator<Item = sled::Result<(sled::IVec, sled::IVec)>>> =
            match (cursor, query.order.descending) {
                (None, false) => Box::new(self.index.scan_prefix(&prefix)),
                (None, true) => Box::new(self.index.scan_prefix(&prefix).rev()),
                (Some(c), false) => Box::new(
                    self.index
                        .range((Bound::Excluded(c), Bound::Unbounded))
                        .take_while(|e| e.as_ref().map_or(true, |(k, _)| k.starts_with(&prefix))),
                ),
                (Some(c), true) => Box::new(
                    self.index
                        .range((Bound::Included(prefix.clone()), Bound::Excluded(c)))
                        .rev(),
                ),
            };
        let shares = keys.filter_map(|entry| {
            let share = entry
                .map_err(sled_err("scan share index"))
                .and_then(|(key, _)| codec::id_from_index_key(prefix.len(), by, &key))
                .and_then(|id| self.get_share(&id));
            // An index entry whose share was purged meanwhile is skipped.
            share.transpose()
        });
        page_from_ordered(shares, query)
    }

    fn consume_quota(&self, charge: &QuotaCharge) -> Result<QuotaOutcome, StorageError> {
        let k = codec::quota_key(&charge.key);
        let outcome = finish(self.quota.transaction(|quota| {
            let used = match quota.get(&k)? {
                Some(v) => abort(codec::decode_u32(
                    || format!("quota {}", charge.key.tenant),
                    &v,
                ))?,
                None => 0,
            };
            Ok(match quota::consume(used, charge.limit) {
                Some(n) => {
                    quota.insert(k.as_slice(), codec::encode_u32(n))?;
                    QuotaOutcome::Consumed { used: n }
                }
                None => QuotaOutcome::Exhausted { used },
            })
        }))?;
        match outcome {
            QuotaOutcome::Consumed { .. } => self.durable(outcome),
            QuotaOutcome::Exhausted { .. } => Ok(outcome),
        }
    }

    fn quota_used(&self, key: &QuotaKey) -> Result<u32, StorageError> {
        match self
            .quota
            .get(codec::quota_key(key))
            .map_err(sled_err("get quota"))?
        {
            Some(v) => codec::decode_u32(|| format!("quota {}", key.tenant), &v),
            None => Ok(0),
        }
    }

    fn count_use(
        &self,
        id: &ShareId,
        kind: UseKind,
        expected_epoch: u64,
    ) -> Result<UseOutcome, StorageError> {
        let outcome = finish(
            self.counters
                .transaction(|counts| count_in(counts, id.as_str(), kind, expected_epoch)),
        )?;
        match outcome {
            UseOutcome::Counted(_) => self.durable(outcome),
            other => Ok(other),
        }
    }

    fn refund_use(&self, id: &ShareId, kind: UseKind) -> Result<Option<UseCount>, StorageError> {
        let outcome = finish(
            self.counters
                .transaction(|counts| refund_in(counts, id.as_str(), kind)),
        )?;
        match outcome {
            Some(_) => self.durable(outcome),
            None => Ok(None),
        }
    }

    fn count_uses(
        &self,
        batch: &[(ShareId, UseKind, u64)],
    ) -> Result<Vec<UseOutcome>, StorageError> {
        let outcomes = finish(self.counters.transaction(|counts| {
            batch
                .iter()
                .map(|(id, kind, epoch)| count_in(counts, id.as_str(), *kind, *epoch))
                .collect::<TxResult<Vec<_>>>()
        }))?;
        self.durable(outcomes)
    }

    fn record_access(
        &self,
        access: &AccessRecord<'_>,
        apply: &mut dyn FnMut(ThrottleState) -> AccessUpdate,
    ) -> Result<AccessOutcome, StorageError> {
        let apply = std::cell::RefCell::new(apply);
        let outcome = finish(
            self.access_trees()
                .transaction(|trees| self.access_in(trees, access, &mut **apply.borrow_mut())),
        )?;
        match outcome {
            AccessOutcome::Recorded(_) => self.durable(outcome),
            other => Ok(other),
        }
    }

    fn record_accesses(
        &self,
        batch: &mut [AccessItem],
    ) -> Result<Vec<AccessOutcome>, StorageError> {
        // One transaction, one flush. Each item checks before it writes,
        // so a refused item writes nothing and the next sees the state
        // before it (sled transactions read their own writes).
        let batch = std::cell::RefCell::new(batch);
        let outcomes = finish(self.access_trees().transaction(|trees| {
            let mut batch = batch.borrow_mut();
            let mut outcomes = Vec::with_capacity(batch.len());
            for item in batch.iter_mut() {
                let (record, apply) = item.parts();
                outcomes.push(self.access_in(trees, &record, apply)?);
            }
            Ok(outcomes)
        }))?;
        if outcomes
            .iter()
            .any(|o| matches!(o, AccessOutcome::Recorded(_)))
        {
            self.durable(outcomes)
        } else {
            Ok(outcomes)
        }
    }

    fn reads_are_local(&self) -> bool {
        true
    }

    fn update_throttle(
        &self,
        share: &ShareId,
        client: &ClientKey,
        apply: &mut dyn FnMut(ThrottleState) -> ThrottleState,
    ) -> Result<ThrottleState, StorageError> {
        let skey = share.as_str();
        let ckey = codec::client_key(share.as_str(), client.as_str());
        // sled may run the closure more than once; `apply` is FnMut and only
        // the committed run's result is returned.
        let apply = std::cell::RefCell::new(apply);
        // Throttle state is advisory (see the trait): atomic, not flushed.
        finish(
            (&self.throttle_share, &self.throttle_client).transaction(|(ts, tc)| {
                let current = read_throttle_tx(ts, tc, skey, &ckey)?;
                let next = (apply.borrow_mut())(current);
                ts.insert(skey, abort(codec::encode(&next.share))?)?;
                self.fault("update_throttle:after_share_part")?;
                tc.insert(ckey.as_slice(), abort(codec::encode(&next.client))?)?;
                Ok(next)
            }),
        )
    }

    fn purge(&self, request: &PurgeRequest) -> Result<PurgeReport, StorageError> {
        let mut report = PurgeReport::default();
        let mut doomed = Vec::new();
        for entry in self.shares.iter() {
            let (key, value) = entry.map_err(sled_err("scan shares"))?;
            let id = String::from_utf8_lossy(&key).into_owned();
            let Some(counts) = self.counters.get(&key).map_err(sled_err("get counters"))? else {
                return Err(StorageError::Corrupt {
                    what: format!("share {id}"),
                    reason: "its counters are missing".into(),
                });
            };
            let c = Counts::decode(counts_what(&id), &counts)?;
            let share = decode_share(&id, &value, c.counters, c.version)?;
            if share_is_purgeable(&share, request.shares_before) {
                doomed.push(share);
            }
        }
        for share in &doomed {
            let id = share.id().as_str();
            let index = codec::index_keys(share);
            let removed = finish(
                (
                    &self.shares,
                    &self.counters,
                    &self.index,
                    &self.throttle_share,
                )
                    .transaction(|(shares, counts, idx, ts)| {
                        let gone = shares.remove(id)?.is_some();
                        counts.remove(id)?;
                        for key in &index {
                            idx.remove(key.as_slice())?;
                        }
                        let throttle = ts.remove(id)?.is_some();
                        Ok((gone, throttle))
                    }),
            )?;
            report.shares += usize::from(removed.0);
            report.throttle_records += usize::from(removed.1);
            for entry in self.throttle_client.scan_prefix(codec::client_prefix(id)) {
                let (key, _) = entry.map_err(sled_err("scan throttle"))?;
                if self
                    .throttle_client
                    .remove(key)
                    .map_err(sled_err("remove throttle"))?
                    .is_some()
                {
                    report.throttle_records += 1;
                }
            }
        }
        let cutoff = request.quota_days_before.format("%Y-%m-%d").to_string();
        for entry in self.quota.iter() {
            let (key, _) = entry.map_err(sled_err("scan quota"))?;
            let day = codec::day_of_quota_key(&key).ok_or_else(|| StorageError::Corrupt {
                what: "quota key".into(),
                reason: "too short".into(),
            })?;
            if day < cutoff.as_bytes()
                && self
                    .quota
                    .remove(&key)
                    .map_err(sled_err("remove quota"))?
                    .is_some()
            {
                report.quota_counters += 1;
            }
        }
        let policy = request.throttle_policy;
        let stale = |state: ThrottleState| throttle::is_stale(&state, &policy, request.now);
        for entry in self.throttle_client.iter() {
            let (key, value) = entry.map_err(sled_err("scan throttle"))?;
            let client: ClientThrottle = codec::decode(|| "throttle client record".into(), &value)?;
            if stale(ThrottleState {
                share: ShareThrottle::default(),
                client,
            }) && self
                .throttle_client
                .remove(key)
                .map_err(sled_err("remove throttle"))?
                .is_some()
            {
                report.throttle_records += 1;
            }
        }
        for entry in self.throttle_share.iter() {
            let (key, value) = entry.map_err(sled_err("scan throttle"))?;
            let share: ShareThrottle = codec::decode(|| "throttle share record".into(), &value)?;
            if stale(ThrottleState {
                share,
                client: ClientThrottle::default(),
            }) && self
                .throttle_share
                .remove(key)
                .map_err(sled_err("remove throttle"))?
                .is_some()
            {
                report.throttle_records += 1;
            }
        }
        self.durable(report)
    }
}
