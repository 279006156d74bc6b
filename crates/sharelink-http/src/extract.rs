//! Turning a request into typed input: the JSON body (with a size limit and
//! `InvalidParameter*` errors, never a 500), the bearer and share tokens, the
//! client's throttling key and the base of signed URLs.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use sharelink_core::{ClientKey, InputError};

use crate::error::{ApiError, WireCode};

/// Header carrying the share token.
pub const SHARE_TOKEN_HEADER: &str = "x-share-token";
/// Header carrying the request id on every response.
pub const REQUEST_ID_HEADER: &str = "x-ca-request-id";

/// A token from a header. Redacted in `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(pub(crate) String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Everything the handlers need from the request head.
#[derive(Debug, Clone)]
pub(crate) struct RequestHead {
    /// `Authorization: Bearer <token>` (or `x-acs-bearer-token`).
    pub(crate) bearer: Option<Secret>,
    /// `x-share-token`.
    pub(crate) share_token: Option<Secret>,
    /// Throttling key of the client.
    pub(crate) client: ClientKey,
    /// `http://<address the connection was accepted on>`, the base of signed
    /// URLs when [`ApiConfig::public_base_url`](crate::ApiConfig) is unset.
    pub(crate) base_url: String,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestHead {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let headers = &parts.headers;
        let bearer = bearer_token(headers)?;
        let share_token = header_text(headers, SHARE_TOKEN_HEADER)?
            .filter(|t| !t.is_empty())
            .map(Secret);
        let (client, base_url) = client_and_base(parts);
        Ok(Self {
            bearer,
            share_token,
            client,
            base_url,
        })
    }
}

/// Reads and parses a JSON body of at most `limit` bytes.
///
/// An empty body reads as `{}`. Malformed JSON and non-objects give
/// `InvalidParameterWrongFormat`; a wrong type gives `InvalidParameter`
/// naming the field; an oversized body gives `413 RequestBodyTooLarge`.
/// An oversized body is still read (and discarded) up to [`DRAIN_CAP`]
/// bytes, so that the client, still sending, sees the 413 instead of a
/// broken connection.
/// The client's throttling key (from the connection's peer address) and the
/// base of the URLs this server signs (the address the connection was
/// accepted on; never the Host header, which the client chooses).
pub(crate) fn client_and_base(parts: &Parts) -> (ClientKey, String) {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let base_url = parts
        .extensions
        .get::<crate::serve::LocalAddr>()
        .map_or_else(
            || "http://127.0.0.1".to_owned(),
            |local| format!("http://{}", local.0),
        );
    (client_key(peer), base_url)
}

/// Why a body could not be read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyError {
    /// Larger than the limit.
    TooLarge,
    /// The connection failed mid-body.
    Unreadable,
}

/// Reads at most `limit` bytes of `body`. A larger body is
/// [`BodyError::TooLarge`], after up to `drain_cap` of it has been read and
/// dropped, so that the client has finished sending and reads the refusal
/// instead of a reset connection.
pub(crate) async fn read_bounded(
    body: &mut Body,
    limit: usize,
    drain_cap: usize,
) -> Result<Vec<u8>, BodyError> {
    let mut bytes = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Unreadable)?;
        if let Ok(data) = frame.into_data() {
            total = total.saturating_add(data.len());
            if total <= limit {
                bytes.extend_from_slice(&data);
            } else if total > drain_cap.max(limit) {
                break;
            }
        }
    }
    if total > limit {
        return Err(BodyError::TooLarge);
    }
    Ok(bytes)
}

pub(crate) async fn json_body<T: DeserializeOwned>(
    mut body: Body,
    limit: usize,
) -> Result<T, ApiError> {
    let bytes = match read_bounded(&mut body, limit, DRAIN_CAP).await {
        Ok(bytes) => bytes,
        Err(BodyError::Unreadable) => {
            return Err(ApiError::wire(
                WireCode::InvalidParameterWrongFormat,
                "The request body could not be read.",
            ));
        }
        Err(BodyError::TooLarge) => {
            return Err(ApiError::wire(
                WireCode::RequestBodyTooLarge,
                format!("The request body exceeds {limit} bytes."),
            ));
        }
    };
    parse_json(if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        &bytes
    })
}

