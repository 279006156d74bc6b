//! `POST /v2/share_link/*`.

use std::num::NonZeroU64;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sharelink_core::{
    Audience, CreateShareRequest, Description, DriveId, FileId, InputError, Limits, PasswordChange,
    Permissions, Share, ShareFiles, ShareFilter, ShareName, ShareOrder, ShareOrderBy,
    SharePassword, ShareStatus, ShareUpdate, TokenRequest,
};

use super::{Api, blocking, not_supported, page_limit, seconds, share_id};
use crate::ShareApi;
use crate::error::{ApiError, WireCode};
use crate::extract::{RequestHead, json_body, required};
use crate::host::{Authenticator, DriveStore};
use crate::wire::{
    AnonymousShareWire, CreateShareLinkBody, GetShareTokenBody, ListShareLinkBody,
    SearchShareLinkBody, ShareIdBody, ShareLinkPage, ShareLinkWire, ShareTokenWire,
    UpdateShareLinkBody, format_time, parse_expiration,
};

impl<A: Authenticator, D: DriveStore> ShareApi<A, D> {
    fn share_wire(&self, share: &Share) -> ShareLinkWire {
        let url = self
            .config
            .share_page_prefix
            .as_ref()
            .map(|p| format!("{p}{}", share.id()))
            .unwrap_or_default();
        ShareLinkWire::of(share, self.engine.now(), url)
    }

    fn share_page(
        &self,
        items: &[Share],
        next_marker: String,
        total: Option<u64>,
    ) -> ShareLinkPage {
        ShareLinkPage {
            items: items.iter().map(|s| self.share_wire(s)).collect(),
            next_marker,
            total_count: total,
        }
    }
}

/// CreateShareLink: 201 with the new share.
pub(crate) async fn create<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Response, ApiError> {
    let b: CreateShareLinkBody = json_body(body, api.config.max_body_bytes).await?;
    let share = blocking(move || {
        let caller = api.caller(&head)?;
        if b.creatable == Some(true) {
            return Err(not_supported("creatable", "upload-enabled shares"));
        }
        if b.office_editable == Some(true) {
            return Err(not_supported("office_editable", "online editing"));
        }
        if let Some(user) = b.user_id.as_deref().filter(|u| !u.is_empty()) {
            if user != caller.member.user_id.as_str() {
                return Err(ApiError::wire(
                    WireCode::ForbiddenNoPermission,
                    "No Permission to create a share for another user.",
                ));
            }
        }
        let drive = DriveId::new(required(b.drive_id, "drive_id")?)?;
        api.check_drive(&caller.member, &drive)?;
        let files = if b.share_all_files == Some(true) {
            ShareFiles::AllFiles
        } else {
            let ids = b
                .file_id_list
                .unwrap_or_default()
                .into_iter()
                .map(FileId::new)
                .collect::<Result<Vec<_>, _>>()?;
            ShareFiles::listed(ids)?
        };
        let mut req = CreateShareRequest::new(
            caller.member.tenant.clone(),
            caller.profile.clone(),
            drive,
            files,
        );
        req.password = optional_password(b.share_pwd.as_deref())?;
        req.name = match b.share_name.filter(|n| !n.is_empty()) {
            Some(n) => Some(ShareName::new(n)?),
            None => None,
        };
        req.description = Description::new(b.description.unwrap_or_default())?;
        req.expiration = parse_expiration(b.expiration.as_deref().unwrap_or(""))?;
        if b.require_login == Some(true) {
            req.audience = Audience::MembersOnly;
        }
        req.permissions = Permissions {
            disable_preview: b.disable_preview.unwrap_or(false),
            disable_download: b.disable_download.unwrap_or(false),
            disable_save: b.disable_save.unwrap_or(false),
        };
        req.limits = Limits::from_wire(
            b.preview_limit.unwrap_or(0),
            b.download_limit.unwrap_or(0),
            b.save_limit.unwrap_or(0),
        );
        let share = api
            .engine
            .create_share_link(req)
            .map_err(|e| api.fail(&e))?;
        Ok(api.share_wire(&share))
    })
    .await?;
    Ok((StatusCode::CREATED, Json(share)).into_response())
}

/// GetShareLink: the creator's view.
pub(crate) async fn get<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<ShareLinkWire>, ApiError> {
    let b: ShareIdBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let caller = api.caller(&head)?;
        let id = share_id(b.share_id)?;
        let share = api
            .engine
            .get_share_link(&caller.member, &id)
            .map_err(|e| api.fail(&e))?;
        Ok(Json(api.share_wire(&share)))
    })
    .await
}

/// UpdateShareLink: every absent field stays; `share_pwd: ""` removes the
/// password and `expiration: ""` makes the share never expire.
pub(crate) async fn update<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<ShareLinkWire>, ApiError> {
    let b: UpdateShareLinkBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let caller = api.caller(&head)?;
        let id = share_id(b.share_id)?;
        if b.office_editable == Some(true) {
            return Err(not_supported("office_editable", "online editing"));
        }
        let req = ShareUpdate {
            password: match b.share_pwd.as_deref() {
                None => None,
                Some(p) => Some(
                    optional_password(Some(p))?.map_or(PasswordChange::Remove, PasswordChange::Set),
                ),
            },
            name: b.share_name.map(ShareName::new).transpose()?,
            description: b.description.map(Description::new).transpose()?,
            expiration: b.expiration.as_deref().map(parse_expiration).transpose()?,
            status: b
                .status
                .as_deref()
                .map(ShareStatus::from_wire)
                .transpose()?,
            audience: b.require_login.map(|r| {
                if r {
                    Audience::MembersOnly
                } else {
                    Audience::Anyone
                }
            }),
            disable_preview: b.disable_preview,
            disable_download: b.disable_download,
            disable_save: b.disable_save,
            preview_limit: b.preview_limit.map(NonZeroU64::new),
            download_limit: b.download_limit.map(NonZeroU64::new),
            save_limit: b.save_limit.map(NonZeroU64::new),
            preview_count: b.preview_count,
            download_count: b.download_count,
            save_count: b.save_count,
        };
        let share = api
            .engine
            .update_share_link(&caller.member, &id, req)
            .map_err(|e| api.fail(&e))?;
        Ok(Json(api.share_wire(&share)))
    })
    .await
}

