//! The outbound-HTTP port over `wasi:http/outgoing-handler`, through spin-sdk.

use bytes::Bytes;
use shared::runtime::{HttpClient, HttpError, HttpFuture};
use spin_sdk::http::SendError;

pub struct SpinClient;

impl HttpClient for SpinClient {
    fn send<'a>(&'a self, request: http::Request<Bytes>) -> HttpFuture<'a> {
        Box::pin(async move {
            spin_sdk::http::send::<_, http::Response<Bytes>>(request).await.map_err(|error| {
                match error {
                    SendError::RequestConversion(_) => HttpError::InvalidRequest(error.to_string()),
                    _ => HttpError::Unreachable(error.to_string()),
                }
            })
        })
    }
}
