//! `rotate-key`: replacing the fleet's signing key without refusing a
//! single token or URL signed before, during or after the rotation.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use sharelink_core::KeyId;

use super::store::{FileDigest, KeyStore};
use super::{KeyFile, RELOAD_EVERY};
use crate::ServerError;

/// Which part of a rotation to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RotateStep {
    /// Retire expired keys, add a `verify` key (or keep the one an earlier
    /// run added), wait for every live instance to know it, promote it.
    #[default]
    All,
    /// Retire expired keys and add a `verify` key, then stop: for fleets
    /// whose instances cannot acknowledge (a read-only key file), the
    /// operator promotes after the new file has reached every instance.
    Add,
    /// Promote the `verify` key an earlier `add` left, after waiting for
    /// every live instance to know it.
    Promote,
    /// Only drop the retiring keys whose time has come.
    Retire,
}

impl std::str::FromStr for RotateStep {
    type Err = ServerError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Self::All),
            "add" => Ok(Self::Add),
            "promote" => Ok(Self::Promote),
            "retire" => Ok(Self::Retire),
            other => Err(ServerError::Input(format!(
                "--step {other:?}: all, add, promote or retire"
            ))),
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone, Default)]
pub struct RotationReport {
    /// Retiring keys dropped because their time had come.
    pub retired: Vec<KeyId>,
    /// The key added as `verify` by this run.
    pub added: Option<KeyId>,
    /// How many live instances acknowledged the new key before promotion.
    pub acknowledged_by: Option<usize>,
    /// The promoted key, the key it replaced and when that one retires.
    pub promoted: Option<(KeyId, KeyId, DateTime<Utc>)>,
}

impl std::fmt::Display for RotationReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for id in &self.retired {
            writeln!(
                f,
                "retired key {id} (its last tokens and URLs have expired)"
            )?;
        }
        if let Some(id) = &self.added {
            writeln!(f, "added key {id}: verify-only")?;
        }
        if let Some(n) = self.acknowledged_by {
            writeln!(f, "every live instance ({n}) verifies the new key")?;
        }
        match &self.promoted {
            Some((new, old, until)) => writeln!(
                f,
                "key {new} signs from now on; key {old} verifies until {until} and is then retired \
                 (instances drop it by themselves; `rotate-key --step retire` removes it from the file)"
            ),
            None if self.added.is_some() => writeln!(
                f,
                "not promoted yet: run `rotate-key --step promote` once every instance has the new file"
            ),
            None => Ok(()),
        }
    }
}

/// Runs `step` of a rotation on `store`, waiting at most `wait` for the
/// instances to acknowledge. A run that stops halfway (a timeout, a crash)
/// leaves a consistent file: the next run carries on where it stopped.
pub fn rotate(
    store: &KeyStore,
    step: RotateStep,
    wait: Duration,
    now: impl Fn() -> DateTime<Utc>,
) -> Result<RotationReport, ServerError> {
    let _lock = store.lock()?;
    let loaded = store.read()?.ok_or_else(|| {
        ServerError::Input(format!(
            "no key file at {}: start a server first (it creates one)",
            store.path().display()
        ))
    })?;
    let mut file = loaded.file;
    let mut digest = loaded.digest;
    let mut report = RotationReport {
        retired: file.retire_expired(now()),
        ..RotationReport::default()
    };
    if !report.retired.is_empty() {
        digest = store.replace(&file)?;
    }
    if step == RotateStep::Retire {
        return Ok(report);
    }
    if matches!(step, RotateStep::All | RotateStep::Add) && file.pending().is_none() {
        let key = KeyFile::generate_key(now(), &mut rand::rngs::OsRng);
        report.added = Some(key.id().clone());
        file.add_pending(key, now())
            .map_err(|e| store_error(store, e))?;
        digest = store.replace(&file)?;
    }
    if step == RotateStep::Add {
        return Ok(report);
    }
    if file.pending().is_none() {
        return Err(store_error(store, super::KeyFileError::NoPendingKey));
    }
    report.acknowledged_by = Some(wait_for_fleet(store, &digest, wait)?);
    let new = file
        .pending()
        .map(|e| e.key.id().clone())
        .unwrap_or_else(|| unreachable!("checked above"));
    let (old, until) = file.promote(now()).map_err(|e| store_error(store, e))?;
    store.replace(&file)?;
    report.promoted = Some((new, old, until));
    Ok(report)
}

fn store_error(store: &KeyStore, source: super::KeyFileError) -> ServerError {
    ServerError::KeyFile {
        path: store.path().to_owned(),
        source,
    }
}

/// Waits until every live instance has acknowledged the key file with
/// `digest` (so verifies every key in it). Returns how many did. A timeout
/// names the instances still behind.
fn wait_for_fleet(
    store: &KeyStore,
    digest: &FileDigest,
    wait: Duration,
) -> Result<usize, ServerError> {
    let deadline = Instant::now() + wait;
    loop {
        let live = store.live_acknowledgements()?;
        let behind: Vec<String> = live
            .iter()
            .filter(|a| &a.digest != digest)
            .map(|a| format!("{} ({})", a.instance, a.listen))
            .collect();
        if behind.is_empty() {
            return Ok(live.len());
        }
        if Instant::now() >= deadline {
            return Err(ServerError::Input(format!(
                "after {wait:?}, {} instance(s) still run an older key file: {}. \
                 The new key stays verify-only; run rotate-key again once they reload \
                 (they re-read {} every {RELOAD_EVERY:?})",
                behind.len(),
                behind.join(", "),
                store.path().display(),
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
