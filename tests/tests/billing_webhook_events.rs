//! `stripe-webhook` over HTTP with events built and signed the way Stripe builds and signs them:
//! a completed checkout and its subscription (updated delivered before created) activate the
//! plan, seats and add-on; a duplicate changes nothing; the database refuses a seat beyond the
//! paid quantity; a failed payment starts the grace period and, once it is over, makes the
//! organization read-only (session_context) until an invoice is paid; holds follow their payment
//! intent; signed but malformed bodies are answered 2xx and recorded. The whole flow runs on
//! the native host, workerd and the wasi:http host.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::rest::Rest;
use support::stripe::{deliver, event, fresh_id, now};
use support::world::{World, owner};
use uuid::Uuid;

const DAY: u64 = 86_400;

/// A subscription object as Stripe sends it: the plan's item (price with `lookup_key`) with
/// `seats` as quantity, then one item per add-on.
fn subscription(
    id: &str,
    customer: &str,
    org: Uuid,
    status: &str,
    seats: u32,
    add_ons: &[&str],
) -> Value {
    let period_end = now() + 30 * DAY;
    let mut items = vec![json!({
        "id": fresh_id("si"), "object": "subscription_item", "quantity": seats,
        "current_period_end": period_end,
        "price": {"id": fresh_id("price"), "object": "price", "lookup_key": "team", "recurring": {"interval": "month"}},
    })];
    items.extend(add_ons.iter().map(|key| {
        json!({"id": fresh_id("si"), "object": "subscription_item", "quantity": 1,
               "current_period_end": period_end,
               "price": {"id": fresh_id("price"), "object": "price", "lookup_key": key}})
    }));
    json!({
        "id": id, "object": "subscription", "customer": customer, "status": status,
        "cancel_at": null, "cancel_at_period_end": false, "current_period_end": period_end,
        "metadata": {"org_id": org}, "items": {"object": "list", "data": items},
    })
}

fn invoice(subscription: &str, customer: &str) -> Value {
    json!({"id": fresh_id("in"), "object": "invoice", "customer": customer, "subscription": subscription,
           "amount_due": 9800, "currency": "usd"})
}

fn checkout_session(org: Uuid, customer: &str, mode: &str, extra: Value) -> Value {
    let mut session = json!({
        "id": fresh_id("cs_test"), "object": "checkout.session", "mode": mode, "customer": customer,
        "client_reference_id": org, "metadata": {"org_id": org}, "created": now() - 60,
    });
    session.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    session
}

/// A hold's status, amount and whether its deadline is `deadline` (unix seconds).
async fn hold_of(db: &tokio_postgres::Client, intent: &str, deadline: u64) -> String {
    db.query_one(
        "select format('%s %s %s', status, amount_cents, capture_before = to_timestamp($2::bigint))
           from public.payment_holds where stripe_payment_intent_id = $1",
        &[&intent, &(deadline as i64)],
    )
    .await
    .unwrap()
    .get(0)
}

async fn subscription_state(db: &tokio_postgres::Client, org: Uuid) -> String {
    db.query_one(
        "select format('%s %s seats=%s addons=%s', s.status, s.plan_key, s.seats,
                       (select string_agg(add_on_key, ',' order by add_on_key)
                          from public.subscription_add_ons where subscription_id = s.id))
           from public.subscriptions s where s.org_id = $1",
        &[&org],
    )
    .await
    .unwrap()
    .get(0)
}

/// session_context's access for `user`, over PostgREST with the user's token.
async fn access_of(world: &World, user: Uuid) -> Value {
    let answer = Rest::new()
        .send(Method::POST, "rpc/session_context", Some(&world.token(user)), Some(json!({})))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()["access"].clone()
}

