//! `admin-flags` over HTTP through the local stack: a platform admin sets and removes flags at
//! every scope with their own token, each change audited once with them as actor; an enterprise
//! admin of another organization, a rep and impersonation tokens are refused and change nothing.

mod support;

use serde_json::{Value, json};
use support::world::{World, owner};
use uuid::Uuid;

/// The feature this file owns at global scope: no other test reads or sets it.
const GLOBAL: &str = "org_dashboard";

/// Audit rows about flags naming `target` (a feature key, or `key:id`) so far, oldest first.
async fn audit_rows(world: &World, target: &str) -> Vec<Value> {
    owner(&world.stack)
        .await
        .query(
            "select jsonb_build_object('action', action, 'scope', scope, 'actor', actor_id,
                                       'impersonator', impersonator_id,
                                       'before', before -> 'value', 'after', after -> 'value')
               from public.audit_log where target_type = 'feature_flag' and target_id = $1
              order by id",
            &[&target],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

fn put(key: &str, scope: &str, target: Option<Uuid>, value: Value) -> Option<Value> {
    Some(json!({"key": key, "scope": scope, "target_id": target, "value": value}))
}

async fn flag_of(world: &World, user: Uuid, feature: &str) -> Value {
    world.call(user, "GET", "flags", None).await.ok(200)["flags"][feature].clone()
}

#[tokio::test]
async fn a_platform_admin_sets_and_removes_flags_at_every_scope_audited_once_each() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let org_target = format!("voice_ai:{}", world.org);
    let user_target = format!("what_if:{}", world.rep);

    let set = world
        .call(admin, "PUT", "admin-flags", put("voice_ai", "org", Some(world.org), json!(true)))
        .await
        .ok(200);
    assert_eq!(set["flag"]["value"], json!(true), "{set}");
    assert_eq!(flag_of(&world, world.manager, "voice_ai").await, json!(true));
    let set = world
        .call(admin, "PUT", "admin-flags", put("what_if", "user", Some(world.rep), json!(false)))
        .await
        .ok(200);
    assert_eq!(set["flag"]["user_id"], json!(world.rep), "{set}");
    assert_eq!(flag_of(&world, world.rep, "what_if").await, json!(false));
    assert_eq!(flag_of(&world, world.manager, "what_if").await, json!(true));

    let removed = world
        .call(admin, "PUT", "admin-flags", put("what_if", "user", Some(world.rep), Value::Null))
        .await
        .ok(200);
    assert_eq!(removed["removed"]["value"], json!(false), "{removed}");
    assert_eq!(flag_of(&world, world.rep, "what_if").await, json!(true));

    assert_eq!(
        audit_rows(&world, &org_target).await,
        [json!({"action": "flag.set", "scope": "org", "actor": admin, "impersonator": null,
                "before": null, "after": true})]
    );
    assert_eq!(
        audit_rows(&world, &user_target).await,
        [
            json!({"action": "flag.set", "scope": "user", "actor": admin, "impersonator": null,
                "before": null, "after": false}),
            json!({"action": "flag.unset", "scope": "user", "actor": admin, "impersonator": null,
                "before": false, "after": null})
        ]
    );

    // Global: set for everyone, then removed again so that other tests see the plan decide.
    let before = audit_rows(&world, GLOBAL).await.len();
    world
        .call(admin, "PUT", "admin-flags", put(GLOBAL, "global", None, json!(false)))
        .await
        .ok(200);
    assert_eq!(flag_of(&world, world.rep, GLOBAL).await, json!(false));
    world.call(admin, "PUT", "admin-flags", put(GLOBAL, "global", None, Value::Null)).await.ok(200);
    assert_eq!(
        flag_of(&world, world.rep, GLOBAL).await,
        json!(true),
        "the Team plan decides again"
    );
    assert_eq!(audit_rows(&world, GLOBAL).await.len(), before + 2);
}

