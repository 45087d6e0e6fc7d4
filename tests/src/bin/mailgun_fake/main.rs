//! A local Mailgun for the e-mail tests: `POST /v3/{domain}/messages` checked as Mailgun checks
//! it — basic auth with user `api` and the key (else 401 `Forbidden`), the configured sending
//! domain (else 404), a form body (urlencoded or multipart) with `from`, `to`, `subject` and one
//! of `text`/`html`/`template` (else 400 with Mailgun's `{"message": …}`) — and answered in
//! Mailgun's shape, `{"id": "<…@domain>", "message": "Queued. Thank you."}`.
//!
//! For assertions: `GET /__requests?to=<address>` lists the send requests for an address (every
//! one, with the status it got); `POST /__fail` with `{"to", "count", "status"}` makes the next
//! `count` sends to that address fail with `status` (500, 429, …), per address so that tests
//! running side by side do not take each other's failures.
//!
//! `mailgun-fake --port P` with `MAILGUN_API_KEY` and `MAILGUN_DOMAIN`.

mod form;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Map, Value, json};

/// Fields of which a send needs at least one: the body of the e-mail.
const BODY_FIELDS: [&str; 3] = ["text", "html", "template"];

#[derive(Default)]
struct Store {
    /// Every send request, in arrival order.
    requests: Vec<Value>,
    /// Address → (failures still to give, status).
    failures: HashMap<String, (u32, StatusCode)>,
    sent: u64,
}

#[derive(Clone)]
struct App {
    api_key: String,
    domain: String,
    store: Arc<Mutex<Store>>,
}

fn message(status: StatusCode, text: &str) -> Response {
    (status, axum::Json(json!({ "message": text }))).into_response()
}

/// How Mailgun refuses a send: 401 with a plain `Forbidden`, else a status with `{"message"}`.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    Forbidden,
    Message(StatusCode, String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Self::Forbidden => (StatusCode::UNAUTHORIZED, "Forbidden").into_response(),
            Self::Message(status, text) => message(status, &text),
        }
    }
}

/// Whether `headers` carry Basic credentials `api:<key>`.
fn authorized(headers: &HeaderMap, key: &str) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Basic "))
    else {
        return false;
    };
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim());
    decoded.is_ok_and(|credentials| credentials == format!("api:{key}").as_bytes())
}

/// Mailgun's checks of a send, in its order; the refusal or the accepted form's fields.
fn check(
    app: &App,
    domain: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Vec<(String, String)>, Refusal> {
    if !authorized(headers, &app.api_key) {
        return Err(Refusal::Forbidden);
    }
    if domain != app.domain {
        return Err(Refusal::Message(StatusCode::NOT_FOUND, format!("Domain not found: {domain}")));
    }
    let content_type =
        headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let fields = form::fields(content_type, body).unwrap_or_default();
    let value = |name: &str| {
        fields.iter().find(|(key, value)| key == name && !value.trim().is_empty()).map(|(_, v)| v)
    };
    for required in ["from", "to", "subject"] {
        if value(required).is_none() {
            return Err(Refusal::Message(
                StatusCode::BAD_REQUEST,
                format!("{required} parameter is missing"),
            ));
        }
    }
    if !BODY_FIELDS.iter().any(|name| value(name).is_some()) {
        return Err(Refusal::Message(
            StatusCode::BAD_REQUEST,
            "Need at least one of 'text', 'html' or 'template' parameters specified".into(),
        ));
    }
    let to = value("to").map(String::as_str).unwrap_or("");
    let plausible = to.split(',').all(|address| {
        let address = address.trim();
        let bare = address.rsplit_once('<').map_or(address, |(_, rest)| rest.trim_end_matches('>'));
        bare.split_once('@').is_some_and(|(local, host)| !local.is_empty() && host.contains('.'))
    });
    if !plausible {
        return Err(Refusal::Message(
            StatusCode::BAD_REQUEST,
            "to parameter is not a valid address. please check documentation".into(),
        ));
    }
    Ok(fields)
}

async fn send(
    State(app): State<App>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fields = match check(&app, &domain, &headers, &body) {
        Ok(fields) => fields,
        Err(refusal) => return refusal.into_response(),
    };
    let as_object: Map<String, Value> =
        fields.iter().map(|(key, value)| (key.clone(), Value::from(value.as_str()))).collect();
    let to = as_object["to"].as_str().unwrap_or("").to_owned();
    let mut store = app.store.lock().unwrap();
    let failure = store.failures.get_mut(&to).filter(|(left, _)| *left > 0).map(|entry| {
        entry.0 -= 1;
        entry.1
    });
    let (status, answer) = match failure {
        Some(status) => {
            let text = if status == StatusCode::TOO_MANY_REQUESTS {
                "Too many requests"
            } else {
                "Internal Server Error"
            };
            (status, json!({ "message": text }))
        }
        None => {
            store.sent += 1;
            let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
            let id = format!("<{now}.{}@{}>", store.sent, app.domain);
            (StatusCode::OK, json!({ "id": id, "message": "Queued. Thank you." }))
        }
    };
    store.requests.push(json!({
        "domain": domain,
        "content_type": headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()),
        "fields": as_object,
        "status": status.as_u16(),
        "answer": answer,
    }));
    (status, axum::Json(answer)).into_response()
}

