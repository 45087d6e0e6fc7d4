//! `billing-checkout` and `billing-portal` over HTTP through the local stack, against the Stripe
//! fake (Checkout, portal, prices; `STRIPE_FAKE_URL`) and localstripe behind it (customers).
//! scripts/test has run the plan sync, so the catalogue's prices exist and their ids are in the
//! plans tables. What Stripe received is read back from Stripe's own API.

mod support;

use serde_json::{Value, json};
use support::world::{Answer, World, owner};
use uuid::Uuid;

fn fake_url() -> String {
    std::env::var("STRIPE_FAKE_URL").expect("STRIPE_FAKE_URL: scripts/test starts the Stripe fake")
}

fn stripe_key() -> String {
    std::env::var("STRIPE_SECRET_KEY").expect("STRIPE_SECRET_KEY: scripts/test sets it")
}

/// `GET path` from Stripe (the fake, which passes customers on to localstripe).
async fn stripe_get(path: &str) -> Value {
    let answer = reqwest::Client::new()
        .get(format!("{}{path}", fake_url()))
        .bearer_auth(stripe_key())
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{path}: {}", answer.status());
    answer.json().await.unwrap()
}

async fn price_id(world: &World, table: &str, key: &str) -> String {
    owner(&world.stack)
        .await
        .query_one(&format!("select stripe_price_id from public.{table} where key = $1"), &[&key])
        .await
        .unwrap()
        .get::<_, Option<String>>(0)
        .expect("the plan sync wrote the price id")
}

