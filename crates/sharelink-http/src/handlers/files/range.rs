//! Byte ranges of a download (RFC 9110 §14): parsed before the size is
//! known, resolved against it.

use axum::http::HeaderValue;

use crate::error::ApiError;

/// A requested `Range` (RFC 9110 §14), before the size is known. Only a
/// single byte range is honoured; anything else (several ranges, another
/// unit, a malformed header) is ignored and the whole file served, as the
/// RFC allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RangeSpec {
    Whole,
    /// `bytes=first-` or `bytes=first-last`.
    From {
        first: u64,
        last: Option<u64>,
    },
    /// `bytes=-n`: the last `n` bytes.
    Suffix(u64),
}

/// A satisfiable range: `len >= 1` bytes from `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ByteRange {
    /// First byte.
    pub(super) start: u64,
    /// Number of bytes.
    pub(super) len: u64,
}

impl RangeSpec {
    pub(super) fn parse(header: Option<&HeaderValue>) -> Self {
        let Some(text) = header.and_then(|v| v.to_str().ok()) else {
            return Self::Whole;
        };
        // The unit is case-insensitive (RFC 9110 §14.1).
        let text = text.trim();
        let Some(spec) = text
            .get(..6)
            .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
            .and_then(|_| text.get(6..))
        else {
            return Self::Whole;
        };
        if spec.contains(',') {
            return Self::Whole;
        }
        let Some((a, b)) = spec.trim().split_once('-') else {
            return Self::Whole;
        };
        let num = |s: &str| -> Option<u64> {
            let s = s.trim();
            (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
        };
        match (num(a), b.trim().is_empty()) {
            (Some(first), true) => Self::From { first, last: None },
            (Some(first), false) => match num(b) {
                Some(last) if last >= first => Self::From {
                    first,
                    last: Some(last),
                },
                _ => Self::Whole,
            },
            (None, false) if a.trim().is_empty() => num(b).map_or(Self::Whole, Self::Suffix),
            _ => Self::Whole,
        }
    }

    /// The bytes to send of a `size`-byte file: `None` for all of it, or
    /// `416 InvalidRange` when nothing of the file is in the range.
    pub(super) fn resolve(self, size: u64) -> Result<Option<ByteRange>, ApiError> {
        let unsatisfiable = || {
            ApiError::wire(
                crate::error::WireCode::InvalidRange,
                format!("The requested range is not satisfiable for a file of {size} bytes."),
            )
            .with_content_range(size)
        };
        match self {
            Self::Whole => Ok(None),
            Self::From { first, last } => {
                if first >= size {
                    return Err(unsatisfiable());
                }
                let last = last.unwrap_or(u64::MAX).min(size - 1);
                Ok(Some(ByteRange {
                    start: first,
                    len: last - first + 1,
                }))
            }
            Self::Suffix(n) => {
                if n == 0 || size == 0 {
                    return Err(unsatisfiable());
                }
                let len = n.min(size);
                Ok(Some(ByteRange {
                    start: size - len,
                    len,
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        let parse = |s: &str| RangeSpec::parse(Some(&HeaderValue::from_str(s).unwrap()));
        assert_eq!(
            parse("bytes=0-9").resolve(100).unwrap(),
            Some(ByteRange { start: 0, len: 10 })
        );
        assert_eq!(
            parse("bytes=90-").resolve(100).unwrap(),
            Some(ByteRange { start: 90, len: 10 })
        );
        assert_eq!(
            parse("bytes=90-500").resolve(100).unwrap(),
            Some(ByteRange { start: 90, len: 10 })
        );
        assert_eq!(
            parse("bytes=-5").resolve(100).unwrap(),
            Some(ByteRange { start: 95, len: 5 })
        );
        assert_eq!(
            parse("bytes=-500").resolve(100).unwrap(),
            Some(ByteRange { start: 0, len: 100 })
        );
        for ignored in [
            "bytes=5-1",
            "bytes=0-1,3-4",
            "items=0-1",
            "bytes=a-b",
            "bytes=-",
            "bytes=1",
            "",
            "bytes=99999999999999999999999-",
        ] {
            assert_eq!(parse(ignored), RangeSpec::Whole, "{ignored}");
        }
        assert_eq!(RangeSpec::parse(None), RangeSpec::Whole);
        assert_eq!(
            parse("BYTES=0-1"),
            RangeSpec::From {
                first: 0,
                last: Some(1)
            }
        );
        let e = parse("bytes=100-").resolve(100).unwrap_err();
        assert_eq!((e.status().as_u16(), e.code()), (416, "InvalidRange"));
        assert!(parse("bytes=-0").resolve(100).is_err());
        assert!(parse("bytes=-1").resolve(0).is_err());
        assert_eq!(
            parse("bytes=0-").resolve(1).unwrap(),
            Some(ByteRange { start: 0, len: 1 })
        );
    }
}
