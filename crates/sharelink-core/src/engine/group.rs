//! The engine's three durable writes that requests make concurrently
//! (token issues, counted uses, new shares), each through a
//! [`GroupCommit`]: concurrent requests share one transaction and one
//! fsync, and each is answered only once its own write is durable.
//!
//! A batch of one calls the backend's single-item method, so a lone
//! request costs exactly what it did without batching.

use crate::id::ShareId;
use crate::share::{Share, UseKind};
use crate::storage::group_commit::GroupCommit;
use crate::storage::{
    AccessItem, AccessOutcome, InsertOutcome, QuotaCharge, Storage, StorageError, UseOutcome,
};

/// The most items one batch writes: bounds a transaction's size and the
/// wait of its last caller.
const MAX_BATCH: usize = 128;

/// The group commits of one engine.
pub(super) struct Commits {
    accesses: GroupCommit<AccessItem, AccessOutcome>,
    uses: GroupCommit<(ShareId, UseKind, u64), UseOutcome>,
    inserts: GroupCommit<(Share, Option<QuotaCharge>), InsertOutcome>,
}

impl Default for Commits {
    fn default() -> Self {
        Self {
            accesses: GroupCommit::new(MAX_BATCH),
            uses: GroupCommit::new(MAX_BATCH),
            inserts: GroupCommit::new(MAX_BATCH),
        }
    }
}

impl Commits {
    /// [`Storage::record_access`], group-committed.
    pub(super) fn record_access(
        &self,
        storage: &dyn Storage,
        item: AccessItem,
    ) -> Result<AccessOutcome, StorageError> {
        self.accesses
            .submit(item, |mut batch| match batch.as_mut_slice() {
                [one] => {
                    let (record, apply) = one.parts();
                    storage.record_access(&record, apply).map(|o| vec![o])
                }
                many => storage.record_accesses(many),
            })
    }

    /// [`Storage::count_use`], group-committed.
    pub(super) fn count_use(
        &self,
        storage: &dyn Storage,
        id: ShareId,
        kind: UseKind,
        expected_epoch: u64,
    ) -> Result<UseOutcome, StorageError> {
        self.uses
            .submit((id, kind, expected_epoch), |batch| match batch.as_slice() {
                [(id, kind, epoch)] => storage.count_use(id, *kind, *epoch).map(|o| vec![o]),
                many => storage.count_uses(many),
            })
    }

    /// [`Storage::insert_share`], group-committed.
    pub(super) fn insert_share(
        &self,
        storage: &dyn Storage,
        share: Share,
        charge: Option<QuotaCharge>,
    ) -> Result<InsertOutcome, StorageError> {
        self.inserts
            .submit((share, charge), |batch| match batch.as_slice() {
                [(share, charge)] => storage
                    .insert_share(share, charge.as_ref())
                    .map(|o| vec![o]),
                many => storage.insert_shares(many),
            })
    }
}
