//! The seed from data/ against the stack's real database: `local-stack db setup` seeded it
//! already; seeding again must change nothing, and the demo users can sign in with the
//! documented password.

mod support;

use std::path::Path;

use support::Stack;
use tokio_postgres::NoTls;

/// A digest of every row the seed owns: the catalogue, the global SIMs, the demo organization.
const SEEDED_ROWS_DIGEST: &str = "
    select md5(string_agg(r, '|' order by r)) from (
      select t::text r from public.plans t
      union all select t::text from public.add_ons t
      union all select t::text from public.sims t where org_id is null
      union all select st::text from public.sim_stages st join public.sims s on s.id = st.sim_id
                 where s.org_id is null
      union all select o::text from public.organizations o where slug = 'demo-realty'
      union all select t::text from public.teams t
                 join public.organizations o on o.id = t.org_id and o.slug = 'demo-realty'
      union all select m::text from public.memberships m
                 join public.organizations o on o.id = m.org_id and o.slug = 'demo-realty'
      union all select (u.id, u.email, u.encrypted_password, u.updated_at)::text from auth.users u
                 where u.email like '%salespulse.test'
    ) rows";

async fn connect() -> tokio_postgres::Client {
    let (client, connection) =
        tokio_postgres::connect(&Stack::from_status().db_url, NoTls).await.expect("database");
    tokio::spawn(connection);
    client
}

fn seed_sql() -> String {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
    seed::Seed::load(&data, true).expect("data/ is valid").to_sql()
}

#[tokio::test]
async fn seeding_twice_changes_nothing() {
    let client = connect().await;
    let before: String = client.query_one(SEEDED_ROWS_DIGEST, &[]).await.unwrap().get(0);
    client.batch_execute(&format!("begin;\n{}\ncommit;", seed_sql())).await.unwrap();
    let after: String = client.query_one(SEEDED_ROWS_DIGEST, &[]).await.unwrap().get(0);
    assert_eq!(before, after);
}

#[tokio::test]
async fn the_demo_organization_has_every_role_and_the_documented_password() {
    let client = connect().await;
    let roles: Vec<String> = client
        .query(
            "select m.role::text from public.memberships m
               join public.organizations o on o.id = m.org_id and o.slug = 'demo-realty'
              order by 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(roles, ["enterprise_admin", "enterprise_tm", "rep", "rep", "team_manager"]);
    let passwords_ok: i64 = client
        .query_one(
            "select count(*) from auth.users
              where email like '%salespulse.test'
                and encrypted_password = extensions.crypt('salespulse-demo', encrypted_password)",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(passwords_ok, 6, "five members and one platform admin");
    let staff: i64 = client
        .query_one(
            "select count(*) from public.platform_admins a join auth.users u on u.id = a.user_id
              where u.email = 'staff@salespulse.test'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(staff, 1);
}
