//! Share ids: random base62 capability strings.
//!
//! A share id is the capability in a share link's URL, so it must be
//! unguessable. [`ShareId::generate`] draws it from a caller-supplied CSPRNG
//! with rejection sampling (every base62 digit equally likely). The default
//! length, [`ShareId::DEFAULT_LEN`] = 22, gives about 131 bits, above the W3C
//! capability-URL guidance of 120 bits; hosts that want the PDS look
//! (`sAvciMEXKRz`) may go down to [`ShareId::MIN_LEN`] = 11 (about 65 bits).

use std::fmt;
use std::str::FromStr;

use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::code::InputError;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A validated share id: `MIN_LEN..=MAX_LEN` ASCII alphanumerics.
///
/// A value of this type is always valid; the only constructors are
/// [`ShareId::generate`] and the fallible [`FromStr`] / [`TryFrom`] parsers.
/// It is stored inline (no heap allocation), which keeps token verification
/// allocation-free for shares that are not members-only.
#[derive(Clone)]
pub struct ShareId {
    len: u8,
    bytes: [u8; ShareId::MAX_LEN],
}

impl PartialEq for ShareId {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for ShareId {}

impl PartialOrd for ShareId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ShareId {
    /// The order of the id strings.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for ShareId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl ShareId {
    /// Shortest accepted id (the PDS style, about 65 bits).
    pub const MIN_LEN: usize = 11;
    /// Longest accepted id.
    pub const MAX_LEN: usize = 64;
    /// Default generated length: 22 base62 characters, about 131 bits.
    pub const DEFAULT_LEN: usize = 22;

    /// Draws a fresh id of `len` base62 characters from `rng`.
    ///
    /// Fails with `InvalidParameterOutOfRange` if `len` is outside
    /// `MIN_LEN..=MAX_LEN`.
    pub fn generate<R: RngCore + CryptoRng + ?Sized>(
        rng: &mut R,
        len: usize,
    ) -> Result<Self, InputError> {
        check_len(len)?;
        let mut out = [0u8; Self::MAX_LEN];
        let mut filled = 0;
        let mut buf = [0u8; 32];
        while filled < len {
            rng.fill_bytes(&mut buf);
            for &b in &buf {
                // 248 = 4 * 62: values at or above it would bias the digits.
                if let Some(&digit) = ALPHABET.get(usize::from(b % 62)).filter(|_| b < 248) {
                    if let Some(slot) = out.get_mut(filled) {
                        *slot = digit;
                    }
                    filled += 1;
                    if filled == len {
                        break;
                    }
                }
            }
        }
        Ok(Self::from_checked(out.get(..len).unwrap_or_default()))
    }

    /// Parses an untrusted string. Never panics.
    pub fn parse(s: &str) -> Result<Self, InputError> {
        s.parse()
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII alphanumerics are ever stored, so this cannot fail.
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or_default()
    }

    /// Builds an id from bytes already checked to be 11..=64 ASCII alphanumerics.
    fn from_checked(bytes: &[u8]) -> Self {
        let mut out = [0u8; Self::MAX_LEN];
        let len = bytes.len().min(Self::MAX_LEN);
        if let (Some(dst), Some(src)) = (out.get_mut(..len), bytes.get(..len)) {
            dst.copy_from_slice(src);
        }
        Self {
            len: u8::try_from(len).unwrap_or(u8::MAX),
            bytes: out,
        }
    }
}

fn check_len(len: usize) -> Result<(), InputError> {
    if (ShareId::MIN_LEN..=ShareId::MAX_LEN).contains(&len) {
        Ok(())
    } else {
        Err(InputError::out_of_range(
            "share_id",
            format!(
                "length must be {}..={} characters, got {len}",
                ShareId::MIN_LEN,
                ShareId::MAX_LEN
            ),
        ))
    }
}

impl FromStr for ShareId {
    type Err = InputError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err(InputError::Missing { field: "share_id" });
        }
        // Check the charset before the length so that a long non-ASCII string
        // is reported as malformed, and the length is a byte count of ASCII.
        if !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
            let bad = s
                .chars()
                .find(|c| !c.is_ascii_alphanumeric())
                .unwrap_or('?');
            return Err(InputError::invalid(
                "share_id",
                format!("only ASCII letters and digits are allowed, found {bad:?}"),
            ));
        }
        check_len(s.len())?;
        Ok(Self::from_checked(s.as_bytes()))
    }
}

impl TryFrom<&str> for ShareId {
    type Error = InputError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl TryFrom<String> for ShareId {
    type Error = InputError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for ShareId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for ShareId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ShareId({})", self.as_str())
    }
}

impl AsRef<str> for ShareId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Serialize for ShareId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ShareId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn generates_default_length_base62() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let id = ShareId::generate(&mut rng, ShareId::DEFAULT_LEN).unwrap();
        assert_eq!(id.as_str().len(), 22);
        assert!(id.as_str().chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(ShareId::parse(id.as_str()).unwrap(), id);
    }

    #[test]
    fn generation_length_is_bounded() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        assert!(ShareId::generate(&mut rng, 10).is_err());
        assert_eq!(ShareId::generate(&mut rng, 11).unwrap().as_str().len(), 11);
        assert!(ShareId::generate(&mut rng, 65).is_err());
    }

    #[test]
    fn digits_are_roughly_uniform() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let mut counts = [0u32; 62];
        for _ in 0..2000 {
            let id = ShareId::generate(&mut rng, 31).unwrap();
            for b in id.as_str().bytes() {
                let i = ALPHABET.iter().position(|&a| a == b).unwrap();
                counts[i] += 1;
            }
        }
        // 62_000 draws: each digit expects 1000. A biased modulo would push
        // the first 8 digits about 3% high; allow 15% noise either way.
        for (i, c) in counts.iter().enumerate() {
            assert!((850..1150).contains(c), "digit {i} drawn {c} times");
        }
    }

    #[test]
    fn rejects_bad_input_with_typed_errors() {
        assert!(matches!(
            ShareId::parse(""),
            Err(InputError::Missing { .. })
        ));
        assert!(matches!(
            ShareId::parse("short"),
            Err(InputError::OutOfRange { .. })
        ));
        assert!(matches!(
            ShareId::parse("sAvciMEXKR-"),
            Err(InputError::Invalid { .. })
        ));
        assert!(matches!(
            ShareId::parse("sAvciMEXKRzé"),
            Err(InputError::Invalid { .. })
        ));
        assert!(matches!(
            ShareId::parse(&"a".repeat(65)),
            Err(InputError::OutOfRange { .. })
        ));
        assert_eq!(
            ShareId::parse("sAvciMEXKRz").unwrap().as_str(),
            "sAvciMEXKRz"
        );
    }

    #[test]
    fn serde_is_a_validated_string() {
        let id = ShareId::parse("sAvciMEXKRz").unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"sAvciMEXKRz\"");
        assert_eq!(serde_json::from_str::<ShareId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<ShareId>("\"bad id!\"").is_err());
        assert!(serde_json::from_str::<ShareId>("42").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_roundtrips(s in "\\PC{0,80}") {
            if let Ok(id) = ShareId::parse(&s) {
                prop_assert_eq!(id.to_string(), s);
            }
        }

        #[test]
        fn valid_ids_always_parse(s in "[0-9A-Za-z]{11,64}") {
            let id = ShareId::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
        }
    }
}
