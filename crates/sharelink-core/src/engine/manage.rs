//! Creator and administrator operations: create, get, update, cancel, list,
//! forbid.

use crate::error::{Error, InputError};
use crate::events::Event;
use crate::fields::ShareName;
use crate::id::ShareId;
use crate::password::{PasswordHash, SharePassword};
use crate::quota::QuotaKind;
use crate::scope::ScopeError;
use crate::share::{Member, Share, ShareFiles, ShareSpec, ShareUpdate};
use crate::storage::{InsertOutcome, ListMarker, ShareQuery, StorageError};

use super::{AnonymousShareView, CreateShareRequest, Engine, SharePageView, UpdateShareRequest};

/// Attempts at drawing a share id that is not taken. With 22 base62
/// characters a collision is astronomically unlikely; the bound only keeps
/// a broken RNG from looping forever.
const MAX_ID_ATTEMPTS: u32 = 4;
/// Largest page of `list_share_links` (PDS: 0–100).
pub const MAX_LIST_LIMIT: usize = 100;

impl Engine {
    /// Creates a share (PDS CreateShareLink).
    ///
    /// Every listed file must exist in the drive (else `NotFound.File`). The
    /// name defaults to the first file's name. The password is stored only as
    /// an argon2id hash. Creation and its quota charge are one atomic step:
    /// there is never a share without its charge, nor a charge without a share.
    pub fn create_share_link(&self, req: CreateShareRequest) -> Result<Share, Error> {
        let now = self.clock.now();
        let charge = self.quota_charge(&req.tenant, QuotaKind::Create, now);
        // Cheap pre-check, so an exhausted tenant costs no argon2 work. The
        // atomic check happens in `insert_share`.
        if let Some(c) = &charge {
            if self.storage.quota_used(&c.key)? >= c.limit {
                return Err(self.quota_exhausted(c, now));
            }
        }
        let name = match req.name {
            Some(name) => name,
            None => self.default_name(&req)?,
        };
        if let ShareFiles::Listed(ids) = &req.files {
            for id in ids {
                if self
                    .catalog
                    .file(&req.drive_id, id)
                    .map_err(ScopeError::from)?
                    .is_none()
                {
                    return Err(ScopeError::NotInShare.into());
                }
            }
        }
        let password = self.hash_password(req.password.as_ref())?;
        let spec = ShareSpec {
            tenant: req.tenant,
            drive_id: req.drive_id,
            creator: req.creator,
            files: req.files,
            name,
            description: req.description,
            expiration: req.expiration,
            audience: req.audience,
            permissions: req.permissions,
            limits: req.limits,
        };
        for _ in 0..MAX_ID_ATTEMPTS {
            let share = Share::create(self.new_share_id()?, spec.clone(), password.clone(), now)?;
            match self.storage.insert_share(&share, charge.as_ref())? {
                InsertOutcome::Inserted => {
                    self.emit(Event::ShareCreated {
                        share_id: share.id().clone(),
                        tenant: share.tenant().clone(),
                        creator: share.creator().user_id.clone(),
                    });
                    return Ok(share);
                }
                InsertOutcome::IdTaken => continue,
                InsertOutcome::QuotaExhausted { .. } => {
                    return Err(match &charge {
                        Some(c) => self.quota_exhausted(c, now),
                        None => Error::Storage(StorageError::Corrupt {
                            what: format!("quota of tenant {}", share.tenant()),
                            reason: "backend reported exhaustion without a charge".into(),
                        }),
                    });
                }
            }
        }
        Err(Error::Storage(StorageError::Backend {
            message: format!(
                "no free share id after {MAX_ID_ATTEMPTS} attempts; is the RNG broken?"
            ),
            source: None,
        }))
    }

    /// The creator's view of a share (PDS GetShareLink). Only its creator may read it.
    pub fn get_share_link(&self, caller: &Member, id: &ShareId) -> Result<Share, Error> {
        let share = self.load(id)?;
        share.check_creator(caller)?;
        Ok(share)
    }

