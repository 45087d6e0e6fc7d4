//! The project's published signing keys: `{SUPABASE_URL}/auth/v1/.well-known/jwks.json`, fetched
//! through the outbound port and cached per process (native) or isolate (Workers); a Spin
//! instance lives one request, so there the cache lasts one request.
//!
//! The cache holds public keys only, so it is a performance cache, not state: losing it costs a
//! fetch. Rules:
//! - configured keys come first: HS256 only ever uses `SUPABASE_JWT_SECRET`, and an ES256/RS256
//!   token whose key is in `SUPABASE_JWKS` is verified without any fetch;
//! - otherwise the fetched keys are used while younger than [`FRESH_FOR_SECS`]; a token naming a
//!   `kid` they lack (a rotation), or a use after that age, fetches again, but never sooner than
//!   [`REFETCH_FLOOR_SECS`] after the last attempt, so a flood of made-up `kid`s costs one fetch
//!   per floor;
//! - a failed fetch keeps the keys already held (a token they verify still passes); a token
//!   whose key could not be fetched is refused with [`JwtError::KeysUnavailable`] (a 503: it may
//!   be valid), while a key missing from a set fetched successfully is a plain refusal (401).

use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http::{Request, header};
use serde_json::{Map, Value, json};

use super::jwt::{self, JwtError, JwtKeys};
use crate::runtime::{Ctx, UnixSeconds};

/// Where Supabase Auth publishes the project's public signing keys, under `SUPABASE_URL`.
pub const JWKS_PATH: &str = "/auth/v1/.well-known/jwks.json";
/// How long fetched keys are used before they are fetched again.
pub const FRESH_FOR_SECS: u64 = 600;
/// The least time between two fetches (after the first one succeeded).
pub const REFETCH_FLOOR_SECS: u64 = 30;
/// The largest JWKS document read; Supabase's holds a handful of keys.
const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Verifies a user's token: with the configured keys, or, for an ES256/RS256 token whose key is
/// not configured, with the project's published keys (this process's cache).
pub async fn verify(
    token: &str,
    ctx: &Ctx,
    audience: &str,
) -> Result<Map<String, Value>, JwtError> {
    verify_with(&PROCESS_CACHE, token, ctx, audience).await
}

static PROCESS_CACHE: JwksCache = JwksCache::new();

pub(crate) async fn verify_with(
    cache: &JwksCache,
    token: &str,
    ctx: &Ctx,
    audience: &str,
) -> Result<Map<String, Value>, JwtError> {
    let configured = &ctx.config.jwt_keys;
    match jwt::header(token) {
        Ok(header)
            if is_published_algorithm(&header.alg)
                && !configured.has_key(&header.alg, header.kid.as_deref()) =>
        {
            let published = cache.keys_for(&header, ctx).await?;
            jwt::verify(token, &published, audience, ctx.now)
        }
        _ => jwt::verify(token, configured, audience, ctx.now),
    }
}

fn is_published_algorithm(alg: &str) -> bool {
    matches!(alg, "ES256" | "RS256")
}

/// Published keys per JWKS URL: one per configuration, so a host has one (tests use several).
pub(crate) struct JwksCache {
    entries: Mutex<Vec<(String, Entry)>>,
}

#[derive(Clone, Default)]
struct Entry {
    /// The last set fetched successfully, and when.
    keys: Option<(Arc<JwtKeys>, UnixSeconds)>,
    /// When the last fetch started, and whether the last finished one failed.
    last_attempt: Option<UnixSeconds>,
    last_failed: bool,
}

/// What to do for one token, decided under the lock.
enum Step {
    Use(Arc<JwtKeys>),
    Fetch,
    Unavailable,
}

