//! `flags` over HTTP through the local stack: the caller's resolved set, where a user's value
//! beats the organization's, which beats the global one, which beats the plan's features and
//! paid add-ons, which beat each feature's default. Flags are set as the database owner (the
//! admin functions come later); every change writes exactly one audit row.

mod support;

use serde_json::{Value, json};
use support::world::{World, owner};
use uuid::Uuid;

/// The feature this file owns: no other test sets it, so its global value can change here.
const LADDER: &str = "voice_ai";

async fn flags_of(world: &World, user: Uuid) -> Value {
    world.call(user, "GET", "flags", None).await.ok(200)["flags"].clone()
}

async fn flag_of(world: &World, user: Uuid, feature: &str) -> Value {
    flags_of(world, user).await[feature].clone()
}

/// Audit rows about flags of `feature` so far.
async fn audited_changes(world: &World, feature: &str) -> i64 {
    owner(&world.stack)
        .await
        .query_one(
            "select count(*) from public.audit_log
              where target_type = 'feature_flag' and split_part(target_id, ':', 1) = $1",
            &[&feature],
        )
        .await
        .unwrap()
        .get(0)
}

/// Runs `sql` as the database owner and asserts that it wrote exactly one audit row.
async fn change_flag(
    world: &World,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) {
    let before = audited_changes(world, LADDER).await;
    let written = owner(&world.stack).await.execute(sql, params).await.unwrap();
    assert_eq!(written, 1, "{sql}");
    assert_eq!(audited_changes(world, LADDER).await, before + 1, "one audit row for {sql}");
}

/// The organization of `user` (the world's other organization, for its outsider).
async fn org_of(world: &World, user: Uuid) -> Uuid {
    owner(&world.stack)
        .await
        .query_one("select org_id from public.memberships where user_id = $1", &[&user])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn every_level_of_the_ladder_beats_the_ones_below_it() {
    let world = World::new().await;
    let db = owner(&world.stack).await;
    let [rep, manager, outsider] = [world.rep, world.manager, world.outsider];
    // A leftover of an interrupted run would decide before the plan does.
    db.execute("delete from public.feature_flags where key = $1 and scope = 'global'", &[&LADDER])
        .await
        .unwrap();

    // The feature's default, then the plan: the Team plan turns what-if on, the Solo plan not;
    // neither plan has Voice AI, whose default is off.
    let other_org = org_of(&world, outsider).await;
    db.execute("update public.organizations set plan_key = 'solo' where id = $1", &[&other_org])
        .await
        .unwrap();
    let rep_flags = flags_of(&world, rep).await;
    assert_eq!(rep_flags["what_if"], json!(true), "{rep_flags}");
    assert_eq!(rep_flags[LADDER], json!(false), "{rep_flags}");
    assert_eq!(rep_flags["email_notifications"], json!(true), "the default decides: {rep_flags}");
    let outsider_flags = flags_of(&world, outsider).await;
    assert_eq!(outsider_flags["what_if"], json!(false), "{outsider_flags}");
    assert_eq!(outsider_flags["csv_export"], json!(true), "{outsider_flags}");

    // A paid add-on turns its feature on for the whole organization.
    db.execute(
        "with s as (insert into public.subscriptions (org_id, plan_key, status, seats)
                    values ($1, 'team', 'active', 50) returning id)
         insert into public.subscription_add_ons (subscription_id, add_on_key)
         select id, 'voice_ai_single_sim' from s",
        &[&world.org],
    )
    .await
    .unwrap();
    assert_eq!(flag_of(&world, rep, LADDER).await, json!(true));
    assert_eq!(flag_of(&world, outsider, LADDER).await, json!(false));

    // A global value beats the add-on, for everyone.
    change_flag(
        &world,
        "insert into public.feature_flags (key, scope, value) values ($1, 'global', 'false')",
        &[&LADDER],
    )
    .await;
    assert_eq!(flag_of(&world, rep, LADDER).await, json!(false));
    assert_eq!(flag_of(&world, outsider, LADDER).await, json!(false));
    change_flag(
        &world,
        "update public.feature_flags set value = 'true' where key = $1 and scope = 'global'",
        &[&LADDER],
    )
    .await;
    assert_eq!(flag_of(&world, outsider, LADDER).await, json!(true), "global beats the default");

    // The organization's value beats the global one, for its members only.
    change_flag(
        &world,
        "insert into public.feature_flags (key, scope, org_id, value) values ($1, 'org', $2, 'false')",
        &[&LADDER, &world.org],
    )
    .await;
    assert_eq!(flag_of(&world, rep, LADDER).await, json!(false));
    assert_eq!(flag_of(&world, manager, LADDER).await, json!(false));
    assert_eq!(flag_of(&world, outsider, LADDER).await, json!(true));

    // The user's value beats the organization's, for that user only.
    change_flag(
        &world,
        "insert into public.feature_flags (key, scope, user_id, value) values ($1, 'user', $2, 'true')",
        &[&LADDER, &rep],
    )
    .await;
    assert_eq!(flag_of(&world, rep, LADDER).await, json!(true));
    assert_eq!(flag_of(&world, manager, LADDER).await, json!(false));

    // Unsetting is a change too, audited like the others.
    change_flag(
        &world,
        "delete from public.feature_flags where key = $1 and scope = 'global'",
        &[&LADDER],
    )
    .await;
    assert_eq!(flag_of(&world, outsider, LADDER).await, json!(false));
}

