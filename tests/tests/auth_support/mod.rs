//! What the `/auth/v1` tests share: a client that sends the project's API key, fresh e-mail
//! addresses, token decoding, and a database connection for what HTTP cannot show.

#![allow(dead_code)]

use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;

use crate::support::Stack;

pub const PASSWORD: &str = "correct-horse-7";

pub struct Auth {
    pub stack: Stack,
    pub http: reqwest::Client,
}

impl Auth {
    pub fn new() -> Self {
        Self { stack: Stack::from_status(), http: reqwest::Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/auth/v1{path}", self.stack.api_url)
    }

    /// A request carrying the anon key, as supabase-js sends it.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path)).header("apikey", &self.stack.anon_key)
    }

    /// A request with the service_role key as API key and bearer, as the admin client sends it.
    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header("apikey", &self.stack.service_role_key)
            .bearer_auth(&self.stack.service_role_key)
    }

    pub async fn signup(&self, email: &str) -> Value {
        let response = self
            .request(Method::POST, "/signup")
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "signing up {email}");
        response.json().await.unwrap()
    }

    pub async fn password_grant(&self, email: &str, password: &str) -> Response {
        self.request(Method::POST, "/token?grant_type=password")
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.request(Method::POST, "/token?grant_type=refresh_token")
            .json(&serde_json::json!({"refresh_token": refresh_token}))
            .send()
            .await
            .unwrap()
    }

    /// `GET /user` with the given access token.
    pub async fn get_user(&self, access_token: &str) -> Response {
        self.request(Method::GET, "/user").bearer_auth(access_token).send().await.unwrap()
    }

    pub async fn db(&self) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.stack.db_url, tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client
    }

    /// The claims of a token the stack signed, verified with the project's secret.
    pub fn claims(&self, token: &str) -> Value {
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_audience(&["authenticated"]);
        jsonwebtoken::decode::<Value>(
            token,
            &jsonwebtoken::DecodingKey::from_secret(self.stack.jwt_secret.as_bytes()),
            &validation,
        )
        .unwrap()
        .claims
    }

    /// A token signed with the project's secret carrying exactly `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(self.stack.jwt_secret.as_bytes()),
        )
        .unwrap()
    }
}

/// An address no other test uses.
pub fn fresh_email(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid::Uuid::new_v4().simple())
}

/// Status and JSON body of an error answer, checked against GoTrue's initial shape.
pub async fn error_of(response: Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["code"], status, "GoTrue puts the status in `code`: {body}");
    (
        status,
        body["error_code"].as_str().unwrap().to_owned(),
        body["msg"].as_str().unwrap().to_owned(),
    )
}
