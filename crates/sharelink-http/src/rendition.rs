//! Previews are renditions, never the original file.
//!
//! A preview URL serves something made from the file, not the file:
//! - **images** (JPEG, PNG, GIF, WebP, BMP, recognised by their bytes, not
//!   their name) are decoded under memory and size bounds, scaled to fit
//!   [`MAX_PREVIEW_EDGE`] pixels and re-encoded (JPEG, or PNG where the
//!   image has transparency); metadata and anything appended to the image
//!   is dropped;
//! - **text and code** become at most [`MAX_TEXT_PREVIEW_BYTES`] of
//!   `text/plain; charset=utf-8` (invalid UTF-8 replaced), so HTML or SVG
//!   source shows as text and never runs;
//! - **everything else** has no preview: [`previewable`] says so before
//!   anything is counted, with `400 NotSupported.Preview`.
//!
//! A share with downloads disabled, or its download limit reached, can still
//! be previewed; what leaves the server is then always a rendition.

use std::io::{Cursor, Read};

use image::{DynamicImage, ImageFormat, ImageReader, Limits};
use sharelink_core::FileMeta;

use crate::error::{ApiError, WireCode};

/// The longest edge of an image preview, in pixels.
pub const MAX_PREVIEW_EDGE: u32 = 1280;
/// The largest image file a preview is rendered from.
pub const MAX_IMAGE_INPUT_BYTES: u64 = 32 * 1024 * 1024;
/// The most pixels along either edge of an image that is decoded.
pub const MAX_IMAGE_DIMENSION: u32 = 12_000;
/// The most memory one image decode may allocate.
pub const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;
/// The most bytes of a text file a preview shows.
pub const MAX_TEXT_PREVIEW_BYTES: u64 = 256 * 1024;

/// What kind of preview a file can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreviewKind {
    /// A re-encoded, scaled image.
    Image,
    /// A bounded plain-text excerpt.
    Text,
}

/// A rendered preview: the bytes to serve and their type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendition {
    /// The body.
    pub bytes: Vec<u8>,
    /// Its `Content-Type`.
    pub content_type: &'static str,
}

const IMAGE_EXTENSIONS: [&str; 6] = ["jpg", "jpeg", "png", "gif", "webp", "bmp"];
const TEXT_EXTENSIONS: [&str; 32] = [
    "txt", "md", "markdown", "csv", "tsv", "log", "json", "yaml", "yml", "toml", "ini", "cfg",
    "conf", "xml", "html", "htm", "svg", "css", "js", "ts", "rs", "py", "go", "java", "c", "h",
    "cpp", "hpp", "sh", "sql", "rb", "php",
];

/// Which preview `meta` can have, or the `400 NotSupported.Preview` to
/// answer before anything is counted.
pub fn previewable(meta: &FileMeta) -> Result<PreviewKind, ApiError> {
    let mime = meta
        .mime_type
        .as_deref()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ext = meta
        .name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let image = IMAGE_EXTENSIONS.contains(&ext.as_str())
        || matches!(
            mime.as_str(),
            "image/jpeg" | "image/png" | "image/gif" | "image/webp" | "image/bmp"
        );
    if image {
        if meta.size > MAX_IMAGE_INPUT_BYTES {
            return Err(no_preview(format!(
                "images over {} MiB have no preview",
                MAX_IMAGE_INPUT_BYTES / (1024 * 1024)
            )));
        }
        return Ok(PreviewKind::Image);
    }
    let text = TEXT_EXTENSIONS.contains(&ext.as_str())
        || mime.starts_with("text/")
        || matches!(
            mime.as_str(),
            "application/json" | "application/xml" | "application/javascript"
        );
    if text {
        return Ok(PreviewKind::Text);
    }
    Err(no_preview(
        "this file type has no preview; only images and text have one".to_owned(),
    ))
}

/// Renders the preview of `meta` from its content.
pub fn render(meta: &FileMeta, content: impl Read) -> Result<Rendition, ApiError> {
    match previewable(meta)? {
        PreviewKind::Image => render_image(content),
        PreviewKind::Text => render_text(content),
    }
}

fn render_image(content: impl Read) -> Result<Rendition, ApiError> {
    let mut bytes = Vec::new();
    content
        .take(MAX_IMAGE_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            tracing::warn!(error = %e, "reading an image for its preview failed");
            ApiError::internal()
        })?;
    if bytes.len() as u64 > MAX_IMAGE_INPUT_BYTES {
        return Err(no_preview("the image is too large to preview".to_owned()));
    }
    let mut reader = ImageReader::new(Cursor::new(&bytes))
        .with_guessed_format()
        .map_err(|_| unreadable())?;
    // The bytes decide the format; only formats we render are accepted.
    match reader.format() {
        Some(
            ImageFormat::Jpeg
            | ImageFormat::Png
            | ImageFormat::Gif
            | ImageFormat::WebP
            | ImageFormat::Bmp,
        ) => {}
        _ => return Err(unreadable()),
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_IMAGE_DIMENSION);
    limits.max_image_height = Some(MAX_IMAGE_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let image = reader.decode().map_err(|_| unreadable())?;
    let thumb = image.thumbnail(MAX_PREVIEW_EDGE, MAX_PREVIEW_EDGE);
    let mut out = Vec::new();
    let content_type = if thumb.color().has_alpha() {
        thumb
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .map_err(encode_failed)?;
        "image/png"
    } else {
        DynamicImage::ImageRgb8(thumb.to_rgb8())
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Jpeg)
            .map_err(encode_failed)?;
        "image/jpeg"
    };
    Ok(Rendition {
        bytes: out,
        content_type,
    })
}

