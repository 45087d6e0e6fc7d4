//! The gateway: Supabase's URL layout on one port.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, Request};
use axum::response::Response;
use axum::routing::any;
use shared::error::ApiError;
use shared::http::MAX_BODY_BYTES;

use crate::config::Config;
use crate::functions_host::FunctionsHost;

pub async fn router(config: &Config, functions: FunctionsHost) -> anyhow::Result<Router> {
    Ok(Router::new()
        .route(
            "/functions/v1/{name}",
            any(move |Path(name): Path<String>, request: Request| {
                let functions = functions.clone();
                async move { function(&functions, name, request).await }
            }),
        )
        .nest("/rest/v1", local_rest::router(config.rest()).await?)
        .nest("/auth/v1", local_auth::router(config.auth.clone())?))
}

/// Reads the body (refusing more than the functions accept) and hands the request over.
async fn function(functions: &FunctionsHost, name: String, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    match to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => functions.handle(name, http::Request::from_parts(parts, bytes)).await,
        Err(_) => ApiError::payload_too_large(MAX_BODY_BYTES).into_response().map(Body::from),
    }
}
