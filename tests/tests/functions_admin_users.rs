//! `admin-users` and `admin-orgs` over HTTP through the local stack: every action by a platform
//! admin works and writes exactly one audit row (actor, action, target, before, after); the same
//! actions by an enterprise admin of another organization, a rep, a team manager and
//! impersonation tokens are refused with 403 and write nothing; an enterprise admin whose plan
//! includes `member_admin` administers their own organization only.

mod support;

use serde_json::{Value, json};
use support::world::{Answer, World, owner};
use uuid::Uuid;

/// The audit rows about `target` (a user or organization id) that a user's action wrote so far,
/// oldest first (the fixtures, written by the database owner, have no actor).
async fn audit_rows(world: &World, target: Uuid) -> Vec<Value> {
    owner(&world.stack)
        .await
        .query(
            "select jsonb_build_object('actor', actor_id, 'impersonator', impersonator_id,
                                       'action', action, 'org', org_id, 'before', before,
                                       'after', after)
               from public.audit_log where target_id = $1 and actor_id is not null order by id",
            &[&target.to_string()],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// The membership of `user` as the database holds it: organization, role and team.
async fn membership(world: &World, user: Uuid) -> Value {
    owner(&world.stack)
        .await
        .query_one(
            "select jsonb_build_object('org_id', org_id, 'role', role, 'team_id', team_id)
               from public.memberships where user_id = $1",
            &[&user],
        )
        .await
        .unwrap()
        .get(0)
}

async fn team(world: &World, org: Uuid, name: &str) -> Uuid {
    owner(&world.stack)
        .await
        .query_one(
            "insert into public.teams (org_id, name) values ($1, $2) returning id",
            &[&org, &name],
        )
        .await
        .unwrap()
        .get(0)
}

/// Asserts exactly one audit row about `target` since `before` rows, by `actor` with `action`,
/// and answers it.
async fn one_new_entry(
    world: &World,
    target: Uuid,
    before: usize,
    actor: Uuid,
    action: &str,
) -> Value {
    let rows = audit_rows(world, target).await;
    assert_eq!(rows.len(), before + 1, "one entry for {action}: {rows:#?}");
    let entry = rows[before].clone();
    assert_eq!((&entry["actor"], &entry["action"]), (&json!(actor), &json!(action)), "{entry}");
    assert_eq!(entry["impersonator"], Value::Null);
    entry
}

fn users_of(page: &Value) -> Vec<Value> {
    page["users"].as_array().unwrap().iter().map(|user| user["user_id"].clone()).collect()
}

#[tokio::test]
async fn a_platform_admin_lists_and_changes_members_of_any_org_with_one_audit_row_each() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let west = team(&world, world.org, "West").await;
    let other_org = world.other_org().await;

    let path = format!("admin-users?org_id={}&sort=role", world.org);
    let page = world.call(admin, "GET", &path, None).await.ok(200);
    assert_eq!(page["total"], 2, "{page}");
    assert_eq!(users_of(&page), [json!(world.rep), json!(world.manager)]);
    let email_part = &world.rep.to_string()[..8].to_uppercase();
    let found =
        world.call(admin, "GET", &format!("admin-users?search={email_part}"), None).await.ok(200);
    assert_eq!(users_of(&found), [json!(world.rep)], "search by part of the e-mail, any case");

    let moved = world
        .call(admin, "PATCH", "admin-users", Some(json!({"user_id": world.rep, "team_id": west})))
        .await
        .ok(200);
    assert_eq!((&moved["member"]["team_id"], &moved["changed"]), (&json!(west), &json!(true)));
    let entry = one_new_entry(&world, world.rep, 0, admin, "member.move_team").await;
    assert_ne!(entry["before"]["team_id"], json!(west));
    assert_eq!(entry["after"]["team_id"], json!(west));
    assert_eq!(entry["org"], json!(world.org));

    world
        .call(
            admin,
            "PATCH",
            "admin-users",
            Some(json!({"user_id": world.rep, "role": "enterprise_tm"})),
        )
        .await
        .ok(200);
    let entry = one_new_entry(&world, world.rep, 1, admin, "member.change_role").await;
    assert_eq!(
        (&entry["before"]["role"], &entry["after"]["role"]),
        (&json!("rep"), &json!("enterprise_tm"))
    );

    let body = json!({"user_id": world.rep, "org_id": other_org});
    let moved = world.call(admin, "PATCH", "admin-users", Some(body)).await.ok(200);
    assert_eq!(moved["member"]["org_id"], json!(other_org), "{moved}");
    assert_eq!(
        membership(&world, world.rep).await,
        json!({"org_id": other_org, "role": "rep", "team_id": null})
    );
    let entry = one_new_entry(&world, world.rep, 2, admin, "member.move_org").await;
    assert_eq!((&entry["org"], &entry["after"]["org_id"]), (&json!(world.org), &json!(other_org)));
}

