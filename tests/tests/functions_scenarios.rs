//! `scenarios` over HTTP through the local stack: what-if simulations, saved and listed through
//! PostgREST as the caller; the `what_if` flag gates them; neither the rep's manager nor a rep
//! of another organization sees or deletes a rep's scenario; the real goal is never written.

mod support;

use serde_json::{Value, json};
use support::real_estate_goal as goal;
use support::world::{World, owner};
use uuid::Uuid;

/// A goal of the world's rep for January 2026 on the seed's real-estate SIM.
async fn rep_goal(world: &World) -> Uuid {
    owner(&world.stack)
        .await
        .query_one(
            "insert into public.goals (user_id, org_id, sim_id, income_target_cents, period_kind, period_start)
             values ($1, $2, $3, 2000000, 'month', date '2026-01-01') returning id",
            &[&world.rep, &world.org, &world.sim],
        )
        .await
        .unwrap()
        .get(0)
}

async fn goal_row(world: &World, id: Uuid) -> Value {
    owner(&world.stack)
        .await
        .query_one("select to_jsonb(g) from public.goals g where id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_simulation_answers_both_plans_and_their_difference_without_saving() {
    let world = World::new().await;
    let body = json!({"real": goal(2_000_000), "changed": goal(2_700_001)});
    let answer = world.call(world.rep, "POST", "scenarios", Some(body)).await.ok(200);
    assert_eq!(answer["real"]["totals"], json!([240, 12, 3]));
    assert_eq!(answer["scenario"]["totals"], json!([320, 16, 4]));
    assert_eq!(answer["difference"]["totals"], json!([80, 4, 1]));
    // Day one: 16 calls instead of 12 (320 = 21 × 15 + 5).
    assert_eq!(answer["difference"]["per_day"][0]["counts"], json!([4, 0, 0]));
    assert_eq!(answer["difference"]["projected_income_cents"], 900_000);
    assert!(answer.get("saved").is_none());
    let list = world.call(world.rep, "GET", "scenarios", None).await.ok(200);
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn a_saved_scenario_is_its_owners_alone_and_the_goal_stays_untouched() {
    let world = World::new().await;
    let goal_id = rep_goal(&world).await;
    let goal_before = goal_row(&world, goal_id).await;
    let mut changed = goal(2_000_000);
    changed["referral_rules"] =
        json!([{"expected_referrals": 5, "close_rate": 0.2, "value_multiplier": 1.25}]);
    let body = json!({"real": goal(2_000_000), "changed": changed,
                      "save": {"name": " With referrals ", "goal_id": goal_id}});
    let answer = world.call(world.rep, "POST", "scenarios", Some(body.clone())).await.ok(201);
    assert_eq!(answer["difference"]["totals"], json!([-160, -8, -2]));
    let saved = &answer["saved"];
    assert_eq!(saved["name"], "With referrals");
    assert_eq!(saved["goal_id"], goal_id.to_string());
    assert_eq!(saved["result"]["scenario"]["referrals"]["covered_share_ppm"], 562_500);
    assert_eq!(saved["inputs"]["changed"]["referral_rules"][0]["expected_referrals"], 5);
    let id = saved["id"].as_str().unwrap().to_owned();
    let one = format!("scenarios?id={id}");

    let list = world.call(world.rep, "GET", "scenarios", None).await.ok(200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["id"], id);
    assert!(list[0].get("result").is_none(), "a list leaves the plans out: {list}");
    let read = world.call(world.rep, "GET", &one, None).await.ok(200);
    assert_eq!(read["name"], "With referrals");
    assert_eq!(read["result"], saved["result"]);

    // Neither the rep's manager nor a rep of another organization sees or deletes it.
    for other in [world.manager, world.outsider] {
        assert_eq!(world.call(other, "GET", "scenarios", None).await.ok(200), json!([]));
        world.call(other, "GET", &one, None).await.error(404, "not_found");
        world.call(other, "DELETE", &one, None).await.error(404, "not_found");
        // Nor can they hang a scenario on the rep's goal.
        world.call(other, "POST", "scenarios", Some(body.clone())).await.error(404, "not_found");
    }
    assert_eq!(goal_row(&world, goal_id).await, goal_before, "the real goal was written");

    let gone = world.call(world.rep, "DELETE", &one, None).await.ok(200);
    assert_eq!(gone, json!({"deleted": id}));
    world.call(world.rep, "DELETE", &one, None).await.error(404, "not_found");
}

#[tokio::test]
async fn without_the_what_if_feature_simulating_and_saving_are_refused() {
    let world = World::new().await;
    let body = json!({"real": goal(2_000_000), "changed": goal(3_000_000),
                      "save": {"name": "kept"}});
    world.call(world.rep, "POST", "scenarios", Some(body.clone())).await.ok(201);
    world.switch_off("what_if").await;
    let simulate = json!({"real": goal(2_000_000), "changed": goal(3_000_000)});
    world.call(world.rep, "POST", "scenarios", Some(simulate)).await.error(403, "feature_disabled");
    world.call(world.rep, "POST", "scenarios", Some(body)).await.error(403, "feature_disabled");
    // The database refuses the row too, to whoever asks PostgREST directly.
    let direct = world
        .http
        .post(format!("{}/rest/v1/scenarios", world.stack.api_url))
        .header("apikey", &world.stack.anon_key)
        .bearer_auth(world.token(world.rep))
        .json(&json!({"name": "direct", "inputs": {}}))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status().as_u16(), 403, "{}", direct.text().await.unwrap());
    // What was saved stays readable and deletable, so that a downgrade loses nothing.
    let list = world.call(world.rep, "GET", "scenarios", None).await.ok(200);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let one = format!("scenarios?id={}", list[0]["id"].as_str().unwrap());
    world.call(world.rep, "DELETE", &one, None).await.ok(200);
}

#[tokio::test]
async fn a_read_only_session_simulates_but_does_not_save() {
    let world = World::new().await;
    let read_only = world.token_with(world.rep, json!({"read_only": true}));
    let body = json!({"real": goal(2_000_000), "changed": goal(3_000_000)});
    let call = |body| world.call_with_token(&read_only, "POST", "scenarios", Some(body));
    call(body.clone()).await.ok(200);
    let mut save = body;
    save["save"] = json!({"name": "no"});
    call(save).await.error(403, "forbidden");
}

#[tokio::test]
async fn bad_requests_are_json_4xx_naming_the_field() {
    let world = World::new().await;
    let post = |body: Value| world.call(world.rep, "POST", "scenarios", Some(body));
    let mut bad_rate = goal(1);
    bad_rate["sim"]["stages"][0]["conversion_rate"] = json!(0);
    post(json!({"real": goal(1), "changed": bad_rate}))
        .await
        .names("changed.sim.stages[0].conversion_rate");
    post(json!({"real": goal(1)})).await.names("body");
    post(json!({"real": goal(1), "changed": {"income_target_cents": "many"}}))
        .await
        .names("changed.income_target_cents");
    post(json!({"real": goal(1), "changed": goal(2), "save": {"name": "  "}}))
        .await
        .names("save.name");
    let mut tracked = goal(2);
    tracked["today"] = json!("2026-01-05");
    post(json!({"real": goal(1), "changed": tracked})).await.names("changed.today");
    post(json!({"real": goal(1), "changed": goal(2), "save": {"name": "x", "goal_id": "7"}}))
        .await
        .names("save.goal_id");
    world.call(world.rep, "DELETE", "scenarios", None).await.names("id");
    world.call(world.rep, "GET", "scenarios?id=nope", None).await.names("id");
    world.call(world.rep, "GET", "scenarios?limit=5", None).await.names("limit");
    world.call(world.rep, "PUT", "scenarios", None).await.error(405, "method_not_allowed");
    world.call_with_token("", "GET", "scenarios", None).await.error(401, "missing_token");
}
