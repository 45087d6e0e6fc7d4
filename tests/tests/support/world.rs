//! Fresh people for the tracker functions' tests: per test, an organization on a chosen plan
//! with a rep and the team manager who manages them, and a rep of another organization, all
//! with new ids, written as the database owner. Calls go to `/functions/v1/<name>` with their
//! access tokens.

use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Value, json};
use shared::runtime::native::ReqwestClient;
use shared::runtime::{Config, Ctx};
use shared::testing::hs256;
use tokio_postgres::NoTls;
use uuid::Uuid;

use super::Stack;

pub struct World {
    pub stack: Stack,
    pub http: reqwest::Client,
    pub org: Uuid,
    pub rep: Uuid,
    pub manager: Uuid,
    /// A rep of another organization (on the same plan).
    pub outsider: Uuid,
    /// The global real-estate SIM of the seed (`data/sims/real-estate.yaml`).
    pub sim: Uuid,
}

/// What a function answered: status and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Answer {
    /// Asserts an error of this status and code; answers the message.
    pub fn error(&self, status: u16, code: &str) -> String {
        assert_eq!(
            (self.status, self.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{}",
            self.body
        );
        self.body["error"]["message"].as_str().unwrap().to_owned()
    }

    /// Asserts a 422 whose message names `field`.
    pub fn names(&self, field: &str) {
        let message = self.error(422, "validation_failed");
        assert!(message.starts_with(&format!("{field}: ")), "{message:?} should name {field}");
    }

    /// Asserts `status` and answers the body.
    pub fn ok(self, status: u16) -> Value {
        assert_eq!(self.status, status, "{}", self.body);
        self.body
    }
}

pub async fn owner(stack: &Stack) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(&stack.db_url, NoTls).await.unwrap();
    tokio::spawn(connection);
    client
}

