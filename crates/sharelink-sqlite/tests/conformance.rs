//! The shared conformance suite, against a file database (durable default)
//! and against an in-memory database.

mod file {
    use sharelink_sqlite::{SqliteOptions, SqliteStorage};

    sharelink_testkit::conformance_suite!(|faults| {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStorage::open(dir.path().join("db.sqlite"), &SqliteOptions::default())
            .unwrap()
            .with_fault_injector(faults);
        (store, dir)
    });
}

mod file_normal_sync {
    use sharelink_sqlite::{SqliteOptions, SqliteStorage, Synchronous};

    sharelink_testkit::conformance_suite!(|faults| {
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

    sharelink_testkit::conformance_suite!(|faults| {
        (
            SqliteStorage::open_in_memory()
                .unwrap()
                .with_fault_injector(faults),
            (),
        )
    });
}
