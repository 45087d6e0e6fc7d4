//! The WASM builds really run: the Worker in workerd (`wrangler dev --local`) and the Spin
//! component in a wasi:http host (`jco serve`), both started by scripts/test, which passes their
//! URLs in `WORKERD_URL` and `SPIN_URL`. Each answers like the native host does.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// The base URL of a WASM host, or `None` (and a notice) when this run has not started it.
fn host(variable: &str) -> Option<String> {
    let url = std::env::var(variable).ok().filter(|url| !url.is_empty());
    if url.is_none() {
        eprintln!("{variable} is not set: skipped (scripts/test starts the WASM hosts)");
    }
    url
}

/// What a caller sees of an answer: status, content type and the JSON body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    body: Value,
}

async fn call(base: &str, method: Method, path: &str, body: Option<Vec<u8>>) -> Answer {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(body) = body {
        request = request.header("content-type", "application/json").body(body);
    }
    let response = request.send().await.unwrap_or_else(|e| panic!("{base}{path}: {e}"));
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map(|value| value.to_str().unwrap().to_owned());
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{base}{path} answered {status} with non-JSON {text:?}: {e}"));
    Answer { status, content_type, body }
}

/// The same request through the native gateway and through `base` gets the same answer.
async fn answers_like_native(base: &str, method: Method, path: &str, body: Option<Vec<u8>>) {
    let native = support::Stack::from_status().api_url;
    let expected = call(&native, method.clone(), path, body.clone()).await;
    let actual = call(base, method, path, body).await;
    assert_eq!(actual, expected, "{base}{path} differs from the native host");
}

async fn serves_the_registry_like_native(base: &str) {
    answers_like_native(base, Method::GET, "/functions/v1/health", None).await;
    answers_like_native(base, Method::GET, "/functions/v1/nope", None).await;
}

async fn refuses_paths_outside_the_functions(base: &str) {
    for path in ["/", "/functions/v1/", "/functions/v1/health/extra", "/rest/v1/goals"] {
        let answer = call(base, Method::GET, path, None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.body["error"]["code"], "not_found", "{path}");
    }
}

async fn refuses_a_body_over_one_mebibyte(base: &str) {
    let huge = vec![b' '; (1 << 20) + 1];
    let answer = call(base, Method::POST, "/functions/v1/health", Some(huge)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.body["error"]["code"], "payload_too_large");
}

#[tokio::test]
async fn the_worker_serves_the_registry_in_workerd_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    serves_the_registry_like_native(&base).await;
}

#[tokio::test]
async fn the_worker_refuses_paths_outside_the_functions() {
    let Some(base) = host("WORKERD_URL") else { return };
    refuses_paths_outside_the_functions(&base).await;
}

#[tokio::test]
async fn the_worker_refuses_a_body_over_one_mebibyte() {
    let Some(base) = host("WORKERD_URL") else { return };
    refuses_a_body_over_one_mebibyte(&base).await;
}

#[tokio::test]
async fn the_worker_runs_the_cron_jobs_on_its_scheduled_event() {
    let Some(base) = host("WORKERD_URL") else { return };
    let log = std::env::var("WORKERD_LOG").expect("WORKERD_LOG names wrangler's output");
    // `wrangler dev --test-scheduled` fires the scheduled event; the handler logs its tick.
    let cron = "17 3 * * *";
    let query = cron.replace(' ', "+");
    let response = reqwest::get(format!("{base}/__scheduled?cron={query}")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
    let ticked = |line: &str| {
        let json = line.find('{').and_then(|at| serde_json::from_str::<Value>(&line[at..]).ok());
        json.is_some_and(|json| json["event"] == "cron_tick" && json["cron"] == cron)
    };
    for _ in 0..50 {
        if std::fs::read_to_string(&log).unwrap().lines().any(ticked) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no cron_tick for {cron:?} in {log}");
}

#[tokio::test]
async fn the_spin_component_serves_the_registry_in_a_wasi_http_host_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    serves_the_registry_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_refuses_paths_outside_the_functions() {
    let Some(base) = host("SPIN_URL") else { return };
    refuses_paths_outside_the_functions(&base).await;
}

#[tokio::test]
async fn the_spin_component_refuses_a_body_over_one_mebibyte() {
    let Some(base) = host("SPIN_URL") else { return };
    refuses_a_body_over_one_mebibyte(&base).await;
}

#[test]
fn the_spin_manifest_declares_one_pinned_component_per_function() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../functions/spin.toml");
    let manifest: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
    let routes: Vec<(String, String)> = manifest["trigger"]["http"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["component"].as_str().unwrap().into(), t["route"].as_str().unwrap().into()))
        .collect();
    let components = manifest["component"].as_table().unwrap();
    assert_eq!(routes.len(), functions::NAMES.len(), "one route per function: {routes:?}");
    assert_eq!(components.len(), functions::NAMES.len(), "one component per function");
    for name in functions::NAMES {
        let route = format!("/functions/v1/{name}");
        assert!(routes.contains(&(name.to_string(), route)), "{name} has no route");
        let component = &components[*name];
        assert_eq!(component["environment"]["SALESPULSE_FUNCTION"].as_str(), Some(*name));
        assert_eq!(
            component["source"].as_str(),
            Some("../target/wasm32-wasip2/release/functions_spin.wasm")
        );
    }
}
