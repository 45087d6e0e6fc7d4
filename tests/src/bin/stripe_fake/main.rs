//! A local Stripe for what localstripe lacks: Prices, Checkout Sessions and billing portal
//! sessions, validated as Stripe validates them (secret-key auth, form encoding, required and
//! unknown parameters, `lookup_key` uniqueness, line-item limits, idempotency keys) and answered
//! in Stripe's object shapes. Every other `/v1` request is passed to localstripe unchanged, so
//! customers, products and payment intents are localstripe's. A test-only endpoint completes a
//! checkout session, sending the signed webhook events Stripe would send.
//!
//! `stripe-fake --port P` with `LOCALSTRIPE_URL`, and for completions `STRIPE_WEBHOOK_SECRET`
//! and `STRIPE_FAKE_WEBHOOK_URL` (a completion may name another URL).

mod checkout;
mod params;
mod prices;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};

use crate::params::StripeError;

/// What the fake holds; localstripe holds the rest.
#[derive(Default)]
pub struct Store {
    pub prices: Vec<Value>,
    pub sessions: Vec<checkout::Session>,
    /// (API key, Idempotency-Key) → (method and path and body, status, answer).
    idempotent: HashMap<(String, String), (String, StatusCode, Value)>,
    next_id: u64,
}

impl Store {
    /// A fresh id with Stripe's prefix, unique within this process and across restarts.
    pub fn new_id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}_{:x}{:08}", now(), self.next_id)
    }
}

#[derive(Clone)]
pub struct App {
    pub store: Arc<Mutex<Store>>,
    pub http: reqwest::Client,
    pub localstripe: String,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub base_url: String,
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// A request as the endpoints see it: the caller's key and the parsed parameters.
pub struct Call {
    pub api_key: String,
    pub params: Value,
}

pub type Answer = Result<Value, StripeError>;

fn respond(answer: Answer) -> Response {
    match answer {
        Ok(object) => (StatusCode::OK, axum::Json(object)).into_response(),
        Err(error) => (error.status, axum::Json(error.body)).into_response(),
    }
}

/// The secret key from `Authorization: Bearer sk_…` or Basic `sk_…:`, as Stripe accepts it.
fn api_key(headers: &HeaderMap) -> Result<String, StripeError> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).ok_or_else(|| {
        StripeError::unauthorized(
            "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth.",
        )
    })?;
    let key = if let Some(token) = value.strip_prefix("Bearer ") {
        token.trim().to_owned()
    } else if let Some(basic) = value.strip_prefix("Basic ") {
        use base64::Engine;
        let decoded =
            base64::engine::general_purpose::STANDARD.decode(basic.trim()).unwrap_or_default();
        String::from_utf8_lossy(&decoded).trim_end_matches(':').to_owned()
    } else {
        String::new()
    };
    let secret = (key.starts_with("sk_test_") || key.starts_with("rk_test_")) && key.len() > 8;
    if !secret {
        let shown: String = key.chars().take(8).collect();
        return Err(StripeError::unauthorized(format!("Invalid API Key provided: {shown}****")));
    }
    Ok(key)
}

/// Authenticates, parses the parameters (body for POST, query for GET) and applies Stripe's
/// idempotency rules to POSTs: the same key with the same request answers the first answer
/// again; with another request it is an `idempotency_error`.
async fn handle<F, Fut>(
    app: &App,
    method: Method,
    path: &str,
    headers: &HeaderMap,
    query: Option<String>,
    body: Bytes,
    endpoint: F,
) -> Response
where
    F: FnOnce(App, Call) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let api_key = match api_key(headers) {
        Ok(key) => key,
        Err(error) => return respond(Err(error)),
    };
    let encoded =
        if method == Method::POST { body.to_vec() } else { query.unwrap_or_default().into_bytes() };
    let params = match params::parse(&encoded) {
        Ok(params) => params,
        Err(error) => return respond(Err(error)),
    };
    let idempotency_key =
        headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let fingerprint = format!("{method} {path} {}", String::from_utf8_lossy(&encoded));
    let slot = idempotency_key.filter(|_| method == Method::POST).map(|key| (api_key.clone(), key));
    if let Some(slot) = &slot {
        if slot.1.len() > 255 {
            return respond(Err(StripeError::invalid(
                None,
                None,
                "Idempotency-Key must be at most 255 characters long.",
            )));
        }
        let store = app.store.lock().unwrap();
        if let Some((seen, status, answer)) = store.idempotent.get(slot) {
            if *seen != fingerprint {
                let body = json!({"error": {"type": "idempotency_error", "message":
                    format!("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{}' if you meant to execute a different request.", slot.1)}});
                return (StatusCode::BAD_REQUEST, axum::Json(body)).into_response();
            }
            let mut response = (*status, axum::Json(answer.clone())).into_response();
            response.headers_mut().insert("idempotent-replayed", "true".parse().unwrap());
            return response;
        }
    }
    let answer = endpoint(app.clone(), Call { api_key, params }).await;
    let (status, body) = match &answer {
        Ok(object) => (StatusCode::OK, object.clone()),
        Err(error) => (error.status, error.body.clone()),
    };
    // Stripe keeps the answer for a key unless the request failed validation before running.
    if let Some(slot) = slot.filter(|_| status.is_success()) {
        app.store.lock().unwrap().idempotent.insert(slot, (fingerprint, status, body.clone()));
    }
    (status, axum::Json(body)).into_response()
}

