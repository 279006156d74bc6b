//! `POST /v2/share_link/*`.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sharelink_core::{Share, ShareListQuery, SharePage, TokenRequest};

use super::{Api, blocking, read_only, share_id};
use crate::ShareApi;
use crate::error::{ApiError, WireCode};
use crate::extract::{RequestHead, json_body};
use crate::host::{Authenticator, DriveStore};
use crate::marker;
use crate::wire::{
    AnonymousShareWire, CreateShareLink, CreateShareLinkBody, GetShareTokenBody, ListShareLinkBody,
    SearchShareLinkBody, ShareIdBody, ShareLinkPage, ShareLinkWire, ShareTokenAsk, ShareTokenWire,
    UpdateShareLink, UpdateShareLinkBody, format_time,
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

    fn share_page(&self, page: SharePage) -> ShareLinkPage {
        ShareLinkPage {
            items: page.items.iter().map(|s| self.share_wire(s)).collect(),
            next_marker: page.next.as_ref().map(marker::encode).unwrap_or_default(),
            total_count: page.total,
        }
    }
}

/// The share-link operations, each from its parsed body to its wire
/// answer. The JSON handlers below and the share pages both call these, so
/// a page is never a way around a rule.
impl<A: Authenticator, D: DriveStore> ShareApi<A, D> {
    /// CreateShareLink.
    pub(crate) fn create_op(
        &self,
        head: &RequestHead,
        b: CreateShareLinkBody,
    ) -> Result<ShareLinkWire, ApiError> {
        let caller = self.caller(head)?;
        let create = CreateShareLink::try_from(b)?;
        if create
            .for_user
            .as_deref()
            .is_some_and(|user| user != caller.member.user_id.as_str())
        {
            return Err(ApiError::wire(
                WireCode::ForbiddenNoPermission,
                "No Permission to create a share for another user.",
            ));
        }
        self.check_drive(&caller.member, &create.drive_id)?;
        let req = create.into_request(caller.member.tenant.clone(), caller.profile.clone());
        let share = self
            .engine
            .create_share_link(req)
            .map_err(|e| self.fail(&e))?;
        Ok(self.share_wire(&share))
    }

    /// GetShareLink: the creator's view.
    pub(crate) fn get_op(
        &self,
        head: &RequestHead,
        b: ShareIdBody,
    ) -> Result<ShareLinkWire, ApiError> {
        let caller = self.caller(head)?;
        let id = share_id(b.share_id)?;
        let share = self
            .engine
            .get_share_link(&caller.member, &id)
            .map_err(|e| self.fail(&e))?;
        Ok(self.share_wire(&share))
    }

    /// UpdateShareLink.
    pub(crate) fn update_op(
        &self,
        head: &RequestHead,
        b: UpdateShareLinkBody,
    ) -> Result<ShareLinkWire, ApiError> {
        let caller = self.caller(head)?;
        let UpdateShareLink {
            share_id: id,
            update,
        } = UpdateShareLink::try_from(b)?;
        let share = self
            .engine
            .update_share_link(&caller.member, &id, update)
            .map_err(|e| self.fail(&e))?;
        Ok(self.share_wire(&share))
    }

    /// CancelShareLink.
    pub(crate) fn cancel_op(&self, head: &RequestHead, b: ShareIdBody) -> Result<(), ApiError> {
        let caller = self.caller(head)?;
        let id = share_id(b.share_id)?;
        self.engine
            .cancel_share_link(&caller.member, &id)
            .map_err(|e| self.fail(&e))?;
        Ok(())
    }

    /// ListShareLink.
    pub(crate) fn list_op(
        &self,
        head: &RequestHead,
        b: ListShareLinkBody,
    ) -> Result<ShareLinkPage, ApiError> {
        let caller = self.caller(head)?;
        if let Some(creator) = b.creator.as_deref().filter(|c| !c.is_empty()) {
            check_own(creator, &caller.member)?;
        }
        let query = ShareListQuery::try_from(b)?;
        let page = self
            .engine
            .list_share_links(&caller.member, &query)
            .map_err(|e| self.fail(&e))?;
        Ok(self.share_page(page))
    }

