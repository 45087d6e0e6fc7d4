//! `/rest/v1/rpc/<fn>`: POST with JSON arguments and GET with query arguments; scalar, set,
//! row and void results shaped as PostgREST shapes them; errors raised in functions.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::rest::{Answer, Rest};
use tokio::sync::OnceCell;

static FIXTURE: OnceCell<()> = OnceCell::const_new();

async fn rest() -> Rest {
    let rest = Rest::new();
    FIXTURE
        .get_or_init(|| async {
            rest.fixture(
                "drop table if exists rest_rpc_cities cascade;
                 create table rest_rpc_cities (id int primary key, name text, pop int);
                 insert into rest_rpc_cities values (1, 'Oslo', 700), (2, 'Rome', 2800),
                   (3, 'Bern', 140);
                 create or replace function rest_rpc_add(a int, b int default 10) returns int
                   language sql immutable as $$ select a + b $$;
                 create or replace function rest_rpc_nothing() returns text
                   language sql stable as $$ select null::text $$;
                 create or replace function rest_rpc_cities_over(min_pop int)
                   returns setof rest_rpc_cities language sql stable
                   as $$ select * from rest_rpc_cities where pop > min_pop $$;
                 create or replace function rest_rpc_city(city_id int) returns rest_rpc_cities
                   language sql stable
                   as $$ select * from rest_rpc_cities where id = city_id $$;
                 create or replace function rest_rpc_numbers() returns setof int
                   language sql stable as $$ select generate_series(1, 3) $$;
                 create or replace function rest_rpc_echo(jsonb) returns jsonb
                   language sql immutable as $$ select $1 $$;
                 create or replace function rest_rpc_noop() returns void
                   language sql as $$ select $$;
                 create or replace function rest_rpc_refuse() returns void language plpgsql as $$
                   begin
                     raise exception 'I refuse!' using detail = 'Pretty simple',
                       hint = 'There is nothing you can do.';
                   end $$;
                 create or replace function rest_rpc_pay() returns void language plpgsql as $$
                   begin
                     raise sqlstate 'PT402' using message = 'Payment Required';
                   end $$;
                 create or replace function rest_rpc_teapot() returns text
                   language plpgsql as $$
                   begin
                     perform set_config('response.status', '418', true);
                     perform set_config('response.headers', '[{\"X-Brew\": \"tea\"}]', true);
                     return 'short and stout';
                   end $$;
                 create or replace function rest_rpc_counted() returns int
                   language plpgsql stable as $$
                   declare
                     calls int := coalesce(nullif(current_setting('rest_rpc.calls', true), '')::int, 0) + 1;
                   begin
                     perform set_config('rest_rpc.calls', calls::text, true);
                     perform set_config('response.headers', format('[{\"X-Calls\": \"%s\"}]', calls), true);
                     return calls;
                   end $$;",
                &["rpc/rest_rpc_add?a=1", "rpc/rest_rpc_teapot", "rpc/rest_rpc_counted", "rest_rpc_cities"],
            )
            .await;
        })
        .await;
    rest
}

async fn post(rest: &Rest, path: &str, body: Value) -> Answer {
    rest.send(Method::POST, path, Some(&rest.stack.service_role_key), Some(body)).await
}

#[tokio::test]
async fn a_scalar_result_is_the_plain_json_value() {
    let rest = rest().await;
    let answer = post(&rest, "rpc/rest_rpc_add", json!({"a": 1, "b": 2})).await;
    assert_eq!((answer.status, answer.text.as_str()), (200, "3"));
    let defaulted = post(&rest, "rpc/rest_rpc_add", json!({"a": 1})).await;
    assert_eq!(defaulted.text, "11");
    let got = rest.get("rpc/rest_rpc_add?a=4&b=5").await;
    assert_eq!((got.status, got.text.as_str()), (200, "9"));
}

#[tokio::test]
async fn a_null_scalar_is_null_not_an_array() {
    let rest = rest().await;
    let answer = post(&rest, "rpc/rest_rpc_nothing", json!({})).await;
    assert_eq!((answer.status, answer.text.as_str()), (200, "null"));
}

