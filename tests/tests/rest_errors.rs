//! `/rest/v1` bad input: each a PostgREST error body with the documented code and status, never
//! a panic or a 500.

mod support;

use reqwest::Method;
use serde_json::json;
use support::rest::{Answer, Rest, now};
use tokio::sync::OnceCell;

static FIXTURE: OnceCell<()> = OnceCell::const_new();

async fn rest() -> Rest {
    let rest = Rest::new();
    FIXTURE
        .get_or_init(|| async {
            rest.fixture(
                "drop table if exists rest_errors_notes cascade;
                 create table rest_errors_notes (id int primary key, body text);
                 insert into rest_errors_notes values (1, 'one');",
                &["rest_errors_notes"],
            )
            .await;
        })
        .await;
    rest
}

#[tokio::test]
async fn a_malformed_filter_is_pgrst100() {
    let rest = rest().await;
    for filter in ["id=foo.1", "id=eq", "id=in.1,2", "or=id.eq.1", "id=is.maybe", "order=id.up"] {
        rest.get(&format!("rest_errors_notes?{filter}")).await.assert_error(400, "PGRST100");
    }
    rest.get("rest_errors_notes?select=id,,body").await.assert_error(400, "PGRST100");
    rest.get("rest_errors_notes?limit=ten").await.assert_error(400, "PGRST100");
}

#[tokio::test]
async fn an_unknown_column_is_postgres_42703() {
    let rest = rest().await;
    let body = rest.get("rest_errors_notes?nope=eq.1").await.assert_error(400, "42703");
    assert_eq!(body["message"], "column rest_errors_notes.nope does not exist");
    rest.get("rest_errors_notes?select=nope").await.assert_error(400, "42703");
}

#[tokio::test]
async fn a_value_of_the_wrong_type_is_22p02() {
    let rest = rest().await;
    rest.get("rest_errors_notes?id=eq.abc").await.assert_error(400, "22P02");
}

#[tokio::test]
async fn an_unknown_table_is_pgrst205() {
    let rest = rest().await;
    let body = rest.get("rest_errors_nowhere").await.assert_error(404, "PGRST205");
    assert_eq!(
        body["message"],
        "Could not find the table 'public.rest_errors_nowhere' in the schema cache"
    );
}

#[tokio::test]
async fn a_filter_on_a_resource_not_embedded_is_pgrst108() {
    let rest = rest().await;
    rest.get("rest_errors_notes?other.id=eq.1").await.assert_error(400, "PGRST108");
}

#[tokio::test]
async fn a_jwt_that_does_not_verify_is_pgrst301() {
    let rest = rest().await;
    let forged = {
        let key = jsonwebtoken::EncodingKey::from_secret(b"not-the-secret-of-this-stack-at-all");
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({"role": "service_role"}),
            &key,
        )
        .unwrap()
    };
    for token in [forged.as_str(), "garbage", "a.b.c"] {
        let answer = rest.send(Method::GET, "rest_errors_notes", Some(token), None).await;
        answer.assert_error(401, "PGRST301");
        assert!(answer.header("www-authenticate").unwrap().starts_with("Bearer"));
    }
}

#[tokio::test]
async fn an_expired_jwt_is_pgrst301_jwt_expired() {
    let rest = rest().await;
    let expired = rest.token(json!({"role": "authenticated", "sub": "x", "exp": now() - 3600}));
    let answer = rest.send(Method::GET, "rest_errors_notes", Some(&expired), None).await;
    let body = answer.assert_error(401, "PGRST301");
    assert_eq!(body["message"], "JWT expired");
    assert_eq!(
        answer.header("www-authenticate"),
        Some("Bearer error=\"invalid_token\", error_description=\"JWT expired\"")
    );
}

#[tokio::test]
async fn a_jwt_whose_role_does_not_exist_is_401() {
    let rest = rest().await;
    let ghost = rest.token(json!({"role": "rest_errors_ghost", "exp": now() + 60}));
    let answer = rest.send(Method::GET, "rest_errors_notes", Some(&ghost), None).await;
    let body = answer.assert_error(401, "22023");
    assert_eq!(body["message"], "role \"rest_errors_ghost\" does not exist");
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let rest = rest().await;
    let body = format!("{{\"id\": 2, \"body\": \"{}\"}}", "x".repeat(2 << 20));
    let answer = rest
        .request(Method::POST, "rest_errors_notes", Some(&rest.stack.service_role_key))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    Answer::from(answer).await.assert_error(413, "PGRST413");
}

#[tokio::test]
async fn a_body_that_is_not_json_is_pgrst102() {
    let rest = rest().await;
    let answer = rest
        .request(Method::POST, "rest_errors_notes", Some(&rest.stack.service_role_key))
        .header("content-type", "application/json")
        .body("{\"id\": ")
        .send()
        .await
        .unwrap();
    let body = Answer::from(answer).await.assert_error(400, "PGRST102");
    assert_eq!(body["message"], "Empty or invalid json");
}

#[tokio::test]
async fn a_body_column_that_does_not_exist_is_pgrst204() {
    let rest = rest().await;
    let service = rest.stack.service_role_key.clone();
    let answer = rest
        .send(Method::POST, "rest_errors_notes", Some(&service), Some(json!({"nope": 1})))
        .await;
    let body = answer.assert_error(400, "PGRST204");
    assert_eq!(
        body["message"],
        "Could not find the 'nope' column of 'rest_errors_notes' in the schema cache"
    );
}

#[tokio::test]
async fn an_unsupported_method_accept_or_range_has_its_own_error() {
    let rest = rest().await;
    let service = rest.stack.service_role_key.clone();
    rest.send(Method::PUT, "rest_errors_notes", Some(&service), Some(json!({})))
        .await
        .assert_error(405, "PGRST117");
    let answer = rest
        .request(Method::GET, "rest_errors_notes", Some(&service))
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    Answer::from(answer).await.assert_error(406, "PGRST107");
    let answer = rest
        .request(Method::GET, "rest_errors_notes", Some(&service))
        .header("Range", "5-1")
        .send()
        .await
        .unwrap();
    Answer::from(answer).await.assert_error(416, "PGRST103");
}

#[tokio::test]
async fn a_cors_preflight_is_answered_for_any_origin() {
    let rest = rest().await;
    let answer = rest
        .http
        .request(Method::OPTIONS, rest.url("rest_errors_notes"))
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "authorization, apikey, content-type")
        .send()
        .await
        .unwrap();
    let answer = Answer::from(answer).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("access-control-allow-origin"), Some("*"));
    assert!(answer.header("access-control-allow-methods").unwrap().contains("POST"));
    assert!(answer.header("access-control-allow-headers").unwrap().contains("apikey"));
}
