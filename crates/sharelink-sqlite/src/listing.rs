//! Listing a creator's shares: one keyset query per page, served in order
//! by the index of the sort column (`shares_by_creator`,
//! `shares_by_updated`, `shares_by_name`, `shares_by_description`).
//!
//! ```text
//! SELECT … FROM shares
//!  WHERE tenant = ? AND creator = ?
//!    AND (sort_col, share_id) > (?, ?)        -- `<` when descending
//!    AND <filter conditions>
//!  ORDER BY sort_col, share_id                -- both DESC when descending
//!  LIMIT limit + 1
//! ```
//!
//! The filter is SQL too: status and time ranges on their columns, name
//! search with `instr` on `name_folded` (the name folded in Rust by
//! [`fold_case`], so SQLite's ASCII-only `lower` never decides).

use rusqlite::types::Value;
use rusqlite::{Connection, params_from_iter};
use sharelink_core::listing::{
    ShareCursor, ShareListQuery, ShareOrderBy, SharePage, SortKey, fold_case,
};
use sharelink_core::{Member, StorageError};

use crate::rows::{SHARE_COLUMNS, ShareRow, status_text};
use crate::schema::db_err;

/// The column a listing sorts by.
fn sort_column(by: ShareOrderBy) -> &'static str {
    match by {
        ShareOrderBy::CreatedAt => "created_at_ms",
        ShareOrderBy::UpdatedAt => "updated_at_ms",
        ShareOrderBy::ShareName => "share_name",
        ShareOrderBy::Description => "description",
    }
}

fn sort_value(key: &SortKey) -> Value {
    match key {
        SortKey::Time(ms) => Value::Integer(*ms),
        SortKey::Text(text) => Value::Text(text.clone()),
    }
}

/// The `WHERE` clause (owner and filter, not the cursor) and its values.
fn conditions(owner: &Member, query: &ShareListQuery) -> (String, Vec<Value>) {
    let mut sql = String::from("tenant = ? AND creator = ?");
    let mut values = vec![
        Value::Text(owner.tenant.as_str().to_owned()),
        Value::Text(owner.user_id.as_str().to_owned()),
    ];
    let f = &query.filter;
    if let Some(needle) = &f.name_contains {
        sql.push_str(" AND instr(name_folded, ?) > 0");
        values.push(Value::Text(fold_case(needle)));
    }
    if let Some(status) = f.status {
        sql.push_str(" AND status = ?");
        values.push(Value::Text(status_text(status).to_owned()));
    }
    let ms = |t: chrono::DateTime<chrono::Utc>| Value::Integer(t.timestamp_millis());
    for (bound, clause) in [
        (f.created_from, " AND created_at_ms >= ?"),
        (f.created_until, " AND created_at_ms < ?"),
        (f.updated_from, " AND updated_at_ms >= ?"),
        (f.updated_until, " AND updated_at_ms < ?"),
    ] {
        if let Some(t) = bound {
            sql.push_str(clause);
            values.push(ms(t));
        }
    }
    (sql, values)
}

/// One page of `owner`'s shares for `query` (checked by the engine).
pub(crate) fn list(
    conn: &Connection,
    owner: &Member,
    query: &ShareListQuery,
) -> Result<SharePage, StorageError> {
    let limit = query.page.limit.max(1);
    let column = sort_column(query.order.by);
    let (direction, after) = if query.order.descending {
        ("DESC", "<")
    } else {
        ("ASC", ">")
    };
    let (mut filter, mut values) = conditions(owner, query);
    if let Some(cursor) = &query.page.after {
        filter.push_str(&format!(" AND ({column}, share_id) {after} (?, ?)"));
        values.push(sort_value(&cursor.key));
        values.push(Value::Text(cursor.share_id.as_str().to_owned()));
    }
    let total = if query.page.count_total {
        let n: i64 = conn
            .prepare_cached(&format!("SELECT count(*) FROM shares WHERE {filter}"))
            .and_then(|mut stmt| stmt.query_row(params_from_iter(values.iter()), |r| r.get(0)))
            .map_err(db_err("count shares"))?;
        Some(u64::try_from(n).unwrap_or(0))
    } else {
        None
    };
    values.push(Value::Integer(i64::try_from(limit + 1).unwrap_or(i64::MAX)));
    let sql = format!(
        "SELECT share_id, {SHARE_COLUMNS} FROM shares WHERE {filter}
         ORDER BY {column} {direction}, share_id {direction} LIMIT ?"
    );
    let mut stmt = conn.prepare_cached(&sql).map_err(db_err("prepare list"))?;
    let rows = stmt
        .query_map(params_from_iter(values.iter()), ShareRow::read)
        .map_err(db_err("list"))?;
    let mut items = Vec::with_capacity(limit + 1);
    for row in rows {
        items.push(row.map_err(db_err("list row"))?.decode()?);
    }
    let more = items.len() > limit;
    items.truncate(limit);
    let next = match items.last() {
        Some(last) if more => Some(ShareCursor::after(last, query.order)),
        _ => None,
    };
    Ok(SharePage { items, next, total })
}
