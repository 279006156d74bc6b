//! The key file's content: which keys there are, what each one may do, and
//! the transitions of a rotation. Pure: no files, no clock.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use rand::{CryptoRng, RngCore};
use sharelink_core::{KeyId, KeyRing, MAX_SIGNED_LIFETIME_SECS, SigningKey};

/// The first line of every key file this version writes.
const HEADER: &str = "# sharelink key ring: <role> <key id> <base64 secret> <time>. Secret: mode 0600, never log it.";

/// What a key in the file may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// Signs everything new (exactly one key). Its time is when it was added.
    Sign,
    /// Added by a rotation: every instance verifies it, none signs with it
    /// yet (at most one key). Its time is when it was added.
    Verify,
    /// Taken out of signing: verifies until its time, then is dropped.
    Retiring,
}

impl KeyRole {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sign => "sign",
            Self::Verify => "verify",
            Self::Retiring => "retiring",
        }
    }
}

/// One key of the file, with its role and time.
#[derive(Debug, Clone)]
pub struct KeyEntry {
    /// What the key may do.
    pub role: KeyRole,
    /// The key (its `Debug` never shows the secret).
    pub key: SigningKey,
    /// When a `sign` or `verify` key was added; until when a `retiring` key
    /// verifies.
    pub at: DateTime<Utc>,
}

/// Why a key file or a change to it was refused. Messages name lines and
/// key ids, never a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// A line is not `<role> <key id> <base64 secret> <RFC 3339 time>`.
    #[error("line {line}: {reason}")]
    Malformed {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// No `sign` key: nothing could sign a token.
    #[error("no `sign` key")]
    NoSigningKey,
    /// More than one `sign` key: instances could not agree on one.
    #[error("more than one `sign` key")]
    SeveralSigningKeys,
    /// More than one `verify` key: a rotation would not know which to promote.
    #[error("more than one `verify` key (one rotation at a time)")]
    SeveralPendingKeys,
    /// Two lines have the same key id.
    #[error("key id {0} appears twice")]
    DuplicateKey(KeyId),
    /// `promote` with no `verify` key to promote.
    #[error("no `verify` key to promote: add one first")]
    NoPendingKey,
}

/// The keys of a fleet, as one file holds them. Invariants: exactly one
/// `sign` key, at most one `verify` key, distinct key ids.
#[derive(Clone)]
pub struct KeyFile {
    entries: Vec<KeyEntry>,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<String> = self
            .entries
            .iter()
            .map(|e| format!("{} {}", e.role.as_str(), e.key.id()))
            .collect();
        f.debug_struct("KeyFile").field("keys", &keys).finish()
    }
}

impl KeyFile {
    /// A file whose only key signs, added at `now`.
    pub fn new(key: SigningKey, now: DateTime<Utc>) -> Self {
        Self {
            entries: vec![KeyEntry {
                role: KeyRole::Sign,
                key,
                at: now,
            }],
        }
    }

    /// A fresh key with an id that sorts by creation time
    /// (`k<UTC yyyymmddHHMMSS>-<4 hex>`), drawn from `rng`.
    pub fn generate_key<R: RngCore + CryptoRng + ?Sized>(
        now: DateTime<Utc>,
        rng: &mut R,
    ) -> SigningKey {
        let id = format!(
            "k{}-{:04x}",
            now.format("%Y%m%d%H%M%S"),
            rng.next_u32() & 0xffff
        );
        let id = KeyId::new(&id).unwrap_or_else(|_| unreachable!("{id} is a valid key id"));
        SigningKey::generate(id, rng)
    }

