//! `/rest/v1` reads: select (columns, renames, casts, JSON paths, embedding), order, pages,
//! Range/Content-Range, counts, singular objects, CSV and profiles, as PostgREST documents them.

mod support;

use reqwest::Method;
use serde_json::json;
use support::rest::Rest;
use tokio::sync::OnceCell;

static FIXTURE: OnceCell<()> = OnceCell::const_new();

async fn rest() -> Rest {
    let rest = Rest::new();
    FIXTURE
        .get_or_init(|| async {
            rest.fixture(
                "drop table if exists rest_read_orders, rest_read_clients cascade;
                 create table rest_read_clients (id int primary key, name text not null);
                 create table rest_read_orders (
                   id int primary key,
                   client_id int references rest_read_clients (id),
                   referrer_id int references rest_read_clients (id),
                   amount numeric,
                   note text,
                   meta jsonb
                 );
                 insert into rest_read_clients values (1, 'acme'), (2, 'globex'), (3, 'initech');
                 insert into rest_read_orders values
                   (1, 1, 2, 10.5, 'first', '{\"tier\": {\"name\": \"gold\"}}'),
                   (2, 1, null, 20, null, null),
                   (3, 2, 1, 30, 'third', '{\"tier\": {\"name\": \"silver\"}}'),
                   (4, null, null, 40, 'fourth', null);",
                &["rest_read_orders", "rest_read_clients"],
            )
            .await;
        })
        .await;
    rest
}

#[tokio::test]
async fn select_picks_renames_and_casts_columns() {
    let rest = rest().await;
    let answer = rest.get("rest_read_orders?select=id,total:amount,amount::text&id=eq.1").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("application/json; charset=utf-8"));
    assert_eq!(answer.json(), json!([{"id": 1, "total": 10.5, "amount": "10.5"}]));
}

#[tokio::test]
async fn select_follows_json_paths() {
    let rest = rest().await;
    let answer =
        rest.get("rest_read_orders?select=id,meta->tier->>name,t:meta->tier&id=eq.3").await;
    assert_eq!(answer.json(), json!([{"id": 3, "name": "silver", "t": {"name": "silver"}}]));
}

#[tokio::test]
async fn a_many_to_one_embed_is_an_object_or_null() {
    let rest = rest().await;
    let answer = rest
        .get("rest_read_orders?select=id,rest_read_clients!client_id(name)&order=id&id=in.(1,4)")
        .await;
    assert_eq!(
        answer.json(),
        json!([
            {"id": 1, "rest_read_clients": {"name": "acme"}},
            {"id": 4, "rest_read_clients": null}
        ])
    );
}

#[tokio::test]
async fn a_one_to_many_embed_is_an_array_with_its_own_filters_order_and_limit() {
    let rest = rest().await;
    let answer = rest
        .get(
            "rest_read_clients?select=name,orders:rest_read_orders!client_id(id)&order=id\
             &orders.order=id.desc&orders.limit=1&orders.amount=gt.5",
        )
        .await;
    assert_eq!(
        answer.json(),
        json!([
            {"name": "acme", "orders": [{"id": 2}]},
            {"name": "globex", "orders": [{"id": 3}]},
            {"name": "initech", "orders": []}
        ])
    );
}

#[tokio::test]
async fn an_inner_embed_drops_parents_without_a_match() {
    let rest = rest().await;
    let answer = rest
        .get(
            "rest_read_orders?select=id,c:rest_read_clients!client_id!inner(name)\
             &c.name=eq.acme&order=id",
        )
        .await;
    assert_eq!(
        answer.json(),
        json!([{"id": 1, "c": {"name": "acme"}}, {"id": 2, "c": {"name": "acme"}}])
    );
}

#[tokio::test]
async fn an_ambiguous_embed_is_pgrst201_and_a_missing_one_pgrst200() {
    let rest = rest().await;
    let answer = rest.get("rest_read_orders?select=id,rest_read_clients(name)").await;
    answer.assert_error(300, "PGRST201");
    let answer = rest.get("rest_read_clients?select=id,rest_read_nothing(id)").await;
    answer.assert_error(400, "PGRST200");
}

#[tokio::test]
async fn order_puts_nulls_where_asked() {
    let rest = rest().await;
    let ids = |answer: support::rest::Answer| {
        answer
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(rest.get("rest_read_orders?select=id&order=note.desc.nullslast").await),
        vec![3, 4, 1, 2]
    );
    assert_eq!(
        ids(rest.get("rest_read_orders?select=id&order=note.asc.nullsfirst").await),
        vec![2, 1, 4, 3]
    );
    assert_eq!(
        ids(rest.get("rest_read_orders?select=id&order=client_id.desc.nullslast,id.desc").await),
        vec![3, 2, 1, 4]
    );
}

