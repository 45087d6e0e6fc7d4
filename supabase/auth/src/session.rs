//! Sessions: sign-up, the password and refresh-token grants, and logout.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::error::{AuthError, AuthResult};
use crate::jwt::{self, AccessClaims};
use crate::request::{self, json_body};
use crate::store::{self, LogoutScope, NewUser};
use crate::user::User;
use crate::{email, password};

const INVALID_LOGIN: &str = "Invalid login credentials";

/// GoTrue's `AccessTokenResponse`: the session the client stores.
fn session_response(
    state: &AppState,
    user: &User,
    session_id: Uuid,
    refresh_token: String,
    aal: String,
    amr: Vec<jwt::AmrEntry>,
) -> AuthResult<Value> {
    let settings = &state.settings;
    let issued_at = Utc::now().timestamp();
    let expires_at = issued_at + settings.jwt_exp;
    let claims = AccessClaims {
        iss: settings.issuer.clone(),
        sub: user.id.to_string(),
        aud: json!(user.aud),
        exp: expires_at,
        iat: issued_at,
        email: user.email().to_owned(),
        phone: user.phone().to_owned(),
        app_metadata: user.app_metadata.clone(),
        user_metadata: user.user_metadata.clone(),
        role: user.role.clone(),
        aal,
        amr,
        session_id: session_id.to_string(),
        is_anonymous: user.is_anonymous,
    };
    Ok(json!({
        "access_token": settings.keys.sign(&claims)?,
        "token_type": "bearer",
        "expires_in": settings.jwt_exp,
        "expires_at": expires_at,
        "refresh_token": refresh_token,
        "user": user.to_json(),
    }))
}

/// Starts a password session for `user` inside `tx` and answers it.
async fn start_session(
    state: &AppState,
    tx: &deadpool_postgres::Transaction<'_>,
    user_id: Uuid,
    user_agent: Option<&str>,
) -> AuthResult<Value> {
    store::record_sign_in(tx, user_id).await?;
    let (session_id, refresh_token) =
        store::create_session(tx, user_id, "password", user_agent).await?;
    let (aal, amr) = store::session_claims(tx, session_id).await?;
    let user = store::user_by_id(tx, user_id)
        .await?
        .ok_or_else(|| AuthError::internal("the signed-in user vanished"))?;
    session_response(state, &user, session_id, refresh_token, aal, amr)
}

/// Runs bcrypt off the async workers: it takes tens of milliseconds by design.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> AuthResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(AuthError::internal)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SignupParams {
    email: String,
    phone: String,
    password: String,
    data: Option<Map<String, Value>>,
}

/// `POST /signup`.
pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AuthResult<Json<Value>> {
    let settings = &state.settings;
    if settings.disable_signup {
        return Err(AuthError::unprocessable(
            "signup_disabled",
            "Signups not allowed for this instance",
        ));
    }
    let params: SignupParams = json_body(&body)?;
    if params.password.is_empty() {
        return Err(AuthError::unprocessable(
            "validation_failed",
            "Signup requires a valid password",
        ));
    }
    password::check_strength(&params.password, settings.password_min_length)?;
    if !params.email.is_empty() && !params.phone.is_empty() {
        return Err(AuthError::unprocessable(
            "validation_failed",
            "Only an email address or phone number should be provided on signup.",
        ));
    }
    if !params.phone.is_empty() {
        return Err(AuthError::bad_request(
            "phone_provider_disabled",
            "Phone signups are disabled",
        ));
    }
    if params.email.is_empty() {
        return Err(AuthError::validation("To signup, please provide your email"));
    }
    let email = email::validate(&params.email)?;
    let plain = params.password;
    let hash = blocking(move || password::hash(&plain)).await??;

    let mut db = state.pool.get().await?;
    let tx = db.transaction().await?;
    if let Some(existing) = store::user_by_email(&tx, &email, &settings.audience).await? {
        // GoTrue would confirm an existing unconfirmed user here without checking the
        // password; we refuse every existing address instead.
        tracing::info!(user_id = %existing.id, "repeated sign-up");
        return Err(AuthError::unprocessable("user_already_exists", "User already registered"));
    }
    let user = store::insert_user(
        &tx,
        NewUser {
            id: Uuid::new_v4(),
            aud: &settings.audience,
            role: &settings.default_role,
            email: &email,
            encrypted_password: &hash,
            confirmed: settings.mailer_autoconfirm,
            app_metadata: json!({"provider": "email", "providers": ["email"]}),
            user_metadata: Value::Object(params.data.unwrap_or_default()),
            banned_until: None,
        },
    )
    .await?
    .ok_or_else(|| AuthError::unprocessable("user_already_exists", "User already registered"))?;
    let answer = if user.is_confirmed() {
        start_session(&state, &tx, user.id, request::user_agent(&headers)).await?
    } else {
        user.to_json()
    };
    tx.commit().await?;
    Ok(Json(answer))
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    grant_type: String,
}

