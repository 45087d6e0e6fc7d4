//! The messaging functions over HTTP against the local stack: `messages`, `message-thread`,
//! `messages-unread` and `notifications`, as a rep, their team manager, an unmanaged rep of the
//! same organization, an enterprise admin, a rep of another organization and a read-only
//! (impersonation) session. Every call reaches PostgREST with the caller's JWT: what is allowed
//! here is what RLS allows.

mod support;

use serde_json::{Value, json};
use support::world::{Answer, World, owner};
use uuid::Uuid;

/// `POST messages` as `user` with an `Idempotency-Key`.
async fn send_with_key(world: &World, user: Uuid, body: &Value, key: &str) -> Answer {
    let response = world
        .http
        .post(format!("{}/functions/v1/messages", world.stack.api_url))
        .bearer_auth(world.token(user))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    Answer { status, body: response.json().await.unwrap() }
}

/// Starts a thread from `from` to `to`; answers the thread id and the first message's id.
async fn start(world: &World, from: Uuid, to: Uuid, body: &str) -> (String, String) {
    let sent = world
        .call(from, "POST", "messages", Some(json!({"participant_id": to, "body": body})))
        .await
        .ok(201);
    assert_eq!(sent["new_thread"], true, "{sent}");
    let id = |field: &str| sent["message"][field].as_str().unwrap().to_owned();
    (id("thread_id"), id("id"))
}

async fn reply(world: &World, from: Uuid, thread: &str, body: &str) -> Answer {
    world.call(from, "POST", "messages", Some(json!({"thread_id": thread, "body": body}))).await
}

async fn unread(world: &World, user: Uuid) -> u64 {
    let answer = world.call(user, "GET", "messages-unread", None).await.ok(200);
    answer["unread"].as_u64().unwrap()
}

