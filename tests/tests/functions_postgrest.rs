//! `shared::postgrest` against the stack's real `/rest/v1`, sent through the native host's
//! `ReqwestClient`: requests go out as the caller (RLS applies), the service-role client sees
//! everything, and PostgREST's refusals come back as our JSON errors with the right status.

mod support;

use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Value, json};
use shared::auth::{Caller, authenticate};
use shared::error::ApiError;
use shared::postgrest::service_role::{self, Purpose};
use shared::postgrest::{Direction, Postgrest, send, send_json};
use shared::runtime::native::ReqwestClient;
use shared::runtime::{Config, Ctx};
use support::rest::{Rest, now};
use tokio::sync::OnceCell;

static FIXTURE: OnceCell<()> = OnceCell::const_new();

const DANA: &str = "0da7a000-0000-4000-8000-000000000011";
const ERIN: &str = "0e7170e0-0000-4000-8000-000000000012";

async fn rest() -> Rest {
    let rest = Rest::new();
    FIXTURE
        .get_or_init(|| async {
            rest.fixture(
                "drop table if exists fn_pg_items cascade;
                 create table fn_pg_items (
                   id serial primary key,
                   owner_id uuid not null default auth.uid(),
                   name text not null unique
                 );
                 create index on fn_pg_items (owner_id);
                 alter table fn_pg_items enable row level security;
                 create policy \"Users see their own items\" on fn_pg_items
                   for select to authenticated using (owner_id = (select auth.uid()));
                 create policy \"Users add their own items\" on fn_pg_items
                   for insert to authenticated with check (owner_id = (select auth.uid()));
                 revoke all on fn_pg_items from anon;
                 grant usage on sequence fn_pg_items_id_seq to authenticated;
                 create or replace function fn_pg_count_mine() returns bigint
                   language sql stable as $$ select count(*) from fn_pg_items $$;",
                &["fn_pg_items", "rpc/fn_pg_count_mine"],
            )
            .await;
        })
        .await;
    rest
}

/// A native context whose configuration is the running stack's, like the native host builds.
fn ctx(rest: &Rest, supabase_url: &str) -> Ctx {
    let stack = &rest.stack;
    let config = Config::from_lookup(|name| match name {
        "SUPABASE_URL" => Some(supabase_url.to_owned()),
        "SUPABASE_ANON_KEY" => Some(stack.anon_key.clone()),
        "SUPABASE_SERVICE_ROLE_KEY" => Some(stack.service_role_key.clone()),
        "SUPABASE_JWT_SECRET" => Some(stack.jwt_secret.clone()),
        _ => None,
    })
    .unwrap();
    let client = ReqwestClient::new(reqwest::Client::new());
    Ctx::new(Arc::new(config), Rc::new(client), "postgrest-test", now() as u64)
}

async fn caller(rest: &Rest, ctx: &Ctx, user_id: &str) -> Caller {
    let request = http::Request::builder()
        .header("authorization", format!("Bearer {}", rest.user_token(user_id)))
        .body(bytes::Bytes::new())
        .unwrap();
    authenticate(&request, ctx).await.unwrap()
}

fn names(rows: &Value) -> Vec<&str> {
    rows.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_caller_writes_and_reads_only_their_own_rows_and_the_service_role_sees_all() {
    let rest = rest().await;
    let ctx = ctx(&rest, &rest.stack.api_url);
    let dana = Postgrest::as_caller(&ctx.config, &caller(&rest, &ctx, DANA).await);
    let erin = Postgrest::as_caller(&ctx.config, &caller(&rest, &ctx, ERIN).await);

    let inserted: Value = send_json(
        &ctx,
        dana.from("fn_pg_items").insert(&json!([{"name": "dana-b"}, {"name": "dana-a"}])).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(inserted.as_array().unwrap().len(), 2);
    assert_eq!(inserted[0]["owner_id"], DANA);
    send(&ctx, erin.from("fn_pg_items").insert(&json!({"name": "erin-a"})).unwrap()).await.unwrap();

    let mine: Value = send_json(
        &ctx,
        dana.from("fn_pg_items")
            .select("name")
            .in_list("name", ["dana-a", "dana-b", "erin-a"])
            .order("name", Direction::Ascending)
            .get()
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(names(&mine), ["dana-a", "dana-b"]);

    let count: Value =
        send_json(&ctx, erin.rpc("fn_pg_count_mine", &json!({})).unwrap()).await.unwrap();
    assert_eq!(count, json!(1));

    let service = service_role::client(&ctx, Purpose::Cron("test")).unwrap();
    let all: Value = send_json(
        &ctx,
        service
            .from("fn_pg_items")
            .select("name")
            .in_list("name", ["dana-a", "dana-b", "erin-a"])
            .order("name", Direction::Ascending)
            .get()
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(names(&all), ["dana-a", "dana-b", "erin-a"]);
}

#[tokio::test]
async fn refusals_come_back_as_our_errors() {
    let rest = rest().await;
    let ctx = ctx(&rest, &rest.stack.api_url);
    let dana = Postgrest::as_caller(&ctx.config, &caller(&rest, &ctx, DANA).await);
    send(&ctx, dana.from("fn_pg_items").insert(&json!({"name": "dana-unique"})).unwrap())
        .await
        .unwrap();

    let check = |error: ApiError, status: u16, code: &str| {
        assert_eq!((error.status.as_u16(), error.code), (status, code), "{error}");
    };
    let duplicate = dana.from("fn_pg_items").insert(&json!({"name": "dana-unique"})).unwrap();
    check(send(&ctx, duplicate).await.unwrap_err(), 409, "conflict");

    let as_someone_else =
        dana.from("fn_pg_items").insert(&json!({"name": "forged", "owner_id": ERIN})).unwrap();
    check(send(&ctx, as_someone_else).await.unwrap_err(), 403, "forbidden");

    let missing = dana.from("fn_pg_items").eq("name", "nobody-has-this").single().get().unwrap();
    check(send(&ctx, missing).await.unwrap_err(), 404, "not_found");

    let unreachable = self::ctx(&rest, "http://127.0.0.1:9");
    let request =
        Postgrest::as_caller(&unreachable.config, &caller(&rest, &unreachable, DANA).await)
            .from("fn_pg_items")
            .get()
            .unwrap();
    let error = send(&unreachable, request).await.unwrap_err();
    check(error.clone(), 503, "upstream_unavailable");
    assert_eq!(error.retry_after, Some(5));
}
