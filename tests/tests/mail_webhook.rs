//! `mailgun-webhook` over HTTP on the native host: a signed delivery is recorded; a tampered,
//! stale, future or replayed one is refused and changes nothing; a bounce suppresses its address
//! once; what is not a delivery is a clear 4xx. `scripts/test` gives the hosts
//! `MAILGUN_WEBHOOK_SIGNING_KEY` and the tests the same value. (The WASM hosts: `wasm_hosts.rs`.)

mod support;

use serde_json::{Value, json};
use support::Stack;
use support::mailgun_webhook::{
    deliver, deliver_json, event, fresh_address, fresh_token, now, signed, signed_with, signing_key,
};
use support::world::owner;
use uuid::Uuid;

fn base() -> String {
    Stack::from_status().api_url
}

/// What the database holds about `address`: its events (type, severity, batch) in order, and its
/// suppression (reason), if any.
async fn recorded_about(address: &str) -> (Vec<String>, Option<String>) {
    let db = owner(&Stack::from_status()).await;
    let events = db
        .query(
            "select event || coalesce('/' || severity, '') || coalesce(' batch ' || batch_id, '')
               from public.email_delivery_events where recipient = $1 order by id",
            &[&address],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let suppression = db
        .query_opt("select reason from public.email_suppressions where address = $1", &[&address])
        .await
        .unwrap()
        .map(|row| row.get(0));
    (events, suppression)
}

async fn tokens_kept(tokens: &[&str]) -> i64 {
    let db = owner(&Stack::from_status()).await;
    let tokens: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
    db.query_one(
        "select count(*) from public.mailgun_webhook_tokens where token = any($1)",
        &[&tokens],
    )
    .await
    .unwrap()
    .get(0)
}

fn code(answer: &(u16, Value)) -> (u16, &str) {
    (answer.0, answer.1["error"]["code"].as_str().unwrap_or(""))
}

#[tokio::test]
async fn a_signed_delivery_is_accepted_and_recorded() {
    let address = fresh_address("delivered");
    let batch = Uuid::new_v4();
    let answer = deliver_json(&base(), &signed(&event("delivered", &address, batch))).await;
    assert_eq!(answer, (200, json!({"received": true, "outcome": "recorded"})));
    assert_eq!(recorded_about(&address).await, (vec![format!("delivered batch {batch}")], None));
}

#[tokio::test]
async fn tampered_stale_and_future_deliveries_are_refused_and_change_nothing() {
    let address = fresh_address("refused");
    let bounce = event("failed", &address, Uuid::new_v4());
    let (key, now) = (signing_key(), now());
    let token = fresh_token();
    let genuine = signed_with(&key, now, &token, &bounce);

    let mut forged_digest = genuine.clone();
    forged_digest["signature"]["signature"] =
        json!(shared::testing::mailgun_signature("not-our-key", now, &token));
    let mut other_timestamp = genuine.clone();
    other_timestamp["signature"]["timestamp"] = json!((now - 60).to_string());
    let other_token = fresh_token();
    let mut tampered_token = genuine.clone();
    tampered_token["signature"]["token"] = json!(other_token);
    let (stale_token, future_token) = (fresh_token(), fresh_token());
    let stale = signed_with(&key, now - 9 * 3600 - 60, &stale_token, &bounce);
    let future = signed_with(&key, now + 600, &future_token, &bounce);

    for (delivery, expected) in [
        (forged_digest, (401, "invalid_signature")),
        (other_timestamp, (401, "invalid_signature")),
        (tampered_token, (401, "invalid_signature")),
        (stale, (406, "stale_signature")),
        (future, (401, "timestamp_ahead")),
    ] {
        let answer = deliver_json(&base(), &delivery).await;
        assert_eq!(code(&answer), expected, "{delivery}: {}", answer.1);
    }
    assert_eq!(recorded_about(&address).await, (vec![], None), "nothing recorded or suppressed");
    assert_eq!(tokens_kept(&[&token, &other_token, &stale_token, &future_token]).await, 0);
}

#[tokio::test]
async fn a_replayed_token_is_refused_with_its_own_event_or_another() {
    let address = fresh_address("replayed");
    let victim = fresh_address("victim");
    let delivered = signed(&event("delivered", &address, Uuid::new_v4()));
    assert_eq!(deliver_json(&base(), &delivered).await.0, 200);

    let replay = deliver_json(&base(), &delivered).await;
    assert_eq!(code(&replay), (406, "token_reused"), "{}", replay.1);
    // Mailgun signs the timestamp and token, not the event: a captured signature carrying a
    // made-up bounce is refused by its token.
    let mut swapped = delivered.clone();
    swapped["event-data"] = event("failed", &victim, Uuid::new_v4());
    let answer = deliver_json(&base(), &swapped).await;
    assert_eq!(code(&answer), (406, "token_reused"), "{}", answer.1);

    assert_eq!(recorded_about(&address).await.0.len(), 1, "recorded once");
    assert_eq!(recorded_about(&victim).await, (vec![], None), "the swapped event had no effect");
}

#[tokio::test]
async fn concurrent_deliveries_of_one_token_are_accepted_once() {
    let address = fresh_address("concurrent");
    let delivery = signed(&event("failed", &address, Uuid::new_v4()));
    let sends: Vec<_> = (0..6)
        .map(|_| {
            let (base, delivery) = (base(), delivery.clone());
            tokio::spawn(async move { deliver_json(&base, &delivery).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for send in sends {
        statuses.push(send.await.unwrap().0);
    }
    statuses.sort();
    assert_eq!(statuses, [200, 406, 406, 406, 406, 406]);
    assert_eq!(recorded_about(&address).await.0.len(), 1);
}

#[tokio::test]
async fn a_bounce_suppresses_the_address_and_the_same_event_again_changes_nothing() {
    let address = fresh_address("bounced");
    let batch = Uuid::new_v4();
    let bounce = event("failed", &address, batch);
    let answer = deliver_json(&base(), &signed(&bounce)).await;
    assert_eq!(answer, (200, json!({"received": true, "outcome": "suppressed"})));
    let after_first = recorded_about(&address).await;
    assert_eq!(
        after_first,
        (vec![format!("failed/permanent batch {batch}")], Some("bounced".to_owned()))
    );
    let db = owner(&Stack::from_status()).await;
    let suppressed_at =
        "select created_at::text, detail from public.email_suppressions where address = $1";
    let first: (String, String) =
        db.query_one(suppressed_at, &[&address]).await.map(|r| (r.get(0), r.get(1))).unwrap();
    assert!(first.1.contains("550 5.1.1"), "the suppression keeps Mailgun's answer: {first:?}");

    // Mailgun may send the same event again under a new signature: nothing changes.
    let again = deliver_json(&base(), &signed(&bounce)).await;
    assert_eq!(again, (200, json!({"received": true, "outcome": "duplicate"})));
    assert_eq!(recorded_about(&address).await, after_first);
    let second: (String, String) =
        db.query_one(suppressed_at, &[&address]).await.map(|r| (r.get(0), r.get(1))).unwrap();
    assert_eq!(second, first);
}

#[tokio::test]
async fn a_complaint_suppresses_and_a_temporary_failure_does_not() {
    let (complained, deferred) = (fresh_address("complained"), fresh_address("deferred"));
    let complaint = signed(&event("complained", &complained, Uuid::new_v4()));
    assert_eq!(deliver_json(&base(), &complaint).await.1["outcome"], "suppressed");
    assert_eq!(recorded_about(&complained).await.1.as_deref(), Some("complained"));

    let mut temporary = event("failed", &deferred, Uuid::new_v4());
    temporary["severity"] = json!("temporary");
    temporary["reason"] = json!("generic");
    assert_eq!(deliver_json(&base(), &signed(&temporary)).await.1["outcome"], "recorded");
    assert_eq!(recorded_about(&deferred).await.1, None, "Mailgun retries a temporary failure");
}

#[tokio::test]
async fn an_unsubscribe_turns_off_the_accounts_message_emails() {
    let db = owner(&Stack::from_status()).await;
    let user = Uuid::new_v4();
    let address = format!("{user}@mailhook.test");
    db.execute(
        "insert into auth.users (id, aud, role, email, created_at)
         values ($1, 'authenticated', 'authenticated', $2, now())",
        &[&user, &address],
    )
    .await
    .unwrap();
    let unsubscribed = event("unsubscribed", &address.to_uppercase(), Uuid::new_v4());
    assert_eq!(deliver_json(&base(), &signed(&unsubscribed)).await.1["outcome"], "recorded");
    let wanted: bool = db
        .query_one(
            "select email_on_message from public.notification_preferences where user_id = $1",
            &[&user],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!wanted);
}

#[tokio::test]
async fn what_is_not_a_readable_delivery_is_a_clear_4xx_and_changes_nothing() {
    let base = base();
    let broken = deliver(&base, "{\"signature\": {\"token\": ").await;
    assert_eq!(code(&broken), (400, "invalid_json"), "{}", broken.1);
    let unsigned = deliver_json(&base, &json!({"event-data": {"event": "delivered"}})).await;
    assert_eq!(code(&unsigned), (422, "validation_failed"), "{}", unsigned.1);

    let address = fresh_address("unreadable");
    let mut no_severity = event("failed", &address, Uuid::new_v4());
    no_severity.as_object_mut().unwrap().remove("severity");
    let unreadable = deliver_json(&base, &signed(&no_severity)).await;
    assert_eq!(code(&unreadable), (406, "invalid_event"), "{}", unreadable.1);
    assert_eq!(recorded_about(&address).await, (vec![], None));

    let opened = deliver_json(&base, &signed(&event("opened", &address, Uuid::new_v4()))).await;
    assert_eq!(opened, (200, json!({"received": true, "outcome": "ignored"})));

    let get = reqwest::get(format!("{base}/functions/v1/mailgun-webhook")).await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
}
