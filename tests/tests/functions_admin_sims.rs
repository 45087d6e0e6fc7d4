//! `admin-sims` over HTTP through the local stack: a platform admin creates, edits, retires,
//! restores and offers SIMs, each change audited exactly once; an enterprise admin manages their
//! own organization's SIMs within its limit; another organization's enterprise admin, a rep and
//! an impersonation token are refused with nothing written. Goals on a retired SIM keep working.

mod support;

use serde_json::{Value, json};
use support::world::{World, owner};
use uuid::Uuid;

/// A two-stage insurance SIM; global unless `org` is given.
fn sim(key: &str, org: Option<Uuid>) -> Value {
    json!({
        "org_id": org, "key": key, "name": "Insurance", "industry": "Insurance",
        "average_deal_value_cents": 200_000, "commission_rate": 0.1,
        "stages": [
            {"key": "call", "name": "Call", "activity_type": "call", "conversion_rate": 0.2},
            {"key": "deal", "name": "Policy", "activity_type": "deal"}
        ]
    })
}

/// A unique key for a global SIM of this test run (global keys are shared by every test).
fn fresh_key() -> String {
    format!("t{}", &Uuid::new_v4().simple().to_string()[..12])
}

/// Audit entries about SIM `id`, oldest first: (action, actor, org, before status, after status).
async fn audit_rows(world: &World, id: &Value) -> Vec<Value> {
    owner(&world.stack)
        .await
        .query(
            "select jsonb_build_array(action, actor_id, org_id, before ->> 'status', after ->> 'status')
               from public.audit_log where target_type = 'sim' and target_id = $1 order by id",
            &[&id.as_str().unwrap()],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

fn goal(sim_id: &Value, month: &str) -> Option<Value> {
    Some(json!({"sim_id": sim_id, "income_target_cents": 1_000_000,
                "period": {"kind": "month", "start": month}}))
}

#[tokio::test]
async fn a_platform_admin_manages_a_global_sim_audited_once_per_change() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let key = fresh_key();

    let created = world.call(admin, "POST", "admin-sims", Some(sim(&key, None))).await.ok(201);
    let id = created["sim"]["id"].clone();
    assert_eq!(created["sim"]["income_per_deal_cents"], 20_000, "{created}");
    assert_eq!(created["sim"]["stages"][1]["activity_type"], "deal");

    let mut edited = sim(&key, None);
    edited["name"] = json!("Life insurance");
    edited["stages"] = json!([
        {"key": "call", "name": "Call", "activity_type": "call", "conversion_rate": 0.2},
        {"key": "meeting", "name": "Meeting", "activity_type": "appointment", "conversion_rate": 0.5},
        {"key": "deal", "name": "Policy", "activity_type": "deal"}
    ]);
    let path = format!("admin-sims?id={}", id.as_str().unwrap());
    let saved = world.call(admin, "PUT", &path, Some(edited)).await.ok(200);
    assert_eq!(saved["sim"]["name"], "Life insurance");
    assert_eq!(saved["sim"]["stages"].as_array().unwrap().len(), 3);

    let listed = world.call(admin, "GET", &path, None).await.ok(200);
    let stages: Vec<&str> = listed["sims"][0]["sim_stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["key"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["call", "meeting", "deal"]);

    // The rep plans a goal on it, then it is retired: the goal keeps working, no new one.
    let month = world.month_start().await;
    world.call(world.rep, "PUT", "goals", goal(&id, &month)).await.ok(200);
    let retire = json!({"id": id, "status": "retired"});
    let retired = world.call(admin, "PATCH", "admin-sims", Some(retire.clone())).await.ok(200);
    assert_eq!(retired["changed"], true);
    assert_eq!(
        world.call(admin, "PATCH", "admin-sims", Some(retire)).await.ok(200)["changed"],
        false
    );
    let progress = world.call(world.rep, "GET", "goals-progress", None).await.ok(200);
    assert_eq!(progress["goals"].as_array().unwrap().len(), 1, "{progress}");
    let mut next_year = month.clone();
    next_year.replace_range(..4, &(month[..4].parse::<u32>().unwrap() + 1).to_string());
    world.call(world.outsider, "PUT", "goals", goal(&id, &next_year)).await.names("sim_id");

    world
        .call(admin, "PATCH", "admin-sims", Some(json!({"id": id, "status": "available"})))
        .await
        .ok(200);
    // Withheld from the rep's organization: others still pick it, the rep's org does not.
    let withhold = json!({"id": id, "availability": {"org_id": world.org, "offered": false}});
    let withheld = world.call(admin, "PATCH", "admin-sims", Some(withhold)).await.ok(200);
    assert_eq!(
        (withheld["changed"].clone(), withheld["effective"].clone()),
        (json!(true), json!(false))
    );
    world.call(world.outsider, "PUT", "goals", goal(&id, &next_year)).await.ok(200);
    world.call(world.manager, "PUT", "goals", goal(&id, &next_year)).await.error(422, "rejected");
    let reset = json!({"id": id, "availability": {"org_id": world.org, "offered": null}});
    world.call(admin, "PATCH", "admin-sims", Some(reset)).await.ok(200);
    world.call(world.manager, "PUT", "goals", goal(&id, &next_year)).await.ok(200);

    let org = world.org.to_string();
    assert_eq!(
        audit_rows(&world, &id).await,
        [
            json!(["sim.create", admin, null, null, "available"]),
            json!(["sim.update", admin, null, "available", "available"]),
            json!(["sim.retire", admin, null, "available", "retired"]),
            json!(["sim.restore", admin, null, "retired", "available"]),
            json!(["sim.availability", admin, org, null, null]),
            json!(["sim.availability", admin, org, null, null]),
        ]
    );
}

#[tokio::test]
async fn an_enterprise_admin_manages_their_own_sims_within_the_plan_limit() {
    let world = World::new().await;
    let own_admin = world.member(world.org, "enterprise_admin").await;
    // The Team plan allows 3 SIMs of the organization's own.
    let mut ids = Vec::new();
    for key in ["one", "two", "three"] {
        let created =
            world.call(own_admin, "POST", "admin-sims", Some(sim(key, Some(world.org)))).await;
        ids.push(created.ok(201)["sim"]["id"].clone());
    }
    world
        .call(own_admin, "POST", "admin-sims", Some(sim("four", Some(world.org))))
        .await
        .error(422, "rejected");
    world
        .call(own_admin, "PATCH", "admin-sims", Some(json!({"id": ids[2], "status": "retired"})))
        .await
        .ok(200);
    world.call(own_admin, "POST", "admin-sims", Some(sim("four", Some(world.org)))).await.ok(201);
    // Theirs only: not a global SIM, not another organization's, not availability.
    world
        .call(own_admin, "POST", "admin-sims", Some(sim(&fresh_key(), None)))
        .await
        .error(403, "forbidden");
    world
        .call(own_admin, "PATCH", "admin-sims", Some(json!({"id": world.sim, "status": "retired"})))
        .await
        .error(403, "forbidden");
    let offer = json!({"id": world.sim, "availability": {"org_id": world.org, "offered": false}});
    world.call(own_admin, "PATCH", "admin-sims", Some(offer)).await.error(403, "forbidden");

    let org = world.org.to_string();
    assert_eq!(
        audit_rows(&world, &ids[0]).await,
        [json!(["sim.create", own_admin, org, null, "available"])]
    );
    assert_eq!(
        audit_rows(&world, &ids[2]).await,
        [
            json!(["sim.create", own_admin, org, null, "available"]),
            json!(["sim.retire", own_admin, org, "available", "retired"])
        ]
    );
    // Their members see the new SIMs; the other organization does not.
    let seen = world
        .call(world.rep, "GET", &format!("admin-sims?org_id={}", world.org), None)
        .await
        .ok(200);
    assert_eq!(seen["sims"].as_array().unwrap().len(), 4);
    let foreign = world
        .call(world.outsider, "GET", &format!("admin-sims?org_id={}", world.org), None)
        .await
        .ok(200);
    assert_eq!(foreign["sims"], json!([]));
}

#[tokio::test]
async fn others_and_impersonation_tokens_are_refused_and_nothing_is_written() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let own_sim = world
        .call(admin, "POST", "admin-sims", Some(sim("ours", Some(world.org))))
        .await
        .ok(201)["sim"]["id"]
        .clone();
    let foreign_admin = world.member(world.other_org().await, "enterprise_admin").await;
    let own_admin = world.member(world.org, "enterprise_admin").await;
    let edit_path = format!("admin-sims?id={}", own_sim.as_str().unwrap());
    let mut renamed = sim("ours", Some(world.org));
    renamed["name"] = json!("Renamed");
    let writes: [(&str, &str, Value); 5] = [
        ("POST", "admin-sims", sim(&fresh_key(), None)),
        ("POST", "admin-sims", sim("theirs", Some(world.org))),
        ("PUT", &edit_path, renamed),
        ("PATCH", "admin-sims", json!({"id": own_sim, "status": "retired"})),
        (
            "PATCH",
            "admin-sims",
            json!({"id": world.sim, "availability": {"org_id": world.org, "offered": false}}),
        ),
    ];
    let tokens = [
        ("an enterprise admin of another org", world.token(foreign_admin)),
        ("a rep", world.token(world.rep)),
        (
            "the org's enterprise admin impersonated",
            world.token_with(own_admin, json!({"impersonator": admin, "read_only": true})),
        ),
        ("a platform admin's read-only token", world.token_with(admin, json!({"read_only": true}))),
    ];
    let audit_before: i64 = owner(&world.stack)
        .await
        .query_one("select count(*) from public.audit_log where target_type = 'sim'", &[])
        .await
        .unwrap()
        .get(0);
    for (who, token) in &tokens {
        for (method, path, body) in &writes {
            let answer = world.call_with_token(token, method, path, Some(body.clone())).await;
            assert_eq!(
                (answer.status, answer.body["error"]["code"].as_str()),
                (403, Some("forbidden")),
                "{who}: {method} {path} {body}: {}",
                answer.body
            );
        }
    }
    let db = owner(&world.stack).await;
    let audit_after: i64 = db
        .query_one("select count(*) from public.audit_log where target_type = 'sim'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(audit_after, audit_before, "no refused call was audited");
    let row = db
        .query_one(
            "select name, status::text, (select count(*) from public.sims where key = 'theirs')
               from public.sims where id = $1::text::uuid",
            &[&own_sim.as_str().unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(
        (row.get::<_, String>(0), row.get::<_, String>(1), row.get::<_, i64>(2)),
        ("Insurance".into(), "available".into(), 0)
    );
    let offers: i64 = db
        .query_one(
            "select count(*) from public.sim_org_availability where org_id = $1",
            &[&world.org],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(offers, 0);
}

#[tokio::test]
async fn bad_sims_are_json_4xx_naming_the_field() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let post = |body: Value| world.call(admin, "POST", "admin-sims", Some(body));
    let mut no_deal = sim(&fresh_key(), None);
    no_deal["stages"][1]["activity_type"] = json!("call");
    post(no_deal).await.names("stages[1].activity_type");
    let mut fine_rate = sim(&fresh_key(), None);
    fine_rate["stages"][0]["conversion_rate"] = json!(0.123456);
    post(fine_rate).await.names("stages[0].conversion_rate");
    let mut extra = sim(&fresh_key(), None);
    extra["colour"] = json!("blue");
    post(extra).await.names("colour");
    post(sim("real-estate", None)).await.error(409, "conflict");
    let missing = format!("admin-sims?id={}", Uuid::new_v4());
    world.call(admin, "PUT", &missing, Some(sim(&fresh_key(), None))).await.error(422, "rejected");
    world
        .call(admin, "PATCH", "admin-sims", Some(json!({"id": world.sim, "status": "retired", "availability": {"org_id": world.org, "offered": true}})))
        .await
        .names("body");
    world.call(admin, "DELETE", "admin-sims", None).await.error(405, "method_not_allowed");
    world
        .call_with_token("", "POST", "admin-sims", Some(sim(&fresh_key(), None)))
        .await
        .error(401, "missing_token");
}
