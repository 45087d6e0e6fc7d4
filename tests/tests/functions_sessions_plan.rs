//! Signing in through `auth-login`, refreshing and reading the session, with the plan check of
//! `session_context()`: every cookie attribute, rotation and reuse, and the plan cases the
//! README's "Plan enforcement at sign-in" documents.

mod auth_support;
mod sessions_support;
mod support;

use reqwest::Method;
use serde_json::Value;
use sessions_support::{
    ACCESS, Browser, REFRESH, REFRESH_PATHS, SetCookie, cookie, cookie_at, error_of, set_cookies,
};
use uuid::Uuid;

use auth_support::PASSWORD;

/// Signs `email` in; answers the body and the cookies, asserting a 200.
async fn signed_in(browser: &Browser, email: &str) -> (Value, Vec<SetCookie>) {
    let response = browser.login(email, PASSWORD).await;
    let cookies = set_cookies(&response);
    let status = response.status();
    let cache = response.headers().get("cache-control").cloned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{email}: {body}");
    assert_eq!(cache.unwrap(), "no-store", "no shared cache keeps a user's context");
    (body, cookies)
}

async fn session_with_cookie(browser: &Browser, access: &str) -> reqwest::Response {
    browser.with_cookie(Method::GET, "auth-session", &format!("{ACCESS}={access}")).await
}

async fn refresh_with_cookie(browser: &Browser, refresh: &str) -> reqwest::Response {
    browser.with_cookie(Method::POST, "auth-refresh", &format!("{REFRESH}={refresh}")).await
}

#[tokio::test]
async fn login_sets_both_cookies_with_every_attribute_and_answers_the_context_without_tokens() {
    let browser = Browser::new();
    let (email, user_id) = browser.new_user("login").await;
    let (body, cookies) = signed_in(&browser, &email).await;
    assert_eq!(cookies.len(), 3, "{cookies:?}");

    let access = cookie(&cookies, ACCESS);
    let claims = browser.auth.claims(&access.value);
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(access.attribute("Max-Age"), Some(lifetime.to_string().as_str()));
    assert_eq!(access.attribute("Path"), Some("/"));
    let [for_refresh, for_logout] = REFRESH_PATHS.map(|path| cookie_at(&cookies, REFRESH, path));
    assert_eq!(for_refresh.value, for_logout.value, "one refresh token, two paths");
    for set in [for_refresh, for_logout] {
        assert_eq!(set.attribute("Max-Age"), Some("2592000"));
    }
    for set in [access, for_refresh, for_logout] {
        assert!(set.has("HttpOnly") && set.has("Secure") && set.has("SameSite=Lax"), "{set:?}");
        assert!(set.attribute("Domain").is_none(), "host-only: {set:?}");
    }

    assert_eq!(body["user"]["id"], user_id.to_string());
    assert_eq!(body["user"]["email"], email);
    assert_eq!(body["access"]["mode"], "full");
    for key in ["role", "org", "teams", "plan", "flags", "platform_admin"] {
        assert!(body.get(key).is_some(), "{key} missing from {body}");
    }
    let text = body.to_string();
    assert!(!text.contains(&access.value) && !text.contains(&for_refresh.value), "tokens leaked");

    // The cookie alone reads the session: the same context.
    let response = session_with_cookie(&browser, &access.value).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), body);
}

