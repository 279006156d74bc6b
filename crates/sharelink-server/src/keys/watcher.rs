//! A serving instance's side of the key file: reload it when it changes,
//! and say which one it runs on.

use chrono::{DateTime, Utc};
use sharelink_core::{Engine, KeyId};

use super::KeyFile;
use super::store::{FileDigest, KeyStore, LoadedKeys, Reread};
use crate::ServerError;

/// Keeps one engine's key ring equal to the key file. Call
/// [`KeyWatcher::tick`] every [`super::RELOAD_EVERY`].
#[derive(Debug)]
pub struct KeyWatcher {
    store: KeyStore,
    instance: String,
    listen: String,
    file: KeyFile,
    digest: FileDigest,
    stopped: bool,
}

/// What one [`KeyWatcher::tick`] changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyReload {
    /// Nothing: the file and the ring are as they were.
    Unchanged,
    /// The file changed and its keys are in use; ids active first.
    Reloaded(Vec<KeyId>),
    /// A retiring key's time came and it stopped verifying; ids left.
    Retired(Vec<KeyId>),
}

impl KeyWatcher {
    /// Watches `store` for the engine whose ring was built from `loaded`.
    /// `listen` is shown to operators beside this instance's
    /// acknowledgement.
    pub fn new(store: KeyStore, loaded: LoadedKeys, listen: &str) -> Self {
        Self {
            store,
            instance: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
            listen: listen.to_owned(),
            file: loaded.file,
            digest: loaded.digest,
            stopped: false,
        }
    }

    /// This instance's name in the acknowledgements.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Re-reads the key file; if it changed, puts its keys into `engine`.
    /// Drops retiring keys whose time has come. Then acknowledges the file
    /// the engine runs on. A file that cannot be read or parsed leaves the
    /// ring as it was (and is not acknowledged, so no rotation goes on
    /// while an instance cannot follow) and is reported as an error.
    pub fn tick(&mut self, engine: &Engine, now: DateTime<Utc>) -> Result<KeyReload, ServerError> {
        if self.stopped {
            return Ok(KeyReload::Unchanged);
        }
        let reread = self.store.reread(&self.digest);
        let reload = match &reread {
            Ok(Reread::Changed(loaded)) => {
                let before = self.file.ring_at(now);
                self.file = loaded.file.clone();
                self.digest = loaded.digest.clone();
                let ring = self.file.ring_at(now);
                let ids = ring.key_ids().cloned().collect();
                let changed = before.key_ids().ne(ring.key_ids());
                engine.replace_key_ring(ring);
                if changed {
                    KeyReload::Reloaded(ids)
                } else {
                    KeyReload::Unchanged
                }
            }
            _ => self.retire_due(engine, now),
        };
        match reread {
            Ok(Reread::Changed(_) | Reread::Same) => {
                self.store
                    .acknowledge(&self.instance, &self.listen, &self.digest)?;
                Ok(reload)
            }
            Ok(Reread::Gone) => Err(ServerError::Input(format!(
                "{} is gone; keeping the keys loaded before",
                self.store.path().display()
            ))),
            Err(e) => Err(e),
        }
    }

    fn retire_due(&mut self, engine: &Engine, now: DateTime<Utc>) -> KeyReload {
        let running = engine.key_ids();
        let ring = self.file.ring_at(now);
        if running.iter().eq(ring.key_ids()) {
            return KeyReload::Unchanged;
        }
        let ids = ring.key_ids().cloned().collect();
        engine.replace_key_ring(ring);
        KeyReload::Retired(ids)
    }

    /// Removes this instance's acknowledgement (on a clean shutdown); later
    /// ticks do nothing.
    pub fn stop(&mut self) {
        self.stopped = true;
        self.store.forget(&self.instance);
    }

    /// Whether [`KeyWatcher::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }
}
