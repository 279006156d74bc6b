use chrono::TimeZone;
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::claims::{MAX_S, MIN_S, Reader, push_varint, seconds, unzigzag, zigzag};
use super::*;
use crate::fields::UserId;
use crate::id::ShareId;
use chrono::Duration;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap()
}

fn key(id: &str, seed: u64) -> SigningKey {
    SigningKey::generate(
        KeyId::new(id).unwrap(),
        &mut ChaCha20Rng::seed_from_u64(seed),
    )
}

fn claims(member: Option<&str>) -> TokenClaims {
    TokenClaims::new(
        ShareId::parse("sAvciMEXKRz").unwrap(),
        3,
        t0(),
        t0() + Duration::seconds(7200),
        member.map(|m| UserId::new(m).unwrap()),
    )
}

#[test]
fn sign_then_verify_gives_back_the_claims() {
    let ring = KeyRing::new(key("k1", 1));
    for c in [claims(None), claims(Some("bob"))] {
        let token = ring.sign(&c);
        assert!(token.expose_secret().starts_with("v1.k1."));
        assert!(token.expose_secret().len() <= MAX_TOKEN_LEN);
        let v = ring.verify_str(token.expose_secret(), t0()).unwrap();
        assert_eq!(v.claims(), &c);
        assert_eq!(v.key_id().as_str(), "k1");
    }
}

/// A golden vector: catches accidental format drift. If the format changes
/// on purpose, bump the version prefix and keep reading v1.
#[test]
fn golden_vector_v1() {
    let ring = KeyRing::new(SigningKey::new(KeyId::new("golden").unwrap(), &[7u8; 32]).unwrap());
    let token = ring.sign(&claims(Some("bob")));
    assert_eq!(
        token.expose_secret(),
        GOLDEN_V1.trim(),
        "token format drifted; bump the version instead"
    );
    assert!(ring.verify_str(GOLDEN_V1.trim(), t0()).is_ok());
}

const GOLDEN_V1: &str = include_str!("golden_v1.txt");

#[test]
fn expiry_is_exclusive() {
    let ring = KeyRing::new(key("k1", 1));
    let token = ring.sign(&claims(None));
    let end = t0() + Duration::seconds(7200);
    assert!(
        ring.verify_str(token.expose_secret(), end - Duration::milliseconds(1))
            .is_ok()
    );
    assert!(matches!(
        ring.verify_str(token.expose_secret(), end),
        Err(TokenError::Expired { .. })
    ));
}

#[test]
fn issued_in_the_future_is_refused_beyond_skew() {
    let ring = KeyRing::new(key("k1", 1));
    let token = ring.sign(&claims(None));
    let early = t0() - Duration::seconds(MAX_CLOCK_SKEW_SECS + 1);
    assert_eq!(
        ring.verify_str(token.expose_secret(), early).unwrap_err(),
        TokenError::NotYetValid
    );
    assert!(
        ring.verify_str(token.expose_secret(), t0() - Duration::seconds(30))
            .is_ok()
    );
}

#[test]
fn rotation_keeps_old_tokens_until_the_key_is_removed() {
    let mut ring = KeyRing::new(key("k1", 1));
    let old = ring.sign(&claims(None));
    ring.rotate(key("k2", 2)).unwrap();
    let new = ring.sign(&claims(None));
    assert!(new.expose_secret().starts_with("v1.k2."));
    assert!(ring.verify_str(old.expose_secret(), t0()).is_ok());
    assert!(ring.verify_str(new.expose_secret(), t0()).is_ok());
    assert_eq!(
        ring.remove(&KeyId::new("k2").unwrap()).unwrap_err(),
        KeyRingError::RemovingActiveKey(KeyId::new("k2").unwrap())
    );
    ring.remove(&KeyId::new("k1").unwrap()).unwrap();
    assert_eq!(
        ring.verify_str(old.expose_secret(), t0()).unwrap_err(),
        TokenError::UnknownKey
    );
    assert!(ring.verify_str(new.expose_secret(), t0()).is_ok());
    assert!(matches!(
        ring.rotate(key("k2", 3)),
        Err(KeyRingError::DuplicateKey(_))
    ));
}

