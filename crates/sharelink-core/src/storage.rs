//! The storage contract every backend implements.
//!
//! The trait is small, synchronous, `&self` and `Send + Sync`. Each method's
//! documentation states what an implementation must guarantee; the
//! conformance suite in `sharelink-testkit` checks those guarantees for every
//! backend. Contention is kept apart from failure: a lost compare-and-swap or
//! a reached limit is an `Ok` outcome, and `Err(StorageError)` means the
//! backend itself failed.
//!
//! [`MemoryStorage`](crate::MemoryStorage) is the reference implementation.

use chrono::{DateTime, NaiveDate, Utc};

use crate::fields::ClientKey;
use crate::id::ShareId;
use crate::listing::{ShareListQuery, SharePage};
use crate::quota::QuotaKey;
use crate::share::{Member, Share, UseKind};
use crate::throttle::{ThrottlePolicy, ThrottleState};

pub mod columns;
pub mod group_commit;
pub mod steps;

/// A backend failure. Never used for contention or limits.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The backend reported an error (I/O, lock, driver).
    #[error("storage backend failed: {message}")]
    Backend {
        /// What failed.
        message: String,
        /// The backend's own error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// The backend cannot be reached now: the connection was lost, the
    /// database is shutting down or restarting, a statement timed out, or
    /// it lost the same race too often. Nothing was acknowledged; the
    /// caller may retry shortly (503 with `Retry-After` on the wire).
    #[error("storage backend unavailable: {message}")]
    Unavailable {
        /// What failed.
        message: String,
        /// The backend's own error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// A stored record could not be decoded.
    #[error("stored {what} is corrupt: {reason}")]
    Corrupt {
        /// Which record (for example `share sAvciMEXKRz`).
        what: String,
        /// Why it could not be decoded.
        reason: String,
    },
    /// The store was written by an incompatible (newer) format version.
    #[error("store format version {found} is not supported (this build reads up to {supported})")]
    IncompatibleFormat {
        /// The version found.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
}

impl StorageError {
    /// An unavailable backend, with its source.
    pub fn unavailable(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Unavailable {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// The same failure, for another caller of a failed batch (see
    /// [`group_commit`]): the same variant and message, with the source's
    /// text folded into the message (a source cannot be shared).
    pub fn for_batch_member(&self) -> Self {
        fn with_source(
            message: &str,
            source: Option<&(dyn std::error::Error + Send + Sync)>,
        ) -> String {
            match source {
                Some(s) => format!("{message}: {s}"),
                None => message.to_owned(),
            }
        }
        match self {
            Self::Backend { message, source } => Self::Backend {
                message: with_source(message, source.as_deref()),
                source: None,
            },
            Self::Unavailable { message, source } => Self::Unavailable {
                message: with_source(message, source.as_deref()),
                source: None,
            },
            Self::Corrupt { what, reason } => Self::Corrupt {
                what: what.clone(),
                reason: reason.clone(),
            },
            Self::IncompatibleFormat { found, supported } => Self::IncompatibleFormat {
                found: *found,
                supported: *supported,
            },
        }
    }

    /// A backend failure with its source.
    pub fn backend(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Backend {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }
}

/// A quota counter to charge, with its limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaCharge {
    /// Which counter.
    pub key: QuotaKey,
    /// Its daily limit.
    pub limit: u32,
}

/// Result of [`Storage::insert_share`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The share was stored (and the quota charged, if one was given).
    Inserted,
    /// A share with this id already exists; nothing was written.
    IdTaken,
    /// The quota was at its limit; nothing was written.
    QuotaExhausted {
        /// The counter's value (at the limit).
        used: u32,
    },
}

/// Result of [`Storage::update_share`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateOutcome {
    /// The new share was stored.
    Updated,
    /// The stored version was not the expected one; nothing was written.
    Conflict {
        /// The version actually stored.
        current_version: u64,
    },
    /// No share with this id; nothing was written.
    NotFound,
}

/// Result of [`Storage::consume_quota`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaOutcome {
    /// One unit was taken; `used` is the new count.
    Consumed {
        /// The count after this use.
        used: u32,
    },
    /// The limit was reached; nothing changed.
    Exhausted {
        /// The count (at or above the limit).
        used: u32,
    },
}

/// A share's counters and version after a counted use: all a caller needs
/// to bring its copy of the share up to date
/// ([`Share::danger_restore_counters`]), without the backend re-reading the share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UseCount {
    /// All counters after the use.
    pub counters: crate::share::Counters,
    /// The share's version after the use.
    pub version: u64,
}

