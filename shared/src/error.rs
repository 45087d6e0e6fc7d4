//! The one error type every function answers with: `{"error":{"code","message"}}` and a status.
//! Codes are stable snake_case for clients to match on; messages are for people and never carry
//! internal details (those go to the log).

use bytes::Bytes;
use http::{Response, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use crate::runtime::HttpError;

/// Seconds a caller should wait before retrying when an upstream is down.
pub const RETRY_AFTER_SECS: u32 = 5;

/// An error a function returns to its caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Sent as `Retry-After` (seconds) when set.
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), retry_after: None }
    }

    /// The body is not the JSON the function reads (syntax, types, missing fields).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// Well-formed input that breaks a rule; the message starts with the field's path.
    pub fn validation(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("{field}: {message}"),
        )
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn method_not_allowed(allowed: &str) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", format!("use {allowed}"))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body exceeds {limit} bytes"),
        )
    }

    /// Something on our side went wrong; the caller learns nothing more.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "something went wrong")
    }

    /// An upstream (the database, a provider) is down or too slow; retry later.
    pub fn unavailable() -> Self {
        Self {
            retry_after: Some(RETRY_AFTER_SECS),
            ..Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "upstream_unavailable",
                "a service we depend on is unavailable, try again shortly",
            )
        }
    }

    /// Maps a PostgREST error response to what our caller may learn. RLS denials, missing rows,
    /// conflicts and outages keep their meaning; anything else is our bug and becomes a 500.
    pub fn from_postgrest(status: StatusCode, body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct PostgrestBody {
            #[serde(default)]
            code: Option<String>,
            #[serde(default)]
            details: Option<String>,
        }
        if status.is_server_error() && status != StatusCode::INTERNAL_SERVER_ERROR {
            return Self::unavailable();
        }
        let parsed: Option<PostgrestBody> = serde_json::from_slice(body).ok();
        let code = parsed.as_ref().and_then(|b| b.code.as_deref()).unwrap_or("");
        let details = parsed.as_ref().and_then(|b| b.details.as_deref()).unwrap_or("");
        match code {
            "42501" if status == StatusCode::UNAUTHORIZED => {
                Self::unauthorized("sign in to do this")
            }
            // The database's check_request(): the caller's organization is suspended.
            "42501" if details == "org_suspended" => Self::new(
                StatusCode::FORBIDDEN,
                "org_suspended",
                "your organization is suspended; contact SalesPulse support",
            ),
            "42501" => Self::forbidden("you may not do this"),
            "PGRST116" if details.contains(" 0 rows") => Self::not_found("no such record"),
            "23505" => Self::conflict("this record already exists"),
            "23503" => Self::conflict("this record refers to, or is referred to by, another"),
            "23502" | "23514" | "22P02" | "22001" | "22003" | "22007" | "22023" | "P0001" => {
                Self::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "rejected",
                    "the database refused these values",
                )
            }
            "57014" | "53300" | "57P01" | "PGRST000" | "PGRST001" | "PGRST002" | "PGRST003" => {
                Self::unavailable()
            }
            "PGRST301" | "PGRST302" | "PGRST303" => Self::unauthorized("sign in again"),
            _ if status == StatusCode::UNAUTHORIZED => Self::unauthorized("sign in to do this"),
            _ if status == StatusCode::FORBIDDEN => Self::forbidden("you may not do this"),
            _ => Self::internal(),
        }
    }

    /// The JSON response this error leaves as.
    pub fn into_response(self) -> Response<Bytes> {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = Response::new(Bytes::from(body.to_string()));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json"));
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
        }
        response
    }
}

