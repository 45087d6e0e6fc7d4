//! The native function host behind `/functions/v1/{name}`. Functions' futures are not `Send`
//! (the WASM hosts are single-threaded), so each request runs on a pool of single-threaded
//! workers (`LocalPoolHandle`) with a context built from the stack's own URL and keys.

use std::collections::HashMap;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use bytes::Bytes;
use shared::error::ApiError;
use shared::runtime::native::ReqwestClient;
use shared::runtime::{Config as FunctionsConfig, Ctx};
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
    ) -> http::Response<Bytes> {
        let config = self.config.clone();
        let client = self.client.clone();
        let request_id = shared::http::incoming_request_id(request.headers())
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let task = self.pool.spawn_pinned(move || async move {
            let ctx = Ctx::new(config, Rc::new(ReqwestClient::new(client)), request_id, now);
            functions::dispatch(&name, request, &ctx).await
        });
        task.await.unwrap_or_else(|error| {
            tracing::error!(%error, "a function task failed");
            ApiError::internal().into_response()
        })
    }
}