#[tokio::test]
async fn the_set_names_every_feature_once_and_is_never_cached() {
    let world = World::new().await;
    let response = world
        .http
        .get(format!("{}/functions/v1/flags", world.stack.api_url))
        .bearer_auth(world.token(world.rep))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    let features: Vec<String> = owner(&world.stack)
        .await
        .query("select key from public.features order by key", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    let answered: Vec<&String> = body["flags"].as_object().unwrap().keys().collect();
    assert_eq!(answered, features.iter().collect::<Vec<_>>());
}

#[tokio::test]
async fn flags_need_a_signed_in_caller_and_get() {
    let world = World::new().await;
    world.call_with_token("", "GET", "flags", None).await.error(401, "missing_token");
    world.call_with_token("not-a-jwt", "GET", "flags", None).await.error(401, "invalid_token");
    world.call(world.rep, "POST", "flags", Some(json!({}))).await.error(405, "method_not_allowed");
}

/// Each gated function follows the caller's resolved flag both ways: refused (403
/// `feature_disabled`) when a user-scope value switches it off over the plan, and working when
/// an org-scope value switches it on over a plan without it.
#[tokio::test]
async fn gated_functions_follow_the_flag_off_and_on() {
    let world = World::new().await;
    let db = owner(&world.stack).await;
    let simulate = json!({"real": support::real_estate_goal(2_000_000),
                          "changed": support::real_estate_goal(3_000_000)});
    let rule = json!({"name": "Past clients", "referral_close_rate": 0.4,
                      "referred_value_multiplier": 1.25});
    let try_both = |user: Uuid| {
        let (simulate, rule, world) = (simulate.clone(), rule.clone(), &world);
        async move {
            let scenarios = world.call(user, "POST", "scenarios", Some(simulate)).await;
            let rules = world.call(user, "POST", "referral-rules", Some(rule)).await;
            (scenarios, rules)
        }
    };
    let gated = ["what_if", "referral_rules"];

    // The Team plan has both; the rep's own values switch them off for the rep alone.
    let (scenarios, rules) = try_both(world.rep).await;
    scenarios.ok(200);
    rules.ok(201);
    for feature in gated {
        db.execute(
            "insert into public.feature_flags (key, scope, user_id, value)
             values ($1, 'user', $2, 'false')",
            &[&feature, &world.rep],
        )
        .await
        .unwrap();
    }
    let (scenarios, rules) = try_both(world.rep).await;
    scenarios.error(403, "feature_disabled");
    rules.error(403, "feature_disabled");
    let (scenarios, rules) = try_both(world.manager).await;
    scenarios.ok(200);
    rules.ok(201);

    // The Solo plan has neither; an org-scope value switches them on for its members.
    let solo_org = org_of(&world, world.outsider).await;
    db.execute("update public.organizations set plan_key = 'solo' where id = $1", &[&solo_org])
        .await
        .unwrap();
    let (scenarios, rules) = try_both(world.outsider).await;
    scenarios.error(403, "feature_disabled");
    rules.error(403, "feature_disabled");
    for feature in gated {
        db.execute(
            "insert into public.feature_flags (key, scope, org_id, value)
             values ($1, 'org', $2, 'true')",
            &[&feature, &solo_org],
        )
        .await
        .unwrap();
    }
    let (scenarios, rules) = try_both(world.outsider).await;
    scenarios.ok(200);
    rules.ok(201);
}
