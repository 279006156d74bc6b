//! Share passwords and their slow hashes.
//!
//! A [`SharePassword`] is what a creator types (0–64 visible ASCII characters,
//! as in PDS; empty means "no password"). It is never stored: only its
//! argon2id PHC hash, a [`PasswordHash`], is. [`PasswordHasher`] holds the
//! argon2 cost, which is configurable; tests use [`PasswordHasher::insecure_fast`].
//! Neither type shows its secret in `Debug`.

use std::fmt;

use argon2::password_hash::{PasswordHash as PhcHash, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::code::InputError;

/// A share password typed by a creator or a receiver.
///
/// 1–64 visible ASCII characters (`'!'..='~'`). The secret is zeroized on drop
/// and redacted in `Debug`.
#[derive(Clone)]
pub struct SharePassword(Zeroizing<String>);

impl SharePassword {
    /// Longest accepted password, in bytes.
    pub const MAX_LEN: usize = 64;

    /// Parses a non-empty password.
    pub fn new(s: &str) -> Result<Self, InputError> {
        if s.is_empty() {
            return Err(InputError::Missing { field: "share_pwd" });
        }
        if s.len() > Self::MAX_LEN {
            return Err(InputError::out_of_range(
                "share_pwd",
                format!("at most {} bytes", Self::MAX_LEN),
            ));
        }
        if !s.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InputError::invalid(
                "share_pwd",
                "only visible ASCII characters are allowed",
            ));
        }
        Ok(Self(Zeroizing::new(s.to_owned())))
    }

    /// Parses the wire form, where `""` means "no password".
    pub fn parse_optional(s: &str) -> Result<Option<Self>, InputError> {
        if s.is_empty() {
            Ok(None)
        } else {
            Self::new(s).map(Some)
        }
    }

    /// The secret itself. Handle with care: never log it.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SharePassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharePassword(<redacted>)")
    }
}

