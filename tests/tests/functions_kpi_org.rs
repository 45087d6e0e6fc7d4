//! `kpi-org` over HTTP through the local stack: who sees whom (team manager, enterprise TM and
//! admin, and the refusals of a rep, another organization, a platform admin, an anonymous caller
//! and a plan without the dashboard), the figures for activity logged through `activities`,
//! the team filter, the drilldown, and the proof that the targets Postgres computes are the ones
//! the goal engine plans.

mod support;

use chrono::{Datelike, NaiveDate};
use serde_json::json;
use shared::domain::goals::{
    self, Calendar, Funnel, GoalInput, Multiplier, Period, PeriodKind, Rate, ReferralRule, Stage,
};
use support::world::{World, owner};
use uuid::Uuid;

/// The people of a world around its team East (rep and manager): a rep of team West, an
/// enterprise TM and an enterprise admin, and a platform admin of no organization.
struct Org {
    world: World,
    west: Uuid,
    rep2: Uuid,
    tm: Uuid,
    admin: Uuid,
    staff: Uuid,
}

impl Org {
    async fn new() -> Self {
        let world = World::new().await;
        let db = owner(&world.stack).await;
        let [west, rep2, tm, admin, staff] = [(); 5].map(|_| Uuid::new_v4());
        db.execute(
            "insert into auth.users (id, aud, role, email, raw_user_meta_data, created_at)
             select id, 'authenticated', 'authenticated', id || '@kpi-org.test',
                    jsonb_build_object('full_name', name), now()
               from unnest($1::uuid[], $2::text[]) u(id, name)",
            &[
                &vec![rep2, tm, admin, staff],
                &vec!["Wendy West", "Tina Tm", "Ada Admin", "Sam Staff"],
            ],
        )
        .await
        .unwrap();
        db.execute(
            "update public.profiles set full_name = name
               from unnest($1::uuid[], $2::text[]) u(id, name) where profiles.id = u.id",
            &[&vec![world.rep, world.manager], &vec!["Ed East", "Mia Manager"]],
        )
        .await
        .unwrap();
        db.execute(
            "insert into public.teams (id, org_id, name) values ($1, $2, 'West')",
            &[&west, &world.org],
        )
        .await
        .unwrap();
        db.execute(
            "insert into public.memberships (org_id, user_id, role, team_id)
             values ($1, $2, 'rep', $3), ($1, $4, 'enterprise_tm', null),
                    ($1, $5, 'enterprise_admin', null)",
            &[&world.org, &rep2, &west, &tm, &admin],
        )
        .await
        .unwrap();
        db.execute(
            "insert into public.platform_admins (user_id, note) values ($1, 'kpi-org')",
            &[&staff],
        )
        .await
        .unwrap();
        Self { world, west, rep2, tm, admin, staff }
    }

    async fn get(&self, user: Uuid, query: &str) -> support::world::Answer {
        self.world.call(user, "GET", &format!("kpi-org?{query}"), None).await
    }

