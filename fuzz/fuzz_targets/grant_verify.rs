//! Download-URL grants: arbitrary text never verifies against a fixed key
//! ring unless the ring produced it, and nothing panics. Anything that
//! verifies must be exactly the ring's own signature of the same grant.
#![no_main]

use chrono::DateTime;
use libfuzzer_sys::fuzz_target;
use sharelink_core::{ContentGrant, KeyId, KeyRing, SigningKey};

fn key(id: &str, byte: u8) -> SigningKey {
    SigningKey::new(KeyId::new(id).unwrap(), &[byte; 32]).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let mut ring = KeyRing::new(key("old", 3));
    ring.rotate(key("k1", 7)).unwrap();
    let now = DateTime::from_timestamp(1_772_337_600, 0).unwrap(); // 2026-03-01T04:00:00Z
    let text = String::from_utf8_lossy(data);
    if let Ok(grant) = ContentGrant::verify(&text, &ring, now) {
        let signer = if text.starts_with("g1.k1.") {
            KeyRing::new(key("k1", 7))
        } else {
            KeyRing::new(key("old", 3))
        };
        assert_eq!(
            grant.sign(&signer).expose_secret(),
            text,
            "a grant the ring did not produce verified"
        );
    }
});
