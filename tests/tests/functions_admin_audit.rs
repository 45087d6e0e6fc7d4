//! `admin-audit` and `admin-audit-export` over HTTP through the local stack: filters and keyset
//! paging; who may read (platform admins everything, enterprise admins their organization) and
//! who is refused (reps, team managers, another organization's admin, impersonation tokens); the
//! CSV read back by an independent parser; an export of 100 000 entries streamed in constant
//! memory, measured on the native host's process; a failure midway cutting the download short.
//! Also the log's own invariant over `/rest/v1`: nobody updates or deletes an entry, whatever
//! their role, except the service role deleting (the retention job).

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::world::{World, owner};
use uuid::Uuid;

/// The columns of the export, in order.
const HEADER: [&str; 12] = [
    "id",
    "at",
    "actor_id",
    "impersonator_id",
    "actor_role",
    "action",
    "scope",
    "org_id",
    "target_type",
    "target_id",
    "before",
    "after",
];

/// The people of one test: the world's, a platform admin, an enterprise admin of the world's
/// organization and one of the other organization.
struct Admins {
    world: World,
    platform: Uuid,
    enterprise: Uuid,
    foreign: Uuid,
    other_org: Uuid,
}

impl Admins {
    async fn new() -> Self {
        let world = World::new().await;
        let db = owner(&world.stack).await;
        let other_org: Uuid = db
            .query_one(
                "select org_id from public.memberships where user_id = $1",
                &[&world.outsider],
            )
            .await
            .unwrap()
            .get(0);
        let platform = world.platform_admin().await;
        let [enterprise, foreign] = [(); 2].map(|_| Uuid::new_v4());
        db.execute(
            "insert into auth.users (id, aud, role, email, created_at)
             select id, 'authenticated', 'authenticated', id || '@audit.test', now()
               from unnest($1::uuid[]) id",
            &[&vec![enterprise, foreign]],
        )
        .await
        .unwrap();
        db.execute(
            "insert into public.memberships (org_id, user_id, role)
             values ($1, $2, 'enterprise_admin'), ($3, $4, 'enterprise_admin')",
            &[&world.org, &enterprise, &other_org, &foreign],
        )
        .await
        .unwrap();
        Self { world, platform, enterprise, foreign, other_org }
    }

    async fn get(&self, user: Uuid, path: &str) -> support::world::Answer {
        self.world.call(user, "GET", path, None).await
    }

    /// Every entry `path` (with its filters) pages through, following the cursors.
    async fn all_pages(&self, user: Uuid, path: &str, limit: u32) -> Vec<Value> {
        let mut entries = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let after = cursor.map(|c| format!("&cursor={c}")).unwrap_or_default();
            let page = self.get(user, &format!("{path}&limit={limit}{after}")).await.ok(200);
            let rows = page["entries"].as_array().unwrap();
            assert!(rows.len() <= limit as usize);
            entries.extend(rows.iter().cloned());
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => return entries,
            }
        }
    }
}

