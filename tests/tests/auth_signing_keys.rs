//! Asymmetric signing keys end to end. Each test starts its own stack on the test database whose
//! `/auth/v1` signs ES256 (`GOTRUE_JWT_KEYS`) and publishes its JWKS: `/auth/v1` and `/rest/v1`
//! accept what it issues, a function accepts it after fetching the JWKS, a rotation is picked up
//! by a refetch, and forged tokens (a foreign key, `alg: none`, HS256 keyed with the public key)
//! are refused everywhere.

mod support;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use p256::ecdsa::SigningKey;
use p256::ecdsa::signature::Signer;
use serde_json::{Value, json};
use sha2::Sha256;
use shared::auth::jwks::REFETCH_FLOOR_SECS;
use shared::runtime::native::ReqwestClient;
use shared::runtime::{Config, Ctx};
use shared::testing::hs256;

const PASSWORD: &str = "correct-horse-7";

/// A `local-stack serve` of its own, on `port`, signing with `jwt_keys`; ended on drop.
struct SigningStack {
    child: Child,
    url: String,
    anon_key: String,
    secret: String,
    http: reqwest::Client,
}

impl SigningStack {
    async fn start(port: u16, jwt_keys: &Value) -> Self {
        let main = support::Stack::from_status();
        let status_file = std::env::temp_dir().join(format!("signing-stack-{port}.env"));
        let log_file = std::env::temp_dir().join(format!("signing-stack-{port}.log"));
        let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/debug/local-stack");
        let child = Command::new(&binary)
            .arg("serve")
            .env("DATABASE_URL", &main.db_url)
            .env("PGRST_SERVER_PORT", port.to_string())
            .env("PGRST_JWT_SECRET", &main.jwt_secret)
            .env("STACK_STATUS_FILE", &status_file)
            .env("GOTRUE_JWT_KEYS", jwt_keys.to_string())
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_file).unwrap())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", binary.display()));
        let stack = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            anon_key: main.anon_key.clone(),
            secret: main.jwt_secret,
            http: reqwest::Client::new(),
        };
        for _ in 0..300 {
            if stack.get_jwks().await.is_some() {
                return stack;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the signing stack on port {port} did not come up; see {}", log_file.display());
    }

    async fn get_jwks(&self) -> Option<Value> {
        let response =
            self.http.get(format!("{}/auth/v1/.well-known/jwks.json", self.url)).send().await;
        let response = response.ok().filter(|r| r.status() == 200)?;
        response.json().await.ok()
    }

    /// Signs up a fresh user and answers the access token.
    async fn sign_up(&self) -> String {
        let email = format!("signing-{}@example.com", uuid::Uuid::new_v4().simple());
        let session = self.auth("/signup", json!({"email": email, "password": PASSWORD})).await;
        session["access_token"].as_str().unwrap().to_owned()
    }

    /// Signs in again (the same user the token names) and answers the new access token.
    async fn sign_in(&self, email: &str) -> String {
        let body = json!({"email": email, "password": PASSWORD});
        let session = self.auth("/token?grant_type=password", body).await;
        session["access_token"].as_str().unwrap().to_owned()
    }

    async fn auth(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}/auth/v1{path}", self.url))
            .header("apikey", &self.anon_key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.json().await.unwrap()
    }

    /// Status and body of a GET with `token` as bearer (and the anon key as `apikey`).
    async fn get(&self, path: &str, token: &str) -> (u16, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.url))
            .header("apikey", &self.anon_key)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// `goals-calculate` through this stack's native function host.
    async fn calculate(&self, token: &str) -> (u16, Value) {
        calculate_at(&self.url, token).await
    }
}