/// An argon2id hash of a share password, in PHC string format.
///
/// Only [`PasswordHasher::hash`] and [`PasswordHash::from_phc`] construct one.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Parses a stored PHC string; it must be an argon2id hash.
    pub fn from_phc(s: &str) -> Result<Self, InputError> {
        let parsed = PhcHash::new(s)
            .map_err(|e| InputError::invalid("share_pwd_hash", format!("not a PHC string: {e}")))?;
        if parsed.algorithm.as_str() != "argon2id" || parsed.hash.is_none() {
            return Err(InputError::invalid(
                "share_pwd_hash",
                "only argon2id hashes are accepted",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    /// The PHC string, for storage.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PasswordHash {
    type Error = InputError;
    fn try_from(s: String) -> Result<Self, InputError> {
        Self::from_phc(&s)
    }
}

impl From<PasswordHash> for String {
    fn from(h: PasswordHash) -> String {
        h.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// The argon2id cost used to hash new passwords.
///
/// Verification always uses the parameters stored in the hash itself, so a
/// cost change applies to new and updated passwords without breaking old ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHasher {
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism.
    pub parallelism: u32,
}

impl Default for PasswordHasher {
    /// OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane (about 11 ms
    /// per hash on the reference machine).
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

impl PasswordHasher {
    /// The cheapest cost argon2 allows. For tests and benchmarks only: it
    /// gives no protection against offline guessing.
    pub fn insecure_fast() -> Self {
        Self {
            memory_kib: 8,
            iterations: 1,
            parallelism: 1,
        }
    }

    fn argon2(&self) -> Result<Argon2<'static>, InputError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|e| InputError::invalid("password_hasher", e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Hashes `password` with a fresh 16-byte salt drawn from `rng`.
    ///
    /// Fails only if the configured cost is invalid for argon2.
    pub fn hash<R: RngCore + CryptoRng + ?Sized>(
        &self,
        password: &SharePassword,
        rng: &mut R,
    ) -> Result<PasswordHash, InputError> {
        let mut salt = [0u8; 16];
        rng.fill_bytes(&mut salt);
        self.hash_with_salt(password, &salt)
    }

    /// Hashes `password` with the given salt (draw it from a CSPRNG).
    ///
    /// The argon2 memory is a per-thread scratch buffer reused from one hash
    /// to the next, so hashing many passwords on a few
    /// threads keeps memory at a few buffers instead of fragmenting the heap.
    pub fn hash_with_salt(
        &self,
        password: &SharePassword,
        salt: &[u8; 16],
    ) -> Result<PasswordHash, InputError> {
        let argon = self.argon2()?;
        let mut out = [0u8; OUTPUT_LEN];
        compute(&argon, password.expose_secret().as_bytes(), salt, &mut out)
            .map_err(|e| InputError::invalid("share_pwd", e.to_string()))?;
        let salt = SaltString::encode_b64(salt)
            .map_err(|e| InputError::invalid("password_salt", e.to_string()))?;
        let output = argon2::password_hash::Output::new(&out)
            .map_err(|e| InputError::invalid("share_pwd", e.to_string()))?;
        Ok(PasswordHash(format!(
            "$argon2id$v=19$m={},t={},p={}${}${}",
            self.memory_kib,
            self.iterations,
            self.parallelism,
            salt.as_str(),
            output
        )))
    }
}

/// Length of the hash output, in bytes.
const OUTPUT_LEN: usize = 32;

impl PasswordHash {
    /// Whether `candidate` matches, in constant time with respect to the hash
    /// output. Uses the cost stored in the hash.
    pub fn verify(&self, candidate: &SharePassword) -> bool {
        let Ok(parsed) = PhcHash::new(&self.0) else {
            return false;
        };
        let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else {
            return false;
        };
        let param = |name: &str| parsed.params.get_decimal(name);
        let (Some(m), Some(t), Some(p)) = (param("m"), param("t"), param("p")) else {
            return false;
        };
        let Ok(params) = Params::new(m, t, p, Some(expected.len())) else {
            return false;
        };
        let mut salt_buf = [0u8; 64];
        let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
            return false;
        };
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = vec![0u8; expected.len()];
        compute(&argon, candidate.expose_secret().as_bytes(), salt, &mut out).is_ok()
            && constant_time_eq::constant_time_eq(&out, expected.as_bytes())
    }
}

/// argon2id of `password` and `salt` into `out`, in this thread's scratch.
fn compute(argon: &Argon2<'_>, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    with_scratch(argon.params().block_count(), |memory| {
        argon.hash_password_into_with_memory(password, salt, out, memory)
    })
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` with at least `blocks` argon2 blocks of this thread's scratch
/// memory, allocated once per thread and reused (argon2 overwrites every
/// block it uses before reading it).
fn with_scratch<T>(blocks: usize, f: impl FnOnce(&mut [argon2::Block]) -> T) -> T {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut scratch) => {
            if scratch.len() < blocks {
                scratch.resize(blocks, argon2::Block::default());
            }
            f(&mut scratch[..blocks])
        }
        // Not reachable (hashing does not nest); a fresh buffer is correct anyway.
        Err(_) => f(&mut vec![argon2::Block::default(); blocks]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn password_rules_follow_pds() {
        assert!(SharePassword::new("testSharePwd").is_ok());
        assert!(
            SharePassword::new("a b").is_err(),
            "space is not visible ASCII"
        );
        assert!(SharePassword::new("pässword").is_err());
        assert!(SharePassword::new(&"x".repeat(64)).is_ok());
        assert!(matches!(
            SharePassword::new(&"x".repeat(65)),
            Err(InputError::OutOfRange { .. })
        ));
        assert!(SharePassword::parse_optional("").unwrap().is_none());
    }

    #[test]
    fn hash_verifies_only_the_right_password() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let pw = SharePassword::new("1234").unwrap();
        let hash = PasswordHasher::insecure_fast().hash(&pw, &mut rng).unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$"));
        assert!(hash.verify(&pw));
        assert!(!hash.verify(&SharePassword::new("1235").unwrap()));
        // The PHC string is argon2's own: argon2's verifier accepts it, and
        // ours accepts argon2's.
        use argon2::PasswordVerifier as _;
        let parsed = PhcHash::new(hash.as_phc()).unwrap();
        assert!(Argon2::default().verify_password(b"1234", &parsed).is_ok());
        let theirs = argon2::PasswordHasher::hash_password(
            &PasswordHasher::insecure_fast().argon2().unwrap(),
            b"1234",
            &SaltString::encode_b64(&[7u8; 16]).unwrap(),
        )
        .unwrap()
        .to_string();
        assert!(PasswordHash::from_phc(&theirs).unwrap().verify(&pw));
        // The PHC string round-trips through storage.
        let stored = PasswordHash::from_phc(hash.as_phc()).unwrap();
        assert!(stored.verify(&pw));
    }

    #[test]
    fn salts_differ() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let pw = SharePassword::new("1234").unwrap();
        let h = PasswordHasher::insecure_fast();
        assert_ne!(
            h.hash(&pw, &mut rng).unwrap(),
            h.hash(&pw, &mut rng).unwrap()
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let pw = SharePassword::new("hunter22").unwrap();
        let hash = PasswordHasher::insecure_fast().hash(&pw, &mut rng).unwrap();
        assert!(!format!("{pw:?}").contains("hunter22"));
        assert!(!format!("{hash:?}").contains("argon2"));
    }

    #[test]
    fn foreign_or_garbage_hashes_are_refused() {
        assert!(PasswordHash::from_phc("plain").is_err());
        assert!(PasswordHash::from_phc("$argon2i$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA").is_err());
    }
}
