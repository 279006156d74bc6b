//! The reference implementation runs the same contract cases as every
//! backend; it is itself the model, so it has no model test.

use sharelink_core::MemoryStorage;

sharelink_testkit::conformance_suite!(reference: |faults| (
    MemoryStorage::with_fault_injector(faults),
    ()
));
