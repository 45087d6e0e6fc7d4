//! `/rest/v1` writes: POST (single, bulk, `columns=`), upserts with `on_conflict`, PATCH and DELETE
//! with filters, and the `Prefer: return=…` answers with their statuses and headers.

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
                "drop table if exists rest_write_items, rest_write_kinds, rest_write_touches cascade;
                 create table rest_write_touches (at timestamptz not null default now());
                 create table rest_write_kinds (code text primary key);
                 insert into rest_write_kinds values ('tool'), ('toy');
                 create table rest_write_items (
                   id serial primary key,
                   sku text unique,
                   name text not null,
                   kind text references rest_write_kinds (code),
                   qty int not null default 1
                 );",
                &["rest_write_items", "rest_write_kinds"],
            )
            .await;
        })
        .await;
    rest
}

async fn write(
    rest: &Rest,
    method: Method,
    path: &str,
    prefer: &str,
    body: Option<Value>,
) -> Answer {
    let mut request = rest.request(method, path, Some(&rest.stack.service_role_key));
    if !prefer.is_empty() {
        request = request.header("Prefer", prefer);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    Answer::from(request.send().await.unwrap()).await
}

#[tokio::test]
async fn post_with_return_minimal_is_201_without_a_body() {
    let rest = rest().await;
    let answer =
        write(&rest, Method::POST, "rest_write_items", "", Some(json!({"sku": "m1", "name": "a"})))
            .await;
    assert_eq!((answer.status, answer.text.as_str()), (201, ""));
    let stored = rest.get("rest_write_items?sku=eq.m1&select=name,qty").await;
    assert_eq!(stored.json(), json!([{"name": "a", "qty": 1}]), "defaults fill missing columns");
}

#[tokio::test]
async fn post_with_return_representation_answers_the_rows_with_select() {
    let rest = rest().await;
    let answer = write(
        &rest,
        Method::POST,
        "rest_write_items?select=sku,name,kind",
        "return=representation",
        Some(json!([
            {"sku": "r1", "name": "hammer", "kind": "tool"},
            {"sku": "r2", "name": "ball", "kind": "toy"}
        ])),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!([
            {"sku": "r1", "name": "hammer", "kind": "tool"},
            {"sku": "r2", "name": "ball", "kind": "toy"}
        ])
    );
    assert_eq!(answer.header("preference-applied"), Some("return=representation"));
}

#[tokio::test]
async fn post_with_headers_only_answers_the_location_of_the_row() {
    let rest = rest().await;
    let answer = write(
        &rest,
        Method::POST,
        "rest_write_kinds",
        "return=headers-only",
        Some(json!({"code": "a b"})),
    )
    .await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.header("location"), Some("/rest_write_kinds?code=eq.a+b"));
    assert_eq!(answer.text, "");
}

#[tokio::test]
async fn the_columns_parameter_picks_the_columns_to_insert() {
    let rest = rest().await;
    let answer = write(
        &rest,
        Method::POST,
        "rest_write_items?columns=sku,name&select=sku,name,qty",
        "return=representation",
        Some(json!([{"sku": "c1", "name": "x", "qty": 50}, {"sku": "c2", "name": "y"}])),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!([{"sku": "c1", "name": "x", "qty": 1}, {"sku": "c2", "name": "y", "qty": 1}])
    );
}

#[tokio::test]
async fn upserts_merge_or_ignore_duplicates_on_the_conflict_columns() {
    let rest = rest().await;
    let row = |qty: i64| Some(json!({"sku": "u1", "name": "upserted", "qty": qty}));
    let first = write(&rest, Method::POST, "rest_write_items?on_conflict=sku", "", row(1)).await;
    assert_eq!(first.status, 201);
    let merged = write(
        &rest,
        Method::POST,
        "rest_write_items?on_conflict=sku&select=sku,qty",
        "resolution=merge-duplicates,return=representation",
        row(7),
    )
    .await;
    assert_eq!(merged.status, 201, "{}", merged.text);
    assert_eq!(merged.json(), json!([{"sku": "u1", "qty": 7}]));
    let ignored = write(
        &rest,
        Method::POST,
        "rest_write_items?on_conflict=sku&select=sku,qty",
        "resolution=ignore-duplicates,return=representation",
        row(9),
    )
    .await;
    assert_eq!((ignored.status, ignored.json()), (201, json!([])));
    let stored = rest.get("rest_write_items?sku=eq.u1&select=qty").await;
    assert_eq!(stored.json(), json!([{"qty": 7}]));
}

