//! The SQL of quotas, counted uses and throttle records: each one
//! conditional statement, or a few inside the caller's transaction.

use postgres::GenericClient;
use sharelink_core::fault::FaultInjector;
use sharelink_core::share::MAX_COUNT;
use sharelink_core::throttle::{ClientThrottle, ShareThrottle, ThrottleState};
use sharelink_core::{
    ClientKey, InsertOutcome, QuotaCharge, QuotaKey, QuotaOutcome, Share, ShareId, StorageError,
    UseKind, UseOutcome,
};

pub(crate) use sharelink_core::storage::columns::decode_json;

use crate::pool::db_err;
use crate::rows::{COUNT_COLUMNS, count_row, day_text, i64_of, write_share};

fn used_of(key: &QuotaKey, n: i64) -> Result<u32, StorageError> {
    u32::try_from(n).map_err(|e| StorageError::Corrupt {
        what: format!("quota {} {} {}", key.tenant, key.kind, key.day),
        reason: e.to_string(),
    })
}

pub(crate) fn quota_used(
    conn: &mut impl GenericClient,
    key: &QuotaKey,
) -> Result<u32, StorageError> {
    let row = conn
        .query_opt(
            "SELECT used FROM quota WHERE tenant = $1 AND kind = $2 AND day = $3",
            &[&key.tenant.as_str(), &key.kind.as_str(), &day_text(key)],
        )
        .map_err(db_err("select quota"))?;
    let used: i64 = match row {
        Some(r) => r.try_get(0).map_err(db_err("read quota"))?,
        None => 0,
    };
    used_of(key, used)
}

/// Takes one unit if `used < limit`: one `INSERT … ON CONFLICT … DO UPDATE
/// … WHERE … RETURNING`, which PostgreSQL runs under the row's lock and
/// re-checks on the newest row version, so concurrent charges on any
/// number of connections never pass the limit.
pub(crate) fn consume_in(
    conn: &mut impl GenericClient,
    charge: &QuotaCharge,
) -> Result<QuotaOutcome, StorageError> {
    if charge.limit == 0 {
        return Ok(QuotaOutcome::Exhausted {
            used: quota_used(conn, &charge.key)?,
        });
    }
    let row = conn
        .query_opt(
            "INSERT INTO quota (tenant, kind, day, used) VALUES ($1, $2, $3, 1)
             ON CONFLICT (tenant, kind, day) DO UPDATE SET used = quota.used + 1
             WHERE quota.used < $4
             RETURNING used",
            &[
                &charge.key.tenant.as_str(),
                &charge.key.kind.as_str(),
                &day_text(&charge.key),
                &i64::from(charge.limit),
            ],
        )
        .map_err(db_err("charge quota"))?;
    match row {
        Some(r) => Ok(QuotaOutcome::Consumed {
            used: used_of(&charge.key, r.try_get(0).map_err(db_err("read quota"))?)?,
        }),
        None => Ok(QuotaOutcome::Exhausted {
            used: quota_used(conn, &charge.key)?,
        }),
    }
}

pub(crate) fn to_json<T: serde::Serialize>(v: &T) -> Result<String, StorageError> {
    serde_json::to_string(v).map_err(|e| StorageError::backend("encode throttle", e))
}

/// Reads the `(share, client)` throttle state **and locks it** for the rest
/// of the transaction: missing rows are first created with the default
/// state, so that two first-time writers cannot both read "nothing".
pub(crate) fn lock_throttle(
    conn: &mut impl GenericClient,
    share: &ShareId,
    client: &ClientKey,
) -> Result<ThrottleState, StorageError> {
    conn.execute(
        "INSERT INTO throttle_share (share_id, body) VALUES ($1, $2)
         ON CONFLICT (share_id) DO NOTHING",
        &[&share.as_str(), &to_json(&ShareThrottle::default())?],
    )
    .map_err(db_err("create throttle_share"))?;
    conn.execute(
        "INSERT INTO throttle_client (share_id, client, body) VALUES ($1, $2, $3)
         ON CONFLICT (share_id, client) DO NOTHING",
        &[
            &share.as_str(),
            &client.as_str(),
            &to_json(&ClientThrottle::default())?,
        ],
    )
    .map_err(db_err("create throttle_client"))?;
    let share_part: String = conn
        .query_one(
            "SELECT body FROM throttle_share WHERE share_id = $1 FOR UPDATE",
            &[&share.as_str()],
        )
        .and_then(|r| r.try_get(0))
        .map_err(db_err("lock throttle_share"))?;
    let client_part: String = conn
        .query_one(
            "SELECT body FROM throttle_client WHERE share_id = $1 AND client = $2 FOR UPDATE",
            &[&share.as_str(), &client.as_str()],
        )
        .and_then(|r| r.try_get(0))
        .map_err(db_err("lock throttle_client"))?;
    Ok(ThrottleState {
        share: decode_json(|| format!("throttle of share {share}"), &share_part)?,
        client: decode_json(
            || format!("throttle of share {share} client {client}"),
            &client_part,
        )?,
    })
}

