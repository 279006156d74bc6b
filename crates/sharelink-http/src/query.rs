//! The listing parameters of ListShareLink and SearchShareLink: PDS
//! `order_by` / `order_direction`, and the SearchShareLink `query`
//! language (conditions joined by `and`: `share_name match 'text'` (or
//! `share_name_for_fuzzy`), `status = 'enabled'|'disabled'`, and
//! `created_at` / `updated_at` compared with `>`, `>=`, `<`, `<=` to an
//! RFC 3339 instant).

use sharelink_core::{InputError, ShareFilter, ShareOrder, ShareOrderBy, ShareStatus};

use crate::error::ApiError;
use crate::handlers::not_supported;
use crate::wire::parse_expiration;

/// PDS `order_by` (`created_at` by default, `updated_at`, `share_name`,
/// `description`) and `order_direction` (`ASC` / `DESC`; by default
/// descending for times, ascending for texts).
pub(crate) fn parse_order(
    order_by: Option<&str>,
    direction: Option<&str>,
) -> Result<ShareOrder, ApiError> {
    let by = match order_by.unwrap_or("") {
        "" | "created_at" => ShareOrderBy::CreatedAt,
        "updated_at" => ShareOrderBy::UpdatedAt,
        "share_name" => ShareOrderBy::ShareName,
        "description" => ShareOrderBy::Description,
        other => {
            return Err(ApiError::input(InputError::Invalid {
                field: "order_by",
                reason: format!(
                    "expected created_at, updated_at, share_name or description, got {other:?}"
                ),
            }));
        }
    };
    let mut order = ShareOrder::default_for(by);
    match direction.unwrap_or("") {
        "" => {}
        "ASC" | "asc" => order.descending = false,
        "DESC" | "desc" => order.descending = true,
        other => {
            return Err(ApiError::input(InputError::Invalid {
                field: "order_direction",
                reason: format!("expected ASC or DESC, got {other:?}"),
            }));
        }
    }
    Ok(order)
}

/// Parses a SearchShareLink query into a filter.
pub(crate) fn parse_query(query: &str) -> Result<ShareFilter, ApiError> {
    let mut filter = ShareFilter::default();
    let mut rest = query.trim();
    let bad = |why: String| {
        ApiError::input(InputError::Invalid {
            field: "query",
            reason: why,
        })
    };
    while !rest.is_empty() {
        let (field, after) = rest
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad(format!("expected `field op 'value'` at {rest:?}")))?;
        let after = after.trim_start();
        let (op, after) = after
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad(format!("expected an operator after {field:?}")))?;
        let after = after.trim_start();
        let quote = after
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
            .ok_or_else(|| bad(format!("expected a quoted value after {field} {op}")))?;
        let body = &after[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| bad("unterminated quoted value".into()))?;
        let value = &body[..end];
        rest = body[end + 1..].trim_start();
        match (field, op) {
            ("share_name" | "share_name_for_fuzzy", "match" | "=") => {
                filter.name_contains = Some(value.to_owned());
            }
            ("status", "=") => filter.status = Some(ShareStatus::from_wire(value)?),
            ("created_at" | "updated_at", ">" | ">=" | "<" | "<=") => {
                let t = parse_expiration(value)?.ok_or_else(|| bad("empty instant".into()))?;
                // `>` and `>=` differ only by the instant itself; shares carry
                // millisecond times, so shift by one millisecond.
                let ms = chrono::Duration::milliseconds(1);
                let (from, until) = match op {
                    ">" => (Some(t + ms), None),
                    ">=" => (Some(t), None),
                    "<" => (None, Some(t)),
                    _ => (None, Some(t + ms)),
                };
                if field == "created_at" {
                    filter.created_from = from.or(filter.created_from);
                    filter.created_until = until.or(filter.created_until);
                } else {
                    filter.updated_from = from.or(filter.updated_from);
                    filter.updated_until = until.or(filter.updated_until);
                }
            }
            _ => {
                return Err(not_supported(
                    "query",
                    &format!("the condition `{field} {op}`"),
                ));
            }
        }
        if rest.is_empty() {
            break;
        }
        rest = rest
            .strip_prefix("and")
            .or_else(|| rest.strip_prefix("AND"))
            .ok_or_else(|| bad(format!("expected `and` at {rest:?}")))?
            .trim_start();
    }
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_parse() {
        let f = parse_query("share_name match 'demo' and status = \"enabled\"").unwrap();
        assert_eq!(f.name_contains.as_deref(), Some("demo"));
        assert_eq!(f.status, Some(ShareStatus::Enabled));
        let f = parse_query(
            "created_at >= '2026-01-01T00:00:00Z' AND created_at < '2027-01-01T00:00:00Z'",
        )
        .unwrap();
        assert!(f.created_from.is_some() && f.created_until.is_some());
        assert_eq!(parse_query("").unwrap(), ShareFilter::default());
        for bad in [
            "share_name",
            "share_name match demo",
            "share_name match 'x",
            "status = 'gone'",
            "share_name match 'a' or status = 'enabled'",
            "creator = 'bob'",
            "created_at > 'yesterday'",
            "é é 'é",
        ] {
            let e = parse_query(bad).unwrap_err();
            assert_eq!(e.status(), 400, "{bad}: {}", e.message());
        }
    }
}
