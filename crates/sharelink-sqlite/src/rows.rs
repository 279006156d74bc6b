//! A share row: how a share is written to and read from the `shares` table.

use rusqlite::{Connection, OptionalExtension, params};
use sharelink_core::listing::fold_case;
use sharelink_core::share::ShareRecord;
use sharelink_core::{Share, ShareId, StorageError, UseKind};

pub(crate) use sharelink_core::storage::columns::{
    day_text, decode_json, i64_of, status_text, use_count,
};

use crate::schema::db_err;

pub(crate) fn encode_share(share: &Share) -> Result<String, StorageError> {
    String::from_utf8(ShareRecord::encode_share(share)?)
        .map_err(|e| StorageError::backend("share record body is not UTF-8", e))
}

/// Decodes a stored `shares.body` column for the row with key `id`, with
/// zero counters at version 1. Never panics; exposed for fuzzing.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn decode_stored_share(id: &str, body: &str) -> Result<Share, StorageError> {
    ShareRecord::decode_share(id, body.as_bytes(), sharelink_core::Counters::default(), 1)
}

// ----- statements -----------------------------------------------------------

/// The columns a share is rebuilt from, after `share_id`.
pub(crate) const SHARE_COLUMNS: &str =
    "body, access_count, preview_count, download_count, save_count, version";

/// A share row: the JSON body plus the counters and version, which live in
/// columns so that counting is one SQL statement and needs no JSON.
pub(crate) struct ShareRow {
    pub(crate) id: String,
    pub(crate) body: String,
    pub(crate) counters: [i64; 4],
    pub(crate) version: i64,
}

impl ShareRow {
    /// Reads `share_id, SHARE_COLUMNS` starting at column 0.
    pub(crate) fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            id: r.get(0)?,
            body: r.get(1)?,
            counters: [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
            version: r.get(6)?,
        })
    }

    pub(crate) fn decode(self) -> Result<Share, StorageError> {
        let [access, preview, download, save] = self.counters;
        let count = use_count(&self.id, [access, preview, download, save, self.version])?;
        ShareRecord::decode_share(
            &self.id,
            self.body.as_bytes(),
            count.counters,
            count.version,
        )
    }
}

pub(crate) fn select_share(conn: &Connection, id: &ShareId) -> Result<Option<Share>, StorageError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT share_id, {SHARE_COLUMNS} FROM shares WHERE share_id = ?1"
        ))
        .and_then(|mut stmt| stmt.query_row([id.as_str()], ShareRow::read).optional())
        .map_err(db_err("select share"))?;
    row.map(ShareRow::decode).transpose()
}

pub(crate) fn write_share(
    tx: &Connection,
    share: &Share,
    insert: bool,
) -> Result<usize, StorageError> {
    let sql = if insert {
        "INSERT INTO shares (share_id, tenant, creator, created_at_ms, updated_at_ms, expiration_ms,
                             status, version, token_epoch, body, access_count, preview_count,
                             download_count, save_count, preview_limit, download_limit, save_limit,
                             share_name, description, name_folded)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20)
         ON CONFLICT (share_id) DO NOTHING"
    } else {
        "UPDATE shares SET tenant = ?2, creator = ?3, created_at_ms = ?4, updated_at_ms = ?5,
                expiration_ms = ?6, status = ?7, version = ?8, token_epoch = ?9, body = ?10,
                access_count = ?11, preview_count = ?12, download_count = ?13, save_count = ?14,
                preview_limit = ?15, download_limit = ?16, save_limit = ?17,
                share_name = ?18, description = ?19, name_folded = ?20
         WHERE share_id = ?1"
    };
    let (c, l) = (share.counters(), share.limits());
    let stmt = tx
        .prepare_cached(sql)
        .map_err(db_err("prepare write share"));
    stmt?
        .execute(params![
            share.id().as_str(),
            share.tenant().as_str(),
            share.creator().user_id.as_str(),
            share.created_at().timestamp_millis(),
            share.updated_at().timestamp_millis(),
            share.expiration().map(|t| t.timestamp_millis()),
            status_text(share.status()),
            i64_of(share.version(), "version")?,
            i64_of(share.token_epoch(), "token epoch")?,
            encode_share(share)?,
            i64_of(c.access, "counter")?,
            i64_of(c.preview, "counter")?,
            i64_of(c.download, "counter")?,
            i64_of(c.save, "counter")?,
            i64_of(l.wire(UseKind::Preview), "limit")?,
            i64_of(l.wire(UseKind::Download), "limit")?,
            i64_of(l.wire(UseKind::Save), "limit")?,
            share.name().as_str(),
            share.description().as_str(),
            fold_case(share.name().as_str()),
        ])
        .map_err(db_err("write share"))
}
