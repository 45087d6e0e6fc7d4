//! PostgREST's error body `{code, message, details, hint}` and its SQLSTATE -> HTTP status map.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

/// An error as PostgREST answers it (boxed: it travels in every `Result` of a request).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(Box<ErrorBody>);

#[derive(Debug, Clone, PartialEq)]
pub struct ErrorBody {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
    pub details: Option<String>,
    pub hint: Option<String>,
    /// `WWW-Authenticate` for the JWT errors and anonymous permission errors.
    pub authenticate: Option<String>,
}

impl std::ops::Deref for ApiError {
    type Target = ErrorBody;

    fn deref(&self) -> &ErrorBody {
        &self.0
    }
}

impl std::ops::DerefMut for ApiError {
    fn deref_mut(&mut self) -> &mut ErrorBody {
        &mut self.0
    }
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorBody {
            status,
            code: code.to_owned(),
            message: message.into(),
            details: None,
            hint: None,
            authenticate: None,
        }))
    }

    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// PGRST100: a query parameter that does not parse.
    pub fn parse(message: impl Into<String>, details: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "PGRST100", message).details(details)
    }

    /// PGRST102: a body that is not the JSON the request needs.
    pub fn body(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "PGRST102", message)
    }

    /// PGRST301: a JWT that does not verify, with the Bearer challenge PostgREST sends.
    pub fn jwt(message: impl Into<String>) -> Self {
        let message = message.into();
        let challenge = format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            message.replace('"', "'")
        );
        let mut error = Self::new(StatusCode::UNAUTHORIZED, "PGRST301", message);
        error.authenticate = Some(challenge);
        error
    }

    /// An error Postgres raised, with PostgREST's status for its SQLSTATE. `authenticated` is
    /// whether the request ran as a role other than the anonymous one.
    pub fn from_db(error: &tokio_postgres::Error, authenticated: bool) -> Self {
        let Some(db) = error.as_db_error() else {
            tracing::error!(%error, "database connection failed");
            return Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "PGRST001",
                "Database client error. Retrying the connection.",
            );
        };
        let code = db.code().code();
        let status = status_for_sqlstate(code, db.message(), authenticated);
        let mut api = Self::new(status, code, db.message());
        api.details = db.detail().map(str::to_owned);
        api.hint = db.hint().map(str::to_owned);
        if status == StatusCode::UNAUTHORIZED {
            api.authenticate = Some("Bearer".to_owned());
        }
        api
    }

    pub fn body_json(&self) -> Value {
        json!({
            "code": self.code,
            "message": self.message,
            "details": self.details,
            "hint": self.hint,
        })
    }
}

/// PostgREST's table from SQLSTATE to HTTP status ("Errors" in its reference).
pub fn status_for_sqlstate(code: &str, message: &str, authenticated: bool) -> StatusCode {
    let custom = code.strip_prefix("PT").and_then(|s| s.parse::<u16>().ok());
    if let Some(status) = custom.and_then(|s| StatusCode::from_u16(s).ok()) {
        return status;
    }
    let status = match code {
        "23503" | "23505" => 409,
        "25006" => 405,
        "53400" => 500,
        "P0001" => 400,
        "42883" | "42P01" => 404,
        "42P17" => 500,
        "42501" if authenticated => 403,
        "42501" => 401,
        // A JWT naming a role that does not exist is an authentication failure (PostgREST 13).
        "22023" if message.starts_with("role") && message.ends_with("does not exist") => 401,
        _ => match code.get(..2).unwrap_or_default() {
            "08" | "53" => 503,
            "0L" | "0P" | "28" => 403,
            "09" | "25" | "2D" | "38" | "39" | "3B" | "40" | "54" | "55" | "57" | "58" | "F0"
            | "HV" | "P0" | "XX" => 500,
            _ => 400,
        },
    };
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body_json().to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        if let Some(value) = self.0.authenticate.and_then(|v| HeaderValue::from_str(&v).ok()) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_to_postgrest_statuses() {
        let check = |code: &str, authenticated: bool, expected: u16| {
            assert_eq!(status_for_sqlstate(code, "", authenticated).as_u16(), expected, "{code}");
        };
        check("42501", false, 401);
        check("42501", true, 403);
        check("23505", true, 409);
        check("23503", true, 409);
        check("P0001", true, 400);
        check("42P01", true, 404);
        check("42883", true, 404);
        check("22P02", true, 400);
        check("57014", true, 500);
        check("25006", true, 405);
        check("53400", true, 500);
        check("53300", true, 503);
        check("08006", true, 503);
        check("PT402", true, 402);
        check("23502", true, 400);
    }

    #[test]
    fn a_role_that_does_not_exist_is_unauthorized() {
        let status = status_for_sqlstate("22023", "role \"ghost\" does not exist", true);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(status_for_sqlstate("22023", "other", true), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn the_body_has_the_four_postgrest_fields() {
        let error = ApiError::parse("bad", "why");
        assert_eq!(
            error.body_json(),
            json!({"code": "PGRST100", "message": "bad", "details": "why", "hint": null})
        );
    }

    #[test]
    fn a_jwt_error_carries_the_bearer_challenge() {
        let response = ApiError::jwt("JWT expired").into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\", error_description=\"JWT expired\""
        );
    }
}
