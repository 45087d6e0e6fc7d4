//! `GET /user` and `PUT /user`: the caller's own account.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::AppState;
use crate::error::{AuthError, AuthResult};
use crate::request::{self, json_body};
use crate::store::{self, LogoutScope, UserChanges};
use crate::user::merge_metadata;
use crate::{email, password};

/// `GET /user`.
pub async fn get_user(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> AuthResult<Json<Value>> {
    let caller = request::authenticate(&state, &headers).await?;
    Ok(Json(caller.user.to_json()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UpdateParams {
    email: Option<String>,
    password: Option<String>,
    data: Option<Map<String, Value>>,
    phone: Option<String>,
}

/// `PUT /user`: e-mail (changed at once: the local stack sends no mail, as with autoconfirm),
/// password (other sessions end, as GoTrue's `UpdatePassword` does), and `data` merged into
/// `user_metadata`.
pub async fn update_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> AuthResult<Json<Value>> {
    let params: UpdateParams = json_body(&body)?;
    let caller = request::authenticate(&state, &headers).await?;
    let user = caller.user;
    if params.phone.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(AuthError::bad_request("phone_provider_disabled", "Phone logins are disabled"));
    }
    let mut changes = UserChanges::default();
    if let Some(new_email) = params.email.as_deref().filter(|e| !e.is_empty()) {
        let new_email = email::validate(new_email)?;
        if new_email != user.email() {
            changes.email = Some(new_email);
        }
    }
    if let Some(new_password) = params.password.filter(|p| !p.is_empty()) {
        password::check_strength(&new_password, state.settings.password_min_length)?;
        let stored = user.encrypted_password.clone();
        let (same, hash) = tokio::task::spawn_blocking(move || {
            let same = password::verify(&new_password, stored.as_deref());
            (same, password::hash(&new_password))
        })
        .await
        .map_err(AuthError::internal)?;
        if same {
            return Err(AuthError::unprocessable(
                "same_password",
                "New password should be different from the old password.",
            ));
        }
        changes.encrypted_password = Some(hash?);
    }
    if let Some(data) = &params.data {
        changes.user_metadata = Some(merge_metadata(&user.user_metadata, data));
    }

    let mut db = state.pool.get().await?;
    let tx = db.transaction().await?;
    if let Some(new_email) = &changes.email
        && store::email_taken(&tx, new_email, user.id).await?
    {
        return Err(AuthError::unprocessable(
            "email_exists",
            "A user with this email address has already been registered",
        ));
    }
    store::update_user(&tx, user.id, &changes).await?;
    if changes.encrypted_password.is_some() {
        store::logout(&tx, user.id, caller.session_id, LogoutScope::Others).await?;
    }
    let updated = store::user_by_id(&tx, user.id)
        .await?
        .ok_or_else(|| AuthError::internal("the updated user vanished"))?;
    tx.commit().await?;
    Ok(Json(updated.to_json()))
}