/// `goals-calculate` through the function host at `base`.
async fn calculate_at(base: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/functions/v1/goals-calculate"))
        .bearer_auth(token)
        .json(&plan())
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A WASM host whose Supabase is a [`SigningStack`]: the Worker in workerd (`wrangler dev`) or
/// the Spin component in `jco serve`, as scripts/test runs them, in a process group of its own
/// that is ended on drop.
struct WasmHost {
    child: Child,
    url: String,
    log_file: PathBuf,
}

#[derive(Clone, Copy, Debug)]
enum Wasm {
    Worker,
    Spin,
}

impl WasmHost {
    async fn start(kind: Wasm, stack: &SigningStack) -> Self {
        let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let port = free_port();
        let log_file = std::env::temp_dir().join(format!("signing-wasm-{port}.log"));
        let mut command = match kind {
            Wasm::Worker => {
                let mut command = Command::new(repo.join("node_modules/.bin/wrangler"));
                command
                    .args(["dev", "--local", "--config", "wrangler.toml", "--ip", "127.0.0.1"])
                    .args(["--port", &port.to_string()])
                    .args(["--inspector-port", &free_port().to_string()])
                    .arg("--persist-to")
                    .arg(std::env::temp_dir().join(format!("signing-wasm-{port}")))
                    .args(["--var", &format!("SUPABASE_URL:{}", stack.url)])
                    .args(["--var", &format!("SUPABASE_ANON_KEY:{}", stack.anon_key)])
                    .args(["--var", &format!("SUPABASE_JWT_SECRET:{}", stack.secret)])
                    .env("CI", "1")
                    .env("WRANGLER_SEND_METRICS", "false");
                command
            }
            Wasm::Spin => {
                let mut command = Command::new(repo.join("node_modules/.bin/jco"));
                command
                    .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
                    .arg("target/wasm32-wasip2/release/functions_spin.wasm")
                    .env("SUPABASE_URL", &stack.url)
                    .env("SUPABASE_ANON_KEY", &stack.anon_key)
                    .env("SUPABASE_JWT_SECRET", &stack.secret);
                command
            }
        };
        let log = std::fs::File::create(&log_file).unwrap();
        let child = command
            .current_dir(&repo)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {kind:?}: {e}"));
        let host = Self { child, url: format!("http://127.0.0.1:{port}"), log_file };
        for _ in 0..600 {
            if reqwest::get(format!("{}/functions/v1/health", host.url)).await.is_ok() {
                return host;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{kind:?} did not come up; see {}", host.log_file.display());
    }

    /// How many times the host logged fetching the JWKS.
    fn jwks_fetches(&self) -> usize {
        let log = std::fs::read_to_string(&self.log_file).unwrap();
        log.lines().filter(|line| line.contains(r#""event":"jwks_fetched""#)).count()
    }
}

impl Drop for WasmHost {
    fn drop(&mut self) {
        // wrangler and jco leave workerd and node children behind unless the group is ended.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Drop for SigningStack {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32].into()).unwrap()
}

/// A `GOTRUE_JWT_KEYS` entry for the key of `seed`.
fn private_jwk(seed: u8, kid: &str, ops: &[&str]) -> Value {
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "key_ops": ops,
           "d": b64([seed; 32])})
}

fn part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// A token with `header` over `claims`, signed by `sign` over `header.claims`.
fn token_with(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let signed = format!("{}.{}", b64(header.to_string()), b64(claims.to_string()));
    format!("{signed}.{}", b64(sign(signed.as_bytes())))
}

fn es256(claims: &Value, key: &SigningKey, kid: &str) -> String {
    let header = json!({"alg": "ES256", "typ": "JWT", "kid": kid});
    token_with(&header, claims, |signed| {
        let signature: p256::ecdsa::Signature = key.sign(signed);
        signature.to_bytes().to_vec()
    })
}

fn hs256_keyed(claims: &Value, key: &[u8]) -> String {
    token_with(&json!({"alg": "HS256", "typ": "JWT"}), claims, |signed| {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(signed);
        mac.finalize().into_bytes().to_vec()
    })
}

fn plan() -> Value {
    json!({
        "income_target_cents": 2_000_000,
        "period": {"kind": "month", "start": "2026-01-01"},
        "sim": {"average_deal_value_cents": 30_000_000, "commission_rate": 0.03,
                "stages": [{"key": "call", "conversion_rate": 0.05},
                           {"key": "appointment", "conversion_rate": 0.25}, {"key": "deal"}]},
        "calendar": {"working_weekdays": [1, 2, 3, 4, 5], "days_off": ["2026-01-01"]}
    })
}

#[tokio::test]
async fn a_stack_signing_es256_is_accepted_by_auth_rest_and_a_function_after_it_fetches_the_jwks() {
    let keys = json!([private_jwk(11, "es-current", &["sign", "verify"])]);
    let stack = SigningStack::start(free_port(), &keys).await;

    let jwks = stack.get_jwks().await.unwrap();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
    assert_eq!(
        (&jwks["keys"][0]["kid"], &jwks["keys"][0]["alg"]),
        (&json!("es-current"), &json!("ES256"))
    );
    assert!(jwks["keys"][0].get("d").is_none(), "the private half must not be published");

    let token = stack.sign_up().await;
    assert_eq!(part(&token, 0)["alg"], "ES256");
    assert_eq!(part(&token, 0)["kid"], "es-current");
    let user_id = part(&token, 1)["sub"].as_str().unwrap().to_owned();

    let (status, user) = stack.get("/auth/v1/user", &token).await;
    assert_eq!((status, user["id"].as_str()), (200, Some(user_id.as_str())));
    let (status, profiles) = stack.get("/rest/v1/profiles?select=id", &token).await;
    assert_eq!((status, profiles), (200, json!([{ "id": user_id }])), "RLS saw the ES256 caller");
    let (status, body) = stack.calculate(&token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["totals"], json!([240, 12, 3]));
}

#[tokio::test]
async fn forged_tokens_are_refused_by_the_function_rest_and_auth() {
    let keys = json!([private_jwk(12, "es-forge", &["sign", "verify"])]);
    let stack = SigningStack::start(free_port(), &keys).await;
    let genuine = stack.sign_up().await;
    let claims = part(&genuine, 1);
    let jwks = stack.get_jwks().await.unwrap();
    let public = &jwks["keys"][0];
    let point: Vec<u8> = [
        vec![4],
        URL_SAFE_NO_PAD.decode(public["x"].as_str().unwrap()).unwrap(),
        URL_SAFE_NO_PAD.decode(public["y"].as_str().unwrap()).unwrap(),
    ]
    .concat();

    let forgeries = [
        (
            "alg none",
            format!("{}.{}.", b64(r#"{"alg":"none","typ":"JWT"}"#), b64(claims.to_string())),
        ),
        ("HS256 keyed with the public JWK", hs256_keyed(&claims, public.to_string().as_bytes())),
        ("HS256 keyed with the JWKS", hs256_keyed(&claims, jwks.to_string().as_bytes())),
        ("HS256 keyed with the public point", hs256_keyed(&claims, &point)),
        ("a foreign key under the real kid", es256(&claims, &signing_key(99), "es-forge")),
        ("a foreign key under its own kid", es256(&claims, &signing_key(99), "es-unknown")),
    ];
    for (attack, token) in &forgeries {
        let (status, body) = stack.calculate(token).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (401, Some("invalid_token")),
            "{attack}: {body}"
        );
        let (status, body) = stack.get("/rest/v1/profiles?select=id", token).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("PGRST301")), "{attack}: {body}");
        let (status, body) = stack.get("/auth/v1/user", token).await;
        assert_eq!(status, 403, "{attack}: {body}");
    }
    assert_eq!(stack.calculate(&genuine).await.0, 200, "the genuine token still passes");
}

/// The function's host is this process (`functions::dispatch` over the real outbound port), so
/// it outlives the stack's restart with rotated keys and its clock can pass the refetch floor.
#[tokio::test]
async fn a_rotation_is_picked_up_by_a_refetch_and_a_failed_fetch_spares_hs256() {
    let port = free_port();
    let first = json!([private_jwk(21, "rot-1", &["sign", "verify"])]);
    let stack = SigningStack::start(port, &first).await;
    let old_token = stack.sign_up().await;
    let email = part(&old_token, 1)["email"].as_str().unwrap().to_owned();
    let config = Config::from_lookup(|name| match name {
        "SUPABASE_URL" => Some(stack.url.clone()),
        "SUPABASE_ANON_KEY" => Some(stack.anon_key.clone()),
        "SUPABASE_JWT_SECRET" => Some(stack.secret.clone()),
        _ => None,
    })
    .unwrap();
    let config = Arc::new(config);
    let secret = stack.secret.clone();
    let start = now();
    let calculate = |token: String, at: u64| {
        let config = config.clone();
        async move {
            let client = ReqwestClient::new(reqwest::Client::new());
            let ctx = Ctx::new(config, Rc::new(client), "rotation-test", at)
                .with_log_sink(Rc::new(|_| {}));
            let request = http::Request::post("/functions/v1/goals-calculate")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(bytes::Bytes::from(plan().to_string()))
                .unwrap();
            let response = functions::dispatch("goals-calculate", request, &ctx).await;
            let body: Value = serde_json::from_slice(response.body()).unwrap();
            (response.status().as_u16(), body["error"]["code"].as_str().map(str::to_owned))
        }
    };
    assert_eq!(calculate(old_token.clone(), start).await, (200, None));

    drop(stack);
    let rotated = json!([
        private_jwk(22, "rot-2", &["sign", "verify"]),
        private_jwk(21, "rot-1", &["verify"]),
    ]);
    let stack = SigningStack::start(port, &rotated).await;
    let new_token = stack.sign_in(&email).await;
    assert_eq!(part(&new_token, 0)["kid"], "rot-2");
    assert_eq!(
        calculate(new_token.clone(), start + 1).await,
        (401, Some("invalid_token".into())),
        "within the floor the cached set is not refetched"
    );
    let after_floor = start + REFETCH_FLOOR_SECS;
    assert_eq!(calculate(new_token.clone(), after_floor).await, (200, None), "refetched");
    assert_eq!(calculate(old_token, after_floor).await, (200, None), "the previous key stays");

    drop(stack);
    let unreachable = after_floor + REFETCH_FLOOR_SECS;
    let unknown = es256(&part(&new_token, 1), &signing_key(23), "rot-3");
    assert_eq!(calculate(unknown, unreachable).await, (503, Some("auth_unavailable".into())));
    let legacy = hs256(&part(&new_token, 1), &secret);
    assert_eq!(calculate(legacy, unreachable + 1).await, (200, None), "HS256 needs no fetch");
    assert_eq!(calculate(new_token, unreachable + 2).await, (200, None), "cached keys serve");
}

/// The WASM hosts fetch the JWKS through their own outbound port (`worker::Fetch`, wasi:http);
/// the Worker's isolate keeps it between requests. Runs where scripts/test built the hosts.
#[tokio::test]
async fn the_wasm_hosts_fetch_the_jwks_and_accept_es256_tokens() {
    if std::env::var("WORKERD_URL").is_err() {
        eprintln!(
            "WORKERD_URL is not set: skipped (scripts/test builds and starts the WASM hosts)"
        );
        return;
    }
    let keys = json!([private_jwk(31, "wasm-key", &["sign", "verify"])]);
    let stack = SigningStack::start(free_port(), &keys).await;
    let token = stack.sign_up().await;
    let forged = es256(&part(&token, 1), &signing_key(98), "wasm-key");
    let (worker, spin) =
        tokio::join!(WasmHost::start(Wasm::Worker, &stack), WasmHost::start(Wasm::Spin, &stack));
    for host in [&worker, &spin] {
        for _ in 0..2 {
            let (status, body) = calculate_at(&host.url, &token).await;
            assert_eq!(status, 200, "{}: {body}", host.url);
        }
        let (status, body) = calculate_at(&host.url, &forged).await;
        assert_eq!((status, body["error"]["code"].as_str()), (401, Some("invalid_token")));
    }
    // Log lines reach wrangler's output asynchronously.
    for _ in 0..50 {
        if worker.jwks_fetches() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(worker.jwks_fetches(), 1, "one fetch serves the isolate's later requests");
}