#[test]
fn a_ring_with_verify_only_keys_signs_with_the_active_one_and_verifies_all() {
    let incoming = KeyRing::new(key("k2", 2)).sign(&claims(None));
    let retiring = KeyRing::new(key("k0", 0)).sign(&claims(None));
    let ring = KeyRing::with_verify_only(key("k1", 1), [key("k2", 2), key("k0", 0)]).unwrap();
    assert!(
        ring.sign(&claims(None))
            .expose_secret()
            .starts_with("v1.k1.")
    );
    for token in [&incoming, &retiring] {
        assert!(ring.verify_str(token.expose_secret(), t0()).is_ok());
    }
    let ids: Vec<&str> = ring.key_ids().map(KeyId::as_str).collect();
    assert_eq!(ids, ["k1", "k2", "k0"]);
    assert_eq!(
        KeyRing::with_verify_only(key("k1", 1), [key("k2", 2), key("k1", 3)]).unwrap_err(),
        KeyRingError::DuplicateKey(KeyId::new("k1").unwrap())
    );
    assert_eq!(
        KeyRing::with_verify_only(key("k1", 1), [key("k2", 2), key("k2", 3)]).unwrap_err(),
        KeyRingError::DuplicateKey(KeyId::new("k2").unwrap())
    );
}

#[test]
fn the_longest_signed_lifetime_covers_tokens_grants_and_skew() {
    assert!(
        MAX_SIGNED_LIFETIME_SECS
            >= i64::from(crate::share::MAX_TOKEN_LIFETIME_SECS) + MAX_CLOCK_SKEW_SECS
    );
    assert!(
        MAX_SIGNED_LIFETIME_SECS >= i64::from(crate::grant::MAX_GRANT_SECS) + MAX_CLOCK_SKEW_SECS
    );
}

#[test]
fn a_key_with_the_same_id_but_other_secret_does_not_verify() {
    let a = KeyRing::new(key("k1", 1));
    let b = KeyRing::new(key("k1", 2));
    let token = a.sign(&claims(None));
    assert_eq!(
        b.verify_str(token.expose_secret(), t0()).unwrap_err(),
        TokenError::BadSignature
    );
}

#[test]
fn malformed_tokens_get_typed_errors() {
    let ring = KeyRing::new(key("k1", 1));
    let good = ring.sign(&claims(None));
    let g = good.expose_secret();
    assert_eq!(UnverifiedToken::parse("").unwrap_err(), TokenError::Missing);
    assert!(matches!(
        UnverifiedToken::parse(&"a".repeat(MAX_TOKEN_LEN + 1)).unwrap_err(),
        TokenError::TooLong { .. }
    ));
    assert_eq!(
        UnverifiedToken::parse(&g.replacen("v1", "v2", 1)).unwrap_err(),
        TokenError::UnsupportedVersion
    );
    assert!(matches!(
        UnverifiedToken::parse("v1.k1"),
        Err(TokenError::Malformed(_))
    ));
    assert!(matches!(
        UnverifiedToken::parse("v1.k1.AAAA.BBBB"),
        Err(TokenError::Malformed(_))
    ));
    assert!(matches!(
        UnverifiedToken::parse(&format!("{g}.extra")),
        Err(TokenError::Malformed(_))
    ));
    assert!(matches!(
        UnverifiedToken::parse("eyJhbGciOiJIUzI1NiJ9.e30.sig"),
        Err(TokenError::UnsupportedVersion)
    ));
}

#[test]
fn debug_output_redacts_secrets() {
    let k = key("k1", 1);
    let ring = KeyRing::new(k.clone());
    let token = ring.sign(&claims(None));
    let secret_hex: String = k
        .expose_secret()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for dbg in [format!("{k:?}"), format!("{ring:?}"), format!("{token:?}")] {
        assert!(!dbg.contains(token.expose_secret()), "{dbg}");
        assert!(!dbg.contains(&secret_hex), "{dbg}");
        assert!(!dbg.contains(&format!("{:?}", k.expose_secret())), "{dbg}");
    }
    let parsed = UnverifiedToken::parse(token.expose_secret()).unwrap();
    let mac_part = token.expose_secret().rsplit('.').next().unwrap();
    assert!(!format!("{parsed:?}").contains(mac_part));
}

#[test]
fn second_bounds_match_chrono() {
    assert_eq!(MIN_S, DateTime::<Utc>::MIN_UTC.timestamp());
    assert_eq!(MAX_S, DateTime::<Utc>::MAX_UTC.timestamp());
    assert!(seconds(MIN_S - 1).is_err());
    assert!(seconds(MAX_S + 1).is_err());
}

