//! Helpers for tests of code built on this library (feature `testing`; never in a host build).

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// An HS256 JWT over `claims` signed with `secret`, as Supabase Auth signs with the project
/// secret.
pub fn hs256(claims: &Value, secret: &str) -> String {
    crate::auth::jwt::sign_hs256(claims, secret.as_bytes())
}

/// Drives a future that never waits on real I/O (a handler over a scripted or failing port) to
/// completion, without an async runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
    }
}

/// A `Stripe-Signature` header for `body` signed at `timestamp` with the endpoint `secret`, as
/// Stripe builds it: `t=…,v1=` hex HMAC-SHA256 of `"{timestamp}.{body}"`.
pub fn stripe_signature_header(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!("t={timestamp},v1={}", crate::hex::encode(&mac.finalize().into_bytes()))
}

/// Mailgun's webhook signature for `timestamp` and `token` under the signing `key`, as Mailgun
/// computes it: hex HMAC-SHA256 of the timestamp's digits followed by the token.
pub fn mailgun_signature(key: &str, timestamp: u64, token: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{timestamp}{token}").as_bytes());
    crate::hex::encode(&mac.finalize().into_bytes())
}
