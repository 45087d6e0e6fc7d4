//! The one error type every function answers with: `{"error":{"code","message"}}` and a status.

use bytes::Bytes;
use http::{Response, StatusCode, header};
use serde_json::json;

/// An error a function returns to its caller. `code` is stable snake_case for clients to match on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// The JSON response this error leaves as.
    pub fn into_response(self) -> Response<Bytes> {
        let body = json!({ "error": { "code": self.code, "message": self.message } });
        Response::builder()
            .status(self.status)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Bytes::from(body.to_string()))
            .expect("a status and a static header always build a response")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_leaves_as_the_json_envelope_with_its_status() {
        let response = ApiError::not_found("no function named nope").into_response();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(
            body,
            json!({"error": {"code": "not_found", "message": "no function named nope"}})
        );
    }
}