    /// Parses a key file. Blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Self, KeyFileError> {
        let mut entries: Vec<KeyEntry> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let entry = parse_line(line).map_err(|reason| KeyFileError::Malformed {
                line: i + 1,
                reason,
            })?;
            if entries.iter().any(|e| e.key.id() == entry.key.id()) {
                return Err(KeyFileError::DuplicateKey(entry.key.id().clone()));
            }
            entries.push(entry);
        }
        let file = Self { entries };
        file.check()?;
        Ok(file)
    }

    fn check(&self) -> Result<(), KeyFileError> {
        match self.count(KeyRole::Sign) {
            0 => return Err(KeyFileError::NoSigningKey),
            1 => {}
            _ => return Err(KeyFileError::SeveralSigningKeys),
        }
        if self.count(KeyRole::Verify) > 1 {
            return Err(KeyFileError::SeveralPendingKeys);
        }
        Ok(())
    }

    fn count(&self, role: KeyRole) -> usize {
        self.entries.iter().filter(|e| e.role == role).count()
    }

    /// The file's text: a header comment, then one line per key.
    pub fn render(&self) -> String {
        let mut text = String::from(HEADER);
        text.push('\n');
        for e in &self.entries {
            text.push_str(&format!(
                "{} {} {} {}\n",
                e.role.as_str(),
                e.key.id(),
                STANDARD.encode(e.key.expose_secret()),
                e.at.to_rfc3339_opts(SecondsFormat::Secs, true),
            ));
        }
        text
    }

    /// Every key, in file order.
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    /// The key that signs.
    pub fn signing(&self) -> &KeyEntry {
        self.entries
            .iter()
            .find(|e| e.role == KeyRole::Sign)
            .unwrap_or_else(|| unreachable!("a KeyFile always has a sign key"))
    }

    /// The key a rotation added and has not promoted yet.
    pub fn pending(&self) -> Option<&KeyEntry> {
        self.entries.iter().find(|e| e.role == KeyRole::Verify)
    }

    /// The ring an instance runs at `now`: the `sign` key signs; the
    /// `verify` key and every `retiring` key whose time has not come
    /// verify.
    pub fn ring_at(&self, now: DateTime<Utc>) -> KeyRing {
        let verify_only = self
            .entries
            .iter()
            .filter(|e| match e.role {
                KeyRole::Sign => false,
                KeyRole::Verify => true,
                KeyRole::Retiring => e.at > now,
            })
            .map(|e| e.key.clone());
        KeyRing::with_verify_only(self.signing().key.clone(), verify_only)
            .unwrap_or_else(|e| unreachable!("a KeyFile has distinct key ids: {e}"))
    }

    /// When [`KeyFile::ring_at`] next changes by itself after `now` (the
    /// earliest retirement still to come).
    pub fn next_retirement_after(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.entries
            .iter()
            .filter(|e| e.role == KeyRole::Retiring && e.at > now)
            .map(|e| e.at)
            .min()
    }

    /// Step 1 of a rotation: adds `key` as the `verify` key.
    pub fn add_pending(&mut self, key: SigningKey, now: DateTime<Utc>) -> Result<(), KeyFileError> {
        if self.pending().is_some() {
            return Err(KeyFileError::SeveralPendingKeys);
        }
        if self.entries.iter().any(|e| e.key.id() == key.id()) {
            return Err(KeyFileError::DuplicateKey(key.id().clone()));
        }
        self.entries.push(KeyEntry {
            role: KeyRole::Verify,
            key,
            at: now,
        });
        Ok(())
    }

    /// Step 2: the `verify` key signs from now on; the old `sign` key
    /// verifies for [`MAX_SIGNED_LIFETIME_SECS`] more, so that nothing it
    /// signed is refused before it expires. Returns the old key's id and
    /// when it retires.
    pub fn promote(&mut self, now: DateTime<Utc>) -> Result<(KeyId, DateTime<Utc>), KeyFileError> {
        let until = now + chrono::Duration::seconds(MAX_SIGNED_LIFETIME_SECS);
        if self.pending().is_none() {
            return Err(KeyFileError::NoPendingKey);
        }
        let mut old = None;
        for e in &mut self.entries {
            match e.role {
                KeyRole::Sign => {
                    e.role = KeyRole::Retiring;
                    e.at = until;
                    old = Some(e.key.id().clone());
                }
                KeyRole::Verify => e.role = KeyRole::Sign,
                KeyRole::Retiring => {}
            }
        }
        let old = old.unwrap_or_else(|| unreachable!("a KeyFile always has a sign key"));
        Ok((old, until))
    }

    /// Step 3: drops every `retiring` key whose time has come. Returns
    /// their ids.
    pub fn retire_expired(&mut self, now: DateTime<Utc>) -> Vec<KeyId> {
        let (gone, kept): (Vec<KeyEntry>, Vec<KeyEntry>) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| e.role == KeyRole::Retiring && e.at <= now);
        self.entries = kept;
        gone.into_iter().map(|e| e.key.id().clone()).collect()
    }
}

