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

/// The sort key of a share listing (PDS `order_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShareOrderBy {
    /// Creation time (the default).
    CreatedAt,
    /// Last update.
    UpdatedAt,
    /// Name.
    ShareName,
    /// Description.
    Description,
}

/// The order of a share listing. Ties are broken by share id in the same
/// direction, so pages never overlap or skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareOrder {
    /// Sort key.
    pub by: ShareOrderBy,
    /// Descending instead of ascending.
    pub descending: bool,
}

impl ShareOrder {
    /// Newest first: the order the storage indexes, served without a scan.
    pub const NEWEST_FIRST: Self = Self {
        by: ShareOrderBy::CreatedAt,
        descending: true,
    };

    /// PDS's default direction for a key: descending for times, ascending
    /// for texts.
    pub fn default_for(by: ShareOrderBy) -> Self {
        Self {
            by,
            descending: matches!(by, ShareOrderBy::CreatedAt | ShareOrderBy::UpdatedAt),
        }
    }

    /// How `a` compares with `b` in this order.
    pub fn compare(&self, a: &Share, b: &Share) -> std::cmp::Ordering {
        let key = match self.by {
            ShareOrderBy::CreatedAt => a.created_at().cmp(&b.created_at()),
            ShareOrderBy::UpdatedAt => a.updated_at().cmp(&b.updated_at()),
            ShareOrderBy::ShareName => a.name().as_str().cmp(b.name().as_str()),
            ShareOrderBy::Description => a.description().as_str().cmp(b.description().as_str()),
        };
        let o = key.then_with(|| a.id().as_str().cmp(b.id().as_str()));
        if self.descending { o.reverse() } else { o }
    }
}
