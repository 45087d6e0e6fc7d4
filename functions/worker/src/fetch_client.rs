//! The outbound-HTTP port over the Workers runtime's `fetch`.

use std::pin::pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{Either, select};
use http_body_util::{BodyExt, Full};
use shared::runtime::{HttpClient, HttpError, HttpFuture};
use worker::{AbortController, Delay, Fetch, HttpResponse};

/// An exchange (sending and reading the whole answer) gives up after this long, like the native
/// host's; the function then answers 503.
const TIMEOUT: Duration = Duration::from_secs(15);

pub struct FetchClient;

impl HttpClient for FetchClient {
    fn send<'a>(&'a self, request: http::Request<Bytes>) -> HttpFuture<'a> {
        Box::pin(async move {
            let request = worker::Request::try_from(request.map(Full::new))
                .map_err(|error| HttpError::InvalidRequest(error.to_string()))?;
            let controller = AbortController::default();
            let exchange = exchange(Fetch::Request(request), controller.signal());
            match select(pin!(exchange), pin!(Delay::from(TIMEOUT))).await {
                Either::Left((answer, _)) => answer,
                Either::Right(_) => {
                    controller.abort();
                    Err(HttpError::Timeout)
                }
            }
        })
    }
}

async fn exchange(
    fetch: Fetch,
    signal: worker::AbortSignal,
) -> Result<http::Response<Bytes>, HttpError> {
    let unreachable = |error: worker::Error| HttpError::Unreachable(error.to_string());
    let response = fetch.send_with_signal(&signal).await.map_err(unreachable)?;
    let (parts, body) = HttpResponse::try_from(response).map_err(unreachable)?.into_parts();
    let body = body.collect().await.map_err(unreachable)?.to_bytes();
    Ok(http::Response::from_parts(parts, body))
}
