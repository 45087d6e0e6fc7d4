//! The WASM builds really run: the Workers in workerd (`wrangler dev --local`, one per Worker)
//! and the Spin component in a wasi:http host (`jco serve`), all started by scripts/test. It
//! passes `SPIN_URL`, and in `WORKERD_URL` the URL of `workers-edge`, which sends each request to
//! the Worker its route in `wrangler/<worker>.toml` names, as Cloudflare does; `WORKERD_WORKERS`
//! lists each Worker's own URL (`app=http://… admin=http://…`). Each answers like the native host.

mod support;

use integration_tests::worker_routes::{self, Routes};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shared::testing::hs256;

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

/// One request, sendable to every host.
#[derive(Clone)]
struct Call {
    method: Method,
    path: String,
    token: Option<String>,
    cookie: Option<String>,
    body: Option<Vec<u8>>,
}

impl Call {
    fn get(path: &str) -> Self {
        Self::new(Method::GET, path, None::<Vec<u8>>, None)
    }

    fn post(path: &str, body: impl Into<Vec<u8>>, token: Option<&str>) -> Self {
        Self::new(Method::POST, path, Some(body), token)
    }

    /// Any method (PUT, PATCH and DELETE too), with a JSON body when given.
    fn new(
        method: Method,
        path: &str,
        body: Option<impl Into<Vec<u8>>>,
        token: Option<&str>,
    ) -> Self {
        let (path, token) = (path.to_owned(), token.map(str::to_owned));
        Self { method, path, token, cookie: None, body: body.map(Into::into) }
    }

    fn with_cookie(self, cookie: String) -> Self {
        Self { cookie: Some(cookie), ..self }
    }
}