impl Entry {
    fn next_step(&self, wanted: &jwt::Header, now: UnixSeconds) -> Step {
        let holds = |keys: &JwtKeys| keys.has_key(&wanted.alg, wanted.kid.as_deref());
        if let Some((keys, fetched_at)) = &self.keys
            && holds(keys)
            && now.saturating_sub(*fetched_at) < FRESH_FOR_SECS
        {
            return Step::Use(keys.clone());
        }
        let within_floor =
            self.last_attempt.is_some_and(|at| now.saturating_sub(at) < REFETCH_FLOOR_SECS);
        // Before the first set arrives, concurrent requests fetch too rather than fail.
        let first_fetch_under_way = self.keys.is_none() && !self.last_failed;
        if !within_floor || first_fetch_under_way {
            return Step::Fetch;
        }
        match &self.keys {
            Some((keys, _)) if holds(keys) || !self.last_failed => Step::Use(keys.clone()),
            _ => Step::Unavailable,
        }
    }
}

impl JwksCache {
    pub(crate) const fn new() -> Self {
        Self { entries: Mutex::new(Vec::new()) }
    }

    /// Keys to verify a token with header `wanted`, fetching them when the rules above say so.
    async fn keys_for(&self, wanted: &jwt::Header, ctx: &Ctx) -> Result<Arc<JwtKeys>, JwtError> {
        let url = format!("{}{JWKS_PATH}", ctx.config.supabase_url);
        let step = self.update(&url, |entry| {
            let step = entry.next_step(wanted, ctx.now);
            if matches!(step, Step::Fetch) {
                entry.last_attempt = Some(ctx.now);
            }
            step
        });
        match step {
            Step::Use(keys) => return Ok(keys),
            Step::Unavailable => return Err(JwtError::KeysUnavailable),
            Step::Fetch => {}
        }
        let fetched = fetch(&url, ctx).await;
        self.update(&url, |entry| match fetched {
            Ok(keys) => {
                ctx.log.info("jwks_fetched", json!({ "keys": keys.public_key_count() }));
                let keys = Arc::new(keys);
                entry.keys = Some((keys.clone(), ctx.now));
                entry.last_failed = false;
                Ok(keys)
            }
            Err(reason) => {
                ctx.log.warn("jwks_fetch_failed", json!({ "url": url, "reason": reason }));
                entry.last_failed = true;
                match &entry.keys {
                    Some((keys, _)) if keys.has_key(&wanted.alg, wanted.kid.as_deref()) => {
                        Ok(keys.clone())
                    }
                    _ => Err(JwtError::KeysUnavailable),
                }
            }
        })
    }

    fn update<T>(&self, url: &str, change: impl FnOnce(&mut Entry) -> T) -> T {
        // The lock is never held across an await or a panic-prone call; a poisoned map is fine.
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let index = match entries.iter().position(|(known, _)| known == url) {
            Some(index) => index,
            None => {
                entries.push((url.to_owned(), Entry::default()));
                entries.len() - 1
            }
        };
        change(&mut entries[index].1)
    }
}

