//! The Cloudflare Workers host: the fetch event serves `/functions/v1/<name>` from the registry,
//! the scheduled event runs the cron jobs. Each Worker is one build of this crate with that
//! Worker's feature, so the registry holds only its functions and cron jobs (`functions::WORKERS`);
//! any other name is a 404. Configuration comes from the Worker's vars and secrets,
//! outbound HTTP goes through `worker::Fetch`; everything else is the functions' business.
//! A streamed body becomes the response's `ReadableStream`, pulled as workerd sends it; an
//! aborted one errors that stream, and workerd cuts the response short.

mod fetch_client;

use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use functions::{Aborted, Body, Chunks};
use http::StatusCode;
use http_body::Frame;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::json;
use shared::error::ApiError;
use shared::http::MAX_BODY_BYTES;
use shared::runtime::{Config, Ctx};
use worker::{Context, Env, HttpRequest, ScheduleContext, ScheduledEvent, console_log, event};

use crate::fetch_client::FetchClient;

#[event(fetch)]
async fn fetch(
    request: HttpRequest,
    env: Env,
    _ctx: Context,
) -> worker::Result<http::Response<ResponseBody>> {
    Ok(serve(request, &env).await.map(|body| match body {
        Body::Whole(bytes) => ResponseBody::Whole(Some(bytes)),
        Body::Chunks(chunks) => ResponseBody::Chunks(chunks),
    }))
}

/// The body workerd reads into the response's stream: all at once, or the function's chunks
/// one poll at a time (an [`Aborted`] errors the stream).
enum ResponseBody {
    Whole(Option<Bytes>),
    Chunks(Chunks),
}

impl http_body::Body for ResponseBody {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        match self.get_mut() {
            Self::Whole(bytes) => std::task::Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Chunks(chunks) => {
                chunks.as_mut().poll_next(cx).map(|chunk| chunk.map(|c| c.map(Frame::data)))
            }
        }
    }
}

/// Routes, reads the body (refusing more than the functions accept) and runs the function.
async fn serve(request: HttpRequest, env: &Env) -> http::Response<Body> {
    let whole = |error: ApiError| error.into_response().map(Body::Whole);
    let (parts, body) = request.into_parts();
    let Some(name) = functions::function_name(parts.uri.path()).map(str::to_owned) else {
        return whole(ApiError::not_found("no function at this path"));
    };
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) if error.is::<LengthLimitError>() => {
            return whole(ApiError::payload_too_large(MAX_BODY_BYTES));
        }
        Err(_) => {
            let message = "the request body could not be read";
            return whole(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", message));
        }
    };
    let request_id = shared::http::incoming_request_id(&parts.headers).unwrap_or_else(new_id);
    match context(env, request_id) {
        Ok(ctx) => functions::serve(&name, http::Request::from_parts(parts, body), &ctx).await,
        Err(error) => whole(error),
    }
}

/// Runs the cron jobs of the trigger's schedule; a failing job is logged and does not stop the
/// others.
#[event(scheduled)]
async fn scheduled(event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let Ok(ctx) = context(&env, new_id()) else { return };
    let jobs = functions::cron_jobs_on(&event.cron());
    ctx.log.info("cron_tick", json!({ "cron": event.cron(), "jobs": jobs }));
    for job in jobs {
        if let Err(error) = functions::run_cron(job, &ctx).await {
            ctx.log.error("cron_failed", json!({ "job": job, "code": error.code }));
        }
    }
}

/// The context of one request or trigger: the Worker's configuration, `fetch` for outbound
/// calls, the clock, and log lines on the console (which `wrangler tail` and Logpush read).
fn context(env: &Env, request_id: String) -> Result<Ctx, ApiError> {
    let lookup = |name: &str| {
        let var = env.var(name).map(|value| value.to_string());
        var.or_else(|_| env.secret(name).map(|value| value.to_string())).ok()
    };
    let log_line: Rc<dyn Fn(&str)> = Rc::new(|line| console_log!("{line}"));
    let config = Config::from_lookup(lookup).map_err(|error| {
        let fields = json!({ "reason": error.to_string() });
        shared::log::Logger::new(log_line.clone(), &request_id).error("misconfigured", fields);
        ApiError::internal()
    })?;
    let now = worker::Date::now().as_millis() / 1000;
    Ok(Ctx::new(Arc::new(config), Rc::new(FetchClient), request_id, now).with_log_sink(log_line))
}

fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
