//! Arbitrary input never verifies against a fixed key ring unless the ring
//! produced it: anything that verifies must be exactly the ring's own
//! signature of its claims.
#![no_main]

use chrono::DateTime;
use libfuzzer_sys::fuzz_target;
use sharelink_core::{KeyId, KeyRing, SigningKey};

fn key(id: &str, byte: u8) -> SigningKey {
    SigningKey::new(KeyId::new(id).unwrap(), &[byte; 32]).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let mut ring = KeyRing::new(key("old", 3));
    ring.rotate(key("k1", 7)).unwrap();
    let now = DateTime::from_timestamp(1_772_337_600, 0).unwrap(); // 2026-03-01T04:00:00Z
    let text = String::from_utf8_lossy(data);
    if let Ok(verified) = ring.verify_str(&text, now) {
        // Re-sign the claims with the key that verified them.
        let signer = match verified.key_id().as_str() {
            "k1" => KeyRing::new(key("k1", 7)),
            _ => KeyRing::new(key("old", 3)),
        };
        let resigned = signer.sign(verified.claims());
        assert_eq!(
            resigned.expose_secret(),
            text,
            "a token the ring did not produce verified"
        );
    }
});
