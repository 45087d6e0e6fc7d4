//! `/auth/v1/signup`, the gateway's `apikey` check, `/settings` and `/health`, and the shape of
//! the session and its access token.

mod auth_support;
mod support;

use auth_support::{Auth, PASSWORD, error_of, fresh_email};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn signup_returns_a_session_with_a_supabase_shaped_token() {
    let auth = Auth::new();
    let email = fresh_email("Signup");
    let response = auth
        .request(Method::POST, "/signup")
        .json(&json!({"email": email, "password": PASSWORD, "data": {"full_name": "Ann"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let session: serde_json::Value = response.json().await.unwrap();
    assert_eq!(session["token_type"], "bearer");
    assert_eq!(session["expires_in"], 3600);
    assert_eq!(session["refresh_token"].as_str().unwrap().len(), 12);
    let user = &session["user"];
    assert_eq!(user["email"], email.to_lowercase());
    assert_eq!(user["aud"], "authenticated");
    assert_eq!(user["role"], "authenticated");
    assert_eq!(user["user_metadata"], json!({"full_name": "Ann"}));
    assert_eq!(user["app_metadata"], json!({"provider": "email", "providers": ["email"]}));
    assert_eq!(user["identities"][0]["provider"], "email");
    assert!(user["email_confirmed_at"].is_string());

    let claims = auth.claims(session["access_token"].as_str().unwrap());
    assert_eq!(claims["iss"], format!("{}/auth/v1", auth.stack.api_url));
    assert_eq!(claims["sub"], user["id"]);
    assert_eq!(claims["aud"], "authenticated");
    assert_eq!(claims["role"], "authenticated");
    assert_eq!(claims["email"], email.to_lowercase());
    assert_eq!(claims["phone"], "");
    assert_eq!(claims["app_metadata"], user["app_metadata"]);
    assert_eq!(claims["user_metadata"], user["user_metadata"]);
    assert_eq!(claims["aal"], "aal1");
    assert_eq!(claims["amr"][0]["method"], "password");
    assert_eq!(claims["is_anonymous"], false);
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
    assert_eq!(claims["exp"], session["expires_at"]);
    let session_id = uuid::Uuid::parse_str(claims["session_id"].as_str().unwrap()).unwrap();

    // The rows GoTrue would write: the user with a $2a$ bcrypt hash, the session, its token.
    let db = auth.db().await;
    let user_id = uuid::Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    let hash: String = db
        .query_one("select encrypted_password from auth.users where id = $1", &[&user_id])
        .await
        .unwrap()
        .get(0);
    assert!(hash.starts_with("$2a$10$"), "{hash}");
    let tokens: i64 = db
        .query_one(
            "select count(*) from auth.refresh_tokens where session_id = $1 and revoked = false",
            &[&session_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(tokens, 1);
}

#[tokio::test]
async fn a_second_signup_with_the_same_email_is_user_already_exists() {
    let auth = Auth::new();
    let email = fresh_email("twice");
    auth.signup(&email).await;
    let response = auth
        .request(Method::POST, "/signup")
        .json(&json!({"email": email.to_uppercase(), "password": "another-password"}))
        .send()
        .await
        .unwrap();
    let (status, code, msg) = error_of(response).await;
    assert_eq!(
        (status, code.as_str(), msg.as_str()),
        (422, "user_already_exists", "User already registered")
    );
}

#[tokio::test]
async fn a_short_password_is_a_weak_password_with_its_reason() {
    let auth = Auth::new();
    let response = auth
        .request(Method::POST, "/signup")
        .json(&json!({"email": fresh_email("weak"), "password": "12345"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error_code"], "weak_password");
    assert_eq!(body["weak_password"]["reasons"], json!(["length"]));
}

#[tokio::test]
async fn an_invalid_email_fails_validation() {
    let auth = Auth::new();
    for email in ["not-an-email", "a@b@c.co", "@example.com"] {
        let response = auth
            .request(Method::POST, "/signup")
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        let (status, code, _) = error_of(response).await;
        assert_eq!((status, code.as_str()), (400, "validation_failed"), "{email}");
    }
}

#[tokio::test]
async fn a_missing_password_and_malformed_json_are_refused() {
    let auth = Auth::new();
    let response = auth
        .request(Method::POST, "/signup")
        .json(&json!({"email": fresh_email("nopass")}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.1, "validation_failed");
    let response = auth.request(Method::POST, "/signup").body("{not json").send().await.unwrap();
    assert_eq!(error_of(response).await.1, "bad_json");
}

#[tokio::test]
async fn the_2024_api_version_answers_errors_as_code_and_message() {
    let auth = Auth::new();
    let response = auth
        .request(Method::POST, "/signup")
        .header("X-Supabase-Api-Version", "2024-01-01")
        .json(&json!({"email": "nope", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["x-supabase-api-version"], "2024-01-01");
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body,
        json!({"code": "validation_failed", "message": "Unable to validate email address: invalid format"})
    );
}

#[tokio::test]
async fn requests_without_a_project_api_key_never_reach_auth() {
    let auth = Auth::new();
    let missing = auth.http.get(auth.url("/health")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let body: serde_json::Value = missing.json().await.unwrap();
    assert_eq!(body["message"], "No API key found in request");

    // A key signed with another secret, and a well-signed token that is no API key.
    let forged = auth.stack.anon_key.clone() + "x";
    let user_token = auth.sign(&json!({"role": "authenticated", "exp": 4_000_000_000u64}));
    for key in [forged.as_str(), user_token.as_str()] {
        let response =
            auth.http.get(auth.url("/health")).header("apikey", key).send().await.unwrap();
        assert_eq!(response.status(), 401, "{key}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["message"], "Invalid API key");
    }

    let as_query = auth
        .http
        .get(format!("{}?apikey={}", auth.url("/health"), auth.stack.anon_key))
        .send()
        .await
        .unwrap();
    assert_eq!(as_query.status(), 200);
}

#[tokio::test]
async fn health_and_settings_describe_the_server() {
    let auth = Auth::new();
    let health: serde_json::Value =
        auth.request(Method::GET, "/health").send().await.unwrap().json().await.unwrap();
    assert_eq!(health["name"], "GoTrue");
    let settings: serde_json::Value =
        auth.request(Method::GET, "/settings").send().await.unwrap().json().await.unwrap();
    assert_eq!(settings["external"]["email"], true);
    assert_eq!(settings["external"]["phone"], false);
    assert_eq!(settings["disable_signup"], false);
    assert_eq!(settings["mailer_autoconfirm"], true);
}