async fn call(base: &str, call: Call) -> Answer {
    let Call { method, path, token, cookie, body } = call;
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
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
async fn answers_like_native(base: &str, request: Call) {
    let native = support::Stack::from_status().api_url;
    let path = request.path.clone();
    let expected = call(&native, request.clone()).await;
    let actual = call(base, request).await;
    assert_eq!(actual, expected, "{base}{path} differs from the native host");
}

async fn serves_the_registry_like_native(base: &str) {
    answers_like_native(base, Call::get("/functions/v1/health")).await;
    answers_like_native(base, Call::get("/functions/v1/nope")).await;
}

fn token(expires_in: i64) -> String {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let claims = json!({"sub": "6a1f0c9e-7a3b-4b1e-9c55-0d2e4f6a8b10", "aud": "authenticated",
        "role": "authenticated", "exp": now.as_secs() as i64 + expires_in});
    hs256(&claims, &support::Stack::from_status().jwt_secret)
}

/// Good and bad `goals-calculate` requests: each gets the native host's answer.
async fn calculates_goals_like_native(base: &str) {
    const PATH: &str = "/functions/v1/goals-calculate";
    let plan = support::real_estate_goal(2_000_000).to_string();
    let (valid, expired) = (token(600), token(-600));
    let mut missing_field: Value = serde_json::from_str(&plan).unwrap();
    missing_field.as_object_mut().unwrap().remove("sim");
    let mut wrong_type: Value = serde_json::from_str(&plan).unwrap();
    wrong_type["income_target_cents"] = json!("a lot");
    let mut tracked: Value = serde_json::from_str(&plan).unwrap();
    tracked["referral_rules"] = json!([{"expected_referrals": 5, "close_rate": 0.2}]);
    tracked["today"] = json!("2026-01-12");
    tracked["logged"] = json!([{"date": "2026-01-05", "counts": {"call": 30, "deal": 1}}]);
    let huge = format!("{{\"padding\":\"{}\"}}", " ".repeat(1 << 20));
    for request in [
        Call::post(PATH, plan.clone(), Some(&valid)),
        Call::post(PATH, tracked.to_string(), Some(&valid)),
        Call::post(PATH, plan.clone(), None),
        Call::post(PATH, plan.clone(), Some(&expired)),
        Call::post(PATH, plan.clone(), Some("not.a.jwt")),
        Call::post(PATH, "{\"income_target_cents\":", Some(&valid)),
        Call::post(PATH, missing_field.to_string(), Some(&valid)),
        Call::post(PATH, wrong_type.to_string(), Some(&valid)),
        Call::post(PATH, huge, Some(&valid)),
    ] {
        answers_like_native(base, request).await;
    }
    let answer = call(base, Call::post(PATH, plan, Some(&valid))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

/// The first functions that call PostgREST as the caller: a rep logs through `base`, and reads
/// through `base` and natively get the same page; RLS refusals come back the same way.
async fn tracks_activities_through_postgrest_like_native(base: &str) {
    let world = support::world::World::new().await;
    let rep = world.token(world.rep);
    let logged = world
        .call_at(
            base,
            &rep,
            "POST",
            "activities",
            Some(json!([
                {"type": "call", "occurred_on": "2026-03-02", "quantity": 12},
                {"type": "deal", "occurred_on": "2026-03-03", "value_cents": 40_000_000}
            ])),
        )
        .await
        .ok(201);
    let id = logged["activities"][0]["id"].as_str().unwrap().to_owned();
    let native = world.stack.api_url.clone();
    let range = "activities?from=2026-03-01&to=2026-03-31";
    let here = world.call_at(base, &rep, "GET", range, None).await.ok(200);
    assert_eq!(here, world.call_at(&native, &rep, "GET", range, None).await.ok(200));
    assert_eq!(here["activities"].as_array().unwrap().len(), 2);

    let manager = world.token(world.manager);
    let path = format!("activities?id={id}");
    let edit = Some(json!({"quantity": 1}));
    world.call_at(base, &manager, "PATCH", &path, edit.clone()).await.error(403, "forbidden");
    let outsider = world.token(world.outsider);
    world.call_at(base, &outsider, "PATCH", &path, edit).await.error(404, "not_found");
    let edited = world
        .call_at(base, &rep, "PATCH", &path, Some(json!({"quantity": 15, "annotation": "recount"})))
        .await
        .ok(200);
    assert_eq!(edited["activity"]["quantity"], 15);
    let rules = world.call_at(base, &rep, "GET", "referral-rules", None).await.ok(200);
    assert_eq!(rules, json!({"referral_rules": []}));

    // A goal for March 2026 and its progress: the RPC round trip and the engine on this host.
    let goal = json!({"sim_id": world.sim, "income_target_cents": 1_400_000,
                      "period": {"kind": "month", "start": "2026-03-01"}});
    let set = world.call_at(base, &rep, "PUT", "goals", Some(goal)).await.ok(200);
    let path = format!("goals-progress?goal_id={}", set["goal"]["id"].as_str().unwrap());
    let here = world.call_at(base, &rep, "GET", &path, None).await.ok(200);
    assert_eq!(here, world.call_at(&native, &rep, "GET", &path, None).await.ok(200));
    assert_eq!(here["goals"][0]["progress"]["done"], json!([15, 0, 0, 1]));
}

/// Messaging on this host: a manager starts a thread, the rep reads the list and the badge
/// (each a read sent beside the feature check), replies and marks the thread read; an outsider
/// gets the native host's 404.
async fn messages_like_native(base: &str) {
    let world = support::world::World::new().await;
    let native = world.stack.api_url.clone();
    let (manager, rep) = (world.token(world.manager), world.token(world.rep));
    let start =
        json!({"participant_id": world.rep, "subject": "Pipeline", "body": "How is it going?"});
    let sent = world.call_at(base, &manager, "POST", "messages", Some(start)).await.ok(201);
    let thread = sent["message"]["thread_id"].as_str().unwrap().to_owned();
    for path in
        ["messages", "messages-unread", "notifications", &format!("message-thread?id={thread}")]
    {
        let here = world.call_at(base, &rep, "GET", path, None).await.ok(200);
        assert_eq!(here, world.call_at(&native, &rep, "GET", path, None).await.ok(200), "{path}");
    }
    let reply = json!({"thread_id": thread, "body": "Fine, 20 calls today"});
    world.call_at(base, &rep, "POST", "messages", Some(reply)).await.ok(201);
    let read = format!("message-thread?id={thread}");
    let marked = world.call_at(base, &rep, "POST", &read, None).await.ok(200);
    assert_eq!(marked, json!({"marked_read": 1}));
    let unread = world.call_at(base, &rep, "GET", "messages-unread", None).await.ok(200);
    assert_eq!(unread, json!({"unread": 0}));
    let outsider = world.token(world.outsider);
    world.call_at(base, &outsider, "GET", &read, None).await.error(404, "not_found");
}

/// `kpi-me` on this host: the rep's March, their manager's drilldown, another organization's
/// 404 and a bad period's 422 are the native host's answers, engine and alerts included.
async fn reads_kpis_like_native(base: &str) {
    let world = support::world::World::new().await;
    support::world::owner(&world.stack)
        .await
        .execute(
            "with goal as (
               insert into public.goals (user_id, sim_id, income_target_cents, period_kind, period_start)
               values ($1, $2, 1400000, 'month', '2026-03-01') returning user_id)
             insert into public.activities (user_id, type, occurred_on, quantity)
             select user_id, 'call', '2026-03-02', 30 from goal",
            &[&world.rep, &world.sim],
        )
        .await
        .unwrap();
    let native = world.stack.api_url.clone();
    let march = "kpi-me?period=custom&from=2026-03-01&to=2026-03-31";
    let drilldown = format!("{march}&user_id={}", world.rep);
    for (caller, path, status) in [
        (world.rep, march.to_owned(), 200),
        (world.manager, drilldown.clone(), 200),
        (world.outsider, drilldown, 404),
        (world.rep, "kpi-me?period=custom&from=2026-03-01".to_owned(), 422),
    ] {
        let token = world.token(caller);
        let here = world.call_at(base, &token, "GET", &path, None).await;
        let there = world.call_at(&native, &token, "GET", &path, None).await;
        assert_eq!((here.status, &here.body), (there.status, &there.body), "{base}/{path}");
        assert_eq!(here.status, status, "{}", here.body);
    }
    let view = world.call_at(base, &world.token(world.rep), "GET", march, None).await.ok(200);
    assert_eq!(view["stages"][0]["plan"]["target"], 90);
    assert!(view["alerts"].as_array().unwrap().iter().any(|a| a["kind"] == "behind_pace"));
}

/// The admin functions on this host: a platform admin's page of an organization's members is
/// the native host's, a role change goes through its RPC, and a rep is refused the same way.
async fn administers_members_like_native(base: &str) {
    let world = support::world::World::new().await;
    let admin = world.token(world.platform_admin().await);
    let native = world.stack.api_url.clone();
    let path = format!("admin-users?org_id={}&sort=role", world.org);
    let here = world.call_at(base, &admin, "GET", &path, None).await.ok(200);
    assert_eq!(here, world.call_at(&native, &admin, "GET", &path, None).await.ok(200));
    assert_eq!(here["total"], 2, "{here}");
    let promote = json!({"user_id": world.rep, "role": "team_manager"});
    let rep = world.token(world.rep);
    let refused = world.call_at(base, &rep, "PATCH", "admin-users", Some(promote.clone())).await;
    refused.error(403, "forbidden");
    let changed = world.call_at(base, &admin, "PATCH", "admin-users", Some(promote)).await.ok(200);
    assert_eq!(
        (&changed["member"]["role"], &changed["changed"]),
        (&json!("team_manager"), &json!(true))
    );
}

/// `scenarios` asks PostgREST, as the caller, for the `what_if` flag from inside the host: this
/// token's user belongs to no organization, so the feature is off (403 `feature_disabled`), and
/// their list is empty; `flags` answers that user's resolved set like the native host.
async fn simulates_scenarios_like_native(base: &str) {
    const PATH: &str = "/functions/v1/scenarios";
    let goal = |target: u64| {
        json!({"income_target_cents": target, "period": {"kind": "month", "start": "2026-01-01"},
               "sim": {"average_deal_value_cents": 100_000,
                       "stages": [{"key": "call", "conversion_rate": 0.1}, {"key": "deal"}]}})
    };
    let valid = token(600);
    let body = json!({"real": goal(1_000_000), "changed": goal(2_000_000)}).to_string();
    let bad = json!({"real": goal(1), "changed": {"income_target_cents": -1}}).to_string();
    let list = Call { token: Some(valid.clone()), ..Call::get(PATH) };
    let flags = Call { token: Some(valid.clone()), ..Call::get("/functions/v1/flags") };
    for request in [
        flags,
        Call::post(PATH, body.clone(), Some(&valid)),
        Call::post(PATH, body.clone(), None),
        Call::post(PATH, bad, Some(&valid)),
        list.clone(),
    ] {
        answers_like_native(base, request).await;
    }
    let refused = call(base, Call::post(PATH, body, Some(&valid))).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "feature_disabled");
    assert_eq!(call(base, list).await.body, json!([]));
}

/// Refused sign-ins and sessionless requests: each gets the native host's answer, which takes
/// the throttle RPCs (service role) and the password grant from the WASM host.
async fn refuses_sign_ins_like_native(base: &str) {
    let nobody = format!("nobody-{}@example.com", uuid::Uuid::new_v4().simple());
    let wrong = json!({"email": nobody, "password": "wrong-password"}).to_string();
    for request in [
        Call::post("/functions/v1/auth-login", wrong, None),
        Call::post("/functions/v1/auth-login", "{\"email\": \"\"}", None),
        Call::get("/functions/v1/auth-session"),
        Call::post("/functions/v1/auth-refresh", "", None),
        // No credential at all: the one 401 logout answers (a bad token still clears cookies).
        Call::post("/functions/v1/auth-logout", "", None),
    ] {
        answers_like_native(base, request).await;
    }
    let answer = call(
        base,
        Call::post(
            "/functions/v1/auth-login",
            json!({"email": nobody, "password": "x"}).to_string(),
            None,
        ),
    )
    .await;
    assert_eq!(answer.body["error"]["code"], "invalid_credentials", "{}", answer.body);
}

/// Signs `credentials` in at `base`: status, body and the cookies that arrived (name, value).
async fn sign_in(base: &str, credentials: &Value) -> (StatusCode, Value, Vec<(String, String)>) {
    let response = reqwest::Client::new()
        .post(format!("{base}/functions/v1/auth-login"))
        .json(credentials)
        .send()
        .await
        .unwrap();
    let cookies = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok()?.split(';').next()?.split_once('='))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect();
    (response.status(), response.json().await.unwrap(), cookies)
}

