//! Stable error codes, and the error for malformed input.
//!
//! A leaf module: it imports nothing from the crate, so every other module
//! can use it without an import circle. Every error a host can see maps to
//! an [`ErrorCode`]; the top-level [`Error`](crate::Error) lives with the
//! engine.

/// Defines a code enum from **one table** of `Variant = ("Code.String",
/// status)` rows, each with its doc comment: the enum, `as_str`,
/// `http_status`, `describe` (the doc text) and `ALL` all come from the same
/// rows, so they cannot drift apart. Used for [`ErrorCode`] here and the
/// HTTP layer's `WireCode`.
#[macro_export]
#[doc(hidden)]
macro_rules! __code_table {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[doc = $doc:literal])* $variant:ident = ($code:literal, $status:literal), )*
        }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl $name {
            /// The code string, as it appears on the wire.
            pub const fn as_str(self) -> &'static str {
                match self { $( Self::$variant => $code, )* }
            }

            /// The HTTP status that goes with the code.
            pub const fn http_status(self) -> u16 {
                match self { $( Self::$variant => $status, )* }
            }

            /// What the code means (its doc comment).
            pub const fn describe(self) -> &'static str {
                match self { $( Self::$variant => concat!($($doc),*), )* }
            }

            /// Every code, in table order, for exhaustive tests and
            /// documentation tables.
            pub const ALL: &'static [$name] = &[ $( Self::$variant, )* ];
        }
    };
}

__code_table! {
    /// A stable, machine-readable error code, as PDS spells it on the wire.
    ///
    /// The string form ([`ErrorCode::as_str`]) and the HTTP status
    /// ([`ErrorCode::http_status`]) never change for a given variant.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    #[non_exhaustive]
    pub enum ErrorCode {
        /// A parameter is malformed.
        InvalidParameter = ("InvalidParameter", 400),
        /// A required parameter is missing.
        InvalidParameterMissing = ("InvalidParameterMissing", 400),
        /// A parameter is outside its allowed range.
        InvalidParameterOutOfRange = ("InvalidParameterOutOfRange", 400),
        /// No share with that id exists.
        NotFoundShareLink = ("NotFound.ShareLink", 404),
        /// The share was cancelled by its creator.
        ShareLinkCancelled = ("ShareLink.Cancelled", 403),
        /// The share has expired.
        ShareLinkExpired = ("ShareLink.Expired", 403),
        /// The share was forbidden by an administrator.
        ShareLinkForbidden = ("ShareLink.Forbidden", 403),
        /// The share password is wrong or missing.
        InvalidResourceSharePwd = ("InvalidResource.SharePwd", 400),
        /// Too many failed password attempts; retry later.
        TooManyRequests = ("TooManyRequests", 429),
        /// The share token is missing, malformed, expired, revoked, for another share or under an unknown key.
        ShareLinkTokenInvalid = ("ShareLinkTokenInvalid", 401),
        /// The share is restricted to members and the caller is not one (or not its creator, for creator operations).
        ForbiddenNoPermissionShareLink = ("ForbiddenNoPermission.ShareLink", 403),
        /// Preview is disabled on the share.
        ForbiddenNoPermissionPreview = ("ForbiddenNoPermission.Preview", 403),
        /// Download is disabled on the share.
        ForbiddenNoPermissionDownload = ("ForbiddenNoPermission.Download", 403),
        /// Save (copy) is disabled on the share.
        ForbiddenNoPermissionSave = ("ForbiddenNoPermission.Save", 403),
        /// The share's preview limit is reached.
        ShareLinkPreviewLimitExceeded = ("ShareLink.PreviewLimitExceeded", 403),
        /// The share's download limit is reached.
        ShareLinkDownloadLimitExceeded = ("ShareLink.DownloadLimitExceeded", 403),
        /// The share's save limit is reached.
        ShareLinkSaveLimitExceeded = ("ShareLink.SaveLimitExceeded", 403),
        /// The file is not inside the share (existence is not revealed).
        NotFoundFile = ("NotFound.File", 404),
        /// The file type may not be downloaded from this share (APK/IPA policy).
        ForbiddenFileTypeDownload = ("ForbiddenFileType.Download", 403),
        /// The tenant's daily share-creation quota is used up.
        QuotaExhaustedShareLinkCreate = ("QuotaExhausted.ShareLinkCreate", 429),
        /// The tenant's daily share-access quota is used up.
        QuotaExhaustedShareLinkAccess = ("QuotaExhausted.ShareLinkAccess", 429),
        /// A download URL is malformed, expired, revoked or for another file.
        DownloadUrlInvalid = ("DownloadUrlInvalid", 403),
        /// The storage backend failed.
        InternalError = ("InternalError", 500),
        /// Optimistic concurrency kept conflicting after bounded retries.
        ServiceUnavailable = ("ServiceUnavailable", 503),
    }
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