async fn customers_of(world: &World, org: Uuid) -> Vec<String> {
    owner(&world.stack)
        .await
        .query("select stripe_customer_id from public.stripe_customers where org_id = $1", &[&org])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// `POST billing-checkout` as `user`, with an Idempotency-Key when given.
async fn checkout(world: &World, user: Uuid, body: Value, key: Option<&str>) -> Answer {
    let mut request = world
        .http
        .post(format!("{}/functions/v1/billing-checkout", world.stack.api_url))
        .bearer_auth(world.token(user))
        .json(&body);
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.json().await.unwrap();
    Answer { status, body }
}

#[tokio::test]
async fn checkout_asks_stripe_for_the_plan_with_its_seats_the_add_ons_and_the_organization() {
    let world = World::new().await;
    let admin = world.member(world.org, "enterprise_admin").await;
    let body = json!({"plan": "team", "seats": 7,
                      "add_ons": [{"key": "voice_ai_three_sims", "quantity": 2}]});
    let answer = checkout(&world, admin, body, Some("first-try")).await.ok(200);
    let session_id = answer["id"].as_str().unwrap();
    assert!(answer["url"].as_str().unwrap().contains(session_id), "{answer}");
    assert_eq!((answer["plan"].as_str(), answer["seats"].as_u64()), (Some("team"), Some(7)));

    let customers = customers_of(&world, world.org).await;
    assert_eq!(customers, [answer["customer"].as_str().unwrap()], "one customer, recorded");
    let customer = stripe_get(&format!("/v1/customers/{}", customers[0])).await;
    assert_eq!(customer["metadata"]["org_id"], world.org.to_string(), "{customer}");

    let session = stripe_get(&format!("/v1/checkout/sessions/{session_id}")).await;
    let org = world.org.to_string();
    assert_eq!(session["mode"], "subscription");
    assert_eq!(session["customer"], customers[0].as_str());
    assert_eq!(session["client_reference_id"], org.as_str());
    assert_eq!(session["metadata"]["org_id"], org.as_str());
    assert_eq!(session["success_url"], std::env::var("BILLING_SUCCESS_URL").unwrap().as_str());
    assert_eq!(session["cancel_url"], std::env::var("BILLING_CANCEL_URL").unwrap().as_str());

    let items = stripe_get(&format!("/v1/checkout/sessions/{session_id}/line_items")).await;
    let bought: Vec<(String, u64)> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|li| {
            (li["price"]["id"].as_str().unwrap().to_owned(), li["quantity"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(
        bought,
        [
            (price_id(&world, "plans", "team").await, 7),
            (price_id(&world, "add_ons", "voice_ai_three_sims").await, 2)
        ]
    );
    assert_eq!(session["amount_total"], 7 * 4900 + 2 * 4700);
}

#[tokio::test]
async fn the_same_idempotency_key_answers_the_same_session_and_the_customer_is_made_once() {
    let world = World::new().await;
    let admin = world.member(world.org, "enterprise_admin").await;
    let body = json!({"plan": "team"});
    let first = checkout(&world, admin, body.clone(), Some("retry-me")).await.ok(200);
    let again = checkout(&world, admin, body.clone(), Some("retry-me")).await.ok(200);
    assert_eq!(first["id"], again["id"], "a retry gets the same session");
    let other = checkout(&world, admin, body, Some("another-purchase")).await.ok(200);
    assert_ne!(first["id"], other["id"]);
    assert_eq!(first["customer"], other["customer"], "the customer is reused");
    assert_eq!(customers_of(&world, world.org).await.len(), 1);

    let reused =
        checkout(&world, admin, json!({"plan": "team", "seats": 9}), Some("retry-me")).await;
    reused.error(409, "idempotency_key_reused");
    checkout(&world, admin, json!({"plan": "team"}), Some("two words"))
        .await
        .error(400, "invalid_idempotency_key");
}

#[tokio::test]
async fn concurrent_first_purchases_share_one_customer() {
    let world = World::new().await;
    let admin = world.member(world.org, "enterprise_admin").await;
    let (a, b, c) = tokio::join!(
        checkout(&world, admin, json!({"plan": "team"}), Some("race-a")),
        checkout(&world, admin, json!({"plan": "team"}), Some("race-b")),
        checkout(&world, admin, json!({"plan": "team_annual"}), Some("race-c")),
    );
    let customers: Vec<Value> =
        [a, b, c].into_iter().map(|answer| answer.ok(200)["customer"].clone()).collect();
    assert!(customers.windows(2).all(|w| w[0] == w[1]), "{customers:?}");
    assert_eq!(customers_of(&world, world.org).await, [customers[0].as_str().unwrap()]);
}

#[tokio::test]
async fn only_the_billing_admin_in_their_own_session_may_buy_or_open_the_portal() {
    let world = World::new().await;
    let admin = world.member(world.org, "enterprise_admin").await;
    let enterprise_tm = world.member(world.org, "enterprise_tm").await;
    for user in [world.rep, world.manager, enterprise_tm, world.outsider] {
        checkout(&world, user, json!({"plan": "team"}), None).await.error(403, "forbidden");
        world.call(user, "POST", "billing-portal", None).await.error(403, "forbidden");
    }
    let impersonated =
        world.token_with(admin, json!({"impersonator": Uuid::new_v4(), "read_only": true}));
    world
        .call_with_token(&impersonated, "POST", "billing-checkout", Some(json!({"plan": "team"})))
        .await
        .error(403, "forbidden");
    let anonymous = world
        .http
        .post(format!("{}/functions/v1/billing-checkout", world.stack.api_url))
        .json(&json!({"plan": "team"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(customers_of(&world, world.org).await.is_empty(), "no refused call made a customer");
}

#[tokio::test]
async fn a_purchase_must_fit_the_catalogue_and_the_organization() {
    let world = World::new().await;
    let admin = world.member(world.org, "enterprise_admin").await;
    // rep, manager and admin: three members.
    checkout(&world, admin, json!({"plan": "team", "seats": 2}), None).await.names("seats");
    checkout(&world, admin, json!({"plan": "solo"}), None).await.names("seats");
    checkout(&world, admin, json!({"plan": "platinum"}), None).await.names("plan");
    let annual = json!({"plan": "team_annual", "add_ons": [{"key": "voice_ai_single_sim"}]});
    checkout(&world, admin, annual, None).await.names("add_ons[0]");
    checkout(&world, admin, json!({"plan": "team", "add_ons": [{"key": "ghost"}]}), None)
        .await
        .names("add_ons[0]");
    checkout(&world, admin, json!({"plan": "team", "discount": 100}), None).await.names("discount");
    assert!(customers_of(&world, world.org).await.is_empty(), "nothing was bought");
}

#[tokio::test]
async fn the_portal_opens_for_an_organization_that_has_a_customer() {
    let world = World::new().await;
    let admin = world.member(world.org, "enterprise_admin").await;
    world.call(admin, "POST", "billing-portal", None).await.error(404, "no_billing_account");
    let bought = checkout(&world, admin, json!({"plan": "team"}), None).await.ok(200);
    let portal = world.call(admin, "POST", "billing-portal", None).await.ok(200);
    let url = portal["url"].as_str().unwrap();
    assert!(url.starts_with(&fake_url()), "{url}");
    assert!(bought["customer"].is_string());
}

#[tokio::test]
async fn completing_the_session_delivers_signed_events_that_stripe_webhook_records_once() {
    let world = World::new().await;
    let admin = world.member(world.org, "enterprise_admin").await;
    let session = checkout(&world, admin, json!({"plan": "team", "seats": 4}), None).await.ok(200);
    let id = session["id"].as_str().unwrap();
    let complete = |url: String| async move {
        reqwest::Client::new().post(url).send().await.unwrap().json::<Value>().await.unwrap()
    };
    let completed = complete(format!("{}/_test/checkout/sessions/{id}/complete", fake_url())).await;
    let deliveries = completed["deliveries"].as_array().expect("deliveries");
    let kinds: Vec<&str> =
        deliveries.iter().map(|d| d["event"]["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["customer.subscription.created", "invoice.paid", "checkout.session.completed"]
    );
    for delivery in deliveries {
        assert_eq!(delivery["delivery_status"], 200, "stripe-webhook accepted {delivery}");
    }
    let subscription = &deliveries[0]["event"]["data"]["object"];
    assert_eq!(subscription["metadata"]["org_id"], world.org.to_string());
    assert_eq!(subscription["items"]["data"][0]["quantity"], 4);
    assert_eq!(subscription["customer"], session["customer"]);

    // The ledger holds each event once; a session completes once.
    let ids: Vec<String> =
        deliveries.iter().map(|d| d["event"]["id"].as_str().unwrap().to_owned()).collect();
    let recorded: i64 = owner(&world.stack)
        .await
        .query_one(
            "select count(*) from public.stripe_webhook_events where event_id = any($1)",
            &[&ids],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(recorded, 3);
    // stripe-webhook applied them: the organization is on the plan it paid for, with its seats.
    let row = owner(&world.stack)
        .await
        .query_one(
            "select plan_key, status, seats, stripe_subscription_id from public.subscriptions where org_id = $1",
            &[&world.org],
        )
        .await
        .unwrap();
    let (plan, status, seats, subscription_id): (String, String, i32, Option<String>) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!((plan.as_str(), status.as_str(), seats), ("team", "active", 4));
    assert_eq!(subscription_id.as_deref(), subscription["id"].as_str());
    let again = complete(format!("{}/_test/checkout/sessions/{id}/complete", fake_url())).await;
    assert_eq!(again["error"]["message"], "This Checkout Session is no longer open.");
}
