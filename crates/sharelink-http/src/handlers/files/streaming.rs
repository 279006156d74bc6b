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

/// Streams `source` (the whole file, or the `range` of it) in
/// [`CHUNK`]-sized pieces.
///
/// The first piece was read with the file's opening
/// ([`ChunkSource::prefetch`]); each further piece is read on a blocking
/// thread only when the response body asks for it, that is when the socket
/// has taken the previous one: a client that stops reading holds its
/// socket, one chunk and its stream slot, never a thread.
pub(super) fn stream_file(
    meta: &FileMeta,
    kind: GrantKind,
    range: Option<ByteRange>,
    source: ChunkSource,
) -> Response {
    let len = source.len;
    let stream = futures_util::stream::try_unfold(source, |mut source| async move {
        if let Some(first) = source.first.take() {
            return Ok(Some((first, source)));
        }
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
    /// The body's length: the range's, or the whole file's.
    len: u64,
    /// Bytes still to read.
    remaining: u64,
    /// A chunk read ahead, sent before anything else is read.
    first: Option<Vec<u8>>,
    /// Held until the body is dropped (sent, or the client gone).
    _slot: crate::streams::StreamSlot,
}

impl ChunkSource {
    /// The body of `range` of `reader` (the whole file of `size` bytes
    /// when `None`), holding `slot` as long as it lives.
    pub(super) fn new(
        reader: Box<dyn Read + Send>,
        range: Option<ByteRange>,
        size: u64,
        slot: crate::streams::StreamSlot,
    ) -> Self {
        let (skip, len) = match range {
            Some(r) => (r.start, r.len),
            None => (0, size),
        };
        Self {
            reader,
            skip,
            len,
            remaining: len,
            first: None,
            _slot: slot,
        }
    }

    /// Reads the first chunk now (blocking), on the thread that opened the
    /// file: the response then starts without another trip to a blocking
    /// thread, and a file of one chunk is sent without any.
    pub(super) fn prefetch(self) -> std::io::Result<Self> {
        if self.remaining == 0 {
            return Ok(self);
        }
        let (chunk, mut source) = self.next_chunk()?;
        source.first = Some(chunk);
        Ok(source)
    }

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

    fn source(content: &[u8], range: Option<ByteRange>, size: u64) -> ChunkSource {
        let slots = crate::streams::StreamSlots::new(4, 4, "downloads");
        let slot = slots.acquire("client").unwrap();
        ChunkSource::new(
            Box::new(std::io::Cursor::new(content.to_vec())),
            range,
            size,
            slot,
        )
    }

    #[test]
    fn prefetch_reads_the_first_chunk_of_the_body() {
        // A small file: all of it read ahead, nothing left to read.
        let small = source(b"hello", None, 5).prefetch().unwrap();
        assert_eq!(small.first.as_deref(), Some(&b"hello"[..]));
        assert_eq!(small.remaining, 0);
        // A range: skipped to, and only its bytes.
        let range = Some(ByteRange { start: 2, len: 2 });
        let ranged = source(b"hello", range, 5).prefetch().unwrap();
        assert_eq!(ranged.first.as_deref(), Some(&b"ll"[..]));
        // A large file: one chunk ahead, the rest read later, in order.
        let big: Vec<u8> = (0..CHUNK * 2 + 7).map(|i| i.to_le_bytes()[0]).collect();
        let size = big.len() as u64;
        let ahead = source(&big, None, size).prefetch().unwrap();
        assert_eq!(ahead.first.as_deref(), Some(&big[..CHUNK]));
        assert_eq!(ahead.remaining, size - CHUNK as u64);
        let (second, rest) = ahead.next_chunk().unwrap();
        assert_eq!(second, &big[CHUNK..2 * CHUNK]);
        assert_eq!(rest.remaining, 7);
        // An empty file reads nothing; content shorter than its size is an
        // error before any header is sent.
        assert!(source(b"", None, 0).prefetch().unwrap().first.is_none());
        let short = source(b"abc", None, 10).prefetch();
        assert_eq!(
            short.err().map(|e| e.kind()),
            Some(std::io::ErrorKind::UnexpectedEof)
        );
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
