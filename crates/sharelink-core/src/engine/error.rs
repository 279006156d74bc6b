//! The engine's top-level error: every operation family's error, wrapped
//! with its source chain, each mapped to one [`ErrorCode`].

use chrono::{DateTime, Utc};

use crate::code::{ErrorCode, InputError};
use crate::file_policy::PolicyRefusal;
use crate::grant::GrantError;
use crate::id::ShareId;
use crate::quota::QuotaExhausted;
use crate::rate::RateLimited;
use crate::scope::ScopeError;
use crate::share::ShareError;
use crate::storage::StorageError;
use crate::throttle::ThrottleRefusal;
use crate::token::TokenError;

/// Any error an [`Engine`](crate::Engine) operation can return.
///
/// [`Error::code`] gives the stable code and HTTP status; [`Error::retry_after`]
/// gives the instant a refused caller may try again, where one exists.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed input.
    #[error(transparent)]
    Input(#[from] InputError),
    /// No share with this id exists.
    #[error("the share link {0} cannot be found")]
    ShareNotFound(ShareId),
    /// The share refused the operation. Never `ShareError::Token`: token
    /// failures always arrive as [`Error::Token`].
    #[error(transparent)]
    Share(ShareError),
    /// The share token was refused.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// A daily quota is used up.
    #[error(transparent)]
    Quota(#[from] QuotaExhausted),
    /// The file-type policy refused a download.
    #[error(transparent)]
    Policy(#[from] PolicyRefusal),
    /// A download URL was refused.
    #[error(transparent)]
    Grant(#[from] GrantError),
    /// Password guessing is being throttled.
    #[error(transparent)]
    Throttled(#[from] ThrottleRefusal),
    /// The share's password is wrong; says what this client may do next.
    #[error(transparent)]
    WrongPassword(#[from] WrongPassword),
    /// The file is not inside the share, or the host catalogue failed.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// The storage backend failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A per-client or per-caller rate limit refused the request.
    #[error(transparent)]
    RateLimited(#[from] RateLimited),
    /// Password hashing is at capacity (its workers busy, its queue full).
    #[error("the server is too busy checking passwords; retry at {retry_at}")]
    Overloaded {
        /// When to retry.
        retry_at: DateTime<Utc>,
    },
    /// Every drawn share id was taken: the id space is exhausted or the RNG
    /// is broken (not a storage failure).
    #[error("no free share id after {attempts} random draws; is the RNG broken?")]
    IdsExhausted {
        /// How many ids were drawn.
        attempts: u32,
    },
    /// Optimistic concurrency conflicts persisted after bounded retries.
    #[error(
        "the share link {share_id} kept changing concurrently; gave up after {attempts} attempts"
    )]
    Contention {
        /// The contended share.
        share_id: ShareId,
        /// How many attempts were made.
        attempts: u32,
    },
}

impl From<ShareError> for Error {
    /// Token failures are lifted to [`Error::Token`], so a host matches them
    /// in one place.
    fn from(e: ShareError) -> Self {
        match e {
            ShareError::Token(t) => Self::Token(t),
            other => Self::Share(other),
        }
    }
}

impl Error {
    /// The stable code (and through it, the HTTP status) for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Input(e) => e.code(),
            Self::ShareNotFound(_) => ErrorCode::NotFoundShareLink,
            Self::Share(e) => e.code(),
            Self::Token(_) => ErrorCode::ShareLinkTokenInvalid,
            Self::Quota(e) => e.code(),
            Self::Policy(_) => ErrorCode::ForbiddenFileTypeDownload,
            Self::Grant(e) => e.code(),
            Self::Throttled(_) => ErrorCode::TooManyRequests,
            Self::WrongPassword(_) => ErrorCode::InvalidResourceSharePwd,
            Self::Scope(e) => e.code(),
            Self::Storage(StorageError::Unavailable { .. }) => ErrorCode::ServiceUnavailable,
            Self::Storage(_) | Self::IdsExhausted { .. } => ErrorCode::InternalError,
            Self::RateLimited(_) => ErrorCode::TooManyRequests,
            Self::Overloaded { .. } | Self::Contention { .. } => ErrorCode::ServiceUnavailable,
        }
    }

    /// The HTTP status for this error.
    pub fn http_status(&self) -> u16 {
        self.code().http_status()
    }

    /// When a refused caller may retry: set for throttling and quota refusals.
    pub fn retry_after(&self) -> Option<DateTime<Utc>> {
        match self {
            Self::Quota(e) => Some(e.resets_at),
            Self::Throttled(e) => Some(e.retry_at),
            Self::RateLimited(e) => Some(e.retry_at),
            Self::Overloaded { retry_at } => Some(*retry_at),
            _ => None,
        }
    }
}

/// A wrong password, with what the password throttle allows this client
/// next (so a page can say "2 attempts left" or "wait 4 s").
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the resource share_pwd is not valid")]
pub struct WrongPassword {
    /// Wrong passwords this client may still try before waits start
    /// ([`ThrottlePolicy::free_failures`](crate::throttle::ThrottlePolicy::free_failures)).
    pub free_attempts_left: u32,
    /// When this client may try again, if it must wait.
    pub retry_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::LimitedUse;

    #[test]
    fn a_token_failure_always_arrives_as_error_token() {
        let lifted = Error::from(ShareError::Token(TokenError::Revoked));
        assert!(
            matches!(lifted, Error::Token(TokenError::Revoked)),
            "{lifted:?}"
        );
        assert_eq!(lifted.code(), ErrorCode::ShareLinkTokenInvalid);
        let kept = Error::from(ShareError::Cancelled);
        assert!(matches!(kept, Error::Share(ShareError::Cancelled)));
    }

    #[test]
    fn each_limited_use_has_its_own_codes() {
        for (used, disabled, limited) in [
            (
                LimitedUse::Preview,
                ErrorCode::ForbiddenNoPermissionPreview,
                ErrorCode::ShareLinkPreviewLimitExceeded,
            ),
            (
                LimitedUse::Download,
                ErrorCode::ForbiddenNoPermissionDownload,
                ErrorCode::ShareLinkDownloadLimitExceeded,
            ),
            (
                LimitedUse::Save,
                ErrorCode::ForbiddenNoPermissionSave,
                ErrorCode::ShareLinkSaveLimitExceeded,
            ),
        ] {
            assert_eq!(ShareError::ActionDisabled { action: used }.code(), disabled);
            assert_eq!(
                ShareError::LimitReached {
                    kind: used,
                    limit: 1
                }
                .code(),
                limited
            );
        }
    }
}
