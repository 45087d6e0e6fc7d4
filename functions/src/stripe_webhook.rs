//! `stripe-webhook` (POST, Stripe's event as the raw body, signed in `Stripe-Signature`): checks
//! the signature over the bytes as received (`shared::billing::signature`), then hands the event
//! to Postgres' `apply_stripe_event`, which records it in the ledger and applies it in one
//! transaction, so Stripe's retries and duplicates change nothing. No user exists here: the
//! database is reached as the service role. A bad signature is the only refusal the caller
//! causes (400); everything signed, even a body that is no event, is recorded and answered 200
//! with what became of it (`applied`, `ignored`, `stale`, `unmatched`, `malformed`, `duplicate`).

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use shared::billing::signature;
use shared::error::ApiError;
use shared::http::{json_response, require_method};
use shared::postgrest::send_json;
use shared::postgrest::service_role::{self, Purpose};
use shared::runtime::Ctx;

const SIGNATURE_HEADER: &str = "stripe-signature";

pub async fn handle(request: Request<Bytes>, ctx: &Ctx) -> Result<Response<Bytes>, ApiError> {
    require_method(&request, Method::POST)?;
    let Some(secret) = ctx.config.providers.stripe_webhook_secret.as_deref() else {
        ctx.log.error("stripe_webhook_unconfigured", json!({ "missing": "STRIPE_WEBHOOK_SECRET" }));
        return Err(ApiError::internal());
    };
    let header = request.headers().get(SIGNATURE_HEADER).and_then(|value| value.to_str().ok());
    signature::verify(header.unwrap_or(""), request.body(), secret, ctx.now)
        .map_err(|error| ApiError::bad_request("invalid_signature", error.to_string()))?;
    // Signed with our secret, so refusing it would only make Stripe retry it for days: a body
    // that is not JSON goes to the ledger as a string, which records it as malformed.
    let event: Value = serde_json::from_slice(request.body())
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(request.body()).into_owned()));
    let client = service_role::client(ctx, Purpose::Webhook("stripe"))?;
    let outcome: String =
        send_json(ctx, client.rpc("apply_stripe_event", &json!({ "event": event }))?).await?;
    ctx.log.info(
        "stripe_event",
        json!({ "id": event["id"], "type": event["type"], "outcome": outcome }),
    );
    Ok(json_response(StatusCode::OK, &json!({ "received": true, "outcome": outcome })))
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::sync::Arc;

    use shared::runtime::Config;
    use shared::testing::{block_on, stripe_signature_header};

    use super::*;
    use crate::tests::{NOW, NoNetwork, ctx};

    const WEBHOOK_SECRET: &str = "whsec_unit";
    const EVENT: &str = r#"{"id":"evt_1","type":"invoice.payment_failed","created":1800000000,"data":{"object":{}}}"#;

    /// A context with the webhook secret and a service-role key, and no network: reaching the
    /// database shows as 503.
    fn configured() -> Ctx {
        let vars = [
            ("SUPABASE_URL", "http://127.0.0.1:54321"),
            ("SUPABASE_ANON_KEY", "anon"),
            ("SUPABASE_JWT_SECRET", crate::tests::SECRET),
            ("SUPABASE_SERVICE_ROLE_KEY", "service"),
            ("STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET),
        ];
        let config = Config::from_lookup(|name| {
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        })
        .unwrap();
        Ctx::new(Arc::new(config), Rc::new(NoNetwork), "req-1", NOW).with_log_sink(Rc::new(|_| {}))
    }

    fn post(signature: Option<String>, body: &str) -> Request<Bytes> {
        let mut request = Request::builder().method(Method::POST);
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        request.body(Bytes::from(body.to_owned())).unwrap()
    }

    fn status_and_code(ctx: &Ctx, request: Request<Bytes>) -> (u16, String) {
        match block_on(handle(request, ctx)) {
            Ok(response) => (response.status().as_u16(), String::new()),
            Err(error) => (error.status.as_u16(), error.code.to_string()),
        }
    }

    #[test]
    fn an_unsigned_or_wrongly_signed_event_is_refused_before_the_database() {
        let ctx = configured();
        let wrong = stripe_signature_header("whsec_other", NOW, EVENT.as_bytes());
        let stale = stripe_signature_header(WEBHOOK_SECRET, NOW - 301, EVENT.as_bytes());
        for signature in [None, Some("t=1,v0=00".to_owned()), Some(wrong), Some(stale)] {
            let answer = status_and_code(&ctx, post(signature, EVENT));
            assert_eq!(answer, (400, "invalid_signature".to_owned()));
        }
    }

    #[test]
    fn a_signed_event_goes_to_the_database() {
        let signature = stripe_signature_header(WEBHOOK_SECRET, NOW, EVENT.as_bytes());
        let (status, _) = status_and_code(&configured(), post(Some(signature), EVENT));
        assert_eq!(status, 503, "NoNetwork: the call to apply_stripe_event was attempted");
    }

    #[test]
    fn a_signed_body_that_is_not_json_still_goes_to_the_ledger() {
        let signature = stripe_signature_header(WEBHOOK_SECRET, NOW, b"not json");
        let (status, _) = status_and_code(&configured(), post(Some(signature), "not json"));
        assert_eq!(status, 503, "NoNetwork: it was sent to apply_stripe_event, not refused");
    }

    #[test]
    fn without_a_webhook_secret_nothing_is_accepted() {
        let signature = stripe_signature_header(WEBHOOK_SECRET, NOW, EVENT.as_bytes());
        assert_eq!(status_and_code(&ctx(), post(Some(signature), EVENT)).0, 500);
    }
}