impl From<&Share> for UseCount {
    fn from(share: &Share) -> Self {
        Self {
            counters: share.counters(),
            version: share.version(),
        }
    }
}

/// Result of [`Storage::count_use`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UseOutcome {
    /// Counted; the share's counters and version as stored afterwards.
    Counted(UseCount),
    /// The share's limit for this use is reached; nothing changed.
    LimitReached {
        /// The limit.
        limit: u64,
    },
    /// The share's token epoch is not the expected one; nothing changed.
    EpochMoved,
    /// No such share.
    NotFound,
}

/// Result of [`Storage::record_access`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessOutcome {
    /// Recorded: the throttle state stored, the quota charged (if asked)
    /// and the access counted; the share's counters and version as stored afterwards.
    Recorded(UseCount),
    /// The quota was at its limit; nothing was written.
    QuotaExhausted {
        /// The counter's value (at the limit).
        used: u32,
    },
    /// The share's token epoch is not the expected one; nothing was written.
    EpochMoved,
    /// No such share; nothing was written.
    NotFound,
}

/// What the `apply` of [`Storage::record_access`] decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessUpdate {
    /// The `(share, client)` throttle state to store.
    pub throttle: ThrottleState,
    /// Whether the tenant's access quota is charged for this token.
    pub charge_quota: bool,
}

/// What [`Storage::record_access`] records: one share token issued.
#[derive(Debug, Clone, Copy)]
pub struct AccessRecord<'a> {
    /// The share.
    pub share_id: &'a ShareId,
    /// The token epoch the password was checked against.
    pub expected_epoch: u64,
    /// The client whose throttle record `settle` applies to.
    pub client: &'a ClientKey,
    /// The tenant's access quota, unless unlimited; taken only when `apply`
    /// says so.
    pub charge: Option<&'a QuotaCharge>,
}

/// One token issue in a [`Storage::record_accesses`] batch: what
/// [`AccessRecord`] says, owned, with its own `apply`.
pub struct AccessItem {
    /// The share.
    pub share_id: ShareId,
    /// The token epoch the password was checked against.
    pub expected_epoch: u64,
    /// The client whose throttle record `apply` settles.
    pub client: ClientKey,
    /// The tenant's access quota, unless unlimited.
    pub charge: Option<QuotaCharge>,
    /// Decides the throttle state and the charge, as for
    /// [`Storage::record_access`].
    pub apply: Box<dyn FnMut(ThrottleState) -> AccessUpdate + Send>,
}

impl std::fmt::Debug for AccessItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessItem")
            .field("share_id", &self.share_id)
            .field("expected_epoch", &self.expected_epoch)
            .field("client", &self.client)
            .field("charge", &self.charge)
            .finish_non_exhaustive()
    }
}

impl AccessItem {
    /// The record and the `apply` of this item, as
    /// [`Storage::record_access`] takes them.
    pub fn parts(
        &mut self,
    ) -> (
        AccessRecord<'_>,
        &mut (dyn FnMut(ThrottleState) -> AccessUpdate + Send),
    ) {
        (
            AccessRecord {
                share_id: &self.share_id,
                expected_epoch: self.expected_epoch,
                client: &self.client,
                charge: self.charge.as_ref(),
            },
            &mut *self.apply,
        )
    }
}

