//! E-mail about new messages, end to end: messages written through `/rest/v1` with the sender's
//! token enqueue into the outbox (the database trigger), the `email-dispatch` job runs in-process
//! against the stack as a host runs it, and the local Mailgun (tests/src/bin/mailgun_fake) checks
//! and records each send. Other tests' dispatch runs share the outbox, so every assertion is
//! about this test's own recipients and waits until their batches are no longer leased.

mod support;

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use shared::mail::mailgun::{Email, Mailgun, MailgunError};
use shared::runtime::native::ReqwestClient;
use support::rest::{Rest, now};
use support::world::{World, owner};
use uuid::Uuid;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name}: scripts/test sets it"))
}

/// `user`'s e-mail address, as the dispatch job reads it.
async fn address(world: &World, user: Uuid) -> String {
    owner(&world.stack)
        .await
        .query_one("select email from auth.users where id = $1", &[&user])
        .await
        .unwrap()
        .get(0)
}

async fn set_name(world: &World, user: Uuid, name: &str) {
    owner(&world.stack)
        .await
        .execute("update public.profiles set full_name = $2 where id = $1", &[&user, &name])
        .await
        .unwrap();
}

/// Through `/rest/v1` with `user`'s token, as the frontend writes: `path` with `body`.
async fn write_as(world: &World, user: Uuid, path: &str, body: Value) -> Value {
    let rest = Rest::new();
    let token = world.token(user);
    let answer = rest
        .request(Method::POST, path, Some(&token))
        .header("prefer", "return=representation")
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let value: Value = answer.json().await.unwrap();
    assert!(status.is_success(), "{path}: {status} {value}");
    value
}

/// The manager starts a thread with the rep.
async fn thread(world: &World) -> Value {
    let started =
        write_as(world, world.manager, "message_threads", json!({"participant_id": world.rep}))
            .await;
    started[0]["id"].clone()
}

async fn write(world: &World, sender: Uuid, thread: &Value, body: &str) {
    write_as(world, sender, "messages", json!({"thread_id": thread, "body": body})).await;
}

