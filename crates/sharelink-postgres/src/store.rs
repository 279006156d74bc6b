//! [`PostgresStorage`]'s [`Storage`] implementation: each method is one
//! statement or one transaction over [`crate::rows`] and
//! [`crate::statements`].

use sharelink_core::fault::FaultInjector;
use sharelink_core::listing::{ShareListQuery, SharePage};
use sharelink_core::storage::columns::use_columns;
use sharelink_core::storage::share_is_purgeable;
use sharelink_core::storage::steps::{AccessSteps, record_access_in};
use sharelink_core::throttle::{self, ClientThrottle, ShareThrottle, ThrottleState};
use sharelink_core::{
    AccessItem, AccessOutcome, AccessRecord, AccessUpdate, ClientKey, InsertOutcome, Member,
    PurgeReport, PurgeRequest, QuotaCharge, QuotaKey, QuotaOutcome, Share, ShareId, Storage,
    StorageError, UpdateOutcome, UseCount, UseKind, UseOutcome,
};

use crate::pool::{PostgresStorage, db_err};
use crate::rows::{COUNT_COLUMNS, SHARE_COLUMNS, count_row, decode_row, select_share, write_share};
use crate::statements::{
    consume_in, count_in, decode_json, insert_in, lock_throttle, quota_used, write_throttle,
};

impl Storage for PostgresStorage {
    fn insert_share(
        &self,
        share: &Share,
        charge: Option<&QuotaCharge>,
    ) -> Result<InsertOutcome, StorageError> {
        self.write_if(|tx| {
            let outcome = insert_in(tx, share, charge, &*self.faults)?;
            let commit = outcome == InsertOutcome::Inserted;
            Ok((outcome, commit))
        })
    }

    fn insert_shares(
        &self,
        batch: &[(Share, Option<QuotaCharge>)],
    ) -> Result<Vec<InsertOutcome>, StorageError> {
        self.write(|tx| {
            let mut outcomes = Vec::with_capacity(batch.len());
            for (share, charge) in batch {
                // Each item in a savepoint: a refused item leaves nothing.
                let mut item = tx.savepoint("item").map_err(db_err("savepoint"))?;
                let outcome = insert_in(&mut item, share, charge.as_ref(), &*self.faults)?;
                if outcome == InsertOutcome::Inserted {
                    item.commit().map_err(db_err("release savepoint"))?;
                } else {
                    item.rollback().map_err(db_err("roll back savepoint"))?;
                }
                outcomes.push(outcome);
            }
            Ok(outcomes)
        })
    }

    fn get_share(&self, id: &ShareId) -> Result<Option<Share>, StorageError> {
        self.read(|conn| select_share(conn, id))
    }