/// What [`Storage::purge`] removes.
#[derive(Debug, Clone)]
pub struct PurgeRequest {
    /// Shares that expired before this instant, or were cancelled (last
    /// updated) before it, are deleted with their throttle records.
    pub shares_before: DateTime<Utc>,
    /// Quota counters of days before this one are deleted.
    pub quota_days_before: NaiveDate,
    /// Throttle records that are stale under this policy at `now` are deleted.
    pub throttle_policy: ThrottlePolicy,
    /// The current instant.
    pub now: DateTime<Utc>,
}

/// What [`Storage::purge`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    /// Shares deleted.
    pub shares: usize,
    /// Quota counters deleted.
    pub quota_counters: usize,
    /// Throttle records deleted.
    pub throttle_records: usize,
}

/// The persistence contract.
///
/// All methods are atomic with respect to each other, across threads and,
/// for backends shared between processes, across processes. An `Ok` return
/// means the change is durable to the degree the backend documents.
pub trait Storage: Send + Sync {
    /// Stores a new share, charging `charge` in the same atomic step.
    ///
    /// - If a share with the same id exists: [`InsertOutcome::IdTaken`], nothing written.
    /// - If the quota counter is at its limit: [`InsertOutcome::QuotaExhausted`], nothing written.
    /// - Otherwise both the share and the charge are written, or neither.
    fn insert_share(
        &self,
        share: &Share,
        charge: Option<&QuotaCharge>,
    ) -> Result<InsertOutcome, StorageError>;

    /// The share with this id, as last stored.
    fn get_share(&self, id: &ShareId) -> Result<Option<Share>, StorageError>;

