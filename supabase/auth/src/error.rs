//! GoTrue's error bodies: `{code, error_code, msg}` by default, and `{code, message}` for clients
//! that send `X-Supabase-Api-Version: 2024-01-01` (supabase-js does), echoed back in the answer.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

pub const API_VERSION_HEADER: &str = "x-supabase-api-version";
/// The only API version GoTrue knows besides the initial one.
pub const API_VERSION_2024: &str = "2024-01-01";

/// An error answered to the client. `code` is GoTrue's `error_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Why a password was refused, for `weak_password`.
    pub reasons: Vec<&'static str>,
}

pub type AuthResult<T> = Result<T, AuthError>;

impl AuthError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), reasons: Vec::new() }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::bad_request("validation_failed", message)
    }
    /// A failure of ours: logged in full, answered without details.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "auth request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unexpected_failure",
            "Unexpected failure, please check server logs for more information",
        )
    }

    /// The body in the initial API version's shape.
    fn legacy_body(&self) -> Value {
        let mut body =
            json!({ "code": self.status.as_u16(), "error_code": self.code, "msg": self.message });
        self.add_reasons(&mut body);
        body
    }

    /// The body in the 2024-01-01 shape.
    fn versioned_body(&self) -> Value {
        let mut body = json!({ "code": self.code, "message": self.message });
        self.add_reasons(&mut body);
        body
    }

    fn add_reasons(&self, body: &mut Value) {
        if !self.reasons.is_empty() {
            body["weak_password"] = json!({ "reasons": self.reasons });
        }
    }
}

impl From<tokio_postgres::Error> for AuthError {
    fn from(error: tokio_postgres::Error) -> Self {
        Self::internal(error)
    }
}

impl From<deadpool_postgres::PoolError> for AuthError {
    fn from(error: deadpool_postgres::PoolError) -> Self {
        Self::internal(error)
    }
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.legacy_body())).into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Re-shapes error bodies for clients that asked for API version 2024-01-01, as GoTrue does.
pub async fn api_version(request: Request, next: Next) -> Response {
    let versioned = request
        .headers()
        .get(API_VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim() >= API_VERSION_2024 && is_date(v.trim()));
    let response = next.run(request).await;
    if !versioned {
        return response;
    }
    let mut response = match response.extensions().get::<AuthError>() {
        Some(error) => (error.status, axum::Json(error.versioned_body())).into_response(),
        None => response,
    };
    response.headers_mut().insert(API_VERSION_HEADER, HeaderValue::from_static(API_VERSION_2024));
    response
}

/// `YYYY-MM-DD`, the only form GoTrue accepts for a version.
fn is_date(value: &str) -> bool {
    chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initial_shape_carries_status_code_and_msg() {
        let error = AuthError::unprocessable("user_already_exists", "User already registered");
        assert_eq!(
            error.legacy_body(),
            json!({"code": 422, "error_code": "user_already_exists", "msg": "User already registered"})
        );
    }

    #[test]
    fn the_2024_shape_carries_the_code_and_message() {
        let mut error = AuthError::unprocessable("weak_password", "too short");
        error.reasons = vec!["length"];
        assert_eq!(
            error.versioned_body(),
            json!({"code": "weak_password", "message": "too short", "weak_password": {"reasons": ["length"]}})
        );
    }

    #[test]
    fn only_dates_count_as_api_versions() {
        assert!(is_date("2024-01-01"));
        assert!(!is_date("2024-13-01"));
        assert!(!is_date("latest"));
    }
}
