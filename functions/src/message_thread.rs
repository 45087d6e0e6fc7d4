//! `message-thread`: one of the caller's threads (needs the `messaging` feature).
//!
//! - GET `?id=<thread>[&before=<cursor>][&limit=1..200]`: the thread and a page of the messages
//!   the caller still has, newest first (`message_thread_page`); 404 when the caller is not in it.
//! - POST `?id=<thread>`: marks the caller's unread received messages of the thread read
//!   (`mark_thread_read`); what they sent stays unread for the other side.

use bytes::Bytes;
use http::{Method, Request, Response};
use serde_json::{Value, json};
use shared::error::ApiError;
use shared::http::private_json_response;
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::messaging::{self, caller_client};
use crate::rows;

const MAX_MESSAGES_PER_PAGE: u32 = 200;
const DEFAULT_MESSAGES_PER_PAGE: u32 = 50;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let method = request.method().clone();
    if method != Method::GET && method != Method::POST {
        return Err(ApiError::method_not_allowed("GET or POST"));
    }
    let (_, client) = caller_client(&request, ctx, method == Method::POST).await?;
    if method == Method::POST {
        let id = rows::required_id(&request, "a thread")?;
        let args = json!({ "p_thread_id": id });
        let marked: Option<u32> =
            messaging::gated_write(ctx, &client, client.rpc("mark_thread_read", &args)?).await?;
        let marked = marked.ok_or_else(no_such_thread)?;
        return Ok(private_json_response(&json!({ "marked_read": marked })));
    }
    let mut query = QueryParams::of(&request)?;
    let id: Uuid = query.require("id", "a thread id (UUID)")?;
    let before = messaging::cursor(&mut query)?;
    let limit = messaging::limit(&mut query, MAX_MESSAGES_PER_PAGE, DEFAULT_MESSAGES_PER_PAGE)?;
    query.finish()?;
    let args = json!({ "p_thread_id": id, "p_before": before, "p_limit": limit });
    let page: Value =
        messaging::gated_read(ctx, &client, client.rpc("message_thread_page", &args)?).await?;
    if page.is_null() {
        return Err(no_such_thread());
    }
    Ok(private_json_response(&page))
}

fn no_such_thread() -> ApiError {
    ApiError::not_found("no thread of yours has this id")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{assert_names, call_as_user};

    #[test]
    fn bad_parameters_are_refused_before_any_request() {
        let call =
            |method, query: &str| call_as_user("message-thread", method, query, &json!(null));
        assert_names(&call("GET", ""), "id");
        assert_names(&call("GET", "?id=7"), "id");
        let id = "id=3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a";
        assert_names(&call("GET", &format!("?{id}&limit=201")), "limit");
        assert_names(&call("GET", &format!("?{id}&before=1_2")), "before");
        assert_names(&call("GET", &format!("?{id}&sort=asc")), "sort");
        assert_names(&call("POST", ""), "id");
        assert_eq!(call("DELETE", &format!("?{id}")).0, 405);
    }
}
