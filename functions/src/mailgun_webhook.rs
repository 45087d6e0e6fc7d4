//! `mailgun-webhook` (POST, Mailgun's JSON delivery `{"signature", "event-data"}`): checks the
//! signature (`shared::mail::webhook`), then hands the event to Postgres' `record_mailgun_event`,
//! which keeps the delivery's token, records the event and applies it (suppression, unsubscribe)
//! in one transaction. No user exists here: the database is reached as the service role.
//!
//! Statuses follow Mailgun's retries: it takes 200 as done, 406 as refused for good, and retries
//! anything else for 8 hours (delivered events excepted, which it never retries).
//! - 200: recorded, a duplicate event, or an event type not recorded (`outcome` says which).
//! - 406: what no retry can cure: a token already accepted (a replay, or a retry of a delivery
//!   already recorded), a signature older than the window, a signed event we cannot read.
//! - 401: a signature that does not match, or one ahead of our clock: perhaps our signing key or
//!   clock is wrong, and Mailgun's retries give us time to fix them instead of losing the events.
//! - 400/415/422: not a Mailgun delivery at all (not JSON, no signature object).
//! - 503: the database is unreachable; nothing was kept, so Mailgun's retry goes through.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde_json::json;
use shared::error::ApiError;
use shared::http::{json_response, read_json, require_method};
use shared::mail::webhook::{self, Delivery, MailEvent, Reported, SignatureError};
use shared::postgrest::send_json;
use shared::postgrest::service_role::{self, Purpose};
use shared::runtime::{Ctx, UnixSeconds};

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::POST)?;
    let Some(key) = ctx.config.providers.mailgun_webhook_signing_key.as_deref() else {
        ctx.log.error(
            "mailgun_webhook_unconfigured",
            json!({ "missing": "MAILGUN_WEBHOOK_SIGNING_KEY" }),
        );
        return Err(ApiError::internal());
    };
    let delivery: Delivery = read_json(&request)?;
    let signed_at = webhook::verify(&delivery.signature, key, ctx.now).map_err(refusal)?;
    let event = match webhook::read_event(&delivery.event_data) {
        Ok(Reported::Event(event)) => event,
        Ok(Reported::Other(kind)) => {
            ctx.log.info("mailgun_event", json!({ "event": kind, "outcome": "ignored" }));
            return Ok(received("ignored"));
        }
        Err(problem) => {
            ctx.log.warn("mailgun_event_unreadable", json!({ "problem": problem.to_string() }));
            return Err(not_acceptable("invalid_event", problem.to_string()));
        }
    };
    let client = service_role::client(ctx, Purpose::Webhook("mailgun"))?;
    let arguments = record_arguments(&delivery.signature.token, signed_at, &event);
    let outcome: String = send_json(ctx, client.rpc("record_mailgun_event", &arguments)?).await?;
    ctx.log.info(
        "mailgun_event",
        json!({ "id": event.event_id, "event": event.kind, "outcome": outcome }),
    );
    if outcome == "token_reused" {
        return Err(not_acceptable("token_reused", "this delivery's token was already accepted"));
    }
    Ok(received(&outcome))
}

/// `record_mailgun_event`'s arguments: the token, when it was signed, and the event.
fn record_arguments(token: &str, signed_at: UnixSeconds, event: &MailEvent) -> serde_json::Value {
    json!({
        "p_token": token,
        "p_signed_at": signed_at,
        "p_event_id": event.event_id,
        "p_event": event.kind,
        "p_severity": event.severity,
        "p_recipient": event.recipient,
        "p_reason": event.reason,
        "p_detail": event.detail,
        "p_occurred_at": event.occurred_at,
        "p_batch_id": event.batch_id,
        "p_message_id": event.message_id,
    })
}

fn received(outcome: &str) -> Response<Bytes> {
    json_response(StatusCode::OK, &json!({ "received": true, "outcome": outcome }))
}

/// 406: Mailgun drops the delivery instead of retrying it.
fn not_acceptable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::NOT_ACCEPTABLE, code, message)
}

