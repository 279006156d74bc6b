//! Purging: expired and cancelled shares, old quota days, stale throttle
//! records.

use rusqlite::Transaction;
use sharelink_core::storage::share_is_purgeable;
use sharelink_core::throttle::{self, ClientThrottle, ShareThrottle, ThrottleState};
use sharelink_core::{PurgeReport, PurgeRequest, StorageError};

use crate::rows::{SHARE_COLUMNS, ShareRow, decode_json};
use crate::schema::db_err;

/// Deletes what `request` names, inside the caller's transaction.
pub(crate) fn purge(
    tx: &Transaction<'_>,
    request: &PurgeRequest,
) -> Result<PurgeReport, StorageError> {
    let cutoff = request.shares_before.timestamp_millis();
    let mut report = PurgeReport::default();
    // Candidates by the indexed columns, confirmed by the core's rule.
    let mut doomed = Vec::new();
    {
        let mut stmt = tx
            .prepare(&format!(
                "SELECT share_id, {SHARE_COLUMNS} FROM shares
                         WHERE (expiration_ms IS NOT NULL AND expiration_ms < ?1)
                            OR (status = 'cancelled' AND updated_at_ms < ?1)"
            ))
            .map_err(db_err("prepare purge"))?;
        let rows = stmt
            .query_map([cutoff], ShareRow::read)
            .map_err(db_err("purge scan"))?;
        for row in rows {
            let share = row.map_err(db_err("purge row"))?.decode()?;
            if share_is_purgeable(&share, request.shares_before) {
                doomed.push(share.id().to_string());
            }
        }
    }
    for id in &doomed {
        report.shares += tx
            .execute("DELETE FROM shares WHERE share_id = ?1", [id])
            .map_err(db_err("delete share"))?;
        report.throttle_records += tx
            .execute("DELETE FROM throttle_share WHERE share_id = ?1", [id])
            .map_err(db_err("delete throttle"))?;
        report.throttle_records += tx
            .execute("DELETE FROM throttle_client WHERE share_id = ?1", [id])
            .map_err(db_err("delete throttle"))?;
    }
    let day = request.quota_days_before.format("%Y-%m-%d").to_string();
    report.quota_counters = tx
        .execute("DELETE FROM quota WHERE day < ?1", [day])
        .map_err(db_err("delete quota"))?;

    let policy = request.throttle_policy;
    let stale = |state: ThrottleState| throttle::is_stale(&state, &policy, request.now);
    let mut stale_clients = Vec::new();
    {
        let mut stmt = tx
            .prepare("SELECT share_id, client, body FROM throttle_client")
            .map_err(db_err("prepare"))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(db_err("scan throttle_client"))?;
        for row in rows {
            let (share, client, body) = row.map_err(db_err("throttle row"))?;
            let c: ClientThrottle = decode_json(
                || format!("throttle of share {share} client {client}"),
                &body,
            )?;
            if stale(ThrottleState {
                share: ShareThrottle::default(),
                client: c,
            }) {
                stale_clients.push((share, client));
            }
        }
    }
    for (share, client) in &stale_clients {
        report.throttle_records += tx
            .execute(
                "DELETE FROM throttle_client WHERE share_id = ?1 AND client = ?2",
                [share, client],
            )
            .map_err(db_err("delete throttle"))?;
    }
    let mut stale_shares = Vec::new();
    {
        let mut stmt = tx
            .prepare("SELECT share_id, body FROM throttle_share")
            .map_err(db_err("prepare"))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(db_err("scan throttle_share"))?;
        for row in rows {
            let (share, body) = row.map_err(db_err("throttle row"))?;
            let s: ShareThrottle = decode_json(|| format!("throttle of share {share}"), &body)?;
            if stale(ThrottleState {
                share: s,
                client: ClientThrottle::default(),
            }) {
                stale_shares.push(share);
            }
        }
    }
    for share in &stale_shares {
        report.throttle_records += tx
            .execute("DELETE FROM throttle_share WHERE share_id = ?1", [share])
            .map_err(db_err("delete throttle"))?;
    }
    Ok(report)
}
