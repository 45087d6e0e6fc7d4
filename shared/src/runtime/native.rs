//! The outbound-HTTP port for native hosts, over `reqwest` (feature `native`).

use bytes::Bytes;

use super::{HttpClient, HttpError, HttpFuture};

/// Sends requests with a shared `reqwest::Client` (cheap to clone: it is reference-counted).
#[derive(Clone, Debug)]
pub struct ReqwestClient {
    client: reqwest::Client,
}

impl ReqwestClient {
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }
}

impl HttpClient for ReqwestClient {
    fn send<'a>(&'a self, request: http::Request<Bytes>) -> HttpFuture<'a> {
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)
                .map_err(|e| HttpError::InvalidRequest(e.to_string()))?;
            let response = self.client.execute(request).await.map_err(failure)?;
            let mut builder = http::Response::builder().status(response.status());
            if let Some(headers) = builder.headers_mut() {
                headers.extend(response.headers().iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            let body = response.bytes().await.map_err(failure)?;
            builder.body(body).map_err(|e| HttpError::Unreachable(e.to_string()))
        })
    }
}

fn failure(error: reqwest::Error) -> HttpError {
    if error.is_timeout() { HttpError::Timeout } else { HttpError::Unreachable(error.to_string()) }
}
