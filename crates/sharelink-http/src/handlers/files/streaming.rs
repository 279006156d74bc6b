//! Serving a file's bytes: streamed in chunks as the socket takes them,
//! with validators for conditional and ranged requests, and headers that
//! keep the content inert in a browser.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use sharelink_core::{FileMeta, GrantKind};

use super::range::ByteRange;
use super::url::percent_encode;
use std::io::Read;

use crate::host::FileEntry;
use crate::rendition;

/// Size of the chunks a download is streamed in.
pub(crate) const CHUNK: usize = 64 * 1024;

/// A preview's response: inline, no ranges, not cached, inert.
pub(super) fn rendition_response(meta: &FileMeta, r: rendition::Rendition) -> Response {
    let mut res = Response::new(Body::from(r.bytes));
    let disposition = format!("inline; filename*=UTF-8''{}", percent_encode(&meta.name));
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(r.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    inert(h);
    res
}

/// A download's validators: the content hash as a strong `ETag`, and the
/// modification time as `Last-Modified`.
#[derive(Debug, Clone, Default)]
pub(super) struct Validators {
    etag: Option<String>,
    last_modified: Option<chrono::DateTime<chrono::Utc>>,
}

impl Validators {
    pub(super) fn of(entry: Option<&FileEntry>) -> Self {
        entry.map_or_else(Self::default, |e| Self {
            etag: e
                .content_hash
                .as_deref()
                .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_alphanumeric()))
                .map(|h| format!("\"{h}\"")),
            last_modified: Some(e.updated_at),
        })
    }

    /// Whether an `If-Range` value names this version (RFC 9110 §13.1.5):
    /// an entity tag by strong comparison, or a date equal to
    /// `Last-Modified`. Weak tags and anything unparsable never match.
    pub(super) fn matches(&self, cond: &str) -> bool {
        if cond.starts_with('"') {
            return self.etag.as_deref() == Some(cond);
        }
        if cond.starts_with("W/") {
            return false;
        }
        match (
            chrono::DateTime::parse_from_rfc2822(cond),
            self.last_modified,
        ) {
            (Ok(date), Some(modified)) => date.timestamp() == modified.timestamp(),
            _ => false,
        }
    }

    pub(super) fn apply(&self, headers: &mut HeaderMap) {
        if let Some(v) = self
            .etag
            .as_deref()
            .and_then(|e| HeaderValue::from_str(e).ok())
        {
            headers.insert(header::ETAG, v);
        }
        if let Some(v) = self
            .last_modified
            .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
            .and_then(|t| HeaderValue::from_str(&t).ok())
        {
            headers.insert(header::LAST_MODIFIED, v);
        }
    }
}

/// Streams `reader` (or the `range` of it) in [`CHUNK`]-sized pieces.
///
/// Each piece is read on a blocking thread only when the response body asks
/// for it, that is when the socket has taken the previous one: a client that
/// stops reading holds its socket, one chunk and its stream slot, never a
/// thread.
pub(super) fn stream_file(
    meta: &FileMeta,
    kind: GrantKind,
    range: Option<ByteRange>,
    reader: Box<dyn Read + Send>,
    slot: crate::streams::StreamSlot,
) -> Response {
    let (skip, len) = match range {
        Some(r) => (r.start, r.len),
        None => (0, meta.size),
    };
    let source = ChunkSource {
        reader,
        skip,
        remaining: len,
        _slot: slot,
    };
    let stream = futures_util::stream::try_unfold(source, |source| async move {
        if source.remaining == 0 {
            return Ok(None);
        }
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| source.next_chunk()))
            .await
            .map_err(std::io::Error::other)?
            .map(Some)
    });
    let mut res = Response::new(Body::from_stream(stream));
    let h = res.headers_mut();
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Some(r) = range {
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
        let value = format!("bytes {}-{}/{}", r.start, r.start + r.len - 1, meta.size);
        if let Ok(v) = HeaderValue::from_str(&value) {
            res.headers_mut().insert(header::CONTENT_RANGE, v);
        }
    }
    let mime = meta
        .mime_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    if let Ok(v) = HeaderValue::from_str(mime) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    // A preview is shown in the page; a download is saved; active content
    // (HTML, SVG, XML, scripts) is always saved, never rendered.
    let inline = kind == GrantKind::Preview && !is_active_content(mime, &meta.name);
    let disposition = format!(
        "{}; filename*=UTF-8''{}",
        if inline { "inline" } else { "attachment" },
        percent_encode(&meta.name)
    );
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    let h = res.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    inert(h);
    res
}

