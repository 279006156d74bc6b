//! The shared conformance suite, with and without flushing every write.

mod flush {
    use sharelink_sled::{SledOptions, SledStorage};

    sharelink_testkit::conformance_suite!(|faults| {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStorage::open(dir.path(), &SledOptions::default())
            .unwrap()
            .with_fault_injector(faults);
        (store, dir)
    });
}

mod no_flush {
    use sharelink_sled::{SledOptions, SledStorage};

    sharelink_testkit::conformance_suite!(|faults| {
        let dir = tempfile::tempdir().unwrap();
        let options = SledOptions {
            flush_every_write: false,
            ..SledOptions::default()
        };
        let store = SledStorage::open(dir.path(), &options)
            .unwrap()
            .with_fault_injector(faults);
        (store, dir)
    });
}