fn parse_line(line: &str) -> Result<KeyEntry, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [role, id, secret, at] = fields[..] else {
        return Err(format!(
            "{} fields; expected `<role> <key id> <base64 secret> <time>`",
            fields.len()
        ));
    };
    let role = match role {
        "sign" => KeyRole::Sign,
        "verify" => KeyRole::Verify,
        "retiring" => KeyRole::Retiring,
        other => {
            return Err(format!(
                "role {:?}: sign, verify or retiring",
                other.chars().take(16).collect::<String>()
            ));
        }
    };
    let id = KeyId::new(id).map_err(|e| format!("key id: {e}"))?;
    // The decode error names a byte offset, never the secret.
    let secret = zeroize::Zeroizing::new(
        STANDARD
            .decode(secret)
            .map_err(|e| format!("key {id}: the secret is not base64 ({e})"))?,
    );
    let key = SigningKey::new(id.clone(), &secret).map_err(|e| format!("key {id}: {e}"))?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|e| format!("key {id}: time {at:?} is not RFC 3339 ({e})"))?
        .with_timezone(&Utc);
    Ok(KeyEntry { role, key, at })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use rand::SeedableRng;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap()
    }

    fn rng() -> rand::rngs::StdRng {
        rand::rngs::StdRng::seed_from_u64(7)
    }

    fn ids(ring: &KeyRing) -> Vec<String> {
        ring.key_ids().map(|k| k.as_str().to_owned()).collect()
    }

    #[test]
    fn a_rotation_adds_promotes_and_retires_in_order() {
        let mut rng = rng();
        let first = KeyFile::generate_key(t0(), &mut rng);
        let first_id = first.id().to_string();
        assert!(first_id.starts_with("k20261202090000-"), "{first_id}");
        let mut file = KeyFile::new(first, t0());

        let second = KeyFile::generate_key(t0() + chrono::Duration::hours(1), &mut rng);
        let second_id = second.id().to_string();
        file.add_pending(second, t0()).unwrap();
        // Added: verified everywhere, signing nowhere yet.
        let ring = file.ring_at(t0());
        assert_eq!(ring.active().id().as_str(), first_id);
        assert_eq!(ids(&ring), [first_id.clone(), second_id.clone()]);
        let third = KeyFile::generate_key(t0(), &mut rng);
        assert_eq!(
            file.add_pending(third, t0()).unwrap_err(),
            KeyFileError::SeveralPendingKeys
        );

        let (old, until) = file.promote(t0()).unwrap();
        assert_eq!(old.as_str(), first_id);
        assert_eq!(
            until,
            t0() + chrono::Duration::seconds(MAX_SIGNED_LIFETIME_SECS)
        );
        assert_eq!(file.promote(t0()).unwrap_err(), KeyFileError::NoPendingKey);
        let ring = file.ring_at(t0());
        assert_eq!(ring.active().id().as_str(), second_id);
        assert_eq!(ids(&ring), [second_id.clone(), first_id.clone()]);
        assert_eq!(file.next_retirement_after(t0()), Some(until));

        // The old key verifies up to its time and not at it.
        let just_before = until - chrono::Duration::seconds(1);
        assert_eq!(ids(&file.ring_at(just_before)).len(), 2);
        assert_eq!(ids(&file.ring_at(until)), [second_id]);
        assert_eq!(file.next_retirement_after(until), None);
        assert!(file.retire_expired(just_before).is_empty());
        let gone = file.retire_expired(until);
        assert_eq!(
            gone.iter().map(KeyId::as_str).collect::<Vec<_>>(),
            [first_id.as_str()]
        );
        assert_eq!(file.entries().len(), 1);
    }

    #[test]
    fn the_file_round_trips_and_its_debug_shows_no_secret() {
        let mut rng = rng();
        let mut file = KeyFile::new(KeyFile::generate_key(t0(), &mut rng), t0());
        file.add_pending(KeyFile::generate_key(t0(), &mut rng), t0())
            .unwrap();
        file.promote(t0()).unwrap();
        file.add_pending(KeyFile::generate_key(t0(), &mut rng), t0())
            .unwrap();
        let text = file.render();
        let again = KeyFile::parse(&text).unwrap();
        assert_eq!(again.render(), text);
        assert_eq!(again.entries().len(), 3);
        let debug = format!("{again:?}");
        for e in again.entries() {
            let secret = STANDARD.encode(e.key.expose_secret());
            assert!(text.contains(&secret));
            assert!(!debug.contains(&secret), "{debug}");
            assert!(debug.contains(e.key.id().as_str()), "{debug}");
        }
    }

    #[test]
    fn a_bad_file_is_a_typed_error_that_names_the_line_and_not_the_secret() {
        let secret = STANDARD.encode([7u8; 32]);
        let short = STANDARD.encode([7u8; 8]);
        let at = "2026-12-02T09:00:00Z";
        let cases: Vec<(String, KeyFileError)> = vec![
            (String::new(), KeyFileError::NoSigningKey),
            (
                format!("verify k1 {secret} {at}"),
                KeyFileError::NoSigningKey,
            ),
            (
                format!("sign k1 {secret} {at}\nsign k2 {secret} {at}"),
                KeyFileError::SeveralSigningKeys,
            ),
            (
                format!("sign k1 {secret} {at}\nverify k2 {secret} {at}\nverify k3 {secret} {at}"),
                KeyFileError::SeveralPendingKeys,
            ),
            (
                format!("sign k1 {secret} {at}\nretiring k1 {secret} {at}"),
                KeyFileError::DuplicateKey(KeyId::new("k1").unwrap()),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(KeyFile::parse(&text).unwrap_err(), want, "{text}");
        }
        for (text, line, needle) in [
            (format!("# c\n\nsign k1 {secret}"), 3, "3 fields"),
            (format!("sign k1 {secret} {at} extra"), 1, "5 fields"),
            (
                format!("owner k1 {secret} {at}"),
                1,
                "sign, verify or retiring",
            ),
            (format!("sign k/1 {secret} {at}"), 1, "key id"),
            (format!("sign k1 {secret}! {at}"), 1, "not base64"),
            (format!("sign k1 {short} {at}"), 1, "at least 32 bytes"),
            (format!("sign k1 {secret} yesterday"), 1, "not RFC 3339"),
        ] {
            let err = KeyFile::parse(&text).unwrap_err();
            let message = err.to_string();
            assert!(
                matches!(err, KeyFileError::Malformed { line: l, .. } if l == line),
                "{text}: {message}"
            );
            assert!(message.contains(needle), "{text}: {message}");
            assert!(!message.contains(&secret[..20]), "{message}");
        }
    }
}
