//! The SQL of quotas, counted uses and throttle records: each one statement
//! or one short transaction.

use rusqlite::{Connection, OptionalExtension, params};
use sharelink_core::fault::FaultInjector;
use sharelink_core::share::MAX_COUNT;
use sharelink_core::throttle::{ClientThrottle, ShareThrottle, ThrottleState};
use sharelink_core::{
    ClientKey, InsertOutcome, QuotaCharge, QuotaKey, QuotaOutcome, Share, ShareId, StorageError,
    UseKind, UseOutcome,
};

use crate::pool::{exec, query_row};
use crate::rows::{day_text, decode_json, i64_of, use_count, write_share};
use crate::schema::db_err;

pub(crate) fn quota_used(conn: &Connection, key: &QuotaKey) -> Result<u32, StorageError> {
    let used: Option<i64> = query_row(
        conn,
        "SELECT used FROM quota WHERE tenant = ?1 AND kind = ?2 AND day = ?3",
        params![key.tenant.as_str(), key.kind.as_str(), day_text(key)],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_err("select quota"))?;
    u32::try_from(used.unwrap_or(0)).map_err(|e| StorageError::Corrupt {
        what: format!("quota {} {} {}", key.tenant, key.kind, key.day),
        reason: e.to_string(),
    })
}

/// Takes one unit if `used < limit`; call inside an IMMEDIATE transaction.
pub(crate) fn consume_in(
    tx: &Connection,
    charge: &QuotaCharge,
) -> Result<QuotaOutcome, StorageError> {
    if charge.limit == 0 {
        return Ok(QuotaOutcome::Exhausted {
            used: quota_used(tx, &charge.key)?,
        });
    }
    // One statement: the WHERE keeps the counter under its limit.
    let used: Option<i64> = tx
        .prepare_cached(
            "INSERT INTO quota (tenant, kind, day, used) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (tenant, kind, day) DO UPDATE SET used = used + 1 WHERE used < ?4
             RETURNING used",
        )
        .and_then(|mut stmt| {
            stmt.query_row(
                params![
                    charge.key.tenant.as_str(),
                    charge.key.kind.as_str(),
                    day_text(&charge.key),
                    charge.limit
                ],
                |r| r.get(0),
            )
            .optional()
        })
        .map_err(db_err("charge quota"))?;
    match used {
        Some(n) => Ok(QuotaOutcome::Consumed {
            used: u32::try_from(n).map_err(|e| StorageError::Corrupt {
                what: format!("quota of tenant {}", charge.key.tenant),
                reason: e.to_string(),
            })?,
        }),
        None => Ok(QuotaOutcome::Exhausted {
            used: quota_used(tx, &charge.key)?,
        }),
    }
}

pub(crate) fn read_throttle(
    conn: &Connection,
    share: &ShareId,
    client: &ClientKey,
) -> Result<ThrottleState, StorageError> {
    let share_part: Option<String> = query_row(
        conn,
        "SELECT body FROM throttle_share WHERE share_id = ?1",
        [share.as_str()],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_err("select throttle_share"))?;
    let client_part: Option<String> = query_row(
        conn,
        "SELECT body FROM throttle_client WHERE share_id = ?1 AND client = ?2",
        [share.as_str(), client.as_str()],
        |r| r.get(0),
    )
    .optional()
    .map_err(db_err("select throttle_client"))?;
    Ok(ThrottleState {
        share: match share_part {
            Some(b) => decode_json(|| format!("throttle of share {share}"), &b)?,
            None => ShareThrottle::default(),
        },
        client: match client_part {
            Some(b) => decode_json(|| format!("throttle of share {share} client {client}"), &b)?,
            None => ClientThrottle::default(),
        },
    })
}

pub(crate) fn write_throttle(
    tx: &Connection,
    share: &ShareId,
    client: &ClientKey,
    state: &ThrottleState,
    faults: &dyn FaultInjector,
) -> Result<(), StorageError> {
    exec(
        tx,
        "INSERT INTO throttle_share (share_id, body) VALUES (?1, ?2)
         ON CONFLICT (share_id) DO UPDATE SET body = excluded.body",
        params![share.as_str(), to_json(&state.share)?],
    )
    .map_err(db_err("write throttle_share"))?;
    faults.check("update_throttle:after_share_part")?;
    exec(
        tx,
        "INSERT INTO throttle_client (share_id, client, body) VALUES (?1, ?2, ?3)
         ON CONFLICT (share_id, client) DO UPDATE SET body = excluded.body",
        params![share.as_str(), client.as_str(), to_json(&state.client)?],
    )
    .map_err(db_err("write throttle_client"))?;
    Ok(())
}