/// A real sign-in through the WASM host answers the context with the cookies named `arriving`,
/// and the access cookie reads the session there exactly as it does natively.
async fn signs_in_and_reads_the_session_like_native(base: &str, arriving: &[&str]) {
    let stack = support::Stack::from_status();
    let email = format!("wasm-{}@example.com", uuid::Uuid::new_v4().simple());
    let credentials = json!({"email": email, "password": "correct-horse-7"});
    let signup = reqwest::Client::new()
        .post(format!("{}/auth/v1/signup", stack.api_url))
        .header("apikey", &stack.anon_key)
        .json(&credentials)
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), StatusCode::OK);
    let (status, body, cookies) = sign_in(base, &credentials).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["user"]["email"], email);
    let names: Vec<&str> = cookies.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, arriving);
    let access_of = |cookies: &[(String, String)]| {
        cookies.iter().find(|(name, _)| name == "__Host-sp-access").map(|(_, v)| v.clone())
    };
    let access = match access_of(&cookies) {
        Some(access) => access,
        None => access_of(&sign_in(&stack.api_url, &credentials).await.2).unwrap(),
    };
    let session =
        Call::get("/functions/v1/auth-session").with_cookie(format!("__Host-sp-access={access}"));
    answers_like_native(base, session.clone()).await;
    assert_eq!(call(base, session).await.body, body);
}

