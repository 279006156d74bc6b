//! The steps of [`Storage::record_access`](super::Storage::record_access),
//! in their one order, for every backend that runs them inside one
//! transaction of its own: the backend says how each step is done (its
//! SQL), this module says which steps run, in what order, and what each
//! outcome means, once for all of them.

use crate::fields::ClientKey;
use crate::id::ShareId;
use crate::throttle::ThrottleState;

use super::{
    AccessOutcome, AccessRecord, AccessUpdate, QuotaCharge, QuotaOutcome, StorageError, UseOutcome,
};

/// One transaction's primitives, as [`record_access_in`] uses them.
pub trait AccessSteps {
    /// Counts one access of the share if its token epoch is still
    /// `expected_epoch`, and (where the backend locks rows) locks the
    /// share's row for the rest of the transaction.
    fn count_access(
        &mut self,
        share: &ShareId,
        expected_epoch: u64,
    ) -> Result<UseOutcome, StorageError>;
    /// Reads the `(share, client)` throttle state (and locks it where the
    /// backend locks rows); missing parts read as their defaults.
    fn read_throttle(
        &mut self,
        share: &ShareId,
        client: &ClientKey,
    ) -> Result<ThrottleState, StorageError>;
    /// Takes one unit of a quota under its limit.
    fn consume_quota(&mut self, charge: &QuotaCharge) -> Result<QuotaOutcome, StorageError>;
    /// Stores the `(share, client)` throttle state.
    fn write_throttle(
        &mut self,
        share: &ShareId,
        client: &ClientKey,
        state: &ThrottleState,
    ) -> Result<(), StorageError>;
    /// The backend's fault-injection point `point` (tests only; `Ok` in
    /// production).
    fn fault(&self, point: &'static str) -> Result<(), StorageError>;
}

/// Records one token issue inside the caller's transaction: count the
/// access (which also checks that the share exists and its epoch), settle
/// the throttle through `apply`, charge the tenant's access quota if
/// `apply` says so, store the throttle. Returns the outcome and whether to
/// commit: anything but [`AccessOutcome::Recorded`] must be rolled back,
/// and an error leaves the transaction to be rolled back too.
pub fn record_access_in(
    steps: &mut impl AccessSteps,
    access: &AccessRecord<'_>,
    apply: &mut dyn FnMut(ThrottleState) -> AccessUpdate,
) -> Result<(AccessOutcome, bool), StorageError> {
    let count = match steps.count_access(access.share_id, access.expected_epoch)? {
        UseOutcome::Counted(c) => c,
        UseOutcome::NotFound => return Ok((AccessOutcome::NotFound, false)),
        UseOutcome::EpochMoved => return Ok((AccessOutcome::EpochMoved, false)),
        UseOutcome::LimitReached { .. } => {
            return Err(StorageError::Corrupt {
                what: format!("share {}", access.share_id),
                reason: "accesses have no per-share limit".into(),
            });
        }
    };
    let update = apply(steps.read_throttle(access.share_id, access.client)?);
    if let (Some(c), true) = (access.charge, update.charge_quota) {
        if let QuotaOutcome::Exhausted { used } = steps.consume_quota(c)? {
            // The counted access goes with the rolled-back transaction.
            return Ok((AccessOutcome::QuotaExhausted { used }, false));
        }
    }
    steps.fault("record_access:after_quota")?;
    steps.write_throttle(access.share_id, access.client, &update.throttle)?;
    Ok((AccessOutcome::Recorded(count), true))
}