    fn update_share(
        &self,
        share: &Share,
        expected_version: u64,
    ) -> Result<UpdateOutcome, StorageError> {
        self.write(|tx| {
            let current = tx
                .query_opt(
                    "SELECT version FROM shares WHERE share_id = $1 FOR UPDATE",
                    &[&share.id().as_str()],
                )
                .map_err(db_err("select version"))?;
            let Some(current) = current else {
                return Ok(UpdateOutcome::NotFound);
            };
            let current: i64 = current.try_get(0).map_err(db_err("read version"))?;
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
            let row = tx
                .query_opt(
                    &format!(
                        "UPDATE shares SET {count} = GREATEST({count} - 1, 0), version = version + 1
                         WHERE share_id = $1 RETURNING {COUNT_COLUMNS}"
                    ),
                    &[&id.as_str()],
                )
                .map_err(db_err("refund use"))?;
            row.map(|r| count_row(id.as_str(), &r)).transpose()
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
        self.write(|tx| {
            let mut outcomes = Vec::with_capacity(batch.len());
            for item in batch.iter_mut() {
                let (record, apply) = item.parts();
                // Each item in a savepoint: a refused item leaves nothing.
                let mut savepoint = tx.savepoint("access").map_err(db_err("savepoint"))?;
                let mut steps = Steps {
                    tx: &mut savepoint,
                    faults: &*self.faults,
                };
                let (outcome, keep) = record_access_in(&mut steps, &record, apply)?;
                if keep {
                    savepoint.commit().map_err(db_err("release savepoint"))?;
                } else {
                    savepoint
                        .rollback()
                        .map_err(db_err("roll back savepoint"))?;
                }
                outcomes.push(outcome);
            }
            Ok(outcomes)
        })
    }

    fn update_throttle(
        &self,
        share: &ShareId,
        client: &ClientKey,
        apply: &mut dyn FnMut(ThrottleState) -> ThrottleState,
    ) -> Result<ThrottleState, StorageError> {
        self.write(|tx| {
            let next = apply(lock_throttle(tx, share, client)?);
            write_throttle(tx, share, client, &next, &*self.faults)?;
            Ok(next)
        })
    }

    fn purge(&self, request: &PurgeRequest) -> Result<PurgeReport, StorageError> {
        self.write(|tx| {
            let cutoff = request.shares_before.timestamp_millis();
            let mut report = PurgeReport::default();
            // Candidates by the indexed columns, confirmed by the core's rule.
            let rows = tx
                .query(
                    &format!(
                        "SELECT share_id, {SHARE_COLUMNS} FROM shares
                         WHERE (expiration_ms IS NOT NULL AND expiration_ms < $1)
                            OR (status = 'cancelled' AND updated_at_ms < $1)"
                    ),
                    &[&cutoff],
                )
                .map_err(db_err("purge scan"))?;
            let mut doomed = Vec::new();
            for row in &rows {
                let share = decode_row(row)?;
                if share_is_purgeable(&share, request.shares_before) {
                    doomed.push(share.id().to_string());
                }
            }
            for id in &doomed {
                let shares = tx
                    .execute("DELETE FROM shares WHERE share_id = $1", &[id])
                    .map_err(db_err("delete share"))?;
                let throttles = tx
                    .execute("DELETE FROM throttle_share WHERE share_id = $1", &[id])
                    .map_err(db_err("delete throttle"))?
                    + tx.execute("DELETE FROM throttle_client WHERE share_id = $1", &[id])
                        .map_err(db_err("delete throttle"))?;
                report.shares += usize::try_from(shares).unwrap_or(usize::MAX);
                report.throttle_records += usize::try_from(throttles).unwrap_or(usize::MAX);
            }
            let day = request.quota_days_before.format("%Y-%m-%d").to_string();
            let quotas = tx
                .execute("DELETE FROM quota WHERE day < $1", &[&day])
                .map_err(db_err("delete quota"))?;
            report.quota_counters = usize::try_from(quotas).unwrap_or(usize::MAX);

            let policy = request.throttle_policy;
            let stale = |state: ThrottleState| throttle::is_stale(&state, &policy, request.now);
            let rows = tx
                .query("SELECT share_id, client, body FROM throttle_client", &[])
                .map_err(db_err("scan throttle_client"))?;
            for row in &rows {
                let (share, client, body): (String, String, String) = (
                    row.try_get(0).map_err(db_err("throttle row"))?,
                    row.try_get(1).map_err(db_err("throttle row"))?,
                    row.try_get(2).map_err(db_err("throttle row"))?,
                );
                let c: ClientThrottle = decode_json(
                    || format!("throttle of share {share} client {client}"),
                    &body,
                )?;
                let state = ThrottleState {
                    share: ShareThrottle::default(),
                    client: c,
                };
                if stale(state) {
                    let n = tx
                        .execute(
                            "DELETE FROM throttle_client WHERE share_id = $1 AND client = $2",
                            &[&share, &client],
                        )
                        .map_err(db_err("delete throttle"))?;
                    report.throttle_records += usize::try_from(n).unwrap_or(usize::MAX);
                }
            }
            let rows = tx
                .query("SELECT share_id, body FROM throttle_share", &[])
                .map_err(db_err("scan throttle_share"))?;
            for row in &rows {
                let (share, body): (String, String) = (
                    row.try_get(0).map_err(db_err("throttle row"))?,
                    row.try_get(1).map_err(db_err("throttle row"))?,
                );
                let s: ShareThrottle = decode_json(|| format!("throttle of share {share}"), &body)?;
                let state = ThrottleState {
                    share: s,
                    client: ClientThrottle::default(),
                };
                if stale(state) {
                    let n = tx
                        .execute("DELETE FROM throttle_share WHERE share_id = $1", &[&share])
                        .map_err(db_err("delete throttle"))?;
                    report.throttle_records += usize::try_from(n).unwrap_or(usize::MAX);
                }
            }
            Ok(report)
        })
    }
}

/// [`record_access_in`]'s steps on a PostgreSQL transaction: counting the
/// access locks the share's row, and reading the throttle locks its rows,
/// so token issues of one share serialize here.
struct Steps<'a, 't> {
    tx: &'a mut postgres::Transaction<'t>,
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
        lock_throttle(self.tx, share, client)
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
