//! The shared conformance suite, with and without flushing every write.

use sharelink_sled::SledStorage;
use sharelink_testkit::golden::StoredBodies;

/// Raw access to the stored share body, for the golden stored-format case.
const STORED_BODIES: StoredBodies<SledStorage> = StoredBodies {
    read: |s, id| s.danger_raw_share_body(id).expect("read body"),
    write: |s, id, body| s.danger_overwrite_share_body(id, body).expect("write body"),
};

mod flush {
    use sharelink_sled::{SledOptions, SledStorage};

    sharelink_testkit::conformance_suite!(stored_bodies: super::STORED_BODIES, |faults| {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStorage::open(dir.path(), &SledOptions::default())
            .unwrap()
            .with_fault_injector(faults);
        (store, dir)
    });
}

mod no_flush {
    use sharelink_sled::{SledOptions, SledStorage};

    sharelink_testkit::conformance_suite!(stored_bodies: super::STORED_BODIES, |faults| {
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
