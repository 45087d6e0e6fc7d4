//! What Supabase's API gateway does in front of Auth (the `apikey` check), and GoTrue's
//! unauthenticated informational endpoints.

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::AuthError;

/// Roles of the project's API keys, the only keys the gateway knows.
const API_KEY_ROLES: [&str; 2] = ["anon", "service_role"];

#[derive(Deserialize)]
struct ApiKeyClaims {
    #[serde(default)]
    role: String,
}

/// Refuses a request without one of the project's API keys in `apikey` (header or query
/// parameter), as the gateway does, with the gateway's body.
pub async fn require_api_key(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let from_header = request.headers().get("apikey").and_then(|v| v.to_str().ok());
    let from_query = request.uri().query().and_then(|query| {
        query.split('&').find_map(|pair| pair.strip_prefix("apikey=")).map(str::to_owned)
    });
    let Some(key) = from_header.map(str::to_owned).or(from_query) else {
        return gateway_error(
            "No API key found in request",
            "No `apikey` request header or url param was found.",
        );
    };
    let known = crate::jwt::verify::<ApiKeyClaims>(&key, &state.settings.jwt_secret)
        .is_ok_and(|claims| API_KEY_ROLES.contains(&claims.role.as_str()));
    if !known {
        return gateway_error(
            "Invalid API key",
            "Double check your Supabase `anon` or `service_role` API key.",
        );
    }
    next.run(request).await
}

fn gateway_error(message: &str, hint: &str) -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({ "message": message, "hint": hint }))).into_response()
}

/// `GET /.well-known/jwks.json`: the public halves of the signing keys (none for HS256), with
/// the ten-minute cache lifetime verifiers may use.
pub async fn jwks(State(state): State<AppState>) -> Response {
    let cache = [(axum::http::header::CACHE_CONTROL, "public, max-age=600")];
    (cache, Json(state.settings.keys.jwks())).into_response()
}

/// `GET /health`: GoTrue's self-description.
pub async fn health() -> Json<Value> {
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "name": "GoTrue",
        "description": "GoTrue is a user registration and authentication API",
    }))
}

/// `GET /settings`: which sign-in methods are on. Only e-mail is, here.
pub async fn settings(State(state): State<AppState>) -> Json<Value> {
    let providers = [
        "anonymous_users",
        "apple",
        "azure",
        "bitbucket",
        "discord",
        "facebook",
        "figma",
        "fly",
        "github",
        "gitlab",
        "google",
        "keycloak",
        "kakao",
        "linkedin",
        "linkedin_oidc",
        "notion",
        "phone",
        "slack",
        "slack_oidc",
        "spotify",
        "twitch",
        "twitter",
        "workos",
        "zoom",
    ];
    let mut external: serde_json::Map<String, Value> =
        providers.iter().map(|p| ((*p).to_owned(), json!(false))).collect();
    external.insert("email".into(), json!(true));
    Json(json!({
        "external": external,
        "disable_signup": state.settings.disable_signup,
        "mailer_autoconfirm": state.settings.mailer_autoconfirm,
        "phone_autoconfirm": false,
        "sms_provider": "",
        "saml_enabled": false,
    }))
}

pub async fn not_found() -> AuthError {
    AuthError::not_found("not_found", "404 page not found")
}