/// Whatever the bytes are, the browser neither sniffs them into something
/// executable nor runs anything in them on this origin.
pub(super) fn inert(h: &mut HeaderMap) {
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(FILE_CSP),
    );
}

/// The `Content-Security-Policy` of every file response: a sandbox (no
/// scripts, no same origin, no forms) that loads nothing.
pub(super) const FILE_CSP: &str = "sandbox; default-src 'none'";

/// Whether a browser could run something in this file if it rendered it:
/// HTML, SVG, XML and scripts, by MIME type or by extension.
pub(super) fn is_active_content(mime: &str, name: &str) -> bool {
    let mime = mime
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let active_mime = mime.contains("html")
        || mime.contains("xml")
        || mime.contains("svg")
        || mime.contains("javascript")
        || mime.contains("ecmascript");
    let active_ext = matches!(
        crate::files::extension_of(name).as_str(),
        "html"
            | "htm"
            | "xhtml"
            | "shtml"
            | "svg"
            | "svgz"
            | "xml"
            | "xsl"
            | "xslt"
            | "js"
            | "mjs"
            | "wasm"
    );
    active_mime || active_ext
}

/// The reader behind a download body, and what is left to send.
pub(super) struct ChunkSource {
    reader: Box<dyn Read + Send>,
    /// Bytes to discard first (the start of a range).
    skip: u64,
    /// Bytes still to send.
    remaining: u64,
    _slot: crate::streams::StreamSlot,
}

impl ChunkSource {
    /// Reads the next chunk (blocking). A file shorter than its stated size
    /// is an error: the `Content-Length` sent cannot be honoured.
    pub(super) fn next_chunk(mut self) -> std::io::Result<(Vec<u8>, Self)> {
        if self.skip > 0 {
            let skipped = std::io::copy(
                &mut (&mut self.reader).take(self.skip),
                &mut std::io::sink(),
            )
            .inspect_err(|e| tracing::error!(error = %e, "skipping to the range failed"))?;
            if skipped < self.skip {
                return Err(short_content());
            }
            self.skip = 0;
        }
        let want = usize::try_from(self.remaining.min(CHUNK as u64)).unwrap_or(CHUNK);
        let mut buf = vec![0u8; want];
        let mut filled = 0;
        while filled < want {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => return Err(short_content()),
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    tracing::error!(error = %e, "reading file content failed");
                    return Err(e);
                }
            }
        }
        self.remaining -= want as u64;
        Ok((buf, self))
    }
}

pub(super) fn short_content() -> std::io::Error {
    tracing::error!("file content is shorter than its recorded size");
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "file content is shorter than its recorded size",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_range_matches_only_this_version() {
        let v = Validators {
            etag: Some("\"ABC\"".into()),
            last_modified: chrono::DateTime::from_timestamp(784_887_151, 0),
        };
        assert!(v.matches("\"ABC\""));
        assert!(!v.matches("\"OTHER\""));
        assert!(!v.matches("W/\"ABC\""), "weak tags never match");
        assert!(v.matches("Tue, 15 Nov 1994 08:12:31 GMT"));
        assert!(!v.matches("Tue, 15 Nov 1994 08:12:32 GMT"));
        assert!(!v.matches("garbage"));
        let mut h = HeaderMap::new();
        v.apply(&mut h);
        assert_eq!(h[header::ETAG], "\"ABC\"");
        assert_eq!(h[header::LAST_MODIFIED], "Tue, 15 Nov 1994 08:12:31 GMT");
    }

    #[test]
    fn active_content_is_recognised_by_type_or_name() {
        assert!(is_active_content("text/html; charset=utf-8", "a.txt"));
        assert!(is_active_content("image/svg+xml", "x"));
        assert!(is_active_content("application/octet-stream", "page.HTML"));
        assert!(is_active_content("text/plain", "x.js"));
        assert!(!is_active_content("image/jpeg", "sunset.jpg"));
        assert!(!is_active_content("text/plain; charset=utf-8", "notes.md"));
    }
}
