//! Share id parsing never panics, and whatever parses re-formats to the same string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sharelink_core::ShareId;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(id) = ShareId::parse(&text) {
        assert_eq!(id.to_string(), text);
        assert_eq!(ShareId::parse(id.as_str()).ok(), Some(id));
    }
});
