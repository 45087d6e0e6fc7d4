//! The Stripe fake validates like Stripe: secret-key auth, unknown and missing parameters,
//! `lookup_key` uniqueness, Checkout's line-item and mode rules, idempotency keys, and
//! references checked against localstripe (which it fronts for everything else).

use serde_json::Value;

fn fake_url() -> String {
    std::env::var("STRIPE_FAKE_URL").expect("STRIPE_FAKE_URL: scripts/test starts the Stripe fake")
}

const KEY: &str = "sk_test_stripe_fake_tests";

/// `method path` with a form body (POST) or query (GET) and the given key.
async fn stripe(method: &str, path: &str, form: &str, key: Option<&str>) -> (u16, Value) {
    stripe_with(method, path, form, key, None).await
}

async fn stripe_with(
    method: &str,
    path: &str,
    form: &str,
    key: Option<&str>,
    idempotency_key: Option<&str>,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let mut request = if method == "GET" {
        client.get(format!("{}{path}?{form}", fake_url()))
    } else {
        client
            .post(format!("{}{path}", fake_url()))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.to_owned())
    };
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(idempotency_key) = idempotency_key {
        request = request.header("idempotency-key", idempotency_key);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

fn assert_stripe_error(
    answer: &(u16, Value),
    status: u16,
    code: Option<&str>,
    param: Option<&str>,
) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["error"]["code"].as_str(), code, "{body}");
    assert_eq!(body["error"]["param"].as_str(), param, "{body}");
}

fn tag() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    format!("f{}x{}", std::process::id(), nanos.subsec_nanos())
}

async fn product() -> String {
    let (status, product) = stripe("POST", "/v1/products", "name=Fake+test", Some(KEY)).await;
    assert_eq!(status, 200, "{product}");
    product["id"].as_str().unwrap().to_owned()
}

async fn price(product: &str, form: &str) -> Value {
    let (status, price) =
        stripe("POST", "/v1/prices", &format!("product={product}&currency=usd&{form}"), Some(KEY))
            .await;
    assert_eq!(status, 200, "{price}");
    price
}

#[tokio::test]
async fn only_a_secret_key_is_accepted() {
    for key in [None, Some("pk_test_publishable"), Some("sk_live_"), Some("nonsense")] {
        let (status, body) = stripe("GET", "/v1/prices", "", key).await;
        assert_eq!(status, 401, "{key:?}: {body}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    assert_eq!(stripe("GET", "/v1/prices", "limit=1", Some(KEY)).await.0, 200);
}

#[tokio::test]
async fn prices_are_checked_and_lookup_keys_are_unique_unless_transferred() {
    let product = product().await;
    let key = format!("{}_plan", tag());
    assert_stripe_error(
        &stripe("POST", "/v1/prices", &format!("product={product}&unit_amount=5"), Some(KEY)).await,
        400,
        Some("parameter_missing"),
        Some("currency"),
    );
    assert_stripe_error(
        &stripe(
            "POST",
            "/v1/prices",
            &format!("product={product}&currency=usd&unit_amount=5&colour=red"),
            Some(KEY),
        )
        .await,
        400,
        Some("parameter_unknown"),
        Some("colour"),
    );
    assert_stripe_error(
        &stripe("POST", "/v1/prices", "product=prod_missing&currency=usd&unit_amount=5", Some(KEY))
            .await,
        400,
        Some("resource_missing"),
        Some("product"),
    );
    assert_stripe_error(
        &stripe(
            "POST",
            "/v1/prices",
            &format!("product={product}&currency=usd&unit_amount=five"),
            Some(KEY),
        )
        .await,
        400,
        Some("parameter_invalid_integer"),
        Some("unit_amount"),
    );

    let first =
        price(&product, &format!("unit_amount=1000&recurring[interval]=month&lookup_key={key}"))
            .await;
    assert_eq!(
        (first["type"].as_str(), first["lookup_key"].as_str()),
        (Some("recurring"), Some(key.as_str()))
    );
    let taken = stripe(
        "POST",
        "/v1/prices",
        &format!("product={product}&currency=usd&unit_amount=1200&lookup_key={key}"),
        Some(KEY),
    )
    .await;
    assert_stripe_error(&taken, 400, None, Some("lookup_key"));
    assert!(taken.1["error"]["message"].as_str().unwrap().contains("already uses that lookup key"));
    let second = price(
        &product,
        &format!(
            "unit_amount=1200&recurring[interval]=month&lookup_key={key}&transfer_lookup_key=true"
        ),
    )
    .await;

    let (_, found) = stripe("GET", "/v1/prices", &format!("lookup_keys[]={key}"), Some(KEY)).await;
    let ids: Vec<&str> =
        found["data"].as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second["id"].as_str().unwrap()], "the key moved");

    let first_id = first["id"].as_str().unwrap();
    let (status, archived) =
        stripe("POST", &format!("/v1/prices/{first_id}"), "active=false", Some(KEY)).await;
    assert_eq!((status, archived["active"].as_bool()), (200, Some(false)));
    assert_stripe_error(
        &stripe("POST", &format!("/v1/prices/{first_id}"), "unit_amount=1", Some(KEY)).await,
        400,
        Some("parameter_unknown"),
        Some("unit_amount"),
    );
    let (_, inactive) =
        stripe("GET", "/v1/prices", &format!("product={product}&active=false"), Some(KEY)).await;
    assert_eq!(inactive["data"][0]["id"], first_id);
}

