//! Request handlers, one module per PDS resource. Each handler parses its
//! body, then does all engine and host work in one blocking task.

pub(crate) mod files;
pub(crate) mod share_links;

use std::sync::Arc;

use sharelink_core::{DriveId, Error, InputError, Member, ShareId};

use crate::ShareApi;
use crate::error::{ApiError, WireCode};
use crate::extract::{RequestHead, required};
use crate::host::{Authenticator, Caller, DriveStore};

pub(crate) type Api<A, D> = Arc<ShareApi<A, D>>;

/// Runs `f` on a blocking thread, inside the request's span.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || span.in_scope(f))
        .await
        .unwrap_or_else(|e| {
            tracing::error!(panicked = e.is_panic(), "blocking task failed");
            Err(ApiError::internal())
        })
}

/// Runs the read-only `f` of a request: on this async worker when `inline`
/// (every read is local: [`ShareApi`]'s `inline_reads`: a thread hop would cost
/// more than the read), else on a blocking thread like every other call.
/// Anything that may hash a password or write durably never comes here.
pub(crate) async fn read_only<T, F>(inline: bool, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
{
    if inline { f() } else { blocking(f).await }
}

/// Why an engine call that runs host work inside it (a precheck, a copy)
/// failed: the engine refused, or the host work did.
pub(crate) enum Refusal {
    /// The engine refused.
    Engine(Error),
    /// The HTTP layer or the host refused.
    Api(ApiError),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Self {
        Self::Engine(e)
    }
}

impl<A: Authenticator, D: DriveStore> ShareApi<A, D> {
    /// Maps an engine error at the engine's current instant.
    pub(crate) fn fail(&self, e: &Error) -> ApiError {
        ApiError::from_engine(e, self.engine.now())
    }

    /// Maps a [`Refusal`] to its response.
    pub(crate) fn refusal(&self, r: Refusal) -> ApiError {
        match r {
            Refusal::Engine(e) => self.fail(&e),
            Refusal::Api(e) => e,
        }
    }

    /// The signed-in caller; a missing token is `401 AccessTokenInvalid`.
    pub(crate) fn caller(&self, head: &RequestHead) -> Result<Caller, ApiError> {
        let token = head.bearer.as_ref().ok_or_else(|| {
            ApiError::wire(
                WireCode::AccessTokenInvalid,
                "AccessToken is invalid. An `Authorization: Bearer <access token>` header is required.",
            )
        })?;
        Ok(self.auth.authenticate(&token.0)?)
    }

    /// The caller if a bearer token was sent (members-only shares need it).
    pub(crate) fn optional_caller(&self, head: &RequestHead) -> Result<Option<Caller>, ApiError> {
        match head.bearer {
            Some(_) => self.caller(head).map(Some),
            None => Ok(None),
        }
    }

    /// Checks that `caller` may use `drive`.
    pub(crate) fn check_drive(&self, caller: &Member, drive: &DriveId) -> Result<(), ApiError> {
        if self.drives.may_access(caller, drive)? {
            Ok(())
        } else {
            Err(ApiError::wire(
                WireCode::ForbiddenNoPermission,
                format!("No Permission to access resource drive {drive}."),
            ))
        }
    }
}

/// A share id from the body: required, and well-formed.
pub(crate) fn share_id(value: Option<String>) -> Result<ShareId, ApiError> {
    let text = required(value, "share_id")?;
    text.parse::<ShareId>().map_err(ApiError::input)
}

/// `expire_sec` as the engine wants it: absent, or a non-negative `u32`.
pub(crate) fn seconds(value: Option<i64>, field: &'static str) -> Result<Option<u32>, ApiError> {
    match value {
        None => Ok(None),
        Some(v) => u32::try_from(v).map(Some).map_err(|_| {
            ApiError::input(InputError::OutOfRange {
                field,
                reason: format!("{v} is not a valid number of seconds"),
            })
        }),
    }
}

/// A page size: absent or 0 means the default; larger than `max` is refused.
pub(crate) fn page_limit(value: Option<u32>, max: usize) -> Result<usize, ApiError> {
    let v = value.map_or(0, |v| usize::try_from(v).unwrap_or(usize::MAX));
    if v > max {
        return Err(ApiError::input(InputError::OutOfRange {
            field: "limit",
            reason: format!("0..={max}"),
        }));
    }
    Ok(if v == 0 { max } else { v })
}

/// Refuses a field this server does not implement.
pub(crate) fn not_supported(field: &str, what: &str) -> ApiError {
    ApiError::wire(
        WireCode::InvalidParameterNotSupported,
        format!("The input parameter {field} is not supported: {what}."),
    )
}