#[tokio::test]
async fn a_set_result_takes_filters_order_select_and_limit() {
    let rest = rest().await;
    let answer = rest
        .get("rpc/rest_rpc_cities_over?min_pop=100&select=name&name=neq.Bern&order=pop.desc")
        .await;
    assert_eq!(answer.json(), json!([{"name": "Rome"}, {"name": "Oslo"}]));
    let posted =
        post(&rest, "rpc/rest_rpc_cities_over?select=id&order=id&limit=1", json!({"min_pop": 0}))
            .await;
    assert_eq!(posted.json(), json!([{"id": 1}]));
}

#[tokio::test]
async fn a_row_result_is_an_object_and_a_scalar_set_an_array() {
    let rest = rest().await;
    let answer = rest.get("rpc/rest_rpc_city?city_id=2").await;
    assert_eq!(answer.json(), json!({"id": 2, "name": "Rome", "pop": 2800}));
    let numbers = rest.get("rpc/rest_rpc_numbers").await;
    assert_eq!(numbers.json(), json!([1, 2, 3]));
}

#[tokio::test]
async fn a_single_unnamed_json_parameter_takes_the_whole_body() {
    let rest = rest().await;
    let answer = post(&rest, "rpc/rest_rpc_echo", json!({"any": ["shape", 1]})).await;
    assert_eq!(answer.json(), json!({"any": ["shape", 1]}));
}

#[tokio::test]
async fn a_void_function_answers_204() {
    let rest = rest().await;
    let answer = post(&rest, "rpc/rest_rpc_noop", json!({})).await;
    assert_eq!((answer.status, answer.text.as_str()), (204, ""));
}

#[tokio::test]
async fn a_raised_exception_is_400_and_a_pt_code_its_own_status() {
    let rest = rest().await;
    let answer = post(&rest, "rpc/rest_rpc_refuse", json!({})).await;
    let body = answer.assert_error(400, "P0001");
    assert_eq!(
        body,
        json!({
            "code": "P0001",
            "message": "I refuse!",
            "details": "Pretty simple",
            "hint": "There is nothing you can do."
        })
    );
    post(&rest, "rpc/rest_rpc_pay", json!({})).await.assert_error(402, "PT402");
}

#[tokio::test]
async fn a_function_sets_the_response_status_and_headers() {
    let rest = rest().await;
    let answer = post(&rest, "rpc/rest_rpc_teapot", json!({})).await;
    assert_eq!(answer.status, 418);
    assert_eq!(answer.header("x-brew"), Some("tea"));
    assert_eq!(answer.json(), json!("short and stout"));
}

#[tokio::test]
async fn a_scalar_function_runs_once_per_request_counted_or_not() {
    let rest = rest().await;
    let posted = post(&rest, "rpc/rest_rpc_counted", json!({})).await;
    assert_eq!((posted.status, posted.header("x-calls")), (200, Some("1")));
    assert_eq!(posted.json(), json!(1));
    let got = rest.get("rpc/rest_rpc_counted").await;
    assert_eq!((got.header("x-calls"), got.json()), (Some("1"), json!(1)));
    let counted = rest
        .request(Method::GET, "rpc/rest_rpc_counted", Some(&rest.stack.service_role_key))
        .header("Prefer", "count=exact");
    let counted = Answer::from(counted.send().await.unwrap()).await;
    assert_eq!((counted.header("x-calls"), counted.json()), (Some("1"), json!(1)));
}

#[tokio::test]
async fn an_unknown_function_or_arguments_is_pgrst202() {
    let rest = rest().await;
    post(&rest, "rpc/rest_rpc_missing", json!({})).await.assert_error(404, "PGRST202");
    let body =
        post(&rest, "rpc/rest_rpc_add", json!({"zzz": 1})).await.assert_error(404, "PGRST202");
    assert_eq!(
        body["message"],
        "Could not find the function public.rest_rpc_add(zzz) in the schema cache"
    );
}

#[tokio::test]
async fn other_methods_on_a_function_are_pgrst101() {
    let rest = rest().await;
    let answer = rest
        .send(
            Method::PATCH,
            "rpc/rest_rpc_add",
            Some(&rest.stack.service_role_key),
            Some(json!({})),
        )
        .await;
    answer.assert_error(405, "PGRST101");
}