#[test]
fn varints_and_zigzag_roundtrip_and_are_canonical() {
    for n in [0u64, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
        let mut buf = Vec::new();
        push_varint(&mut buf, n);
        let mut r = Reader(&buf);
        assert_eq!(r.varint().unwrap(), n);
        assert!(r.0.is_empty());
    }
    for n in [0i64, -1, 1, i64::MIN, i64::MAX, 1_772_337_600] {
        assert_eq!(unzigzag(zigzag(n)), n);
    }
    // 0 in two bytes is overlong; 11 bytes are too many; bit 64 overflows.
    assert!(Reader(&[0x80, 0x00]).varint().is_err());
    assert!(Reader(&[0xFF; 11]).varint().is_err());
    assert!(
        Reader(&[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02])
            .varint()
            .is_err()
    );
}

#[test]
fn default_tokens_fit_one_sha256_block() {
    // 55 bytes of message fit one 64-byte block with SHA-256 padding.
    let ring = KeyRing::new(key("k1", 1));
    let token = ring.sign(&claims(None));
    let (signed, _) = token.expose_secret().rsplit_once('.').unwrap();
    assert!(signed.len() <= 55, "{} bytes", signed.len());
}

#[test]
fn short_secrets_are_refused() {
    assert!(SigningKey::new(KeyId::new("k").unwrap(), &[0u8; 31]).is_err());
    assert!(KeyId::new("bad.id").is_err());
    assert!(KeyId::new("").is_err());
}

fn arb_claims() -> impl Strategy<Value = TokenClaims> {
    (
        "[0-9A-Za-z]{11,64}",
        any::<u64>(),
        -4_000_000_000_000i64..4_000_000_000_000,
        0i64..10_000_000,
        prop::option::of("[a-z0-9]{1,40}"),
    )
        .prop_map(|(id, epoch, iat, life, member)| {
            let iat = DateTime::from_timestamp_millis(iat).unwrap();
            TokenClaims::new(
                ShareId::parse(&id).unwrap(),
                epoch,
                iat,
                iat + Duration::milliseconds(life),
                member.map(|m| UserId::new(m).unwrap()),
            )
        })
}

proptest! {
    /// Issue, parse and verify give back exactly the claims.
    #[test]
    fn roundtrip(c in arb_claims()) {
        let ring = KeyRing::new(key("k1", 1));
        let token = ring.sign(&c);
        prop_assert!(token.expose_secret().len() <= MAX_TOKEN_LEN);
        let now = c.issued_at();
        if c.expires_at() > now {
            let v = ring.verify_str(token.expose_secret(), now).unwrap();
            prop_assert_eq!(v.claims(), &c);
        }
        let parsed = UnverifiedToken::parse(token.expose_secret()).unwrap();
        prop_assert_eq!(parsed.claims_unverified(), &c);
    }

    /// Changing any single byte of a token makes verification fail.
    #[test]
    fn any_single_byte_change_fails(c in arb_claims(), pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
        let ring = KeyRing::new(key("k1", 1));
        let token = ring.sign(&c);
        let mut bytes = token.expose_secret().as_bytes().to_vec();
        let i = pos.index(bytes.len());
        bytes[i] = bytes[i].wrapping_add(delta);
        let now = c.issued_at();
        // Non-UTF-8 results are presented as their lossy text, which differs
        // from the original token just the same.
        let text = String::from_utf8_lossy(&bytes);
        prop_assert!(ring.verify_str(&text, now).is_err(), "tampered token verified");
    }

    /// Parsing arbitrary text never panics, and nothing unsigned verifies.
    #[test]
    fn arbitrary_text_never_verifies(s in "\\PC{0,200}") {
        let ring = KeyRing::new(key("k1", 1));
        let _ = UnverifiedToken::parse(&s);
        prop_assert!(ring.verify_str(&s, t0()).is_err());
    }

    /// Well-shaped tokens with random MACs never verify.
    #[test]
    fn forged_macs_never_verify(c in arb_claims(), mac in prop::collection::vec(any::<u8>(), 32)) {
        let ring = KeyRing::new(key("k1", 1));
        let token = ring.sign(&c);
        let (signed, _) = token.expose_secret().rsplit_once('.').unwrap();
        let forged = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&mac));
        prop_assert!(ring.verify_str(&forged, c.issued_at()).is_err());
    }
}
