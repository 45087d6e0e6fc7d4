//! The gateway serves the functions at `/functions/v1/<name>`.

mod support;

#[tokio::test]
async fn health_answers_ok_through_the_gateway() {
    let stack = support::Stack::from_status();
    let response = reqwest::get(format!("{}/functions/v1/health", stack.api_url)).await.unwrap();
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn an_unknown_function_is_a_json_404() {
    let stack = support::Stack::from_status();
    let response = reqwest::get(format!("{}/functions/v1/nope", stack.api_url)).await.unwrap();
    assert_eq!(response.status(), 404);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}