/// Billing through Stripe (the fake): refusals answer like native; a billing admin's checkout and
/// portal reach Stripe from the WASM host too.
async fn bills_through_stripe_like_native(base: &str) {
    let stranger = token(600);
    for path in ["/functions/v1/billing-checkout", "/functions/v1/billing-portal"] {
        answers_like_native(base, Call::post(path, r#"{"plan": "team"}"#, Some(&stranger))).await;
    }
    let holds = Call { token: Some(stranger.clone()), ..Call::get("/functions/v1/billing-holds") };
    answers_like_native(base, holds).await;
    let bad = Call::post("/functions/v1/billing-checkout", r#"{"plan": 5}"#, Some(&stranger));
    answers_like_native(base, bad).await;

    let world = support::world::World::new().await;
    let admin = world.member(world.org, "enterprise_admin").await;
    let token = world.token(admin);
    let fake = std::env::var("STRIPE_FAKE_URL").expect("scripts/test starts the Stripe fake");
    let bought = world
        .call_at(base, &token, "POST", "billing-checkout", Some(json!({"plan": "team"})))
        .await
        .ok(200);
    assert!(bought["url"].as_str().unwrap().starts_with(&fake), "{bought}");
    let portal = world.call_at(base, &token, "POST", "billing-portal", None).await.ok(200);
    assert!(portal["url"].as_str().unwrap().starts_with(&fake), "{portal}");
}

/// mailgun-webhook through `base`: a signed bounce is recorded and suppresses its address, its
/// replay is refused; a forged and an unreadable delivery answer like the native host.
async fn takes_mailgun_webhooks_like_native(base: &str) {
    use support::mailgun_webhook::{deliver_json, event, fresh_address, signed};
    const PATH: &str = "/functions/v1/mailgun-webhook";
    let address = fresh_address("wasm-host");
    let bounce = event("failed", &address, uuid::Uuid::new_v4());
    let delivery = signed(&bounce);
    let accepted = deliver_json(base, &delivery).await;
    assert_eq!(accepted, (200, json!({"received": true, "outcome": "suppressed"})));
    let replayed = deliver_json(base, &delivery).await;
    assert_eq!((replayed.0, &replayed.1["error"]["code"]), (406, &json!("token_reused")));
    let db = support::world::owner(&support::Stack::from_status()).await;
    let reason: String = db
        .query_one("select reason from public.email_suppressions where address = $1", &[&address])
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, "bounced");

    let mut forged = signed(&bounce);
    forged["signature"]["signature"] = json!("00".repeat(32));
    answers_like_native(base, Call::post(PATH, forged.to_string(), None)).await;
    let mut unreadable = bounce.clone();
    unreadable["recipient"] = json!("nobody");
    answers_like_native(base, Call::post(PATH, signed(&unreadable).to_string(), None)).await;
}

/// The admin functions through `base`: flags listed and set, a SIM created, retired and read,
/// an impersonation started, used and ended; reads and refusals answer like the native host.
async fn administers_like_native(base: &str) {
    let world = support::world::World::new().await;
    let native = world.stack.api_url.clone();
    let admin = world.token(world.platform_admin().await);
    let rep = world.token(world.rep);

    let flag = json!({"key": "voice_ai", "scope": "user", "target_id": world.rep, "value": true});
    world.call_at(base, &admin, "PUT", "admin-flags", Some(flag.clone())).await.ok(200);
    let listed = format!("/functions/v1/admin-flags?user_id={}", world.rep);
    answers_like_native(base, Call::new(Method::GET, &listed, None::<Vec<u8>>, Some(&admin))).await;
    let page = call(base, Call::new(Method::GET, &listed, None::<Vec<u8>>, Some(&admin))).await;
    assert_eq!(page.body["total"], 1, "{}", page.body);
    let put =
        Call::new(Method::PUT, "/functions/v1/admin-flags", Some(flag.to_string()), Some(&rep));
    answers_like_native(base, put).await;
    let removed =
        json!({"key": "voice_ai", "scope": "user", "target_id": world.rep, "value": null});
    world.call_at(base, &admin, "PUT", "admin-flags", Some(removed)).await.ok(200);

    let sim = json!({"org_id": world.org, "key": "wasm", "name": "Solar", "industry": "Solar",
                     "average_deal_value_cents": 1_500_000,
                     "stages": [{"key": "visit", "name": "Visit", "activity_type": "appointment",
                                 "conversion_rate": 0.3},
                                {"key": "deal", "name": "Install", "activity_type": "deal"}]});
    let created = world.call_at(base, &admin, "POST", "admin-sims", Some(sim)).await.ok(201);
    let id = created["sim"]["id"].as_str().unwrap().to_owned();
    let retire = json!({"id": id, "status": "retired"}).to_string();
    let refused =
        Call::new(Method::PATCH, "/functions/v1/admin-sims", Some(retire.clone()), Some(&rep));
    answers_like_native(base, refused).await;
    let retired = Call::new(Method::PATCH, "/functions/v1/admin-sims", Some(retire), Some(&admin));
    assert_eq!(call(base, retired).await.body["changed"], true);
    let read = format!("/functions/v1/admin-sims?id={id}");
    answers_like_native(base, Call::new(Method::GET, &read, None::<Vec<u8>>, Some(&rep))).await;

    let start = json!({"user_id": world.rep, "reason": "wasm host check of the rep's view"});
    let started =
        world.call_at(base, &admin, "POST", "admin-impersonate", Some(start)).await.ok(201);
    let token = started["access_token"].as_str().unwrap();
    let as_rep = world.call_at(&native, &rep, "GET", "flags", None).await.ok(200);
    assert_eq!(world.call_at(base, token, "GET", "flags", None).await.ok(200), as_rep);
    let end =
        format!("/functions/v1/admin-impersonate?id={}", started["session_id"].as_str().unwrap());
    answers_like_native(base, Call::new(Method::DELETE, &end, None::<Vec<u8>>, Some(token))).await;
    let ended = call(base, Call::new(Method::DELETE, &end, None::<Vec<u8>>, Some(&admin))).await;
    assert_eq!(ended.body["changed"], true, "{}", ended.body);
}

async fn refuses_paths_outside_the_functions(base: &str) {
    for path in ["/", "/functions/v1/", "/functions/v1/health/extra", "/rest/v1/goals"] {
        let answer = call(base, Call::get(path)).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(answer.body["error"]["code"], "not_found", "{path}");
    }
}

async fn refuses_a_body_over_one_mebibyte(base: &str) {
    let huge = vec![b' '; (1 << 20) + 1];
    let answer = call(base, Call::post("/functions/v1/health", huge, None)).await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.body["error"]["code"], "payload_too_large");
}

/// `kpi-org` through `base` answers like the native host: the team manager's dashboard and a
/// drilldown, a rep's 403 (with the feature check the refusal makes), a bad parameter's 422.
async fn shows_the_org_dashboard_like_native(base: &str) {
    let world = support::world::World::new().await;
    let rep = world.token(world.rep);
    world
        .call_at(
            base,
            &rep,
            "POST",
            "activities",
            Some(json!({"type": "call", "occurred_on": "2026-03-02", "quantity": 4})),
        )
        .await
        .ok(201);
    let manager = world.token(world.manager);
    let march = "period=custom&from=2026-03-01&to=2026-03-31";
    for (token, query) in [
        (&manager, format!("{march}&sort=calls&direction=desc")),
        (&manager, format!("drilldown={}&{march}", world.rep)),
        (&manager, "limit=0".to_owned()),
        (&rep, String::new()),
    ] {
        let path = format!("kpi-org?{query}");
        let here = world.call_at(base, token, "GET", &path, None).await;
        let native = world.call_at(&world.stack.api_url, token, "GET", &path, None).await;
        assert_eq!((here.status, &here.body), (native.status, &native.body), "{base} {path}");
    }
    let dashboard =
        world.call_at(base, &manager, "GET", &format!("kpi-org?{march}"), None).await.ok(200);
    assert_eq!(dashboard["aggregates"]["scope"]["metrics"]["call"]["sum"], json!(4));
}

/// A streamed download: status, content type, the times to its first byte and to its end, and
/// its bytes (a broken stream fails the test).
struct Download {
    status: StatusCode,
    content_type: Option<String>,
    first_byte: std::time::Duration,
    total: std::time::Duration,
    body: Vec<u8>,
}

async fn download(url: &str, token: &str) -> Download {
    download_then(url, token, std::future::ready(())).await
}

/// [`download`], running `on_first_bytes` once its first bytes have arrived.
async fn download_then(
    url: &str,
    token: &str,
    on_first_bytes: impl Future<Output = ()>,
) -> Download {
    let started = std::time::Instant::now();
    let mut response = reqwest::Client::new().get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status();
    let content_type =
        response.headers().get("content-type").map(|value| value.to_str().unwrap().to_owned());
    let (mut body, mut first_byte, mut on_first_bytes) = (Vec::new(), None, Some(on_first_bytes));
    while let Some(chunk) = response.chunk().await.unwrap_or_else(|e| panic!("{url}: {e}")) {
        first_byte.get_or_insert_with(|| started.elapsed());
        if let Some(hook) = on_first_bytes.take() {
            hook.await;
        }
        body.extend_from_slice(&chunk);
    }
    let total = started.elapsed();
    Download { status, content_type, first_byte: first_byte.unwrap_or(total), total, body }
}

/// `admin-audit-export` through `base`: the native host's CSV byte for byte, streamed (its first
/// pages sent as they are read); refusals as natively.
async fn exports_the_audit_log_like_native(base: &str) {
    let world = support::world::World::new().await;
    let admin = world.platform_admin().await;
    let org = uuid::Uuid::new_v4();
    world.seed_audit(org, 40_000, "test.wasm_export").await;
    let path = format!("/functions/v1/admin-audit-export?org={org}");
    let token = world.token(admin);
    let native = download(&format!("{}{path}", world.stack.api_url), &token).await;
    let hosted = download(&format!("{base}{path}"), &token).await;
    assert_eq!((hosted.status, native.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(hosted.content_type.as_deref(), Some("text/csv; charset=utf-8"));
    assert_eq!(hosted.body.len(), native.body.len());
    assert!(hosted.body == native.body, "{base} exports other bytes than the native host");
    eprintln!(
        "{base}: 40k rows ({} bytes) in {:?}, first byte after {:?}; native {:?} / {:?}",
        hosted.body.len(),
        hosted.total,
        hosted.first_byte,
        native.total,
        native.first_byte
    );
    // Streamed, not buffered, judged by order rather than by a clock: an entry that sorts last
    // (the export goes from the newest id down) and is added once the first bytes have arrived is
    // in the file only if the last page was read after them. A buffered answer read every page
    // before its first byte.
    let late_id = -1 - i64::from(org.as_fields().0);
    let add_late_entry = async {
        support::world::owner(&world.stack)
            .await
            .execute(
                "insert into public.audit_log (id, actor_role, action, scope, org_id, target_type)
                 overriding system value values ($1, 'authenticated', 'test.late_entry', 'org', $2, 'member')",
                &[&late_id, &org],
            )
            .await
            .unwrap();
    };
    let streamed = download_then(&format!("{base}{path}"), &token, add_late_entry).await;
    assert!(
        String::from_utf8_lossy(&streamed.body).contains(",test.late_entry,"),
        "{base} left out an entry added after its first bytes: it read every page first (buffered)"
    );
    let rep = Some(world.token(world.rep));
    for path in ["/functions/v1/admin-audit-export", "/functions/v1/admin-audit"] {
        let refused = Call { token: rep.clone(), ..Call::get(path) };
        answers_like_native(base, refused.clone()).await;
        assert_eq!(call(base, refused).await.status, StatusCode::FORBIDDEN);
    }
}

#[tokio::test]
async fn the_worker_streams_the_audit_export_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    exports_the_audit_log_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_streams_the_audit_export_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    exports_the_audit_log_like_native(&base).await;
}

#[tokio::test]
async fn the_worker_serves_the_registry_in_workerd_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    serves_the_registry_like_native(&base).await;
}

#[tokio::test]
async fn the_worker_calculates_goals_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    calculates_goals_like_native(&base).await;
}

