//! What the `/rest/v1` conformance tests share: the owner connection for fixtures, JWTs minted
//! with the stack's secret, and requests with Supabase's headers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header, encode};
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

use super::Stack;

pub struct Rest {
    pub stack: Stack,
    pub http: reqwest::Client,
}

/// A response read whole: status, headers and body text.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub async fn from(response: Response) -> Self {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a readable body");
        Self { status, headers, text }
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("{e}: not JSON ({}): {}", self.status, self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a PostgREST error body with this status and code.
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.text);
        let body = self.json();
        assert_eq!(body["code"], code, "{}", self.text);
        for field in ["message", "details", "hint"] {
            assert!(body.get(field).is_some(), "{field} missing from {}", self.text);
        }
        body
    }
}

pub fn now() -> i64 {
    let seconds = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    i64::try_from(seconds).unwrap()
}

impl Rest {
    pub fn new() -> Self {
        Self { stack: Stack::from_status(), http: reqwest::Client::new() }
    }

    /// A connection as the database owner, for fixtures.
    pub async fn owner(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.stack.db_url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }

    /// Runs `sql` as the owner, asks for a schema reload, and waits until every path of
    /// `served` (such as `items` or `rpc/f`) is served: this also tests the reload.
    pub async fn fixture(&self, sql: &str, served: &[&str]) {
        let owner = self.owner().await;
        owner.batch_execute(sql).await.unwrap_or_else(|e| panic!("fixture failed: {e:?}"));
        owner.batch_execute("notify pgrst, 'reload schema'").await.unwrap();
        for path in served {
            let mut tries = 0;
            loop {
                let answer =
                    self.send(Method::GET, path, Some(&self.stack.service_role_key), None).await;
                let missing = answer.text.contains("PGRST205") || answer.text.contains("PGRST202");
                if !missing {
                    break;
                }
                tries += 1;
                assert!(tries < 100, "{path} never served after the reload: {}", answer.text);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    pub fn token(&self, claims: Value) -> String {
        let key = EncodingKey::from_secret(self.stack.jwt_secret.as_bytes());
        encode(&Header::default(), &claims, &key).unwrap()
    }

    /// A signed-in user's access token, as Supabase Auth issues it.
    pub fn user_token(&self, user_id: &str) -> String {
        self.token(json!({
            "sub": user_id,
            "role": "authenticated",
            "aud": "authenticated",
            "exp": now() + 3600,
        }))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/rest/v1/{path}", self.stack.api_url)
    }

    /// A request as supabase-js sends it: `apikey` is the anon key, `Authorization` the token.
    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let mut request =
            self.http.request(method, self.url(path)).header("apikey", &self.stack.anon_key);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.request(method, path, token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Answer::from(request.send().await.unwrap()).await
    }

    /// GET as the service role, which bypasses RLS.
    pub async fn get(&self, path: &str) -> Answer {
        self.send(Method::GET, path, Some(&self.stack.service_role_key), None).await
    }
}
