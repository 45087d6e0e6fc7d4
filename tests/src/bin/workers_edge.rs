//! A local stand-in for Cloudflare's edge in front of the Workers: each request goes to the
//! Worker whose route (in its wrangler config) matches its URL, as in production, so the
//! tests reach every Worker through one URL and a function without its route is not reached.
//! Answers pass through as they stream, and repeated headers (`Set-Cookie`) all arrive.
//!
//! `workers-edge --port P app=http://127.0.0.1:P1 admin=http://127.0.0.1:P2 …` (scripts/test
//! starts it).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::stream;
use integration_tests::worker_routes::Routes;

struct Edge {
    routes: Routes,
    /// Worker name → the base URL of its `wrangler dev`.
    workers: HashMap<String, String>,
    http: reqwest::Client,
}

/// Headers of one hop only, never passed on.
const HOP_BY_HOP: [header::HeaderName; 4] =
    [header::CONNECTION, header::TRANSFER_ENCODING, header::HOST, header::CONTENT_LENGTH];

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: workers-edge --port P WORKER=URL...";
    let (port, workers) = match &args[..] {
        [flag, port, workers @ ..] if flag == "--port" && !workers.is_empty() => (port, workers),
        _ => panic!("{usage}"),
    };
    let workers: HashMap<String, String> = workers
        .iter()
        .map(|arg| arg.split_once('=').expect(usage))
        .map(|(name, url)| (name.to_owned(), url.trim_end_matches('/').to_owned()))
        .collect();
    let names: Vec<&str> = workers.keys().map(String::as_str).collect();
    // The repository this binary was built in, wherever it is started from.
    let repository = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let routes = Routes::load(&repository, &names).unwrap_or_else(|error| panic!("{error}"));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    let edge = Arc::new(Edge { routes, workers, http });
    let app = Router::new().fallback(forward).with_state(edge);
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await.unwrap();
    axum::serve(listener, app).await.unwrap();
}

async fn forward(State(edge): State<Arc<Edge>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let worker = match edge.routes.worker_for(&path) {
        Ok(Some(worker)) => worker,
        Ok(None) => {
            return (StatusCode::NOT_FOUND, format!("no Worker route matches {path}"))
                .into_response();
        }
        Err(error) => return (StatusCode::INTERNAL_SERVER_ERROR, error).into_response(),
    };
    let Ok(body) = axum::body::to_bytes(body, usize::MAX).await else {
        return (StatusCode::BAD_REQUEST, "the request body could not be read").into_response();
    };
    let url = format!("{}{path}", edge.workers[worker]);
    let mut outgoing = edge.http.request(parts.method, url).body(body);
    for (name, value) in parts.headers.iter().filter(|(name, _)| !HOP_BY_HOP.contains(name)) {
        outgoing = outgoing.header(name, value);
    }
    let answer = match outgoing.send().await {
        Ok(answer) => answer,
        Err(error) => {
            return (StatusCode::BAD_GATEWAY, format!("{worker}: {error}")).into_response();
        }
    };
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers().iter().filter(|(name, _)| !HOP_BY_HOP.contains(name)) {
        response = response.header(name, value);
    }
    let chunks = stream::unfold(answer, |mut answer| async move {
        answer.chunk().await.transpose().map(|chunk| (chunk, answer))
    });
    response.body(Body::from_stream(chunks)).expect("the Worker's status and headers")
}
