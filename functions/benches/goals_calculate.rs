//! The pure path of `goals-calculate`, with no network: the engine alone, and the whole handler
//! as every host runs it (method, JWT verification, JSON parsing, validation, plan, JSON out).
//! `cargo bench -p functions --bench goals_calculate`

use std::hint::black_box;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use shared::domain::goals::{
    self, Calendar, DayLog, Funnel, GoalInput, Multiplier, Period, PeriodKind, Rate, ReferralRule,
    Stage,
};
use shared::runtime::{Config, Ctx, HttpClient, HttpError, HttpFuture};
use shared::testing::{block_on, hs256};

const SECRET: &str = "bench-jwt-secret-with-at-least-32-characters";
const NOW: u64 = 1_800_000_000;

struct NoNetwork;

impl HttpClient for NoNetwork {
    fn send<'a>(&'a self, _request: http::Request<Bytes>) -> HttpFuture<'a> {
        Box::pin(async { Err(HttpError::Unreachable("benchmarks use no network".into())) })
    }
}

fn input(kind: PeriodKind) -> GoalInput {
    let rate = |r: f64| Some(Rate::from_decimal(r).unwrap());
    GoalInput {
        income_target_cents: 12_000_000,
        income_per_deal_cents: 900_000,
        funnel: Funnel::new(vec![
            Stage { key: "call".into(), conversion: rate(0.05) },
            Stage { key: "appointment".into(), conversion: rate(0.25) },
            Stage { key: "deal".into(), conversion: None },
        ])
        .unwrap(),
        period: Period::new(kind, "2026-01-01".parse().unwrap()).unwrap(),
        calendar: Calendar::weekdays(),
        referrals: Vec::new(),
    }
}

fn body(kind: &str) -> Value {
    json!({
        "income_target_cents": 12_000_000,
        "period": {"kind": kind, "start": "2026-01-01"},
        "sim": {
            "average_deal_value_cents": 30_000_000,
            "commission_rate": 0.03,
            "stages": [
                {"key": "call", "conversion_rate": 0.05},
                {"key": "appointment", "conversion_rate": 0.25},
                {"key": "deal"}
            ]
        },
        "calendar": {"working_weekdays": [1, 2, 3, 4, 5], "days_off": ["2026-01-01"]}
    })
}

fn ctx() -> Ctx {
    let vars = [
        ("SUPABASE_URL", "http://127.0.0.1:54321"),
        ("SUPABASE_ANON_KEY", "anon"),
        ("SUPABASE_JWT_SECRET", SECRET),
    ];
    let config = Config::from_lookup(|name| {
        vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    Ctx::new(Arc::new(config), Rc::new(NoNetwork), "bench", NOW).with_log_sink(Rc::new(|_| {}))
}

fn engine(c: &mut Criterion) {
    for kind in [PeriodKind::Month, PeriodKind::Year] {
        let input = input(kind);
        c.bench_function(&format!("engine plan ({kind:?})"), |b| {
            b.iter(|| goals::plan(black_box(&input)).unwrap())
        });
        let referred = GoalInput {
            referrals: vec![ReferralRule {
                expected_referrals: 12,
                close_rate: Rate::from_decimal(0.25).unwrap(),
                value_multiplier: Multiplier::from_decimal(1.25).unwrap(),
            }],
            ..input.clone()
        };
        c.bench_function(&format!("engine plan with referrals ({kind:?})"), |b| {
            b.iter(|| goals::plan(black_box(&referred)).unwrap())
        });
        // Half the period gone, every working day logged a little under plan.
        let plan = goals::plan(&input).unwrap();
        let today = plan.per_day[plan.per_day.len() / 2].start;
        let logged: Vec<DayLog> = plan
            .per_day
            .iter()
            .take_while(|d| d.start < today)
            .map(|d| DayLog {
                date: d.start,
                counts: d.counts.iter().map(|n| n * 9 / 10).collect(),
            })
            .collect();
        c.bench_function(&format!("engine remaining effort and pacing ({kind:?})"), |b| {
            b.iter(|| goals::progress(black_box(&plan), black_box(&logged), today).unwrap())
        });
    }
}

fn handler(c: &mut Criterion) {
    let ctx = ctx();
    let token = hs256(
        &json!({"sub": "3b0b5c1e-8a7d-4c55-9a0e-5a1f2d3c4b5a", "aud": "authenticated",
                "role": "authenticated", "exp": NOW + 3600}),
        SECRET,
    );
    for kind in ["month", "year"] {
        let body = Bytes::from(body(kind).to_string());
        c.bench_function(&format!("goals-calculate handler ({kind})"), |b| {
            b.iter(|| {
                let request = http::Request::builder()
                    .method("POST")
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {token}"))
                    .body(body.clone())
                    .unwrap();
                let response = block_on(functions::dispatch("goals-calculate", request, &ctx));
                assert_eq!(response.status(), 200);
                response
            })
        });
    }
}

criterion_group!(benches, engine, handler);
criterion_main!(benches);