    /// The members' names on the answer's page, in order.
    async fn names(&self, user: Uuid, query: &str) -> Vec<String> {
        let body = self.get(user, query).await.ok(200);
        body["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["name"].as_str().unwrap().into())
            .collect()
    }
}

const MARCH: &str = "period=custom&from=2026-03-01&to=2026-03-31";

#[tokio::test]
async fn managers_see_whom_they_manage_and_everyone_else_is_refused() {
    let org = Org::new().await;
    let w = &org.world;
    assert_eq!(org.names(w.manager, MARCH).await, ["Ed East", "Mia Manager"], "team East only");
    let everyone = ["Ada Admin", "Ed East", "Mia Manager", "Tina Tm", "Wendy West"];
    assert_eq!(org.names(org.tm, MARCH).await, everyone);
    assert_eq!(org.names(org.admin, MARCH).await, everyone);

    let managers_only =
        "only team managers, enterprise TMs and enterprise admins see the organization's KPIs";
    assert_eq!(org.get(w.rep, "").await.error(403, "forbidden"), managers_only);
    assert_eq!(org.get(w.outsider, "").await.error(403, "forbidden"), managers_only);
    org.get(org.staff, "").await.error(403, "feature_disabled");
    let anonymous = w.call_with_token(&w.stack.anon_key, "GET", "kpi-org", None).await;
    anonymous.error(401, "invalid_token");
    // Support's read-only view of a manager reads what the manager reads.
    let support = w.token_with(w.manager, json!({"impersonator": org.staff, "read_only": true}));
    let seen = w.call_with_token(&support, "GET", &format!("kpi-org?{MARCH}"), None).await.ok(200);
    assert_eq!(seen["total"], json!(2));

    // Without the org_dashboard feature even the admin is refused, naming the feature.
    w.switch_off("org_dashboard").await;
    org.get(org.admin, "").await.error(403, "feature_disabled");
    org.get(w.manager, &format!("drilldown={}", w.rep)).await.error(403, "feature_disabled");
}

#[tokio::test]
async fn the_dashboard_counts_what_was_logged_and_pages_through_it() {
    let org = Org::new().await;
    let w = &org.world;
    let log = |user, calls: u64, deals: u64| async move {
        let mut batch =
            vec![json!({"type": "call", "occurred_on": "2026-03-02", "quantity": calls})];
        if deals > 0 {
            batch.push(json!({"type": "deal", "occurred_on": "2026-03-09", "quantity": deals,
                              "value_cents": 50_000_000}));
        }
        w.call(user, "POST", "activities", Some(json!(batch))).await.ok(201);
    };
    log(w.rep, 30, 1).await;
    log(org.rep2, 10, 0).await;
    log(w.manager, 5, 0).await;

    let body =
        org.get(org.admin, &format!("{MARCH}&sort=calls&direction=desc&limit=2")).await.ok(200);
    assert_eq!(body["total"], json!(5));
    let page: Vec<_> =
        body["users"].as_array().unwrap().iter().map(|u| u["name"].clone()).collect();
    assert_eq!(page, [json!("Ed East"), json!("Wendy West")]);
    assert_eq!(body["users"][0]["actuals"]["call"], json!(30));
    assert_eq!(body["users"][0]["actuals"]["deal_value_cents"], json!(50_000_000));
    // Calls [30, 10, 5, 0, 0]: median 5; East [30, 5]: median 17.5; West [10].
    let calls = &body["aggregates"]["scope"]["metrics"]["call"];
    let figures = ["sum", "median", "average"].map(|figure| calls[figure].as_f64().unwrap());
    assert_eq!(figures, [45.0, 5.0, 9.0], "{calls}");
    let teams = body["aggregates"]["teams"].as_array().unwrap();
    let east = teams.iter().find(|t| t["team"]["name"] == json!("East")).unwrap();
    assert_eq!(
        east["metrics"]["call"]["median"].as_f64(),
        Some(17.5),
        "the mean of the middle two"
    );
    assert_eq!(body["trend"]["granularity"], json!("day"));
    assert_eq!(body["trend"]["points"][1]["counts"]["call"], json!(45), "2 March");
    assert_eq!(body["trend"]["points"].as_array().unwrap().len(), 31);

    let rest =
        org.names(org.admin, &format!("{MARCH}&sort=calls&direction=desc&limit=2&offset=2")).await;
    assert_eq!(rest, ["Mia Manager", "Ada Admin"]);
    let last = org.names(org.admin, &format!("{MARCH}&sort=calls&direction=desc&offset=4")).await;
    assert_eq!(last, ["Tina Tm"]);
    assert!(org.names(org.admin, &format!("{MARCH}&offset=5")).await.is_empty());

    // The team filter: a team the caller manages, or 404.
    let east_only = org
        .get(
            w.manager,
            &format!("{MARCH}&team_id={}", body["users"][0]["team"]["id"].as_str().unwrap()),
        )
        .await
        .ok(200);
    assert_eq!(
        (east_only["total"].clone(), east_only["team"]["name"].clone()),
        (json!(2), json!("East"))
    );
    let west = format!("{MARCH}&team_id={}", org.west);
    assert_eq!(
        org.get(w.manager, &west).await.error(404, "not_found"),
        "no team you manage has this id"
    );
    assert_eq!(org.get(org.tm, &west).await.ok(200)["users"][0]["name"], json!("Wendy West"));
    assert_eq!(
        org.get(org.admin, &format!("{MARCH}&team_id={}", Uuid::new_v4())).await.status,
        404
    );

    // Bad parameters name themselves; nothing reaches the database.
    for (query, parameter) in [
        ("sort=email", "sort"),
        ("direction=sideways", "direction"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("offset=-3", "offset"),
        ("period=custom&from=2026-03-31&to=2026-03-01", "to"),
        ("period=custom&to=2026-03-01", "from"),
        ("period=week&from=2026-03-01", "from"),
        ("granularity=hour", "granularity"),
        ("team_id=east", "team_id"),
        ("drilldown=ed", "drilldown"),
        ("page=2", "page"),
    ] {
        org.get(org.admin, query).await.names(parameter);
    }
    let post = w.call(org.admin, "POST", "kpi-org", Some(json!({}))).await;
    post.error(405, "method_not_allowed");
}

#[tokio::test]
async fn the_drilldown_is_the_kpi_me_view_of_a_managed_member() {
    let org = Org::new().await;
    let w = &org.world;
    w.call(
        w.rep,
        "POST",
        "activities",
        Some(json!({"type": "call", "occurred_on": "2026-03-02", "quantity": 7})),
    )
    .await
    .ok(201);
    let drill = |user, member: Uuid| {
        let query = format!("drilldown={member}&{MARCH}");
        let org = &org;
        async move { org.get(user, &query).await }
    };
    let view = drill(w.manager, w.rep).await.ok(200);
    // The very view the member sees in kpi-me, which logged 7 calls.
    let mine = w.call(w.rep, "GET", &format!("kpi-me?{MARCH}"), None).await.ok(200);
    assert_eq!(view, mine);
    assert_eq!(view["user_id"], json!(w.rep));
    let calls =
        view["activity_types"].as_array().unwrap().iter().find(|t| t["type"] == json!("call"));
    assert_eq!(calls.unwrap()["actual"], json!(7), "{view}");
    assert_eq!(drill(org.admin, w.rep).await.status, 200);
    drill(w.manager, org.rep2).await.error(404, "not_found");
    drill(w.manager, Uuid::new_v4()).await.error(404, "not_found");
    drill(w.rep, w.rep).await.error(403, "forbidden");
    drill(w.outsider, w.rep).await.error(403, "forbidden");
}

/// A goal as the test writes it, and as the engine plans it.
struct GoalSpec {
    kind: PeriodKind,
    start: &'static str,
    target_cents: u64,
    weekdays: &'static [u8],
    days_off: &'static [&'static str],
}

/// A member's planning referral rule: per month, close rate, multiplier.
type RuleSpec = (u64, f64, Option<f64>);

fn kind_name(kind: PeriodKind) -> &'static str {
    match kind {
        PeriodKind::Month => "month",
        PeriodKind::Quarter => "quarter",
        PeriodKind::Year => "year",
    }
}

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

