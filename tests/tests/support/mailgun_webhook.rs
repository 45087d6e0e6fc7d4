//! Mailgun's side of the webhook tests: events shaped as Mailgun's webhooks send them, signed as
//! Mailgun signs them (hex HMAC-SHA256 of timestamp + token), posted to a host's
//! `mailgun-webhook`.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use shared::testing::mailgun_signature;
use uuid::Uuid;

/// The signing key `scripts/test` gives every host.
pub fn signing_key() -> String {
    std::env::var("MAILGUN_WEBHOOK_SIGNING_KEY")
        .expect("MAILGUN_WEBHOOK_SIGNING_KEY: scripts/test sets it for the hosts and the tests")
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A token of Mailgun's length (50 characters) that no other delivery uses.
pub fn fresh_token() -> String {
    format!("{}{}", Uuid::new_v4().simple(), &Uuid::new_v4().simple().to_string()[..18])
}

/// An address no other test uses, at example.test.
pub fn fresh_address(label: &str) -> String {
    format!("{label}-{}@example.test", Uuid::new_v4().simple())
}

/// `event-data` of a `kind` event (`delivered`, `failed`, `complained`, …) about an e-mail to
/// `recipient` of the outbox row `batch`, with Mailgun's fields. A failure is permanent.
pub fn event(kind: &str, recipient: &str, batch: Uuid) -> Value {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as f64 / 1e6;
    let domain = recipient.rsplit_once('@').map(|(_, domain)| domain).unwrap_or_default();
    let mut data = json!({
        "event": kind,
        "id": Uuid::new_v4().simple().to_string()[..22],
        "timestamp": seconds,
        "log-level": if kind == "failed" { "error" } else { "info" },
        "recipient": recipient,
        "recipient-domain": domain,
        "envelope": {"sender": "bounce@mg.salespulse.test", "transport": "smtp",
                     "targets": recipient},
        "message": {"headers": {"to": recipient, "from": "SalesPulse <no-reply@mg.salespulse.test>",
                                "subject": "New messages on SalesPulse",
                                "message-id": format!("{batch}@mg.salespulse.test")},
                    "attachments": [], "size": 2048},
        "flags": {"is-authenticated": true, "is-test-mode": false},
        "tags": ["messages"],
        "campaigns": [],
        "user-variables": {"salespulse_batch_id": batch.to_string()},
    });
    match kind {
        "delivered" => {
            data["delivery-status"] = json!({"code": 250, "message": "OK", "description": "",
                                             "attempt-no": 1, "tls": true});
        }
        "failed" => {
            data["severity"] = json!("permanent");
            data["reason"] = json!("bounce");
            data["delivery-status"] = json!({"code": 550, "attempt-no": 1, "description": "",
                "message": "5.1.1 The email account that you tried to reach does not exist"});
        }
        _ => {}
    }
    data
}

/// A delivery of `event_data` signed at `signed_at` with `token` under `key`.
pub fn signed_with(key: &str, signed_at: u64, token: &str, event_data: &Value) -> Value {
    json!({
        "signature": {"timestamp": signed_at.to_string(), "token": token,
                      "signature": mailgun_signature(key, signed_at, token)},
        "event-data": event_data,
    })
}

/// A delivery of `event_data` signed now, with a fresh token, under the hosts' key.
pub fn signed(event_data: &Value) -> Value {
    signed_with(&signing_key(), now(), &fresh_token(), event_data)
}

/// POSTs `body` to `base`'s mailgun-webhook as Mailgun does; answers the status and JSON body.
pub async fn deliver(base: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/functions/v1/mailgun-webhook"))
        .header("content-type", "application/json")
        .header("user-agent", "mailgun/treq-16.12.0")
        .body(body)
        .send()
        .await
        .expect("the host answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// [`deliver`] of a JSON delivery.
pub async fn deliver_json(base: &str, delivery: &Value) -> (u16, Value) {
    deliver(base, delivery.to_string()).await
}