/// `insert_share` inside an open IMMEDIATE transaction: two statements in
/// the common case (insert the row, charge the quota under its limit). A
/// refused charge deletes the row again, so the outcome writes nothing.
pub(crate) fn insert_in(
    tx: &Connection,
    share: &Share,
    charge: Option<&QuotaCharge>,
    faults: &dyn FaultInjector,
) -> Result<InsertOutcome, StorageError> {
    if let Some(c) = charge {
        if c.limit == 0 {
            // Nothing can be charged; only the outcome's precedence is left
            // to decide (a taken id wins, as in every backend).
            let exists: Option<i64> = query_row(
                tx,
                "SELECT 1 FROM shares WHERE share_id = ?1",
                [share.id().as_str()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err("select share"))?;
            return Ok(match exists {
                Some(_) => InsertOutcome::IdTaken,
                None => InsertOutcome::QuotaExhausted {
                    used: quota_used(tx, &c.key)?,
                },
            });
        }
    }
    insert_steps(tx, share, charge, faults)
}

pub(crate) fn insert_steps(
    tx: &Connection,
    share: &Share,
    charge: Option<&QuotaCharge>,
    faults: &dyn FaultInjector,
) -> Result<InsertOutcome, StorageError> {
    if write_share(tx, share, true)? == 0 {
        return Ok(InsertOutcome::IdTaken);
    }
    faults.check("insert_share:after_share")?;
    if let Some(c) = charge {
        if let QuotaOutcome::Exhausted { used } = consume_in(tx, c)? {
            exec(
                tx,
                "DELETE FROM shares WHERE share_id = ?1",
                [share.id().as_str()],
            )
            .map_err(db_err("undo insert"))?;
            return Ok(InsertOutcome::QuotaExhausted { used });
        }
    }
    faults.check("insert_share:after_quota")?;
    Ok(InsertOutcome::Inserted)
}

/// `count_use` inside an open IMMEDIATE transaction: one `UPDATE … RETURNING`
/// that checks the epoch and the limit in its `WHERE`, and needs no JSON.
pub(crate) fn count_in(
    tx: &Connection,
    id: &ShareId,
    kind: UseKind,
    expected_epoch: u64,
) -> Result<UseOutcome, StorageError> {
    let (count, limit) = sharelink_core::storage::columns::use_columns(kind);
    // A counter never passes MAX_COUNT (PDS int64): limited uses stop
    // there, accesses saturate.
    let max = MAX_COUNT;
    let under_limit = limit.map_or(String::new(), |l| {
        format!(" AND ({l} = 0 OR {count} < {l}) AND {count} < {max}")
    });
    let epoch = i64_of(expected_epoch, "token epoch")?;
    let counted: Option<[i64; 5]> = tx
        .prepare_cached(&format!(
            "UPDATE shares SET {count} = {count} + ({count} < {max}), version = version + 1
             WHERE share_id = ?1 AND token_epoch = ?2{under_limit}
             RETURNING access_count, preview_count, download_count, save_count, version"
        ))
        .and_then(|mut stmt| {
            stmt.query_row(params![id.as_str(), epoch], |r| {
                Ok([r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?])
            })
            .optional()
        })
        .map_err(db_err("count use"))?;
    if let Some(row) = counted {
        return Ok(UseOutcome::Counted(use_count(id.as_str(), row)?));
    }
    // Nothing counted: say why.
    let state: Option<(i64, i64)> = tx
        .prepare_cached(&format!(
            "SELECT token_epoch, {} FROM shares WHERE share_id = ?1",
            limit.unwrap_or("0")
        ))
        .and_then(|mut stmt| {
            stmt.query_row([id.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(db_err("select share"))?;
    Ok(match state {
        None => UseOutcome::NotFound,
        Some((e, _)) if e != epoch => UseOutcome::EpochMoved,
        Some((_, l)) => UseOutcome::LimitReached {
            limit: match u64::try_from(l).map_err(|e| StorageError::Corrupt {
                what: format!("share {id}"),
                reason: e.to_string(),
            })? {
                0 => MAX_COUNT,
                l => l,
            },
        },
    })
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| StorageError::backend("encode throttle", e))
}
