//! `admin-impersonate` over HTTP through the local stack: a platform admin gets a 15-minute
//! read-only token of a rep (start and end audited once each); with it every read answers as the
//! rep's own token does and every write, over `/rest/v1` and through the functions, is refused
//! with nothing written. Non-admins, enterprise admins, impersonation tokens and attempts on
//! another platform admin are refused and record nothing.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::world::{World, owner};
use uuid::Uuid;

const REASON: &str = "ticket 4711: the rep's goal looks wrong";

/// Audit entries about impersonating `user`, oldest first: (action, actor, impersonator, reason).
async fn audit_rows(world: &World, user: Uuid) -> Vec<Value> {
    owner(&world.stack)
        .await
        .query(
            "select jsonb_build_array(action, actor_id, impersonator_id,
                                      coalesce(after ->> 'reason', before ->> 'reason'),
                                      after ->> 'ended_at' is not null)
               from public.audit_log
              where action like 'impersonation.%' and target_id = $1 order by id",
            &[&user.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// `/rest/v1/<path>` with `token` (and the anon key as apikey, as supabase-js sends it).
async fn rest(
    world: &World,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = world
        .http
        .request(method, format!("{}/rest/v1/{path}", world.stack.api_url))
        .header("apikey", &world.stack.anon_key)
        .header("prefer", "return=representation")
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Rows the rep owns now, as the database owner counts them: goals, activities, scenarios.
async fn rep_rows(world: &World) -> (i64, i64, i64) {
    let row = owner(&world.stack)
        .await
        .query_one(
            "select (select count(*) from public.goals where user_id = $1),
                    (select count(*) from public.activities where user_id = $1),
                    (select count(*) from public.scenarios where user_id = $1)",
            &[&world.rep],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[tokio::test]
async fn an_impersonation_reads_as_the_user_writes_nothing_and_is_audited() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let month = world.month_start().await;
    let goal = json!({"sim_id": world.sim, "income_target_cents": 1_400_000,
                      "period": {"kind": "month", "start": month}});
    world.call(world.rep, "PUT", "goals", Some(goal.clone())).await.ok(200);
    let call = json!({"type": "call", "occurred_on": month});
    world.call(world.rep, "POST", "activities", Some(call.clone())).await.ok(201);

    let started = world
        .call(
            admin,
            "POST",
            "admin-impersonate",
            Some(json!({"user_id": world.rep, "reason": REASON})),
        )
        .await
        .ok(201);
    let token = started["access_token"].as_str().unwrap().to_owned();
    assert_eq!(started["token_type"], "bearer");
    assert!(started.get("refresh_token").is_none(), "{started}");
    let expires_in = started["expires_in"].as_u64().unwrap();
    assert!((880..=900).contains(&expires_in), "{started}");
    assert_eq!(started["user"]["id"], json!(world.rep));
    assert_eq!(
        audit_rows(&world, world.rep).await,
        [json!(["impersonation.start", admin, null, REASON, false])]
    );

    // Reads: the same answers as the rep's own token.
    let own = world.token(world.rep);
    for path in ["goals", "goals-progress", "activities-today", "flags", "auth-session"] {
        let as_rep = world.call_with_token(&own, "GET", path, None).await.ok(200);
        let impersonated = world.call_with_token(&token, "GET", path, None).await.ok(200);
        if path == "auth-session" {
            assert_eq!(impersonated["user"]["id"], as_rep["user"]["id"], "{path}");
            assert_eq!(impersonated["org"], as_rep["org"], "{path}");
        } else {
            assert_eq!(impersonated, as_rep, "{path}");
        }
    }
    for path in [
        "goals?select=id,income_target_cents",
        "activities?select=id,type,quantity",
        "sims?select=id&order=id",
        "memberships?select=user_id,role&order=user_id",
    ] {
        let as_rep = rest(&world, &own, Method::GET, path, None).await;
        let impersonated = rest(&world, &token, Method::GET, path, None).await;
        assert_eq!(as_rep.0, 200, "{path}");
        assert_eq!(impersonated, as_rep, "{path}");
    }

    // Writes: refused over /rest/v1 and through the functions; nothing changes.
    let before = rep_rows(&world).await;
    let goal_id =
        world.call(world.rep, "GET", "goals", None).await.ok(200)["goals"][0]["goal"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    let insert = rest(&world, &token, Method::POST, "activities", Some(call.clone())).await;
    assert_eq!((insert.0, insert.1["code"].as_str()), (403, Some("42501")), "{}", insert.1);
    let scenario = json!({"name": "Again", "inputs": {}});
    assert_eq!(rest(&world, &token, Method::POST, "scenarios", Some(scenario)).await.0, 403);
    let patch = rest(
        &world,
        &token,
        Method::PATCH,
        &format!("goals?id=eq.{goal_id}"),
        Some(json!({"income_target_cents": 1})),
    )
    .await;
    assert_eq!(patch, (200, json!([])), "an update reaches no row");
    let delete = rest(&world, &token, Method::DELETE, "activities?user_id=not.is.null", None).await;
    assert_eq!(delete, (200, json!([])), "a delete reaches no row");
    let profile = rest(
        &world,
        &token,
        Method::PATCH,
        &format!("profiles?id=eq.{}", world.rep),
        Some(json!({"full_name": "Hijacked"})),
    )
    .await;
    assert_eq!(profile, (200, json!([])));
    let refused = [
        ("POST", "activities", Some(call)),
        ("PUT", "goals", Some(goal)),
        ("POST", "referral-rules", Some(json!({"name": "Referrals", "referral_close_rate": 0.4}))),
        (
            "PUT",
            "admin-flags",
            Some(json!({"key": "voice_ai", "scope": "org", "target_id": world.org, "value": true})),
        ),
        ("POST", "admin-impersonate", Some(json!({"user_id": world.manager, "reason": REASON}))),
    ];
    for (method, path, body) in refused {
        let answer = world.call_with_token(&token, method, path, body).await;
        assert_eq!(answer.status, 403, "{method} {path}: {}", answer.body);
    }
    assert_eq!(rep_rows(&world).await, before);
    let name: Option<String> = owner(&world.stack)
        .await
        .query_one("select full_name from public.profiles where id = $1", &[&world.rep])
        .await
        .unwrap()
        .get(0);
    assert_ne!(name.as_deref(), Some("Hijacked"));

    // Ending: the admin, from their own session; once.
    let end = format!("admin-impersonate?id={}", started["session_id"].as_str().unwrap());
    world.call_with_token(&token, "DELETE", &end, None).await.error(403, "forbidden");
    assert_eq!(world.call(admin, "DELETE", &end, None).await.ok(200)["changed"], true);
    assert_eq!(world.call(admin, "DELETE", &end, None).await.ok(200)["changed"], false);
    assert_eq!(
        audit_rows(&world, world.rep).await,
        [
            json!(["impersonation.start", admin, null, REASON, false]),
            json!(["impersonation.end", admin, null, REASON, true])
        ]
    );
}

#[tokio::test]
async fn only_a_platform_admin_in_their_own_session_impersonates_and_never_another_admin() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let other_admin = world.platform_admin().await;
    let foreign_admin = world.member(world.other_org().await, "enterprise_admin").await;
    let own_admin = world.member(world.org, "enterprise_admin").await;
    let start = json!({"user_id": world.rep, "reason": REASON});
    let tokens = [
        ("a rep", world.token(world.rep)),
        ("the rep's own enterprise admin", world.token(own_admin)),
        ("another org's enterprise admin", world.token(foreign_admin)),
        (
            "an impersonation token",
            world.token_with(world.manager, json!({"impersonator": admin, "read_only": true})),
        ),
        ("a platform admin's read-only token", world.token_with(admin, json!({"read_only": true}))),
    ];
    for (who, token) in &tokens {
        let answer =
            world.call_with_token(token, "POST", "admin-impersonate", Some(start.clone())).await;
        assert_eq!(
            (answer.status, answer.body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{who}: {}",
            answer.body
        );
    }
    let at_admin = json!({"user_id": other_admin, "reason": REASON});
    world.call(admin, "POST", "admin-impersonate", Some(at_admin)).await.error(403, "forbidden");
    let at_self = json!({"user_id": admin, "reason": REASON});
    world.call(admin, "POST", "admin-impersonate", Some(at_self)).await.error(403, "forbidden");
    let no_reason = json!({"user_id": world.rep, "reason": "because"});
    world.call(admin, "POST", "admin-impersonate", Some(no_reason)).await.names("reason");
    world
        .call(admin, "POST", "admin-impersonate", Some(json!({"user_id": world.rep})))
        .await
        .names("body");
    let nobody = json!({"user_id": Uuid::new_v4(), "reason": REASON});
    world.call(admin, "POST", "admin-impersonate", Some(nobody)).await.error(422, "rejected");

    // Ending someone else's session is refused too.
    let started = world.call(admin, "POST", "admin-impersonate", Some(start)).await.ok(201);
    let end = format!("admin-impersonate?id={}", started["session_id"].as_str().unwrap());
    world.call(other_admin, "DELETE", &end, None).await.error(422, "rejected");
    world.call(world.rep, "DELETE", &end, None).await.error(403, "forbidden");

    let db = owner(&world.stack).await;
    let sessions: i64 = db
        .query_one(
            "select count(*) from public.impersonation_sessions where admin_id = $1",
            &[&admin],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sessions, 1, "only the one allowed start left a session");
    assert_eq!(audit_rows(&world, world.rep).await.len(), 1);
    assert!(audit_rows(&world, other_admin).await.is_empty());
}