    /// Updates a share (PDS UpdateShareLink). Only its creator may.
    ///
    /// Changing the password, audience, expiration or status revokes every
    /// outstanding token. Retries version conflicts a bounded number of times.
    pub fn update_share_link(
        &self,
        caller: &Member,
        id: &ShareId,
        req: UpdateShareRequest,
    ) -> Result<Share, Error> {
        let now = self.clock.now();
        let password = match &req.password {
            None => None,
            Some(p) => Some(self.hash_password(p.as_ref())?),
        };
        let patch = ShareUpdate {
            password,
            name: req.name,
            description: req.description,
            expiration: req.expiration,
            status: req.status,
            audience: req.audience,
            disable_preview: req.disable_preview,
            disable_download: req.disable_download,
            disable_save: req.disable_save,
            preview_limit: req.preview_limit,
            download_limit: req.download_limit,
            save_limit: req.save_limit,
            preview_count: req.preview_count,
            download_count: req.download_count,
            save_count: req.save_count,
        };
        let (before, after) = self.modify_share(id, |share| {
            share.check_creator(caller)?;
            Ok(share.update(patch.clone(), now)?)
        })?;
        self.emit(Event::ShareUpdated {
            share_id: id.clone(),
            tokens_revoked: before.token_epoch() != after.token_epoch(),
        });
        Ok(after)
    }

    /// Cancels a share (PDS CancelShareLink). Only its creator may.
    /// Outstanding tokens die at once.
    pub fn cancel_share_link(&self, caller: &Member, id: &ShareId) -> Result<Share, Error> {
        let now = self.clock.now();
        let (_, after) = self.modify_share(id, |share| {
            share.check_creator(caller)?;
            Ok(share.cancel(now)?)
        })?;
        self.emit(Event::ShareCancelled {
            share_id: id.clone(),
        });
        Ok(after)
    }

    /// An administrator forbids a share. The host must have checked that the
    /// caller is an administrator of the share's tenant.
    pub fn forbid_share_link(&self, id: &ShareId) -> Result<Share, Error> {
        self.moderate(id, true)
    }

    /// An administrator lifts a forbid. The host must have checked the caller.
    pub fn unforbid_share_link(&self, id: &ShareId) -> Result<Share, Error> {
        self.moderate(id, false)
    }

    /// The caller's own shares, newest first (PDS ListShareLink).
    ///
    /// `limit` is 1..=100 (0 means 100); `marker` is the `next_marker` of the
    /// previous page, or empty for the first.
    pub fn list_share_links(
        &self,
        caller: &Member,
        include_cancelled: bool,
        limit: usize,
        marker: &str,
    ) -> Result<SharePageView, Error> {
        if limit > MAX_LIST_LIMIT {
            return Err(InputError::out_of_range("limit", format!("0..={MAX_LIST_LIMIT}")).into());
        }
        let marker = if marker.is_empty() {
            None
        } else {
            Some(ListMarker::decode(marker)?)
        };
        let page = self.storage.list_shares(&ShareQuery {
            tenant: caller.tenant.clone(),
            creator: caller.user_id.clone(),
            include_cancelled,
            limit: if limit == 0 { MAX_LIST_LIMIT } else { limit },
            marker,
        })?;
        Ok(SharePageView {
            items: page.items,
            next_marker: page.next_marker.map(|m| m.encode()).unwrap_or_default(),
        })
    }

    /// The public view of a share (PDS GetShareLinkByAnonymous): masked
    /// creator, `has_pwd`, expiration, limits and counters; never the
    /// password or the file list. A cancelled, forbidden or expired share
    /// answers with its error instead.
    pub fn get_share_link_by_anonymous(&self, id: &ShareId) -> Result<AnonymousShareView, Error> {
        let now = self.clock.now();
        let share = self.load(id)?;
        share.check_usable(now)?;
        Ok(AnonymousShareView::of(&share))
    }

    fn moderate(&self, id: &ShareId, forbid: bool) -> Result<Share, Error> {
        let now = self.clock.now();
        let (_, after) = self.modify_share(id, |share| {
            Ok(if forbid {
                share.forbid(now)?
            } else {
                share.unforbid(now)?
            })
        })?;
        self.emit(Event::ShareModerated {
            share_id: id.clone(),
            forbidden: forbid,
        });
        Ok(after)
    }

    fn hash_password(
        &self,
        password: Option<&SharePassword>,
    ) -> Result<Option<PasswordHash>, Error> {
        let Some(password) = password else {
            return Ok(None);
        };
        let salt = self.random_bytes::<16>();
        Ok(Some(
            self.config
                .password_hasher
                .hash_with_salt(password, &salt)?,
        ))
    }

    fn default_name(&self, req: &CreateShareRequest) -> Result<ShareName, Error> {
        let Some(first) = req.files.ids().first() else {
            return Ok(ShareName::default());
        };
        let meta = self
            .catalog
            .file(&req.drive_id, first)
            .map_err(ScopeError::from)?
            .ok_or(ScopeError::NotInShare)?;
        // Truncate long file names to the share-name limit rather than fail.
        let mut name: String = meta.name.chars().take(ShareName::MAX_CHARS).collect();
        name.retain(|c| !c.is_control());
        Ok(ShareName::new(name)?)
    }
}