async fn a_checkout_activates_the_plan_in_any_order(base: &str) {
    let world = World::new().await;
    let db = owner(&world.stack).await;
    let (customer, sub) = (fresh_id("cus"), fresh_id("sub"));
    let started = now() - 600;

    let completed = event(
        "checkout.session.completed",
        started,
        checkout_session(
            world.org,
            &customer,
            "subscription",
            json!({"subscription": sub, "payment_status": "paid"}),
        ),
    );
    assert_eq!(deliver(base, &completed).await, (200, "applied".into()));

    // Stripe does not promise order: the update arrives first, the creation after it.
    let active = subscription(&sub, &customer, world.org, "active", 2, &["voice_ai_single_sim"]);
    let updated = event("customer.subscription.updated", started + 20, active);
    let created = event(
        "customer.subscription.created",
        started + 10,
        subscription(&sub, &customer, world.org, "incomplete", 1, &[]),
    );
    assert_eq!(deliver(base, &updated).await, (200, "applied".into()));
    assert_eq!(deliver(base, &created).await, (200, "stale".into()));
    let expected = "active team seats=2 addons=voice_ai_single_sim";
    assert_eq!(subscription_state(&db, world.org).await, expected);
    let voice_ai: Value = db
        .query_one("select private.flag_value('voice_ai', $1)", &[&world.rep])
        .await
        .unwrap()
        .get(0);
    assert_eq!(voice_ai, json!(true), "the paid add-on turns its feature on");

    // Stripe's retry of the same delivery is a duplicate and changes nothing.
    assert_eq!(deliver(base, &updated).await, (200, "duplicate".into()));
    assert_eq!(deliver(base, &completed).await, (200, "duplicate".into()));
    assert_eq!(subscription_state(&db, world.org).await, expected);

    // Two seats are paid and two members hold them: the database refuses a third.
    let third = Uuid::new_v4();
    db.execute(
        "insert into auth.users (id, aud, role, email, created_at)
         values ($1, 'authenticated', 'authenticated', $2, now())",
        &[&third, &format!("{third}@seats.test")],
    )
    .await
    .unwrap();
    let refused = db
        .execute(
            "insert into public.memberships (org_id, user_id, role) values ($1, $2, 'rep')",
            &[&world.org, &third],
        )
        .await
        .expect_err("a seat beyond the paid quantity");
    assert_eq!(
        refused.code(),
        Some(&tokio_postgres::error::SqlState::CHECK_VIOLATION),
        "{refused}"
    );

    // A failed payment: past due, in grace, full access with a warning; paid again: clear.
    let failed = event("invoice.payment_failed", started + 30, invoice(&sub, &customer));
    assert_eq!(deliver(base, &failed).await, (200, "applied".into()));
    assert_eq!(
        access_of(&world, world.rep).await,
        json!({"mode": "full", "reason": null, "warnings": ["payment_failed_in_grace"]})
    );
    let paid = event("invoice.paid", started + 40, invoice(&sub, &customer));
    assert_eq!(deliver(base, &paid).await, (200, "applied".into()));
    assert_eq!(access_of(&world, world.rep).await["warnings"], json!([]));

    // Cancellation is final and turns the add-on off.
    let canceled =
        subscription(&sub, &customer, world.org, "canceled", 2, &["voice_ai_single_sim"]);
    let deleted = event("customer.subscription.deleted", started + 50, canceled);
    assert_eq!(deliver(base, &deleted).await, (200, "applied".into()));
    let late = event(
        "customer.subscription.updated",
        started + 60,
        subscription(&sub, &customer, world.org, "active", 2, &[]),
    );
    assert_eq!(deliver(base, &late).await, (200, "stale".into()));
    let voice_ai: Value = db
        .query_one("select private.flag_value('voice_ai', $1)", &[&world.rep])
        .await
        .unwrap()
        .get(0);
    assert_eq!(voice_ai, json!(false), "cancellation turns the add-on's feature off");
}

#[tokio::test]
async fn the_native_host_activates_a_checkout_whatever_the_order() {
    a_checkout_activates_the_plan_in_any_order(&support::Stack::from_status().api_url).await;
}

#[tokio::test]
async fn the_worker_activates_a_checkout_whatever_the_order() {
    if let Ok(base) = std::env::var("WORKERD_URL") {
        a_checkout_activates_the_plan_in_any_order(&base).await;
    }
}

#[tokio::test]
async fn the_spin_component_activates_a_checkout_whatever_the_order() {
    if let Ok(base) = std::env::var("SPIN_URL") {
        a_checkout_activates_the_plan_in_any_order(&base).await;
    }
}