/// How much of an oversized body is read and discarded before the
/// connection is given up on.
pub(crate) const DRAIN_CAP: usize = 16 << 20;

/// Parses a JSON object into `T`, mapping serde's errors to wire errors.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::wire(
            WireCode::InvalidParameterWrongFormat,
            format!("The request body is invalid Json format: {e}."),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::wire(
            WireCode::InvalidParameterWrongFormat,
            "The request body must be a JSON object.",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::input(InputError::Invalid {
            field: "body",
            reason: format!("{path}: {}", e.into_inner()),
        })
    })
}

/// A required field: absent, `null` and `""` are all missing.
pub(crate) fn required(value: Option<String>, field: &'static str) -> Result<String, ApiError> {
    match value {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(ApiError::input(InputError::Missing { field })),
    }
}

fn header_text(headers: &HeaderMap, name: &str) -> Result<Option<String>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(v) => v.to_str().map(|s| Some(s.trim().to_owned())).map_err(|_| {
            ApiError::input(InputError::Invalid {
                field: "header",
                reason: format!("{name} is not visible ASCII"),
            })
        }),
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<Option<Secret>, ApiError> {
    if let Some(auth) = header_text(headers, header::AUTHORIZATION.as_str())? {
        // The scheme is case-insensitive (RFC 9110 §11.1).
        let token = auth
            .split_once(' ')
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim());
        return match token {
            Some(t) if !t.is_empty() => Ok(Some(Secret(t.to_owned()))),
            _ => Err(ApiError::wire(
                WireCode::AccessTokenInvalid,
                "AccessToken is invalid. Only `Authorization: Bearer <access token>` is accepted.",
            )),
        };
    }
    // The Python SDK sends both headers; some gateways strip Authorization.
    Ok(header_text(headers, "x-acs-bearer-token")?
        .filter(|t| !t.is_empty())
        .map(Secret))
}

/// The throttling key: the client's /32 (IPv4) or /64 (IPv6) network.
pub(crate) fn client_key(peer: Option<IpAddr>) -> ClientKey {
    let text = match peer {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".to_owned(),
    };
    // An IP address or "unknown" is always a valid key (short, no control
    // characters).
    ClientKey::new(text).unwrap_or_else(|_| unreachable!("an IP address is a valid client key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            let mut h = HeaderMap::new();
            h.insert(
                header::AUTHORIZATION,
                format!("{scheme} tok").parse().unwrap(),
            );
            assert_eq!(bearer_token(&h).unwrap(), Some(Secret("tok".into())));
        }
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "Basic dG9r".parse().unwrap());
        assert_eq!(bearer_token(&h).unwrap_err().code(), "AccessTokenInvalid");
    }

    #[test]
    fn client_keys_group_ipv6_by_64() {
        let a = client_key(Some("2001:db8:1:2:3:4:5:6".parse().unwrap()));
        let b = client_key(Some("2001:db8:1:2:ffff::1".parse().unwrap()));
        assert_eq!(a, b);
        let c = client_key(Some("203.0.113.9".parse().unwrap()));
        assert_eq!(c.as_str(), "203.0.113.9");
    }

    #[test]
    fn json_errors_are_typed() {
        #[derive(serde::Deserialize, Debug)]
        struct B {
            #[allow(dead_code)]
            limit: Option<u32>,
        }
        let e = parse_json::<B>(b"{not json").unwrap_err();
        assert_eq!(e.code(), "InvalidParameterWrongFormat");
        let e = parse_json::<B>(b"[1]").unwrap_err();
        assert_eq!(e.code(), "InvalidParameterWrongFormat");
        let e = parse_json::<B>(br#"{"limit":"ten"}"#).unwrap_err();
        assert_eq!(e.code(), "InvalidParameter");
        assert!(e.message().contains("limit"), "{}", e.message());
        let e = parse_json::<B>(br#"{"limit":-1}"#).unwrap_err();
        assert_eq!(e.code(), "InvalidParameter");
        assert!(parse_json::<B>(br#"{"limit":3,"unknown":[1,{}]}"#).is_ok());
        assert_eq!(
            required(Some(String::new()), "share_id")
                .unwrap_err()
                .code(),
            "InvalidParameterMissing"
        );
    }
}
