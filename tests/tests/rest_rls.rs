//! `/rest/v1` as the database's roles see it: RLS on `auth.uid()` shows each user their rows,
//! the anonymous role is refused with 401 and an authenticated one without a grant with 403,
//! and every request carries PostgREST's settings in its transaction.

mod support;

use reqwest::Method;
use serde_json::{Value, json};
use support::rest::Rest;
use tokio::sync::OnceCell;

static FIXTURE: OnceCell<()> = OnceCell::const_new();

const ALICE: &str = "0a11ce00-0000-4000-8000-000000000001";
const BOB: &str = "0b0b0000-0000-4000-8000-000000000002";
/// Writes in its own test, so that the others' row counts hold while tests run in parallel.
const CAROL: &str = "0ca70100-0000-4000-8000-000000000003";

async fn rest() -> Rest {
    let rest = Rest::new();
    FIXTURE
        .get_or_init(|| async {
            rest.fixture(
                &format!(
                    "drop table if exists rest_rls_notes, rest_rls_inbox, rest_rls_secrets cascade;
                     create table rest_rls_notes (
                       id serial primary key,
                       owner_id uuid not null default auth.uid(),
                       body text
                     );
                     create index on rest_rls_notes (owner_id);
                     alter table rest_rls_notes enable row level security;
                     create policy \"Users see their own notes\" on rest_rls_notes
                       for select to authenticated using (owner_id = (select auth.uid()));
                     create policy \"Users write their own notes\" on rest_rls_notes
                       for insert to authenticated with check (owner_id = (select auth.uid()));
                     revoke all on rest_rls_notes from anon;
                     insert into rest_rls_notes (owner_id, body) values
                       ('{ALICE}', 'alice 1'), ('{ALICE}', 'alice 2'), ('{BOB}', 'bob 1');
                     create table rest_rls_inbox (id serial primary key, body text);
                     alter table rest_rls_inbox enable row level security;
                     create policy \"Anyone may drop a message\" on rest_rls_inbox
                       for insert to anon, authenticated with check (true);
                     create table rest_rls_secrets (id int primary key);
                     revoke all on rest_rls_secrets from anon, authenticated;
                     create or replace function rest_rls_context() returns json
                       language sql stable as $$
                         select json_build_object(
                           'role', current_user,
                           'uid', auth.uid(),
                           'claims_role', auth.role(),
                           'method', current_setting('request.method', true),
                           'path', current_setting('request.path', true),
                           'header', current_setting('request.headers', true)::json->>'x-probe',
                           'timeout', current_setting('statement_timeout'),
                           'jit', current_setting('jit'),
                           'read_only', current_setting('transaction_read_only'))
                       $$;"
                ),
                &["rest_rls_notes", "rest_rls_inbox", "rest_rls_secrets", "rpc/rest_rls_context"],
            )
            .await;
        })
        .await;
    rest
}

fn bodies(value: Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|r| r["body"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn each_user_sees_only_their_own_rows() {
    let rest = rest().await;
    let alice = rest.user_token(ALICE);
    let bob = rest.user_token(BOB);
    let answer = rest.send(Method::GET, "rest_rls_notes?order=id", Some(&alice), None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(bodies(answer.json()), vec!["alice 1", "alice 2"]);
    let answer = rest.send(Method::GET, "rest_rls_notes?order=id", Some(&bob), None).await;
    assert_eq!(bodies(answer.json()), vec!["bob 1"]);
    let all = rest.get("rest_rls_notes").await;
    let all = all.json();
    let others = all.as_array().unwrap().iter().filter(|r| r["owner_id"] != CAROL).count();
    assert_eq!(others, 3, "the service role bypasses RLS");
}

#[tokio::test]
async fn a_user_inserts_only_as_themselves() {
    let rest = rest().await;
    let carol = rest.user_token(CAROL);
    let answer = rest
        .request(Method::POST, "rest_rls_notes", Some(&carol))
        .header("Prefer", "return=representation")
        .json(&json!({"body": "carol 1"}))
        .send()
        .await
        .unwrap();
    let answer = support::rest::Answer::from(answer).await;
    assert_eq!(answer.status, 201, "{}", answer.text);
    assert_eq!(answer.json()[0]["owner_id"], CAROL);
    let forged = json!({"body": "as alice", "owner_id": ALICE});
    let answer = rest.send(Method::POST, "rest_rls_notes", Some(&carol), Some(forged)).await;
    let body = answer.assert_error(403, "42501");
    assert!(body["message"].as_str().unwrap().contains("row-level security"));
}

#[tokio::test]
async fn the_anonymous_role_without_a_grant_is_401() {
    let rest = rest().await;
    let answer = rest.send(Method::GET, "rest_rls_notes", None, None).await;
    answer.assert_error(401, "42501");
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn an_authenticated_role_without_a_grant_is_403() {
    let rest = rest().await;
    let alice = rest.user_token(ALICE);
    let answer = rest.send(Method::GET, "rest_rls_secrets", Some(&alice), None).await;
    let body = answer.assert_error(403, "42501");
    assert_eq!(body["message"], "permission denied for table rest_rls_secrets");
}

#[tokio::test]
async fn the_transaction_carries_role_claims_request_and_role_settings() {
    let rest = rest().await;
    let alice = rest.user_token(ALICE);
    let answer = rest
        .request(Method::GET, "rpc/rest_rls_context", Some(&alice))
        .header("X-Probe", "hello")
        .send()
        .await
        .unwrap();
    let answer = support::rest::Answer::from(answer).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!({
            "role": "authenticated",
            "uid": ALICE,
            "claims_role": "authenticated",
            "method": "GET",
            "path": "/rpc/rest_rls_context",
            "header": "hello",
            "timeout": "8s",
            "jit": "off",
            "read_only": "on"
        })
    );
    let anon = rest.send(Method::GET, "rpc/rest_rls_context", None, None).await.json();
    assert_eq!(
        (anon["role"].clone(), anon["timeout"].clone(), anon["jit"].clone()),
        (json!("anon"), json!("3s"), json!("off"))
    );
    assert_eq!(anon["uid"], Value::Null);
    let post = rest.send(Method::POST, "rpc/rest_rls_context", Some(&alice), Some(json!({}))).await;
    assert_eq!(post.json()["read_only"], "on", "a stable function runs read-only even on POST");
}

#[tokio::test]
async fn the_apikey_header_alone_is_the_token() {
    let rest = rest().await;
    let alice = rest.user_token(ALICE);
    let answer = rest.http.get(rest.url("rest_rls_notes")).header("apikey", alice).send().await;
    let answer = support::rest::Answer::from(answer.unwrap()).await;
    assert_eq!(answer.status, 200);
    assert_eq!(bodies(answer.json()).len(), 2);
}

#[tokio::test]
async fn an_insert_only_policy_allows_return_minimal_but_not_representation() {
    let rest = rest().await;
    let message = json!({"body": "hello"});
    let answer = rest.send(Method::POST, "rest_rls_inbox", None, Some(message.clone())).await;
    assert_eq!((answer.status, answer.text.as_str()), (201, ""));
    let answer = rest
        .request(Method::POST, "rest_rls_inbox", None)
        .header("Prefer", "return=representation")
        .json(&message)
        .send()
        .await
        .unwrap();
    support::rest::Answer::from(answer).await.assert_error(401, "42501");
    let seen = rest.send(Method::GET, "rest_rls_inbox", None, None).await;
    assert_eq!((seen.status, seen.json()), (200, json!([])), "no select policy: no rows");
}
