//! `GET /auth/v1/user` and `PUT /auth/v1/user`, and how bearer tokens are checked.

mod auth_support;
mod support;

use auth_support::{Auth, PASSWORD, error_of, fresh_email};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn the_user_endpoint_answers_the_tokens_user() {
    let auth = Auth::new();
    let email = fresh_email("me");
    let session = auth.signup(&email).await;
    let response = auth.get_user(session["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200);
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["id"], session["user"]["id"]);
    assert_eq!(user["email"], email);
}

#[tokio::test]
async fn missing_bad_and_expired_tokens_are_refused_as_gotrue_refuses_them() {
    let auth = Auth::new();
    let session = auth.signup(&fresh_email("tokens")).await;

    let none = auth.request(Method::GET, "/user").send().await.unwrap();
    assert_eq!(
        error_of(none).await,
        (401, "no_authorization".into(), "This endpoint requires a Bearer token".into())
    );

    let (status, code, _) = error_of(auth.get_user("garbage").await).await;
    assert_eq!((status, code.as_str()), (403, "bad_jwt"));

    let mut claims = auth.claims(session["access_token"].as_str().unwrap());
    claims["exp"] = json!(1_000_000);
    let (status, code, msg) = error_of(auth.get_user(&auth.sign(&claims)).await).await;
    assert_eq!((status, code.as_str()), (403, "bad_jwt"));
    assert!(msg.contains("token is expired"), "{msg}");

    // A well-signed token for a user that does not exist.
    let mut ghost = auth.claims(session["access_token"].as_str().unwrap());
    ghost["sub"] = json!(uuid::Uuid::new_v4());
    let (status, code, _) = error_of(auth.get_user(&auth.sign(&ghost)).await).await;
    assert_eq!((status, code.as_str()), (403, "user_not_found"));

    // The anon key is a valid JWT but names no user.
    let (status, code, _) = error_of(auth.get_user(&auth.stack.anon_key).await).await;
    assert_eq!((status, code.as_str()), (403, "bad_jwt"));
}

#[tokio::test]
async fn updating_data_merges_it_into_user_metadata() {
    let auth = Auth::new();
    let session = auth.signup(&fresh_email("data")).await;
    let token = session["access_token"].as_str().unwrap();
    let update = |data: Value| {
        auth.request(Method::PUT, "/user").bearer_auth(token).json(&json!({"data": data})).send()
    };
    assert_eq!(update(json!({"a": 1, "b": 2})).await.unwrap().status(), 200);
    let user: Value = update(json!({"b": null, "c": 3})).await.unwrap().json().await.unwrap();
    assert_eq!(user["user_metadata"], json!({"a": 1, "c": 3}));
}

#[tokio::test]
async fn changing_the_password_ends_other_sessions_and_the_new_one_signs_in() {
    let auth = Auth::new();
    let email = fresh_email("newpass");
    let current = auth.signup(&email).await;
    let other: Value = auth.password_grant(&email, PASSWORD).await.json().await.unwrap();
    let token = current["access_token"].as_str().unwrap();

    let same = auth
        .request(Method::PUT, "/user")
        .bearer_auth(token)
        .json(&json!({"password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(same).await.1, "same_password");
    let weak = auth
        .request(Method::PUT, "/user")
        .bearer_auth(token)
        .json(&json!({"password": "123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(weak).await.1, "weak_password");

    let changed = auth
        .request(Method::PUT, "/user")
        .bearer_auth(token)
        .json(&json!({"password": "a-brand-new-one"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_eq!(auth.get_user(token).await.status(), 200);
    let (_, code, _) = error_of(auth.get_user(other["access_token"].as_str().unwrap()).await).await;
    assert_eq!(code, "session_not_found");
    let (_, code, _) = error_of(auth.password_grant(&email, PASSWORD).await).await;
    assert_eq!(code, "invalid_credentials");
    assert_eq!(auth.password_grant(&email, "a-brand-new-one").await.status(), 200);
}

#[tokio::test]
async fn changing_the_email_checks_it_and_keeps_it_unique() {
    let auth = Auth::new();
    let taken = fresh_email("taken");
    auth.signup(&taken).await;
    let session = auth.signup(&fresh_email("mover")).await;
    let token = session["access_token"].as_str().unwrap();
    let put =
        |body: Value| auth.request(Method::PUT, "/user").bearer_auth(token).json(&body).send();

    assert_eq!(error_of(put(json!({"email": "nope"})).await.unwrap()).await.1, "validation_failed");
    assert_eq!(error_of(put(json!({"email": taken})).await.unwrap()).await.1, "email_exists");
    let moved = fresh_email("Moved");
    let user: Value = put(json!({"email": moved})).await.unwrap().json().await.unwrap();
    assert_eq!(user["email"], moved.to_lowercase());
    assert_eq!(user["identities"][0]["identity_data"]["email"], moved.to_lowercase());
    assert_eq!(auth.password_grant(&moved, PASSWORD).await.status(), 200);
}