/// localstripe's answer to the same request, for everything the fake does not serve.
async fn forward(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let target =
        format!("{}{}", app.localstripe, uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    // localstripe still requires the product `type` Stripe dropped; the fake adds it, so that
    // callers send what today's Stripe accepts.
    let body = if method == Method::POST && uri.path() == "/v1/products" {
        let params = params::parse(&body).unwrap_or_default();
        if params.get("type").is_none() {
            let mut with_type = body.to_vec();
            with_type.extend_from_slice(if body.is_empty() {
                b"type=service"
            } else {
                b"&type=service"
            });
            Bytes::from(with_type)
        } else {
            body
        }
    } else {
        body
    };
    let mut request = app.http.request(method, target).body(body);
    for name in [header::AUTHORIZATION, header::CONTENT_TYPE] {
        if let Some(value) = headers.get(&name) {
            request = request.header(name, value);
        }
    }
    for name in ["idempotency-key", "stripe-version"] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(answer) => {
            let status = answer.status();
            let content_type = answer.headers().get(header::CONTENT_TYPE).cloned();
            let mut bytes = answer.bytes().await.unwrap_or_default();
            if uri.path().starts_with("/v1/products") {
                bytes = products_as_stripe_answers(bytes);
            }
            let mut response = (status, bytes).into_response();
            if let Some(content_type) = content_type {
                response.headers_mut().insert(header::CONTENT_TYPE, content_type);
            }
            response
        }
        Err(error) => (StatusCode::BAD_GATEWAY, format!("localstripe: {error}")).into_response(),
    }
}

/// localstripe 1.15 keeps a product's updated `active` as the text it was sent ("false"); Stripe
/// answers a boolean.
fn products_as_stripe_answers(bytes: Bytes) -> Bytes {
    let Ok(mut answer) = serde_json::from_slice::<Value>(&bytes) else { return bytes };
    let fix = |product: &mut Value| {
        if let Some(text) = product.get("active").and_then(Value::as_str) {
            product["active"] = json!(text == "true");
        }
    };
    match answer.get_mut("data").and_then(Value::as_array_mut) {
        Some(products) => products.iter_mut().for_each(fix),
        None => fix(&mut answer),
    }
    Bytes::from(answer.to_string())
}

/// Asks localstripe for an object, so references (`product`, `customer`) are checked as Stripe
/// checks them.
pub async fn localstripe_object(app: &App, api_key: &str, path: &str) -> Option<Value> {
    let answer = app
        .http
        .get(format!("{}{path}", app.localstripe))
        .bearer_auth(api_key)
        .send()
        .await
        .ok()?;
    if !answer.status().is_success() {
        return None;
    }
    answer.json().await.ok()
}

/// Creates an object in localstripe (a customer, a product) on the fake's own behalf.
pub async fn localstripe_post(
    app: &App,
    api_key: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> Result<Value, StripeError> {
    let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
    let failed =
        |reason: String| StripeError::invalid(None, None, format!("localstripe: {reason}"));
    let answer = app
        .http
        .post(format!("{}{path}", app.localstripe))
        .bearer_auth(api_key)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !answer.status().is_success() {
        return Err(failed(format!("{path} answered {}", answer.status())));
    }
    answer.json().await.map_err(|e| failed(e.to_string()))
}

/// A route to `$f(app, call)` through [`handle`] (auth, parameters, idempotency).
macro_rules! endpoint {
    ($method:expr, $f:expr) => {
        |State(app): State<App>,
         uri: Uri,
         headers: HeaderMap,
         RawQuery(query): RawQuery,
         body: Bytes| async move {
            handle(&app, $method, uri.path(), &headers, query, body, $f).await
        }
    };
}

/// A route to `$f(app, call, id)` for paths naming one object.
macro_rules! endpoint_for_id {
    ($method:expr, $f:expr) => {
        |State(app): State<App>,
         Path(id): Path<String>,
         uri: Uri,
         headers: HeaderMap,
         RawQuery(query): RawQuery,
         body: Bytes| async move {
            let call = |app, call| $f(app, call, id);
            handle(&app, $method, uri.path(), &headers, query, body, call).await
        }
    };
}

fn router(app: App) -> Router {
    Router::new()
        .route(
            "/v1/prices",
            post(endpoint!(Method::POST, prices::create)).get(endpoint!(Method::GET, prices::list)),
        )
        .route(
            "/v1/prices/{id}",
            get(endpoint_for_id!(Method::GET, prices::retrieve))
                .post(endpoint_for_id!(Method::POST, prices::update)),
        )
        .route(
            "/v1/checkout/sessions",
            post(endpoint!(Method::POST, checkout::create))
                .get(endpoint!(Method::GET, checkout::list)),
        )
        .route("/v1/checkout/sessions/{id}", get(endpoint_for_id!(Method::GET, checkout::retrieve)))
        .route(
            "/v1/checkout/sessions/{id}/line_items",
            get(endpoint_for_id!(Method::GET, checkout::line_items)),
        )
        .route("/v1/billing_portal/sessions", post(endpoint!(Method::POST, checkout::portal)))
        .route(
            "/_test/checkout/sessions/{id}/complete",
            post(|State(app): State<App>, Path(id): Path<String>, body: Bytes| async move {
                respond(checkout::complete(app, id, body).await)
            }),
        )
        .fallback(any(forward))
        .with_state(app)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port = integration_tests::port_arg(12111);
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let app = App {
        store: Arc::default(),
        http: reqwest::Client::new(),
        localstripe: env("LOCALSTRIPE_URL").unwrap_or_else(|| "http://127.0.0.1:8420".into()),
        webhook_url: env("STRIPE_FAKE_WEBHOOK_URL"),
        webhook_secret: env("STRIPE_WEBHOOK_SECRET"),
        base_url: format!("http://127.0.0.1:{port}"),
    };
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the port is free");
    eprintln!("stripe-fake on 127.0.0.1:{port}, forwarding to {}", app.localstripe);
    axum::serve(listener, router(app)).await.expect("the server runs");
}