#[tokio::test]
async fn the_worker_tracks_activities_through_postgrest_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    tracks_activities_through_postgrest_like_native(&base).await;
}

#[tokio::test]
async fn the_worker_serves_messages_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    messages_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_serves_messages_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    messages_like_native(&base).await;
}

#[tokio::test]
async fn the_worker_simulates_scenarios_through_postgrest_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    simulates_scenarios_like_native(&base).await;
}

#[tokio::test]
async fn the_worker_reads_kpis_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    reads_kpis_like_native(&base).await;
}

#[tokio::test]
async fn the_worker_administers_members_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    administers_members_like_native(&base).await;
}

#[tokio::test]
async fn the_worker_refuses_sign_ins_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    refuses_sign_ins_like_native(&base).await;
}

#[tokio::test]
async fn the_worker_signs_in_and_reads_the_session_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    signs_in_and_reads_the_session_like_native(
        &base,
        &["__Host-sp-access", "__Secure-sp-refresh", "__Secure-sp-refresh"],
    )
    .await;
}

#[tokio::test]
async fn the_worker_administers_flags_sims_and_impersonation_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    administers_like_native(&base).await;
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

/// Each Worker's own URL, from `WORKERD_WORKERS`, or `None` when this run has not started them.
fn workers() -> Option<Vec<(String, String)>> {
    let listed = host("WORKERD_WORKERS")?;
    let pairs = listed.split_whitespace().map(|pair| pair.split_once('=').expect("worker=url"));
    Some(pairs.map(|(worker, url)| (worker.to_owned(), url.to_owned())).collect())
}