/// `POST /token?grant_type=password|refresh_token`.
pub async fn token(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> AuthResult<Json<Value>> {
    match query.grant_type.as_str() {
        "password" => password_grant(&state, &headers, &body).await.map(Json),
        "refresh_token" => refresh_grant(&state, &headers, &body).await.map(Json),
        _ => Err(AuthError::bad_request("invalid_credentials", "unsupported_grant_type")),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PasswordGrantParams {
    email: String,
    phone: String,
    password: String,
}

async fn password_grant(state: &AppState, headers: &HeaderMap, body: &Bytes) -> AuthResult<Value> {
    let params: PasswordGrantParams = json_body(body)?;
    if !params.email.is_empty() && !params.phone.is_empty() {
        return Err(AuthError::validation(
            "Only an email address or phone number should be provided on login.",
        ));
    }
    let mut db = state.pool.get().await?;
    let user = match params.email.is_empty() {
        true => None,
        false => store::user_by_email(&db, &params.email, &state.settings.audience).await?,
    };
    // Unknown e-mail and wrong password take the same bcrypt time and get the same answer.
    let stored = user.as_ref().and_then(|u| u.encrypted_password.clone());
    let plain = params.password;
    let valid = blocking(move || password::verify(&plain, stored.as_deref())).await?;
    let user = match user {
        Some(user) if valid => user,
        _ => return Err(AuthError::bad_request("invalid_credentials", INVALID_LOGIN)),
    };
    if user.is_banned(Utc::now()) {
        return Err(AuthError::bad_request("user_banned", "User is banned"));
    }
    if !user.is_confirmed() {
        return Err(AuthError::bad_request("email_not_confirmed", "Email not confirmed"));
    }
    let tx = db.transaction().await?;
    let answer = start_session(state, &tx, user.id, request::user_agent(headers)).await?;
    tx.commit().await?;
    Ok(answer)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RefreshGrantParams {
    refresh_token: String,
}

/// GoTrue's refresh-token grant: rotation, the reuse interval, and revocation of the whole
/// session when a revoked token comes back after it.
async fn refresh_grant(state: &AppState, headers: &HeaderMap, body: &Bytes) -> AuthResult<Value> {
    let params: RefreshGrantParams = json_body(body)?;
    if params.refresh_token.is_empty() {
        return Err(AuthError::validation("refresh_token required"));
    }
    let settings = &state.settings;
    let mut db = state.pool.get().await?;
    let tx = db.transaction().await?;
    let Some(token) = store::lock_refresh_token(&tx, &params.refresh_token).await? else {
        return Err(AuthError::bad_request(
            "refresh_token_not_found",
            "Invalid Refresh Token: Refresh Token Not Found",
        ));
    };
    let now = Utc::now();
    let user = store::user_by_id(&tx, token.user_id).await?.ok_or_else(|| {
        AuthError::bad_request(
            "refresh_token_not_found",
            "Invalid Refresh Token: Refresh Token Not Found",
        )
    })?;
    if user.is_banned(now) {
        return Err(AuthError::bad_request("user_banned", "Invalid Refresh Token: User Banned"));
    }
    if token.session_not_after.is_some_and(|end| end <= now) {
        return Err(AuthError::bad_request(
            "session_expired",
            "Invalid Refresh Token: Session Expired",
        ));
    }
    let mut issued = None;
    if token.revoked {
        let active = store::active_refresh_token(&tx, token.session_id).await?;
        match active {
            // The client lost the answer to its last refresh: hand back the same child.
            Some((child, Some(parent))) if parent == token.token => issued = Some(child),
            _ => {
                let reuse_until = token.updated_at
                    + chrono::Duration::seconds(settings.refresh_token_reuse_interval);
                if now > reuse_until {
                    if settings.refresh_token_rotation {
                        store::revoke_token_family(&tx, token.session_id).await?;
                    }
                    tx.commit().await?;
                    tracing::warn!(token_id = token.id, "possible refresh token abuse");
                    return Err(AuthError::bad_request(
                        "refresh_token_already_used",
                        "Invalid Refresh Token: Already Used",
                    ));
                }
            }
        }
    }
    let refresh_token = match issued {
        Some(child) => child,
        None => store::swap_refresh_token(&tx, &token).await?,
    };
    store::touch_session(&tx, token.session_id, request::user_agent(headers)).await?;
    let (aal, amr) = store::session_claims(&tx, token.session_id).await?;
    let answer = session_response(state, &user, token.session_id, refresh_token, aal, amr)?;
    tx.commit().await?;
    Ok(answer)
}

#[derive(Deserialize)]
pub struct LogoutQuery {
    #[serde(default)]
    scope: Option<String>,
}

fn logout_scope(scope: Option<&str>) -> AuthResult<LogoutScope> {
    match scope.unwrap_or("global") {
        "global" | "" => Ok(LogoutScope::Global),
        "local" => Ok(LogoutScope::Local),
        "others" => Ok(LogoutScope::Others),
        other => Err(AuthError::validation(format!("Unsupported logout scope {other:?}"))),
    }
}

/// `POST /logout?scope=global|local|others`: 204, the sessions gone with their refresh tokens.
pub async fn logout(
    State(state): State<AppState>,
    Query(query): Query<LogoutQuery>,
    headers: HeaderMap,
) -> AuthResult<StatusCode> {
    let scope = logout_scope(query.scope.as_deref())?;
    let caller = request::authenticate(&state, &headers).await?;
    let db = state.pool.get().await?;
    store::logout(&db, caller.user.id, caller.session_id, scope).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logout_scopes_default_to_global_and_refuse_unknown_ones() {
        assert_eq!(logout_scope(None).unwrap(), LogoutScope::Global);
        assert_eq!(logout_scope(Some("local")).unwrap(), LogoutScope::Local);
        assert_eq!(logout_scope(Some("others")).unwrap(), LogoutScope::Others);
        let error = logout_scope(Some("everyone")).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (400, "validation_failed"));
    }
}
