//! The gateway: Supabase's URL layout on one port.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, Request};
use axum::response::Response;
use axum::routing::any;

/// Largest request body a function accepts; larger ones are refused before they are read whole.
pub const MAX_FUNCTION_BODY: usize = 1 << 20;

pub fn router() -> Router {
    Router::new().route("/functions/v1/{name}", any(function))
}

async fn function(Path(name): Path<String>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let response = match to_bytes(body, MAX_FUNCTION_BODY).await {
        Ok(bytes) => functions::dispatch(&name, http::Request::from_parts(parts, bytes)),
        Err(_) => shared_error_too_large(),
    };
    response.map(Body::from)
}

fn shared_error_too_large() -> http::Response<bytes::Bytes> {
    shared::error::ApiError::new(
        http::StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the request body exceeds {MAX_FUNCTION_BODY} bytes"),
    )
    .into_response()
}