#[tokio::test]
async fn a_platform_admin_creates_suspends_and_reactivates_an_org_with_one_audit_row_each() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let boss = world.new_user("newco").await;
    let slug = format!("newco-{}", Uuid::new_v4().simple());
    let body = json!({"name": "Newco", "slug": slug, "kind": "enterprise", "plan_key": "enterprise",
                      "admin_email": format!("{boss}@NEWCO.test")});
    let created = world.call(admin, "POST", "admin-orgs", Some(body)).await.ok(201);
    let org: Uuid = serde_json::from_value(created["organization"]["id"].clone()).unwrap();
    assert_eq!(created["first_admin"]["user_id"], json!(boss), "{created}");
    assert_eq!(
        membership(&world, boss).await,
        json!({"org_id": org, "role": "enterprise_admin", "team_id": null})
    );
    let entry = one_new_entry(&world, org, 0, admin, "org.create").await;
    assert_eq!((&entry["before"], &entry["after"]["slug"]), (&Value::Null, &json!(slug)));
    assert_eq!(entry["after"]["first_admin"]["user_id"], json!(boss));
    assert!(
        audit_rows(&world, boss).await.is_empty(),
        "the first admin's membership is part of org.create"
    );

    let suspend = json!({"org_id": org, "status": "suspended", "reason": "chargeback"});
    let suspended = world.call(admin, "PATCH", "admin-orgs", Some(suspend.clone())).await.ok(200);
    assert_eq!(suspended["organization"]["status"], "suspended", "{suspended}");
    let entry = one_new_entry(&world, org, 1, admin, "org.suspend").await;
    assert_eq!(
        (&entry["before"]["status"], &entry["after"]["status"], &entry["after"]["reason"]),
        (&json!("active"), &json!("suspended"), &json!("chargeback"))
    );
    let again = world.call(admin, "PATCH", "admin-orgs", Some(suspend)).await.ok(200);
    assert_eq!(again["changed"], false);
    assert_eq!(audit_rows(&world, org).await.len(), 2, "an unchanged status is not audited");

    let reactivate = json!({"org_id": org, "status": "active", "reason": "paid"});
    world.call(admin, "PATCH", "admin-orgs", Some(reactivate)).await.ok(200);
    let entry = one_new_entry(&world, org, 2, admin, "org.reactivate").await;
    assert_eq!(
        (&entry["after"]["status"], &entry["after"]["reason"]),
        (&json!("active"), &json!("paid"))
    );
}

/// Every action, as (method, function, body) against `world`'s organization and its rep.
fn every_action(
    world: &World,
    team: Uuid,
    other_org: Uuid,
) -> Vec<(&'static str, String, Option<Value>)> {
    let slug = format!("refused-{}", Uuid::new_v4().simple());
    vec![
        ("GET", format!("admin-users?org_id={}", world.org), None),
        ("PATCH", "admin-users".into(), Some(json!({"user_id": world.rep, "team_id": team}))),
        (
            "PATCH",
            "admin-users".into(),
            Some(json!({"user_id": world.rep, "role": "enterprise_admin"})),
        ),
        ("PATCH", "admin-users".into(), Some(json!({"user_id": world.rep, "org_id": other_org}))),
        (
            "POST",
            "admin-orgs".into(),
            Some(json!({"name": "Refused", "slug": slug, "kind": "team", "plan_key": "team",
                        "admin_email": format!("{}@tracker.test", world.rep)})),
        ),
        (
            "PATCH",
            "admin-orgs".into(),
            Some(json!({"org_id": world.org, "status": "suspended", "reason": "not yours"})),
        ),
    ]
}