fn render_text(content: impl Read) -> Result<Rendition, ApiError> {
    let mut bytes = Vec::new();
    content
        .take(MAX_TEXT_PREVIEW_BYTES)
        .read_to_end(&mut bytes)
        .map_err(|e| {
            tracing::warn!(error = %e, "reading a text file for its preview failed");
            ApiError::internal()
        })?;
    let text = String::from_utf8_lossy(&bytes).into_owned();
    Ok(Rendition {
        bytes: text.into_bytes(),
        content_type: "text/plain; charset=utf-8",
    })
}

fn no_preview(message: String) -> ApiError {
    ApiError::wire(WireCode::NotSupportedPreview, message)
}

fn unreadable() -> ApiError {
    no_preview("the image cannot be decoded within the preview limits".to_owned())
}

fn encode_failed(e: image::ImageError) -> ApiError {
    tracing::warn!(error = %e, "encoding a preview failed");
    ApiError::internal()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sharelink_core::{DriveId, FileId, FileKind};

    fn meta(name: &str, mime: Option<&str>, size: u64) -> FileMeta {
        FileMeta {
            drive_id: DriveId::new("d").unwrap(),
            file_id: FileId::new("f").unwrap(),
            parent_file_id: None,
            name: name.into(),
            kind: FileKind::File,
            mime_type: mime.map(str::to_owned),
            size,
        }
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([x.to_le_bytes()[0], y.to_le_bytes()[0], 7])
        });
        let mut out = Vec::new();
        DynamicImage::ImageRgb8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn images_are_re_encoded_and_bounded() {
        let original = [png(2000, 1000), b"TRAILING SECRET".to_vec()].concat();
        let m = meta("big.png", Some("image/png"), original.len() as u64);
        let r = render(&m, &original[..]).unwrap();
        assert_eq!(r.content_type, "image/jpeg");
        assert_ne!(r.bytes, original);
        assert!(!r.bytes.windows(15).any(|w| w == b"TRAILING SECRET"));
        let back = image::load_from_memory(&r.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (1280, 640));
    }

    #[test]
    fn a_file_named_like_an_image_must_be_one() {
        let html = b"<script>alert(1)</script>";
        let m = meta("cat.png", Some("image/png"), html.len() as u64);
        let err = render(&m, &html[..]).unwrap_err();
        assert_eq!(err.code(), "NotSupported.Preview");
    }

    #[test]
    fn text_is_bounded_plain_text() {
        let body = "<h1>hi</h1>\n".repeat(40_000);
        let m = meta("page.html", Some("text/html"), body.len() as u64);
        let r = render(&m, body.as_bytes()).unwrap();
        assert_eq!(r.content_type, "text/plain; charset=utf-8");
        assert_eq!(r.bytes.len() as u64, MAX_TEXT_PREVIEW_BYTES);
        assert!(r.bytes.starts_with(b"<h1>hi</h1>"));
    }

    #[test]
    fn other_files_have_no_preview() {
        for (name, mime) in [
            ("movie.mp4", Some("video/mp4")),
            ("archive.zip", Some("application/zip")),
            ("game.apk", None),
            ("doc.pdf", Some("application/pdf")),
        ] {
            let err = previewable(&meta(name, mime, 10)).unwrap_err();
            assert_eq!(err.code(), "NotSupported.Preview", "{name}");
        }
        let huge = meta("huge.jpg", Some("image/jpeg"), MAX_IMAGE_INPUT_BYTES + 1);
        assert_eq!(
            previewable(&huge).unwrap_err().code(),
            "NotSupported.Preview"
        );
    }

    #[test]
    fn decompression_bombs_are_refused() {
        // A tiny PNG that claims 20000 x 20000 pixels.
        let img = image::GrayImage::new(20_000, 1);
        let mut bytes = Vec::new();
        DynamicImage::ImageLuma8(img)
            .write_to(&mut Cursor::new(&mut bytes), ImageFormat::Png)
            .unwrap();
        let m = meta("wide.png", Some("image/png"), bytes.len() as u64);
        assert_eq!(
            render(&m, &bytes[..]).unwrap_err().code(),
            "NotSupported.Preview"
        );
    }
}
