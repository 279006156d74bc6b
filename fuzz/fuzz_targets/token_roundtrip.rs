//! Claims made with `arbitrary`: issue, then parse and verify, give back the same claims.
#![no_main]

use arbitrary::Arbitrary;
use chrono::{DateTime, Duration};
use libfuzzer_sys::fuzz_target;
use sharelink_core::{KeyId, KeyRing, ShareId, SigningKey, TokenClaims, UserId};

#[derive(Debug, Arbitrary)]
struct Input {
    id_seed: Vec<u8>,
    epoch: u64,
    issued_ms: i64,
    life_ms: u32,
    member: Option<String>,
}

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fuzz_target!(|input: Input| {
    let mut id: String = input
        .id_seed
        .iter()
        .take(ShareId::MAX_LEN)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    while id.len() < ShareId::MIN_LEN {
        id.push('x');
    }
    let share_id = ShareId::parse(&id).unwrap();
    let Some(issued) = DateTime::from_timestamp_millis(
        input.issued_ms.clamp(-8_000_000_000_000, 8_000_000_000_000),
    ) else {
        return;
    };
    let expires = issued + Duration::milliseconds(i64::from(input.life_ms) + 1);
    let member = input.member.and_then(|m| UserId::new(m).ok());
    let claims = TokenClaims::danger_new(share_id, input.epoch, issued, expires, member);

    let ring = KeyRing::new(SigningKey::new(KeyId::new("k1").unwrap(), &[7u8; 32]).unwrap());
    let token = ring.sign(&claims);
    // Times are kept to the second: a sub-second lifetime is already expired.
    if claims.expires_at() > claims.issued_at() {
        let verified = ring
            .verify_str(token.expose_secret(), claims.issued_at())
            .expect("a token the ring issued must verify before it expires");
        assert_eq!(verified.claims(), &claims);
    }
    let parsed =
        sharelink_core::UnverifiedToken::parse(token.expose_secret()).expect("own token parses");
    assert_eq!(parsed.claims_unverified(), &claims);
});
