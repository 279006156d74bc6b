//! Stable error codes and the engine's top-level error.
//!
//! Every error a host can see maps to an [`ErrorCode`]: a stable PDS code
//! string, an HTTP status and, where it applies, a retry-after instant. The
//! HTTP layer therefore never guesses. Each operation family has its own
//! `#[non_exhaustive]` error enum (in its module); [`Error`] wraps them all and
//! keeps the source chain.

use chrono::{DateTime, Utc};

use crate::file_policy::PolicyRefusal;
use crate::grant::GrantError;
use crate::id::ShareId;
use crate::quota::QuotaExhausted;
use crate::scope::ScopeError;
use crate::share::ShareError;
use crate::storage::StorageError;
use crate::throttle::ThrottleRefusal;
use crate::token::TokenError;

/// A stable, machine-readable error code, as PDS spells it on the wire.
///
/// The string form ([`ErrorCode::as_str`]) and the HTTP status
/// ([`ErrorCode::http_status`]) never change for a given variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// A parameter is malformed.
    InvalidParameter,
    /// A required parameter is missing.
    InvalidParameterMissing,
    /// A parameter is outside its allowed range.
    InvalidParameterOutOfRange,
    /// No share with that id exists.
    NotFoundShareLink,
    /// The share was cancelled by its creator.
    ShareLinkCancelled,
    /// The share has expired.
    ShareLinkExpired,
    /// The share was forbidden by an administrator.
    ShareLinkForbidden,
    /// The share password is wrong or missing.
    InvalidResourceSharePwd,
    /// Too many failed password attempts; retry later.
    TooManyRequests,
    /// The share token is missing, malformed, expired, revoked, for another share or under an unknown key.
    ShareLinkTokenInvalid,
    /// The share is restricted to members and the caller is not one (or not its creator, for creator operations).
    ForbiddenNoPermissionShareLink,
    /// Preview is disabled on the share.
    ForbiddenNoPermissionPreview,
    /// Download is disabled on the share.
    ForbiddenNoPermissionDownload,
    /// Save (copy) is disabled on the share.
    ForbiddenNoPermissionSave,
    /// The share's preview limit is reached.
    ShareLinkPreviewLimitExceeded,
    /// The share's download limit is reached.
    ShareLinkDownloadLimitExceeded,
    /// The share's save limit is reached.
    ShareLinkSaveLimitExceeded,
    /// The file is not inside the share (existence is not revealed).
    NotFoundFile,
    /// The file type may not be downloaded from this share (APK/IPA policy).
    ForbiddenFileTypeDownload,
    /// The tenant's daily share-creation quota is used up.
    QuotaExhaustedShareLinkCreate,
    /// The tenant's daily share-access quota is used up.
    QuotaExhaustedShareLinkAccess,
    /// A download URL is malformed, expired, revoked or for another file.
    DownloadUrlInvalid,
    /// The storage backend failed.
    InternalError,
    /// Optimistic concurrency kept conflicting after bounded retries.
    ServiceUnavailable,
}

