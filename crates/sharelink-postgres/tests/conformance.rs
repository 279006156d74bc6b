//! The shared conformance suite against PostgreSQL: each test in a schema
//! of its own. Without a database, every test returns after one "skipped"
//! line (or fails, with `SHARELINK_REQUIRE_POSTGRES=1`).

use sharelink_postgres::PostgresStorage;
use sharelink_postgres::testing::{database_ready, fresh_store};
use sharelink_testkit::golden::StoredBodies;

/// Raw access to the stored share body, for the golden stored-format case.
const STORED_BODIES: StoredBodies<PostgresStorage> = StoredBodies {
    read: |s, id| s.danger_raw_share_body(id).expect("read body"),
    write: |s, id, body| s.danger_overwrite_share_body(id, body).expect("write body"),
};

sharelink_testkit::conformance_suite!(
    requires: database_ready,
    stored_bodies: STORED_BODIES,
    |faults| fresh_store(faults).expect("a store in a fresh schema")
);