fn bodies(page: &Value) -> Vec<&str> {
    page["messages"].as_array().unwrap().iter().map(|m| m["body"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_manager_starts_a_thread_the_rep_replies_reads_and_deletes_only_their_copy() {
    let world = World::new().await;
    let (thread, first) = start(&world, world.manager, world.rep, "How is it going?").await;
    assert_eq!(unread(&world, world.rep).await, 1);
    assert_eq!(unread(&world, world.manager).await, 0);

    let list = world.call(world.rep, "GET", "messages", None).await.ok(200);
    let listed = &list["threads"][0];
    assert_eq!(list["threads"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(listed["id"], json!(thread));
    assert_eq!(listed["other"]["id"], json!(world.manager));
    assert_eq!(listed["unread"], 1);
    assert_eq!(listed["last_message"]["preview"], "How is it going?");
    assert_eq!(list["next_cursor"], Value::Null);

    reply(&world, world.rep, &thread, "Fine, 20 calls today").await.ok(201);
    assert_eq!(unread(&world, world.manager).await, 1);
    let path = format!("message-thread?id={thread}");
    let page = world.call(world.rep, "GET", &path, None).await.ok(200);
    assert_eq!(bodies(&page), ["Fine, 20 calls today", "How is it going?"]);
    assert_eq!(page["thread"]["other"]["id"], json!(world.manager));

    // Marking read touches only what the caller received.
    let marked = world.call(world.rep, "POST", &path, None).await.ok(200);
    assert_eq!(marked, json!({"marked_read": 1}));
    assert_eq!(world.call(world.rep, "POST", &path, None).await.ok(200)["marked_read"], 0);
    assert_eq!(unread(&world, world.rep).await, 0);
    assert_eq!(unread(&world, world.manager).await, 1, "the rep's reply is still unread");

    // Deleting removes the rep's copy; the manager keeps theirs.
    let delete = format!("messages?id={first}");
    world.call(world.rep, "DELETE", &delete, None).await.ok(200);
    let page = world.call(world.rep, "GET", &path, None).await.ok(200);
    assert_eq!(bodies(&page), ["Fine, 20 calls today"]);
    let page = world.call(world.manager, "GET", &path, None).await.ok(200);
    assert_eq!(bodies(&page), ["Fine, 20 calls today", "How is it going?"]);
    // A retried delete finds the copy already gone and answers the same.
    world.call(world.rep, "DELETE", &delete, None).await.ok(200);
}

#[tokio::test]
async fn only_managers_start_threads_and_only_participants_read_and_write_them() {
    let world = World::new().await;
    let unmanaged = world.member(world.org, "rep").await;
    let admin = world.member(world.org, "enterprise_admin").await;
    let start_with = |to: Uuid| json!({"participant_id": to, "body": "Hello"});

    for (from, to) in [
        (world.rep, world.manager),
        (world.rep, unmanaged),
        (world.manager, unmanaged),
        (world.manager, world.outsider),
        (admin, world.outsider),
        (world.outsider, world.rep),
        (world.manager, world.manager),
    ] {
        world.call(from, "POST", "messages", Some(start_with(to))).await.error(403, "not_managed");
    }
    let platform_admin = world.platform_admin().await;
    // No organization, so no plan: messaging is off before anything is written.
    world
        .call(platform_admin, "POST", "messages", Some(start_with(world.rep)))
        .await
        .error(403, "feature_disabled");
    start(&world, admin, unmanaged, "Welcome").await;

    let (thread, first) = start(&world, world.manager, world.rep, "How is it going?").await;
    let path = format!("message-thread?id={thread}");
    for stranger in [unmanaged, admin, world.outsider] {
        world.call(stranger, "GET", &path, None).await.error(404, "not_found");
        world.call(stranger, "POST", &path, None).await.error(404, "not_found");
        reply(&world, stranger, &thread, "Me too").await.error(404, "not_found");
        let delete = format!("messages?id={first}");
        world.call(stranger, "DELETE", &delete, None).await.error(404, "not_found");
        let list = world.call(stranger, "GET", "messages", None).await.ok(200);
        assert!(list["threads"].as_array().unwrap().iter().all(|t| t["id"] != json!(thread)));
    }
    assert_eq!(unread(&world, world.rep).await, 1, "nobody else marked it read");

    // A read-only (impersonation) session reads but writes nothing.
    let read_only = world.token_with(world.rep, json!({"impersonator": admin, "read_only": true}));
    world.call_with_token(&read_only, "GET", &path, None).await.ok(200);
    let body = Some(json!({"thread_id": thread, "body": "Hi"}));
    world.call_with_token(&read_only, "POST", "messages", body).await.error(403, "forbidden");
    world.call_with_token(&read_only, "POST", &path, None).await.error(403, "forbidden");

    let anonymous = world.http.get(format!("{}/functions/v1/messages", world.stack.api_url));
    assert_eq!(anonymous.send().await.unwrap().status().as_u16(), 401);
}

#[tokio::test]
async fn unread_counts_stay_right_after_deletes() {
    let world = World::new().await;
    let (thread, first) = start(&world, world.manager, world.rep, "One").await;
    let second = reply(&world, world.manager, &thread, "Two").await.ok(201);
    reply(&world, world.manager, &thread, "Three").await.ok(201);
    assert_eq!(unread(&world, world.rep).await, 3);

    world.call(world.rep, "DELETE", &format!("messages?id={first}"), None).await.ok(200);
    assert_eq!(unread(&world, world.rep).await, 2, "a deleted copy no longer counts");
    let second = second["message"]["id"].as_str().unwrap();
    world.call(world.manager, "DELETE", &format!("messages?id={second}"), None).await.ok(200);
    assert_eq!(unread(&world, world.rep).await, 2, "the sender's delete leaves the rep's copy");
    let list = world.call(world.rep, "GET", "messages", None).await.ok(200);
    assert_eq!(list["threads"][0]["unread"], 2);
    assert_eq!(list["threads"][0]["last_message"]["preview"], "Three");
}

#[tokio::test]
async fn a_retried_send_writes_one_message_and_a_reused_key_is_refused() {
    let world = World::new().await;
    let first = json!({"participant_id": world.rep, "subject": "Retry", "body": "Once only"});
    let key = format!("send-{}", Uuid::new_v4());
    let sent = send_with_key(&world, world.manager, &first, &key).await.ok(201);
    let again = send_with_key(&world, world.manager, &first, &key).await.ok(200);
    assert_eq!(again["replayed"], true);
    assert_eq!(again["message"], sent["message"]);
    let other = json!({"participant_id": world.rep, "body": "Something else"});
    send_with_key(&world, world.manager, &other, &key).await.error(409, "idempotency_key_reused");

    // Concurrent retries of a new thread: one thread, one message.
    let key = format!("send-{}", Uuid::new_v4());
    let burst = json!({"participant_id": world.rep, "body": "Burst"});
    let url = format!("{}/functions/v1/messages", world.stack.api_url);
    let token = world.token(world.manager);
    let sends: Vec<_> = (0..6)
        .map(|_| {
            let send = world.http.post(&url).bearer_auth(&token).header("idempotency-key", &key);
            let send = send.json(&burst);
            tokio::spawn(async move { send.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut statuses = Vec::new();
    for send in sends {
        statuses.push(send.await.unwrap());
    }
    statuses.sort();
    assert_eq!(statuses, [200, 200, 200, 200, 200, 201]);
    let threads: i64 = owner(&world.stack)
        .await
        .query_one(
            "select count(*) from public.message_threads where started_by = $1 and participant_id = $2",
            &[&world.manager, &world.rep],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(threads, 2, "the retried thread and the burst's one");
    let bad = send_with_key(&world, world.manager, &burst, "two words").await;
    bad.error(400, "invalid_idempotency_key");
}

#[tokio::test]
async fn bodies_are_plain_text_of_at_most_4000_characters() {
    let world = World::new().await;
    let (thread, _) = start(&world, world.manager, world.rep, "Hi").await;
    let longest = "é".repeat(4000);
    reply(&world, world.rep, &thread, &longest).await.ok(201);
    reply(&world, world.rep, &thread, &"é".repeat(4001)).await.names("body");
    reply(&world, world.rep, &thread, "  \n ").await.names("body");
    reply(&world, world.rep, &thread, "nul \u{0} byte").await.names("body");
    let html = json!({"thread_id": thread, "body": "<b>hi</b>", "format": "html"});
    world.call(world.rep, "POST", "messages", Some(html)).await.names("format");
    // Markup is kept as the text it is: the client shows it, never renders it.
    let markup = reply(&world, world.rep, &thread, "<b>hi</b>").await.ok(201);
    assert_eq!(markup["message"]["body"], "<b>hi</b>");
    // The database's own check answers a 4xx too when a body slips past the function.
    let direct = world
        .http
        .post(format!("{}/rest/v1/rpc/send_message", world.stack.api_url))
        .header("apikey", &world.stack.anon_key)
        .bearer_auth(world.token(world.rep))
        .json(&json!({"p_thread_id": thread, "p_body": "x".repeat(4001)}))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status().as_u16(), 400, "{}", direct.text().await.unwrap());
}

#[tokio::test]
async fn lists_and_threads_page_by_last_activity_without_repeats() {
    let world = World::new().await;
    let admin = world.member(world.org, "enterprise_admin").await;
    let mut threads = Vec::new();
    for _ in 0..3 {
        let member = world.member(world.org, "rep").await;
        threads.push(start(&world, admin, member, "Hello").await.0);
    }
    reply(&world, admin, &threads[0], "Any news?").await.ok(201);

    let first = world.call(admin, "GET", "messages?limit=2", None).await.ok(200);
    let ids = |page: &Value| -> Vec<String> {
        page["threads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["id"].as_str().unwrap().into())
            .collect()
    };
    assert_eq!(ids(&first), [threads[0].clone(), threads[2].clone()]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = world.call(admin, "GET", &format!("messages?limit=2&before={cursor}"), None).await;
    let next = next.ok(200);
    assert_eq!(ids(&next), [threads[1].clone()]);
    assert_eq!(next["next_cursor"], Value::Null);

    for n in 1..=4 {
        reply(&world, admin, &threads[1], &format!("m{n}")).await.ok(201);
    }
    let mut seen = Vec::new();
    let mut path = format!("message-thread?id={}&limit=2", threads[1]);
    loop {
        let page = world.call(admin, "GET", &path, None).await.ok(200);
        seen.extend(bodies(&page).into_iter().map(str::to_owned));
        let Some(cursor) = page["next_cursor"].as_str() else { break };
        path = format!("message-thread?id={}&limit=2&before={cursor}", threads[1]);
    }
    assert_eq!(seen, ["m4", "m3", "m2", "m1", "Hello"]);
    let bad =
        format!("message-thread?id={}&before=0_00000000-0000-0000-0000-00000000000g", threads[1]);
    world.call(admin, "GET", &bad, None).await.names("before");
}

#[tokio::test]
async fn new_messages_raise_toasts_unless_the_recipient_turned_them_off() {
    let world = World::new().await;
    let defaults = json!({"preferences": {"in_app_toasts": true, "email_on_message": true,
                                          "email_batch_minutes": 15}});
    assert_eq!(
        world.call(world.rep, "GET", "notifications?preferences", None).await.ok(200),
        defaults
    );

    let (thread, first) = start(&world, world.manager, world.rep, "How is it going?").await;
    let feed = world.call(world.rep, "GET", "notifications", None).await.ok(200);
    let toast = &feed["notifications"][0];
    assert_eq!(feed["notifications"].as_array().unwrap().len(), 1, "{feed}");
    assert_eq!((toast["kind"].as_str(), toast["seen_at"].as_null()), (Some("message"), Some(())));
    assert_eq!(toast["message_id"], json!(first));
    assert_eq!(toast["sender"]["id"], json!(world.manager));
    assert_eq!(toast["preview"], "How is it going?");
    let cursor = feed["next_cursor"].as_i64().unwrap();
    assert_eq!(
        world.call(world.manager, "GET", "notifications", None).await.ok(200)["notifications"],
        json!([])
    );

    let seen =
        world.call(world.rep, "POST", "notifications", Some(json!({"seen_through": cursor})));
    assert_eq!(seen.await.ok(200), json!({"marked_seen": 1}));
    let after = format!("notifications?after={cursor}");
    assert_eq!(
        world.call(world.rep, "GET", &after, None).await.ok(200)["notifications"],
        json!([])
    );

    // Turning toasts off keeps the other preferences at their defaults.
    let off = world.call(world.rep, "PUT", "notifications", Some(json!({"in_app_toasts": false})));
    let off = off.await.ok(200);
    assert_eq!(
        off["preferences"],
        json!({"in_app_toasts": false, "email_on_message": true,
                                         "email_batch_minutes": 15})
    );
    reply(&world, world.manager, &thread, "Still there?").await.ok(201);
    assert_eq!(
        world.call(world.rep, "GET", &after, None).await.ok(200)["notifications"],
        json!([])
    );
    assert_eq!(unread(&world, world.rep).await, 2, "the badge is always on");

    let back = world.call(world.rep, "PUT", "notifications", Some(json!({"in_app_toasts": true})));
    back.await.ok(200);
    reply(&world, world.manager, &thread, "Hello?").await.ok(201);
    let feed = world.call(world.rep, "GET", &after, None).await.ok(200);
    assert_eq!(feed["notifications"][0]["preview"], "Hello?");
    // A toast leaves the feed with the message copy it announces.
    let id = feed["notifications"][0]["message_id"].as_str().unwrap();
    world.call(world.rep, "DELETE", &format!("messages?id={id}"), None).await.ok(200);
    assert_eq!(
        world.call(world.rep, "GET", &after, None).await.ok(200)["notifications"],
        json!([])
    );
    let prefs =
        world.call(world.outsider, "PUT", "notifications", Some(json!({"email_batch_minutes": 0})));
    prefs.await.names("email_batch_minutes");
}

#[tokio::test]
async fn without_the_messaging_feature_every_messaging_call_is_refused() {
    let world = World::new().await;
    let (thread, _) = start(&world, world.manager, world.rep, "Before the switch").await;
    world.switch_off("messaging").await;
    let path = format!("message-thread?id={thread}");
    for (method, path, body) in [
        ("GET", "messages", None),
        ("POST", "messages", Some(json!({"thread_id": thread, "body": "Hi"}))),
        ("GET", path.as_str(), None),
        ("POST", path.as_str(), None),
        ("GET", "messages-unread", None),
        ("GET", "notifications", None),
        ("GET", "notifications?preferences", None),
        ("PUT", "notifications", Some(json!({"in_app_toasts": false}))),
    ] {
        let answer = world.call(world.rep, method, path, body).await;
        answer.error(403, "feature_disabled");
    }
}
