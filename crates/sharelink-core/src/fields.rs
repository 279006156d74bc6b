//! Validated newtypes for the other identifiers and texts of a share.
//!
//! Parse, don't validate: each type's field is private, its constructors are
//! fallible, and a value that exists is valid.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::code::InputError;

/// Longest accepted opaque identifier (tenant, drive, user, file, client key), in bytes.
pub const MAX_OPAQUE_ID_BYTES: usize = 256;

macro_rules! opaque_id {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        ///
        /// Valid values are 1 to [`MAX_OPAQUE_ID_BYTES`] bytes with no control
        /// characters and no leading or trailing whitespace.
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Parses an untrusted string.
            pub fn new(s: impl Into<String>) -> Result<Self, InputError> {
                let s = s.into();
                validate_opaque($field, &s)?;
                Ok(Self(s))
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::str::FromStr for $name {
            type Err = InputError;
            fn from_str(s: &str) -> Result<Self, InputError> {
                Self::new(s)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}

opaque_id!(
    /// A tenant: the PDS domain that owns drives, users and quotas.
    TenantId,
    "domain_id"
);
opaque_id!(
    /// A drive inside a tenant.
    DriveId,
    "drive_id"
);
opaque_id!(
    /// A user (member) of a tenant.
    UserId,
    "user_id"
);
opaque_id!(
    /// A file or folder id in the host's catalogue. `root` names a drive's top level.
    FileId,
    "file_id"
);
opaque_id!(
    /// An opaque key the host derives for a client (an IP prefix, a device id)
    /// so that password failures can be throttled per client.
    ClientKey,
    "client_key"
);

fn validate_opaque(field: &'static str, s: &str) -> Result<(), InputError> {
    if s.is_empty() {
        return Err(InputError::Missing { field });
    }
    if s.len() > MAX_OPAQUE_ID_BYTES {
        return Err(InputError::out_of_range(
            field,
            format!("at most {MAX_OPAQUE_ID_BYTES} bytes, got {}", s.len()),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(InputError::invalid(
            field,
            "control characters are not allowed",
        ));
    }
    if s.trim() != s {
        return Err(InputError::invalid(field, "leading or trailing whitespace"));
    }
    Ok(())
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters (Unicode scalar values).
            pub const MAX_CHARS: usize = $max;

            /// Parses an untrusted string: at most `MAX_CHARS` characters and
            /// no control characters other than newline and tab.
            pub fn new(s: impl Into<String>) -> Result<Self, InputError> {
                let s = s.into();
                validate_text($field, &s, $max)?;
                Ok(Self(s))
            }

            /// The value as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({:?})"), self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}

bounded_text!(
    /// A share's display name: at most 128 characters.
    ShareName,
    "share_name",
    128
);
bounded_text!(
    /// A share's description: at most 1024 characters.
    Description,
    "description",
    1024
);

fn validate_text(field: &'static str, s: &str, max: usize) -> Result<(), InputError> {
    // Count lazily so that a huge input costs at most `max + 1` steps.
    if s.chars().nth(max).is_some() {
        return Err(InputError::out_of_range(
            field,
            format!("at most {max} characters"),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(InputError::invalid(
            field,
            "control characters are not allowed",
        ));
    }
    Ok(())
}

/// Who created a share: the public part of the creator's profile.
///
/// Name and phone are shown only masked to anonymous visitors
/// (see [`Creator::masked_name`], [`Creator::masked_phone`]).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Creator {
    /// The creator's user id.
    pub user_id: UserId,
    /// Display name (may be empty).
    pub display_name: String,
    /// Phone number (may be empty).
    pub phone: String,
    /// Avatar URL (may be empty).
    pub avatar: String,
}

impl fmt::Debug for Creator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The phone number is personal data: show it masked even in Debug.
        f.debug_struct("Creator")
            .field("user_id", &self.user_id)
            .field("display_name", &self.display_name)
            .field("phone", &self.masked_phone())
            .finish_non_exhaustive()
    }
}

impl Creator {
    /// A creator with only a user id.
    pub fn new(user_id: UserId) -> Self {
        Self {
            user_id,
            display_name: String::new(),
            phone: String::new(),
            avatar: String::new(),
        }
    }

    /// The display name as anonymous visitors see it: the middle hidden
    /// (`"ABCDEFG"` → `"ABC**FG"`, `"张三"` → `"张*"`).
    pub fn masked_name(&self) -> String {
        mask_middle(&self.display_name)
    }

    /// The phone number as anonymous visitors see it (`"18012345632"` → `"180**32"`).
    pub fn masked_phone(&self) -> String {
        mask_middle(&self.phone)
    }
}

/// Keeps a prefix and suffix and replaces the middle with `**`, in the style
/// of PDS (`ABC**FG`, `180**32`). Short values keep less so that at least half
/// of the characters are always hidden.
pub fn mask_middle(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let (head, tail) = match n {
        0 => return String::new(),
        1 => (0, 0),
        2 | 3 => (1, 0),
        4..=6 => (1, 1),
        _ => (3, 2),
    };
    let mut out: String = chars.iter().take(head).collect();
    out.push_str(if n - head - tail == 1 { "*" } else { "**" });
    out.extend(chars.iter().skip(n - tail));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn opaque_ids_are_validated() {
        assert!(FileId::new("6407fca856abesg").is_ok());
        assert!(matches!(
            FileId::new(""),
            Err(InputError::Missing { field: "file_id" })
        ));
        assert!(matches!(
            FileId::new("a\u{0}b"),
            Err(InputError::Invalid { .. })
        ));
        assert!(matches!(FileId::new(" a"), Err(InputError::Invalid { .. })));
        assert!(matches!(
            FileId::new("x".repeat(257)),
            Err(InputError::OutOfRange { .. })
        ));
        assert!(DriveId::new("1").is_ok());
    }

    #[test]
    fn texts_are_bounded_in_characters() {
        assert!(ShareName::new("é".repeat(128)).is_ok());
        assert!(matches!(
            ShareName::new("é".repeat(129)),
            Err(InputError::OutOfRange { .. })
        ));
        assert!(Description::new("line\nline").is_ok());
        assert!(Description::new("a\u{7}").is_err());
        assert!(Description::new("x".repeat(1025)).is_err());
    }

    #[test]
    fn masking_matches_pds_examples() {
        assert_eq!(mask_middle("ABCDEFG"), "ABC**FG");
        assert_eq!(mask_middle("18012345632"), "180**32");
        assert_eq!(mask_middle("张三"), "张*");
        assert_eq!(mask_middle(""), "");
        assert_eq!(mask_middle("a"), "*");
        assert_eq!(mask_middle("abcd"), "a**d");
    }

    #[test]
    fn creator_debug_masks_the_phone() {
        let mut c = Creator::new(UserId::new("u1").unwrap());
        c.phone = "13900001234".into();
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("13900001234"), "{dbg}");
    }

    proptest! {
        #[test]
        fn masking_always_hides_something(s in "[^*\\p{C}]{0,40}") {
            let masked = mask_middle(&s);
            let n = s.chars().count();
            let shown = masked.chars().filter(|&c| c != '*').count();
            prop_assert!(n == 0 || shown < n, "{s:?} -> {masked:?}");
            prop_assert!(shown <= std::cmp::max(n / 2, 5), "{s:?} -> {masked:?}");
        }

        #[test]
        fn opaque_parse_never_panics(s in "\\PC{0,300}") {
            let _ = FileId::new(s.clone());
            let _ = ShareName::new(s);
        }
    }
}