async fn fetch(url: &str, ctx: &Ctx) -> Result<JwtKeys, String> {
    let request = Request::get(url)
        .header(header::ACCEPT, "application/json")
        .header("apikey", &ctx.config.anon_key)
        .body(Bytes::new())
        .map_err(|e| e.to_string())?;
    let response = ctx.http.send(request).await.map_err(|e| e.to_string())?;
    if !response.status().is_success() {
        return Err(format!("answered {}", response.status()));
    }
    if response.body().len() > MAX_JWKS_BYTES {
        return Err(format!("the document is over {MAX_JWKS_BYTES} bytes"));
    }
    let text = std::str::from_utf8(response.body()).map_err(|e| e.to_string())?;
    JwtKeys::from_jwks(text)
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use http::{Response, StatusCode};

    use super::*;
    use crate::auth::jwt::tests::{NOW, es256, jwks, signing_key, user_claims};
    use crate::runtime::tests::{SECRET, ScriptedHttp, ctx_with};
    use crate::runtime::{HttpClient, HttpError};
    use crate::testing::{block_on, hs256};

    fn answer(body: &str) -> Result<Response<Bytes>, HttpError> {
        Ok(Response::new(Bytes::from(body.to_owned())))
    }

    fn status(code: u16) -> Result<Response<Bytes>, HttpError> {
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = StatusCode::from_u16(code).unwrap();
        Ok(response)
    }

    /// One instance's view: a cache and a scripted outbound port, checked at chosen times.
    struct Instance {
        cache: JwksCache,
        http: Rc<ScriptedHttp>,
    }

    impl Instance {
        fn answering(
            answers: impl IntoIterator<Item = Result<Response<Bytes>, HttpError>>,
        ) -> Self {
            Self { cache: JwksCache::new(), http: ScriptedHttp::answering(answers) }
        }

        fn verify_at(&self, token: &str, now: UnixSeconds) -> Result<Map<String, Value>, JwtError> {
            let mut ctx = ctx_with(self.http.clone() as Rc<dyn HttpClient>);
            ctx.now = now;
            block_on(verify_with(&self.cache, token, &ctx, "authenticated"))
        }

        fn fetches(&self) -> usize {
            self.http.sent.borrow().len()
        }
    }

    fn one_key_set() -> String {
        jwks(&[(&signing_key(1), "one")])
    }

    fn rotated_set() -> String {
        jwks(&[(&signing_key(2), "two"), (&signing_key(1), "one")])
    }

    fn token(seed: u8, kid: &str) -> String {
        es256(&user_claims(), &signing_key(seed), kid)
    }

    #[test]
    fn the_first_es256_token_fetches_the_published_keys_with_the_anon_key() {
        let instance = Instance::answering([answer(&one_key_set())]);
        assert!(instance.verify_at(&token(1, "one"), NOW).is_ok());
        let sent = instance.http.sent.borrow();
        assert_eq!(sent[0].uri(), "http://127.0.0.1:54321/auth/v1/.well-known/jwks.json");
        assert_eq!(sent[0].headers()["apikey"], "anon-key");
    }

    #[test]
    fn fetched_keys_serve_later_tokens_until_they_are_ten_minutes_old() {
        let instance = Instance::answering([answer(&one_key_set()), answer(&one_key_set())]);
        for at in [NOW, NOW + 1, NOW + FRESH_FOR_SECS - 1] {
            assert!(instance.verify_at(&token(1, "one"), at).is_ok());
        }
        assert_eq!(instance.fetches(), 1);
        assert!(instance.verify_at(&token(1, "one"), NOW + FRESH_FOR_SECS).is_ok());
        assert_eq!(instance.fetches(), 2);
    }

    #[test]
    fn an_unknown_kid_refetches_once_the_floor_has_passed_and_picks_up_a_rotation() {
        let instance = Instance::answering([answer(&one_key_set()), answer(&rotated_set())]);
        assert!(instance.verify_at(&token(1, "one"), NOW).is_ok());
        assert_eq!(
            instance.verify_at(&token(2, "two"), NOW + REFETCH_FLOOR_SECS - 1),
            Err(JwtError::NoKeyFor("ES256"))
        );
        assert_eq!(instance.fetches(), 1, "no fetch within the floor");
        assert!(instance.verify_at(&token(2, "two"), NOW + REFETCH_FLOOR_SECS).is_ok());
        assert!(instance.verify_at(&token(1, "one"), NOW + REFETCH_FLOOR_SECS).is_ok());
        assert_eq!(instance.fetches(), 2);
    }

    #[test]
    fn a_flood_of_made_up_kids_costs_one_fetch_per_floor() {
        let instance = Instance::answering((0..10).map(|_| answer(&one_key_set())));
        assert!(instance.verify_at(&token(1, "one"), NOW).is_ok());
        for second in 0..REFETCH_FLOOR_SECS * 3 {
            let forged = token(9, &format!("made-up-{second}"));
            assert_eq!(
                instance.verify_at(&forged, NOW + 1 + second),
                Err(JwtError::NoKeyFor("ES256"))
            );
        }
        assert_eq!(instance.fetches(), 1 + 3);
    }

    #[test]
    fn a_key_of_the_set_that_did_not_sign_the_token_refuses_it() {
        let instance = Instance::answering([answer(&one_key_set())]);
        assert_eq!(instance.verify_at(&token(3, "one"), NOW), Err(JwtError::BadSignature));
    }

    #[test]
    fn a_failed_first_fetch_is_unavailable_and_retried_after_the_floor() {
        let instance = Instance::answering([Err(HttpError::Timeout), answer(&one_key_set())]);
        assert_eq!(instance.verify_at(&token(1, "one"), NOW), Err(JwtError::KeysUnavailable));
        assert_eq!(instance.verify_at(&token(1, "one"), NOW + 1), Err(JwtError::KeysUnavailable));
        assert_eq!(instance.fetches(), 1);
        assert!(instance.verify_at(&token(1, "one"), NOW + REFETCH_FLOOR_SECS).is_ok());
    }

    #[test]
    fn a_failed_refresh_keeps_the_keys_held_and_an_unfetchable_kid_is_unavailable() {
        let instance =
            Instance::answering([answer(&one_key_set()), status(502), answer("not json")]);
        assert!(instance.verify_at(&token(1, "one"), NOW).is_ok());
        let later = NOW + FRESH_FOR_SECS;
        assert!(instance.verify_at(&token(1, "one"), later).is_ok(), "stale keys still verify");
        assert_eq!(instance.verify_at(&token(2, "two"), later + 1), Err(JwtError::KeysUnavailable));
        assert_eq!(instance.fetches(), 2);
        let after_floor = later + REFETCH_FLOOR_SECS;
        assert_eq!(
            instance.verify_at(&token(2, "two"), after_floor),
            Err(JwtError::KeysUnavailable)
        );
        assert_eq!(instance.fetches(), 3, "an unreadable document is a failed fetch too");
    }

    #[test]
    fn hs256_and_configured_keys_never_fetch() {
        let instance = Instance::answering([]);
        assert!(instance.verify_at(&hs256(&user_claims(), SECRET), NOW).is_ok());
        assert!(instance.verify_at("not.a.jwt", NOW).is_err());
        let none = format!("{}.e30.", jwt::tests::b64(br#"{"alg":"none"}"#));
        assert_eq!(
            instance.verify_at(&none, NOW),
            Err(JwtError::UnsupportedAlgorithm("none".into()))
        );
        assert_eq!(instance.fetches(), 0);

        let mut ctx = ctx_with(instance.http.clone() as Rc<dyn HttpClient>);
        let mut config = (*ctx.config).clone();
        config.jwt_keys = JwtKeys::new(None, Some(&one_key_set())).unwrap();
        ctx.config = Arc::new(config);
        ctx.now = NOW;
        let verified =
            block_on(verify_with(&instance.cache, &token(1, "one"), &ctx, "authenticated"));
        assert!(verified.is_ok());
        assert_eq!(instance.fetches(), 0);
    }

    #[test]
    fn an_oversized_or_failing_answer_is_a_failed_fetch() {
        let huge = format!(r#"{{"keys":[],"pad":"{}"}}"#, "x".repeat(MAX_JWKS_BYTES));
        let instance = Instance::answering([answer(&huge)]);
        assert_eq!(instance.verify_at(&token(1, "one"), NOW), Err(JwtError::KeysUnavailable));
    }

    #[test]
    fn a_user_whose_key_cannot_be_fetched_is_told_to_retry_not_signed_out() {
        let http = ScriptedHttp::answering([Err(HttpError::Unreachable("refused".into()))]);
        let mut ctx = ctx_with(http);
        let mut config = (*ctx.config).clone();
        // Its own URL: this test goes through the process-wide cache.
        config.supabase_url = "http://keys-unreachable.invalid".into();
        ctx.config = Arc::new(config);
        ctx.now = NOW;
        let request = Request::builder()
            .header(header::AUTHORIZATION, format!("Bearer {}", token(1, "one")))
            .body(Bytes::new())
            .unwrap();
        let error = block_on(crate::auth::authenticate(&request, &ctx)).unwrap_err();
        assert_eq!(
            (error.status, error.code, error.retry_after.is_some()),
            (StatusCode::SERVICE_UNAVAILABLE, "auth_unavailable", true)
        );
    }
}
