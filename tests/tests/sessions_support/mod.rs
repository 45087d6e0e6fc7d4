//! What the sign-in session tests share: a browser-like client that sends our allowed `Origin`
//! and a client address, reads `Set-Cookie` answers and sends cookies back by hand (reqwest's
//! cookie store would drop `Secure` cookies over the test stack's plain http).

#![allow(dead_code)]

use reqwest::{Method, RequestBuilder, Response};
use serde_json::{Value, json};

use crate::auth_support::{Auth, PASSWORD, fresh_email};

pub const ACCESS: &str = "__Host-sp-access";
pub const REFRESH: &str = "__Secure-sp-refresh";
/// The refresh cookie is set once per path: the functions that spend it.
pub const REFRESH_PATHS: [&str; 2] = ["/functions/v1/auth-refresh", "/functions/v1/auth-logout"];

/// A `Set-Cookie` answer: name, value and the attributes as sent.
#[derive(Debug, Clone)]
pub struct SetCookie {
    pub name: String,
    pub value: String,
    pub attributes: Vec<String>,
}

impl SetCookie {
    fn parse(header: &str) -> Self {
        let mut parts = header.split(';').map(str::trim);
        let (name, value) = parts.next().unwrap().split_once('=').unwrap();
        Self {
            name: name.into(),
            value: value.into(),
            attributes: parts.map(str::to_owned).collect(),
        }
    }

    pub fn has(&self, attribute: &str) -> bool {
        self.attributes.iter().any(|a| a.eq_ignore_ascii_case(attribute))
    }

    /// The value of `Name=value` attribute `name`.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find_map(|a| {
            let (key, value) = a.split_once('=')?;
            key.eq_ignore_ascii_case(name).then_some(value)
        })
    }
}

/// Every `Set-Cookie` of `response`, by name.
pub fn set_cookies(response: &Response) -> Vec<SetCookie> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| SetCookie::parse(v.to_str().unwrap()))
        .collect()
}

pub fn cookie<'a>(cookies: &'a [SetCookie], name: &str) -> &'a SetCookie {
    cookies.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name} in {cookies:?}"))
}

/// The cookie `name` set for `path`.
pub fn cookie_at<'a>(cookies: &'a [SetCookie], name: &str, path: &str) -> &'a SetCookie {
    cookies
        .iter()
        .find(|c| c.name == name && c.attribute("Path") == Some(path))
        .unwrap_or_else(|| panic!("no {name} for {path} in {cookies:?}"))
}

pub struct Browser {
    pub auth: Auth,
    /// The frontend origin the stack allows (the first of `ALLOWED_ORIGINS`).
    pub origin: String,
    /// This browser's address, as the edge would state it in `cf-connecting-ip`.
    pub address: String,
}

impl Browser {
    pub fn new() -> Self {
        let origin = std::env::var("ALLOWED_ORIGINS")
            .ok()
            .and_then(|list| list.split(',').next().map(|o| o.trim().to_owned()))
            .filter(|o| !o.is_empty())
            .unwrap_or_else(|| "http://localhost:5173".into());
        Self { auth: Auth::new(), origin, address: fresh_address() }
    }

    pub fn url(&self, function: &str) -> String {
        format!("{}/functions/v1/{function}", self.auth.stack.api_url)
    }

    /// A request to `function` from this browser's page (its Origin and address).
    pub fn request(&self, method: Method, function: &str) -> RequestBuilder {
        self.auth
            .http
            .request(method, self.url(function))
            .header("origin", &self.origin)
            .header("cf-connecting-ip", &self.address)
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.request(Method::POST, "auth-login")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// A new user with [`PASSWORD`]; their sign-up session is not used.
    pub async fn new_user(&self, tag: &str) -> (String, uuid::Uuid) {
        let email = fresh_email(tag);
        let signup = self.auth.signup(&email).await;
        let id = signup["user"]["id"].as_str().unwrap().parse().unwrap();
        (email, id)
    }

    /// A session straight from `/auth/v1` (no plan check): access and refresh token.
    pub async fn grant(&self, email: &str) -> (String, String) {
        let session: Value = self.auth.password_grant(email, PASSWORD).await.json().await.unwrap();
        let token = |name: &str| session[name].as_str().unwrap().to_owned();
        (token("access_token"), token("refresh_token"))
    }

    /// `method` on `function` from this browser's page, sending `cookie` (`name=value`).
    pub async fn with_cookie(&self, method: Method, function: &str, cookie: &str) -> Response {
        self.request(method, function).header("cookie", cookie).send().await.unwrap()
    }

    /// A POST to `function` that a foreign page makes this browser send, with its `cookie`.
    pub async fn post_from_foreign_page(&self, function: &str, cookie: &str) -> Response {
        let request = self.auth.http.post(self.url(function)).header("cookie", cookie);
        request.header("origin", "https://evil.example").send().await.unwrap()
    }

    /// Whether the session of `access_token` still exists at `/auth/v1`.
    pub async fn alive(&self, access_token: &str) -> bool {
        self.auth.get_user(access_token).await.status() == 200
    }
}

/// An address in 198.18.0.0/15 (benchmarking, never routed) that no other test uses.
pub fn fresh_address() -> String {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    format!("198.{}.{}.{}", 18 + (bytes[0] & 1), bytes[1], bytes[2].max(1))
}

/// Status, error code and the whole body of an error answer.
pub async fn error_of(response: Response) -> (u16, String, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"]["code"].as_str().unwrap_or_default().to_owned(), body)
}