/// `recipient`'s batches, oldest first: (id, status, message_count, attempts, mailgun_id).
async fn batches(world: &World, recipient: Uuid) -> Vec<(Uuid, String, i32, i16, Option<String>)> {
    owner(&world.stack)
        .await
        .query(
            "select id, status, message_count, attempts, mailgun_id from public.email_outbox
              where recipient_id = $1 order by created_at, id",
            &[&recipient],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
        .collect()
}

/// Brings `recipient`'s pending batches due now (their window or back-off over).
async fn make_due(world: &World, recipient: Uuid) {
    owner(&world.stack)
        .await
        .execute(
            "update public.email_outbox set next_attempt_at = now()
              where recipient_id = $1 and status = 'pending'",
            &[&recipient],
        )
        .await
        .unwrap();
}

/// Seconds until `recipient`'s pending batch is due again.
async fn wait_left(world: &World, recipient: Uuid) -> f64 {
    owner(&world.stack)
        .await
        .query_one(
            "select extract(epoch from next_attempt_at - now())::float8 from public.email_outbox
              where recipient_id = $1 and status = 'pending'",
            &[&recipient],
        )
        .await
        .unwrap()
        .get(0)
}

/// One run of the job, then a wait until no run (this test's or another's) holds a lease on
/// `recipient`'s batches, so the fake has every request there will be.
async fn dispatch(world: &World, recipient: Uuid) {
    functions::run_cron("email-dispatch", &world.cron_ctx(now() as u64)).await.unwrap();
    settle(world, recipient).await;
}

async fn settle(world: &World, recipient: Uuid) {
    let db = owner(&world.stack).await;
    for _ in 0..100 {
        let leased: i64 = db
            .query_one(
                "select count(*) from public.email_outbox
                  where recipient_id = $1 and lease_until > now()",
                &[&recipient],
            )
            .await
            .unwrap()
            .get(0);
        if leased == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("a batch of {recipient} stayed leased");
}

/// The send requests the fake got for `to`, in order.
async fn sent_to(to: &str) -> Vec<Value> {
    let to: String = form_urlencoded::byte_serialize(to.as_bytes()).collect();
    let url = format!("{}/__requests?to={to}", env("MAILGUN_FAKE_URL"));
    let answer = reqwest::get(url).await.unwrap();
    answer.json().await.unwrap()
}

/// Makes the fake refuse the next `count` sends to `to` with `status`.
async fn fail_next(to: &str, count: u32, status: u16) {
    let url = format!("{}/__fail", env("MAILGUN_FAKE_URL"));
    let body = json!({"to": to, "count": count, "status": status});
    let answer = reqwest::Client::new().post(url).json(&body).send().await.unwrap();
    assert_eq!(answer.status(), 204);
}

#[tokio::test]
async fn a_burst_of_messages_is_one_email_saying_who_wrote_and_how_many() {
    let world = World::new().await;
    set_name(&world, world.manager, "Dana Manager").await;
    set_name(&world, world.rep, "Robin Rep").await;
    let thread = thread(&world).await;
    for body in ["Call the Smiths", "Then the Lees", "Secret pipeline notes"] {
        write(&world, world.manager, &thread, body).await;
    }
    let queued = batches(&world, world.rep).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let (batch, ref status, count, _, _) = queued[0];
    assert_eq!((status.as_str(), count), ("pending", 3));
    let window = wait_left(&world, world.rep).await;
    assert!(window > 14.0 * 60.0 && window <= 15.0 * 60.0, "due after the window: {window}");

    dispatch(&world, world.rep).await;
    let rep = address(&world, world.rep).await;
    assert!(sent_to(&rep).await.is_empty(), "nothing before the window closes");

    make_due(&world, world.rep).await;
    dispatch(&world, world.rep).await;
    let sent = sent_to(&rep).await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    let request = &sent[0];
    let fields = &request["fields"];
    let domain = env("MAILGUN_DOMAIN");
    assert_eq!(request["domain"], domain.as_str());
    assert_eq!(request["status"], 200);
    assert_eq!(fields["from"], env("MAILGUN_FROM").as_str());
    assert_eq!(fields["to"], rep.as_str());
    assert_eq!(fields["subject"], "Dana Manager sent you 3 messages");
    assert_eq!(fields["h:Message-Id"], format!("<salespulse-batch-{batch}@{domain}>").as_str());
    assert_eq!(fields["v:salespulse_batch_id"], batch.to_string().as_str());
    assert_eq!(fields["o:tag"], "new-messages");
    let text = fields["text"].as_str().unwrap();
    assert!(text.starts_with("Hello Robin Rep,"), "{text}");
    assert!(text.contains(&format!("{}/messages", env("APP_URL"))), "{text}");
    assert!(!text.contains("Secret pipeline notes"), "no message body leaves by e-mail");

    let recorded = batches(&world, world.rep).await;
    assert_eq!(recorded[0].1, "sent");
    assert_eq!(recorded[0].4.as_deref(), request["answer"]["id"].as_str(), "Mailgun's id kept");

    make_due(&world, world.rep).await;
    dispatch(&world, world.rep).await;
    assert_eq!(sent_to(&rep).await.len(), 1, "a sent batch is not sent again");

    // The rep sees their own batch; the manager sees none of the rep's.
    let rest = Rest::new();
    let own = rest
        .send(Method::GET, "email_outbox?select=id,status", Some(&world.token(world.rep)), None)
        .await;
    assert_eq!(own.json(), json!([{"id": batch, "status": "sent"}]));
    let others = rest
        .send(Method::GET, "email_outbox?select=id", Some(&world.token(world.manager)), None)
        .await;
    assert_eq!(others.json(), json!([]));
}

#[tokio::test]
async fn a_recipient_who_turned_email_off_gets_none() {
    let world = World::new().await;
    write_as(&world, world.rep, "notification_preferences", json!({"email_on_message": false}))
        .await;
    let thread = thread(&world).await;
    write(&world, world.manager, &thread, "Are you there?").await;
    assert!(batches(&world, world.rep).await.is_empty());
    make_due(&world, world.rep).await;
    dispatch(&world, world.rep).await;
    assert!(sent_to(&address(&world, world.rep).await).await.is_empty());
}

#[tokio::test]
async fn a_suppressed_address_gets_none_and_the_batch_says_why() {
    let world = World::new().await;
    let rep = address(&world, world.rep).await;
    owner(&world.stack)
        .await
        .execute(
            "insert into public.email_suppressions (address, reason) values ($1, 'bounced')",
            &[&rep],
        )
        .await
        .unwrap();
    let thread = thread(&world).await;
    write(&world, world.manager, &thread, "Hello?").await;
    make_due(&world, world.rep).await;
    dispatch(&world, world.rep).await;
    assert!(sent_to(&rep).await.is_empty());
    assert_eq!(batches(&world, world.rep).await[0].1, "suppressed");
}

#[tokio::test]
async fn a_failing_mailgun_is_retried_with_back_off_and_the_email_sent_once() {
    let world = World::new().await;
    let rep = address(&world, world.rep).await;
    fail_next(&rep, 2, 500).await;
    let thread = thread(&world).await;
    write(&world, world.manager, &thread, "Numbers for Monday").await;

    make_due(&world, world.rep).await;
    dispatch(&world, world.rep).await;
    let (_, status, _, attempts, _) = batches(&world, world.rep).await.remove(0);
    assert_eq!((status.as_str(), attempts), ("pending", 1));
    let wait = wait_left(&world, world.rep).await;
    assert!(wait > 50.0 && wait <= 60.0, "a minute after the first failure: {wait}");
    dispatch(&world, world.rep).await;
    assert_eq!(sent_to(&rep).await.len(), 1, "nothing is sent during the back-off");

    make_due(&world, world.rep).await;
    dispatch(&world, world.rep).await;
    let wait = wait_left(&world, world.rep).await;
    assert!(wait > 110.0 && wait <= 120.0, "two minutes after the second: {wait}");

    make_due(&world, world.rep).await;
    dispatch(&world, world.rep).await;
    let sent = sent_to(&rep).await;
    let statuses: Vec<&Value> = sent.iter().map(|request| &request["status"]).collect();
    assert_eq!(statuses, [500, 500, 200]);
    let ids: Vec<&Value> = sent.iter().map(|request| &request["fields"]["h:Message-Id"]).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "every attempt is the same e-mail: {ids:?}");
    let (_, status, count, attempts, mailgun_id) = batches(&world, world.rep).await.remove(0);
    assert_eq!((status.as_str(), count, attempts), ("sent", 1, 3));
    assert_eq!(mailgun_id.as_deref(), sent[2]["answer"]["id"].as_str());
    let messages: i64 = owner(&world.stack)
        .await
        .query_one("select count(*) from public.messages where recipient_id = $1", &[&world.rep])
        .await
        .unwrap()
        .get(0);
    assert_eq!(messages, 1, "the message itself was never touched");
}

#[tokio::test]
async fn two_concurrent_dispatch_runs_send_each_batch_once() {
    let world = World::new().await;
    let thread = thread(&world).await;
    write(&world, world.manager, &thread, "Ping").await;
    write(&world, world.rep, &thread, "Pong").await;
    make_due(&world, world.rep).await;
    make_due(&world, world.manager).await;
    let (first, second) = (world.cron_ctx(now() as u64), world.cron_ctx(now() as u64));
    let (a, b) = tokio::join!(
        functions::run_cron("email-dispatch", &first),
        functions::run_cron("email-dispatch", &second),
    );
    a.unwrap();
    b.unwrap();
    for user in [world.rep, world.manager] {
        settle(&world, user).await;
        assert_eq!(sent_to(&address(&world, user).await).await.len(), 1);
        assert_eq!(batches(&world, user).await[0].1, "sent");
    }
}

#[tokio::test]
async fn mailguns_refusals_reach_the_client_as_clear_errors() {
    let http = ReqwestClient::new(reqwest::Client::new());
    let email = Email {
        to: "someone@example.test".into(),
        subject: "s".into(),
        text: "t".into(),
        message_id: "<x@mg.test>".into(),
        batch_id: "b".into(),
        tag: "new-messages",
    };
    let (url, domain, key) =
        (env("MAILGUN_FAKE_URL"), env("MAILGUN_DOMAIN"), env("MAILGUN_API_KEY"));
    let send = |domain: &str, key: &str, email: &Email| {
        let mailgun = Mailgun::new(&http, &url, domain, key, "SalesPulse <no-reply@mg.test>");
        let email = email.clone();
        async move { mailgun.send(&email).await }
    };
    assert_eq!(send(&domain, "wrong-key", &email).await, Err(MailgunError::Unauthorized));
    assert_eq!(
        send("mg.elsewhere.test", &key, &email).await,
        Err(MailgunError::UnknownDomain("mg.elsewhere.test".into()))
    );
    let nowhere = Email { to: "not-an-address".into(), ..email.clone() };
    let refused = send(&domain, &key, &nowhere).await.unwrap_err();
    assert!(
        refused.is_permanent() && refused.to_string().contains("not a valid address"),
        "{refused}"
    );
    let taken = send(&domain, &key, &email).await.unwrap().unwrap();
    assert!(taken.ends_with(&format!("@{domain}>")), "{taken}");
}
