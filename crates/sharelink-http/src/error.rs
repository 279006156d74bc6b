//! Wire errors: always a JSON body `{"code", "message", "requestId"}` plus
//! the `x-ca-request-id` header, with the status of the core's error table.
//!
//! Core errors map through [`ErrorCode`]; the few codes that exist only at
//! the HTTP layer (authentication, malformed bodies, unknown routes) are the
//! constants of [`WireCode`].

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use sharelink_core::{Error, ErrorCode, InputError, StorageError};

use crate::host::{AuthError, CopyError};

/// `Retry-After` for a storage outage: a lost database connection is
/// usually back within seconds (the pool reconnects by itself).
const STORAGE_RETRY_SECS: u64 = 2;

sharelink_core::__code_table! {
    /// Codes the HTTP layer adds to the core's table.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    #[non_exhaustive]
    pub enum WireCode {
        /// 401: the access token is missing, unknown or expired.
        AccessTokenInvalid = ("AccessTokenInvalid", 401),
        /// 403: the caller may not use that drive (or act for another user).
        ForbiddenNoPermission = ("ForbiddenNoPermission", 403),
        /// 400: the body is not valid JSON, or not a JSON object.
        InvalidParameterWrongFormat = ("InvalidParameterWrongFormat", 400),
        /// 400: a field or value this server does not support.
        InvalidParameterNotSupported = ("InvalidParameterNotSupported", 400),
        /// 413: the body exceeds the configured limit.
        RequestBodyTooLarge = ("RequestBodyTooLarge", 413),
        /// 404: no such route.
        NotFound = ("NotFound", 404),
        /// 405: the route exists with another method.
        MethodNotAllowed = ("MethodNotAllowed", 405),
        /// 409: a file with that name exists in the copy target.
        AlreadyExistFile = ("AlreadyExist.File", 409),
        /// 416: the `Range` of a download lies outside the file.
        InvalidRange = ("InvalidRange", 416),
        /// 404: no such background task (or not the caller's).
        NotFoundAsyncTask = ("NotFound.AsyncTask", 404),
        /// 400: a copy would hold more entries than allowed.
        TooManyEntriesCopy = ("TooManyEntries.Copy", 400),
        /// 400: a copy would be deeper than allowed.
        TooDeepCopy = ("TooDeep.Copy", 400),
        /// 403: the target drive is at its entry limit.
        QuotaExhaustedDrive = ("QuotaExhausted.Drive", 403),
        /// 431: the request's headers are too large.
        RequestHeaderFieldsTooLarge = ("RequestHeaderFieldsTooLarge", 431),
        /// 414: the request's URI is too long.
        UriTooLong = ("UriTooLong", 414),
        /// 400: the file has no preview (only images and text have one), or is
        /// too large or malformed to render one.
        NotSupportedPreview = ("NotSupported.Preview", 400),
    }
}

/// An error on its way to the wire.
#[derive(Debug, Clone)]
pub struct ApiError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
    retry_after_secs: Option<u64>,
    content_range_size: Option<u64>,
    password_hint: Option<PasswordHint>,
}

/// What a client that sent a wrong share password may do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordHint {
    /// Wrong passwords it may still try before waits start.
    pub free_attempts_left: u32,
    /// Seconds it must wait before the next attempt, if any.
    pub wait_secs: Option<u64>,
}

