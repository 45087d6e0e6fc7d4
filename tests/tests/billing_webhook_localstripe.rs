//! localstripe (started by `scripts/test`, `LOCALSTRIPE_URL`) delivers its own signed webhooks to
//! the running `stripe-webhook`: a subscription it creates and charges becomes the organization's
//! plan and seats, an asynchronous payment failure (SEPA) and the cancellation it causes end in
//! a canceled subscription, and capturing a manual-capture payment intent captures the hold.
//!
//! What localstripe 1.15 cannot send, the test sends signed as Stripe would (see README):
//! it has no `payment_intent.amount_capturable_updated`, `payment_intent.canceled`,
//! `customer.subscription.updated` or `invoice.paid` (it sends `invoice.payment_succeeded`),
//! only one item per subscription (no add-ons), and no Prices (its legacy Plans, whose ids
//! Stripe also accepts as price ids, stand in: the plan row's `stripe_price_id` matches them).

mod support;

use std::time::Duration;

use serde_json::{Value, json};
use support::Stack;
use support::stripe::{deliver, event, now, webhook_secret};
use support::world::{World, owner};
use uuid::Uuid;

const SECRET_KEY: &str = "sk_test_salespulse";

fn localstripe_url() -> String {
    std::env::var("LOCALSTRIPE_URL")
        .expect("LOCALSTRIPE_URL: scripts/test starts localstripe and sets it")
}

/// `application/x-www-form-urlencoded`, every byte but the unreserved ones percent-encoded.
fn form_encoded(pairs: &[(&str, String)]) -> String {
    let encode = |text: &str| {
        text.bytes()
            .map(|byte| match byte {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (byte as char).to_string()
                }
                _ => format!("%{byte:02X}"),
            })
            .collect::<String>()
    };
    pairs
        .iter()
        .map(|(key, value)| format!("{}={}", encode(key), encode(value)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A form-encoded POST to localstripe's Stripe API, as Stripe's libraries send it.
async fn stripe_post(path: &str, form: &[(&str, String)]) -> Value {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/{path}", localstripe_url()))
        .bearer_auth(SECRET_KEY)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_encoded(form))
        .send()
        .await
        .expect("localstripe answers");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "POST /v1/{path}: {status} {body}");
    body
}

async fn stripe_delete(path: &str) -> Value {
    let response = reqwest::Client::new()
        .delete(format!("{}/v1/{path}", localstripe_url()))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .expect("localstripe answers");
    assert!(response.status().is_success(), "DELETE /v1/{path}: {}", response.status());
    response.json().await.unwrap()
}

/// localstripe delivers every event of these types to the native host's stripe-webhook, signed
/// with the endpoint secret the hosts verify.
async fn deliver_to_our_webhook(api_url: &str) {
    let events = [
        "customer.subscription.created",
        "customer.subscription.deleted",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "payment_intent.succeeded",
    ];
    let configured = reqwest::Client::new()
        .post(format!(
            "{}/_config/webhooks/salespulse-{}",
            localstripe_url(),
            Uuid::new_v4().simple()
        ))
        .json(&json!({"url": format!("{api_url}/functions/v1/stripe-webhook"),
                      "secret": webhook_secret(), "events": events}))
        .send()
        .await
        .expect("localstripe answers");
    assert!(configured.status().is_success(), "{}", configured.status());
}

/// A customer paying by `card` (or SEPA debit with `iban`), the method attached as default.
async fn payment_method(customer: &str, card: Option<&str>, iban: Option<&str>) -> String {
    let form: Vec<(&str, String)> = match (card, iban) {
        (Some(number), _) => vec![
            ("type", "card".into()),
            ("card[number]", number.into()),
            ("card[exp_month]", "12".into()),
            ("card[exp_year]", "2030".into()),
            ("card[cvc]", "123".into()),
        ],
        (_, Some(iban)) => vec![("type", "sepa_debit".into()), ("sepa_debit[iban]", iban.into())],
        _ => unreachable!("a card or an IBAN"),
    };
    let id = stripe_post("payment_methods", &form).await["id"].as_str().unwrap().to_string();
    stripe_post(&format!("payment_methods/{id}/attach"), &[("customer", customer.into())]).await;
    stripe_post(
        &format!("customers/{customer}"),
        &[("invoice_settings[default_payment_method]", id.clone())],
    )
    .await;
    id
}

