//! `messages`: the caller's conversations (needs the `messaging` feature, 403
//! `feature_disabled` otherwise).
//!
//! - GET `[?before=<cursor>][&limit=1..100]`: their threads by last activity, newest first, each
//!   with the other participant, the last message they still have and their unread count
//!   (`message_thread_list`, one round trip).
//! - POST `{body, thread_id}`: a reply; `{body, participant_id[, subject]}`: a new thread with a
//!   member the caller manages, with its first message (`send_message`, one transaction). An
//!   `Idempotency-Key` header makes a retry answer the first attempt's message (200,
//!   `replayed`) instead of sending it again; the same key with another message is 409.
//! - DELETE `?id=<message>`: deletes the caller's copy (a retry answers the same); the other
//!   side keeps theirs.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::error::ApiError;
use shared::http::{idempotency_key, json_response, private_json_response, read_json};
use shared::query::QueryParams;
use shared::runtime::Ctx;
use uuid::Uuid;

use crate::messaging::{self, MAX_BODY_CHARS, MAX_SUBJECT_CHARS, caller_client, check_text};
use crate::rows;

const MAX_THREADS_PER_PAGE: u32 = 100;
const DEFAULT_THREADS_PER_PAGE: u32 = 20;

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    match request.method().clone() {
        Method::GET => list(&request, ctx).await,
        Method::POST => send(&request, ctx).await,
        Method::DELETE => delete_copy(&request, ctx).await,
        _ => Err(ApiError::method_not_allowed("GET, POST or DELETE")),
    }
}

async fn list(request: &Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let (_, client) = caller_client(request, ctx, false).await?;
    let mut query = QueryParams::of(request)?;
    let before = messaging::cursor(&mut query)?;
    let limit = messaging::limit(&mut query, MAX_THREADS_PER_PAGE, DEFAULT_THREADS_PER_PAGE)?;
    query.finish()?;
    let args = json!({ "p_before": before, "p_limit": limit });
    let page: Value =
        messaging::gated_read(ctx, &client, client.rpc("message_thread_list", &args)?).await?;
    Ok(private_json_response(&page))
}

/// A message to send, as the client wrote it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Outgoing {
    body: String,
    #[serde(default)]
    thread_id: Option<Uuid>,
    #[serde(default)]
    participant_id: Option<Uuid>,
    #[serde(default)]
    subject: Option<String>,
}

impl Outgoing {
    fn check(&self) -> Result<(), ApiError> {
        check_text("body", &self.body, MAX_BODY_CHARS, true)?;
        match (self.thread_id, self.participant_id) {
            (Some(_), None) if self.subject.is_some() => {
                Err(ApiError::validation("subject", "is given only with a new thread"))
            }
            (Some(_), None) => Ok(()),
            (None, Some(_)) => check_text(
                "subject",
                self.subject.as_deref().unwrap_or(""),
                MAX_SUBJECT_CHARS,
                false,
            ),
            _ => Err(ApiError::validation(
                "body",
                "give a thread_id (a reply) or a participant_id (a new thread), not both",
            )),
        }
    }
}

/// What `send_message` answers.
#[derive(Debug, Deserialize)]
struct Sent {
    outcome: String,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    new_thread: bool,
}

async fn send(request: &Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let (_, client) = caller_client(request, ctx, true).await?;
    QueryParams::of(request)?.finish()?;
    let outgoing: Outgoing = read_json(request)?;
    outgoing.check()?;
    let key = idempotency_key(request)?;
    let args = json!({
        "p_body": outgoing.body, "p_thread_id": outgoing.thread_id,
        "p_participant_id": outgoing.participant_id,
        "p_subject": outgoing.subject.unwrap_or_default(), "p_idempotency_key": key,
    });
    let sent: Sent =
        messaging::gated_write(ctx, &client, client.rpc("send_message", &args)?).await?;
    let status = match sent.outcome.as_str() {
        "sent" => StatusCode::CREATED,
        "replayed" => StatusCode::OK,
        "key_reused" => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "idempotency_key_reused",
                "this Idempotency-Key was used for another message",
            ));
        }
        "no_thread" => return Err(ApiError::not_found("no thread of yours has this id")),
        "not_managed" => {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "not_managed",
                "you may start a thread only with a member you manage",
            ));
        }
        other => {
            ctx.log.error("send_message_outcome", json!({ "outcome": other }));
            return Err(ApiError::internal());
        }
    };
    let message = sent.message.ok_or_else(ApiError::internal)?;
    let answer = json!({
        "message": message, "new_thread": sent.new_thread,
        "replayed": status == StatusCode::OK,
    });
    Ok(json_response(status, &answer))
}

async fn delete_copy(request: &Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    let (_, client) = caller_client(request, ctx, true).await?;
    let id = rows::required_id(request, "a message")?;
    let args = json!({ "message_id": id });
    let deleted: bool =
        messaging::gated_write(ctx, &client, client.rpc("delete_message_copy", &args)?).await?;
    if deleted {
        Ok(private_json_response(&json!({ "deleted": id })))
    } else {
        Err(ApiError::not_found("no message of yours has this id"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{assert_names, call_as_user};

    fn refused(method: &str, query: &str, body: Value, field: &str) {
        assert_names(&call_as_user("messages", method, query, &body), field);
    }

    #[test]
    fn bad_messages_are_refused_before_any_request() {
        let thread = "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a";
        refused("POST", "", json!({"body": "Hi"}), "body");
        refused(
            "POST",
            "",
            json!({"body": "Hi", "thread_id": thread, "participant_id": thread}),
            "body",
        );
        refused("POST", "", json!({"body": " ", "thread_id": thread}), "body");
        refused(
            "POST",
            "",
            json!({"body": "x".repeat(MAX_BODY_CHARS + 1), "thread_id": thread}),
            "body",
        );
        refused("POST", "", json!({"body": "a\u{0}b", "thread_id": thread}), "body");
        refused("POST", "", json!({"body": "Hi", "thread_id": thread, "subject": "S"}), "subject");
        refused(
            "POST",
            "",
            json!({"body": "Hi", "participant_id": thread, "subject": "s".repeat(201)}),
            "subject",
        );
        refused("POST", "", json!({"body": "Hi", "thread_id": "x"}), "thread_id");
        refused("POST", "", json!({"body": "Hi", "thread_id": thread, "html": true}), "html");
        refused("POST", "?x=1", json!({"body": "Hi", "thread_id": thread}), "x");
        refused("GET", "?limit=0", json!(null), "limit");
        refused("GET", "?before=yesterday", json!(null), "before");
        refused("DELETE", "", json!(null), "id");
    }

    #[test]
    fn other_methods_are_refused() {
        assert_eq!(call_as_user("messages", "PATCH", "", &json!({})).0, 405);
    }
}
