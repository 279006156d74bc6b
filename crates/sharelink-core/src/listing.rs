//! Listing a creator's shares (PDS ListShareLink and SearchShareLink): which
//! shares ([`ShareFilter`]), in what order ([`ShareOrder`]), and where a page
//! starts ([`ShareCursor`]).
//!
//! One query type, [`ShareListQuery`], serves both PDS operations; the
//! [`Engine`](crate::Engine) validates it and the
//! [`Storage`](crate::Storage) answers it **in order, from an index, with
//! keyset paging**: a page starts strictly after the cursor's `(key, id)`
//! and never re-reads what came before, so the cost of a page does not grow
//! with the number of shares a creator has.
//!
//! Times sort and filter at millisecond precision (as stored and as PDS
//! writes them); texts sort by their bytes (Unicode code points). Ties are
//! broken by share id in the same direction, so pages never overlap or skip.
//!
//! A cursor is plain data; its text form (the PDS `marker`) belongs to the
//! wire layer.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use crate::code::InputError;
use crate::fields::ShareName;
use crate::id::ShareId;
use crate::share::{Share, ShareStatus};
use crate::storage::StorageError;

/// Largest page of a listing (PDS: `limit` 1–100).
pub const MAX_PAGE_SIZE: usize = 100;

/// A conjunction of conditions; an empty filter matches every share,
/// cancelled ones included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShareFilter {
    /// The share name contains this text, ignoring case (as
    /// [`fold_case`] folds it).
    pub name_contains: Option<String>,
    /// The creator's status (`enabled` / `disabled`).
    pub status: Option<ShareStatus>,
    /// Created at or after this instant (to the millisecond).
    pub created_from: Option<DateTime<Utc>>,
    /// Created strictly before this instant (to the millisecond).
    pub created_until: Option<DateTime<Utc>>,
    /// Updated at or after this instant (to the millisecond).
    pub updated_from: Option<DateTime<Utc>>,
    /// Updated strictly before this instant (to the millisecond).
    pub updated_until: Option<DateTime<Utc>>,
}

/// The case folding of name search: Unicode lower case. Backends that
/// filter in their query language store the folded name beside the name.
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

impl ShareFilter {
    /// Only shares that are not cancelled (ListShareLink without
    /// `include_cancelled`).
    pub fn enabled_only() -> Self {
        Self {
            status: Some(ShareStatus::Enabled),
            ..Self::default()
        }
    }

    /// Whether `share` satisfies every condition.
    pub fn matches(&self, share: &Share) -> bool {
        let ms = |t: DateTime<Utc>| t.timestamp_millis();
        let (created, updated) = (ms(share.created_at()), ms(share.updated_at()));
        self.name_contains
            .as_ref()
            .is_none_or(|needle| fold_case(share.name().as_str()).contains(&fold_case(needle)))
            && self.status.is_none_or(|s| share.status() == s)
            && self.created_from.is_none_or(|t| created >= ms(t))
            && self.created_until.is_none_or(|t| created < ms(t))
            && self.updated_from.is_none_or(|t| updated >= ms(t))
            && self.updated_until.is_none_or(|t| updated < ms(t))
    }

    /// Checks the filter's own limits: a name needle of at most
    /// [`ShareName::MAX_CHARS`] characters.
    pub fn check(&self) -> Result<(), InputError> {
        match &self.name_contains {
            Some(needle) if needle.chars().count() > ShareName::MAX_CHARS => {
                Err(InputError::out_of_range(
                    "query",
                    format!(
                        "a name to match has at most {} characters",
                        ShareName::MAX_CHARS
                    ),
                ))
            }
            _ => Ok(()),
        }
    }
}

/// The sort key of a share listing (PDS `order_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
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

impl ShareOrderBy {
    /// Every key, in a fixed order.
    pub const ALL: [Self; 4] = [
        Self::CreatedAt,
        Self::UpdatedAt,
        Self::ShareName,
        Self::Description,
    ];

    /// The PDS spelling (`created_at`, `updated_at`, `share_name`,
    /// `description`), also used by backends as a stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::ShareName => "share_name",
            Self::Description => "description",
        }
    }

    /// The value of this key for `share`.
    pub fn key_of(self, share: &Share) -> SortKey {
        match self {
            Self::CreatedAt => SortKey::Time(share.created_at().timestamp_millis()),
            Self::UpdatedAt => SortKey::Time(share.updated_at().timestamp_millis()),
            Self::ShareName => SortKey::Text(share.name().as_str().to_owned()),
            Self::Description => SortKey::Text(share.description().as_str().to_owned()),
        }
    }
}

/// The order of a share listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShareOrder {
    /// Sort key.
    pub by: ShareOrderBy,
    /// Descending instead of ascending.
    pub descending: bool,
}

