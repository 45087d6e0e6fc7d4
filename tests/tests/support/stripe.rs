//! Stripe's side of the webhook tests: events shaped as Stripe sends them, signed as Stripe signs
//! them (`Stripe-Signature: t=…,v1=…` over `t.body`), delivered to a host's `stripe-webhook`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use shared::testing::stripe_signature_header;
use uuid::Uuid;

/// The endpoint secret `scripts/test` gives every host.
pub fn webhook_secret() -> String {
    std::env::var("STRIPE_WEBHOOK_SECRET")
        .expect("STRIPE_WEBHOOK_SECRET: scripts/test sets it for the hosts and the tests")
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A Stripe id with `prefix` that no other test uses.
pub fn fresh_id(prefix: &str) -> String {
    format!("{prefix}_{}", Uuid::new_v4().simple())
}

/// An event of `kind` about `object`, created at `created` (unix seconds), as Stripe's JSON.
pub fn event(kind: &str, created: u64, object: Value) -> Vec<u8> {
    json!({
        "id": fresh_id("evt"), "object": "event", "api_version": "2024-06-20", "type": kind,
        "created": created, "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "data": {"object": object},
    })
    .to_string()
    .into_bytes()
}

/// POSTs `body` to `base`'s stripe-webhook with `signature`; answers the status and JSON body.
pub async fn deliver_signed(base: &str, signature: &str, body: &[u8]) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/functions/v1/stripe-webhook"))
        .header("stripe-signature", signature)
        .header("content-type", "application/json; charset=utf-8")
        .header("user-agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
        .body(body.to_vec())
        .send()
        .await
        .expect("the host answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Delivers `body` signed now with the endpoint secret; answers the status and the outcome.
pub async fn deliver(base: &str, body: &[u8]) -> (u16, String) {
    let signature = stripe_signature_header(&webhook_secret(), now(), body);
    let (status, answer) = deliver_signed(base, &signature, body).await;
    (status, answer["outcome"].as_str().unwrap_or_default().to_string())
}
