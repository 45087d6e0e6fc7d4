//! The native function host behind `/functions/v1/{name}`. Functions' futures are not `Send`
//! (the WASM hosts are single-threaded), so each request runs on a pool of single-threaded
//! workers (`LocalPoolHandle`) with a context built from the stack's own URL and keys. A
//! streamed body is produced on that worker and handed to the server through a channel of one
//! chunk: the function writes the next chunk only once the client has taken the last one.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use axum::body::Body as ServerBody;
use bytes::Bytes;
use functions::{Aborted, Body};
use futures_util::StreamExt;
use shared::error::ApiError;
use shared::runtime::native::ReqwestClient;
use shared::runtime::{Config as FunctionsConfig, Ctx};
use tokio::sync::{mpsc, oneshot};
use tokio_util::task::LocalPoolHandle;

use crate::config::Config;
use crate::status;

/// Outbound calls (PostgREST, providers) give up after this long; the function answers 503.
const OUTBOUND_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct FunctionsHost {
    pool: LocalPoolHandle,
    config: Arc<FunctionsConfig>,
    client: reqwest::Client,
}

impl FunctionsHost {
    /// The stack is the functions' Supabase: its URL and keys win over the environment, which
    /// supplies the rest (allowed origins, provider keys).
    pub fn new(stack: &Config) -> Result<Self> {
        let status: HashMap<&str, String> = status::lines(stack)?.into_iter().collect();
        let own = |name: &str| match name {
            "SUPABASE_URL" => status.get("API_URL").cloned(),
            "SUPABASE_ANON_KEY" => status.get("ANON_KEY").cloned(),
            "SUPABASE_SERVICE_ROLE_KEY" => status.get("SERVICE_ROLE_KEY").cloned(),
            "SUPABASE_JWT_SECRET" => Some(stack.jwt_secret.clone()),
            _ => None,
        };
        let config =
            FunctionsConfig::from_lookup(|name| own(name).or_else(|| std::env::var(name).ok()))
                .context("configuring the functions")?;
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            pool: LocalPoolHandle::new(workers),
            config: Arc::new(config),
            client: reqwest::Client::builder().timeout(OUTBOUND_TIMEOUT).build()?,
        })
    }

    /// Runs the function `name` on a pool worker; never fails.
    pub async fn handle(
        &self,
        name: String,
        request: http::Request<Bytes>,
    ) -> http::Response<ServerBody> {
        let config = self.config.clone();
        let client = self.client.clone();
        let request_id = shared::http::incoming_request_id(request.headers())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let (head, answer) = oneshot::channel();
        let task = self.pool.spawn_pinned(move || async move {
            let ctx = Ctx::new(config, Rc::new(ReqwestClient::new(client)), request_id, now);
            let (parts, body) = functions::serve(&name, request, &ctx).await.into_parts();
            let chunks = match body {
                Body::Whole(bytes) => {
                    let _ = head.send(http::Response::from_parts(parts, ServerBody::from(bytes)));
                    return;
                }
                Body::Chunks(chunks) => chunks,
            };
            let (sender, receiver) = mpsc::channel::<Result<Bytes, Aborted>>(1);
            let streamed = futures_util::stream::unfold(receiver, |mut receiver| async move {
                receiver.recv().await.map(|chunk| (chunk, receiver))
            });
            if head
                .send(http::Response::from_parts(parts, ServerBody::from_stream(streamed)))
                .is_ok()
            {
                pump(chunks, sender).await;
            }
        });
        match answer.await {
            Ok(response) => response,
            Err(_) => {
                if let Err(error) = task.await {
                    tracing::error!(%error, "a function task failed");
                }
                ApiError::internal().into_response().map(ServerBody::from)
            }
        }
    }
}

/// Moves chunks to the server until the body ends, aborts (the error reaches the server, which
/// cuts the connection) or the client goes away (the channel closes; the rest is never made).
async fn pump(mut chunks: functions::Chunks, sender: mpsc::Sender<Result<Bytes, Aborted>>) {
    while let Some(chunk) = chunks.next().await {
        let aborted = chunk.is_err();
        if sender.send(chunk).await.is_err() || aborted {
            return;
        }
    }
}