    /// Replaces the stored share iff its stored version equals `expected_version`.
    ///
    /// `share.id()` names the record; `share.version()` must be greater than
    /// `expected_version`. A mismatch is [`UpdateOutcome::Conflict`], not an error.
    fn update_share(
        &self,
        share: &Share,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StorageError>;

    /// A page of the shares `owner` created (same tenant and user id) that
    /// match `query.filter`, in `query.order`, starting strictly after
    /// `query.page.after`.
    ///
    /// - At most `query.page.limit` items (the engine passes 1..=100).
    /// - `next` is the cursor after the last item iff another matching
    ///   share follows.
    /// - With `count_total`, `total` is the number of matching shares from
    ///   the cursor on, this page included.
    /// - Served in order from an index, for every [`ShareOrderBy`]: the cost
    ///   of a page must not grow with the number of shares the creator has
    ///   (filters that the index cannot answer may scan past non-matching
    ///   shares, and counting a total may read them all).
    ///
    /// The engine has checked the query ([`ShareListQuery::check`]): the
    /// cursor, if any, belongs to `query.order`.
    ///
    /// [`ShareOrderBy`]: crate::listing::ShareOrderBy
    fn list_shares(
        &self,
        owner: &Member,
        query: &ShareListQuery,
    ) -> Result<SharePage, StorageError>;

    /// Takes one unit of a daily quota if `used < limit`.
    ///
    /// Never takes a counter past its limit, whatever the concurrency, and
    /// across processes for shared stores.
    fn consume_quota(&self, charge: &QuotaCharge) -> Result<QuotaOutcome, StorageError>;

    /// The current value of a quota counter (0 if never charged).
    fn quota_used(&self, key: &QuotaKey) -> Result<u32, StorageError>;

    /// Counts one use of `kind` on a share, atomically applying
    /// [`Share::count_use`]: the counter never passes the share's limit, and
    /// the version goes up by one.
    ///
    /// Counts nothing if the share's token epoch is not `expected_epoch`.
    fn count_use(
        &self,
        id: &ShareId,
        kind: UseKind,
        expected_epoch: u64,
    ) -> Result<UseOutcome, StorageError>;

    /// Gives back one use of `kind` that [`count_use`](Storage::count_use)
    /// took for work that then failed, atomically applying
    /// [`Share::refund_use`]: the counter goes down by one (never below 0)
    /// and the version up by one. Whatever the token epoch is now: the use
    /// was taken, so it is returned. `Ok(None)` if the share is gone.
    ///
    /// With `count_use`, this is charge-and-refund: a limited action is
    /// counted before it runs and refunded if it fails, so the counter never
    /// passes the limit even while actions are in flight.
    fn refund_use(&self, id: &ShareId, kind: UseKind) -> Result<Option<UseCount>, StorageError>;

    /// Atomically replaces the throttle state of `(share, client)` with
    /// `apply(current)` and returns the new state. Absent records read as
    /// `ThrottleState::default()`.
    ///
    /// `apply` may be called more than once (backends that retry
    /// transactions); only the result of the last call is stored. The share
    /// part of the state is shared by all clients of the share.
    ///
    /// Throttle state is advisory: the update must be atomic, but need not
    /// be durable before it is acknowledged (a crash may forget recent
    /// failures; it must never corrupt the store).
    fn update_throttle(
        &self,
        share: &ShareId,
        client: &ClientKey,
        apply: &mut dyn FnMut(ThrottleState) -> ThrottleState,
    ) -> Result<ThrottleState, StorageError>;

    /// Records one share token issued, as **one atomic, durable step**:
    /// replaces the `(share, client)` throttle state with `apply(current)`,
    /// takes one unit of `access.charge` if `apply` asks for it (and a charge
    /// is given), and counts one [`UseKind::Access`] on the share.
    ///
    /// Writes nothing and returns the matching outcome if the share is
    /// missing, its epoch is not `expected_epoch`, or the quota is needed and
    /// at its limit. `apply` may be called more than once (retried
    /// transactions); only the last result is used.
    fn record_access(
        &self,
        access: &AccessRecord<'_>,
        apply: &mut dyn FnMut(ThrottleState) -> AccessUpdate,
    ) -> Result<AccessOutcome, StorageError>;

    /// Deletes expired data as described by [`PurgeRequest`], and nothing else.
    fn purge(&self, request: &PurgeRequest) -> Result<PurgeReport, StorageError>;

    /// Group commit: inserts many shares, each exactly as
    /// [`insert_share`](Storage::insert_share) would (charges applied in
    /// order), and makes them durable together. Outcomes are in input order.
    ///
    /// The default calls `insert_share` for each item; durable backends
    /// override it to amortize one commit over the batch. Either every
    /// `Inserted` item is durable when this returns `Ok`, or (on `Err`) none
    /// of the batch was written.
    fn insert_shares(
        &self,
        batch: &[(Share, Option<QuotaCharge>)],
    ) -> Result<Vec<InsertOutcome>, StorageError> {
        batch
            .iter()
            .map(|(share, charge)| self.insert_share(share, charge.as_ref()))
            .collect()
    }

    /// Group commit: counts many uses, each exactly as
    /// [`count_use`](Storage::count_use) would, durable together. Outcomes
    /// are in input order. The default calls `count_use` for each item.
    fn count_uses(
        &self,
        batch: &[(ShareId, UseKind, u64)],
    ) -> Result<Vec<UseOutcome>, StorageError> {
        batch
            .iter()
            .map(|(id, kind, epoch)| self.count_use(id, *kind, *epoch))
            .collect()
    }

    /// Group commit: records many token issues, each exactly as
    /// [`record_access`](Storage::record_access) would (in order, so a
    /// later item sees an earlier one's throttle state and quota charge),
    /// durable together. An item whose outcome is not `Recorded` writes
    /// nothing; the others still do. Outcomes are in input order.
    ///
    /// The default calls `record_access` for each item; durable backends
    /// override it to amortize one commit over the batch. Either every
    /// `Recorded` item is durable when this returns `Ok`, or (on `Err`)
    /// none of the batch was written.
    fn record_accesses(
        &self,
        batch: &mut [AccessItem],
    ) -> Result<Vec<AccessOutcome>, StorageError> {
        batch
            .iter_mut()
            .map(|item| {
                let (record, apply) = item.parts();
                self.record_access(&record, apply)
            })
            .collect()
    }

    /// Whether every read of this store is answered from this machine
    /// (memory, a local file) in microseconds, never waiting on a network
    /// round trip or a long-held lock. The HTTP layer then runs read-only
    /// requests on its async workers instead of handing each to a blocking
    /// thread. The default is `false` (always safe).
    fn reads_are_local(&self) -> bool {
        false
    }
}

impl<S: Storage + ?Sized> Storage for std::sync::Arc<S> {
    fn insert_share(
        &self,
        share: &Share,
        charge: Option<&QuotaCharge>,
    ) -> Result<InsertOutcome, StorageError> {
        (**self).insert_share(share, charge)
    }
    fn get_share(&self, id: &ShareId) -> Result<Option<Share>, StorageError> {
        (**self).get_share(id)
    }
    fn update_share(
        &self,
        share: &Share,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StorageError> {
        (**self).update_share(share, expected_version)
    }
    fn list_shares(
        &self,
        owner: &Member,
        query: &ShareListQuery,
    ) -> Result<SharePage, StorageError> {
        (**self).list_shares(owner, query)
    }
    fn consume_quota(&self, charge: &QuotaCharge) -> Result<QuotaOutcome, StorageError> {
        (**self).consume_quota(charge)
    }
    fn quota_used(&self, key: &QuotaKey) -> Result<u32, StorageError> {
        (**self).quota_used(key)
    }
    fn count_use(
        &self,
        id: &ShareId,
        kind: UseKind,
        expected_epoch: u64,
    ) -> Result<UseOutcome, StorageError> {
        (**self).count_use(id, kind, expected_epoch)
    }
    fn refund_use(&self, id: &ShareId, kind: UseKind) -> Result<Option<UseCount>, StorageError> {
        (**self).refund_use(id, kind)
    }
    fn update_throttle(
        &self,
        share: &ShareId,
        client: &ClientKey,
        apply: &mut dyn FnMut(ThrottleState) -> ThrottleState,
    ) -> Result<ThrottleState, StorageError> {
        (**self).update_throttle(share, client, apply)
    }
    fn record_access(
        &self,
        access: &AccessRecord<'_>,
        apply: &mut dyn FnMut(ThrottleState) -> AccessUpdate,
    ) -> Result<AccessOutcome, StorageError> {
        (**self).record_access(access, apply)
    }
    fn purge(&self, request: &PurgeRequest) -> Result<PurgeReport, StorageError> {
        (**self).purge(request)
    }
    fn insert_shares(
        &self,
        batch: &[(Share, Option<QuotaCharge>)],
    ) -> Result<Vec<InsertOutcome>, StorageError> {
        (**self).insert_shares(batch)
    }
    fn count_uses(
        &self,
        batch: &[(ShareId, UseKind, u64)],
    ) -> Result<Vec<UseOutcome>, StorageError> {
        (**self).count_uses(batch)
    }
    fn record_accesses(
        &self,
        batch: &mut [AccessItem],
    ) -> Result<Vec<AccessOutcome>, StorageError> {
        (**self).record_accesses(batch)
    }
    fn reads_are_local(&self) -> bool {
        (**self).reads_are_local()
    }
}

/// Whether `purge` should delete this share.
pub fn share_is_purgeable(share: &Share, before: DateTime<Utc>) -> bool {
    let expired = share.expiration().is_some_and(|at| at < before);
    let cancelled =
        share.status() == crate::share::ShareStatus::Cancelled && share.updated_at() < before;
    expired || cancelled
}