impl World {
    /// A new world whose organizations are on the Team plan (referral rules and what-if on).
    pub async fn new() -> Self {
        let stack = Stack::from_status();
        let db = owner(&stack).await;
        let [org, other_org, team, rep, manager, outsider] = [(); 6].map(|_| Uuid::new_v4());
        let slug = |id: Uuid| format!("t-{}", id.simple());
        db.execute(
            "insert into auth.users (id, aud, role, email, created_at)
             select id, 'authenticated', 'authenticated', id || '@tracker.test', now()
               from unnest($1::uuid[]) id",
            &[&vec![rep, manager, outsider]],
        )
        .await
        .unwrap();
        db.execute(
            "insert into public.organizations (id, name, slug, kind, plan_key)
             values ($1, 'Tracker', $2, 'team', 'team'), ($3, 'Elsewhere', $4, 'team', 'team')",
            &[&org, &slug(org), &other_org, &slug(other_org)],
        )
        .await
        .unwrap();
        db.execute(
            "insert into public.teams (id, org_id, name) values ($1, $2, 'East')",
            &[&team, &org],
        )
        .await
        .unwrap();
        db.execute(
            "insert into public.memberships (org_id, user_id, role, team_id)
             values ($1, $2, 'rep', $3), ($1, $4, 'team_manager', $3), ($5, $6, 'rep', null)",
            &[&org, &rep, &team, &manager, &other_org, &outsider],
        )
        .await
        .unwrap();
        db.execute(
            "insert into public.team_managers (team_id, user_id, org_id) values ($1, $2, $3)",
            &[&team, &manager, &org],
        )
        .await
        .unwrap();
        let sim: Uuid = db
            .query_one(
                "select id from public.sims where org_id is null and key = 'real-estate'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        Self { stack, http: reqwest::Client::new(), org, rep, manager, outsider, sim }
    }

    /// The functions' context for a scheduled job at `now`, as a host builds it: the stack's
    /// keys (the service role's included), the rest of the configuration from the environment.
    pub fn cron_ctx(&self, now: u64) -> Ctx {
        let stack = &self.stack;
        let own = [
            ("SUPABASE_URL", stack.api_url.clone()),
            ("SUPABASE_ANON_KEY", stack.anon_key.clone()),
            ("SUPABASE_SERVICE_ROLE_KEY", stack.service_role_key.clone()),
            ("SUPABASE_JWT_SECRET", stack.jwt_secret.clone()),
        ];
        let config = Config::from_lookup(|name| {
            own.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .or_else(|| std::env::var(name).ok())
        })
        .unwrap();
        let http = Rc::new(ReqwestClient::new(reqwest::Client::new()));
        Ctx::new(Arc::new(config), http, "cron-test", now).with_log_sink(Rc::new(|_| {}))
    }

    /// A new user, a member of `org` with `role` (e.g. `enterprise_admin`).
    pub async fn member(&self, org: Uuid, role: &str) -> Uuid {
        let id = self.new_user("member").await;
        owner(&self.stack)
            .await
            .execute(
                "insert into public.memberships (org_id, user_id, role)
                 values ($1, $2, $3::text::public.org_role)",
                &[&org, &id, &role],
            )
            .await
            .unwrap();
        id
    }

    /// A new auth user with an e-mail at `domain`.test.
    pub async fn new_user(&self, domain: &str) -> Uuid {
        let id = Uuid::new_v4();
        owner(&self.stack)
            .await
            .execute(
                "insert into auth.users (id, aud, role, email, created_at)
                 values ($1, 'authenticated', 'authenticated', $2, now())",
                &[&id, &format!("{id}@{domain}.test")],
            )
            .await
            .unwrap();
        id
    }

    /// The first day of the database's current month, `YYYY-MM-DD`.
    pub async fn month_start(&self) -> String {
        owner(&self.stack)
            .await
            .query_one("select to_char(date_trunc('month', current_date), 'YYYY-MM-DD')", &[])
            .await
            .unwrap()
            .get(0)
    }

    /// The outsider's organization.
    pub async fn other_org(&self) -> Uuid {
        owner(&self.stack)
            .await
            .query_one(
                "select org_id from public.memberships where user_id = $1",
                &[&self.outsider],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// Switches `feature` off for the whole organization (an org-scope flag beats the plan).
    pub async fn switch_off(&self, feature: &str) {
        owner(&self.stack)
            .await
            .execute(
                "insert into public.feature_flags (key, scope, org_id, value)
                 values ($1, 'org', $2, 'false')",
                &[&feature, &self.org],
            )
            .await
            .unwrap();
    }

    /// A new platform admin (a user with no organization).
    pub async fn platform_admin(&self) -> Uuid {
        let db = owner(&self.stack).await;
        let id = Uuid::new_v4();
        db.execute(
            "insert into auth.users (id, aud, role, email, created_at)
             values ($1, 'authenticated', 'authenticated', $2, now())",
            &[&id, &format!("{id}@platform.test")],
        )
        .await
        .unwrap();
        db.execute(
            "insert into public.platform_admins (user_id, note) values ($1, 'tests')",
            &[&id],
        )
        .await
        .unwrap();
        id
    }

    /// Writes `count` audit entries of `action` about organization `org` (by the rep, targets
    /// "1" to "count", `after` = `{"n": i}`), as the database owner.
    pub async fn seed_audit(&self, org: Uuid, count: i32, action: &str) {
        owner(&self.stack)
            .await
            .execute(
                "insert into public.audit_log
                   (actor_id, actor_role, action, scope, org_id, target_type, target_id, after)
                 select $1, 'authenticated', $2, 'org', $3, 'member', i::text,
                        jsonb_build_object('n', i)
                   from generate_series(1, $4) i",
                &[&self.rep, &action, &org, &count],
            )
            .await
            .unwrap();
    }

    /// An access token of `user`, as Supabase Auth issues it.
    pub fn token(&self, user: Uuid) -> String {
        self.token_with(user, json!({}))
    }

    /// An access token of `user` with extra claims (e.g. an impersonator's read-only session).
    pub fn token_with(&self, user: Uuid, extra: Value) -> String {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        let mut claims = json!({"sub": user, "aud": "authenticated", "role": "authenticated",
                                "exp": now.as_secs() + 600});
        claims.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        hs256(&claims, &self.stack.jwt_secret)
    }

    /// `method /functions/v1/<path>` as `user` (with a JSON body when given).
    pub async fn call(&self, user: Uuid, method: &str, path: &str, body: Option<Value>) -> Answer {
        self.call_with_token(&self.token(user), method, path, body).await
    }

    pub async fn call_with_token(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        self.call_at(&self.stack.api_url, token, method, path, body).await
    }

    /// Like [`Self::call_with_token`] against another host serving the functions at `base`.
    pub async fn call_at(
        &self,
        base: &str,
        token: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request =
            self.http.request(method, format!("{base}/functions/v1/{path}")).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text:?}"));
        Answer { status, body }
    }
}
