//! The reference implementation runs the same suite as every backend.

use sharelink_core::MemoryStorage;

sharelink_testkit::conformance_suite!(|faults| (MemoryStorage::with_fault_injector(faults), ()));