impl Default for ShareOrder {
    fn default() -> Self {
        Self::NEWEST_FIRST
    }
}

impl ShareOrder {
    /// Newest first: the default order of PDS listings.
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

    /// How `a` compares with `b` in this order: by key, then by share id,
    /// both in this order's direction.
    pub fn compare(&self, a: &Share, b: &Share) -> Ordering {
        let o = self
            .by
            .key_of(a)
            .cmp(&self.by.key_of(b))
            .then_with(|| a.id().as_str().cmp(b.id().as_str()));
        if self.descending { o.reverse() } else { o }
    }

    /// Whether `share` comes strictly after `cursor` in this order.
    pub fn is_after(&self, cursor: &ShareCursor, share: &Share) -> bool {
        let o = self
            .by
            .key_of(share)
            .cmp(&cursor.key)
            .then_with(|| share.id().as_str().cmp(cursor.share_id.as_str()));
        if self.descending {
            o == Ordering::Less
        } else {
            o == Ordering::Greater
        }
    }
}

/// The value a listing sorts by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SortKey {
    /// A time, in Unix milliseconds.
    Time(i64),
    /// A text, compared by its bytes.
    Text(String),
}

/// Where a page of a listing starts: strictly after the share `share_id`
/// whose sort key is `key`, in `order`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareCursor {
    /// The order this cursor is a position in.
    pub order: ShareOrder,
    /// The sort key of the last share of the previous page.
    pub key: SortKey,
    /// The id of the last share of the previous page.
    pub share_id: ShareId,
}

impl ShareCursor {
    /// The position just after `share` in `order`.
    pub fn after(share: &Share, order: ShareOrder) -> Self {
        Self {
            order,
            key: order.by.key_of(share),
            share_id: share.id().clone(),
        }
    }
}

/// Which page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Most shares on the page: 1..=[`MAX_PAGE_SIZE`].
    pub limit: usize,
    /// Start strictly after this position; `None` for the first page.
    pub after: Option<ShareCursor>,
    /// Also count the matching shares from `after` on, this page included.
    pub count_total: bool,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: MAX_PAGE_SIZE,
            after: None,
            count_total: false,
        }
    }
}

/// A listing of one creator's shares (PDS ListShareLink / SearchShareLink).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShareListQuery {
    /// Which shares.
    pub filter: ShareFilter,
    /// In what order.
    pub order: ShareOrder,
    /// Which page.
    pub page: PageRequest,
}

impl ShareListQuery {
    /// Checks what the engine checks before a storage sees the query: a
    /// limit in 1..=100, a cursor of the same order, a bounded name needle.
    pub fn check(&self) -> Result<(), InputError> {
        if !(1..=MAX_PAGE_SIZE).contains(&self.page.limit) {
            return Err(InputError::out_of_range(
                "limit",
                format!("1..={MAX_PAGE_SIZE}, got {}", self.page.limit),
            ));
        }
        if let Some(cursor) = &self.page.after {
            let kind_ok = matches!(
                (&cursor.key, self.order.by),
                (
                    SortKey::Time(_),
                    ShareOrderBy::CreatedAt | ShareOrderBy::UpdatedAt
                ) | (
                    SortKey::Text(_),
                    ShareOrderBy::ShareName | ShareOrderBy::Description
                )
            );
            if cursor.order != self.order || !kind_ok {
                return Err(InputError::invalid(
                    "marker",
                    "not a marker returned for this order",
                ));
            }
        }
        self.filter.check()
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharePage {
    /// The shares, in the query's order.
    pub items: Vec<Share>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<ShareCursor>,
    /// With [`PageRequest::count_total`]: the matching shares from the
    /// cursor on, this page included.
    pub total: Option<u64>,
}

/// Builds a page from a creator's shares **already in the query's order
/// and strictly after its cursor** (a backend's index scan), applying the
/// filter. Stops reading once the page is full and one more match is seen,
/// unless the query counts the total. For backends that filter outside
/// their index (MemoryStorage, sled).
pub fn page_from_ordered(
    ordered: impl IntoIterator<Item = Result<Share, StorageError>>,
    query: &ShareListQuery,
) -> Result<SharePage, StorageError> {
    let limit = query.page.limit.max(1);
    let mut items = Vec::with_capacity(limit.min(MAX_PAGE_SIZE));
    let mut more = false;
    let mut counted = 0u64;
    for share in ordered {
        let share = share?;
        if !query.filter.matches(&share) {
            continue;
        }
        counted += 1;
        if items.len() < limit {
            items.push(share);
        } else {
            more = true;
            if !query.page.count_total {
                break;
            }
        }
    }
    let next = match items.last() {
        Some(last) if more => Some(ShareCursor::after(last, query.order)),
        _ => None,
    };
    Ok(SharePage {
        items,
        next,
        total: query.page.count_total.then_some(counted),
    })
}
