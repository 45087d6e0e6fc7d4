//! What every integration test needs: where the running stack is and its keys.

#![allow(dead_code)]

pub mod mailgun_webhook;
pub mod rest;
pub mod stripe;
pub mod world;

use std::collections::HashMap;
use std::path::PathBuf;

use serde_json::{Value, json};

/// The running local stack, as `local-stack serve` described it in `supabase/.temp/status.env`.
pub struct Stack {
    pub api_url: String,
    pub db_url: String,
    pub jwt_secret: String,
    pub anon_key: String,
    pub service_role_key: String,
}

impl Stack {
    pub fn from_status() -> Self {
        let path = std::env::var("STACK_STATUS_FILE").map(PathBuf::from).unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../supabase/.temp/status.env")
        });
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; start the stack with scripts/run", path.display())
        });
        let vars: HashMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
        let get = |key: &str| {
            vars.get(key)
                .unwrap_or_else(|| panic!("{key} missing from {}", path.display()))
                .to_string()
        };
        Self {
            api_url: get("API_URL"),
            db_url: get("DB_URL"),
            jwt_secret: get("JWT_SECRET"),
            anon_key: get("ANON_KEY"),
            service_role_key: get("SERVICE_ROLE_KEY"),
        }
    }
}

/// README's worked example as a `goals-calculate` body, with `target_cents` as the target:
/// 300 000.00 homes at 3 %, 1 call in 20 to an appointment, 1 in 4 to a deal, January 2026 on
/// weekdays without New Year's Day (2 000 000 gives 240 calls, 12 appointments, 3 deals).
pub fn real_estate_goal(target_cents: u64) -> Value {
    json!({
        "income_target_cents": target_cents,
        "period": {"kind": "month", "start": "2026-01-01"},
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