#[tokio::test]
async fn patch_updates_the_filtered_rows() {
    let rest = rest().await;
    let rows = json!([{"sku": "p1", "name": "one"}, {"sku": "p2", "name": "two"}]);
    write(&rest, Method::POST, "rest_write_items", "", Some(rows)).await;
    let answer = write(
        &rest,
        Method::PATCH,
        "rest_write_items?sku=eq.p1&select=sku,name",
        "return=representation",
        Some(json!({"name": "uno"})),
    )
    .await;
    assert_eq!((answer.status, answer.json()), (200, json!([{"sku": "p1", "name": "uno"}])));
    let minimal =
        write(&rest, Method::PATCH, "rest_write_items?sku=eq.p2", "", Some(json!({"qty": 3})))
            .await;
    assert_eq!((minimal.status, minimal.text.as_str()), (204, ""));
    let stored = rest.get("rest_write_items?sku=in.(p1,p2)&select=name,qty&order=sku").await;
    assert_eq!(stored.json(), json!([{"name": "uno", "qty": 1}, {"name": "two", "qty": 3}]));
}

#[tokio::test]
async fn delete_removes_the_filtered_rows() {
    let rest = rest().await;
    let rows = json!([{"sku": "d1", "name": "x"}, {"sku": "d2", "name": "y"}]);
    write(&rest, Method::POST, "rest_write_items", "", Some(rows)).await;
    let answer = write(
        &rest,
        Method::DELETE,
        "rest_write_items?sku=eq.d1&select=sku",
        "return=representation",
        None,
    )
    .await;
    assert_eq!((answer.status, answer.json()), (200, json!([{"sku": "d1"}])));
    let answer = write(&rest, Method::DELETE, "rest_write_items?sku=eq.d2", "", None).await;
    assert_eq!(answer.status, 204);
    let left = rest.get("rest_write_items?sku=in.(d1,d2)").await;
    assert_eq!(left.json(), json!([]));
}

#[tokio::test]
async fn a_singular_write_of_many_rows_is_406_and_rolled_back() {
    let rest = rest().await;
    let rows = json!([{"sku": "s1", "name": "s"}, {"sku": "s2", "name": "s"}]);
    write(&rest, Method::POST, "rest_write_items", "", Some(rows)).await;
    let answer = rest
        .request(Method::DELETE, "rest_write_items?name=eq.s", Some(&rest.stack.service_role_key))
        .header("Accept", "application/vnd.pgrst.object+json")
        .header("Prefer", "return=representation")
        .send()
        .await
        .unwrap();
    Answer::from(answer).await.assert_error(406, "PGRST116");
    let kept = rest.get("rest_write_items?name=eq.s").await;
    assert_eq!(kept.json().as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn constraint_violations_are_409_or_400() {
    let rest = rest().await;
    let row = json!({"sku": "v1", "name": "v"});
    write(&rest, Method::POST, "rest_write_items", "", Some(row.clone())).await;
    write(&rest, Method::POST, "rest_write_items", "", Some(row)).await.assert_error(409, "23505");
    let bad_kind = json!({"sku": "v2", "name": "v", "kind": "nope"});
    write(&rest, Method::POST, "rest_write_items", "", Some(bad_kind))
        .await
        .assert_error(409, "23503");
    let no_name = json!({"sku": "v3"});
    write(&rest, Method::POST, "rest_write_items", "", Some(no_name))
        .await
        .assert_error(400, "23502");
}

#[tokio::test]
async fn bulk_objects_must_share_their_keys() {
    let rest = rest().await;
    let rows = json!([{"sku": "k1", "name": "a"}, {"sku": "k2"}]);
    let answer = write(&rest, Method::POST, "rest_write_items", "", Some(rows)).await;
    let body = answer.assert_error(400, "PGRST102");
    assert_eq!(body["message"], "All object keys must match");
}

#[tokio::test]
async fn a_write_in_a_get_is_refused_by_the_read_only_transaction() {
    let rest = rest().await;
    rest.fixture(
        "create or replace function rest_write_touch() returns int language sql volatile as
           $$ insert into rest_write_touches default values returning 1 $$;",
        &["rpc/rest_write_touch"],
    )
    .await;
    let answer = rest.get("rpc/rest_write_touch").await;
    answer.assert_error(405, "25006");
    let posted = write(&rest, Method::POST, "rpc/rest_write_touch", "", Some(json!({}))).await;
    assert_eq!((posted.status, posted.text.as_str()), (200, "1"));
}