impl ErrorCode {
    /// The PDS code string, e.g. `"ShareLink.Expired"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidParameter => "InvalidParameter",
            Self::InvalidParameterMissing => "InvalidParameterMissing",
            Self::InvalidParameterOutOfRange => "InvalidParameterOutOfRange",
            Self::NotFoundShareLink => "NotFound.ShareLink",
            Self::ShareLinkCancelled => "ShareLink.Cancelled",
            Self::ShareLinkExpired => "ShareLink.Expired",
            Self::ShareLinkForbidden => "ShareLink.Forbidden",
            Self::InvalidResourceSharePwd => "InvalidResource.SharePwd",
            Self::TooManyRequests => "TooManyRequests",
            Self::ShareLinkTokenInvalid => "ShareLinkTokenInvalid",
            Self::ForbiddenNoPermissionShareLink => "ForbiddenNoPermission.ShareLink",
            Self::ForbiddenNoPermissionPreview => "ForbiddenNoPermission.Preview",
            Self::ForbiddenNoPermissionDownload => "ForbiddenNoPermission.Download",
            Self::ForbiddenNoPermissionSave => "ForbiddenNoPermission.Save",
            Self::ShareLinkPreviewLimitExceeded => "ShareLink.PreviewLimitExceeded",
            Self::ShareLinkDownloadLimitExceeded => "ShareLink.DownloadLimitExceeded",
            Self::ShareLinkSaveLimitExceeded => "ShareLink.SaveLimitExceeded",
            Self::NotFoundFile => "NotFound.File",
            Self::ForbiddenFileTypeDownload => "ForbiddenFileType.Download",
            Self::QuotaExhaustedShareLinkCreate => "QuotaExhausted.ShareLinkCreate",
            Self::QuotaExhaustedShareLinkAccess => "QuotaExhausted.ShareLinkAccess",
            Self::DownloadUrlInvalid => "DownloadUrlInvalid",
            Self::InternalError => "InternalError",
            Self::ServiceUnavailable => "ServiceUnavailable",
        }
    }

    /// The HTTP status the wire layer must answer with.
    pub const fn http_status(self) -> u16 {
        match self {
            Self::InvalidParameter
            | Self::InvalidParameterMissing
            | Self::InvalidParameterOutOfRange
            | Self::InvalidResourceSharePwd => 400,
            Self::ShareLinkTokenInvalid => 401,
            Self::ShareLinkCancelled
            | Self::ShareLinkExpired
            | Self::ShareLinkForbidden
            | Self::ForbiddenNoPermissionShareLink
            | Self::ForbiddenNoPermissionPreview
            | Self::ForbiddenNoPermissionDownload
            | Self::ForbiddenNoPermissionSave
            | Self::ShareLinkPreviewLimitExceeded
            | Self::ShareLinkDownloadLimitExceeded
            | Self::ShareLinkSaveLimitExceeded
            | Self::ForbiddenFileTypeDownload
            | Self::DownloadUrlInvalid => 403,
            Self::NotFoundShareLink | Self::NotFoundFile => 404,
            Self::TooManyRequests
            | Self::QuotaExhaustedShareLinkCreate
            | Self::QuotaExhaustedShareLinkAccess => 429,
            Self::InternalError => 500,
            Self::ServiceUnavailable => 503,
        }
    }

    /// Every code, for exhaustive tests and documentation tables.
    pub const ALL: [ErrorCode; 24] = [
        Self::InvalidParameter,
        Self::InvalidParameterMissing,
        Self::InvalidParameterOutOfRange,
        Self::NotFoundShareLink,
        Self::ShareLinkCancelled,
        Self::ShareLinkExpired,
        Self::ShareLinkForbidden,
        Self::InvalidResourceSharePwd,
        Self::TooManyRequests,
        Self::ShareLinkTokenInvalid,
        Self::ForbiddenNoPermissionShareLink,
        Self::ForbiddenNoPermissionPreview,
        Self::ForbiddenNoPermissionDownload,
        Self::ForbiddenNoPermissionSave,
        Self::ShareLinkPreviewLimitExceeded,
        Self::ShareLinkDownloadLimitExceeded,
        Self::ShareLinkSaveLimitExceeded,
        Self::NotFoundFile,
        Self::ForbiddenFileTypeDownload,
        Self::QuotaExhaustedShareLinkCreate,
        Self::QuotaExhaustedShareLinkAccess,
        Self::DownloadUrlInvalid,
        Self::InternalError,
        Self::ServiceUnavailable,
    ];
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an untrusted input was rejected at the boundary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A required parameter is absent or empty.
    #[error("the input parameter {field} is missing")]
    Missing {
        /// The wire name of the parameter.
        field: &'static str,
    },
    /// A parameter is malformed.
    #[error("the input parameter {field} is not valid: {reason}")]
    Invalid {
        /// The wire name of the parameter.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A parameter is outside its allowed range.
    #[error("the input parameter {field} is out of range: {reason}")]
    OutOfRange {
        /// The wire name of the parameter.
        field: &'static str,
        /// The range it must lie in.
        reason: String,
    },
}

