//! The one middleware every request passes: request id, tracing span,
//! panic safety, and the final JSON body of errors.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;
use rand::RngCore as _;
use tracing::Instrument as _;

use crate::error::{ApiError, PendingError, WireCode, render};
use crate::extract::REQUEST_ID_HEADER;

/// Gives the request an id and a span, turns a panic into a JSON 500, and
/// writes error bodies with the request id.
pub(crate) async fn observe(req: Request, next: Next) -> Response {
    let request_id = new_request_id();
    let action = req
        .headers()
        .get("x-acs-action")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect::<String>();
    // Only the path: query strings can carry download grants.
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        action = %action,
        request_id = %request_id,
    );
    let started = Instant::now();
    let oversized = oversized_head(&req);
    let handled = async move {
        match oversized {
            Some(e) => e.into_response(),
            None => next.run(req).await,
        }
    };
    let mut res = match AssertUnwindSafe(handled.instrument(span.clone()))
        .catch_unwind()
        .await
    {
        Ok(res) => res,
        Err(_) => {
            span.in_scope(|| tracing::error!("handler panicked"));
            ApiError::internal().into_response()
        }
    };
    if let Some(PendingError(e)) = res.extensions_mut().remove::<PendingError>() {
        *res.body_mut() = Body::from(render(&e, &request_id));
        res.headers_mut().remove(header::CONTENT_LENGTH);
        span.in_scope(|| {
            tracing::info!(
                status = res.status().as_u16(),
                code = e.code(),
                elapsed_us = micros(started),
                "refused"
            );
        });
    } else {
        span.in_scope(|| {
            tracing::info!(
                status = res.status().as_u16(),
                elapsed_us = micros(started),
                "done"
            );
        });
    }
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    res
}

/// Longest request target accepted (`414 UriTooLong` beyond).
pub(crate) const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest header section accepted (`431 RequestHeaderFieldsTooLarge` beyond).
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;

/// A JSON 414 or 431 for a head over our limits. (A head over the server's
/// own buffer never reaches the router: hyper answers it, without a body.)
fn oversized_head(req: &Request) -> Option<ApiError> {
    let uri = req.uri().to_string().len();
    if uri > MAX_URI_BYTES {
        return Some(ApiError::wire(
            WireCode::UriTooLong,
            format!("The request URI is {uri} bytes; at most {MAX_URI_BYTES} are accepted."),
        ));
    }
    let headers: usize = req
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    (headers > MAX_HEADER_BYTES).then(|| {
        ApiError::wire(
            WireCode::RequestHeaderFieldsTooLarge,
            format!(
                "The request headers are {headers} bytes; at most {MAX_HEADER_BYTES} are accepted."
            ),
        )
    })
}

fn micros(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Unknown route.
pub(crate) async fn not_found() -> ApiError {
    ApiError::wire(WireCode::NotFound, "The requested API does not exist.")
}

/// Known route, wrong method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::wire(
        WireCode::MethodNotAllowed,
        "The HTTP method is not allowed for this API.",
    )
}

/// `8B2A4C1E-5D6F-4A7B-9C0D-1E2F3A4B5C6D`: 128 random bits, PDS's shape.
pub(crate) fn new_request_id() -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    // 8-4-4-4-12 hex digits, written in place (no allocation per byte).
    let mut id = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            id.push('-');
        }
        id.push(char::from(HEX[usize::from(byte >> 4)]));
        id.push(char::from(HEX[usize::from(byte & 0x0F)]));
    }
    id
}