#[tokio::test]
async fn checkout_sessions_are_checked_like_stripe_checks_them() {
    let product = product().await;
    let monthly = price(&product, "unit_amount=1000&recurring[interval]=month").await;
    let yearly = price(&product, "unit_amount=9000&recurring[interval]=year").await;
    let once = price(&product, "unit_amount=500").await;
    let (monthly, yearly, once) = (
        monthly["id"].as_str().unwrap(),
        yearly["id"].as_str().unwrap(),
        once["id"].as_str().unwrap(),
    );
    let ok = "success_url=https%3A%2F%2Fapp.test%2Fok";
    let create = |form: String| async move {
        stripe("POST", "/v1/checkout/sessions", &form, Some(KEY)).await
    };

    assert_stripe_error(
        &create(format!("{ok}&line_items[0][price]={monthly}&line_items[0][quantity]=1")).await,
        400,
        Some("parameter_missing"),
        Some("mode"),
    );
    assert_stripe_error(
        &create(format!(
            "mode=subscription&line_items[0][price]={monthly}&line_items[0][quantity]=1"
        ))
        .await,
        400,
        Some("parameter_missing"),
        Some("success_url"),
    );
    assert_stripe_error(
        &create(format!("mode=subscription&{ok}")).await,
        400,
        Some("parameter_missing"),
        Some("line_items"),
    );
    assert_stripe_error(
        &create(format!("mode=subscription&{ok}&line_items[0][price]={monthly}")).await,
        400,
        Some("parameter_missing"),
        Some("line_items[0][quantity]"),
    );
    assert_stripe_error(&create(format!("mode=subscription&{ok}&line_items[0][price]={monthly}&line_items[0][quantity]=1&line_items[0][colour]=red")).await, 400, Some("parameter_unknown"), Some("line_items[0][colour]"));
    assert_stripe_error(
        &create(format!(
            "mode=subscription&{ok}&line_items[0][price]=price_nope&line_items[0][quantity]=1"
        ))
        .await,
        400,
        Some("resource_missing"),
        Some("line_items[0][price]"),
    );
    assert_stripe_error(&create(format!("mode=subscription&{ok}&customer=cus_nobody&line_items[0][price]={monthly}&line_items[0][quantity]=1")).await, 400, Some("resource_missing"), Some("customer"));
    assert_stripe_error(
        &create(format!(
            "mode=payment&{ok}&line_items[0][price]={monthly}&line_items[0][quantity]=1"
        ))
        .await,
        400,
        None,
        Some("line_items"),
    );
    assert_stripe_error(
        &create(format!(
            "mode=subscription&{ok}&line_items[0][price]={once}&line_items[0][quantity]=1"
        ))
        .await,
        400,
        None,
        Some("line_items"),
    );
    assert_stripe_error(&create(format!("mode=subscription&{ok}&line_items[0][price]={monthly}&line_items[0][quantity]=1&line_items[1][price]={yearly}&line_items[1][quantity]=1")).await, 400, None, Some("line_items"));
    assert_stripe_error(&create(format!("mode=subscription&{ok}&line_items[0][price]={monthly}&line_items[0][quantity]=1&payment_intent_data[capture_method]=manual")).await, 400, None, Some("payment_intent_data"));

    // 20 recurring items are accepted in subscription mode, 21 are not.
    let items = |n: usize| {
        (0..n)
            .map(|i| format!("&line_items[{i}][price]={monthly}&line_items[{i}][quantity]=1"))
            .collect::<String>()
    };
    assert_eq!(create(format!("mode=subscription&{ok}{}", items(20))).await.0, 200);
    assert_stripe_error(
        &create(format!("mode=subscription&{ok}{}", items(21))).await,
        400,
        None,
        Some("line_items"),
    );

    let (status, session) = create(format!("mode=payment&{ok}&line_items[0][price]={once}&line_items[0][quantity]=3&payment_intent_data[capture_method]=manual&client_reference_id=org-1&metadata[org_id]=org-1")).await;
    assert_eq!(status, 200, "{session}");
    assert_eq!(
        (
            session["amount_total"].as_i64(),
            session["status"].as_str(),
            session["metadata"]["org_id"].as_str()
        ),
        (Some(1500), Some("open"), Some("org-1"))
    );
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_answer_and_refuses_other_parameters() {
    let product = product().await;
    let key = format!("idem-{}", tag());
    let form = format!("product={product}&currency=usd&unit_amount=700");
    let first = stripe_with("POST", "/v1/prices", &form, Some(KEY), Some(&key)).await;
    let again = stripe_with("POST", "/v1/prices", &form, Some(KEY), Some(&key)).await;
    assert_eq!((first.0, &first.1["id"]), (again.0, &again.1["id"]));
    let other = stripe_with("POST", "/v1/prices", &format!("{form}0"), Some(KEY), Some(&key)).await;
    assert_eq!(
        (other.0, other.1["error"]["type"].as_str()),
        (400, Some("idempotency_error")),
        "{}",
        other.1
    );
}

#[tokio::test]
async fn portal_sessions_need_a_customer_that_localstripe_knows() {
    assert_stripe_error(
        &stripe(
            "POST",
            "/v1/billing_portal/sessions",
            "return_url=https%3A%2F%2Fapp.test",
            Some(KEY),
        )
        .await,
        400,
        Some("parameter_missing"),
        Some("customer"),
    );
    assert_stripe_error(
        &stripe("POST", "/v1/billing_portal/sessions", "customer=cus_nobody", Some(KEY)).await,
        400,
        Some("resource_missing"),
        Some("customer"),
    );
    let (_, customer) =
        stripe("POST", "/v1/customers", "email=portal%40example.test", Some(KEY)).await;
    let id = customer["id"].as_str().expect("localstripe made the customer");
    let (status, session) = stripe(
        "POST",
        "/v1/billing_portal/sessions",
        &format!("customer={id}&return_url=https%3A%2F%2Fapp.test%2Fbilling"),
        Some(KEY),
    )
    .await;
    assert_eq!(
        (status, session["object"].as_str(), session["customer"].as_str()),
        (200, Some("billing_portal.session"), Some(id))
    );
}