impl InputError {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn out_of_range(field: &'static str, reason: impl Into<String>) -> Self {
        Self::OutOfRange {
            field,
            reason: reason.into(),
        }
    }

    /// The wire name of the offending parameter.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Missing { field }
            | Self::Invalid { field, .. }
            | Self::OutOfRange { field, .. } => field,
        }
    }

    /// The stable code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Missing { .. } => ErrorCode::InvalidParameterMissing,
            Self::Invalid { .. } => ErrorCode::InvalidParameter,
            Self::OutOfRange { .. } => ErrorCode::InvalidParameterOutOfRange,
        }
    }
}

/// A request refused by a rate limit of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many {what} from this client; retry at {retry_at}")]
pub struct RateLimited {
    /// What was limited (`share token requests`, `password changes`, `copies`).
    pub what: &'static str,
    /// When a request will be allowed again.
    pub retry_at: DateTime<Utc>,
}

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
    /// The share refused the operation.
    #[error(transparent)]
    Share(#[from] ShareError),
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
            Self::Scope(e) => e.code(),
            Self::Storage(_) => ErrorCode::InternalError,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_statuses_match_the_table() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate code {code}");
        }
        assert_eq!(ErrorCode::NotFoundShareLink.as_str(), "NotFound.ShareLink");
        assert_eq!(ErrorCode::NotFoundShareLink.http_status(), 404);
        assert_eq!(ErrorCode::InvalidResourceSharePwd.http_status(), 400);
        assert_eq!(ErrorCode::ShareLinkTokenInvalid.http_status(), 401);
        assert_eq!(
            ErrorCode::ForbiddenFileTypeDownload.as_str(),
            "ForbiddenFileType.Download"
        );
        assert_eq!(ErrorCode::QuotaExhaustedShareLinkAccess.http_status(), 429);
        assert_eq!(ErrorCode::ServiceUnavailable.http_status(), 503);
        assert_eq!(ErrorCode::InternalError.http_status(), 500);
    }

    /// The crate doc's error-code table lists every code with its status,
    /// and nothing else (`A.B` / `.C` in a row is short for `A.C`).
    #[test]
    fn the_crate_doc_table_is_complete() {
        let mut table = std::collections::BTreeMap::new();
        for row in include_str!("lib.rs")
            .lines()
            .filter_map(|l| l.strip_prefix("//! | `"))
        {
            let cells: Vec<&str> = row.split('|').collect();
            let status: u16 = cells[1].trim().parse().unwrap();
            let mut prefix = String::new();
            for code in cells[0]
                .split('`')
                .filter(|c| !c.trim().is_empty() && c.trim() != "/")
            {
                let full = if let Some(rest) = code.strip_prefix('.') {
                    format!("{prefix}.{rest}")
                } else {
                    prefix = code
                        .rsplit_once('.')
                        .map_or(String::new(), |(p, _)| p.to_owned());
                    code.to_owned()
                };
                assert!(table.insert(full.clone(), status).is_none(), "{full} twice");
            }
        }
        for code in ErrorCode::ALL {
            assert_eq!(
                table.remove(code.as_str()),
                Some(code.http_status()),
                "{code} missing or with the wrong status"
            );
        }
        assert!(table.is_empty(), "the table names unknown codes: {table:?}");
    }

    #[test]
    fn input_error_codes() {
        assert_eq!(
            InputError::Missing { field: "share_id" }.code(),
            ErrorCode::InvalidParameterMissing
        );
        assert_eq!(
            InputError::invalid("x", "bad").code(),
            ErrorCode::InvalidParameter
        );
        assert_eq!(
            InputError::out_of_range("x", "bad").code(),
            ErrorCode::InvalidParameterOutOfRange
        );
        assert_eq!(
            InputError::invalid("share_name", "bad").field(),
            "share_name"
        );
    }
}
