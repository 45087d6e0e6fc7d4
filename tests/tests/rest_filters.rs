//! `/rest/v1` horizontal filters: every operator, `not.`, `and`/`or` trees, quantifiers and JSON
//! paths; values are bound, never spliced into SQL.

mod support;

use support::rest::Rest;
use tokio::sync::OnceCell;

static FIXTURE: OnceCell<()> = OnceCell::const_new();

async fn rest() -> Rest {
    let rest = Rest::new();
    FIXTURE
        .get_or_init(|| async {
            rest.fixture(
                "drop table if exists rest_filters_people cascade;
                 create table rest_filters_people (
                   id int primary key,
                   name text,
                   age int,
                   active boolean,
                   tags text[],
                   bio text,
                   meta jsonb,
                   doc tsvector generated always as (to_tsvector('simple', coalesce(bio, ''))) stored
                 );
                 insert into rest_filters_people values
                   (1, 'Alice', 30, true, '{a,b}', 'loves cats and dogs', '{\"city\": \"Oslo\"}'),
                   (2, 'bob', 25, false, '{b}', 'a quiet cat person', '{\"city\": \"Rome\"}'),
                   (3, 'Carol', null, null, '{}', null, null),
                   (4, 'dave, jr', 40, true, '{c}', 'dogs only', '{\"city\": \"Oslo\"}');",
                &["rest_filters_people"],
            )
            .await;
        })
        .await;
    rest
}

/// The ids a filter query answers, in id order.
async fn ids(rest: &Rest, filters: &str) -> Vec<i64> {
    let answer = rest.get(&format!("rest_filters_people?select=id&order=id&{filters}")).await;
    assert_eq!(answer.status, 200, "{filters}: {}", answer.text);
    answer.json().as_array().unwrap().iter().map(|r| r["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn comparison_operators() {
    let rest = rest().await;
    assert_eq!(ids(&rest, "age=eq.30").await, vec![1]);
    assert_eq!(ids(&rest, "age=neq.30").await, vec![2, 4]);
    assert_eq!(ids(&rest, "age=gt.25").await, vec![1, 4]);
    assert_eq!(ids(&rest, "age=gte.25").await, vec![1, 2, 4]);
    assert_eq!(ids(&rest, "age=lt.30").await, vec![2]);
    assert_eq!(ids(&rest, "age=lte.30").await, vec![1, 2]);
    assert_eq!(ids(&rest, "age=gt.20&age=lt.35").await, vec![1, 2]);
}

#[tokio::test]
async fn pattern_operators_take_stars_as_wildcards() {
    let rest = rest().await;
    assert_eq!(ids(&rest, "name=like.*o*").await, vec![2, 3]);
    assert_eq!(ids(&rest, "name=ilike.a*").await, vec![1]);
    assert_eq!(ids(&rest, "name=match.^[A-Z]").await, vec![1, 3]);
    assert_eq!(ids(&rest, "name=imatch.^b").await, vec![2]);
    assert_eq!(ids(&rest, "name=like(any).{A*,b*}").await, vec![1, 2]);
}

#[tokio::test]
async fn in_takes_a_list_with_quoted_commas() {
    let rest = rest().await;
    assert_eq!(ids(&rest, "id=in.(1,3)").await, vec![1, 3]);
    assert_eq!(ids(&rest, "name=in.(\"dave, jr\",bob)").await, vec![2, 4]);
    assert_eq!(ids(&rest, "id=in.()").await, Vec::<i64>::new());
    assert_eq!(ids(&rest, "id=not.in.(1,3)").await, vec![2, 4]);
}

#[tokio::test]
async fn is_matches_null_true_and_false() {
    let rest = rest().await;
    assert_eq!(ids(&rest, "age=is.null").await, vec![3]);
    assert_eq!(ids(&rest, "age=not.is.null").await, vec![1, 2, 4]);
    assert_eq!(ids(&rest, "active=is.true").await, vec![1, 4]);
    assert_eq!(ids(&rest, "active=is.false").await, vec![2]);
    assert_eq!(ids(&rest, "active=isdistinct.true").await, vec![2, 3]);
}

#[tokio::test]
async fn or_and_and_trees_nest_and_negate() {
    let rest = rest().await;
    assert_eq!(ids(&rest, "or=(age.lt.26,age.is.null)").await, vec![2, 3]);
    assert_eq!(ids(&rest, "or=(id.eq.1,and(age.gt.30,active.is.true))").await, vec![1, 4]);
    assert_eq!(ids(&rest, "not.or=(id.eq.1,id.eq.2)").await, vec![3, 4]);
    assert_eq!(ids(&rest, "and=(active.is.true,age.not.eq.30)").await, vec![4]);
    assert_eq!(ids(&rest, "or=(name.eq.\"dave, jr\",id.in.(1,2))").await, vec![1, 2, 4]);
}

#[tokio::test]
async fn array_and_full_text_operators() {
    let rest = rest().await;
    assert_eq!(ids(&rest, "tags=cs.{b}").await, vec![1, 2]);
    assert_eq!(ids(&rest, "tags=cd.{a,b}").await, vec![1, 2, 3]);
    assert_eq!(ids(&rest, "tags=ov.{a,c}").await, vec![1, 4]);
    assert_eq!(ids(&rest, "doc=fts(simple).cat").await, vec![2]);
    assert_eq!(ids(&rest, "doc=fts(simple).cats").await, vec![1]);
    assert_eq!(ids(&rest, "doc=plfts(simple).dogs only").await, vec![4]);
    assert_eq!(ids(&rest, "doc=phfts(simple).quiet cat").await, vec![2]);
    assert_eq!(ids(&rest, "doc=wfts(simple).dogs -only").await, vec![1]);
    assert_eq!(ids(&rest, "doc=not.fts(simple).dogs").await, vec![2, 3]);
}

#[tokio::test]
async fn json_paths_filter_as_text() {
    let rest = rest().await;
    assert_eq!(ids(&rest, "meta->>city=eq.Oslo").await, vec![1, 4]);
}

#[tokio::test]
async fn a_value_that_looks_like_sql_is_only_a_value() {
    let rest = rest().await;
    assert_eq!(
        ids(&rest, "name=eq.x');drop table rest_filters_people;--").await,
        Vec::<i64>::new()
    );
    assert_eq!(ids(&rest, "name=in.(\"a\\\"),(b\")").await, Vec::<i64>::new());
    assert_eq!(ids(&rest, "id=gt.0").await, vec![1, 2, 3, 4], "the table is still there");
}