/// The engine's target per stage over `from..=to` for a member with these goals and rules,
/// picking goals as kpi_org does: the kind of one covering the period, else of the shortest
/// overlapping one, then every goal of that kind overlapping it.
fn engine_targets(
    goals: &[GoalSpec],
    rules: &[RuleSpec],
    income_per_deal_cents: u64,
    stages: &[(String, Option<f64>)],
    from: NaiveDate,
    to: NaiveDate,
) -> Option<Vec<u64>> {
    let period = |g: &GoalSpec| Period::new(g.kind, date(g.start)).unwrap();
    let overlapping: Vec<&GoalSpec> =
        goals.iter().filter(|g| period(g).start() <= to && period(g).end() >= from).collect();
    let rank = |g: &&GoalSpec| {
        let covers = period(g).start() <= from && period(g).end() >= to;
        (!covers, g.kind as u8, std::cmp::Reverse(period(g).start()))
    };
    let kind = overlapping.iter().copied().min_by_key(rank)?.kind;
    let mut sums = vec![0; stages.len()];
    for goal in overlapping.iter().filter(|g| g.kind == kind) {
        let months = match kind {
            PeriodKind::Month => 1,
            PeriodKind::Quarter => 3,
            PeriodKind::Year => 12,
        };
        let input = GoalInput {
            income_target_cents: goal.target_cents,
            income_per_deal_cents,
            funnel: Funnel::new(
                stages
                    .iter()
                    .map(|(key, rate)| Stage {
                        key: key.clone(),
                        conversion: rate.map(|r| Rate::from_decimal(r).unwrap()),
                    })
                    .collect(),
            )
            .unwrap(),
            period: period(goal),
            calendar: Calendar::new(
                goal.weekdays,
                &goal.days_off.iter().map(|d| date(d)).collect::<Vec<_>>(),
            )
            .unwrap(),
            referrals: rules
                .iter()
                .map(|&(per_month, close, multiplier)| ReferralRule {
                    expected_referrals: per_month * months,
                    close_rate: Rate::from_decimal(close).unwrap(),
                    value_multiplier: multiplier
                        .and_then(Multiplier::from_decimal)
                        .unwrap_or(Multiplier::ONE),
                })
                .collect(),
        };
        let plan = goals::plan(&input).unwrap();
        for day in plan.per_day.iter().filter(|d| d.start >= from && d.start <= to) {
            sums.iter_mut().zip(&day.counts).for_each(|(sum, n)| *sum += n);
        }
    }
    Some(sums)
}

