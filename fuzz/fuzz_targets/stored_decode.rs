//! Decoding stored records from arbitrary bytes never panics: sled values
//! and SQLite share bodies (both the pinned `ShareRecord` body). List
//! markers are the wire layer's now; `sharelink-http`'s marker tests
//! property-test their decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = sharelink_sled::decode_stored_share("fixture00000001", data);
    let _ = sharelink_sled::decode_stored_u32(data);
    let text = String::from_utf8_lossy(data);
    let _ = sharelink_sqlite::decode_stored_share("fixture00000001", &text);
});
