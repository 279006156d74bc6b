//! A share row: how a share is written to and read from the `shares` table.

use postgres::GenericClient;
use postgres::types::ToSql;
use sharelink_core::listing::fold_case;
use sharelink_core::{Share, ShareId, ShareRecord, StorageError, UseCount, UseKind};

pub(crate) use sharelink_core::storage::columns::{day_text, i64_of, status_text, use_count};

use crate::pool::db_err;

/// The columns a share is rebuilt from, after `share_id`.
pub(crate) const SHARE_COLUMNS: &str =
    "body, access_count, preview_count, download_count, save_count, version";

/// The counters and version a counting statement returns.
pub(crate) const COUNT_COLUMNS: &str =
    "access_count, preview_count, download_count, save_count, version";

/// Reads `share_id, SHARE_COLUMNS` starting at column 0 and rebuilds the
/// share (every invariant re-checked).
pub(crate) fn decode_row(row: &postgres::Row) -> Result<Share, StorageError> {
    let get = |e: postgres::Error| StorageError::backend("postgres: read a share row", e);
    let id: String = row.try_get(0).map_err(get)?;
    let body: Vec<u8> = row.try_get(1).map_err(get)?;
    let mut nums = [0i64; 5];
    for (i, slot) in nums.iter_mut().enumerate() {
        *slot = row.try_get(i + 2).map_err(get)?;
    }
    let count = use_count(&id, nums)?;
    ShareRecord::decode_share(&id, &body, count.counters, count.version)
}

/// Reads the five `COUNT_COLUMNS` of a row.
pub(crate) fn count_row(id: &str, row: &postgres::Row) -> Result<UseCount, StorageError> {
    let mut nums = [0i64; 5];
    for (i, slot) in nums.iter_mut().enumerate() {
        *slot = row
            .try_get(i)
            .map_err(|e| StorageError::backend("postgres: read counters", e))?;
    }
    use_count(id, nums)
}

pub(crate) fn select_share(
    conn: &mut impl GenericClient,
    id: &ShareId,
) -> Result<Option<Share>, StorageError> {
    let row = conn
        .query_opt(
            &format!("SELECT share_id, {SHARE_COLUMNS} FROM shares WHERE share_id = $1"),
            &[&id.as_str()],
        )
        .map_err(db_err("select share"))?;
    row.as_ref().map(decode_row).transpose()
}

/// Inserts (`insert`, doing nothing if the id is taken) or overwrites a
/// share row. Returns the number of rows written.
pub(crate) fn write_share(
    conn: &mut impl GenericClient,
    share: &Share,
    insert: bool,
) -> Result<u64, StorageError> {
    let sql = if insert {
        "INSERT INTO shares (share_id, tenant, creator, created_at_ms, updated_at_ms, expiration_ms,
                             status, version, token_epoch, body, access_count, preview_count,
                             download_count, save_count, preview_limit, download_limit, save_limit,
                             share_name, description, name_folded)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19, $20)
         ON CONFLICT (share_id) DO NOTHING"
    } else {
        "UPDATE shares SET tenant = $2, creator = $3, created_at_ms = $4, updated_at_ms = $5,
                expiration_ms = $6, status = $7, version = $8, token_epoch = $9, body = $10,
                access_count = $11, preview_count = $12, download_count = $13, save_count = $14,
                preview_limit = $15, download_limit = $16, save_limit = $17,
                share_name = $18, description = $19, name_folded = $20
         WHERE share_id = $1"
    };
    let (c, l) = (share.counters(), share.limits());
    let body = ShareRecord::encode_share(share)?;
    let expiration = share.expiration().map(|t| t.timestamp_millis());
    let nums = [
        i64_of(share.version(), "version")?,
        i64_of(share.token_epoch(), "token epoch")?,
        i64_of(c.access, "counter")?,
        i64_of(c.preview, "counter")?,
        i64_of(c.download, "counter")?,
        i64_of(c.save, "counter")?,
        i64_of(l.wire(UseKind::Preview), "limit")?,
        i64_of(l.wire(UseKind::Download), "limit")?,
        i64_of(l.wire(UseKind::Save), "limit")?,
    ];
    let folded = fold_case(share.name().as_str());
    let params: [&(dyn ToSql + Sync); 20] = [
        &share.id().as_str(),
        &share.tenant().as_str(),
        &share.creator().user_id.as_str(),
        &share.created_at().timestamp_millis(),
        &share.updated_at().timestamp_millis(),
        &expiration,
        &status_text(share.status()),
        &nums[0],
        &nums[1],
        &body,
        &nums[2],
        &nums[3],
        &nums[4],
        &nums[5],
        &nums[6],
        &nums[7],
        &nums[8],
        &share.name().as_str(),
        &share.description().as_str(),
        &folded,
    ];
    conn.execute(sql, &params).map_err(db_err("write share"))
}