#[tokio::test]
async fn others_and_impersonation_tokens_are_refused_and_change_nothing() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let foreign_admin = world.member(world.other_org().await, "enterprise_admin").await;
    let change = put("voice_ai", "org", Some(world.org), json!(true));
    let tokens = [
        ("an enterprise admin of another org", world.token(foreign_admin)),
        ("a rep", world.token(world.rep)),
        ("a rep's manager", world.token(world.manager)),
        (
            "the admin impersonated",
            world.token_with(admin, json!({"impersonator": admin, "read_only": true})),
        ),
        (
            "a rep impersonated by the admin",
            world.token_with(world.rep, json!({"impersonator": admin, "read_only": true})),
        ),
    ];
    for (who, token) in tokens {
        let answer = world.call_with_token(&token, "PUT", "admin-flags", change.clone()).await;
        assert_eq!(
            (answer.status, answer.body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{who}: {}",
            answer.body
        );
    }
    assert_eq!(flag_of(&world, world.rep, "voice_ai").await, json!(false));
    assert!(audit_rows(&world, &format!("voice_ai:{}", world.org)).await.is_empty());
}

#[tokio::test]
async fn bad_changes_are_json_4xx_naming_the_field() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    let call = |body: Option<Value>| world.call(admin, "PUT", "admin-flags", body);
    call(put("voice_ai", "org", None, json!(true))).await.names("target_id");
    call(put("voice_ai", "global", Some(world.org), json!(true))).await.names("target_id");
    call(put("voice_ai", "team", Some(world.org), json!(true))).await.names("scope");
    call(Some(json!({"key": "voice_ai", "scope": "global"}))).await.names("body");
    call(put("free_money", "global", None, json!(true))).await.error(422, "rejected");
    call(put("voice_ai", "user", Some(Uuid::new_v4()), json!(true))).await.error(409, "conflict");
    world.call(admin, "DELETE", "admin-flags", None).await.error(405, "method_not_allowed");
    world
        .call_with_token("", "PUT", "admin-flags", put("voice_ai", "global", None, json!(true)))
        .await
        .error(401, "missing_token");
}

#[tokio::test]
async fn a_platform_admin_lists_the_flags_set_by_scope_and_target_and_nobody_else_does() {
    let world = World::new().await;
    let admin = world.platform_admin().await;
    for (key, scope, target) in [
        ("voice_ai", "org", world.org),
        ("what_if", "user", world.rep),
        ("voice_ai", "user", world.rep),
    ] {
        world
            .call(admin, "PUT", "admin-flags", put(key, scope, Some(target), json!(true)))
            .await
            .ok(200);
    }
    let world = &world;
    let get = |query: String| async move {
        world.call(admin, "GET", &format!("admin-flags?{query}"), None).await.ok(200)
    };
    let keys = |page: &Value| -> Vec<(String, String)> {
        page["flags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (f["key"].as_str().unwrap().to_owned(), f["scope"].as_str().unwrap().to_owned())
            })
            .collect()
    };
    let of_rep = get(format!("user_id={}", world.rep)).await;
    assert_eq!(
        keys(&of_rep),
        [("voice_ai".into(), "user".into()), ("what_if".into(), "user".into())]
    );
    assert_eq!(of_rep["total"], 2);
    let of_org = get(format!("org_id={}&scope=org", world.org)).await;
    assert_eq!(keys(&of_org), [("voice_ai".into(), "org".into())]);
    let first = get(format!("user_id={}&limit=1", world.rep)).await;
    let second = get(format!("user_id={}&limit=1&offset=1", world.rep)).await;
    assert_eq!((keys(&first).len(), keys(&second).len(), first["total"].clone()), (1, 1, json!(2)));
    assert_ne!(keys(&first), keys(&second));
    let voice = get(format!("key=voice_ai&user_id={}", world.rep)).await;
    assert_eq!(voice["total"], 1);

    let foreign_admin = world.member(world.other_org().await, "enterprise_admin").await;
    for (who, token) in [
        ("an enterprise admin of another org", world.token(foreign_admin)),
        ("a rep", world.token(world.rep)),
        (
            "a rep impersonated",
            world.token_with(world.rep, json!({"impersonator": admin, "read_only": true})),
        ),
    ] {
        let answer = world.call_with_token(&token, "GET", "admin-flags", None).await;
        assert_eq!(
            (answer.status, answer.body["error"]["code"].as_str()),
            (403, Some("forbidden")),
            "{who}"
        );
    }
    world.call(admin, "GET", "admin-flags?scope=team", None).await.names("scope");
}
