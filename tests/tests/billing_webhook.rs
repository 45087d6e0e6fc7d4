//! `stripe-webhook` over HTTP on every host: a signed `invoice.payment_failed` puts the
//! subscription past due once; the same event again, an older one, and a badly signed one change
//! nothing. `scripts/test` gives the hosts `STRIPE_WEBHOOK_SECRET` and the tests the same value.

mod support;

use serde_json::json;
use shared::testing::stripe_signature_header;
use support::Stack;
use support::stripe::{deliver_signed as deliver, now, webhook_secret};
use support::world::owner;
use uuid::Uuid;

fn payment_failed(subscription: &str, created: u64) -> Vec<u8> {
    json!({
        "id": format!("evt_{}", Uuid::new_v4().simple()),
        "object": "event",
        "type": "invoice.payment_failed",
        "created": created,
        "data": {"object": {"id": "in_test", "object": "invoice", "subscription": subscription}},
    })
    .to_string()
    .into_bytes()
}

/// An active subscription of a new organization; answers its Stripe id.
async fn active_subscription(db: &tokio_postgres::Client) -> String {
    let org = Uuid::new_v4();
    let stripe_id = format!("sub_{}", org.simple());
    db.execute(
        "insert into public.organizations (id, name, slug, kind, plan_key)
         values ($1, 'Billing', $2, 'team', 'team')",
        &[&org, &format!("t-{}", org.simple())],
    )
    .await
    .unwrap();
    db.execute(
        "insert into public.subscriptions (org_id, plan_key, status, stripe_subscription_id)
         values ($1, 'team', 'active', $2)",
        &[&org, &stripe_id],
    )
    .await
    .unwrap();
    stripe_id
}

async fn status_of(db: &tokio_postgres::Client, stripe_id: &str) -> String {
    db.query_one(
        "select status from public.subscriptions where stripe_subscription_id = $1",
        &[&stripe_id],
    )
    .await
    .unwrap()
    .get(0)
}

async fn applies_a_failed_payment_once(base: &str) {
    let stack = Stack::from_status();
    let db = owner(&stack).await;
    let secret = webhook_secret();
    let subscription = active_subscription(&db).await;
    let sent_at = now();
    let event = payment_failed(&subscription, sent_at);

    let forged = stripe_signature_header("whsec_forged", sent_at, &event);
    let (status, body) = deliver(base, &forged, &event).await;
    assert_eq!((status, &body["error"]["code"]), (400, &json!("invalid_signature")), "{body}");
    let stale = stripe_signature_header(&secret, sent_at - 301, &event);
    assert_eq!(deliver(base, &stale, &event).await.0, 400);
    assert_eq!(status_of(&db, &subscription).await, "active", "refused events change nothing");

    let signature = stripe_signature_header(&secret, sent_at, &event);
    let (status, body) = deliver(base, &signature, &event).await;
    assert_eq!((status, &body["outcome"]), (200, &json!("applied")), "{body}");
    assert_eq!(status_of(&db, &subscription).await, "past_due");

    // A retry of the same event is a no-op, even once the state has moved on.
    db.execute(
        "update public.subscriptions set status = 'active' where stripe_subscription_id = $1",
        &[&subscription],
    )
    .await
    .unwrap();
    let (status, body) = deliver(base, &signature, &event).await;
    assert_eq!((status, &body["outcome"]), (200, &json!("duplicate")), "{body}");
    assert_eq!(status_of(&db, &subscription).await, "active");

    // An event Stripe created earlier than the stored state does not overwrite it.
    let older = payment_failed(&subscription, sent_at - 60);
    let (status, body) =
        deliver(base, &stripe_signature_header(&secret, sent_at, &older), &older).await;
    assert_eq!((status, &body["outcome"]), (200, &json!("stale")), "{body}");
    assert_eq!(status_of(&db, &subscription).await, "active");
}

#[tokio::test]
async fn the_native_host_applies_a_signed_failed_payment_once() {
    applies_a_failed_payment_once(&Stack::from_status().api_url).await;
}

#[tokio::test]
async fn the_worker_applies_a_signed_failed_payment_once() {
    if let Ok(base) = std::env::var("WORKERD_URL") {
        applies_a_failed_payment_once(&base).await;
    }
}

#[tokio::test]
async fn the_spin_component_applies_a_signed_failed_payment_once() {
    if let Ok(base) = std::env::var("SPIN_URL") {
        applies_a_failed_payment_once(&base).await;
    }
}