#[tokio::test]
async fn after_the_grace_period_the_organization_is_read_only_until_paid() {
    let base = support::Stack::from_status().api_url;
    let world = World::new().await;
    let (customer, sub) = (fresh_id("cus"), fresh_id("sub"));
    let long_ago = now() - 30 * DAY;
    let created = event(
        "customer.subscription.created",
        long_ago,
        subscription(&sub, &customer, world.org, "active", 5, &[]),
    );
    assert_eq!(deliver(&base, &created).await, (200, "applied".into()));
    // The first failure was 29 days ago: the Team plan's 7 days of grace are long over.
    let failed = event("invoice.payment_failed", long_ago + DAY, invoice(&sub, &customer));
    assert_eq!(deliver(&base, &failed).await, (200, "applied".into()));
    let access = access_of(&world, world.rep).await;
    assert_eq!(
        (&access["mode"], &access["reason"]),
        (&json!("read_only"), &json!("payment_required"))
    );

    let paid = event("invoice.paid", now() - 5, invoice(&sub, &customer));
    assert_eq!(deliver(&base, &paid).await, (200, "applied".into()));
    assert_eq!(access_of(&world, world.rep).await["mode"], "full");
}

#[tokio::test]
async fn a_proof_purchase_is_held_until_its_intent_is_canceled() {
    let base = support::Stack::from_status().api_url;
    let world = World::new().await;
    let db = owner(&world.stack).await;
    let (customer, intent) = (fresh_id("cus"), fresh_id("pi"));
    let intent_created = now() - 120;
    let session = checkout_session(
        world.org,
        &customer,
        "payment",
        json!({"payment_intent": intent, "payment_status": "unpaid", "amount_total": 150000, "currency": "usd"}),
    );
    let payment_intent = |capturable: u64| {
        json!({"id": intent, "object": "payment_intent", "customer": customer, "amount": 150000,
               "amount_capturable": capturable, "currency": "usd", "capture_method": "manual",
               "created": intent_created, "metadata": {"org_id": world.org}})
    };
    // Stripe sends the authorisation before the session's completion; either order works.
    let authorised =
        event("payment_intent.amount_capturable_updated", now() - 60, payment_intent(150000));
    assert_eq!(deliver(&base, &authorised).await, (200, "applied".into()));
    let completed = event("checkout.session.completed", now() - 59, session);
    assert_eq!(deliver(&base, &completed).await, (200, "applied".into()));
    let deadline = intent_created + 7 * DAY;
    assert_eq!(
        hold_of(&db, &intent, deadline).await,
        "requires_capture 150000 t",
        "created + 7 days"
    );

    let canceled = event("payment_intent.canceled", now() - 30, payment_intent(0));
    assert_eq!(deliver(&base, &canceled).await, (200, "applied".into()));
    assert_eq!(deliver(&base, &authorised).await, (200, "duplicate".into()));
    assert!(hold_of(&db, &intent, deadline).await.starts_with("canceled "));
}

#[tokio::test]
async fn signed_but_malformed_bodies_are_recorded_and_answered_2xx() {
    let base = support::Stack::from_status().api_url;
    let db = owner(&support::Stack::from_status()).await;
    let garbage = format!("{{not json {}", Uuid::new_v4()).into_bytes();
    assert_eq!(
        deliver(&base, &garbage).await,
        (200, "malformed".into()),
        "so Stripe stops retrying"
    );
    assert_eq!(deliver(&base, &garbage).await, (200, "duplicate".into()));

    let bad_subscription = event(
        "customer.subscription.updated",
        now(),
        json!({"id": "not-a-subscription", "object": "subscription", "status": "active"}),
    );
    let id = serde_json::from_slice::<Value>(&bad_subscription).unwrap()["id"].to_string();
    assert_eq!(deliver(&base, &bad_subscription).await, (200, "malformed".into()));
    let detail: Option<String> = db
        .query_one(
            "select detail from public.stripe_webhook_events where event_id = $1 and outcome = 'malformed'",
            &[&id.trim_matches('"')],
        )
        .await
        .expect("recorded as malformed")
        .get(0);
    assert!(detail.is_some_and(|reason| reason.contains("sub_")), "the reason is kept for support");

    let unknown =
        event("customer.tax_id.created", now(), json!({"id": "txi_1", "object": "tax_id"}));
    assert_eq!(deliver(&base, &unknown).await, (200, "ignored".into()));
}