/// CancelShareLink: 204, no body. Outstanding tokens and URLs die at once.
pub(crate) async fn cancel<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let b: ShareIdBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let caller = api.caller(&head)?;
        let id = share_id(b.share_id)?;
        api.engine
            .cancel_share_link(&caller.member, &id)
            .map_err(|e| api.fail(&e))?;
        Ok(StatusCode::NO_CONTENT)
    })
    .await
}

/// ListShareLink: the caller's shares, newest first.
pub(crate) async fn list<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<ShareLinkPage>, ApiError> {
    let b: ListShareLinkBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let caller = api.caller(&head)?;
        if let Some(creator) = b.creator.as_deref().filter(|c| !c.is_empty()) {
            check_own(creator, &caller.member)?;
        }
        let order = parse_order(b.order_by.as_deref(), b.order_direction.as_deref())?;
        let limit = page_limit(b.limit, sharelink_core::engine::MAX_LIST_LIMIT)?;
        let page = api
            .engine
            .list_share_links_ordered(
                &caller.member,
                b.include_cancelled.unwrap_or(false),
                order,
                limit,
                b.marker.as_deref().unwrap_or(""),
            )
            .map_err(|e| api.fail(&e))?;
        Ok(Json(api.share_page(&page.items, page.next_marker, None)))
    })
    .await
}

/// SearchShareLink: the caller's shares matching `query`.
///
/// The query is conditions joined by `and`: `share_name match 'text'` (or
/// `share_name_for_fuzzy`), `status = 'enabled'|'disabled'`, and
/// `created_at` / `updated_at` compared with `>`, `>=`, `<`, `<=` to an
/// RFC 3339 instant.
pub(crate) async fn search<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<ShareLinkPage>, ApiError> {
    let b: SearchShareLinkBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let caller = api.caller(&head)?;
        for creator in b.creators.iter().flatten() {
            check_own(creator, &caller.member)?;
        }
        let order = parse_order(b.order_by.as_deref(), b.order_direction.as_deref())?;
        let filter = parse_query(b.query.as_deref().unwrap_or(""))?;
        let limit = page_limit(b.limit, sharelink_core::engine::MAX_LIST_LIMIT)?;
        let (page, total) = api
            .engine
            .search_share_links_ordered(
                &caller.member,
                &filter,
                order,
                limit,
                b.marker.as_deref().unwrap_or(""),
                b.return_total_count.unwrap_or(false),
            )
            .map_err(|e| api.fail(&e))?;
        Ok(Json(api.share_page(&page.items, page.next_marker, total)))
    })
    .await
}

/// GetShareLinkByAnonymous: the public view; no authentication.
pub(crate) async fn get_by_anonymous<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    body: Body,
) -> Result<Json<AnonymousShareWire>, ApiError> {
    let b: ShareIdBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let id = share_id(b.share_id)?;
        let view = api
            .engine
            .get_share_link_by_anonymous(&id)
            .map_err(|e| api.fail(&e))?;
        Ok(Json(AnonymousShareWire::of(&view)))
    })
    .await
}

/// GetShareLinkToken: trades the share id and password for a share token.
/// A bearer token, if sent, identifies the caller for members-only shares.
pub(crate) async fn get_share_token<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<ShareTokenWire>, ApiError> {
    let b: GetShareTokenBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || {
        let id = share_id(b.share_id)?;
        let caller = api.optional_caller(&head)?;
        let issued = api
            .engine
            .get_share_token(TokenRequest {
                share_id: id,
                password: optional_password(b.share_pwd.as_deref())?,
                expire_sec: seconds(b.expire_sec, "expire_sec")?,
                client: head.client.clone(),
                caller: caller.map(|c| c.member),
            })
            .map_err(|e| api.fail(&e))?;
        Ok(Json(ShareTokenWire {
            share_token: issued.token.expose_secret().to_owned(),
            expires_in: issued.expires_in,
            expire_time: format_time(issued.expires_at),
        }))
    })
    .await
}

/// `""` and absent both mean "no password".
fn optional_password(text: Option<&str>) -> Result<Option<SharePassword>, InputError> {
    match text {
        None | Some("") => Ok(None),
        Some(p) => SharePassword::new(p).map(Some),
    }
}

fn check_own(creator: &str, caller: &sharelink_core::Member) -> Result<(), ApiError> {
    if creator == caller.user_id.as_str() {
        Ok(())
    } else {
        Err(ApiError::wire(
            WireCode::ForbiddenNoPermission,
            "No Permission to list another user's shares.",
        ))
    }
}

/// PDS `order_by` (`created_at` by default, `updated_at`, `share_name`,
/// `description`) and `order_direction` (`ASC` / `DESC`; by default
/// descending for times, ascending for texts).
fn parse_order(order_by: Option<&str>, direction: Option<&str>) -> Result<ShareOrder, ApiError> {
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
fn parse_query(query: &str) -> Result<ShareFilter, ApiError> {
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