#[tokio::test]
async fn each_worker_with_cron_jobs_runs_them_on_its_scheduled_event() {
    let Some(workers) = workers() else { return };
    let logs = std::env::var("WORKERD_LOG_DIR").expect("WORKERD_LOG_DIR holds wrangler's output");
    let with_jobs = |worker: &str| functions::WORKER_OF_CRON_JOB.iter().any(|(_, w)| *w == worker);
    for (worker, base) in workers.iter().filter(|(worker, _)| with_jobs(worker)) {
        let log = format!("{logs}/test-workerd-{worker}.log");
        // `wrangler dev --test-scheduled` fires the scheduled event; the handler logs its tick with
        // the jobs of that schedule (the Workers have no Mailgun settings: email-dispatch stops
        // there).
        let of_worker = |job: &&functions::CronJob| {
            functions::WORKER_OF_CRON_JOB.contains(&(job.name, worker.as_str()))
        };
        let cron = functions::CRON_JOBS.iter().find(of_worker).unwrap().schedule;
        let jobs: Vec<&str> = functions::CRON_JOBS
            .iter()
            .filter(|job| of_worker(job) && job.schedule == cron)
            .map(|job| job.name)
            .collect();
        let query = cron.replace(' ', "+");
        let response = reqwest::get(format!("{base}/__scheduled?cron={query}")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", response.text().await.unwrap());
        let ticked = |line: &str| {
            let at = line.find('{');
            let json = at.and_then(|at| serde_json::from_str::<Value>(&line[at..]).ok());
            json.is_some_and(|json| {
                json["event"] == "cron_tick" && json["cron"] == cron && json["jobs"] == json!(jobs)
            })
        };
        let mut found = false;
        for _ in 0..50 {
            found = std::fs::read_to_string(&log).unwrap().lines().any(ticked);
            if found {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(found, "no cron_tick for {cron:?} in {log}");
    }
}

#[tokio::test]
async fn the_spin_component_serves_the_registry_in_a_wasi_http_host_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    serves_the_registry_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_calculates_goals_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    calculates_goals_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_tracks_activities_through_postgrest_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    tracks_activities_through_postgrest_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_simulates_scenarios_through_postgrest_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    simulates_scenarios_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_reads_kpis_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    reads_kpis_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_administers_members_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    administers_members_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_refuses_sign_ins_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    refuses_sign_ins_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_signs_in_and_reads_the_session_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    // `jco serve` hands the component's headers to Node as one object (its preview2-shim's
    // `Object.fromEntries`), so of the three Set-Cookie headers only the last arrives; Spin keeps
    // all. The session is then read with the access cookie of a native sign-in.
    signs_in_and_reads_the_session_like_native(&base, &["__Secure-sp-refresh"]).await;
}

#[tokio::test]
async fn the_spin_component_administers_flags_sims_and_impersonation_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    administers_like_native(&base).await;
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

#[tokio::test]
async fn the_worker_takes_mailgun_webhooks_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    takes_mailgun_webhooks_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_takes_mailgun_webhooks_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    takes_mailgun_webhooks_like_native(&base).await;
}

#[tokio::test]
async fn the_worker_bills_through_stripe_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    bills_through_stripe_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_bills_through_stripe_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    bills_through_stripe_like_native(&base).await;
}

