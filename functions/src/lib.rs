//! The registry of functions served at `/functions/v1/<name>` by every host (native, Workers,
//! Spin). Each function is a module with `async fn handle(request, &Ctx)`; `serve` adds what
//! every function shares: CORS, the body limit, the request id and one log line per request.
//! One function, `admin-audit-export`, streams its body ([`Body::Chunks`]); hosts call `serve`
//! and send such a body as it is written.
//!
//! On Cloudflare each function lives in one of a few Workers ([`WORKERS`]), so that no bundle
//! carries every function. Each Worker is a cargo feature of this crate: a Worker's build enables
//! only its own and registers only its functions (the others' code is then unused and left out
//! of the bundle). Every other host enables them all, the default.

// A Worker's build leaves the other Workers' functions unregistered, and so their code unused.
#![cfg_attr(not(all(feature = "app", feature = "admin", feature = "billing")), allow(dead_code))]

mod activities;
mod activities_today;
mod admin_audit;
mod admin_audit_export;
mod admin_flags;
mod admin_impersonate;
mod admin_orgs;
mod admin_sims;
mod admin_users;
mod auth_login;
mod auth_logout;
mod auth_refresh;
mod auth_session;
mod billing_account;
mod billing_checkout;
mod billing_holds;
mod billing_portal;
mod body;
mod cron_email_dispatch;
mod cron_payment_holds;
mod cron_retention;
mod flags;
mod goals;
mod goals_calculate;
mod goals_progress;
mod health;
mod kpi_me;
mod kpi_org;
mod mailgun_webhook;
mod message_thread;
mod messages;
mod messages_unread;
mod messaging;
mod notifications;
pub mod openapi;
mod referral_rules;
mod rows;
mod scenarios;
mod stripe_webhook;
mod tracking;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response};
use serde_json::json;
use shared::cors;
use shared::error::ApiError;
use shared::http::{MAX_BODY_BYTES, REQUEST_ID};
use shared::runtime::Ctx;

use crate::body::IntoAnswer;
pub use crate::body::{Aborted, Body, Chunks};

/// The Cloudflare Workers, each a cargo feature of this crate and a wrangler config (`app`'s is the
/// project's `wrangler.toml`, the others' `wrangler/<worker>.toml`):
/// `app` what members use day to day, `admin` platform and organization administration,
/// `billing` Stripe (checkout, portal, payment holds), the providers' webhooks and the scheduled
/// jobs.
pub const WORKERS: &[&str] = &["app", "admin", "billing"];

