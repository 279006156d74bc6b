//! Reading an `application/x-www-form-urlencoded` body: bounded, and a
//! field may repeat (the ticked files of "My drive").

use crate::extract::read_bounded;
use axum::body::Body;

/// A parsed form.
#[derive(Debug, Default)]
pub(crate) struct Form {
    fields: Vec<(String, String)>,
}

/// Why a form could not be read.
pub(crate) use crate::extract::BodyError as FormError;

/// Most of an oversized form read (and dropped) before it is refused.
pub(crate) const DRAIN_CAP: usize = 1 << 20;

/// Most fields one form may have.
const MAX_FIELDS: usize = 1_000;

impl Form {
    /// Reads at most `limit` bytes of `body` (a larger body is drained up
    /// to [`DRAIN_CAP`], then refused).
    pub(crate) async fn read(mut body: Body, limit: usize) -> Result<Self, FormError> {
        read_bounded(&mut body, limit, DRAIN_CAP)
            .await
            .map(|bytes| Self::parse(&bytes))
    }

    /// Parses a urlencoded body; malformed escapes decode lossily (the
    /// values are validated where they are used).
    pub(crate) fn parse(bytes: &[u8]) -> Self {
        Self {
            fields: form_urlencoded::parse(bytes)
                .take(MAX_FIELDS)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    /// The first value of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of `name`, trimmed; `None` if absent or empty.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    }

    /// Every value of `name`, in order.
    pub(crate) fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether a checkbox named `name` was ticked.
    pub(crate) fn checked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_repeat_and_decode() {
        let f = Form::parse(b"file_id=a&file_id=b%20c&name=+x+&tick=1&bad=%zz");
        assert_eq!(f.all("file_id"), vec!["a", "b c"]);
        assert_eq!(f.text("name").as_deref(), Some("x"));
        assert!(f.checked("tick"));
        assert!(!f.checked("untick"));
        assert_eq!(f.get("bad"), Some("%zz"));
        assert_eq!(f.text("missing"), None);
    }

    #[tokio::test]
    async fn a_large_body_is_refused() {
        let body = Body::from(vec![b'a'; 100]);
        assert_eq!(Form::read(body, 99).await.unwrap_err(), FormError::TooLarge);
        let body = Body::from(vec![b'a'; 99]);
        assert!(Form::read(body, 99).await.is_ok());
    }
}