fn ids(entries: &[Value]) -> Vec<i64> {
    entries.iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

#[tokio::test]
async fn filters_select_and_cursors_page_newest_first_without_gaps_or_repeats() {
    let admins = Admins::new().await;
    let world = &admins.world;
    let org = world.org;
    let db = owner(&world.stack).await;
    db.execute(
        "insert into public.audit_log
           (at, actor_id, impersonator_id, actor_role, action, scope, org_id, target_type, target_id, after)
         values ('2026-03-01T10:00:00Z', $1, null, 'authenticated', 'test.role_change', 'user', $3, 'membership', 'm1', '{}'),
                ('2026-03-02T10:00:00Z', $1, null, 'authenticated', 'test.role_change', 'user', $3, 'membership', 'm2', '{}'),
                ('2026-03-03T10:00:00Z', $2, $4, 'authenticated', 'test.flag_set', 'org', $3, 'feature_flag', 'f1', 'true'),
                ('2026-03-04T10:00:00Z', $2, $4, 'authenticated', 'test.flag_set', 'org', $3, 'feature_flag', 'f2', 'false'),
                ('2026-03-05T10:00:00Z', $2, null, 'authenticated', 'test.flag_set', 'global', $3, 'feature_flag', 'f3', 'true')",
        &[&world.rep, &world.manager, &org, &admins.platform],
    )
    .await
    .unwrap();
    world.seed_audit(org, 23, "test.bulk").await;

    let every = admins.all_pages(admins.platform, &format!("admin-audit?org={org}"), 7).await;
    let every_ids = ids(&every);
    assert!(every_ids.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats: {every_ids:?}");
    let expected: i64 = db
        .query_one("select count(*) from public.audit_log where org_id = $1", &[&org])
        .await
        .unwrap()
        .get(0);
    assert_eq!(every.len() as i64, expected, "every entry of the organization, once");
    assert_eq!(
        admins.all_pages(admins.platform, &format!("admin-audit?org={org}"), 500).await,
        every
    );

    let count = |query: String| {
        let admins = &admins;
        async move { admins.all_pages(admins.platform, &format!("admin-audit?{query}"), 2).await }
    };
    assert_eq!(count(format!("org={org}&action=test.bulk")).await.len(), 23);
    let by_actor = count(format!("org={org}&actor={}&action=test.role_change", world.rep)).await;
    assert_eq!(
        by_actor.iter().map(|e| e["target_id"].clone()).collect::<Vec<_>>(),
        [json!("m2"), json!("m1")]
    );
    let impersonated = count(format!("impersonator={}&org={org}", admins.platform)).await;
    assert_eq!(impersonated.len(), 2);
    assert!(impersonated.iter().all(|e| e["impersonator_id"] == json!(admins.platform)));
    assert_eq!(count(format!("org={org}&action=test.flag_set&scope=global")).await.len(), 1);
    let target = count(format!("org={org}&target_type=feature_flag&target_id=f2")).await;
    assert_eq!((target.len(), &target[0]["after"]), (1, &json!(false)));
    let window =
        count(format!("org={org}&from=2026-03-02T10:00:00Z&to=2026-03-04T10:00:00%2B00:00")).await;
    assert_eq!(
        window.iter().map(|e| e["target_id"].as_str().unwrap()).collect::<Vec<_>>(),
        ["f1", "m2"],
        "from is inclusive, to exclusive"
    );
    let first = &by_actor[1];
    for key in HEADER {
        assert!(first.get(key).is_some(), "{key} missing from {first}");
    }

    // The enterprise admin reads their organization's entries, all of them, and only those.
    let theirs = admins.all_pages(admins.enterprise, "admin-audit?action=test.bulk", 10).await;
    assert_eq!(theirs.len(), 23);
    let own = admins.all_pages(admins.enterprise, "admin-audit?scope=org", 500).await;
    assert!(own.iter().all(|e| e["org_id"] == json!(org)), "only their organization");
    assert_eq!(
        admins.get(admins.enterprise, &format!("admin-audit?org={org}&limit=1")).await.ok(200)["entries"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn others_and_impersonation_tokens_are_refused_by_both_functions() {
    let admins = Admins::new().await;
    let world = &admins.world;
    let org = world.org;
    world.seed_audit(org, 3, "test.secret").await;
    let tokens = [
        ("a rep", world.token(world.rep), ""),
        ("a team manager", world.token(world.manager), ""),
        ("another organization's admin", world.token(admins.foreign), "?org="),
        ("the enterprise admin for another org", world.token(admins.enterprise), "?org=other"),
        (
            "the platform admin impersonated",
            world.token_with(
                admins.platform,
                json!({"impersonator": admins.platform, "read_only": true}),
            ),
            "",
        ),
        (
            "the enterprise admin impersonated",
            world.token_with(
                admins.enterprise,
                json!({"impersonator": admins.platform, "read_only": true}),
            ),
            "",
        ),
    ];
    for (who, token, query) in tokens {
        let query = match query {
            "?org=" => format!("?org={org}"),
            "?org=other" => format!("?org={}", admins.other_org),
            _ => String::new(),
        };
        for function in ["admin-audit", "admin-audit-export"] {
            let answer =
                world.call_with_token(&token, "GET", &format!("{function}{query}"), None).await;
            assert_eq!(
                (answer.status, answer.body["error"]["code"].as_str()),
                (403, Some("forbidden")),
                "{who} → {function}{query}: {}",
                answer.body
            );
        }
    }
    // The foreign admin reads their own organization, which holds none of these entries.
    let theirs = admins.get(admins.foreign, "admin-audit?action=test.secret").await.ok(200);
    assert_eq!(theirs["entries"], json!([]));
    for function in ["admin-audit", "admin-audit-export"] {
        world.call_with_token("", "GET", function, None).await.error(401, "missing_token");
        admins.get(admins.platform, &format!("{function}?org=x")).await.names("org");
    }
}

/// `method /rest/v1/audit_log?<filter>` with `key` as apikey and `token` as bearer.
async fn rest(world: &World, method: &str, filter: &str, key: &str, token: &str) -> (u16, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = world
        .http
        .request(method.clone(), format!("{}/rest/v1/audit_log?{filter}", world.stack.api_url))
        .header("apikey", key)
        .bearer_auth(token)
        .header("prefer", "return=representation");
    if method == reqwest::Method::PATCH {
        request = request.json(&json!({"action": "test.rewritten", "after": {"forged": true}}));
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn no_role_updates_or_deletes_an_entry_over_the_api_but_the_service_role_deletes() {
    let admins = Admins::new().await;
    let world = &admins.world;
    world.seed_audit(world.org, 2, "test.kept").await;
    let filter = format!("org_id=eq.{}&action=eq.test.kept", world.org);
    let anon = world.stack.anon_key.clone();
    let callers = [
        ("anon", anon.clone(), 401),
        ("a rep", world.token(world.rep), 403),
        ("a team manager", world.token(world.manager), 403),
        ("the enterprise admin", world.token(admins.enterprise), 403),
        ("the platform admin", world.token(admins.platform), 403),
    ];
    for (who, token, status) in &callers {
        for method in ["PATCH", "DELETE"] {
            let (answer, body) = rest(world, method, &filter, &anon, token).await;
            assert_eq!(answer, *status, "{who} {method}: {body}");
            assert!(body.contains("42501"), "{who} {method}: {body}");
        }
    }
    let service = world.stack.service_role_key.clone();
    let (status, body) = rest(world, "PATCH", &filter, &service, &service).await;
    assert_eq!(status, 403, "the service role rewrites nothing either: {body}");
    let db = owner(&world.stack).await;
    let kept = || async {
        db.query_one(
            "select count(*) from public.audit_log
              where org_id = $1 and action = 'test.kept' and after = jsonb_build_object('n', target_id::int)",
            &[&world.org],
        )
        .await
        .unwrap()
        .get::<_, i64>(0)
    };
    assert_eq!(kept().await, 2, "every entry unchanged");

    let (status, body) =
        rest(world, "DELETE", &format!("{filter}&target_id=eq.1"), &service, &service).await;
    assert_eq!(status, 200, "the retention job's role deletes: {body}");
    assert_eq!(kept().await, 1);
    let visible = rest(world, "GET", &filter, &anon, &world.token(admins.platform)).await;
    assert_eq!(serde_json::from_str::<Value>(&visible.1).unwrap().as_array().unwrap().len(), 1);
    let impersonating = world.token_with(admins.platform, json!({"impersonator": admins.platform}));
    let hidden = rest(world, "GET", &filter, &anon, &impersonating).await;
    assert_eq!(
        (hidden.0, hidden.1.as_str()),
        (200, "[]"),
        "an impersonation session reads nothing"
    );
}

/// A streamed export: the response, the time to its first byte and to its end, its body.
struct Export {
    status: u16,
    headers: reqwest::header::HeaderMap,
    first_byte: Duration,
    total: Duration,
    body: Vec<u8>,
}

async fn download(world: &World, base: &str, token: &str, query: &str) -> Export {
    let started = Instant::now();
    let mut response = world
        .http
        .get(format!("{base}/functions/v1/admin-audit-export?{query}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = Vec::new();
    let mut first_byte = None;
    while let Some(chunk) = response.chunk().await.expect("the export ends properly") {
        first_byte.get_or_insert_with(|| started.elapsed());
        body.extend_from_slice(&chunk);
    }
    let total = started.elapsed();
    Export { status, headers, first_byte: first_byte.unwrap_or(total), total, body }
}

fn records(body: &[u8]) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(body)
        .records()
        .map(|record| record.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

#[tokio::test]
async fn the_csv_reads_back_as_the_entries_with_quoting_and_formula_guards() {
    let admins = Admins::new().await;
    let world = &admins.world;
    let awkward = [
        "a,b",
        "say \"hi\"",
        "two\nlines\r\nand more",
        "=HYPERLINK(\"http://evil.example\",\"click\")",
        "+1",
        "-2",
        "@SUM(A1)",
        "\ttabbed",
        "Zoë, 東京 ✓",
        "plain",
    ];
    let db = owner(&world.stack).await;
    for (i, target) in awkward.iter().enumerate() {
        db.execute(
            "insert into public.audit_log
               (actor_id, actor_role, action, scope, org_id, target_type, target_id, before, after)
             values ($1, 'authenticated', 'test.awkward', 'user', $2, 'member', $3, $4, null)",
            &[&world.rep, &world.org, target, &json!({"i": i, "text": target, "neg": -1})],
        )
        .await
        .unwrap();
    }
    let token = world.token(admins.platform);
    let query = format!("org={}&action=test.awkward", world.org);
    let export = download(world, &world.stack.api_url, &token, &query).await;
    assert_eq!(export.status, 200);
    let header = |name: &str| export.headers.get(name).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(header("content-type").as_deref(), Some("text/csv; charset=utf-8"));
    assert_eq!(header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(header("transfer-encoding").as_deref(), Some("chunked"));
    let disposition = header("content-disposition").unwrap();
    assert!(
        disposition.starts_with("attachment; filename=\"audit-log-")
            && disposition.ends_with("Z.csv\""),
        "{disposition}"
    );

    let text = std::str::from_utf8(&export.body).expect("UTF-8");
    assert!(text.starts_with("id,at,actor_id,") && text.ends_with("\r\n"), "{text}");
    let rows = records(&export.body);
    assert_eq!(rows[0], HEADER);
    let entries = admins.all_pages(admins.platform, &format!("admin-audit?{query}"), 500).await;
    assert_eq!(rows.len() - 1, awkward.len());
    let guard = |cell: String| -> String {
        if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell }
    };
    for (row, entry) in rows[1..].iter().zip(&entries) {
        for (cell, column) in row.iter().zip(HEADER) {
            match &entry[column] {
                Value::Null => assert_eq!(cell, "", "{column}"),
                Value::String(text) => assert_eq!(cell, &guard(text.clone()), "{column}"),
                Value::Number(n) => assert_eq!(cell, &n.to_string(), "{column}"),
                json => assert_eq!(&serde_json::from_str::<Value>(cell).unwrap(), json, "{column}"),
            }
        }
        let target =
            row[9].strip_prefix('\'').filter(|t| t.starts_with(['=', '+', '-', '@', '\t']));
        let before: Value = serde_json::from_str(&row[10]).unwrap();
        assert_eq!(
            before["text"].as_str(),
            Some(target.unwrap_or(&row[9])),
            "the cell round-trips"
        );
    }
    let empty =
        download(world, &world.stack.api_url, &token, &format!("org={}", Uuid::new_v4())).await;
    assert_eq!(
        (empty.status, records(&empty.body)),
        (200, vec![HEADER.map(String::from).to_vec()])
    );
}

/// The native stack's process: `STACK_PID`, which scripts/test exports.
fn stack_pid() -> u32 {
    let pid: u32 = std::env::var("STACK_PID")
        .expect("STACK_PID: the local stack's process id (scripts/test exports it)")
        .parse()
        .unwrap();
    let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(String::from_utf8_lossy(&command).contains("local-stack"), "{pid} is no local-stack");
    pid
}

/// `field` of /proc/<pid>/status, in bytes.
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

/// Exports `rows` entries through the native host and answers (peak RSS growth during the
/// export, the export) — the peak reset first through /proc/<pid>/clear_refs.
async fn measured_export(
    world: &World,
    pid: u32,
    token: &str,
    org: Uuid,
    rows: usize,
) -> (u64, Export) {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").expect("resetting the peak RSS");
    let before = memory(pid, "VmRSS:");
    let export = download(world, &world.stack.api_url, token, &format!("org={org}")).await;
    let peak = memory(pid, "VmHWM:");
    assert_eq!(export.status, 200);
    let lines = export.body.windows(2).filter(|w| w == b"\r\n").count();
    assert_eq!(lines, rows + 1, "a header and every entry");
    (peak.saturating_sub(before), export)
}

#[tokio::test]
async fn an_export_of_100_000_entries_streams_in_constant_memory() {
    let admins = Admins::new().await;
    let world = &admins.world;
    let pid = stack_pid();
    let (small, large) = (Uuid::new_v4(), Uuid::new_v4());
    world.seed_audit(small, 10_000, "test.volume").await;
    world.seed_audit(large, 100_000, "test.volume").await;
    let token = world.token(admins.platform);

    let (small_growth, small_export) = measured_export(world, pid, &token, small, 10_000).await;
    let (large_growth, large_export) = measured_export(world, pid, &token, large, 100_000).await;
    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    eprintln!(
        "native export: 10k rows {:.1} MB in {:?} (first byte {:?}), peak RSS +{:.1} MiB; \
         100k rows {:.1} MB in {:?} (first byte {:?}), peak RSS +{:.1} MiB",
        small_export.body.len() as f64 / 1e6,
        small_export.total,
        small_export.first_byte,
        mib(small_growth),
        large_export.body.len() as f64 / 1e6,
        large_export.total,
        large_export.first_byte,
        mib(large_growth),
    );
    // Buffering would hold the whole file (about 19 MB here) at least once; pages hold 2 000
    // rows (under 0.5 MB of CSV, a few MB while parsed) whatever the size.
    let bound = 16 * 1024 * 1024;
    assert!(large_growth < bound, "100k rows grew the peak RSS by {:.1} MiB", mib(large_growth));
    assert!(
        large_growth < small_growth + 8 * 1024 * 1024,
        "10x the rows, {:.1} MiB against {:.1} MiB",
        mib(large_growth),
        mib(small_growth)
    );
    assert!(
        large_export.first_byte * 5 < large_export.total,
        "the first byte ({:?}) comes long before the last page ({:?})",
        large_export.first_byte,
        large_export.total
    );
}

#[tokio::test]
async fn a_page_failing_midway_cuts_the_download_short() {
    let admins = Admins::new().await;
    let world = &admins.world;
    let org = Uuid::new_v4();
    world.seed_audit(org, 100_000, "test.cut").await;
    // Valid when the export starts; PostgREST refuses it 30 s (its clock skew leeway) after exp,
    // while the reader below pauses and the next pages wait for it.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let token = world.token_with(admins.platform, json!({"exp": now.as_secs() + 2}));
    let mut response = world
        .http
        .get(format!("{}/functions/v1/admin-audit-export?org={org}", world.stack.api_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut received = response.chunk().await.unwrap().unwrap().len();
    tokio::time::sleep(Duration::from_secs(35)).await;
    let ending = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received += chunk.len(),
            Ok(None) => break Ok(received),
            Err(error) => break Err(error),
        }
    };
    assert!(ending.is_err(), "the download ended as if complete after {received} bytes");
    assert!(received < 100_000 * 150, "{received} bytes arrived before the cut");
}