#[tokio::test]
async fn the_targets_postgres_computes_are_the_ones_the_goal_engine_plans() {
    let org = Org::new().await;
    let w = &org.world;
    let db = owner(&w.stack).await;
    // An organization SIM with a custom stage between appointments and deals.
    let custom_sim = Uuid::new_v4();
    db.execute(
        "insert into public.sims (id, org_id, key, name, industry, average_deal_value_cents, commission_rate)
         values ($1, $2, 'solar', 'Solar', 'Solar', 2345678, 0.07)",
        &[&custom_sim, &w.org],
    )
    .await
    .unwrap();
    db.execute(
        "insert into public.sim_stages (sim_id, position, key, name, activity_type, conversion_rate)
         values ($1, 1, 'call', 'Call', 'call', 0.123), ($1, 2, 'appointment', 'Appointment', 'appointment', 0.33333),
                ($1, 3, 'site_visit', 'Site visit', 'custom', 0.7), ($1, 4, 'deal', 'Deal', 'deal', null)",
        &[&custom_sim],
    )
    .await
    .unwrap();

    let weekdays: &[u8] = &[1, 2, 3, 4, 5];
    let members: Vec<(Uuid, Uuid, Vec<GoalSpec>, Vec<RuleSpec>)> = vec![
        (
            w.rep,
            w.sim,
            vec![GoalSpec {
                kind: PeriodKind::Year,
                start: "2026-01-01",
                target_cents: 12_345_678,
                weekdays,
                days_off: &["2026-01-01", "2026-07-03", "2026-12-25", "2025-12-31"],
            }],
            vec![],
        ),
        (
            org.rep2,
            w.sim,
            vec![GoalSpec {
                kind: PeriodKind::Quarter,
                start: "2026-01-01",
                target_cents: 3_000_000,
                weekdays: &[1, 2, 3, 4, 5, 6],
                days_off: &["2026-02-14"],
            }],
            vec![(3, 0.5, Some(1.5)), (1, 0.33333, None), (2, 1.0, Some(0.5))],
        ),
        (
            w.manager,
            custom_sim,
            vec![
                GoalSpec {
                    kind: PeriodKind::Month,
                    start: "2026-01-01",
                    target_cents: 900_000,
                    weekdays: &[2, 4],
                    days_off: &[],
                },
                GoalSpec {
                    kind: PeriodKind::Month,
                    start: "2026-02-01",
                    target_cents: 1_234_567,
                    weekdays,
                    days_off: &["2026-02-16"],
                },
                GoalSpec {
                    kind: PeriodKind::Month,
                    start: "2026-03-01",
                    target_cents: 0,
                    weekdays,
                    days_off: &[],
                },
                GoalSpec {
                    kind: PeriodKind::Year,
                    start: "2026-01-01",
                    target_cents: 20_000_000,
                    weekdays: &[1, 2, 3, 4, 5, 6, 7],
                    days_off: &[],
                },
            ],
            vec![(4, 0.25, Some(2.0))],
        ),
        (
            org.tm,
            custom_sim,
            vec![GoalSpec {
                kind: PeriodKind::Quarter,
                start: "2026-04-01",
                target_cents: 777_777,
                weekdays: &[7],
                days_off: &["2026-04-05"],
            }],
            vec![],
        ),
    ];
    for (user, sim, goals, rules) in &members {
        for goal in goals {
            let days_off: Vec<NaiveDate> = goal.days_off.iter().map(|d| date(d)).collect();
            let weekdays: Vec<i16> = goal.weekdays.iter().map(|&d| i16::from(d)).collect();
            db.execute(
                "insert into public.goals (user_id, sim_id, income_target_cents, period_kind, period_start,
                                           working_weekdays, days_off, time_zone)
                 values ($1, $2, $3, $4::text::public.period_kind, $5, $6, $7, 'Europe/Berlin')",
                &[user, sim, &(goal.target_cents as i64), &kind_name(goal.kind), &date(goal.start), &weekdays, &days_off],
            )
            .await
            .unwrap();
        }
        for (i, (per_month, close, multiplier)) in rules.iter().enumerate() {
            db.execute(
                "insert into public.referral_rules (user_id, name, referral_close_rate, referred_value_multiplier,
                                                    expected_referrals_per_month, created_at)
                 values ($1, $2, $3::float8::numeric, $4::float8::numeric, $5, now() + $6::float8 * interval '1 second')",
                &[user, &format!("rule {i}"), close, multiplier, &(*per_month as i32), &(i as f64)],
            )
            .await
            .unwrap();
        }
    }
    // An inactive rule and one without an expected count plan nothing.
    db.execute(
        "insert into public.referral_rules (user_id, name, referral_close_rate, expected_referrals_per_month, active)
         values ($1, 'old', 1, 50, false), ($1, 'vague', 1, null, true)",
        &[&w.rep],
    )
    .await
    .unwrap();

    let funnel = |sim: Uuid| {
        let db = &db;
        async move {
            let income: i64 = db
                .query_one("select income_per_deal_cents from public.sims where id = $1", &[&sim])
                .await
                .unwrap()
                .get(0);
            let stages = db
                .query("select key, conversion_rate::float8 from public.sim_stages where sim_id = $1 order by position", &[&sim])
                .await
                .unwrap()
                .iter()
                .map(|row| (row.get::<_, String>(0), row.get::<_, Option<f64>>(1)))
                .collect::<Vec<_>>();
            (income as u64, stages)
        }
    };
    let periods = [
        ("2026-01-01", "2026-01-31"),
        ("2026-02-10", "2026-03-20"),
        ("2026-01-01", "2026-12-31"),
        ("2026-03-02", "2026-03-02"),
        ("2026-04-01", "2026-06-30"),
        ("2026-03-30", "2026-04-12"),
        ("2025-12-01", "2026-01-15"),
        ("2026-02-01", "2026-02-28"),
    ];
    let mut compared = 0;
    for (from, to) in periods {
        let body = org
            .get(org.admin, &format!("period=custom&from={from}&to={to}&limit=200"))
            .await
            .ok(200);
        for (user, sim, goals, rules) in &members {
            let (income, stages) = funnel(*sim).await;
            let expected = engine_targets(goals, rules, income, &stages, date(from), date(to));
            let member = body["users"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["user_id"] == json!(user))
                .unwrap();
            let answered: Vec<u64> = member["stages"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s["target"].as_u64().unwrap())
                .collect();
            match expected {
                Some(targets) => {
                    assert_eq!(answered, targets, "{user} from {from} to {to}: {member}")
                }
                None => {
                    assert!(answered.is_empty(), "{user} has no goal from {from} to {to}: {member}")
                }
            }
            compared += 1;
        }
    }
    assert_eq!(compared, periods.len() * members.len());
    // The named periods land on the organization's current ones (here UTC).
    let today = chrono::Utc::now().date_naive();
    let year = org.get(org.admin, "period=year").await.ok(200);
    assert_eq!(year["period"]["from"], json!(format!("{}-01-01", today.year())));
    assert_eq!(year["trend"]["granularity"], json!("month"));
    assert_eq!(year["trend"]["moving_average_window"], json!(3));
}