#[tokio::test]
async fn others_and_impersonation_tokens_are_refused_and_write_nothing() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let west = team(&world, world.org, "West").await;
    let other_org = world.other_org().await;
    // The other organization is on the Team plan, which includes member_admin.
    let foreign_admin = world.member(other_org, "enterprise_admin").await;
    let before = membership(&world, world.rep).await;
    let tokens = [
        ("an enterprise admin of another org", world.token(foreign_admin)),
        ("a rep", world.token(world.rep)),
        ("a team manager", world.token(world.manager)),
        (
            "the platform admin impersonated",
            world.token_with(admin, json!({"impersonator": admin, "read_only": true})),
        ),
        (
            "a rep impersonated by the admin",
            world.token_with(world.rep, json!({"impersonator": admin, "read_only": true})),
        ),
    ];
    for (who, token) in &tokens {
        for (method, path, body) in every_action(&world, west, other_org) {
            let answer = world.call_with_token(token, method, &path, body).await;
            assert_eq!(
                (answer.status, answer.body["error"]["code"].as_str()),
                (403, Some("forbidden")),
                "{who}: {method} {path}: {}",
                answer.body
            );
        }
    }
    assert_eq!(membership(&world, world.rep).await, before);
    assert!(audit_rows(&world, world.rep).await.is_empty());
    assert!(audit_rows(&world, world.org).await.is_empty());
    let org_status: String = owner(&world.stack)
        .await
        .query_one("select status::text from public.organizations where id = $1", &[&world.org])
        .await
        .unwrap()
        .get(0);
    assert_eq!(org_status, "active");
}

#[tokio::test]
async fn an_enterprise_admin_whose_plan_allows_it_administers_their_own_org_only() {
    let world = World::new().await;
    let west = team(&world, world.org, "West").await;
    let other_org = world.other_org().await;
    let boss = world.member(world.org, "enterprise_admin").await;

    let page = world.call(boss, "GET", "admin-users?limit=10", None).await.ok(200);
    assert_eq!(page["total"], 3, "their organization only: {page}");
    let elsewhere = format!("admin-users?org_id={other_org}");
    world.call(boss, "GET", &elsewhere, None).await.error(403, "forbidden");

    let move_rep = json!({"user_id": world.rep, "team_id": west});
    world.call(boss, "PATCH", "admin-users", Some(move_rep)).await.ok(200);
    one_new_entry(&world, world.rep, 0, boss, "member.move_team").await;
    let promote = json!({"user_id": world.rep, "role": "team_manager"});
    world.call(boss, "PATCH", "admin-users", Some(promote)).await.ok(200);
    one_new_entry(&world, world.rep, 1, boss, "member.change_role").await;

    let refused: [Answer; 4] = [
        world
            .call(
                boss,
                "PATCH",
                "admin-users",
                Some(json!({"user_id": world.outsider, "role": "team_manager"})),
            )
            .await,
        world
            .call(
                boss,
                "PATCH",
                "admin-users",
                Some(json!({"user_id": world.rep, "org_id": other_org})),
            )
            .await,
        world
            .call(
                boss,
                "PATCH",
                "admin-orgs",
                Some(json!({"org_id": world.org, "status": "suspended", "reason": "x"})),
            )
            .await,
        world
            .call(boss, "PATCH", "admin-users", Some(json!({"user_id": boss, "role": "rep"})))
            .await,
    ];
    let [outsider, other_org_move, suspend, last_admin] = refused;
    outsider.error(403, "forbidden");
    other_org_move.error(403, "forbidden");
    suspend.error(403, "forbidden");
    last_admin.error(422, "rejected");
    assert!(audit_rows(&world, world.outsider).await.is_empty());
    assert_eq!(audit_rows(&world, world.rep).await.len(), 2);

    // On the Solo plan (no member_admin) an enterprise admin administers nobody.
    let solo_org = Uuid::new_v4();
    owner(&world.stack)
        .await
        .execute(
            "insert into public.organizations (id, name, slug, kind, plan_key)
             values ($1, 'Solo', $2, 'individual', 'solo')",
            &[&solo_org, &format!("solo-{}", solo_org.simple())],
        )
        .await
        .unwrap();
    let solo = world.member(solo_org, "enterprise_admin").await;
    world.call(solo, "GET", "admin-users", None).await.error(403, "forbidden");
}

