//! Which of a creator's shares a search selects (PDS SearchShareLink).
//!
//! A pure predicate over a [`Share`]; the engine pages through the
//! creator's shares and keeps those that match.

use chrono::{DateTime, Utc};

use crate::share::{Share, ShareStatus};

/// A conjunction of conditions; an empty filter matches every share.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShareFilter {
    /// The share name contains this text, ignoring case.
    pub name_contains: Option<String>,
    /// The creator's status (`enabled` / `disabled`).
    pub status: Option<ShareStatus>,
    /// Created at or after this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Created strictly before this instant.
    pub created_until: Option<DateTime<Utc>>,
    /// Updated at or after this instant.
    pub updated_from: Option<DateTime<Utc>>,
    /// Updated strictly before this instant.
    pub updated_until: Option<DateTime<Utc>>,
}

impl ShareFilter {
    /// Whether `share` satisfies every condition.
    pub fn matches(&self, share: &Share) -> bool {
        let name_ok = self.name_contains.as_ref().is_none_or(|needle| {
            share
                .name()
                .as_str()
                .to_lowercase()
                .contains(&needle.to_lowercase())
        });
        name_ok
            && self.status.is_none_or(|s| share.status() == s)
            && self.created_from.is_none_or(|t| share.created_at() >= t)
            && self.created_until.is_none_or(|t| share.created_at() < t)
            && self.updated_from.is_none_or(|t| share.updated_at() >= t)
            && self.updated_until.is_none_or(|t| share.updated_at() < t)
    }
}