/// Declares every function and cron job once, with the Worker that serves it: `"name" => module
/// in "worker"`. A build registers those of its enabled Workers only.
macro_rules! registry {
    (
        functions { $($name:literal => $module:ident in $worker:literal,)* }
        cron_jobs { $($job:ident in $job_worker:literal,)* }
    ) => {
        /// Names of the functions this build registers (every function, except in a Worker's).
        pub const NAMES: &[&str] = &[$(#[cfg(feature = $worker)] $name,)*];

        /// Every function with the Worker that serves it, whichever this build registers.
        pub const WORKER_OF_FUNCTION: &[(&str, &str)] = &[$(($name, $worker),)*];

        /// The scheduled jobs this build's cron triggers run, each on its own schedule (the
        /// Worker's `[triggers] crons` lists exactly these; a test keeps them in step).
        pub const CRON_JOBS: &[CronJob] = &[$(#[cfg(feature = $job_worker)]
            CronJob { name: $job::NAME, schedule: $job::SCHEDULE },)*];

        /// Every cron job with the Worker whose trigger runs it.
        pub const WORKER_OF_CRON_JOB: &[(&str, &str)] = &[$(($job::NAME, $job_worker),)*];

        async fn route(
            name: &str,
            request: Request<Bytes>,
            ctx: &Ctx,
        ) -> Result<Response<Body>, ApiError> {
            match name {
                $(#[cfg(feature = $worker)]
                $name => $module::handle(request, ctx).await.map(IntoAnswer::into_answer),)*
                _ => Err(ApiError::not_found(format!("no function named {name}"))),
            }
        }

        /// Runs the scheduled job `job`; an unknown name is a `not_found` error.
        pub async fn run_cron(job: &str, ctx: &Ctx) -> Result<(), ApiError> {
            ctx.log.info("cron", json!({ "job": job }));
            match job {
                $(#[cfg(feature = $job_worker)] $job::NAME => $job::run(ctx).await,)*
                _ => Err(ApiError::not_found(format!("no cron job named {job}"))),
            }
        }
    };
}

// Adding a function: its module above, its line here (the Worker is the one decision), its route
// in that Worker's `wrangler/<worker>.toml`, its path in `openapi.json` and its component in
// `spin.toml` (tests fail until all agree).
registry! {
    functions {
        "health"             => health             in "app",
        "goals-calculate"    => goals_calculate    in "app",
        "goals"              => goals              in "app",
        "goals-progress"     => goals_progress     in "app",
        "activities"         => activities         in "app",
        "activities-today"   => activities_today   in "app",
        "referral-rules"     => referral_rules     in "app",
        "scenarios"          => scenarios          in "app",
        "auth-login"         => auth_login         in "app",
        "auth-refresh"       => auth_refresh       in "app",
        "auth-logout"        => auth_logout        in "app",
        "auth-session"       => auth_session       in "app",
        "flags"              => flags              in "app",
        "kpi-me"             => kpi_me             in "app",
        "kpi-org"            => kpi_org            in "app",
        "messages"           => messages           in "app",
        "message-thread"     => message_thread     in "app",
        "messages-unread"    => messages_unread    in "app",
        "notifications"      => notifications      in "app",

        "admin-flags"        => admin_flags        in "admin",
        "admin-audit"        => admin_audit        in "admin",
        "admin-audit-export" => admin_audit_export in "admin",
        "admin-sims"         => admin_sims         in "admin",
        "admin-impersonate"  => admin_impersonate  in "admin",
        "admin-users"        => admin_users        in "admin",
        "admin-orgs"         => admin_orgs         in "admin",

        "stripe-webhook"     => stripe_webhook     in "billing",
        "mailgun-webhook"    => mailgun_webhook    in "billing",
        "billing-checkout"   => billing_checkout   in "billing",
        "billing-portal"     => billing_portal     in "billing",
        "billing-holds"      => billing_holds      in "billing",
    }
    cron_jobs {
        cron_payment_holds  in "billing",
        cron_retention      in "billing",
        cron_email_dispatch in "billing",
    }
}

/// A scheduled job and when it runs: a cron expression, as the hosts' triggers name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CronJob {
    pub name: &'static str,
    pub schedule: &'static str,
}

/// The jobs a trigger fired with `schedule` runs (a Worker's scheduled event names its cron).
pub fn cron_jobs_on(schedule: &str) -> Vec<&'static str> {
    let schedule = schedule.split_whitespace().collect::<Vec<_>>().join(" ");
    CRON_JOBS.iter().filter(|job| job.schedule == schedule).map(|job| job.name).collect()
}

/// The function a host's request path names: `/functions/v1/<name>` gives `<name>`; any other
/// path names none. The WASM hosts route with it; the native gateway's router does the same.
pub fn function_name(path: &str) -> Option<&str> {
    let name = path.strip_prefix("/functions/v1/")?;
    (!name.is_empty() && !name.contains('/')).then_some(name)
}

/// Runs the function `name` on `request`. Never fails: errors leave as the JSON envelope. A
/// streamed body is produced while the host sends it (errors after its first byte abort it).
pub async fn serve(name: &str, request: Request<Bytes>, ctx: &Ctx) -> Response<Body> {
    let request_headers = request.headers().clone();
    let method = request.method().clone();
    let mut response = if method == Method::OPTIONS {
        cors::preflight(&request_headers, &ctx.config).map(Body::Whole)
    } else {
        let answer = if request.body().len() > MAX_BODY_BYTES {
            Err(ApiError::payload_too_large(MAX_BODY_BYTES))
        } else {
            route(name, request, ctx).await
        };
        answer.unwrap_or_else(|error| error.into_response().into_answer())
    };
    if method != Method::OPTIONS {
        cors::apply(&request_headers, &mut response, &ctx.config);
    }
    if let Ok(id) = HeaderValue::from_str(&ctx.request_id) {
        response.headers_mut().insert(REQUEST_ID, id);
    }
    let status = response.status().as_u16();
    let fields = json!({ "function": name, "method": method.as_str(), "status": status });
    if response.status().is_server_error() {
        ctx.log.error("request", fields);
    } else {
        ctx.log.info("request", fields);
    }
    response
}

/// [`serve`] with the body collected in memory, for tests and benchmarks; hosts call `serve`. A
/// streamed body that aborts becomes a 500.
pub async fn dispatch(name: &str, request: Request<Bytes>, ctx: &Ctx) -> Response<Bytes> {
    let (parts, body) = serve(name, request, ctx).await.into_parts();
    match body.collect().await {
        Ok(bytes) => Response::from_parts(parts, bytes),
        Err(Aborted) => ApiError::internal().into_response(),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::rc::Rc;
    use std::sync::Arc;

    use http::{StatusCode, header};
    use shared::runtime::{Config, HttpClient, HttpError, HttpFuture};
    use shared::testing::block_on;

    use super::*;

    /// No outbound calls expected: any attempt fails like an unreachable upstream.
    pub struct NoNetwork;

    impl HttpClient for NoNetwork {
        fn send<'a>(&'a self, _request: Request<Bytes>) -> HttpFuture<'a> {
            Box::pin(async { Err(HttpError::Unreachable("no network in unit tests".into())) })
        }
    }

    pub const SECRET: &str = "unit-test-jwt-secret-with-at-least-32-characters";
    pub const NOW: u64 = 1_800_000_000;

    pub fn ctx() -> Ctx {
        let vars = [
            ("SUPABASE_URL", "http://127.0.0.1:54321"),
            ("SUPABASE_ANON_KEY", "anon"),
            ("SUPABASE_JWT_SECRET", SECRET),
            ("ALLOWED_ORIGINS", "https://app.example"),
        ];
        let config = Config::from_lookup(|name| {
            vars.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        })
        .unwrap();
        Ctx::new(Arc::new(config), Rc::new(NoNetwork), "req-1", NOW).with_log_sink(Rc::new(|_| {}))
    }

    pub fn call(
        name: &str,
        request: Request<Bytes>,
    ) -> (StatusCode, serde_json::Value, Response<Bytes>) {
        let response = block_on(dispatch(name, request, &ctx()));
        let body = serde_json::from_slice(response.body()).unwrap_or(serde_json::Value::Null);
        (response.status(), body, response)
    }

    /// The signed-in user of [`call_as_user`], as `auth::authenticate` reads them.
    pub fn caller() -> shared::auth::Caller {
        let request = Request::builder()
            .header(header::AUTHORIZATION, format!("Bearer {}", user_token()))
            .body(Bytes::new())
            .unwrap();
        block_on(shared::auth::authenticate(&request, &ctx())).unwrap()
    }

    fn user_token() -> String {
        shared::testing::hs256(
            &json!({"sub": "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a", "aud": "authenticated",
                    "role": "authenticated", "exp": NOW + 60}),
            SECRET,
        )
    }

    /// `method /functions/v1/<name><query>` with a JSON body, as a signed-in user.
    pub fn call_as_user(
        name: &str,
        method: &str,
        query: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let request = Request::builder()
            .method(method)
            .uri(format!("/functions/v1/{name}{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", user_token()))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Bytes::from(body.to_string()))
            .unwrap();
        let (status, body, _) = call(name, request);
        (status.as_u16(), body)
    }

    /// Asserts a 422 whose message starts with `field`.
    pub fn assert_names(answer: &(u16, serde_json::Value), field: &str) {
        let (status, error) = answer;
        assert_eq!(*status, 422, "{error}");
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{field}: ")), "{message:?} should name {field}");
    }

    #[test]
    fn an_unknown_function_is_a_json_404() {
        let (status, body, _) = call("nope", Request::new(Bytes::new()));
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "not_found");
    }

    #[test]
    fn only_a_single_segment_under_functions_v1_names_a_function() {
        for (path, name) in [
            ("/functions/v1/health", Some("health")),
            ("/functions/v1/goals-calculate", Some("goals-calculate")),
            ("/functions/v1/", None),
            ("/functions/v1/health/extra", None),
            ("/functions/v2/health", None),
            ("/health", None),
        ] {
            assert_eq!(function_name(path), name, "{path}");
        }
    }

    #[test]
    fn every_registered_name_is_routed() {
        for name in NAMES {
            let (status, _, _) = call(name, Request::new(Bytes::new()));
            assert_ne!(status, StatusCode::NOT_FOUND, "{name} is listed but not routed");
        }
    }

    #[test]
    fn every_response_carries_the_request_id_and_cors_for_allowed_origins() {
        let request = Request::builder()
            .header(header::ORIGIN, "https://app.example")
            .body(Bytes::new())
            .unwrap();
        let (_, _, response) = call("health", request);
        assert_eq!(response.headers()[REQUEST_ID], "req-1");
        assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example");
    }

    #[test]
    fn a_preflight_is_answered_before_any_function_runs() {
        let request = Request::builder()
            .method(Method::OPTIONS)
            .header(header::ORIGIN, "https://app.example")
            .body(Bytes::new())
            .unwrap();
        let (status, _, response) = call("nope", request);
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(response.headers()[REQUEST_ID], "req-1");
    }

    #[test]
    fn a_body_over_the_limit_is_refused_whatever_the_function() {
        let request = Request::new(Bytes::from(vec![b' '; MAX_BODY_BYTES + 1]));
        let (status, body, _) = call("health", request);
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body["error"]["code"], "payload_too_large");
    }

    #[test]
    fn an_unknown_cron_job_is_not_found_and_every_listed_one_runs() {
        let error = block_on(run_cron("nightly", &ctx())).unwrap_err();
        assert_eq!(error.status, StatusCode::NOT_FOUND);
        for job in CRON_JOBS {
            // The unit context has no service-role key: the job is found and stops there.
            let error = block_on(run_cron(job.name, &ctx())).unwrap_err();
            assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", job.name);
        }
    }

    #[test]
    fn each_trigger_runs_the_jobs_of_its_own_schedule() {
        assert_eq!(cron_jobs_on("* * * * *"), ["email-dispatch"]);
        assert_eq!(cron_jobs_on("17  * * * *"), ["payment-holds-expiry"]);
        assert_eq!(cron_jobs_on("47 * * * *"), ["retention"]);
        assert!(cron_jobs_on("0 3 * * *").is_empty());
    }
}
