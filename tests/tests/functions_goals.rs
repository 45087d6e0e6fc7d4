//! `goals-calculate` over HTTP through the local stack's native function host: the plan for a
//! signed-in user, and a JSON 4xx for every kind of bad request.

mod support;

use serde_json::{Value, json};
use shared::testing::hs256;

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn user_token(stack: &support::Stack, exp: u64) -> String {
    hs256(
        &json!({"sub": "6a1f0c9e-7a3b-4b1e-9c55-0d2e4f6a8b10", "aud": "authenticated",
                "role": "authenticated", "email": "rep@example.com", "exp": exp}),
        &stack.jwt_secret,
    )
}

fn example() -> Value {
    support::real_estate_goal(2_000_000)
}

/// POSTs `body` with `token`; answers the status, the JSON body and the response headers.
async fn post(
    stack: &support::Stack,
    body: impl Into<reqwest::Body>,
    token: Option<&str>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/functions/v1/goals-calculate", stack.api_url))
        .header("content-type", "application/json")
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
    (status, body, headers)
}

fn assert_error(answer: &(u16, Value, reqwest::header::HeaderMap), status: u16, code: &str) {
    assert_eq!(
        (answer.0, answer.1["error"]["code"].as_str()),
        (status, Some(code)),
        "{}",
        answer.1
    );
    assert!(answer.1["error"]["message"].is_string(), "{}", answer.1);
    assert_eq!(answer.2["content-type"], "application/json");
}

#[tokio::test]
async fn a_signed_in_user_gets_the_plan() {
    let stack = support::Stack::from_status();
    let token = user_token(&stack, now() + 600);
    let (status, plan, headers) = post(&stack, example().to_string(), Some(&token)).await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["totals"], json!([240, 12, 3]));
    assert_eq!(plan["period"]["working_days"], 21);
    let days = plan["per_day"].as_array().unwrap();
    let calls: u64 = days.iter().map(|d| d["counts"][0].as_u64().unwrap()).sum();
    assert_eq!(calls, 240);
    assert!(headers.contains_key("x-request-id"));
}

#[tokio::test]
async fn the_callers_request_id_comes_back() {
    let stack = support::Stack::from_status();
    let response = reqwest::Client::new()
        .post(format!("{}/functions/v1/goals-calculate", stack.api_url))
        .header("x-request-id", "trace-abc-123")
        .body(example().to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-request-id"], "trace-abc-123");
}

#[tokio::test]
async fn missing_bad_expired_or_non_user_tokens_are_401() {
    let stack = support::Stack::from_status();
    let body = example().to_string();
    assert_error(&post(&stack, body.clone(), None).await, 401, "missing_token");
    assert_error(&post(&stack, body.clone(), Some("not-a-jwt")).await, 401, "invalid_token");
    let forged = hs256(
        &json!({"sub": "6a1f0c9e-7a3b-4b1e-9c55-0d2e4f6a8b10", "aud": "authenticated",
        "role": "authenticated", "exp": now() + 600}),
        "a-different-secret-of-32-characters!",
    );
    assert_error(&post(&stack, body.clone(), Some(&forged)).await, 401, "invalid_token");
    let expired = user_token(&stack, now() - 3600);
    assert_error(&post(&stack, body.clone(), Some(&expired)).await, 401, "token_expired");
    // The anon and service-role keys are valid JWTs but not a signed-in user's.
    assert_error(&post(&stack, body.clone(), Some(&stack.anon_key)).await, 401, "invalid_token");
    assert_error(&post(&stack, body, Some(&stack.service_role_key)).await, 401, "invalid_token");
}

#[tokio::test]
async fn malformed_json_is_400() {
    let stack = support::Stack::from_status();
    let token = user_token(&stack, now() + 600);
    for body in ["{", "", "[1, 2", "{\"income_target_cents\": 1} extra"] {
        assert_error(&post(&stack, body, Some(&token)).await, 400, "invalid_json");
    }
}

#[tokio::test]
async fn wrong_types_missing_fields_and_broken_rules_are_422_naming_the_field() {
    let stack = support::Stack::from_status();
    let token = user_token(&stack, now() + 600);
    let cases: [(&str, Value); 6] = [
        ("income_target_cents", json!({"income_target_cents": "lots"})),
        ("body", json!({"income_target_cents": 5})),
        ("period.kind", json!({"period": {"kind": "fortnight", "start": "2026-01-01"}})),
        (
            "sim.stages[0].conversion_rate",
            json!({"sim": {"average_deal_value_cents": 100,
            "stages": [{"key": "call", "conversion_rate": 2.0}, {"key": "deal"}]}}),
        ),
        ("calendar.working_weekdays", json!({"calendar": {"working_weekdays": []}})),
        ("period.start", json!({"period": {"kind": "quarter", "start": "2026-02-01"}})),
    ];
    for (field, change) in cases {
        let mut body = example();
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        if field == "body" {
            body.as_object_mut().unwrap().remove("sim");
        }
        let answer = post(&stack, body.to_string(), Some(&token)).await;
        assert_error(&answer, 422, "validation_failed");
        let message = answer.1["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{field}: ")), "{message:?} should name {field}");
    }
}

#[tokio::test]
async fn a_huge_body_is_413_before_it_is_read() {
    let stack = support::Stack::from_status();
    let token = user_token(&stack, now() + 600);
    let huge = format!("{{\"pad\": \"{}\"}}", "x".repeat(2 << 20));
    assert_error(&post(&stack, huge, Some(&token)).await, 413, "payload_too_large");
}

#[tokio::test]
async fn other_methods_are_405() {
    let stack = support::Stack::from_status();
    let response =
        reqwest::get(format!("{}/functions/v1/goals-calculate", stack.api_url)).await.unwrap();
    assert_eq!(response.status(), 405);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "method_not_allowed");
}

#[tokio::test]
async fn a_preflight_from_an_unknown_origin_is_refused() {
    let stack = support::Stack::from_status();
    let response = reqwest::Client::new()
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/functions/v1/goals-calculate", stack.api_url),
        )
        .header("origin", "https://evil.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.headers().get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn a_user_signed_up_through_auth_v1_gets_the_plan_with_their_access_token() {
    let stack = support::Stack::from_status();
    let email = format!("goals-{}@example.com", now_nanos());
    let session: Value = reqwest::Client::new()
        .post(format!("{}/auth/v1/signup", stack.api_url))
        .header("apikey", &stack.anon_key)
        .json(&json!({"email": email, "password": "correct-horse-battery-staple"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = session["access_token"].as_str().unwrap_or_else(|| panic!("no session: {session}"));
    let (status, plan, _) = post(&stack, example().to_string(), Some(token)).await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["totals"], json!([240, 12, 3]));
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}
