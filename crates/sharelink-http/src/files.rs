//! File helpers shared by the router and by hosts: PDS categories, listing
//! order, and paging of an in-memory list with opaque markers.

use std::borrow::Cow;
use std::cmp::Ordering;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sharelink_core::{FileKind, InputError};

use crate::host::{Category, ChildPage, ChildQuery, FileEntry, FileOrder};

/// Largest page of a folder listing.
pub const MAX_FILE_PAGE: usize = 100;

impl Category {
    /// The PDS spelling (`app`, `zip`, `image`, `doc`, `video`, `audio`, `others`).
    pub const fn as_wire(self) -> &'static str {
        match self {
            Self::App => "app",
            Self::Zip => "zip",
            Self::Image => "image",
            Self::Doc => "doc",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Others => "others",
        }
    }

    /// Parses the PDS spelling.
    pub fn from_wire(s: &str) -> Result<Self, InputError> {
        Ok(match s {
            "app" => Self::App,
            "zip" => Self::Zip,
            "image" => Self::Image,
            "doc" => Self::Doc,
            "video" => Self::Video,
            "audio" => Self::Audio,
            "others" => Self::Others,
            other => {
                return Err(InputError::Invalid {
                    field: "category",
                    reason: format!("unknown category {other:?}"),
                });
            }
        })
    }
}

impl FileOrder {
    /// Parses PDS `order_by` (`name`, `created_at`, `updated_at`, `size`).
    pub fn from_wire(s: &str) -> Result<Self, InputError> {
        Ok(match s {
            "name" => Self::Name,
            "created_at" => Self::CreatedAt,
            "updated_at" => Self::UpdatedAt,
            "size" => Self::Size,
            other => {
                return Err(InputError::Invalid {
                    field: "order_by",
                    reason: format!("expected name, created_at, updated_at or size, got {other:?}"),
                });
            }
        })
    }
}

/// The lower-case extension after the last dot, or `""`.
pub fn extension_of(name: &str) -> String {
    extension_text(name).into_owned()
}

/// [`extension_of`], borrowed from `name` when it is lower case already.
pub(crate) fn extension_text(name: &str) -> Cow<'_, str> {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && !ext.is_empty() => {
            if ext.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
                Cow::Borrowed(ext)
            } else {
                Cow::Owned(ext.to_lowercase())
            }
        }
        _ => Cow::Borrowed(""),
    }
}

/// PDS's category of a file, from its extension.
pub fn category_of(name: &str) -> Category {
    match extension_text(name).as_ref() {
        "apk" | "ipa" | "exe" | "msi" | "dmg" | "deb" | "rpm" | "hap" | "xapk" => Category::App,
        "zip" | "rar" | "7z" | "tar" | "gz" | "tgz" | "bz2" | "xz" | "zst" => Category::Zip,
        "jpg" | "jpeg" | "png" | "gif" | "bmp" | "webp" | "heic" | "heif" | "tif" | "tiff"
        | "svg" | "raw" => Category::Image,
        "txt" | "md" | "pdf" | "doc" | "docx" | "xls" | "xlsx" | "ppt" | "pptx" | "csv" | "rtf"
        | "odt" | "ods" | "odp" | "pages" | "numbers" | "key" | "epub" => Category::Doc,
        "mp4" | "mov" | "mkv" | "avi" | "wmv" | "flv" | "webm" | "m4v" | "3gp" | "ts" => {
            Category::Video
        }
        "mp3" | "wav" | "flac" | "aac" | "ogg" | "m4a" | "wma" | "opus" => Category::Audio,
        _ => Category::Others,
    }
}

