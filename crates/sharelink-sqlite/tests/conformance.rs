//! The shared conformance suite, against a file database (durable default)
//! and against an in-memory database.

use sharelink_sqlite::SqliteStorage;
use sharelink_testkit::golden::StoredBodies;

/// Raw access to the stored share body, for the golden stored-format case.
const STORED_BODIES: StoredBodies<SqliteStorage> = StoredBodies {
    read: |s, id| s.danger_raw_share_body(id).expect("read body"),
    write: |s, id, body| s.danger_overwrite_share_body(id, body).expect("write body"),
};

mod file {
    use sharelink_sqlite::{SqliteOptions, SqliteStorage};

    sharelink_testkit::conformance_suite!(stored_bodies: super::STORED_BODIES, |faults| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStorage::open(dir.path().join("db.sqlite"), &SqliteOptions::default())
            .unwrap()
            .with_fault_injector(faults);
        (store, dir)
    });
}

mod file_normal_sync {
    use sharelink_sqlite::{SqliteOptions, SqliteStorage, Synchronous};

    sharelink_testkit::conformance_suite!(stored_bodies: super::STORED_BODIES, |faults| {
        let dir = tempfile::tempdir().unwrap();
        let options = SqliteOptions {
            synchronous: Synchronous::Normal,
            ..SqliteOptions::default()
        };
        let store = SqliteStorage::open(dir.path().join("db.sqlite"), &options)
            .unwrap()
            .with_fault_injector(faults);
        (store, dir)
    });
}

mod memory {
    use sharelink_sqlite::SqliteStorage;

    sharelink_testkit::conformance_suite!(stored_bodies: super::STORED_BODIES, |faults| {
        (
            SqliteStorage::open_in_memory()
                .unwrap()
                .with_fault_injector(faults),
            (),
        )
    });
}
