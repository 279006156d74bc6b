//! The signed envelope that share tokens and content grants share:
//! `<version>.<key id>.<b64 payload>.<b64 MAC>`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::keys::is_key_id_byte;
use super::{MAC_LEN, MAX_KEY_ID_LEN, TokenError};

/// The outer shape shared by every signed text:
/// `<version>.<key id>.<b64 payload>.<b64 MAC>`, checked but not yet trusted.
pub(crate) struct Envelope<'a> {
    /// Everything the MAC covers (all but the last dot and the tag).
    pub(super) signed: &'a str,
    pub(crate) key_id: &'a str,
    pub(crate) payload_b64: &'a str,
    pub(super) tag: [u8; MAC_LEN],
}

impl<'a> Envelope<'a> {
    /// Splits untrusted text. Checks the length cap first, then the shape.
    /// Never panics.
    pub(crate) fn parse(text: &'a str, version: &str, max_len: usize) -> Result<Self, TokenError> {
        if text.is_empty() {
            return Err(TokenError::Missing);
        }
        if text.len() > max_len {
            return Err(TokenError::TooLong { len: text.len() });
        }
        let shape = || TokenError::Malformed("expected 4 dot-separated parts");
        let (found, rest) = text.split_once('.').ok_or(TokenError::UnsupportedVersion)?;
        if found != version {
            return Err(TokenError::UnsupportedVersion);
        }
        let (key_id, rest) = rest.split_once('.').ok_or_else(shape)?;
        let (payload_b64, tag_b64) = rest.split_once('.').ok_or_else(shape)?;
        if tag_b64.contains('.') {
            return Err(shape());
        }
        // Everything before the last dot is what the MAC covers.
        let signed = text
            .get(..text.len() - tag_b64.len() - 1)
            .ok_or_else(shape)?;
        if key_id.is_empty() || key_id.len() > MAX_KEY_ID_LEN || !key_id.bytes().all(is_key_id_byte)
        {
            return Err(TokenError::Malformed("bad key id"));
        }
        let mut tag = [0u8; MAC_LEN];
        let tag_len = URL_SAFE_NO_PAD
            .decode_slice(tag_b64, &mut tag[..])
            .map_err(|_| TokenError::Malformed("bad signature encoding"))?;
        if tag_len != MAC_LEN || tag_b64.len() != 43 {
            return Err(TokenError::Malformed("bad signature length"));
        }
        Ok(Self {
            signed,
            key_id,
            payload_b64,
            tag,
        })
    }
}
