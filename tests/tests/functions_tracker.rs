//! The tracker functions over HTTP against the local stack: `goals`, `activities` and
//! `referral-rules`, as a rep, their team manager, a rep of another organization and a
//! read-only (impersonation) session. Every call goes through PostgREST with the caller's JWT,
//! so what is allowed here is what RLS allows.

mod support;

use serde_json::{Value, json};
use support::world::{World, owner};
use uuid::Uuid;

/// Today and the first day of this month, in UTC (the time zone of the goals set here).
async fn today_and_month_start(world: &World) -> (String, String) {
    let row = owner(&world.stack)
        .await
        .query_one(
            "select to_char(now() at time zone 'UTC', 'YYYY-MM-DD'),
                    to_char(date_trunc('month', now() at time zone 'UTC'), 'YYYY-MM-DD')",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

fn goal_body(world: &World, month: &str, target_cents: u64) -> Value {
    json!({
        "sim_id": world.sim,
        "income_target_cents": target_cents,
        "period": {"kind": "month", "start": month},
        "calendar": {"working_weekdays": [1, 2, 3, 4, 5, 6, 7], "days_off": []}
    })
}

#[tokio::test]
async fn a_rep_sets_and_reads_their_goal_and_only_their_manager_sees_it() {
    let world = World::new().await;
    let (_, month) = today_and_month_start(&world).await;

    // 700 000 cents per deal (400 000.00 at 1.75 %): 1 400 000 wanted is 2 deals; 2 / 0.8 = 3
    // listings; 3 / 0.35 = 9 appointments; 9 / 0.1 = 90 calls.
    let set =
        world.call(world.rep, "PUT", "goals", Some(goal_body(&world, &month, 1_400_000))).await;
    let set = set.ok(200);
    assert_eq!(set["plan"]["totals"], json!([90, 9, 3, 2]), "{set}");
    assert_eq!(set["goal"]["user_id"], json!(world.rep));
    let goal_id = set["goal"]["id"].clone();

    // Setting it again replaces it: same row, new target.
    let again = world.call(world.rep, "POST", "goals", Some(goal_body(&world, &month, 2_100_000)));
    let again = again.await.ok(200);
    assert_eq!(
        (&again["goal"]["id"], &again["goal"]["income_target_cents"]),
        (&goal_id, &json!(2_100_000))
    );

    let mine = world.call(world.rep, "GET", "goals", None).await.ok(200);
    let goals = mine["goals"].as_array().unwrap();
    assert_eq!(goals.len(), 1, "{mine}");
    assert_eq!(goals[0]["goal"]["id"], goal_id);
    assert_eq!(goals[0]["sim"]["stages"].as_array().unwrap().len(), 4);
    assert!(goals[0]["today"].is_string());

    let path = format!("goals?user_id={}", world.rep);
    let managed = world.call(world.manager, "GET", &path, None).await.ok(200);
    assert_eq!(managed["goals"][0]["goal"]["id"], goal_id);
    let foreign = world.call(world.outsider, "GET", &path, None).await.ok(200);
    assert_eq!(foreign["goals"], json!([]), "another organization sees nothing");
    let by_kind = world.call(world.rep, "GET", "goals?kind=year", None).await.ok(200);
    assert_eq!(by_kind["goals"], json!([]));
}

#[tokio::test]
async fn bad_goals_are_refused_with_the_field_named() {
    let world = World::new().await;
    let (_, month) = today_and_month_start(&world).await;
    let put = |body: Value| world.call(world.rep, "PUT", "goals", Some(body));
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = goal_body(&world, &month, 1_000_000);
        change(&mut body);
        body
    };
    put(with(&|b| b["sim_id"] = json!(Uuid::new_v4()))).await.names("sim_id");
    put(with(&|b| b["period"]["start"] = json!("2026-02-15"))).await.names("period.start");
    put(with(&|b| b["period"]["kind"] = json!("week"))).await.names("period.kind");
    put(with(&|b| b["income_target_cents"] = json!(-1))).await.names("income_target_cents");
    put(with(&|b| b["calendar"]["working_weekdays"] = json!([8])))
        .await
        .names("calendar.working_weekdays[0]");
    put(with(&|b| b["time_zone"] = json!("Mars; drop table goals"))).await.names("time_zone");
    put(with(&|b| b["owner"] = json!("me"))).await.names("owner");
    // A well-formed zone the database does not know is refused by its check.
    put(with(&|b| b["time_zone"] = json!("Mars/Olympus_Mons"))).await.error(422, "rejected");
    // Another organization's SIM is not available to this rep.
    let db = owner(&world.stack).await;
    let foreign_sim: Uuid = db
        .query_one(
            "insert into public.sims (org_id, key, name, industry, average_deal_value_cents)
             select m.org_id, 'own-' || substr(md5(random()::text), 1, 8), 'Theirs', 'Solar', 100000
               from public.memberships m where m.user_id = $1 returning id",
            &[&world.outsider],
        )
        .await
        .unwrap()
        .get(0);
    put(with(&|b| b["sim_id"] = json!(foreign_sim))).await.names("sim_id");
    let read_only =
        world.token_with(world.rep, json!({"impersonator": world.manager, "read_only": true}));
    let body = with(&|_| {});
    world.call_with_token(&read_only, "PUT", "goals", Some(body)).await.error(403, "forbidden");
    world.call(world.rep, "DELETE", "goals", None).await.error(405, "method_not_allowed");
    world.call(world.rep, "GET", "goals?user_id=someone", None).await.names("user_id");
}

/// Counts per (day, type) in kpi_daily for `user`, as the owner sees them.
async fn kpi(world: &World, user: Uuid) -> Vec<(String, String, i64)> {
    owner(&world.stack)
        .await
        .query(
            "select day::text, activity_type::text, quantity from public.kpi_daily
              where user_id = $1 order by 1, 2",
            &[&user],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect()
}

#[tokio::test]
async fn a_rep_logs_pages_edits_and_deletes_activities_keeping_history() {
    let world = World::new().await;
    let batch = json!([
        {"type": "call", "occurred_on": "2026-03-02", "quantity": 20},
        {"type": "appointment", "occurred_on": "2026-03-02", "quantity": 2, "note": "two viewings"},
        {"type": "custom", "stage_key": "listing", "occurred_on": "2026-03-03"},
        {"type": "deal", "occurred_on": "2026-03-04", "value_cents": 40_000_000}
    ]);
    let logged = world.call(world.rep, "POST", "activities", Some(batch)).await.ok(201);
    let logged = logged["activities"].as_array().unwrap().clone();
    assert_eq!(logged.len(), 4);
    assert!(logged.iter().all(|a| a["user_id"] == json!(world.rep)));
    let call_id = logged[0]["id"].as_str().unwrap().to_owned();

    let range = "activities?from=2026-03-01&to=2026-03-31&limit=3";
    let first = world.call(world.rep, "GET", range, None).await.ok(200);
    let days: Vec<&str> = first["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["occurred_on"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2026-03-04", "2026-03-03", "2026-03-02"]);
    assert_eq!(first["next_offset"], 3);
    let rest = world.call(world.rep, "GET", &format!("{range}&offset=3"), None).await.ok(200);
    assert_eq!(
        (rest["activities"].as_array().unwrap().len(), &rest["next_offset"]),
        (1, &Value::Null)
    );
    let deals =
        world.call(world.rep, "GET", "activities?from=2026-03-01&to=2026-03-31&type=deal", None);
    assert_eq!(deals.await.ok(200)["activities"][0]["value_cents"], 40_000_000);

    // Back-dating the calls to February, with a note on why: the rollup moves with them.
    let edit = json!({"occurred_on": "2026-02-27", "quantity": 25, "annotation": "logged late"});
    let path = format!("activities?id={call_id}");
    let edited = world.call(world.rep, "PATCH", &path, Some(edit)).await.ok(200);
    assert_eq!(
        (&edited["activity"]["occurred_on"], &edited["activity"]["quantity"]),
        (&json!("2026-02-27"), &json!(25))
    );
    assert_eq!(edited["annotation"]["body"], "logged late");
    let rollup = kpi(&world, world.rep).await;
    assert!(rollup.contains(&("2026-02-27".into(), "call".into(), 25)), "{rollup:?}");
    assert!(
        !rollup.iter().any(|(day, kind, _)| day == "2026-03-02" && kind == "call"),
        "{rollup:?}"
    );

    let one = world.call(world.rep, "GET", &path, None).await.ok(200);
    assert_eq!(one["activity"]["annotations"][0]["body"], "logged late");
    let history = one["history"].as_array().unwrap();
    let operations: Vec<&str> = history.iter().map(|h| h["operation"].as_str().unwrap()).collect();
    assert_eq!(operations, ["insert", "update"]);
    assert_eq!(history[1]["changed_by"], json!(world.rep));
    assert_eq!(
        (&history[1]["before"]["quantity"], &history[1]["after"]["quantity"]),
        (&json!(20), &json!(25))
    );

    let deleted = world.call(world.rep, "DELETE", &path, None).await.ok(200);
    assert_eq!(deleted["activity"]["id"], json!(call_id));
    world.call(world.rep, "DELETE", &path, None).await.error(404, "not_found");
    assert!(!kpi(&world, world.rep).await.iter().any(|(_, kind, _)| kind == "call"));
}

#[tokio::test]
async fn a_batch_with_one_bad_activity_writes_nothing() {
    let world = World::new().await;
    // The outsider's goal exists, but an activity cannot count towards someone else's goal.
    let (_, month) = today_and_month_start(&world).await;
    let theirs = world.call(world.outsider, "PUT", "goals", Some(goal_body(&world, &month, 100)));
    let their_goal = theirs.await.ok(200)["goal"]["id"].clone();
    let batch = json!([
        {"type": "call", "occurred_on": "2026-03-02", "quantity": 20},
        {"type": "call", "occurred_on": month, "goal_id": their_goal}
    ]);
    world.call(world.rep, "POST", "activities", Some(batch)).await.error(409, "conflict");
    assert_eq!(kpi(&world, world.rep).await, []);
    let bad =
        json!([{"type": "call", "occurred_on": "2026-03-02"}, {"type": "call", "quantity": 0}]);
    world.call(world.rep, "POST", "activities", Some(bad)).await.names("[1]");
    assert_eq!(kpi(&world, world.rep).await, []);
}

#[tokio::test]
async fn a_manager_reads_but_cannot_edit_and_another_organization_sees_nothing() {
    let world = World::new().await;
    let logged = world
        .call(
            world.rep,
            "POST",
            "activities",
            Some(json!({"type": "call", "occurred_on": "2026-03-02", "quantity": 7})),
        )
        .await
        .ok(201);
    let id = logged["activities"][0]["id"].as_str().unwrap().to_owned();
    let path = format!("activities?id={id}");
    let range = format!("activities?from=2026-03-01&to=2026-03-31&user_id={}", world.rep);

    let seen = world.call(world.manager, "GET", &range, None).await.ok(200);
    assert_eq!(seen["activities"][0]["id"], json!(id));
    world.call(world.manager, "GET", &path, None).await.ok(200);
    let edit = Some(json!({"quantity": 70, "annotation": "fixed by manager"}));
    world.call(world.manager, "PATCH", &path, edit.clone()).await.error(403, "forbidden");
    world.call(world.manager, "DELETE", &path, None).await.error(404, "not_found");

    world.call(world.outsider, "GET", &path, None).await.error(404, "not_found");
    world.call(world.outsider, "PATCH", &path, edit).await.error(404, "not_found");
    world.call(world.outsider, "DELETE", &path, None).await.error(404, "not_found");
    let foreign = world.call(world.outsider, "GET", &range, None).await.ok(200);
    assert_eq!(foreign["activities"], json!([]));

    let read_only =
        world.token_with(world.rep, json!({"impersonator": world.manager, "read_only": true}));
    let body = Some(json!({"type": "call", "occurred_on": "2026-03-02"}));
    world.call_with_token(&read_only, "POST", "activities", body).await.error(403, "forbidden");

    // Nothing changed: still 7 calls, and only the rep's own insert in the history.
    let one = world.call(world.rep, "GET", &path, None).await.ok(200);
    assert_eq!(one["activity"]["quantity"], 7);
    assert_eq!(one["activity"]["annotations"], json!([]));
    assert_eq!(one["history"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn referral_rules_need_the_feature_to_be_added_or_changed() {
    let world = World::new().await;
    let rule = json!({"name": "Past clients", "referral_close_rate": 0.4, "referred_value_multiplier": 1.25});
    let added = world.call(world.rep, "POST", "referral-rules", Some(rule.clone())).await.ok(201);
    let id = added["referral_rule"]["id"].as_str().unwrap().to_owned();
    assert_eq!(added["referral_rule"]["referral_close_rate"], 0.4);
    let path = format!("referral-rules?id={id}");

    let changed = world.call(
        world.rep,
        "PATCH",
        &path,
        Some(json!({"active": false, "referred_value_multiplier": null})),
    );
    let changed = changed.await.ok(200);
    assert_eq!(
        (
            &changed["referral_rule"]["active"],
            &changed["referral_rule"]["referred_value_multiplier"]
        ),
        (&json!(false), &Value::Null)
    );
    // Clearing the last thing a rule does is refused by the database's check.
    world
        .call(world.rep, "PATCH", &path, Some(json!({"referral_close_rate": null})))
        .await
        .error(422, "rejected");

    let listed = world.call(world.rep, "GET", "referral-rules", None).await.ok(200);
    assert_eq!(listed["referral_rules"].as_array().unwrap().len(), 1);
    let theirs = format!("referral-rules?user_id={}", world.rep);
    let managed = world.call(world.manager, "GET", &theirs, None).await.ok(200);
    assert_eq!(managed["referral_rules"][0]["id"], json!(id));
    world.call(world.outsider, "GET", &path, None).await.error(404, "not_found");
    world
        .call(world.outsider, "PATCH", &path, Some(json!({"name": "mine"})))
        .await
        .error(404, "not_found");
    world.call(world.manager, "DELETE", &path, None).await.error(404, "not_found");

    world.switch_off("referral_rules").await;
    world
        .call(world.rep, "POST", "referral-rules", Some(rule))
        .await
        .error(403, "feature_disabled");
    world
        .call(world.rep, "PATCH", &path, Some(json!({"active": true})))
        .await
        .error(403, "feature_disabled");
    // Reading and deleting stay open, so a downgrade loses nothing.
    let listed = world.call(world.rep, "GET", "referral-rules", None).await.ok(200);
    assert_eq!(listed["referral_rules"].as_array().unwrap().len(), 1);
    world.call(world.rep, "DELETE", &path, None).await.ok(200);
    world.call(world.rep, "GET", &path, None).await.error(404, "not_found");
}

/// Days from today to the end of this month, today included (UTC).
async fn days_left_in_month(world: &World) -> u64 {
    let row = owner(&world.stack)
        .await
        .query_one(
            "select ((date_trunc('month', now() at time zone 'UTC') + interval '1 month')::date
                     - (now() at time zone 'UTC')::date)::bigint",
            &[],
        )
        .await
        .unwrap();
    u64::try_from(row.get::<_, i64>(0)).unwrap()
}

#[tokio::test]
async fn progress_and_today_follow_what_is_logged_and_back_dated() {
    let world = World::new().await;
    let (today, month) = today_and_month_start(&world).await;
    // Every day is a working day, so today is one whatever the weekday: totals [90, 9, 3, 2].
    world.call(world.rep, "PUT", "goals", Some(goal_body(&world, &month, 1_400_000))).await.ok(200);
    let log = json!({"type": "call", "occurred_on": today, "quantity": 5});
    world.call(world.rep, "POST", "activities", Some(log)).await.ok(201);

    // This morning 90 calls were left over the days from today on; the front-loaded share of
    // today is ceil(90 / days left), of which 5 are done.
    let days_left = days_left_in_month(&world).await;
    let share = 90 / days_left + u64::from(90 % days_left > 0);
    let now = world.call(world.rep, "GET", "activities-today", None).await.ok(200);
    let goal = &now["goals"][0];
    assert_eq!(goal["stages"], json!(["call", "appointment", "listing", "deal"]), "{now}");
    assert_eq!((&goal["today"], &goal["logged"]), (&json!(today), &json!([5, 0, 0, 0])));
    assert_eq!(goal["target"][0], share.saturating_sub(5), "{now}");
    assert_eq!(goal["logged_by_type"][0]["quantity"], 5);

    let progress = world.call(world.rep, "GET", "goals-progress", None).await.ok(200);
    let mine = &progress["goals"][0];
    assert_eq!(mine["plan"]["totals"], json!([90, 9, 3, 2]), "{progress}");
    assert_eq!(
        (&mine["progress"]["done"], &mine["progress"]["remaining"]),
        (&json!([5, 0, 0, 0]), &json!([85, 9, 3, 2]))
    );
    let levels: Vec<&str> = mine["progress"]["pacing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["level"].as_str().unwrap())
        .collect();
    assert_eq!(levels.last(), Some(&"period"));

    // Back-dating: an appointment logged for the first of the month, then corrected to 3.
    let appointment = json!({"type": "appointment", "occurred_on": month});
    let logged = world.call(world.rep, "POST", "activities", Some(appointment)).await.ok(201);
    let path = format!("activities?id={}", logged["activities"][0]["id"].as_str().unwrap());
    world
        .call(world.rep, "PATCH", &path, Some(json!({"quantity": 3, "annotation": "forgot two"})))
        .await
        .ok(200);
    let goal_id = mine["goal"]["id"].as_str().unwrap();
    let by_id = format!("goals-progress?goal_id={goal_id}");
    let progress = world.call(world.rep, "GET", &by_id, None).await.ok(200);
    assert_eq!(progress["goals"][0]["progress"]["done"], json!([5, 3, 0, 0]), "{progress}");
    assert_eq!(progress["goals"][0]["progress"]["remaining"], json!([85, 6, 3, 2]));

    // The manager sees the same; another organization sees nothing.
    let theirs = format!("goals-progress?user_id={}", world.rep);
    let managed = world.call(world.manager, "GET", &theirs, None).await.ok(200);
    assert_eq!(managed["goals"][0]["progress"]["done"], json!([5, 3, 0, 0]));
    let today_of_rep = format!("activities-today?user_id={}", world.rep);
    world.call(world.manager, "GET", &today_of_rep, None).await.ok(200);
    assert_eq!(world.call(world.outsider, "GET", &theirs, None).await.ok(200)["goals"], json!([]));
    assert_eq!(
        world.call(world.outsider, "GET", &today_of_rep, None).await.ok(200)["goals"],
        json!([])
    );
    world.call(world.outsider, "GET", &by_id, None).await.error(404, "not_found");

    world.call(world.rep, "GET", "goals-progress?goal_id=7", None).await.names("goal_id");
    world.call(world.rep, "GET", "goals-progress?kind=week", None).await.names("kind");
    world.call(world.rep, "GET", "activities-today?goal_id=x", None).await.names("goal_id");
    world
        .call(world.rep, "POST", "goals-progress", Some(json!({})))
        .await
        .error(405, "method_not_allowed");
}

#[tokio::test]
async fn referral_rules_that_plan_lower_the_cold_funnel_of_the_goal_and_its_progress() {
    let world = World::new().await;
    let (_, month) = today_and_month_start(&world).await;
    // 2 referrals a month closing 1 in 2: one referred deal of 700 000 cents, half the target of
    // 1 400 000; the cold funnel needs 1 deal: 2 listings, ceil(2 / 0.35) = 6 appointments, 60
    // calls.
    let rule = json!({"name": "Past clients", "referral_close_rate": 0.5,
                      "expected_referrals_per_month": 2});
    world.call(world.rep, "POST", "referral-rules", Some(rule)).await.ok(201);
    let body = goal_body(&world, &month, 1_400_000);
    let set = world.call(world.rep, "PUT", "goals", Some(body)).await.ok(200);
    assert_eq!(set["plan"]["totals"], json!([60, 6, 2, 1]), "{set}");
    assert_eq!(set["plan"]["referrals"]["covered_cents"], 700_000);
    let progress = world.call(world.rep, "GET", "goals-progress", None).await.ok(200);
    let plan = &progress["goals"][0]["plan"];
    assert_eq!(
        (&plan["totals"], &plan["referrals"]["referred_deals"]),
        (&json!([60, 6, 2, 1]), &json!(1))
    );
    // The manager asks for the rep's goal by its id alone: RLS decides they may see it.
    let by_id = format!("goals-progress?goal_id={}", set["goal"]["id"].as_str().unwrap());
    let managed = world.call(world.manager, "GET", &by_id, None).await.ok(200);
    assert_eq!(managed["goals"][0]["plan"]["totals"], json!([60, 6, 2, 1]));
}
