//! The registry of functions served at `/functions/v1/<name>` by every host.

use bytes::Bytes;
use http::{Request, Response, StatusCode, header};
use shared::error::ApiError;

/// Names of every registered function, in the order the registry lists them.
pub const NAMES: &[&str] = &["health"];

/// Runs the function `name` on `request`; an unknown name is a JSON 404.
pub fn dispatch(name: &str, request: Request<Bytes>) -> Response<Bytes> {
    match name {
        "health" => health(request),
        other => ApiError::not_found(format!("no function named {other}")).into_response(),
    }
}

fn health(_request: Request<Bytes>) -> Response<Bytes> {
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Bytes::from_static(br#"{"status":"ok"}"#))
        .expect("static parts always build a response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unknown_function_is_a_json_404() {
        let response = dispatch("nope", Request::new(Bytes::new()));
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn health_answers_ok() {
        let response = dispatch("health", Request::new(Bytes::new()));
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.body().as_ref(), br#"{"status":"ok"}"#);
    }
}