    /// SearchShareLink.
    pub(crate) fn search_op(
        &self,
        head: &RequestHead,
        b: SearchShareLinkBody,
    ) -> Result<ShareLinkPage, ApiError> {
        let caller = self.caller(head)?;
        for creator in b.creators.iter().flatten() {
            check_own(creator, &caller.member)?;
        }
        let query = ShareListQuery::try_from(b)?;
        let page = self
            .engine
            .list_share_links(&caller.member, &query)
            .map_err(|e| self.fail(&e))?;
        Ok(self.share_page(page))
    }

    /// GetShareLinkByAnonymous.
    pub(crate) fn anonymous_op(&self, b: ShareIdBody) -> Result<AnonymousShareWire, ApiError> {
        let id = share_id(b.share_id)?;
        let view = self
            .engine
            .get_share_link_by_anonymous(&id)
            .map_err(|e| self.fail(&e))?;
        Ok(AnonymousShareWire::of(&view))
    }

    /// GetShareLinkToken.
    pub(crate) fn share_token_op(
        &self,
        head: &RequestHead,
        b: GetShareTokenBody,
    ) -> Result<ShareTokenWire, ApiError> {
        let asked = ShareTokenAsk::try_from(b)?;
        let caller = self.optional_caller(head)?;
        let issued = self
            .engine
            .get_share_token(TokenRequest {
                share_id: asked.share_id,
                password: asked.password,
                expire_sec: asked.expire_sec,
                client: head.client.clone(),
                caller: caller.map(|c| c.member),
            })
            .map_err(|e| self.fail(&e))?;
        Ok(ShareTokenWire {
            share_token: issued.token.expose_secret().to_owned(),
            expires_in: issued.expires_in,
            expire_time: format_time(issued.expires_at),
        })
    }
}

/// CreateShareLink: 201 with the new share.
pub(crate) async fn create<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Response, ApiError> {
    let b: CreateShareLinkBody = json_body(body, api.config.max_body_bytes).await?;
    let share = blocking(move || api.create_op(&head, b)).await?;
    Ok((StatusCode::CREATED, Json(share)).into_response())
}

/// GetShareLink: the creator's view.
pub(crate) async fn get<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<ShareLinkWire>, ApiError> {
    let b: ShareIdBody = json_body(body, api.config.max_body_bytes).await?;
    read_only(api.inline_reads, move || api.get_op(&head, b))
        .await
        .map(Json)
}

/// UpdateShareLink: every absent field stays; `share_pwd: ""` removes the
/// password and `expiration: ""` makes the share never expire.
pub(crate) async fn update<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<ShareLinkWire>, ApiError> {
    let b: UpdateShareLinkBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || api.update_op(&head, b)).await.map(Json)
}

/// CancelShareLink: 204, no body. Outstanding tokens and URLs die at once.
pub(crate) async fn cancel<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let b: ShareIdBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || api.cancel_op(&head, b)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// ListShareLink: the caller's shares, newest first unless `order_by`
/// says otherwise.
pub(crate) async fn list<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<ShareLinkPage>, ApiError> {
    let b: ListShareLinkBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || api.list_op(&head, b)).await.map(Json)
}

/// SearchShareLink: the caller's shares matching `query` (see
/// [`crate::query`] for the language).
pub(crate) async fn search<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<ShareLinkPage>, ApiError> {
    let b: SearchShareLinkBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || api.search_op(&head, b)).await.map(Json)
}

/// GetShareLinkByAnonymous: the public view; no authentication.
pub(crate) async fn get_by_anonymous<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    body: Body,
) -> Result<Json<AnonymousShareWire>, ApiError> {
    let b: ShareIdBody = json_body(body, api.config.max_body_bytes).await?;
    read_only(api.inline_reads, move || api.anonymous_op(b))
        .await
        .map(Json)
}

/// GetShareLinkToken: trades the share id and password for a share token.
/// A bearer token, if sent, identifies the caller for members-only shares.
pub(crate) async fn get_share_token<A: Authenticator, D: DriveStore>(
    State(api): State<Api<A, D>>,
    head: RequestHead,
    body: Body,
) -> Result<Json<ShareTokenWire>, ApiError> {
    let b: GetShareTokenBody = json_body(body, api.config.max_body_bytes).await?;
    blocking(move || api.share_token_op(&head, b))
        .await
        .map(Json)
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