#[tokio::test]
async fn limit_and_offset_page_with_a_content_range() {
    let rest = rest().await;
    let answer = rest.get("rest_read_orders?select=id&order=id&limit=2&offset=1").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), json!([{"id": 2}, {"id": 3}]));
    assert_eq!(answer.header("content-range"), Some("1-2/*"));
}

#[tokio::test]
async fn a_range_header_with_an_exact_count_is_partial_content() {
    let rest = rest().await;
    let answer = rest
        .request(
            Method::GET,
            "rest_read_orders?select=id&order=id",
            Some(&rest.stack.service_role_key),
        )
        .header("Range-Unit", "items")
        .header("Range", "0-1")
        .header("Prefer", "count=exact")
        .send()
        .await
        .unwrap();
    let answer = support::rest::Answer::from(answer).await;
    assert_eq!(answer.status, 206);
    assert_eq!(answer.header("content-range"), Some("0-1/4"));
    assert_eq!(answer.json(), json!([{"id": 1}, {"id": 2}]));
}

#[tokio::test]
async fn a_whole_result_with_a_count_is_200_and_an_offset_past_the_end_416() {
    let rest = rest().await;
    let answer = rest
        .request(Method::GET, "rest_read_orders?select=id", Some(&rest.stack.service_role_key))
        .header("Prefer", "count=exact")
        .send()
        .await
        .unwrap();
    let answer = support::rest::Answer::from(answer).await;
    assert_eq!((answer.status, answer.header("content-range")), (200, Some("0-3/4")));
    let answer = rest
        .request(Method::GET, "rest_read_orders?offset=10", Some(&rest.stack.service_role_key))
        .header("Prefer", "count=exact")
        .send()
        .await
        .unwrap();
    support::rest::Answer::from(answer).await.assert_error(416, "PGRST103");
}

#[tokio::test]
async fn the_singular_media_type_answers_one_object_or_406() {
    let rest = rest().await;
    let singular = |path: &str| {
        rest.request(Method::GET, path, Some(&rest.stack.service_role_key))
            .header("Accept", "application/vnd.pgrst.object+json")
            .send()
    };
    let answer =
        support::rest::Answer::from(singular("rest_read_clients?id=eq.2").await.unwrap()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), json!({"id": 2, "name": "globex"}));
    assert_eq!(
        answer.header("content-type"),
        Some("application/vnd.pgrst.object+json; charset=utf-8")
    );
    let many = support::rest::Answer::from(singular("rest_read_clients").await.unwrap()).await;
    let body = many.assert_error(406, "PGRST116");
    assert_eq!(body["details"], "The result contains 3 rows");
    let none =
        support::rest::Answer::from(singular("rest_read_clients?id=eq.9").await.unwrap()).await;
    none.assert_error(406, "PGRST116");
}

#[tokio::test]
async fn csv_is_a_header_line_and_one_line_per_row() {
    let rest = rest().await;
    let answer = rest
        .request(Method::GET, "rest_read_clients?order=id", Some(&rest.stack.service_role_key))
        .header("Accept", "text/csv")
        .send()
        .await
        .unwrap();
    let answer = support::rest::Answer::from(answer).await;
    assert_eq!(answer.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(answer.text, "id,name\n1,acme\n2,globex\n3,initech");
}

#[tokio::test]
async fn head_answers_the_headers_of_get_without_a_body() {
    let rest = rest().await;
    let answer = rest
        .send(Method::HEAD, "rest_read_clients?limit=1", Some(&rest.stack.service_role_key), None)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-range"), Some("0-0/*"));
    assert_eq!(answer.text, "");
}

#[tokio::test]
async fn a_profile_names_an_exposed_schema_or_is_406() {
    let rest = rest().await;
    let with_profile = |profile: &'static str| {
        rest.request(Method::GET, "rest_read_clients?id=eq.1", Some(&rest.stack.service_role_key))
            .header("Accept-Profile", profile)
            .send()
    };
    let answer = support::rest::Answer::from(with_profile("public").await.unwrap()).await;
    assert_eq!(answer.status, 200);
    let answer = support::rest::Answer::from(with_profile("auth").await.unwrap()).await;
    answer.assert_error(406, "PGRST106");
}