fn repository() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn every_function_is_served_by_exactly_one_worker_and_routed_there() {
    let mut listed: Vec<&str> =
        functions::WORKER_OF_FUNCTION.iter().map(|(name, _)| *name).collect();
    listed.sort_unstable();
    let mut registered = functions::NAMES.to_vec();
    registered.sort_unstable();
    assert_eq!(listed, registered, "each function is listed once, with one Worker");
    let routes = Routes::load(&repository(), functions::WORKERS).unwrap_or_else(|e| panic!("{e}"));
    for (name, worker) in functions::WORKER_OF_FUNCTION {
        assert!(functions::WORKERS.contains(worker), "{name}: no Worker named {worker}");
        for path in [format!("/functions/v1/{name}"), format!("/functions/v1/{name}?id=1")] {
            let routed = routes.worker_for(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                routed,
                Some(*worker),
                "{path} leads to {routed:?}, not to {worker}, which serves it: a function of a \
                 Worker other than app has the route {{ pattern = \"{HOST}/functions/v1/{name}*\", \
                 zone_name = \"{ZONE}\" }} in wrangler/{worker}.toml (app, in wrangler.toml, takes every other path)"
            );
        }
    }
    // Every route is the app Worker's catch-all or leads to a function of its own Worker.
    for route in &routes.0 {
        assert_eq!((route.host.as_str(), route.zone_name.as_str()), (HOST, ZONE), "{route:?}");
        let name = route.path.strip_prefix("/functions/v1/").and_then(|n| n.strip_suffix('*'));
        let serves = |name| functions::WORKER_OF_FUNCTION.contains(&(name, route.worker.as_str()));
        let catch_all = route.path == "/*" && route.worker == "app";
        assert!(catch_all || name.is_some_and(serves), "{route:?} leads to none of its functions");
    }
    assert_eq!(routes.worker_for("/rest/v1/goals"), Ok(Some("app")), "app's catch-all");
}