#[tokio::test]
async fn refresh_rotates_the_cookies_and_a_reused_refresh_token_ends_the_session() {
    let browser = Browser::new();
    let (email, _) = browser.new_user("rotate").await;
    let (_, first) = signed_in(&browser, &email).await;
    let old_refresh = cookie(&first, REFRESH).value.clone();

    let rotated = |response: reqwest::Response| async move {
        let cookies = set_cookies(&response);
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        let [for_refresh, for_logout] =
            REFRESH_PATHS.map(|path| cookie_at(&cookies, REFRESH, path).value.clone());
        assert_eq!(for_refresh, for_logout, "both refresh cookies rotate");
        (body, cookie(&cookies, ACCESS).value.clone(), for_refresh)
    };
    let (body, _, second_refresh) =
        rotated(refresh_with_cookie(&browser, &old_refresh).await).await;
    assert_eq!(body["user"]["email"], email);
    assert_ne!(second_refresh, old_refresh, "the refresh token rotated");
    let (_, new_access, new_refresh) =
        rotated(refresh_with_cookie(&browser, &second_refresh).await).await;
    assert_ne!(new_refresh, second_refresh);
    assert_eq!(session_with_cookie(&browser, &new_access).await.status(), 200);

    // Attack: a stolen refresh token, spent two rotations ago, replayed after GoTrue's reuse
    // interval (a replay of the latest spent one within it gets its child back, as GoTrue does).
    browser
        .auth
        .db()
        .await
        .execute(
            "update auth.refresh_tokens set updated_at = now() - interval '11 seconds' where token = $1",
            &[&old_refresh],
        )
        .await
        .unwrap();
    let response = refresh_with_cookie(&browser, &old_refresh).await;
    let cleared = set_cookies(&response);
    assert_eq!(error_of(response).await.1, "invalid_refresh_token");
    for name in [ACCESS, REFRESH] {
        assert_eq!(cookie(&cleared, name).attribute("Max-Age"), Some("0"));
    }
    // Reuse detection revoked the token family: once the reuse interval since the revocation
    // has passed, the newest token is refused too.
    let db = browser.auth.db().await;
    db.execute(
        "update auth.refresh_tokens set updated_at = now() - interval '11 seconds' where \
         session_id = (select session_id from auth.refresh_tokens where token = $1)",
        &[&new_refresh],
    )
    .await
    .unwrap();
    assert_eq!(
        error_of(refresh_with_cookie(&browser, &new_refresh).await).await.1,
        "invalid_refresh_token"
    );
}

#[tokio::test]
async fn a_refresh_without_its_cookie_is_refused_and_clears_the_cookies() {
    let browser = Browser::new();
    let response = browser.request(Method::POST, "auth-refresh").send().await.unwrap();
    assert_eq!(set_cookies(&response).len(), 3);
    assert_eq!(error_of(response).await, (401, "invalid_refresh_token".into(), error_body()));
}

fn error_body() -> Value {
    serde_json::json!({"error": {"code": "invalid_refresh_token", "message": "the session has ended; sign in again"}})
}

#[tokio::test]
async fn login_then_logout_revokes_the_session() {
    let browser = Browser::new();
    let (email, _) = browser.new_user("inout").await;
    let (_, cookies) = signed_in(&browser, &email).await;
    let access = cookie(&cookies, ACCESS).value.clone();
    let response =
        browser.with_cookie(Method::POST, "auth-logout", &format!("{ACCESS}={access}")).await;
    assert_eq!(response.status(), 204);
    assert!(!browser.alive(&access).await);
    let refresh = cookie(&cookies, REFRESH).value.clone();
    assert_eq!(
        error_of(refresh_with_cookie(&browser, &refresh).await).await.1,
        "invalid_refresh_token"
    );
}

// ## Plan enforcement

/// An organization made by the owner, and members added in joining order.
struct Org {
    id: Uuid,
    db: tokio_postgres::Client,
}

impl Org {
    async fn new(browser: &Browser) -> Self {
        let db = browser.auth.db().await;
        let slug = format!("t-{}", Uuid::new_v4().simple());
        let row = db
            .query_one(
                "insert into public.organizations (name, slug, kind, plan_key) \
                 values ('Plan test', $1, 'team', 'team') returning id",
                &[&slug],
            )
            .await
            .unwrap();
        Self { id: row.get(0), db }
    }

    async fn add(&self, user: Uuid, role: &str, joined_minutes_ago: i32) {
        self.db
            .execute(
                "insert into public.memberships (org_id, user_id, role, created_at) \
                 values ($1, $2, $3::text::public.org_role, now() - make_interval(mins => $4))",
                &[&self.id, &user, &role, &joined_minutes_ago],
            )
            .await
            .unwrap();
    }

    /// Shrinks the seat limit below the members (the database refuses a member beyond it, so
    /// an organization only goes over when its limit shrinks).
    async fn limit_seats(&self, max_users: i32) {
        self.db
            .execute(
                "update public.organizations set max_users = $2 where id = $1",
                &[&self.id, &max_users],
            )
            .await
            .unwrap();
    }

    async fn suspend(&self) {
        self.db
            .execute(
                "update public.organizations set status = 'suspended', suspended_at = now(), \
                 suspended_reason = 'test' where id = $1",
                &[&self.id],
            )
            .await
            .unwrap();
    }

    async fn subscription(&self, status: &str, grace_until: &str) {
        self.db
            .execute(
                &format!(
                    "insert into public.subscriptions (org_id, plan_key, status, grace_until) \
                     values ($1, 'team', $2, now() + interval '{grace_until}')"
                ),
                &[&self.id, &status],
            )
            .await
            .unwrap();
    }

    async fn sessions_of(&self, user: Uuid) -> i64 {
        self.db
            .query_one("select count(*) from auth.sessions where user_id = $1", &[&user])
            .await
            .unwrap()
            .get(0)
    }
}

