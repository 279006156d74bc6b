//! Signed download and preview URLs on this server: authorize (and,
//! through a share, count) once, then sign a grant into the URL.

use sharelink_core::{FileId, GrantKind, ShareId};

use crate::error::ApiError;

use super::Target;
use crate::ShareApi;
use crate::extract::RequestHead;
use crate::host::{Authenticator, DriveStore, FileEntry};
use crate::rendition;

/// Longest lifetime of a preview URL (PDS `url_expire_sec`: at most 14400).
pub(crate) const MAX_PREVIEW_URL_SECS: u32 = 14_400;

/// A signed URL, and what it was issued for.
pub(super) struct IssuedUrl {
    /// The URL, grant included.
    pub(super) url: String,
    /// When the grant expires.
    pub(super) expires_at: chrono::DateTime<chrono::Utc>,
    /// The file.
    pub(super) entry: FileEntry,
    /// The share it goes through, if any.
    pub(super) share: Option<ShareId>,
}

impl<A: Authenticator, D: DriveStore> ShareApi<A, D> {
    /// Authorizes (and, through a share, counts) a download or preview and
    /// signs a URL on this server for it.
    pub(super) fn issue_url(
        &self,
        head: &RequestHead,
        target: Target,
        file: &FileId,
        kind: GrantKind,
        expire_sec: Option<u32>,
    ) -> Result<IssuedUrl, ApiError> {
        let (entry, share, issued, scope) = match target {
            Target::Share(share_id) => {
                // A file with no preview is refused before it is counted.
                let auth = self.shared_use(head, &share_id, file, kind, |m| match kind {
                    GrantKind::Preview => rendition::previewable(m).map(drop),
                    GrantKind::Download => Ok(()),
                })?;
                let entry = self.entry_of(auth.file())?;
                let issued = self
                    .engine
                    .grant_shared_content(auth, expire_sec)
                    .map_err(|e| self.fail(&e))?;
                let scope = format!("share_id={share_id}");
                (entry, Some(share_id), issued, scope)
            }
            Target::Drive(drive) => {
                let entry = self.drive_content(head, &drive, file)?;
                if kind == GrantKind::Preview {
                    rendition::previewable(&entry.meta)?;
                }
                let issued = self
                    .engine
                    .authorize_drive_file(&drive, file, kind)
                    .and_then(|auth| self.engine.grant_drive_file(auth, expire_sec))
                    .map_err(|e| self.fail(&e))?;
                let scope = format!("drive_id={}", percent_encode(drive.as_str()));
                (entry, None, issued, scope)
            }
        };
        let query = format!("{scope}&grant={}", issued.grant.expose_secret());
        Ok(IssuedUrl {
            url: self.download_url(head, file, &query),
            expires_at: issued.expires_at,
            entry,
            share,
        })
    }

    pub(super) fn download_url(&self, head: &RequestHead, file: &FileId, query: &str) -> String {
        let base = self
            .config
            .public_base_url
            .as_deref()
            .unwrap_or(&head.base_url)
            .trim_end_matches('/');
        format!(
            "{base}/v2/file/download?file_id={}&{query}",
            percent_encode(file.as_str())
        )
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
pub(crate) fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("a b/ç.txt"), "a%20b%2F%C3%A7.txt");
        assert_eq!(percent_encode("A-z_0.~"), "A-z_0.~");
    }
}
