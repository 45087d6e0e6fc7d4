//! `POST /auth/v1/logout?scope=global|local|others`.

mod auth_support;
mod support;

use auth_support::{Auth, PASSWORD, error_of, fresh_email};
use reqwest::Method;
use serde_json::Value;

/// Three sessions of one user, oldest first.
async fn three_sessions(auth: &Auth) -> Vec<Value> {
    let email = fresh_email("logout");
    let mut sessions = vec![auth.signup(&email).await];
    for _ in 0..2 {
        sessions.push(auth.password_grant(&email, PASSWORD).await.json().await.unwrap());
    }
    sessions
}

async fn logout(auth: &Auth, session: &Value, scope: &str) -> reqwest::Response {
    auth.request(Method::POST, &format!("/logout{scope}"))
        .bearer_auth(session["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
}

/// Whether the session's access token and refresh token still work.
async fn alive(auth: &Auth, session: &Value) -> (bool, bool) {
    let user = auth.get_user(session["access_token"].as_str().unwrap()).await.status() == 200;
    let refresh = auth.refresh(session["refresh_token"].as_str().unwrap()).await.status() == 200;
    (user, refresh)
}

#[tokio::test]
async fn a_local_logout_ends_only_the_current_session() {
    let auth = Auth::new();
    let sessions = three_sessions(&auth).await;
    assert_eq!(logout(&auth, &sessions[0], "?scope=local").await.status(), 204);
    assert_eq!(alive(&auth, &sessions[0]).await, (false, false));
    assert_eq!(alive(&auth, &sessions[1]).await, (true, true));
    let (status, code, msg) =
        error_of(auth.get_user(sessions[0]["access_token"].as_str().unwrap()).await).await;
    assert_eq!((status, code.as_str()), (403, "session_not_found"));
    assert_eq!(msg, "Session from session_id claim in JWT does not exist");
}

#[tokio::test]
async fn an_others_logout_keeps_only_the_current_session() {
    let auth = Auth::new();
    let sessions = three_sessions(&auth).await;
    assert_eq!(logout(&auth, &sessions[1], "?scope=others").await.status(), 204);
    assert_eq!(alive(&auth, &sessions[0]).await, (false, false));
    assert_eq!(alive(&auth, &sessions[1]).await, (true, true));
    assert_eq!(alive(&auth, &sessions[2]).await, (false, false));
}

#[tokio::test]
async fn a_global_logout_is_the_default_and_ends_every_session() {
    let auth = Auth::new();
    let sessions = three_sessions(&auth).await;
    assert_eq!(logout(&auth, &sessions[2], "").await.status(), 204);
    for session in &sessions {
        assert_eq!(alive(&auth, session).await, (false, false));
    }
    // The refresh token is gone with its session.
    let (_, code, _) =
        error_of(auth.refresh(sessions[0]["refresh_token"].as_str().unwrap()).await).await;
    assert_eq!(code, "refresh_token_not_found");
}

#[tokio::test]
async fn logout_needs_a_token_and_a_known_scope() {
    let auth = Auth::new();
    let session = auth.signup(&fresh_email("scope")).await;
    let response = auth.request(Method::POST, "/logout").send().await.unwrap();
    assert_eq!(error_of(response).await.0, 401);
    let response = logout(&auth, &session, "?scope=everyone").await;
    assert_eq!(error_of(response).await.1, "validation_failed");
    assert_eq!(alive(&auth, &session).await, (true, true));
}