pub(crate) fn write_throttle(
    conn: &mut impl GenericClient,
    share: &ShareId,
    client: &ClientKey,
    state: &ThrottleState,
    faults: &dyn FaultInjector,
) -> Result<(), StorageError> {
    conn.execute(
        "UPDATE throttle_share SET body = $2 WHERE share_id = $1",
        &[&share.as_str(), &to_json(&state.share)?],
    )
    .map_err(db_err("write throttle_share"))?;
    faults.check("update_throttle:after_share_part")?;
    conn.execute(
        "UPDATE throttle_client SET body = $3 WHERE share_id = $1 AND client = $2",
        &[&share.as_str(), &client.as_str(), &to_json(&state.client)?],
    )
    .map_err(db_err("write throttle_client"))?;
    Ok(())
}

/// `insert_share` inside the caller's transaction: insert the row, then
/// charge the quota under its limit. The outcome says whether to commit:
/// anything but `Inserted` must be rolled back by the caller.
pub(crate) fn insert_in(
    conn: &mut impl GenericClient,
    share: &Share,
    charge: Option<&QuotaCharge>,
    faults: &dyn FaultInjector,
) -> Result<InsertOutcome, StorageError> {
    if write_share(conn, share, true)? == 0 {
        return Ok(InsertOutcome::IdTaken);
    }
    faults.check("insert_share:after_share")?;
    if let Some(c) = charge {
        if let QuotaOutcome::Exhausted { used } = consume_in(conn, c)? {
            return Ok(InsertOutcome::QuotaExhausted { used });
        }
    }
    faults.check("insert_share:after_quota")?;
    Ok(InsertOutcome::Inserted)
}

/// `count_use`: one `UPDATE … RETURNING` that checks the epoch and the
/// limit in its `WHERE` (the row lock makes it exact under any
/// concurrency); when nothing is counted, one read says why.
pub(crate) fn count_in(
    conn: &mut impl GenericClient,
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
    let counted = conn
        .query_opt(
            &format!(
                "UPDATE shares SET {count} = {count} + CASE WHEN {count} < {max} THEN 1 ELSE 0 END,
                        version = version + 1
                 WHERE share_id = $1 AND token_epoch = $2{under_limit}
                 RETURNING {COUNT_COLUMNS}"
            ),
            &[&id.as_str(), &epoch],
        )
        .map_err(db_err("count use"))?;
    if let Some(row) = counted {
        return Ok(UseOutcome::Counted(count_row(id.as_str(), &row)?));
    }
    let state = conn
        .query_opt(
            &format!(
                "SELECT token_epoch, {} FROM shares WHERE share_id = $1",
                limit.unwrap_or("0::BIGINT")
            ),
            &[&id.as_str()],
        )
        .map_err(db_err("select share"))?;
    let Some(state) = state else {
        return Ok(UseOutcome::NotFound);
    };
    let (e, l): (i64, i64) = (
        state.try_get(0).map_err(db_err("read share"))?,
        state.try_get(1).map_err(db_err("read share"))?,
    );
    if e != epoch {
        return Ok(UseOutcome::EpochMoved);
    }
    let limit = u64::try_from(l).map_err(|e| StorageError::Corrupt {
        what: format!("share {id}"),
        reason: e.to_string(),
    })?;
    Ok(UseOutcome::LimitReached {
        limit: if limit == 0 { MAX_COUNT } else { limit },
    })
}
