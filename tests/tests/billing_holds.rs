//! Held pilot payments over HTTP: `billing-checkout` with `kind: "proof"` asks Stripe for a
//! `mode=payment` session whose payment is only authorised; `billing-holds` lists an
//! organization's holds and captures or cancels them at localstripe (real payment intents with
//! `capture_method=manual`); the hourly job, run in-process with its clock set, expires holds
//! near their deadline and warns once before.

mod support;

use serde_json::{Value, json};
use support::world::{Answer, World, owner};
use uuid::Uuid;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name}: scripts/test sets it"))
}

/// `method path` at Stripe (the fake, passing payment intents on to localstripe).
async fn stripe(method: reqwest::Method, path: &str, form: &[(&str, &str)]) -> Value {
    let body = form.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let answer = reqwest::Client::new()
        .request(method, format!("{}{path}", env("STRIPE_FAKE_URL")))
        .bearer_auth(env("STRIPE_SECRET_KEY"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let value: Value = answer.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {value}");
    value
}

/// A payment intent authorised and held in localstripe, as Checkout leaves a proof purchase.
async fn held_payment(amount: u32) -> String {
    let card = stripe(
        reqwest::Method::POST,
        "/v1/payment_methods",
        &[
            ("type", "card"),
            ("card[number]", "4242424242424242"),
            ("card[exp_month]", "12"),
            ("card[exp_year]", "2034"),
            ("card[cvc]", "123"),
        ],
    )
    .await;
    let amount = amount.to_string();
    let intent = stripe(
        reqwest::Method::POST,
        "/v1/payment_intents",
        &[
            ("amount", &amount),
            ("currency", "usd"),
            ("payment_method", card["id"].as_str().unwrap()),
            ("capture_method", "manual"),
            ("confirm", "true"),
        ],
    )
    .await;
    let id = intent["id"].as_str().unwrap().to_owned();
    assert_eq!(intent_status(&id).await, "requires_capture");
    id
}

/// The intent's status once localstripe's charge has settled.
async fn intent_status(id: &str) -> String {
    for _ in 0..50 {
        let intent = stripe(reqwest::Method::GET, &format!("/v1/payment_intents/{id}"), &[]).await;
        let status = intent["status"].as_str().unwrap().to_owned();
        if status != "processing" && status != "requires_confirmation" {
            return status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{id} did not settle");
}

/// A hold of `org` for `intent` whose deadline is `hours` from now, as stripe-webhook records it.
async fn hold(world: &World, org: Uuid, intent: &str, hours: i32) -> Uuid {
    owner(&world.stack)
        .await
        .query_one(
            "insert into public.payment_holds (org_id, stripe_payment_intent_id, amount_cents, description, capture_before)
             values ($1, $2, 14700, 'Pilot', now() + make_interval(hours => $3)) returning id",
            &[&org, &intent, &hours],
        )
        .await
        .unwrap()
        .get(0)
}

async fn hold_row(world: &World, id: Uuid) -> (String, bool) {
    let row = owner(&world.stack)
        .await
        .query_one(
            "select status, warned_at is not null from public.payment_holds where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

async fn settle(world: &World, user: Uuid, id: Uuid, action: &str) -> Answer {
    world.call(user, "POST", "billing-holds", Some(json!({"id": id, "action": action}))).await
}

#[tokio::test]
async fn the_billing_admin_captures_or_cancels_a_hold_once_at_stripe() {
    let world = World::new().await;
    let admin = world.member(world.org, "enterprise_admin").await;
    let (to_capture, to_cancel) = (held_payment(14700).await, held_payment(14700).await);
    let (captured, canceled) = (
        hold(&world, world.org, &to_capture, 100).await,
        hold(&world, world.org, &to_cancel, 100).await,
    );

    let listed = world.call(admin, "GET", "billing-holds", None).await.ok(200);
    let ids: Vec<&str> =
        listed["holds"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{listed}");

    let done = settle(&world, admin, captured, "capture").await.ok(200);
    assert_eq!(done["hold"]["status"], "captured");
    assert_eq!(intent_status(&to_capture).await, "succeeded");
    assert_eq!(
        settle(&world, admin, captured, "capture").await.ok(200)["hold"]["status"],
        "captured",
        "a retry answers it again"
    );
    settle(&world, admin, captured, "cancel").await.error(409, "hold_settled");

    assert_eq!(
        settle(&world, admin, canceled, "cancel").await.ok(200)["hold"]["status"],
        "canceled"
    );
    assert_eq!(intent_status(&to_cancel).await, "canceled");
    settle(&world, admin, canceled, "capture").await.error(409, "hold_settled");
}

#[tokio::test]
async fn only_the_organizations_billing_admin_sees_or_settles_its_holds() {
    let world = World::new().await;
    let intent = held_payment(5000).await;
    let id = hold(&world, world.org, &intent, 100).await;
    for user in [world.rep, world.manager, world.outsider] {
        world.call(user, "GET", "billing-holds", None).await.error(403, "forbidden");
        settle(&world, user, id, "capture").await.error(403, "forbidden");
    }
    let other_org: Uuid = owner(&world.stack)
        .await
        .query_one("select org_id from public.memberships where user_id = $1", &[&world.outsider])
        .await
        .unwrap()
        .get(0);
    let other_admin = world.member(other_org, "enterprise_admin").await;
    settle(&world, other_admin, id, "capture").await.error(404, "not_found");
    assert!(
        world.call(other_admin, "GET", "billing-holds", None).await.ok(200)["holds"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let impersonated = world.token_with(
        world.member(world.org, "enterprise_admin").await,
        json!({"impersonator": Uuid::new_v4(), "read_only": true}),
    );
    world
        .call_with_token(
            &impersonated,
            "POST",
            "billing-holds",
            Some(json!({"id": id, "action": "capture"})),
        )
        .await
        .error(403, "forbidden");
    assert_eq!(hold_row(&world, id).await.0, "requires_capture");
    assert_eq!(intent_status(&intent).await, "requires_capture", "Stripe was not asked");
}

#[tokio::test]
async fn the_hourly_job_expires_holds_near_their_deadline_and_warns_once_before() {
    let world = World::new().await;
    let (near, soon, later) =
        (held_payment(1000).await, held_payment(2000).await, held_payment(3000).await);
    let near_hold = hold(&world, world.org, &near, 1).await;
    let soon_hold = hold(&world, world.org, &soon, 30).await;
    let later_hold = hold(&world, world.org, &later, 24 * 5).await;
    let now = support::rest::now() as u64;

    functions::run_cron("payment-holds-expiry", &world.cron_ctx(now)).await.unwrap();
    assert_eq!(hold_row(&world, near_hold).await, ("expired".into(), false));
    assert_eq!(intent_status(&near).await, "canceled");
    assert_eq!(hold_row(&world, soon_hold).await, ("requires_capture".into(), true), "warned");
    assert_eq!(hold_row(&world, later_hold).await, ("requires_capture".into(), false));

    // A day later the warned hold is near its deadline too; the far one is not yet.
    functions::run_cron("payment-holds-expiry", &world.cron_ctx(now + 25 * 3600)).await.unwrap();
    assert_eq!(hold_row(&world, soon_hold).await.0, "expired");
    assert_eq!(intent_status(&soon).await, "canceled");
    assert_eq!(hold_row(&world, later_hold).await, ("requires_capture".into(), false));
    assert_eq!(intent_status(&later).await, "requires_capture");
}

#[tokio::test]
async fn a_proof_purchase_is_a_payment_held_until_the_admin_captures_it() {
    let world = World::new().await;
    let admin = world.member(world.org, "enterprise_admin").await;
    let body = json!({"kind": "proof", "plan": "team", "seats": 3});
    let session = world.call(admin, "POST", "billing-checkout", Some(body)).await.ok(200);
    let id = session["id"].as_str().unwrap();
    let stored = stripe(reqwest::Method::GET, &format!("/v1/checkout/sessions/{id}"), &[]).await;
    assert_eq!(
        (stored["mode"].as_str(), stored["amount_total"].as_i64()),
        (Some("payment"), Some(3 * 4900))
    );
    assert_eq!(stored["metadata"]["kind"], "proof");
    world
        .call(
            admin,
            "POST",
            "billing-checkout",
            Some(json!({"kind": "proof", "plan": "team",
        "add_ons": [{"key": "voice_ai_single_sim"}]})),
        )
        .await
        .names("add_ons");

    let completed: Value = reqwest::Client::new()
        .post(format!("{}/_test/checkout/sessions/{id}/complete", env("STRIPE_FAKE_URL")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = completed["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["event"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["payment_intent.amount_capturable_updated", "checkout.session.completed"]);
    let intent = completed["session"]["payment_intent"].as_str().unwrap().to_owned();
    let held = stripe(reqwest::Method::GET, &format!("/v1/payment_intents/{intent}"), &[]).await;
    assert_eq!(
        (held["status"].as_str(), held["amount"].as_i64()),
        (Some("requires_capture"), Some(3 * 4900))
    );
    assert_eq!(held["metadata"]["org_id"], world.org.to_string());

    for delivery in completed["deliveries"].as_array().unwrap() {
        assert_eq!(delivery["delivery_status"], 200, "{delivery}");
    }
    // stripe-webhook recorded the hold from those events, for the organization, once.
    let listed = world.call(admin, "GET", "billing-holds", None).await.ok(200);
    let holds = listed["holds"].as_array().unwrap();
    assert_eq!(holds.len(), 1, "{listed}");
    assert_eq!(
        (holds[0]["stripe_payment_intent_id"].as_str(), holds[0]["amount_cents"].as_i64()),
        (Some(intent.as_str()), Some(3 * 4900))
    );
    let hold_id: Uuid = serde_json::from_value(holds[0]["id"].clone()).unwrap();
    assert_eq!(
        settle(&world, admin, hold_id, "capture").await.ok(200)["hold"]["status"],
        "captured"
    );
    assert_eq!(intent_status(&intent).await, "succeeded");
}
