//! Decoding stored records from arbitrary bytes never panics: sled values,
//! SQLite share bodies, and list markers.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sharelink_core::ListMarker;

fuzz_target!(|data: &[u8]| {
    let _ = sharelink_sled::decode_stored_share("fixture00000001", data);
    let _ = sharelink_sled::decode_stored_u32(data);
    let text = String::from_utf8_lossy(data);
    let _ = sharelink_sqlite::decode_stored_share("fixture00000001", &text);
    if let Ok(marker) = ListMarker::decode(&text) {
        assert_eq!(ListMarker::decode(&marker.encode()).ok(), Some(marker));
    }
});