/// Polls `sql` (one text column, `$1` = `param`) until it answers `expected`; localstripe sends
/// about a second after the change.
async fn eventually(db: &tokio_postgres::Client, sql: &str, param: &str, expected: &str) {
    let mut last = None;
    for _ in 0..60 {
        last = db.query_opt(sql, &[&param]).await.unwrap().map(|row| row.get::<_, String>(0));
        if last.as_deref() == Some(expected) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("{sql} with {param}: still {last:?}, expected {expected}");
}

#[tokio::test]
async fn localstripe_deliveries_drive_the_subscription_and_the_hold() {
    let stack = Stack::from_status();
    deliver_to_our_webhook(&stack.api_url).await;
    let world = World::new().await;
    let db = owner(&stack).await;
    let tag = Uuid::new_v4().simple().to_string();
    let (plan_key, price_id) = (format!("ls_{tag}"), format!("price_ls_{tag}"));
    db.execute(
        "insert into public.plans (key, name, price_cents, billing_interval, max_users, max_sims, stripe_price_id, active)
         values ($1, 'localstripe plan', 4900, 'month', 10, 2, $2, false)",
        &[&plan_key, &price_id],
    )
    .await
    .unwrap();
    stripe_post(
        "plans",
        &[
            ("id", price_id.clone()),
            ("amount", "4900".into()),
            ("currency", "usd".into()),
            ("interval", "month".into()),
            ("product[name]", format!("SalesPulse {tag}")),
        ],
    )
    .await;
    let customer =
        stripe_post("customers", &[("email", format!("billing-{tag}@example.com"))]).await;
    let customer = customer["id"].as_str().unwrap().to_string();
    let card = payment_method(&customer, Some("4242424242424242"), None).await;

    // The subscription, charged at once: localstripe sends customer.subscription.created.
    let subscription = stripe_post(
        "subscriptions",
        &[
            ("customer", customer.clone()),
            ("items[0][plan]", price_id.clone()),
            ("items[0][quantity]", "3".into()),
            ("metadata[org_id]", world.org.to_string()),
        ],
    )
    .await;
    let sub_id = subscription["id"].as_str().unwrap().to_string();
    let state = "select s.status || ' ' || s.plan_key || ' ' || s.seats || ' ' || o.plan_key
                 from public.subscriptions s join public.organizations o on o.id = s.org_id
                where s.stripe_subscription_id = $1";
    eventually(&db, state, &sub_id, &format!("active {plan_key} 3 {plan_key}")).await;
    let linked: String = db
        .query_one(
            "select stripe_customer_id from public.stripe_customers where org_id = $1",
            &[&world.org],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(linked, customer, "the subscription's metadata linked the customer");

    // The next invoice fails asynchronously (SEPA): localstripe sends invoice.payment_failed and
    // cancels the subscription (customer.subscription.deleted), in either order.
    payment_method(&customer, None, Some("DE62370400440532013001")).await;
    let invoice = stripe_post(
        "invoices",
        &[("customer", customer.clone()), ("subscription", sub_id.clone())],
    )
    .await;
    stripe_post(&format!("invoices/{}/pay", invoice["id"].as_str().unwrap()), &[]).await;
    eventually(&db, state, &sub_id, &format!("canceled {plan_key} 3 {plan_key}")).await;
    eventually(
        &db,
        "select string_agg(type, ',' order by type) from public.stripe_webhook_events
          where payload -> 'data' -> 'object' ->> 'subscription' = $1 and type like 'invoice.payment_%'",
        &sub_id,
        "invoice.payment_failed,invoice.payment_succeeded",
    )
    .await;

    // A manual-capture payment intent: authorised in localstripe; its amount_capturable_updated
    // (which localstripe does not send) delivered as Stripe sends it; the capture in localstripe
    // then sends payment_intent.succeeded.
    let intent = stripe_post(
        "payment_intents",
        &[
            ("amount", "50000".into()),
            ("currency", "usd".into()),
            ("customer", customer.clone()),
            ("payment_method", card),
            ("capture_method", "manual".into()),
            ("confirm", "true".into()),
            ("metadata[org_id]", world.org.to_string()),
        ],
    )
    .await;
    assert_eq!(intent["status"], "requires_capture", "{intent}");
    let mut authorised = intent.clone();
    authorised["amount_capturable"] = json!(50000);
    let authorised = event("payment_intent.amount_capturable_updated", now(), authorised);
    assert_eq!(deliver(&stack.api_url, &authorised).await, (200, "applied".into()));
    let intent_id = intent["id"].as_str().unwrap().to_string();
    let hold = "select status || ' ' || amount_cents from public.payment_holds
                 where stripe_payment_intent_id = $1";
    eventually(&db, hold, &intent_id, "requires_capture 50000").await;
    let deadline: i64 = db
        .query_one(
            "select extract(epoch from capture_before)::bigint from public.payment_holds where stripe_payment_intent_id = $1",
            &[&intent_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(deadline, intent["created"].as_i64().unwrap() + 7 * 86_400, "created + 7 days");

    stripe_post(&format!("payment_intents/{intent_id}/capture"), &[]).await;
    eventually(
        &db,
        "select status from public.payment_holds where stripe_payment_intent_id = $1",
        &intent_id,
        "captured",
    )
    .await;
    stripe_delete(&format!("customers/{customer}")).await;
}