async fn requests(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let store = app.store.lock().unwrap();
    let to = query.get("to");
    let listed: Vec<&Value> = store
        .requests
        .iter()
        .filter(|request| to.is_none_or(|to| request["fields"]["to"] == to.as_str()))
        .collect();
    axum::Json(json!(listed)).into_response()
}

async fn fail(State(app): State<App>, axum::Json(order): axum::Json<Value>) -> Response {
    let (Some(to), Some(count), Some(status)) = (
        order["to"].as_str(),
        order["count"].as_u64().and_then(|c| u32::try_from(c).ok()),
        order["status"].as_u64().and_then(|s| u16::try_from(s).ok()),
    ) else {
        return message(StatusCode::BAD_REQUEST, "expected {\"to\", \"count\", \"status\"}");
    };
    let Ok(status) = StatusCode::from_u16(status) else {
        return message(StatusCode::BAD_REQUEST, "status is not an HTTP status");
    };
    app.store.lock().unwrap().failures.insert(to.to_owned(), (count, status));
    StatusCode::NO_CONTENT.into_response()
}

fn router(app: App) -> Router {
    Router::new()
        .route("/v3/{domain}/messages", post(send))
        .route("/__requests", get(requests))
        .route("/__fail", post(fail))
        .with_state(app)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let port = integration_tests::port_arg(54336);
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let app = App {
        api_key: env("MAILGUN_API_KEY").expect("MAILGUN_API_KEY is the key the fake accepts"),
        domain: env("MAILGUN_DOMAIN").expect("MAILGUN_DOMAIN is the domain the fake serves"),
        store: Arc::default(),
    };
    let listener =
        tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the port is free");
    eprintln!("mailgun-fake on 127.0.0.1:{port} for {}", app.domain);
    axum::serve(listener, router(app)).await.expect("the server runs");
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn app() -> App {
        App { api_key: "key-1".into(), domain: "mg.test".into(), store: Arc::default() }
    }

    fn headers(credentials: &str, content_type: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let basic = base64::engine::general_purpose::STANDARD.encode(credentials);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {basic}")).unwrap(),
        );
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        headers
    }

    const FORM: &str = "application/x-www-form-urlencoded";

    fn refusal(domain: &str, headers: &HeaderMap, body: &str) -> Refusal {
        check(&app(), domain, headers, body.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_wrong_key_or_user_is_forbidden_before_anything_else() {
        for credentials in ["api:other", "user:key-1", "api:"] {
            let answer = refusal("elsewhere.test", &headers(credentials, FORM), "");
            assert_eq!(answer, Refusal::Forbidden, "{credentials}");
        }
    }

    #[test]
    fn another_domain_is_not_found() {
        let answer = refusal("mg.other.test", &headers("api:key-1", FORM), "");
        let expected = "Domain not found: mg.other.test".to_owned();
        assert_eq!(answer, Refusal::Message(StatusCode::NOT_FOUND, expected));
    }

    #[test]
    fn each_required_field_is_named_when_missing() {
        let auth = headers("api:key-1", FORM);
        let check = |body: &str, expected: &str| {
            let answer = refusal("mg.test", &auth, body);
            assert_eq!(answer, Refusal::Message(StatusCode::BAD_REQUEST, expected.into()));
        };
        check("to=a%40b.test&subject=s&text=t", "from parameter is missing");
        check("from=f%40mg.test&subject=s&text=t", "to parameter is missing");
        check("from=f%40mg.test&to=a%40b.test&subject=&text=t", "subject parameter is missing");
        check(
            "from=f%40mg.test&to=a%40b.test&subject=s",
            "Need at least one of 'text', 'html' or 'template' parameters specified",
        );
        check(
            "from=f%40mg.test&to=nobody&subject=s&text=t",
            "to parameter is not a valid address. please check documentation",
        );
        let json = headers("api:key-1", "application/json");
        let answer = refusal("mg.test", &json, r#"{"from":"f@mg.test"}"#);
        let expected = "from parameter is missing".to_owned();
        assert_eq!(
            answer,
            Refusal::Message(StatusCode::BAD_REQUEST, expected),
            "JSON is not a form"
        );
    }

    #[test]
    fn a_complete_form_in_either_encoding_is_accepted() {
        let accepted = check(
            &app(),
            "mg.test",
            &headers("api:key-1", FORM),
            b"from=f%40mg.test&to=Rep%20%3Ca%40b.test%3E&subject=s&html=%3Cp%3Ehi%3C%2Fp%3E",
        );
        assert!(accepted.is_ok());
        let multipart = "--b\r\nContent-Disposition: form-data; name=\"from\"\r\n\r\nf@mg.test\r\n\
                         --b\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\na@b.test\r\n\
                         --b\r\nContent-Disposition: form-data; name=\"subject\"\r\n\r\ns\r\n\
                         --b\r\nContent-Disposition: form-data; name=\"template\"\r\n\r\nwelcome\r\n--b--\r\n";
        let accepted = check(
            &app(),
            "mg.test",
            &headers("api:key-1", "multipart/form-data; boundary=b"),
            multipart.as_bytes(),
        );
        assert_eq!(accepted.unwrap().len(), 4);
    }
}
