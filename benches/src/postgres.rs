//! PostgreSQL: [`PostgresStorage`] against the raw `postgres` crate running
//! the same statements (the SQL of `sharelink-postgres`, word for word) in
//! the same transactions, on one connection, in a schema of its own with
//! the same tables and indexes.
//!
//! Both sides run with `synchronous_commit = off`: on this machine's
//! virtual disk a commit's fsync takes 0.3–1.5 ms and varies more than the
//! work measured, so durable figures would compare the disk with itself.
//! What is left is the client work and the round trips, which is where
//! the two sides can differ.

use std::sync::Arc;

use sharelink_core::*;
use sharelink_postgres::testing::{SchemaGuard, fresh_store_at, test_database_url};
use sharelink_postgres::{PostgresOptions, PostgresStorage};

/// Whether a PostgreSQL answers (else one "skipped" line is printed; with
/// `SHARELINK_REQUIRE_POSTGRES=1` a missing database panics).
pub fn available() -> bool {
    sharelink_postgres::testing::database_ready()
}

/// The test database's URL with `synchronous_commit = off` for the session.
pub fn bench_url() -> String {
    let url = test_database_url();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20synchronous_commit%3Doff")
}

/// A store in a fresh schema, with the fixture share in it.
pub struct PgStore {
    pub store: Arc<PostgresStorage>,
    pub share: Share,
    pub guard: SchemaGuard,
}

impl PgStore {
    /// With `synchronous_commit = off`, for comparisons with the raw crate.
    pub fn new(template: &Share) -> Self {
        Self::at(&bench_url(), template)
    }

    /// With durable commits (the server's default), for group-commit gains.
    pub fn durable(template: &Share) -> Self {
        Self::at(&test_database_url(), template)
    }

    fn at(url: &str, template: &Share) -> Self {
        let (store, guard) = fresh_store_at(url, Arc::new(NoFaults)).expect("postgres store");
        let share = template.clone();
        store.insert_share(&share, None).expect("seed");
        Self {
            store: Arc::new(store),
            share,
            guard,
        }
    }

    /// Replaces the pool with a fresh one on the same schema (new
    /// connections, so new server processes).
    pub fn reconnect(&mut self) {
        let mut options = self.options();
        options.pool_size = 2;
        self.store = Arc::new(PostgresStorage::connect(&options).expect("reconnect"));
    }

    /// Options for another pool on the same schema (a second instance).
    pub fn options(&self) -> PostgresOptions {
        let mut options = PostgresOptions::new(bench_url());
        options.schema = Some(self.guard.schema().to_owned());
        options
    }

    /// `template` under a fresh id, ready to insert.
    pub fn new_share(&self, rng: &mut (impl rand::RngCore + rand::CryptoRng)) -> Share {
        let mut record = ShareRecord::from(&self.share);
        record.id = ShareId::generate(rng, ShareId::DEFAULT_LEN)
            .expect("id")
            .to_string();
        Share::try_from(record).expect("share")
    }
}

const INSERT_SHARE: &str =
    "INSERT INTO shares (share_id, tenant, creator, created_at_ms, updated_at_ms, expiration_ms,
                             status, version, token_epoch, body, access_count, preview_count,
                             download_count, save_count, preview_limit, download_limit, save_limit,
                             share_name, description, name_folded)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                 $18, $19, $20)
         ON CONFLICT (share_id) DO NOTHING";
const CHARGE_QUOTA: &str = "INSERT INTO quota (tenant, kind, day, used) VALUES ($1, $2, $3, 1)
             ON CONFLICT (tenant, kind, day) DO UPDATE SET used = quota.used + 1
             WHERE quota.used < $4
             RETURNING used";
const SELECT_SHARE: &str = "SELECT share_id, body, access_count, preview_count, download_count, save_count, version FROM shares WHERE share_id = $1";
const COUNT_DOWNLOAD: &str = "UPDATE shares SET download_count = download_count + CASE WHEN download_count < 9223372036854775807 THEN 1 ELSE 0 END,
                        version = version + 1
                 WHERE share_id = $1 AND token_epoch = $2 AND (download_limit = 0 OR download_count < download_limit) AND download_count < 9223372036854775807
                 RETURNING access_count, preview_count, download_count, save_count, version";