fn refusal(error: SignatureError) -> ApiError {
    match error {
        SignatureError::Malformed | SignatureError::Mismatch => {
            ApiError::new(StatusCode::UNAUTHORIZED, "invalid_signature", error.to_string())
        }
        SignatureError::Ahead => {
            ApiError::new(StatusCode::UNAUTHORIZED, "timestamp_ahead", error.to_string())
        }
        SignatureError::Stale => not_acceptable("stale_signature", error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;
    use std::sync::Arc;

    use serde_json::Value;
    use shared::runtime::{Config, HttpClient, HttpFuture};
    use shared::testing::{block_on, mailgun_signature};

    use super::*;
    use crate::tests::{NOW, NoNetwork};

    const KEY: &str = "mailgun-unit-signing-key";
    const TOKEN: &str = "f00dfeed0123456789abcdef0123456789abcdef0123456789";

    /// Answers every request with `answer` as PostgREST's JSON, keeping the bodies sent.
    struct Database {
        answer: &'static str,
        sent: RefCell<Vec<Value>>,
    }

    impl HttpClient for Database {
        fn send<'a>(&'a self, request: Request<Bytes>) -> HttpFuture<'a> {
            self.sent.borrow_mut().push(serde_json::from_slice(request.body()).unwrap());
            let response = Response::new(Bytes::from(self.answer));
            Box::pin(async move { Ok(response) })
        }
    }

    fn configured(http: Rc<dyn HttpClient>, signing_key: Option<&str>) -> Ctx {
        let mut vars = vec![
            ("SUPABASE_URL", "http://127.0.0.1:54321"),
            ("SUPABASE_ANON_KEY", "anon"),
            ("SUPABASE_JWT_SECRET", crate::tests::SECRET),
            ("SUPABASE_SERVICE_ROLE_KEY", "service"),
        ];
        vars.extend(signing_key.map(|key| ("MAILGUN_WEBHOOK_SIGNING_KEY", key)));
        let config = Config::from_lookup(|name| {
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        })
        .unwrap();
        Ctx::new(Arc::new(config), http, "req-1", NOW).with_log_sink(Rc::new(|_| {}))
    }

    fn delivery(signed_at: UnixSeconds, event: Value) -> Value {
        json!({
            "signature": {"timestamp": signed_at.to_string(), "token": TOKEN,
                          "signature": mailgun_signature(KEY, signed_at, TOKEN)},
            "event-data": event,
        })
    }

    fn bounce() -> Value {
        json!({"event": "failed", "id": "ev-1", "timestamp": 1_799_999_990.5, "severity": "permanent",
               "reason": "bounce", "recipient": "Rep@Example.test",
               "delivery-status": {"code": 550, "message": "no such mailbox"},
               "user-variables": {"salespulse_batch_id": "5f0c8a8e-3d3c-4b55-9a7f-2b9d1c4e6f10"}})
    }

    fn post(body: &str) -> Request<Bytes> {
        Request::builder()
            .method(Method::POST)
            .header("content-type", "application/json")
            .body(Bytes::from(body.to_owned()))
            .unwrap()
    }

    fn answer(ctx: &Ctx, body: &str) -> (u16, Value) {
        let response = match block_on(handle(post(body), ctx)) {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        (response.status().as_u16(), serde_json::from_slice(response.body()).unwrap())
    }

    fn code(answer: &(u16, Value)) -> (u16, &str) {
        (answer.0, answer.1["error"]["code"].as_str().unwrap_or(""))
    }

    #[test]
    fn a_signed_bounce_goes_to_the_database_with_its_token_and_event() {
        let database = Rc::new(Database { answer: "\"suppressed\"", sent: RefCell::default() });
        let ctx = configured(database.clone(), Some(KEY));
        let (status, body) = answer(&ctx, &delivery(NOW, bounce()).to_string());
        assert_eq!((status, body), (200, json!({"received": true, "outcome": "suppressed"})));
        assert_eq!(
            database.sent.borrow().as_slice(),
            [
                json!({"p_token": TOKEN, "p_signed_at": NOW, "p_event_id": "ev-1", "p_event": "failed",
                    "p_severity": "permanent", "p_recipient": "Rep@Example.test",
                    "p_reason": "bounce", "p_detail": "550 no such mailbox",
                    "p_occurred_at": 1_799_999_990.5,
                    "p_batch_id": "5f0c8a8e-3d3c-4b55-9a7f-2b9d1c4e6f10", "p_message_id": null})
            ]
        );
    }

    #[test]
    fn a_reused_token_is_refused_for_good() {
        let database = Rc::new(Database { answer: "\"token_reused\"", sent: RefCell::default() });
        let ctx = configured(database, Some(KEY));
        let refused = answer(&ctx, &delivery(NOW, bounce()).to_string());
        assert_eq!(code(&refused), (406, "token_reused"));
    }

    #[test]
    fn bad_signatures_are_refused_before_the_database_with_the_status_mailgun_should_see() {
        let ctx = configured(Rc::new(NoNetwork), Some(KEY));
        let mut forged = delivery(NOW, bounce());
        forged["signature"]["signature"] = json!(mailgun_signature("another key", NOW, TOKEN));
        let mut changed_token = delivery(NOW, bounce());
        changed_token["signature"]["token"] = json!(TOKEN.replace("f00d", "f00e"));
        let mut changed_time = delivery(NOW, bounce());
        changed_time["signature"]["timestamp"] = json!((NOW - 1).to_string());
        let stale = delivery(NOW - webhook::MAX_AGE_SECONDS - 1, bounce());
        let ahead = delivery(NOW + webhook::MAX_AHEAD_SECONDS + 1, bounce());
        for (body, expected) in [
            (forged, (401, "invalid_signature")),
            (changed_token, (401, "invalid_signature")),
            (changed_time, (401, "invalid_signature")),
            (ahead, (401, "timestamp_ahead")),
            (stale, (406, "stale_signature")),
        ] {
            assert_eq!(code(&answer(&ctx, &body.to_string())), expected, "{body}");
        }
    }

    #[test]
    fn what_is_not_a_mailgun_delivery_is_a_clear_4xx() {
        let ctx = configured(Rc::new(NoNetwork), Some(KEY));
        assert_eq!(code(&answer(&ctx, "{\"signature\":")), (400, "invalid_json"));
        assert_eq!(code(&answer(&ctx, "{}")), (422, "validation_failed"));
        let no_token =
            json!({"signature": {"timestamp": "1", "signature": "00"}, "event-data": {}});
        assert_eq!(code(&answer(&ctx, &no_token.to_string())), (422, "validation_failed"));
    }

    #[test]
    fn a_signed_event_we_cannot_read_is_refused_for_good_and_others_are_ignored() {
        let ctx = configured(Rc::new(NoNetwork), Some(KEY));
        let mut unreadable = bounce();
        unreadable["recipient"] = json!("nobody");
        let refused = answer(&ctx, &delivery(NOW, unreadable).to_string());
        assert_eq!(code(&refused), (406, "invalid_event"));
        assert!(refused.1["error"]["message"].as_str().unwrap().contains("event-data.recipient"));
        let opened = json!({"event": "opened", "id": "ev-2", "recipient": "rep@example.test"});
        let ignored = answer(&ctx, &delivery(NOW, opened).to_string());
        assert_eq!(ignored, (200, json!({"received": true, "outcome": "ignored"})));
    }

    #[test]
    fn an_unreachable_database_is_a_503_so_mailgun_retries() {
        let ctx = configured(Rc::new(NoNetwork), Some(KEY));
        let (status, _) = answer(&ctx, &delivery(NOW, bounce()).to_string());
        assert_eq!(status, 503);
    }

    #[test]
    fn without_a_signing_key_nothing_is_accepted() {
        let ctx = configured(Rc::new(NoNetwork), None);
        assert_eq!(answer(&ctx, &delivery(NOW, bounce()).to_string()).0, 500);
    }

    #[test]
    fn only_post_is_served() {
        let ctx = configured(Rc::new(NoNetwork), Some(KEY));
        let request = Request::builder().method(Method::GET).body(Bytes::new()).unwrap();
        assert_eq!(block_on(handle(request, &ctx)).unwrap_err().status.as_u16(), 405);
    }
}