async fn refused(browser: &Browser, email: &str) -> (u16, String, Vec<SetCookie>) {
    let response = browser.login(email, PASSWORD).await;
    let cookies = set_cookies(&response);
    let (status, code, _) = error_of(response).await;
    (status, code, cookies)
}

#[tokio::test]
async fn a_member_of_a_suspended_org_is_refused_and_the_new_session_revoked() {
    let browser = Browser::new();
    let (email, user) = browser.new_user("suspended").await;
    let org = Org::new(&browser).await;
    org.add(user, "rep", 10).await;
    // A session opened before the suspension…
    let (_, before) = signed_in(&browser, &email).await;
    org.suspend().await;
    let sessions = org.sessions_of(user).await;
    let (status, code, cookies) = refused(&browser, &email).await;
    assert_eq!((status, code.as_str()), (403, "org_suspended"));
    assert!(cookies.is_empty());
    assert_eq!(org.sessions_of(user).await, sessions, "the refused session was revoked");
    // …is refused when read again, and cannot be refreshed into a new one.
    let response = session_with_cookie(&browser, &cookie(&before, ACCESS).value).await;
    assert_eq!(error_of(response).await.1, "org_suspended");
    let response = refresh_with_cookie(&browser, &cookie(&before, REFRESH).value).await;
    let cleared = set_cookies(&response);
    assert_eq!(error_of(response).await.1, "org_suspended");
    for name in [ACCESS, REFRESH] {
        assert_eq!(cookie(&cleared, name).attribute("Max-Age"), Some("0"), "{name}");
    }
}

#[tokio::test]
async fn over_the_seat_limit_the_latest_member_is_refused_and_the_admin_gets_in_with_a_warning() {
    let browser = Browser::new();
    let org = Org::new(&browser).await;
    let (admin_email, admin) = browser.new_user("seat-admin").await;
    let (first_email, first) = browser.new_user("seat-first").await;
    let (late_email, late) = browser.new_user("seat-late").await;
    org.add(admin, "enterprise_admin", 30).await;
    org.add(first, "rep", 20).await;
    org.add(late, "rep", 10).await;
    org.limit_seats(2).await;

    let (status, code, cookies) = refused(&browser, &late_email).await;
    assert_eq!((status, code.as_str()), (403, "seat_limit_exceeded"));
    assert!(cookies.is_empty());
    let (body, _) = signed_in(&browser, &first_email).await;
    assert_eq!(body["access"]["mode"], "full");
    let (body, cookies) = signed_in(&browser, &admin_email).await;
    assert_eq!(body["access"]["mode"], "full");
    assert!(
        body["access"]["warnings"].as_array().unwrap().contains(&"seat_limit_exceeded".into()),
        "{body}"
    );
    assert_eq!(cookies.len(), 3);
}

#[tokio::test]
async fn unpaid_past_grace_signs_in_read_only_and_in_grace_with_a_warning() {
    let browser = Browser::new();
    let (email, user) = browser.new_user("unpaid").await;
    let org = Org::new(&browser).await;
    org.add(user, "rep", 10).await;
    org.subscription("past_due", "-1 day").await;
    let (body, cookies) = signed_in(&browser, &email).await;
    assert_eq!(body["access"]["mode"], "read_only", "{body}");
    assert_eq!(body["access"]["reason"], "payment_required");
    assert_eq!(cookies.len(), 3);

    let browser = Browser::new();
    let (email, user) = browser.new_user("grace").await;
    let org = Org::new(&browser).await;
    org.add(user, "rep", 10).await;
    org.subscription("past_due", "3 days").await;
    let (body, _) = signed_in(&browser, &email).await;
    assert_eq!(body["access"]["mode"], "full", "{body}");
    assert!(
        body["access"]["warnings"].as_array().unwrap().contains(&"payment_failed_in_grace".into()),
        "{body}"
    );
}

#[tokio::test]
async fn a_platform_admin_in_a_suspended_org_is_never_locked_out() {
    let browser = Browser::new();
    let (email, user) = browser.new_user("staff").await;
    let org = Org::new(&browser).await;
    org.add(user, "enterprise_admin", 10).await;
    org.db
        .execute("insert into public.platform_admins (user_id) values ($1)", &[&user])
        .await
        .unwrap();
    org.suspend().await;
    let (body, _) = signed_in(&browser, &email).await;
    assert_eq!(body["platform_admin"], true);
    assert_eq!(body["access"]["mode"], "full", "{body}");
}