const COUNT_ACCESS: &str = "UPDATE shares SET access_count = access_count + CASE WHEN access_count < 9223372036854775807 THEN 1 ELSE 0 END,
                        version = version + 1
                 WHERE share_id = $1 AND token_epoch = $2
                 RETURNING access_count, preview_count, download_count, save_count, version";

/// The raw `postgres` crate, one connection, the same statements.
pub struct RawPostgres {
    client: postgres::Client,
    schema: String,
    share: Share,
    body: Vec<u8>,
    throttle: (String, String),
    next: u64,
    _guard: SchemaGuard,
}

impl RawPostgres {
    /// A schema with the store's tables (migrated by the store, which is
    /// then closed), the fixture share in it, and one raw connection.
    pub fn open(template: &Share) -> Self {
        let seeded = PgStore::new(template);
        let guard = seeded.guard;
        drop(seeded.store);
        let client = Self::connect(guard.schema());
        let state = throttle::ThrottleState::default();
        Self {
            client,
            schema: guard.schema().to_owned(),
            body: ShareRecord::encode_share(template).expect("body"),
            share: template.clone(),
            throttle: (
                serde_json::to_string(&state.share).expect("json"),
                serde_json::to_string(&state.client).expect("json"),
            ),
            next: 0,
            _guard: guard,
        }
    }

    fn connect(schema: &str) -> postgres::Client {
        let mut client = postgres::Client::connect(&bench_url(), postgres::NoTls).expect("connect");
        client
            .batch_execute(&format!("SET search_path TO {schema}"))
            .expect("search_path");
        client
    }

    /// A fresh connection (so a new server process).
    pub fn reconnect(&mut self) {
        self.client = Self::connect(&self.schema);
    }

    fn charge(tx: &mut postgres::Transaction<'_>, kind: &str) {
        let _: Option<postgres::Row> = tx
            .query_opt(
                CHARGE_QUOTA,
                &[&"acme", &kind, &"2026-01-01", &i64::from(u32::MAX)],
            )
            .expect("quota");
    }

    /// `insert_share` with a quota charge: the share row, then the quota.
    pub fn insert(&mut self) {
        self.next += 1;
        let id = format!("raw{:019}", self.next);
        let s = &self.share;
        let ms = s.created_at().timestamp_millis();
        let expiration: Option<i64> = None;
        let n = [1i64, 0, 0, 0, 0, 0, 0, 0, 0];
        let name = s.name().as_str();
        let folded = name.to_lowercase();
        let mut tx = self.client.transaction().expect("begin");
        tx.execute(
            INSERT_SHARE,
            &[
                &id,
                &s.tenant().as_str(),
                &s.creator().user_id.as_str(),
                &ms,
                &ms,
                &expiration,
                &"enabled",
                &n[0],
                &n[1],
                &self.body,
                &n[2],
                &n[3],
                &n[4],
                &n[5],
                &n[6],
                &n[7],
                &n[8],
                &name,
                &s.description().as_str(),
                &folded,
            ],
        )
        .expect("insert");
        Self::charge(&mut tx, "create");
        tx.commit().expect("commit");
    }

    /// `get_share`: one select, columns read.
    pub fn get(&mut self) {
        let row = self
            .client
            .query_opt(SELECT_SHARE, &[&self.share.id().as_str()])
            .expect("select")
            .expect("row");
        let _body: Vec<u8> = row.get(1);
        let _version: i64 = row.get(6);
    }

    /// `count_use` of a download: one conditional update.
    pub fn count_download(&mut self) {
        let epoch = i64::try_from(self.share.token_epoch()).expect("epoch");
        let mut tx = self.client.transaction().expect("begin");
        let _: Option<postgres::Row> = tx
            .query_opt(COUNT_DOWNLOAD, &[&self.share.id().as_str(), &epoch])
            .expect("count");
        tx.commit().expect("commit");
    }

    /// `consume_quota`: one conditional upsert.
    pub fn quota(&mut self) {
        let mut tx = self.client.transaction().expect("begin");
        Self::charge(&mut tx, "access");
        tx.commit().expect("commit");
    }