impl ApiError {
    /// An error with an explicit status, code and message.
    pub fn new(
        status: u16,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            code: code.into(),
            message: message.into(),
            retry_after_secs: None,
            content_range_size: None,
            password_hint: None,
        }
    }

    /// Adds `Retry-After: secs`.
    pub(crate) fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after_secs = Some(secs);
        self
    }

    /// Adds `Content-Range: bytes */size` (for 416 answers).
    pub(crate) fn with_content_range(mut self, size: u64) -> Self {
        self.content_range_size = Some(size);
        self
    }

    /// An HTTP-layer error.
    pub fn wire(code: WireCode, message: impl Into<String>) -> Self {
        Self::new(code.http_status(), code.as_str(), message)
    }

    /// A core error code with a message.
    pub fn core(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::new(code.http_status(), code.as_str(), message)
    }

    /// A malformed or missing input.
    pub fn input(e: InputError) -> Self {
        Self::core(e.code(), e.to_string())
    }

    /// `500 InternalError`, with a message that reveals nothing internal.
    pub fn internal() -> Self {
        Self::core(
            ErrorCode::InternalError,
            "The request has been failed due to some unknown error.",
        )
    }

    /// Maps an engine error, keeping its retry-after for 429s. Internal
    /// failures are logged here (without secrets) and answered generically.
    pub fn from_engine(e: &Error, now: DateTime<Utc>) -> Self {
        let code = e.code();
        if code == ErrorCode::InternalError {
            tracing::error!(error = %e, "engine failure");
            return Self::internal();
        }
        let storage_down = matches!(e, Error::Storage(StorageError::Unavailable { .. }));
        if storage_down {
            // Logged like an internal failure (an operator must look), but
            // answered as a short outage the client may retry.
            tracing::error!(error = %e, "storage unavailable");
        }
        let retry = e
            .retry_after()
            .map(|at| {
                let ms = u64::try_from((at - now).num_milliseconds()).unwrap_or(0);
                ms.div_ceil(1000).max(1)
            })
            .or(storage_down.then_some(STORAGE_RETRY_SECS));
        // Detail that would help an attacker (why a token failed, the
        // server's clock) goes to the debug log, not to the client.
        tracing::debug!(error = %e, "refused by the engine");
        let message = match (e, retry) {
            (_, _) if code == ErrorCode::ShareLinkTokenInvalid => {
                "The share token is invalid, expired or revoked. Get a new one with GetShareLinkToken."
                    .to_owned()
            }
            (_, _) if code == ErrorCode::DownloadUrlInvalid => {
                "The download URL is invalid, expired or revoked. Ask for a new one.".to_owned()
            }
            (Error::Throttled(_), Some(secs)) => {
                format!("Too many password attempts on this share. Retry in {secs} s.")
            }
            (Error::RateLimited(r), Some(secs)) => {
                format!("Too many {} from your address. Retry in {secs} s.", r.what)
            }
            (Error::Quota(q), Some(secs)) => format!(
                "The tenant's daily quota of {} {} is used up. It resets in {secs} s.",
                q.limit,
                match q.kind {
                    sharelink_core::QuotaKind::Create => "share link creations",
                    sharelink_core::QuotaKind::Access => "share link accesses",
                }
            ),
            (Error::Storage(_), Some(secs)) => {
                format!("The service is briefly unavailable. Retry in {secs} s.")
            }
            (Error::Overloaded { .. }, Some(secs)) => {
                format!("The server is busy checking passwords. Retry in {secs} s.")
            }
            _ => e.to_string(),
        };
        let mut out = Self::core(code, message);
        out.retry_after_secs = retry;
        if let Error::WrongPassword(w) = e {
            out.password_hint = Some(PasswordHint {
                free_attempts_left: w.free_attempts_left,
                wait_secs: w.retry_at.map(|at| {
                    u64::try_from((at - now).num_milliseconds())
                        .unwrap_or(0)
                        .div_ceil(1000)
                        .max(1)
                }),
            });
        }
        out
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
    /// The code string.
    pub fn code(&self) -> &str {
        &self.code
    }
    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
    /// Seconds until a refused caller may retry (sent as `Retry-After`).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_secs
    }
    /// For a wrong share password: the attempts left or the wait. Not sent
    /// on the wire (PDS's body has no such field); the share pages show it.
    pub fn password_hint(&self) -> Option<PasswordHint> {
        self.password_hint
    }
}

impl From<InputError> for ApiError {
    fn from(e: InputError) -> Self {
        Self::input(e)
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidToken(_) => Self::wire(WireCode::AccessTokenInvalid, e.to_string()),
            AuthError::Unavailable(_) => {
                tracing::error!(error = %e, "authenticator failure");
                Self::internal()
            }
        }
    }
}

impl From<CopyError> for ApiError {
    fn from(e: CopyError) -> Self {
        match &e {
            CopyError::NameTaken { .. } => Self::wire(WireCode::AlreadyExistFile, e.to_string()),
            CopyError::ParentNotFound(_) => Self::core(ErrorCode::NotFoundFile, e.to_string()),
            CopyError::ParentNotFolder(_) | CopyError::IntoItself => {
                Self::core(ErrorCode::InvalidParameter, e.to_string())
            }
            CopyError::TooManyEntries { .. } => {
                Self::wire(WireCode::TooManyEntriesCopy, e.to_string())
            }
            CopyError::TooDeep { .. } => Self::wire(WireCode::TooDeepCopy, e.to_string()),
            CopyError::DriveFull { .. } => Self::wire(WireCode::QuotaExhaustedDrive, e.to_string()),
            CopyError::Store(_) => {
                tracing::error!(error = %e, "drive store failure during copy");
                Self::internal()
            }
        }
    }
}

impl From<sharelink_core::CatalogError> for ApiError {
    fn from(e: sharelink_core::CatalogError) -> Self {
        tracing::error!(error = %e, "drive store failure");
        Self::internal()
    }
}