/// Filters, orders and pages an in-memory list of entries. The marker is
/// opaque (an encoded offset); a marker this function did not produce is
/// an `InvalidParameter` error.
///
/// Ties are broken by file id, so pages never overlap or skip.
pub fn page_entries(mut entries: Vec<FileEntry>, q: &ChildQuery) -> Result<ChildPage, InputError> {
    let offset = decode_marker(&q.marker)?;
    entries.retain(|e| {
        q.kind.is_none_or(|k| e.meta.kind == k)
            && q.category
                .is_none_or(|c| e.meta.kind == FileKind::File && category_of(&e.meta.name) == c)
    });
    entries.sort_by(|a, b| {
        let o = compare_entries(a, b, q.order_by).then_with(|| a.meta.file_id.cmp(&b.meta.file_id));
        if q.descending { o.reverse() } else { o }
    });
    let limit = q.limit.clamp(1, MAX_FILE_PAGE);
    let total = entries.len();
    let items: Vec<FileEntry> = entries.into_iter().skip(offset).take(limit).collect();
    let end = offset.saturating_add(items.len());
    let next_marker = if end < total {
        encode_marker(end)
    } else {
        String::new()
    };
    Ok(ChildPage { items, next_marker })
}

fn encode_marker(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("o:{offset}"))
}

fn decode_marker(marker: &str) -> Result<usize, InputError> {
    if marker.is_empty() {
        return Ok(0);
    }
    let bad = || InputError::Invalid {
        field: "marker",
        reason: "not a marker this server issued".into(),
    };
    let bytes = URL_SAFE_NO_PAD.decode(marker).map_err(|_| bad())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| bad())?;
    text.strip_prefix("o:")
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(bad)
}

/// Compares two entries by the listing's sort key.
fn compare_entries(a: &FileEntry, b: &FileEntry, order: FileOrder) -> Ordering {
    match order {
        FileOrder::Name => a.meta.name.cmp(&b.meta.name),
        FileOrder::CreatedAt => a.created_at.cmp(&b.created_at),
        FileOrder::UpdatedAt => a.updated_at.cmp(&b.updated_at),
        FileOrder::Size => a.meta.size.cmp(&b.meta.size),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use sharelink_core::{DriveId, FileId, FileMeta};

    fn entry(id: &str, name: &str, kind: FileKind, size: u64) -> FileEntry {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        FileEntry {
            meta: FileMeta {
                drive_id: DriveId::new("d").unwrap(),
                file_id: FileId::new(id).unwrap(),
                parent_file_id: None,
                name: name.into(),
                kind,
                mime_type: None,
                size,
            },
            created_at: t,
            updated_at: t,
            content_hash: None,
        }
    }

    fn query(limit: usize, marker: String) -> ChildQuery {
        ChildQuery {
            limit,
            marker,
            order_by: FileOrder::Name,
            descending: false,
            kind: None,
            category: None,
        }
    }

    #[test]
    fn pages_cover_everything_once() {
        let all: Vec<FileEntry> = (0..7)
            .map(|i| entry(&format!("f{i}"), &format!("n{}", 6 - i), FileKind::File, i))
            .collect();
        let mut seen = Vec::new();
        let mut marker = String::new();
        loop {
            let page = page_entries(all.clone(), &query(3, marker)).unwrap();
            seen.extend(page.items.iter().map(|e| e.meta.name.clone()));
            if page.next_marker.is_empty() {
                break;
            }
            marker = page.next_marker;
        }
        assert_eq!(seen, ["n0", "n1", "n2", "n3", "n4", "n5", "n6"]);
        assert!(page_entries(all, &query(3, "garbage!".into())).is_err());
    }

    #[test]
    fn filters_and_categories() {
        let all = vec![
            entry("a", "game.APK", FileKind::File, 1),
            entry("b", "photos", FileKind::Folder, 0),
            entry("c", "x.jpg", FileKind::File, 2),
        ];
        let mut q = query(10, String::new());
        q.category = Some(Category::App);
        let page = page_entries(all.clone(), &q).unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.items[0].meta.name, "game.APK");
        q.category = None;
        q.kind = Some(FileKind::Folder);
        assert_eq!(page_entries(all.clone(), &q).unwrap().items.len(), 1);
        q.kind = None;
        q.order_by = FileOrder::Size;
        q.descending = true;
        let names: Vec<_> = page_entries(all, &q)
            .unwrap()
            .items
            .into_iter()
            .map(|e| e.meta.name)
            .collect();
        assert_eq!(names, ["x.jpg", "game.APK", "photos"]);
        assert_eq!(category_of("a.tar.gz"), Category::Zip);
        assert_eq!(extension_of(".bashrc"), "");
    }
}
