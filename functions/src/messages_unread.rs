//! `messages-unread` (GET): the unread badge, `{"unread": n}` — the caller's received messages
//! neither read nor deleted from their side. One indexed count (`unread_message_count`), sent
//! while the `messaging` feature is asked for.

use bytes::Bytes;
use http::{Method, Request, Response};
use serde_json::json;
use shared::error::ApiError;
use shared::http::{private_json_response, require_method};
use shared::query::QueryParams;
use shared::runtime::Ctx;

use crate::messaging::{self, caller_client};

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::GET)?;
    let (_, client) = caller_client(&request, ctx, false).await?;
    QueryParams::of(&request)?.finish()?;
    let count = client.rpc("unread_message_count", &json!({}))?;
    let unread: u64 = messaging::gated_read(ctx, &client, count).await?;
    Ok(private_json_response(&json!({ "unread": unread })))
}