/// The API host every Worker's routes are on, and its zone.
const HOST: &str = "api.salespulse.example";
const ZONE: &str = "salespulse.example";

#[test]
fn each_worker_config_runs_its_own_build_and_triggers_exactly_its_jobs_schedules() {
    for worker in functions::WORKERS {
        let config = worker_routes::config(&repository(), worker).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config["name"].as_str(), Some(format!("salespulse-{worker}").as_str()));
        // `main` is relative to the config's own folder.
        let config_dir =
            worker_routes::config_path(&repository(), worker).parent().unwrap().to_owned();
        let to_root = if config_dir == repository() { "" } else { "../" };
        let main = format!("{to_root}functions/worker/build/{worker}/index.js");
        assert_eq!(config["main"].as_str(), Some(main.as_str()), "{worker}");
        let crons = config.get("triggers").and_then(|t| t.get("crons")).and_then(|c| c.as_array());
        let mut triggers: Vec<&str> =
            crons.into_iter().flatten().map(|cron| cron.as_str().unwrap()).collect();
        let mut schedules: Vec<&str> = functions::CRON_JOBS
            .iter()
            .filter(|job| functions::WORKER_OF_CRON_JOB.contains(&(job.name, *worker)))
            .map(|job| job.schedule)
            .collect();
        triggers.sort_unstable();
        schedules.sort_unstable();
        schedules.dedup();
        assert_eq!(triggers, schedules, "{worker}'s cron triggers: one per schedule of its jobs");
    }
    let mut configs: Vec<String> = std::fs::read_dir(repository().join("wrangler"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|file| file.ends_with(".toml"))
        .map(|file| format!("wrangler/{file}"))
        .chain(repository().join("wrangler.toml").exists().then(|| "wrangler.toml".to_owned()))
        .collect();
    configs.sort_unstable();
    let mut expected: Vec<String> = functions::WORKERS
        .iter()
        .map(|worker| {
            let path = worker_routes::config_path(&repository(), worker);
            path.strip_prefix(repository()).unwrap().to_string_lossy().into_owned()
        })
        .collect();
    expected.sort_unstable();
    assert_eq!(configs, expected, "one wrangler config per Worker");
}

#[test]
fn each_worker_is_a_feature_of_the_functions_and_of_the_worker_host() {
    let features = |manifest: &str| {
        let path = repository().join(manifest);
        let manifest: toml::Table = std::fs::read_to_string(path).unwrap().parse().unwrap();
        manifest["features"].as_table().unwrap().clone()
    };
    let (functions, host) =
        (features("functions/Cargo.toml"), features("functions/worker/Cargo.toml"));
    let workers: Vec<toml::Value> = functions::WORKERS.iter().map(|w| (*w).into()).collect();
    assert_eq!(functions["default"].as_array(), Some(&workers), "every host but the Workers: all");
    assert_eq!(host.len(), functions::WORKERS.len(), "{host:?}");
    for worker in functions::WORKERS {
        assert_eq!(functions[*worker].as_array().map(Vec::len), Some(0), "{worker}");
        let enables = toml::Value::Array(vec![format!("functions/{worker}").into()]);
        assert_eq!(host.get(*worker), Some(&enables), "functions-worker's feature {worker}");
    }
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

#[tokio::test]
async fn the_worker_shows_the_org_dashboard_like_the_native_host() {
    let Some(base) = host("WORKERD_URL") else { return };
    shows_the_org_dashboard_like_native(&base).await;
}

#[tokio::test]
async fn the_spin_component_shows_the_org_dashboard_like_the_native_host() {
    let Some(base) = host("SPIN_URL") else { return };
    shows_the_org_dashboard_like_native(&base).await;
}
