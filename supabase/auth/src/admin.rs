//! The admin user endpoints, for bearer tokens of an admin role (the service_role key).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::AppState;
use crate::error::{AuthError, AuthResult};
use crate::request::{bearer, json_body};
use crate::store::{self, LogoutScope, NewUser, UserChanges};
use crate::user::{User, merge_metadata};
use crate::{email, password, secure};

#[derive(Deserialize)]
struct RoleClaim {
    #[serde(default)]
    role: String,
}

/// GoTrue's `requireAdmin`: a verified bearer token whose `role` is an admin role.
pub async fn require_admin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let allowed = bearer(request.headers())
        .and_then(|token| state.settings.keys.verify::<RoleClaim>(token))
        .and_then(|claims| match state.settings.admin_roles.contains(&claims.role) {
            true => Ok(()),
            false => Err(AuthError::forbidden("not_admin", "User not allowed")),
        });
    match allowed {
        Ok(()) => next.run(request).await,
        Err(error) => error.into_response(),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    page: Option<String>,
    per_page: Option<String>,
    filter: Option<String>,
}

/// GoTrue's `paginate`: page from 1, 50 per page unless told.
fn pagination(query: &ListQuery) -> AuthResult<(i64, i64)> {
    let parse = |value: &Option<String>, default: i64| -> AuthResult<i64> {
        match value.as_deref() {
            None | Some("") => Ok(default),
            Some(v) => v
                .parse::<u32>()
                .map(i64::from)
                .map_err(|e| AuthError::validation(format!("Bad Pagination Parameters: {e}"))),
        }
    };
    let page = parse(&query.page, 1)?.max(1);
    let per_page = parse(&query.per_page, 50)?.max(1);
    Ok((page, per_page))
}

/// GoTrue's `Link` header: the next page when there is one, and the last.
fn link_header(path: &str, query: &ListQuery, page: i64, per_page: i64, total: i64) -> String {
    let total_pages = (total + per_page - 1) / per_page;
    let url = |page: i64| {
        let mut params = vec![format!("page={page}"), format!("per_page={per_page}")];
        if let Some(filter) = &query.filter {
            params.insert(0, format!("filter={}", form_encode(filter)));
        }
        format!("<{path}?{}>", params.join("&"))
    };
    let mut header = String::new();
    if total_pages > page {
        header += &format!("{}; rel=\"next\", ", url(page + 1));
    }
    header += &format!("{}; rel=\"last\"", url(total_pages));
    header
}

