//! [`SqliteStorage`]'s [`Storage`] implementation: each method is one
//! transaction over the statements of [`crate::rows`] and [`crate::statements`].

use rusqlite::OptionalExtension;
use sharelink_core::fault::FaultInjector;
use sharelink_core::listing::{ShareListQuery, SharePage};
use sharelink_core::storage::columns::use_columns;
use sharelink_core::storage::steps::{AccessSteps, record_access_in};
use sharelink_core::throttle::ThrottleState;
use sharelink_core::{
    AccessItem, AccessOutcome, AccessRecord, AccessUpdate, ClientKey, InsertOutcome, Member,
    PurgeReport, PurgeRequest, QuotaCharge, QuotaKey, QuotaOutcome, Share, ShareId, Storage,
    StorageError, UpdateOutcome, UseCount, UseKind, UseOutcome,
};

use crate::pool::{SqliteStorage, exec, query_row};
use crate::rows::{use_count, write_share};
use crate::schema::db_err;
use crate::statements::{
    consume_in, count_in, insert_in, quota_used, read_throttle, write_throttle,
};

impl Storage for SqliteStorage {
    fn insert_share(
        &self,
        share: &Share,
        charge: Option<&QuotaCharge>,
    ) -> Result<InsertOutcome, StorageError> {
        self.write(|tx| insert_in(tx, share, charge, &*self.faults))
    }

    fn insert_shares(
        &self,
        batch: &[(Share, Option<QuotaCharge>)],
    ) -> Result<Vec<InsertOutcome>, StorageError> {
        self.write(|tx| {
            batch
                .iter()
                .map(|(share, charge)| insert_in(tx, share, charge.as_ref(), &*self.faults))
                .collect()
        })
    }

    fn get_share(&self, id: &ShareId) -> Result<Option<Share>, StorageError> {
        self.share(id)
    }

    fn update_share(
        &self,
        share: &Share,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StorageError> {
        self.write(|tx| {
            let current: Option<i64> = query_row(
                tx,
                "SELECT version FROM shares WHERE share_id = ?1",
                [share.id().as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err("select version"))?;
            let Some(current) = current else {
                return Ok(UpdateOutcome::NotFound);
            };
            let current = u64::try_from(current).map_err(|e| StorageError::Corrupt {
                what: format!("share {}", share.id()),
                reason: e.to_string(),
            })?;
            if current != expected_version {
                return Ok(UpdateOutcome::Conflict {
                    current_version: current,
                });
            }
            write_share(tx, share, false)?;
            Ok(UpdateOutcome::Updated)
        })
    }

    fn list_shares(
        &self,
        owner: &Member,
        query: &ShareListQuery,
    ) -> Result<SharePage, StorageError> {
        self.read(|conn| crate::listing::list(conn, owner, query))
    }

    fn consume_quota(&self, charge: &QuotaCharge) -> Result<QuotaOutcome, StorageError> {
        self.write(|tx| consume_in(tx, charge))
    }

    fn quota_used(&self, key: &QuotaKey) -> Result<u32, StorageError> {
        self.read(|conn| quota_used(conn, key))
    }

    fn count_use(
        &self,
        id: &ShareId,
        kind: UseKind,
        expected_epoch: u64,
    ) -> Result<UseOutcome, StorageError> {
        self.write(|tx| count_in(tx, id, kind, expected_epoch))
    }

    fn refund_use(&self, id: &ShareId, kind: UseKind) -> Result<Option<UseCount>, StorageError> {
        let (count, _) = use_columns(kind);
        self.write(|tx| {
            let row: Option<[i64; 5]> = tx
                .prepare_cached(&format!(
                    "UPDATE shares SET {count} = MAX({count} - 1, 0), version = version + 1
                     WHERE share_id = ?1
                     RETURNING access_count, preview_count, download_count, save_count, version"
                ))
                .and_then(|mut stmt| {
                    stmt.query_row([id.as_str()], |r| {
                        Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
                    })
                    .optional()
                })
                .map_err(db_err("refund use"))?;
            row.map(|r| use_count(id.as_str(), r)).transpose()
        })
    }

    fn count_uses(
        &self,
        batch: &[(ShareId, UseKind, u64)],
    ) -> Result<Vec<UseOutcome>, StorageError> {
        self.write(|tx| {
            batch
                .iter()
                .map(|(id, kind, epoch)| count_in(tx, id, *kind, *epoch))
                .collect()
        })
    }

    fn record_access(
        &self,
        access: &AccessRecord<'_>,
        apply: &mut dyn FnMut(ThrottleState) -> AccessUpdate,
    ) -> Result<AccessOutcome, StorageError> {
        self.write_if(|tx| {
            let mut steps = Steps {
                tx,
                faults: &*self.faults,
            };
            record_access_in(&mut steps, access, apply)
        })
    }

    fn record_accesses(
        &self,
        batch: &mut [AccessItem],
    ) -> Result<Vec<AccessOutcome>, StorageError> {
        // One transaction; each item in a savepoint of its own, so an item
        // that must not be written (share gone, quota exhausted) is undone
        // alone and the next item sees exactly the state before it.
        self.write(|tx| {
            let mut outcomes = Vec::with_capacity(batch.len());
            for item in batch.iter_mut() {
                let (record, apply) = item.parts();
                exec(tx, "SAVEPOINT access", []).map_err(db_err("savepoint"))?;
                let mut steps = Steps {
                    tx,
                    faults: &*self.faults,
                };
                let (outcome, keep) = record_access_in(&mut steps, &record, apply)?;
                if !keep {
                    exec(tx, "ROLLBACK TO access", []).map_err(db_err("rollback to"))?;
                }
                exec(tx, "RELEASE access", []).map_err(db_err("release"))?;
                outcomes.push(outcome);
            }
            Ok(outcomes)
        })
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
        self.write_advisory(|tx| {
            let next = apply(read_throttle(tx, share, client)?);
            write_throttle(tx, share, client, &next, &*self.faults)?;
            Ok(next)
        })
    }

    fn purge(&self, request: &PurgeRequest) -> Result<PurgeReport, StorageError> {
        self.write(|tx| crate::purge::purge(tx, request))
    }
}

/// [`record_access_in`]'s steps on a SQLite transaction (`BEGIN
/// IMMEDIATE`: it holds the write lock, so nothing interleaves).
struct Steps<'a, 't> {
    tx: &'a rusqlite::Transaction<'t>,
    faults: &'a dyn FaultInjector,
}

impl AccessSteps for Steps<'_, '_> {
    fn count_access(
        &mut self,
        share: &ShareId,
        expected_epoch: u64,
    ) -> Result<UseOutcome, StorageError> {
        count_in(self.tx, share, UseKind::Access, expected_epoch)
    }

    fn read_throttle(
        &mut self,
        share: &ShareId,
        client: &ClientKey,
    ) -> Result<ThrottleState, StorageError> {
        read_throttle(self.tx, share, client)
    }

    fn consume_quota(&mut self, charge: &QuotaCharge) -> Result<QuotaOutcome, StorageError> {
        consume_in(self.tx, charge)
    }

    fn write_throttle(
        &mut self,
        share: &ShareId,
        client: &ClientKey,
        state: &ThrottleState,
    ) -> Result<(), StorageError> {
        write_throttle(self.tx, share, client, state, self.faults)
    }

    fn fault(&self, point: &'static str) -> Result<(), StorageError> {
        self.faults.check(point)
    }
}