    /// `record_access` (a token issue): count the access, create and lock
    /// the throttle rows, charge the quota, write the throttle rows.
    pub fn record_access(&mut self) {
        let id = self.share.id().as_str();
        let epoch = i64::try_from(self.share.token_epoch()).expect("epoch");
        let client = "198.51.100.0/24";
        let (share_part, client_part) = self.throttle.clone();
        let mut tx = self.client.transaction().expect("begin");
        let _: Option<postgres::Row> = tx.query_opt(COUNT_ACCESS, &[&id, &epoch]).expect("count");
        tx.execute(
            "INSERT INTO throttle_share (share_id, body) VALUES ($1, $2)
         ON CONFLICT (share_id) DO NOTHING",
            &[&id, &share_part],
        )
        .expect("throttle");
        tx.execute(
            "INSERT INTO throttle_client (share_id, client, body) VALUES ($1, $2, $3)
         ON CONFLICT (share_id, client) DO NOTHING",
            &[&id, &client, &client_part],
        )
        .expect("throttle");
        let a: String = tx
            .query_one(
                "SELECT body FROM throttle_share WHERE share_id = $1 FOR UPDATE",
                &[&id],
            )
            .expect("lock")
            .get(0);
        let b: String = tx
            .query_one(
                "SELECT body FROM throttle_client WHERE share_id = $1 AND client = $2 FOR UPDATE",
                &[&id, &client],
            )
            .expect("lock")
            .get(0);
        Self::charge(&mut tx, "access");
        tx.execute(
            "UPDATE throttle_share SET body = $2 WHERE share_id = $1",
            &[&id, &a],
        )
        .expect("write");
        tx.execute(
            "UPDATE throttle_client SET body = $3 WHERE share_id = $1 AND client = $2",
            &[&id, &client, &b],
        )
        .expect("write");
        tx.commit().expect("commit");
    }
}

/// A raw connection to the test database, working in `schema`.
pub fn connect_to(schema: &str) -> postgres::Client {
    let mut client =
        postgres::Client::connect(&test_database_url(), postgres::NoTls).expect("connect");
    client
        .batch_execute(&format!("SET search_path TO {schema}"))
        .expect("search_path");
    client
}

/// Bulk-loads copies of the share `template` under `ids`, server-side (a
/// scale table's setup, not a measured path): each copy is the template's
/// row with its id, in the column and in the stored body, replaced.
pub fn bulk_copy_share(client: &mut postgres::Client, template: &ShareId, ids: &[ShareId]) {
    let ids: Vec<&str> = ids.iter().map(ShareId::as_str).collect();
    let needle = format!("\"id\":\"{template}\"");
    client
        .execute(
            "INSERT INTO shares (share_id, tenant, creator, created_at_ms, updated_at_ms, expiration_ms,
                 status, version, token_epoch, body, access_count, preview_count, download_count,
                 save_count, preview_limit, download_limit, save_limit, share_name, description,
                 name_folded)
             SELECT n.id, t.tenant, t.creator, t.created_at_ms, t.updated_at_ms, t.expiration_ms,
                 t.status, t.version, t.token_epoch,
                 convert_to(replace(convert_from(t.body, 'UTF8'), $3, '\"id\":\"' || n.id || '\"'), 'UTF8'),
                 0, 0, 0, 0, t.preview_limit, t.download_limit, t.save_limit, t.share_name,
                 t.description, t.name_folded
             FROM unnest($1::text[]) AS n(id), shares t WHERE t.share_id = $2",
            &[&ids, &template.as_str(), &needle],
        )
        .expect("bulk load");
}

/// Bytes the tables of `schema` take, indexes and TOAST included.
pub fn schema_bytes(client: &mut postgres::Client, schema: &str) -> u64 {
    let n: i64 = client
        .query_one(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::BIGINT FROM pg_class c
             JOIN pg_namespace ns ON ns.oid = c.relnamespace
             WHERE ns.nspname = $1 AND c.relkind = 'r'",
            &[&schema],
        )
        .expect("size")
        .get(0);
    u64::try_from(n).unwrap_or(0)
}