impl From<HttpError> for ApiError {
    fn from(error: HttpError) -> Self {
        match error {
            HttpError::InvalidRequest(_) => Self::internal(),
            HttpError::Unreachable(_) | HttpError::Timeout => Self::unavailable(),
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_leaves_as_the_json_envelope_with_its_status() {
        let response = ApiError::not_found("no function named nope").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "not_found", "message": "no function named nope"}})
        );
    }

    #[test]
    fn an_unavailable_upstream_asks_to_retry_later() {
        let response = ApiError::unavailable().into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "5");
    }

    #[test]
    fn postgrest_errors_map_to_what_the_caller_may_learn() {
        let check = |status: u16, body: &str, expected_status: u16, expected_code: &str| {
            let error =
                ApiError::from_postgrest(StatusCode::from_u16(status).unwrap(), body.as_bytes());
            assert_eq!(
                (error.status.as_u16(), error.code),
                (expected_status, expected_code),
                "{status} {body}"
            );
            assert!(!error.message.contains("violates"), "leaked: {}", error.message);
        };
        let rls = r#"{"code":"42501","message":"new row violates row-level security policy for table \"goals\"","details":null,"hint":null}"#;
        check(403, rls, 403, "forbidden");
        check(401, rls, 401, "unauthorized");
        let suspended = r#"{"code":"42501","message":"your organization is suspended","details":"org_suspended","hint":null}"#;
        check(403, suspended, 403, "org_suspended");
        check(
            406,
            r#"{"code":"PGRST116","details":"The result contains 0 rows"}"#,
            404,
            "not_found",
        );
        check(
            406,
            r#"{"code":"PGRST116","details":"The result contains 2 rows"}"#,
            500,
            "internal_error",
        );
        check(
            409,
            r#"{"code":"23505","message":"duplicate key value violates unique constraint"}"#,
            409,
            "conflict",
        );
        check(409, r#"{"code":"23503"}"#, 409, "conflict");
        check(400, r#"{"code":"23514"}"#, 422, "rejected");
        check(
            500,
            r#"{"code":"57014","message":"canceling statement due to statement timeout"}"#,
            503,
            "upstream_unavailable",
        );
        check(503, r#"{"code":"PGRST001"}"#, 503, "upstream_unavailable");
        check(502, "<html>bad gateway</html>", 503, "upstream_unavailable");
        check(401, r#"{"code":"PGRST301"}"#, 401, "unauthorized");
        check(401, "", 401, "unauthorized");
        check(403, "{}", 403, "forbidden");
        check(
            400,
            r#"{"code":"PGRST100","message":"failed to parse filter"}"#,
            500,
            "internal_error",
        );
        check(404, r#"{"code":"PGRST205"}"#, 500, "internal_error");
        check(500, "not json", 500, "internal_error");
    }

    #[test]
    fn outbound_failures_map_to_unavailable_or_internal() {
        assert_eq!(ApiError::from(HttpError::Timeout).status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            ApiError::from(HttpError::Unreachable("refused".into())).retry_after,
            Some(RETRY_AFTER_SECS)
        );
        assert_eq!(
            ApiError::from(HttpError::InvalidRequest("x".into())).status,
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }

    #[test]
    fn constructors_carry_their_status_and_code() {
        let check = |error: ApiError, status: u16, code: &str| {
            assert_eq!((error.status.as_u16(), error.code), (status, code));
        };
        check(ApiError::bad_request("invalid_json", "x"), 400, "invalid_json");
        check(ApiError::validation("target_cents", "must be positive"), 422, "validation_failed");
        check(ApiError::unauthorized("x"), 401, "unauthorized");
        check(ApiError::forbidden("x"), 403, "forbidden");
        check(ApiError::method_not_allowed("POST"), 405, "method_not_allowed");
        check(ApiError::conflict("x"), 409, "conflict");
        check(ApiError::payload_too_large(10), 413, "payload_too_large");
        check(ApiError::internal(), 500, "internal_error");
        assert_eq!(ApiError::validation("a.b", "is bad").message, "a.b: is bad");
        assert_eq!(ApiError::conflict("dup").to_string(), "409 conflict: dup");
    }
}
