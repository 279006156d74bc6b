//! Listing a creator's shares: one keyset query per page, served in order
//! by the index of the sort column.
//!
//! ```text
//! SELECT … FROM shares
//!  WHERE tenant = $1 AND creator = $2
//!    AND (sort_col, share_id) > ($k, $id)     -- `<` when descending
//!    AND <filter conditions>
//!  ORDER BY sort_col, share_id                -- both DESC when descending
//!  LIMIT limit + 1
//! ```
//!
//! Text columns are `COLLATE "C"`, so the order is the bytes' order, as in
//! every backend. Name search is `strpos` on `name_folded`, the name
//! folded in Rust by [`fold_case`].

use postgres::types::ToSql;
use sharelink_core::listing::{
    ShareCursor, ShareListQuery, ShareOrderBy, SharePage, SortKey, fold_case,
};
use sharelink_core::{Member, StorageError};

use crate::pool::db_err;
use crate::rows::{SHARE_COLUMNS, decode_row, status_text};

type Param = Box<dyn ToSql + Sync>;

/// The bound values as the driver takes them.
fn refs(values: &[Param]) -> Vec<&(dyn ToSql + Sync)> {
    values
        .iter()
        .map(|v| v.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

fn sort_column(by: ShareOrderBy) -> &'static str {
    match by {
        ShareOrderBy::CreatedAt => "created_at_ms",
        ShareOrderBy::UpdatedAt => "updated_at_ms",
        ShareOrderBy::ShareName => "share_name",
        ShareOrderBy::Description => "description",
    }
}

fn sort_value(key: &SortKey) -> Param {
    match key {
        SortKey::Time(ms) => Box::new(*ms),
        SortKey::Text(text) => Box::new(text.clone()),
    }
}

/// Appends `value` and returns its placeholder.
fn bind(values: &mut Vec<Param>, value: Param) -> String {
    values.push(value);
    format!("${}", values.len())
}

/// The `WHERE` clause (owner, filter and cursor) and its values.
fn conditions(owner: &Member, query: &ShareListQuery) -> (String, Vec<Param>) {
    let mut values: Vec<Param> = Vec::new();
    let mut sql = format!(
        "tenant = {} AND creator = {}",
        bind(&mut values, Box::new(owner.tenant.as_str().to_owned())),
        bind(&mut values, Box::new(owner.user_id.as_str().to_owned())),
    );
    let f = &query.filter;
    if let Some(needle) = &f.name_contains {
        let p = bind(&mut values, Box::new(fold_case(needle)));
        sql.push_str(&format!(" AND strpos(name_folded, {p}) > 0"));
    }
    if let Some(status) = f.status {
        let p = bind(&mut values, Box::new(status_text(status).to_owned()));
        sql.push_str(&format!(" AND status = {p}"));
    }
    for (bound, column, op) in [
        (f.created_from, "created_at_ms", ">="),
        (f.created_until, "created_at_ms", "<"),
        (f.updated_from, "updated_at_ms", ">="),
        (f.updated_until, "updated_at_ms", "<"),
    ] {
        if let Some(t) = bound {
            let p = bind(&mut values, Box::new(t.timestamp_millis()));
            sql.push_str(&format!(" AND {column} {op} {p}"));
        }
    }
    if let Some(cursor) = &query.page.after {
        let column = sort_column(query.order.by);
        let after = if query.order.descending { "<" } else { ">" };
        let k = bind(&mut values, sort_value(&cursor.key));
        let id = bind(&mut values, Box::new(cursor.share_id.as_str().to_owned()));
        sql.push_str(&format!(" AND ({column}, share_id) {after} ({k}, {id})"));
    }
    (sql, values)
}

/// One page of `owner`'s shares for `query` (checked by the engine).
pub(crate) fn list(
    conn: &mut postgres::Client,
    owner: &Member,
    query: &ShareListQuery,
) -> Result<SharePage, StorageError> {
    let limit = query.page.limit.max(1);
    let column = sort_column(query.order.by);
    let direction = if query.order.descending {
        "DESC"
    } else {
        "ASC"
    };
    let (filter, mut values) = conditions(owner, query);
    let total = if query.page.count_total {
        let n: i64 = conn
            .query_one(
                &format!("SELECT count(*) FROM shares WHERE {filter}"),
                &refs(&values),
            )
            .and_then(|r| r.try_get(0))
            .map_err(db_err("count shares"))?;
        Some(u64::try_from(n).unwrap_or(0))
    } else {
        None
    };
    let take = bind(
        &mut values,
        Box::new(i64::try_from(limit + 1).unwrap_or(i64::MAX)),
    );
    let rows = conn
        .query(
            &format!(
                "SELECT share_id, {SHARE_COLUMNS} FROM shares WHERE {filter}
                 ORDER BY {column} {direction}, share_id {direction} LIMIT {take}"
            ),
            &refs(&values),
        )
        .map_err(db_err("list"))?;
    let mut items = rows.iter().map(decode_row).collect::<Result<Vec<_>, _>>()?;
    let more = items.len() > limit;
    items.truncate(limit);
    let next = match items.last() {
        Some(last) if more => Some(ShareCursor::after(last, query.order)),
        _ => None,
    };
    Ok(SharePage { items, next, total })
}