#[tokio::test]
async fn bad_requests_are_json_4xx_and_the_database_rules_hold() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let other_org = world.other_org().await;
    let foreign_team = team(&world, other_org, "Far").await;
    let patch = |body: Value| world.call(admin, "PATCH", "admin-users", Some(body));

    patch(json!({"user_id": Uuid::new_v4(), "role": "rep"})).await.error(404, "not_found");
    patch(json!({"user_id": world.rep, "org_id": Uuid::new_v4()})).await.error(404, "not_found");
    patch(json!({"user_id": world.rep, "team_id": foreign_team})).await.error(422, "rejected");
    patch(json!({"user_id": world.rep, "team_id": foreign_team, "role": "rep"}))
        .await
        .names("role");
    patch(json!({"user_id": world.rep})).await.names("body");
    world.call(admin, "GET", "admin-users?limit=500", None).await.names("limit");
    world.call(admin, "GET", "admin-users?sort=salary", None).await.names("sort");

    // The Team plan's 50 seats, lowered to what the other organization has: nobody more fits.
    owner(&world.stack)
        .await
        .execute("update public.organizations set max_users = 1 where id = $1", &[&other_org])
        .await
        .unwrap();
    patch(json!({"user_id": world.rep, "org_id": other_org})).await.error(422, "rejected");
    assert_eq!(membership(&world, world.rep).await["org_id"], json!(world.org));

    let create = |slug: &str, email: String| json!({"name": "Dup", "slug": slug, "kind": "team", "plan_key": "team", "admin_email": email});
    let taken = format!("t-{}", world.org.simple());
    let boss = world.new_user("newco").await;
    let post = |body: Value| world.call(admin, "POST", "admin-orgs", Some(body));
    post(create(&taken, format!("{boss}@newco.test"))).await.error(409, "conflict");
    post(create("nobody-co", "nobody@nowhere.test".into())).await.error(404, "not_found");
    post(create("Bad Slug", format!("{boss}@newco.test"))).await.names("slug");
    post(json!({"name": "X", "slug": "xx", "kind": "team", "plan_key": "gold",
                "admin_email": format!("{boss}@newco.test")}))
    .await
    .error(422, "rejected");
    let reason_less = json!({"org_id": world.org, "status": "suspended", "reason": " "});
    world.call(admin, "PATCH", "admin-orgs", Some(reason_less)).await.names("reason");
    let unknown = json!({"org_id": Uuid::new_v4(), "status": "suspended", "reason": "x"});
    world.call(admin, "PATCH", "admin-orgs", Some(unknown)).await.error(404, "not_found");
    world.call(admin, "DELETE", "admin-orgs", None).await.error(405, "method_not_allowed");
    assert!(audit_rows(&world, world.rep).await.is_empty());
}

#[tokio::test]
async fn a_suspended_orgs_members_are_refused_at_their_next_request_until_reactivated() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let requests: [(&str, &str, Option<Value>); 10] = [
        ("GET", "flags", None),
        ("GET", "goals", None),
        ("GET", "goals-progress", None),
        ("GET", "activities?from=2026-03-01&to=2026-03-31", None),
        (
            "POST",
            "activities",
            Some(json!([{"type": "call", "occurred_on": "2026-03-02", "quantity": 1}])),
        ),
        ("GET", "activities-today", None),
        ("GET", "referral-rules", None),
        ("GET", "scenarios", None),
        ("GET", "auth-session", None),
        ("GET", "admin-users", None),
    ];
    let codes = |user: Uuid| {
        let world = &world;
        let requests = requests.clone();
        async move {
            let mut codes = Vec::new();
            for (method, path, body) in requests {
                let answer = world.call(user, method, path, body).await;
                codes.push((path, answer.body["error"]["code"].as_str().map(str::to_owned)));
            }
            codes
        }
    };
    let suspended = |codes: &[(&str, Option<String>)]| {
        codes.iter().filter(|(_, code)| code.as_deref() == Some("org_suspended")).count()
    };
    for user in [world.rep, world.manager] {
        assert_eq!(suspended(&codes(user).await), 0, "active: {:?}", codes(user).await);
    }

    let change = |status: &str| json!({"org_id": world.org, "status": status, "reason": "test"});
    world.call(admin, "PATCH", "admin-orgs", Some(change("suspended"))).await.ok(200);
    for user in [world.rep, world.manager] {
        let answers = codes(user).await;
        assert_eq!(suspended(&answers), requests.len(), "every request refused: {answers:?}");
    }
    assert_eq!(suspended(&codes(world.outsider).await), 0, "another organization works on");
    world.call(admin, "GET", "admin-users?org_status=suspended", None).await.ok(200);

    world.call(admin, "PATCH", "admin-orgs", Some(change("active"))).await.ok(200);
    assert_eq!(suspended(&codes(world.rep).await), 0, "reactivation restores");
    world.call(world.rep, "GET", "flags", None).await.ok(200);
}
