//! Download URLs: issue a signed grant after an authorized download, and
//! redeem it when the URL is fetched.
//!
//! A download is **counted once, when the grant is issued** (through
//! [`Engine::authorize_download`], signed with
//! [`Engine::grant_shared_content`]). Fetching the URL, however often within
//! its lifetime (resumed or ranged downloads), counts nothing more; it only
//! checks that the share is still usable at the same token epoch, that
//! download is still enabled and that the file is still inside the share.

use chrono::{DateTime, Utc};

use super::error::Error;
use crate::code::InputError;
use crate::fields::{DriveId, FileId};
use crate::grant::{ContentGrant, GrantError, GrantKind, GrantedShare, SignedGrant};
use crate::scope::{FileKind, FileMeta, ScopeError};
use crate::share::Share;

use super::{ContentAuthorization, Engine};

/// A freshly signed content grant (download or preview URL).
#[derive(Debug, Clone)]
pub struct IssuedGrant {
    /// The grant text, for the download URL.
    pub grant: SignedGrant,
    /// When it expires.
    pub expires_at: DateTime<Utc>,
}

/// Proof that a drive owner's own file may be granted
/// ([`Engine::authorize_drive_file`]): the file exists in the drive and is
/// a file. Private fields, not `Clone`; [`Engine::grant_drive_file`]
/// consumes it, as [`Engine::grant_shared_content`] consumes a
/// [`ContentAuthorization`].
#[derive(Debug)]
pub struct DriveFileAuthorization {
    drive: DriveId,
    file: FileMeta,
    kind: GrantKind,
}

impl DriveFileAuthorization {
    /// The drive.
    pub fn drive(&self) -> &DriveId {
        &self.drive
    }

    /// The file.
    pub fn file(&self) -> &FileMeta {
        &self.file
    }

    /// A download or a preview.
    pub fn kind(&self) -> GrantKind {
        self.kind
    }
}

/// A verified content grant: the file to stream or render.
#[derive(Debug, Clone)]
pub struct RedeemedGrant {
    /// The file.
    pub file: FileMeta,
    /// The share it was granted through, as it is now.
    pub share: Option<Share>,
    /// Download or preview.
    pub kind: GrantKind,
}

impl Engine {
    /// Signs the URL for a download or preview the engine authorized and
    /// counted ([`Engine::authorize_download`],
    /// [`Engine::authorize_preview`]). The grant's kind is the one counted,
    /// and the authorization is consumed: one counted use, one URL (which
    /// may be fetched again within its lifetime, for resumed downloads).
    /// `expire_sec`: `None`/0 = 900, at most 115200.
    pub fn grant_shared_content(
        &self,
        auth: ContentAuthorization,
        expire_sec: Option<u32>,
    ) -> Result<IssuedGrant, Error> {
        let share = GrantedShare {
            share_id: auth.share().id().clone(),
            token_epoch: auth.share().token_epoch(),
        };
        let kind = auth.kind();
        let drive = auth.share().drive_id().clone();
        let file = auth.into_file().file_id;
        self.sign_grant(drive, file, Some(share), kind, expire_sec)
    }

    /// Authorizes a download or preview of a drive owner's own file: the
    /// file must exist in `drive` (else `NotFound.File`) and be a file,
    /// not a folder (else `InvalidParameter`, as for shared files). The host must have checked that the
    /// caller may read `drive`; no share, counter or quota is involved.
    pub fn authorize_drive_file(
        &self,
        drive: &DriveId,
        file: &FileId,
        kind: GrantKind,
    ) -> Result<DriveFileAuthorization, Error> {
        let meta = self
            .catalog
            .file(drive, file)
            .map_err(ScopeError::from)?
            .ok_or(ScopeError::NotInShare)?;
        if meta.kind == FileKind::Folder {
            return Err(InputError::invalid(
                "file_id",
                format!("{} is a folder; only files have content", meta.file_id),
            )
            .into());
        }
        Ok(DriveFileAuthorization {
            drive: drive.clone(),
            file: meta,
            kind,
        })
    }

    /// Signs the URL of a drive owner's own file that
    /// [`Engine::authorize_drive_file`] authorized; the same shape as
    /// [`Engine::grant_shared_content`]. `expire_sec`: `None`/0 = 900, at
    /// most 115200.
    pub fn grant_drive_file(
        &self,
        auth: DriveFileAuthorization,
        expire_sec: Option<u32>,
    ) -> Result<IssuedGrant, Error> {
        let DriveFileAuthorization { drive, file, kind } = auth;
        self.sign_grant(drive, file.file_id, None, kind, expire_sec)
    }

    /// Verifies grant text from a URL that names `file_id`. Counts nothing:
    /// the download or preview was counted when the grant was issued. Through
    /// a share, re-checks the share's state, switches and the file-type
    /// policy as they are now.
    pub fn redeem_content_grant(
        &self,
        text: &str,
        file_id: &FileId,
    ) -> Result<RedeemedGrant, Error> {
        let now = self.clock.now();
        let grant = {
            let keys = self
                .keys
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            ContentGrant::verify(text, &keys, now)?
        };
        if grant.file_id() != file_id {
            return Err(GrantError::WrongFile.into());
        }
        let Some(granted) = grant.share() else {
            let file = self
                .catalog
                .file(grant.drive_id(), file_id)
                .map_err(ScopeError::from)?
                .ok_or(ScopeError::NotInShare)?;
            return Ok(RedeemedGrant {
                file,
                share: None,
                kind: grant.kind(),
            });
        };
        let share = self.load(&granted.share_id)?;
        if share.drive_id() != grant.drive_id() {
            return Err(GrantError::WrongFile.into());
        }
        share.check_usable(now)?;
        if share.token_epoch() != granted.token_epoch {
            return Err(GrantError::Revoked.into());
        }
        let action = grant.kind().action();
        if share.permissions().disables(action) {
            return Err(GrantError::ActionDisabled { action }.into());
        }
        let file = self.locate(&share, file_id)?;
        // The rule as it stands now, for the file as it is now (renamed, or
        // the tenant's custom domain gone since the grant was issued).
        self.check_file_policy(&share, action, &file)?;
        Ok(RedeemedGrant {
            file,
            share: Some(share),
            kind: grant.kind(),
        })
    }

    fn sign_grant(
        &self,
        drive: DriveId,
        file: FileId,
        share: Option<GrantedShare>,
        kind: GrantKind,
        expire_sec: Option<u32>,
    ) -> Result<IssuedGrant, Error> {
        let now = self.clock.now();
        let grant = ContentGrant::new(drive, file, share, kind, expire_sec, now)?;
        let signed = grant.sign(
            &self
                .keys
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        Ok(IssuedGrant {
            grant: signed,
            expires_at: grant.expires_at(),
        })
    }
}
