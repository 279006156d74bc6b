//! Token parsing never panics on arbitrary bytes or text, and enforces the length cap.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sharelink_core::token::{MAX_TOKEN_LEN, TokenError, UnverifiedToken};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match UnverifiedToken::parse(&text) {
        Ok(_) => assert!(text.len() <= MAX_TOKEN_LEN),
        Err(TokenError::TooLong { len }) => assert!(len > MAX_TOKEN_LEN),
        Err(_) => {}
    }
});
