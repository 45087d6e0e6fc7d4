//! The Spin host: a `wasi:http` component serving `/functions/v1/<name>` from the registry.
//!
//! One build serves every function; `functions/spin.toml` declares it once per function, each
//! component pinned to its function by the `SALESPULSE_FUNCTION` environment variable. It imports
//! nothing Spin-only: configuration comes from the environment (`wasi:cli`), outbound HTTP is
//! `wasi:http/outgoing-handler`, so any wasi:http host runs it (`jco serve`, `wasmtime serve`).
//!
//! Responses are written to wasi:http's outgoing body as they come: a streamed body chunk by
//! chunk, each written before the next is made. An aborted body is left unfinished (never
//! `outgoing-body.finish`ed), which wasi:http defines as a corrupted body: the host must not
//! end the response as if it were complete.

mod outbound;

use std::rc::Rc;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use functions::Body;
use futures::StreamExt;
use http::StatusCode;
use serde_json::json;
use shared::error::ApiError;
use shared::http::MAX_BODY_BYTES;
use shared::log::Logger;
use shared::runtime::{Config, Ctx};
use spin_sdk::http::{Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam};
use spin_sdk::http_component;

use crate::outbound::SpinClient;

/// Names the one function a component serves; unset, it serves every function.
const PINNED_FUNCTION: &str = "SALESPULSE_FUNCTION";

/// wasi:http's outgoing streams take at most this many bytes per blocking write.
const WRITE_BYTES: usize = 4096;

#[http_component]
async fn handle(incoming: IncomingRequest, outparam: ResponseOutparam) {
    respond(answer(incoming).await, outparam).await;
}

async fn answer(incoming: IncomingRequest) -> http::Response<Body> {
    let whole = |error: ApiError| error.into_response().map(Body::Whole);
    let path_and_query = incoming.path_with_query().unwrap_or_default();
    let pinned = std::env::var(PINNED_FUNCTION).ok();
    let Some(name) = served_function(&path_and_query, pinned.as_deref()).map(str::to_owned) else {
        return whole(ApiError::not_found("no function at this path"));
    };
    let request = match into_http_request(incoming, &path_and_query).await {
        Ok(request) => request,
        Err(error) => return whole(error),
    };
    let request_id = shared::http::incoming_request_id(request.headers())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    match context(request_id) {
        Ok(ctx) => functions::serve(&name, request, &ctx).await,
        Err(error) => whole(error),
    }
}

/// Sends the status and headers, then the body as it is produced; finishes the outgoing body
/// only when all of it was written.
async fn respond(response: http::Response<Body>, outparam: ResponseOutparam) {
    let (parts, body) = response.into_parts();
    let headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec()))
        .collect();
    let (fields, status) = match Fields::from_list(&headers) {
        Ok(fields) => (fields, parts.status.as_u16()),
        Err(_) => (Fields::new(), 500),
    };
    let outgoing = OutgoingResponse::new(fields);
    let _ = outgoing.set_status_code(status);
    let Ok(outgoing_body) = outgoing.body() else { return };
    outparam.set(outgoing);
    let Ok(stream) = outgoing_body.write() else { return };
    let write_all = |bytes: &[u8]| {
        bytes.chunks(WRITE_BYTES).all(|piece| stream.blocking_write_and_flush(piece).is_ok())
    };
    let complete = match body {
        Body::Whole(bytes) => write_all(&bytes),
        Body::Chunks(mut chunks) => loop {
            match chunks.next().await {
                None => break true,
                Some(Ok(bytes)) if write_all(&bytes) => {}
                Some(_) => break false,
            }
        },
    };
    drop(stream);
    if complete {
        let _ = OutgoingBody::finish(outgoing_body, None);
    }
}

/// The function a request for `path_and_query` reaches in a component pinned to `pinned` (every
/// function when `None`).
fn served_function<'a>(path_and_query: &'a str, pinned: Option<&str>) -> Option<&'a str> {
    let path = path_and_query.split('?').next().unwrap_or_default();
    functions::function_name(path).filter(|name| pinned.is_none_or(|only| only == *name))
}

/// The context of one request: configuration from the environment (Spin sets it from the
/// manifest's `environment` and `spin up --env`), Spin's outbound HTTP, the clock, and log lines
/// on standard error.
fn context(request_id: String) -> Result<Ctx, ApiError> {
    let config = Config::from_lookup(|name| std::env::var(name).ok()).map_err(|error| {
        Logger::stderr(&request_id).error("misconfigured", json!({ "reason": error.to_string() }));
        ApiError::internal()
    })?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Ok(Ctx::new(Arc::new(config), Rc::new(SpinClient), request_id, now))
}

/// The wasi:http request as an `http::Request<Bytes>`, reading at most [`MAX_BODY_BYTES`].
async fn into_http_request(
    incoming: IncomingRequest,
    path_and_query: &str,
) -> Result<http::Request<Bytes>, ApiError> {
    let mut builder =
        http::Request::builder().method(http::Method::from(incoming.method())).uri(path_and_query);
    for (name, value) in incoming.headers().entries() {
        builder = builder.header(name, value);
    }
    let mut body = BytesMut::new();
    let mut chunks = incoming.into_body_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| bad_request("the request body could not be read"))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    builder.body(body.freeze()).map_err(|_| bad_request("the request could not be parsed"))
}

fn bad_request(message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_component_serves_only_its_function() {
        for (path, pinned, served) in [
            ("/functions/v1/health", None, Some("health")),
            ("/functions/v1/goals-calculate?x=1", None, Some("goals-calculate")),
            ("/functions/v1/goals-calculate", Some("goals-calculate"), Some("goals-calculate")),
            ("/functions/v1/health", Some("goals-calculate"), None),
            ("/functions/v1/", None, None),
            ("/health", Some("health"), None),
        ] {
            assert_eq!(served_function(path, pinned), served, "{path} pinned to {pinned:?}");
        }
    }
}