impl From<crate::host::ListError> for ApiError {
    fn from(e: crate::host::ListError) -> Self {
        match e {
            crate::host::ListError::Input(e) => Self::input(e),
            crate::host::ListError::Store(e) => e.into(),
        }
    }
}

/// The error as it sits in a response until the request-id middleware
/// writes the body (it is the one that knows the request id).
#[derive(Debug, Clone)]
pub(crate) struct PendingError(pub(crate) ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        if let Some(secs) = self.retry_after_secs {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        if let Some(size) = self.content_range_size {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
        }
        // Rendered without a request id here; `observe` re-renders it with one.
        let body = render(&self, "");
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res.extensions_mut().insert(PendingError(self));
        *res.body_mut() = body.into();
        res
    }
}

/// The JSON body of an error.
pub(crate) fn render(e: &ApiError, request_id: &str) -> String {
    serde_json::json!({
        "code": e.code,
        "message": e.message,
        "requestId": request_id,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use sharelink_core::{QuotaExhausted, QuotaKind, ShareId};

    #[test]
    fn engine_errors_keep_their_table_status() {
        let now = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let id: ShareId = "AAAAAAAAAAAAAAAAAAAAAA".parse().unwrap();
        let e = ApiError::from_engine(
            &Error::Contention {
                share_id: id.clone(),
                attempts: 8,
            },
            now,
        );
        assert_eq!((e.status().as_u16(), e.code()), (503, "ServiceUnavailable"));
        let e = ApiError::from_engine(&Error::ShareNotFound(id), now);
        assert_eq!((e.status().as_u16(), e.code()), (404, "NotFound.ShareLink"));
        // A storage outage is a 503 the client may retry, never a 500; a
        // backend failure stays a 500 that says nothing.
        let down = Error::Storage(sharelink_core::StorageError::unavailable(
            "connection lost",
            std::io::Error::other("EOF"),
        ));
        let e = ApiError::from_engine(&down, now);
        assert_eq!((e.status().as_u16(), e.code()), (503, "ServiceUnavailable"));
        assert_eq!(e.retry_after_secs(), Some(STORAGE_RETRY_SECS));
        assert!(!e.message().contains("connection lost"), "{}", e.message());
        let broken = Error::Storage(sharelink_core::StorageError::backend(
            "disk on fire",
            std::io::Error::other("EIO"),
        ));
        let e = ApiError::from_engine(&broken, now);
        assert_eq!((e.status().as_u16(), e.code()), (500, "InternalError"));
        assert!(!e.message().contains("fire"), "{}", e.message());
        // Retry-After rounds up to whole seconds, at least 1.
        let quota = Error::Quota(QuotaExhausted {
            tenant: sharelink_core::TenantId::new("t").unwrap(),
            kind: QuotaKind::Access,
            limit: 500,
            resets_at: now + Duration::milliseconds(1500),
        });
        let e = ApiError::from_engine(&quota, now);
        assert_eq!(e.retry_after_secs(), Some(2));
        assert_eq!(e.status().as_u16(), 429);
        // Seconds to wait, never the server's clock.
        assert!(e.message().contains("2 s"), "{}", e.message());
        assert!(!e.message().contains("2026"), "{}", e.message());
        // A token failure does not say why.
        for why in [
            sharelink_core::TokenError::BadSignature,
            sharelink_core::TokenError::UnknownKey,
            sharelink_core::TokenError::WrongShare,
        ] {
            let e = ApiError::from_engine(&Error::Token(why), now);
            assert_eq!(e.code(), "ShareLinkTokenInvalid");
            let m = e.message().to_lowercase();
            assert!(
                !m.contains("signature") && !m.contains("key") && !m.contains("another"),
                "{m}"
            );
        }
        // Internal failures say nothing internal.
        let internal = Error::Storage(sharelink_core::StorageError::Backend {
            message: "disk on fire at /var/x".into(),
            source: None,
        });
        let e = ApiError::from_engine(&internal, now);
        assert_eq!(e.status().as_u16(), 500);
        assert!(!e.message().contains("/var/x"));
        for &code in WireCode::ALL {
            let e = ApiError::wire(code, "m");
            assert_eq!(e.status().as_u16(), code.http_status());
        }
    }

    /// The table is the only definition: codes are unique, and the doc of
    /// each says its status first (`403: ...`), matching the table.
    #[test]
    fn the_wire_code_table_is_consistent() {
        let mut seen = std::collections::HashSet::new();
        for &code in WireCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert!(
                code.describe()
                    .trim_start()
                    .starts_with(&format!("{}:", code.http_status())),
                "{}: {:?}",
                code.as_str(),
                code.describe()
            );
        }
    }
}