/// Query-string encoding as Go's `url.Values.Encode` does it.
fn form_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /admin/users?page=&per_page=&filter=`.
pub async fn list_users(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> AuthResult<Response> {
    let (page, per_page) = pagination(&query)?;
    let aud = &state.settings.audience;
    let db = state.pool.get().await?;
    let filter = query.filter.as_deref().filter(|f| !f.is_empty());
    let (users, total) = store::list_users(&db, aud, filter, page, per_page).await?;
    let body = json!({ "users": users.iter().map(User::to_json).collect::<Vec<_>>(), "aud": aud });
    let mut response = Json(body).into_response();
    let link = link_header("/admin/users", &query, page, per_page, total);
    let headers = response.headers_mut();
    headers.insert("x-total-count", HeaderValue::from(total));
    if let Ok(link) = HeaderValue::from_str(&link) {
        headers.insert("link", link);
    }
    Ok(response)
}

async fn load_user(state: &AppState, id: &str) -> AuthResult<User> {
    let id = Uuid::parse_str(id)
        .map_err(|_| AuthError::not_found("validation_failed", "user_id must be an UUID"))?;
    let db = state.pool.get().await?;
    store::user_by_id(&db, id)
        .await?
        .ok_or_else(|| AuthError::not_found("user_not_found", "User not found"))
}

/// `GET /admin/users/{id}`.
pub async fn get_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> AuthResult<Json<Value>> {
    Ok(Json(load_user(&state, &id).await?.to_json()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct AdminUserParams {
    id: String,
    role: String,
    email: String,
    phone: String,
    password: Option<String>,
    email_confirm: bool,
    user_metadata: Option<Map<String, Value>>,
    app_metadata: Option<Map<String, Value>>,
    ban_duration: String,
}

/// `ban_duration` as GoTrue reads it: "none" lifts the ban, a Go duration bans until now + it.
fn ban_until(ban_duration: &str, now: DateTime<Utc>) -> AuthResult<Option<Option<DateTime<Utc>>>> {
    match ban_duration {
        "" => Ok(None),
        "none" => Ok(Some(None)),
        text => {
            let duration = parse_go_duration(text).ok_or_else(|| {
                AuthError::validation(format!(
                    "invalid format for ban duration: time: invalid duration {text:?}"
                ))
            })?;
            Ok(Some((duration > chrono::Duration::zero()).then(|| now + duration)))
        }
    }
}

/// Go's `time.ParseDuration`: a signed sequence of decimal numbers with units ns, us, µs, ms,
/// s, m or h, such as "300ms", "1.5h" or "2h45m".
fn parse_go_duration(text: &str) -> Option<chrono::Duration> {
    let (negative, mut rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Some(chrono::Duration::zero());
    }
    let mut nanos: f64 = 0.0;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let number_end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let number: f64 = rest[..number_end].parse().ok()?;
        rest = &rest[number_end..];
        let unit_end = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let scale = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        nanos += number * scale;
    }
    let nanos = if negative { -nanos } else { nanos };
    (nanos.abs() < 9.2e18).then(|| chrono::Duration::nanoseconds(nanos as i64))
}

/// `POST /admin/users`.
pub async fn create_user(State(state): State<AppState>, body: Bytes) -> AuthResult<Json<Value>> {
    let params: AdminUserParams = json_body(&body)?;
    let settings = &state.settings;
    if params.email.is_empty() && params.phone.is_empty() {
        return Err(AuthError::validation("Cannot create a user without either an email or phone"));
    }
    if !params.phone.is_empty() {
        return Err(AuthError::bad_request("phone_provider_disabled", "Phone logins are disabled"));
    }
    let email = email::validate(&params.email)?;
    let id = match params.id.as_str() {
        "" => Uuid::new_v4(),
        text => match Uuid::parse_str(text) {
            Ok(id) if id.is_nil() => return Err(AuthError::validation("ID cannot be a nil uuid")),
            Ok(id) => id,
            Err(_) => return Err(AuthError::validation("ID must conform to the uuid v4 format")),
        },
    };
    let banned_until = ban_until(&params.ban_duration, Utc::now())?.flatten();
    // Without a password the account gets a random one nobody knows, as in GoTrue.
    let plain = match params.password.filter(|p| !p.is_empty()) {
        Some(p) => p,
        None => (0..5).map(|_| secure::refresh_token()).collect::<AuthResult<String>>()?,
    };
    let hash = tokio::task::spawn_blocking(move || password::hash(&plain))
        .await
        .map_err(AuthError::internal)??;
    let base = json!({"provider": "email", "providers": ["email"]});
    let app_metadata = match &params.app_metadata {
        Some(extra) => merge_metadata(&base, extra),
        None => base,
    };
    let role = if params.role.is_empty() { &settings.default_role } else { &params.role };

    let mut db = state.pool.get().await?;
    let tx = db.transaction().await?;
    if store::email_taken(&tx, &email, id).await? {
        return Err(email_exists());
    }
    let user = store::insert_user(
        &tx,
        NewUser {
            id,
            aud: &settings.audience,
            role,
            email: &email,
            encrypted_password: &hash,
            confirmed: params.email_confirm,
            app_metadata,
            user_metadata: Value::Object(params.user_metadata.unwrap_or_default()),
            banned_until,
        },
    )
    .await?
    .ok_or_else(email_exists)?;
    tx.commit().await?;
    Ok(Json(user.to_json()))
}

fn email_exists() -> AuthError {
    AuthError::unprocessable(
        "email_exists",
        "A user with this email address has already been registered",
    )
}

/// `PUT /admin/users/{id}`.
pub async fn update_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> AuthResult<Json<Value>> {
    let user = load_user(&state, &id).await?;
    let params: AdminUserParams = json_body(&body)?;
    let mut changes = UserChanges {
        confirm_email: params.email_confirm,
        banned_until: ban_until(&params.ban_duration, Utc::now())?,
        role: Some(params.role).filter(|r| !r.is_empty()),
        ..UserChanges::default()
    };
    if !params.email.is_empty() {
        changes.email = Some(email::validate(&params.email)?);
    }
    if let Some(new_password) = params.password {
        password::check_strength(&new_password, state.settings.password_min_length)?;
        let hash = tokio::task::spawn_blocking(move || password::hash(&new_password))
            .await
            .map_err(AuthError::internal)??;
        changes.encrypted_password = Some(hash);
    }
    if let Some(extra) = &params.app_metadata {
        changes.app_metadata = Some(merge_metadata(&user.app_metadata, extra));
    }
    if let Some(extra) = &params.user_metadata {
        changes.user_metadata = Some(merge_metadata(&user.user_metadata, extra));
    }

    let mut db = state.pool.get().await?;
    let tx = db.transaction().await?;
    if let Some(new_email) = &changes.email
        && store::email_taken(&tx, new_email, user.id).await?
    {
        return Err(email_exists());
    }
    store::update_user(&tx, user.id, &changes).await?;
    if changes.encrypted_password.is_some() {
        // GoTrue's `UpdatePassword` with no current session: every session ends.
        store::logout(&tx, user.id, None, LogoutScope::Global).await?;
    }
    let updated = store::user_by_id(&tx, user.id)
        .await?
        .ok_or_else(|| AuthError::internal("the updated user vanished"))?;
    tx.commit().await?;
    Ok(Json(updated.to_json()))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DeleteParams {
    should_soft_delete: bool,
}

/// `DELETE /admin/users/{id}`: `{}` once gone (or soft-deleted when asked).
pub async fn delete_user(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Bytes,
) -> AuthResult<Json<Value>> {
    let user = load_user(&state, &id).await?;
    let params: DeleteParams = json_body(&body)?;
    let mut db = state.pool.get().await?;
    let tx = db.transaction().await?;
    if params.should_soft_delete {
        store::soft_delete_user(&tx, user.id).await?;
    } else {
        store::delete_user(&tx, user.id).await?;
    }
    tx.commit().await?;
    Ok(Json(json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_like_go() {
        let check = |text: &str, seconds: Option<i64>| {
            assert_eq!(parse_go_duration(text).map(|d| d.num_seconds()), seconds, "{text}");
        };
        check("24h", Some(86_400));
        check("1h30m", Some(5_400));
        check("1.5h", Some(5_400));
        check("90s", Some(90));
        check("2h45m10s", Some(9_910));
        check("0", Some(0));
        check("-1h", Some(-3_600));
        check("10", None);
        check("", None);
        check("1d", None);
        check("h", None);
    }

    #[test]
    fn ban_none_lifts_and_a_duration_bans_until_then() {
        let now = Utc::now();
        assert_eq!(ban_until("", now).unwrap(), None);
        assert_eq!(ban_until("none", now).unwrap(), Some(None));
        assert_eq!(ban_until("1h", now).unwrap(), Some(Some(now + chrono::Duration::hours(1))));
        let error = ban_until("forever", now).unwrap_err();
        assert_eq!((error.status.as_u16(), error.code), (400, "validation_failed"));
    }

    #[test]
    fn pagination_defaults_to_the_first_fifty() {
        let query = |page: Option<&str>, per_page: Option<&str>| ListQuery {
            page: page.map(str::to_owned),
            per_page: per_page.map(str::to_owned),
            filter: None,
        };
        assert_eq!(pagination(&query(None, None)).unwrap(), (1, 50));
        assert_eq!(pagination(&query(Some("3"), Some("10"))).unwrap(), (3, 10));
        assert_eq!(pagination(&query(Some("x"), None)).unwrap_err().code, "validation_failed");
    }

    #[test]
    fn the_link_header_names_the_next_and_last_pages() {
        let query = ListQuery::default();
        assert_eq!(
            link_header("/admin/users", &query, 1, 2, 5),
            "</admin/users?page=2&per_page=2>; rel=\"next\", </admin/users?page=3&per_page=2>; rel=\"last\""
        );
        assert_eq!(
            link_header("/admin/users", &query, 3, 2, 5),
            "</admin/users?page=3&per_page=2>; rel=\"last\""
        );
    }
}
