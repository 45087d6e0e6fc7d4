//! `kpi-me` over HTTP against the local stack: every persona's view of a member (the rep
//! themselves, their team manager, a manager of another team, the enterprise admin and TM, the
//! platform admin, another organization, no token), each alert rule at and past its threshold on
//! the organization's settings (changed by its enterprise admin through `/rest/v1`, audited), bad
//! periods, no goal, and a lapsed subscription that still reads. Everything reaches PostgREST
//! with the caller's JWT, so what each persona sees is what RLS allows.

mod support;

use serde_json::{Value, json};
use support::world::{Answer, World, owner};
use uuid::Uuid;

/// The world of the tracker tests plus a rep of another team (West, managed by nobody), the
/// organization's enterprise admin and enterprise TM, and a platform admin of no organization.
struct Org {
    world: World,
    rep2: Uuid,
    admin: Uuid,
    enterprise_tm: Uuid,
    platform_admin: Uuid,
}

impl Org {
    async fn new() -> Self {
        let world = World::new().await;
        let [west, rep2, admin, enterprise_tm, platform_admin] = [(); 5].map(|_| Uuid::new_v4());
        let db = owner(&world.stack).await;
        db.batch_execute(&format!(
            "insert into auth.users (id, aud, role, email, created_at)
             select id, 'authenticated', 'authenticated', id || '@kpi.test', now()
               from unnest(array['{rep2}', '{admin}', '{enterprise_tm}', '{platform_admin}']::uuid[]) id;
             insert into public.teams (id, org_id, name) values ('{west}', '{org}', 'West');
             insert into public.memberships (org_id, user_id, role, team_id)
             values ('{org}', '{rep2}', 'rep', '{west}'), ('{org}', '{admin}', 'enterprise_admin', null),
                    ('{org}', '{enterprise_tm}', 'enterprise_tm', null);
             insert into public.platform_admins (user_id) values ('{platform_admin}');",
            org = world.org
        ))
        .await
        .unwrap();
        Self { world, rep2, admin, enterprise_tm, platform_admin }
    }

    async fn kpi(&self, caller: Uuid, query: &str) -> Answer {
        self.world.call(caller, "GET", &format!("kpi-me{query}"), None).await
    }

    /// Runs `sql` as the database owner, `{rep}`, `{org}` and `{sim}` filled in.
    async fn sql(&self, sql: &str) {
        let w = &self.world;
        let sql = sql
            .replace("{rep}", &w.rep.to_string())
            .replace("{org}", &w.org.to_string())
            .replace("{sim}", &w.sim.to_string());
        owner(&w.stack).await.batch_execute(&sql).await.unwrap();
    }

    /// The rep's March 2026 goal on the real-estate SIM, every day a working day: 1 400 000
    /// cents is [90 calls, 9 appointments, 3 listings, 2 deals]. The period is over, so the whole
    /// target was expected by today and the pace is the actual over the target.
    async fn march_goal(&self) {
        self.sql(
            "insert into public.goals (user_id, sim_id, income_target_cents, period_kind,
                                       period_start, working_weekdays)
             values ('{rep}', '{sim}', 1400000, 'month', '2026-03-01', '{1,2,3,4,5,6,7}')",
        )
        .await;
    }

    /// Logs `quantity` activities of `kind` (a custom stage's key for custom ones) on `day`.
    async fn log(&self, kind: &str, day: &str, quantity: u32) {
        let (kind, stage) = match kind {
            "call" | "appointment" | "deal" | "referral" => (kind, "null".to_owned()),
            stage => ("custom", format!("'{stage}'")),
        };
        self.sql(&format!(
            "insert into public.activities (user_id, type, stage_key, occurred_on, quantity)
             values ('{{rep}}', '{kind}', {stage}, '{day}', {quantity})"
        ))
        .await;
    }

    async fn march(&self) -> Value {
        self.kpi(self.world.rep, "?period=custom&from=2026-03-01&to=2026-03-31").await.ok(200)
    }

    /// The enterprise admin's PATCH of the organization's settings through `/rest/v1`.
    async fn set_thresholds(&self, caller: Uuid, changes: Value) -> (u16, Value) {
        let w = &self.world;
        let response = w
            .http
            .patch(format!("{}/rest/v1/organizations?id=eq.{}", w.stack.api_url, w.org))
            .header("apikey", &w.stack.anon_key)
            .header("prefer", "return=representation")
            .bearer_auth(w.token(caller))
            .json(&changes)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }
}

