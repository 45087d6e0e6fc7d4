//! The `retention` job run in-process as a host runs it, against the local stack over HTTP
//! (PostgREST with the service role): exactly the expired messages and the threads they empty
//! go, the run writes one audit entry with its counts, a second run deletes nothing, and two
//! runs at once over a backlog larger than a batch delete every expired row once between them.
//! One test function: the audit entries' counts are exact only if no other run interleaves.

mod support;

use serde_json::Value;
use support::world::{World, owner};
use uuid::Uuid;

/// A thread the manager started with the rep `age_days` ago, with one message per entry of
/// `message_ages_days`, each that many days old (written as the owner, so the ages stick).
async fn thread(world: &World, age_days: i64, message_ages_days: &[i64]) -> Uuid {
    let db = owner(&world.stack).await;
    let id = Uuid::new_v4();
    db.execute(
        "insert into public.message_threads (id, started_by, participant_id, created_at)
         values ($1, $2, $3, now() - make_interval(days => $4))",
        &[&id, &world.manager, &world.rep, &(age_days as i32)],
    )
    .await
    .unwrap();
    for age in message_ages_days {
        db.execute(
            "insert into public.messages (thread_id, sender_id, body, created_at)
             values ($1, $2, 'Hello', now() - make_interval(days => $3))",
            &[&id, &world.manager, &(*age as i32)],
        )
        .await
        .unwrap();
    }
    id
}

/// One value the database answers about `thread`, asked as the owner.
async fn about<T: for<'a> tokio_postgres::types::FromSql<'a>>(
    world: &World,
    sql: &str,
    thread: Uuid,
) -> T {
    let db = owner(&world.stack).await;
    db.query_one(sql, &[&thread]).await.unwrap().get(0)
}

async fn messages_in(world: &World, thread: Uuid) -> i64 {
    about(world, "select count(*) from public.messages where thread_id = $1", thread).await
}

async fn thread_exists(world: &World, thread: Uuid) -> bool {
    about(world, "select exists (select 1 from public.message_threads where id = $1)", thread).await
}

/// The `retention.run` audit entries written after entry `after_id`, oldest first.
async fn runs_since(world: &World, after_id: i64) -> Vec<Value> {
    let db = owner(&world.stack).await;
    db.query(
        "select jsonb_build_object('actor_role', actor_role, 'scope', scope, 'after', after)
           from public.audit_log where action = 'retention.run' and id > $1 order by id",
        &[&after_id],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect()
}

async fn last_audit_id(world: &World) -> i64 {
    let db = owner(&world.stack).await;
    db.query_one("select coalesce(max(id), 0) from public.audit_log", &[]).await.unwrap().get(0)
}

fn deleted(run: &Value, table: &str) -> i64 {
    run["after"]["deleted"][table].as_i64().unwrap_or_else(|| panic!("{table} in {run}"))
}

#[tokio::test]
async fn the_retention_job_deletes_exactly_the_expired_rows_and_audits_each_run_once() {
    let world = World::new().await;
    let expired = thread(&world, 400, &[400, 390, 366]).await;
    let answered = thread(&world, 420, &[420, 2]).await;
    let young = thread(&world, 300, &[300]).await;
    let empty_old = thread(&world, 500, &[]).await;
    let before = last_audit_id(&world).await;
    let now = support::rest::now() as u64;

    functions::run_cron("retention", &world.cron_ctx(now)).await.unwrap();
    assert_eq!(messages_in(&world, expired).await, 0, "every message over a year old went");
    assert!(!thread_exists(&world, expired).await, "and the thread they left empty");
    assert!(!thread_exists(&world, empty_old).await, "an old thread nobody wrote in went too");
    assert_eq!(messages_in(&world, answered).await, 1, "the recent answer stays");
    assert!(thread_exists(&world, answered).await, "with its thread, however old");
    assert_eq!(messages_in(&world, young).await, 1, "an eleven-month-old message stays");
    let runs = runs_since(&world, before).await;
    assert_eq!(runs.len(), 1, "one audit entry per run: {runs:?}");
    assert_eq!(runs[0]["actor_role"], "service_role");
    assert_eq!(runs[0]["scope"], "global");
    assert_eq!(runs[0]["after"]["complete"], true);
    assert_eq!(runs[0]["after"]["batches"], 2, "one that deleted, one that found nothing");
    assert_eq!(
        (deleted(&runs[0], "public.messages"), deleted(&runs[0], "public.message_threads")),
        (4, 2)
    );

    // Again: nothing is left to delete, and the run says so.
    let before = last_audit_id(&world).await;
    functions::run_cron("retention", &world.cron_ctx(now)).await.unwrap();
    let runs = runs_since(&world, before).await;
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (deleted(&runs[0], "public.messages"), deleted(&runs[0], "public.message_threads")),
        (0, 0)
    );
    assert_eq!(messages_in(&world, answered).await + messages_in(&world, young).await, 2);

    // A backlog of 5 000 expired messages (more than two batches) and two runs at once.
    let backlog = thread(&world, 700, &[]).await;
    owner(&world.stack)
        .await
        .execute(
            "insert into public.messages (thread_id, sender_id, body, created_at)
             select $1, $2, 'Old news', now() - interval '13 months' - i * interval '1 second'
               from generate_series(1, 5000) i",
            &[&backlog, &world.rep],
        )
        .await
        .unwrap();
    let before = last_audit_id(&world).await;
    // The runs' clock is when they start: their 20 s budget counts from it, and writing the
    // backlog (5 000 updates of one thread's row) takes that long on a loaded machine.
    let now = support::rest::now() as u64;
    let (first, second) = (world.cron_ctx(now), world.cron_ctx(now));
    let (a, b) = tokio::join!(
        functions::run_cron("retention", &first),
        functions::run_cron("retention", &second)
    );
    a.unwrap();
    b.unwrap();
    let runs = runs_since(&world, before).await;
    assert_eq!(runs.len(), 2, "one entry per run: {runs:?}");
    let total: i64 = runs.iter().map(|run| deleted(run, "public.messages")).sum();
    assert_eq!(
        total, 5000,
        "each expired message deleted and counted by exactly one run: {runs:?}"
    );
    assert_eq!(messages_in(&world, backlog).await, 0);
    assert_eq!(messages_in(&world, answered).await + messages_in(&world, young).await, 2);
    // Each run may have seen the other's last deletions uncommitted and kept the emptied thread;
    // then the next run takes it.
    functions::run_cron("retention", &world.cron_ctx(now)).await.unwrap();
    assert!(!thread_exists(&world, backlog).await, "the emptied thread goes by the next run");
}
