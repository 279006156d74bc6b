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

/// Size of a download's first chunk: read with the file's opening, so a
/// small file is answered at once.
pub(crate) const CHUNK: usize = 64 * 1024;

/// The largest chunk. Each chunk after the first is twice the size of the
/// one before, up to this: a reader that keeps taking bytes costs fewer
/// trips to a blocking thread, and one that stops holds at most one chunk
/// (a client that stalls early holds a small one).
pub(crate) const MAX_CHUNK: usize = 512 * 1024;

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

/// Streams `source` (the whole file, or the `range` of it) in pieces of
/// [`CHUNK`], doubling to [`MAX_CHUNK`].
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
    /// Positioned at the body's first byte ([`DriveStore::open_at`]).
    ///
    /// [`DriveStore::open_at`]: crate::DriveStore::open_at
    reader: Box<dyn Read + Send>,
    /// The body's length: the range's, or the whole file's.
    len: u64,
    /// Bytes still to read.
    remaining: u64,
    /// A chunk read ahead, sent before anything else is read.
    first: Option<Vec<u8>>,
    /// The size of the next chunk ([`CHUNK`], doubling to [`MAX_CHUNK`]).
    chunk: usize,
    /// Held until the body is dropped (sent, or the client gone).
    _slot: crate::streams::StreamSlot,
}

impl ChunkSource {
    /// A body of `len` bytes read from `reader` (already at the first of
    /// them), holding `slot` as long as it lives.
    pub(super) fn new(
        reader: Box<dyn Read + Send>,
        len: u64,
        slot: crate::streams::StreamSlot,
    ) -> Self {
        Self {
            reader,
            len,
            remaining: len,
            first: None,
            chunk: CHUNK,
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
        let size = self.chunk;
        self.chunk = (size * 2).min(MAX_CHUNK);
        let want = usize::try_from(self.remaining.min(size as u64)).unwrap_or(size);
        // `read_to_end` into spare capacity: the buffer is not zeroed first
        // (a file reads straight into it), and it retries interrupted reads.
        let mut buf = Vec::with_capacity(want);
        (&mut self.reader)
            .take(want as u64)
            .read_to_end(&mut buf)
            .inspect_err(|e| tracing::error!(error = %e, "reading file content failed"))?;
        if buf.len() < want {
            return Err(short_content());
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

    /// A body of `len` bytes of `content` from `start`.
    fn source(content: &[u8], start: u64, len: u64) -> ChunkSource {
        let slots = crate::streams::StreamSlots::new(4, 4, "downloads");
        let slot = slots.acquire("client").unwrap();
        let mut reader = std::io::Cursor::new(content.to_vec());
        reader.set_position(start);
        ChunkSource::new(Box::new(reader), len, slot)
    }

    #[test]
    fn prefetch_reads_the_first_chunk_of_the_body() {
        // A small file: all of it read ahead, nothing left to read.
        let small = source(b"hello", 0, 5).prefetch().unwrap();
        assert_eq!(small.first.as_deref(), Some(&b"hello"[..]));
        assert_eq!(small.remaining, 0);
        // A range: only its bytes, though the reader has more.
        let ranged = source(b"hello", 2, 2).prefetch().unwrap();
        assert_eq!(ranged.first.as_deref(), Some(&b"ll"[..]));
        assert_eq!(ranged.remaining, 0);
        // An empty file reads nothing; content shorter than its size is an
        // error before any header is sent.
        assert!(source(b"", 0, 0).prefetch().unwrap().first.is_none());
        let short = source(b"abc", 0, 10).prefetch();
        assert_eq!(
            short.err().map(|e| e.kind()),
            Some(std::io::ErrorKind::UnexpectedEof)
        );
    }

    #[test]
    fn chunks_double_up_to_the_largest_and_keep_every_byte_in_order() {
        let big: Vec<u8> = (0..MAX_CHUNK * 3 + 7)
            .map(|i| (i % 251).to_le_bytes()[0])
            .collect();
        let size = big.len() as u64;
        let mut rest = source(&big, 0, size).prefetch().unwrap();
        let mut sizes = vec![rest.first.as_ref().map_or(0, Vec::len)];
        let mut sent = rest.first.take().unwrap();
        while rest.remaining > 0 {
            let (chunk, next) = rest.next_chunk().unwrap();
            sizes.push(chunk.len());
            sent.extend_from_slice(&chunk);
            rest = next;
        }
        assert_eq!(sent, big);
        // 64 + 128 + 256 KiB, then 512 KiB pieces; the last one is the rest.
        let k = 1024;
        let mut expected = vec![64 * k, 128 * k, 256 * k];
        let mut left = big.len() - 448 * k;
        while left > 0 {
            expected.push(left.min(MAX_CHUNK));
            left -= left.min(MAX_CHUNK);
        }
        assert_eq!(sizes, expected);
        assert_eq!((CHUNK, MAX_CHUNK), (64 * k, 512 * k));
        // A file that ends early mid-stream fails the chunk that runs short.
        let truncated = source(&big[..CHUNK + 10], 0, size).prefetch().unwrap();
        assert_eq!(
            truncated.next_chunk().err().map(|e| e.kind()),
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