fn kinds(view: &Value) -> Vec<(String, Option<String>)> {
    view["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (a["kind"].as_str().unwrap().to_owned(), a["stage_key"].as_str().map(str::to_owned))
        })
        .collect()
}

fn has(view: &Value, kind: &str) -> bool {
    kinds(view).iter().any(|(k, _)| k == kind)
}

/// Today in UTC (every profile here is in UTC) shifted by `days`.
async fn utc_day(world: &World, days: i32) -> String {
    owner(&world.stack)
        .await
        .query_one("select ((now() at time zone 'UTC')::date + $1::int)::text", &[&days])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn each_persona_sees_what_rls_allows_and_nothing_leaks() {
    let org = Org::new().await;
    let w = &org.world;
    org.march_goal().await;
    org.log("call", "2026-03-02", 40).await;
    let rep_path = format!("?period=custom&from=2026-03-01&to=2026-03-31&user_id={}", w.rep);

    let own = org.march().await;
    assert_eq!((own["user_id"].clone(), own["mode"].clone()), (json!(w.rep), json!("targets")));
    assert_eq!(own["stages"][0]["actual"], 40);
    assert_eq!(own["stages"][0]["plan"]["target"], 90);
    for reader in [w.manager, org.admin, org.enterprise_tm] {
        let seen = org.kpi(reader, &rep_path).await.ok(200);
        assert_eq!(seen["stages"], own["stages"], "a manager of the rep sees the rep's view");
        assert_eq!(seen["user_id"], json!(w.rep));
    }

    // Not managed, another organization, a platform admin (no organization), a made-up id: the
    // same 404, so nobody learns whether the member exists.
    let rep2_path = format!("?user_id={}", org.rep2);
    let unknown_path = format!("?user_id={}", Uuid::new_v4());
    let refusals = [
        org.kpi(w.manager, &rep2_path).await,
        org.kpi(w.manager, &unknown_path).await,
        org.kpi(w.outsider, &rep_path).await,
        org.kpi(org.platform_admin, &rep_path).await,
    ];
    for refused in &refusals {
        refused.error(404, "not_found");
        assert_eq!(refused.body, refusals[1].body);
    }
    assert_eq!(org.kpi(org.admin, &rep2_path).await.ok(200)["mode"], "actuals_only");
    assert_eq!(org.kpi(w.outsider, "").await.ok(200)["user_id"], json!(w.outsider));

    let anonymous =
        w.http.get(format!("{}/functions/v1/kpi-me", w.stack.api_url)).send().await.unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let body: Value = anonymous.json().await.unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");
    let bad = w.call_with_token("not.a.jwt", "GET", "kpi-me", None).await;
    assert_eq!(bad.status, 401, "{:?}", bad.body);
}

#[tokio::test]
async fn behind_pace_fires_past_the_organizations_threshold_which_its_admin_sets() {
    let org = Org::new().await;
    org.march_goal().await;
    for (kind, quantity) in [("call", 81), ("appointment", 9), ("listing", 3), ("deal", 2)] {
        org.log(kind, "2026-03-10", quantity).await;
    }
    // 81 of 90 calls is exactly 10 % behind: on pace.
    let view = org.march().await;
    assert_eq!(
        view["stages"][0]["plan"],
        json!({"target": 90, "expected": 90, "pace_ratio": 0.9,
                                                "projected": 81, "on_pace": true})
    );
    assert!(!has(&view, "behind_pace"), "{view}");
    assert_eq!(view["stages"][2]["key"], "listing");
    assert_eq!(view["stages"][2]["actual"], 3, "a custom stage counts its own activities");

    // One call less is past it.
    org.sql("update public.activities set quantity = 80 where type = 'call' and user_id = '{rep}'")
        .await;
    let view = org.march().await;
    let behind: Vec<&Value> =
        view["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "behind_pace").collect();
    assert_eq!(
        behind,
        [&json!({"kind": "behind_pace", "stage_key": "call", "expected": 90, "actual": 80,
                 "pace_ratio": 0.889, "threshold": 0.1})]
    );
    let calls = &view["activity_types"][0];
    assert_eq!(
        (calls["type"].clone(), calls["plan"]["on_pace"].clone()),
        (json!("call"), json!(false))
    );

    // Only the enterprise admin may loosen it; the change is audited.
    let (status, rows) =
        org.set_thresholds(org.world.rep, json!({"behind_pace_threshold": 0.2})).await;
    assert_eq!((status, rows), (200, json!([])), "a rep changes nothing");
    let (status, rows) =
        org.set_thresholds(org.world.manager, json!({"behind_pace_threshold": 0.2})).await;
    assert_eq!((status, rows), (200, json!([])), "a team manager changes nothing");
    let (status, refused) =
        org.set_thresholds(org.admin, json!({"behind_pace_threshold": 1.5})).await;
    assert_eq!(status, 400, "out of range: {refused}");
    let (status, rows) = org.set_thresholds(org.admin, json!({"behind_pace_threshold": 0.2})).await;
    assert_eq!((status, rows[0]["behind_pace_threshold"].clone()), (200, json!(0.2)));
    assert!(!has(&org.march().await, "behind_pace"), "80 of 90 is within 20 %");
    let audited = owner(&org.world.stack)
        .await
        .query_one(
            "select actor_id, after ->> 'behind_pace_threshold' from public.audit_log
              where org_id = $1 and action = 'org.change_alert_thresholds'",
            &[&org.world.org],
        )
        .await
        .unwrap();
    assert_eq!(
        (audited.get::<_, Uuid>(0), audited.get::<_, String>(1)),
        (org.admin, "0.200".into())
    );
}

#[tokio::test]
async fn the_bottleneck_fires_below_the_threshold_share_of_the_sims_rate_and_minimum_count() {
    let org = Org::new().await;
    org.march_goal().await;
    // 80 calls, 4 appointments: 0.05, exactly half the SIM's 0.1 (the default threshold 0.5).
    org.log("call", "2026-03-10", 80).await;
    org.log("appointment", "2026-03-10", 4).await;
    let view = org.march().await;
    assert!(!has(&view, "bottleneck"), "{view}");
    assert_eq!(view["stages"][0]["achieved_rate"], 0.05);
    assert_eq!(view["stages"][0]["conversion_vs_sim"], 0.5);

    // 82 calls: 4 / 82 = 0.04878, below half the SIM's rate.
    org.log("call", "2026-03-11", 2).await;
    let view = org.march().await;
    let bottleneck: Vec<&Value> =
        view["alerts"].as_array().unwrap().iter().filter(|a| a["kind"] == "bottleneck").collect();
    assert_eq!(
        bottleneck,
        [
            &json!({"kind": "bottleneck", "stage_key": "call", "achieved_rate": 0.04878, "sim_rate": 0.1})
        ]
    );

    // Judged from the minimum count on: 82 calls at a minimum of 82, not at 83.
    org.sql("update public.organizations set bottleneck_min_count = 82 where id = '{org}'").await;
    assert!(has(&org.march().await, "bottleneck"));
    org.sql("update public.organizations set bottleneck_min_count = 83 where id = '{org}'").await;
    let view = org.march().await;
    assert!(!has(&view, "bottleneck"));
    assert_eq!(view["thresholds"]["bottleneck_min_count"], 83);
}

#[tokio::test]
async fn inactivity_fires_after_n_idle_working_days() {
    let org = Org::new().await;
    let w = &org.world;
    // A goal for this month worked every day, in UTC like the rep's profile.
    org.sql(
        "insert into public.goals (user_id, sim_id, income_target_cents, period_kind, period_start,
                                   working_weekdays)
         values ('{rep}', '{sim}', 1400000, 'month',
                 date_trunc('month', now() at time zone 'UTC')::date, '{1,2,3,4,5,6,7}')",
    )
    .await;
    // Last active four days ago: the three days in between are idle, the default threshold.
    org.log("call", &utc_day(w, -4).await, 1).await;
    let view = org.kpi(w.rep, "?period=year").await.ok(200);
    assert_eq!(view["idle_working_days"], 3);
    let inactive = view["alerts"].as_array().unwrap().iter().find(|a| a["kind"] == "inactive");
    assert_eq!(
        inactive,
        Some(
            &json!({"kind": "inactive", "working_days": 3, "last_active_on": utc_day(w, -4).await})
        )
    );

    org.log("call", &utc_day(w, -3).await, 1).await;
    let view = org.kpi(w.rep, "?period=year").await.ok(200);
    assert_eq!(view["idle_working_days"], 2);
    assert!(!has(&view, "inactive"), "{view}");
    org.sql("update public.organizations set inactivity_alert_days = 2 where id = '{org}'").await;
    assert!(has(&org.kpi(w.rep, "?period=year").await.ok(200), "inactive"));
}

#[tokio::test]
async fn named_periods_follow_the_members_time_zone_and_pace_on_their_today() {
    let org = Org::new().await;
    let w = &org.world;
    org.sql("update public.profiles set time_zone = 'Pacific/Kiritimati' where id = '{rep}'").await;
    let local_days = owner(&w.stack)
        .await
        .query_one(
            "select ((now() at time zone 'Pacific/Kiritimati')::date)::text,
                    date_trunc('week', now() at time zone 'Pacific/Kiritimati')::date::text",
            &[],
        )
        .await
        .unwrap();
    let (local, monday): (String, String) = (local_days.get(0), local_days.get(1));
    let view = org.kpi(w.rep, "?period=day").await.ok(200);
    assert_eq!(
        view["period"],
        json!({"kind": "day", "from": local, "to": local, "today": local,
               "time_zone": "Pacific/Kiritimati"})
    );
    // Seen by the manager, the period is still the rep's.
    let managed = org.kpi(w.manager, &format!("?period=day&user_id={}", w.rep)).await.ok(200);
    assert_eq!(managed["period"], view["period"]);
    let week = org.kpi(w.rep, "?period=week").await.ok(200);
    assert_eq!(week["period"]["from"], json!(monday), "weeks start on the member's Monday");
    assert_eq!(org.kpi(w.rep, "").await.ok(200)["period"]["kind"], "month");
}

#[tokio::test]
async fn without_a_goal_the_view_is_actuals_and_inactivity_only() {
    let org = Org::new().await;
    org.log("call", "2026-03-02", 7).await;
    org.log("referral", "2026-03-03", 2).await;
    let view = org.march().await;
    assert_eq!((view["mode"].clone(), view["goal"].clone()), (json!("actuals_only"), Value::Null));
    assert_eq!(view["stages"], json!([]));
    assert_eq!(
        view["activity_types"],
        json!([{"type": "call", "actual": 7, "value_cents": 0, "plan": null},
               {"type": "referral", "actual": 2, "value_cents": 0, "plan": null}])
    );
    assert_eq!(kinds(&view), [("inactive".to_owned(), None)]);
}

#[tokio::test]
async fn bad_periods_and_parameters_are_clear_4xx() {
    let org = Org::new().await;
    let rep = org.world.rep;
    org.kpi(rep, "?period=fortnight").await.names("period");
    org.kpi(rep, "?period=custom&from=2026-03-01&to=tomorrow").await.names("to");
    org.kpi(rep, "?user_id=me").await.names("user_id");
    org.kpi(rep, "?period=month&team=1").await.names("team");
    for query in [
        "?period=custom",
        "?period=custom&from=2026-03-31&to=2026-03-01",
        "?period=custom&from=2025-01-01&to=2026-03-01",
        "?period=month&from=2026-03-01",
    ] {
        let message = org.kpi(rep, query).await.error(422, "invalid_period");
        assert!(message.contains("custom"), "{query}: {message}");
    }
    org.world.call(rep, "POST", "kpi-me", None).await.error(405, "method_not_allowed");
}

#[tokio::test]
async fn a_lapsed_subscription_still_reads() {
    let org = Org::new().await;
    org.march_goal().await;
    org.log("call", "2026-03-02", 40).await;
    org.sql("insert into public.subscriptions (org_id, plan_key, status) values ('{org}', 'team', 'canceled')")
        .await;
    let view = org.march().await;
    assert_eq!(view["stages"][0]["actual"], 40);
    let managed = format!("?period=custom&from=2026-03-01&to=2026-03-31&user_id={}", org.world.rep);
    assert_eq!(org.kpi(org.world.manager, &managed).await.ok(200)["stages"], view["stages"]);
    // Read-only means the admin cannot tune the thresholds meanwhile.
    let (status, rows) = org.set_thresholds(org.admin, json!({"inactivity_alert_days": 9})).await;
    assert_eq!((status, rows), (200, json!([])));
}
