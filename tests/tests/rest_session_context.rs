//! `/rest/v1/rpc/session_context` as the sign-in functions call it: with the access token of a
//! fresh password grant. The access rules per case are proven in pgTAP
//! (`051_session_context.sql`, `052_lapsed_subscription_read_only.sql`); here, that the context
//! reaches HTTP whole for the demo users and a user not yet in an organization, that anon is
//! refused, and that a lapsed organization's read-only session is read-only through `/rest/v1`.

mod auth_support;
mod support;

use auth_support::{Auth, PASSWORD, fresh_email};
use reqwest::Method;
use serde_json::{Value, json};
use support::rest::Rest;

const DEMO_PASSWORD: &str = "salespulse-demo";

async fn access_token(auth: &Auth, email: &str, password: &str) -> String {
    let response = auth.password_grant(email, password).await;
    assert_eq!(response.status(), 200, "signing in {email}");
    let session: Value = response.json().await.unwrap();
    session["access_token"].as_str().unwrap().to_owned()
}

async fn context_of(token: &str) -> Value {
    let answer =
        Rest::new().send(Method::POST, "rpc/session_context", Some(token), Some(json!({}))).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.json()
}

#[tokio::test]
async fn a_demo_rep_gets_their_role_organization_team_plan_flags_and_full_access() {
    let auth = Auth::new();
    let token = access_token(&auth, "rep@demo.salespulse.test", DEMO_PASSWORD).await;
    let context = context_of(&token).await;
    assert_eq!(context["user"]["email"], "rep@demo.salespulse.test");
    assert_eq!(context["user"]["display_name"], "Rico Rep");
    assert_eq!(context["platform_admin"], false);
    assert_eq!(context["role"], "rep");
    assert_eq!(context["org"]["name"], "Demo Realty");
    assert_eq!(context["org"]["status"], "active");
    assert_eq!(context["teams"].as_array().unwrap().len(), 1, "the rep's own team: {context}");
    assert_eq!(context["plan"]["key"], "enterprise");
    assert_eq!(context["plan"]["users"], 5);
    assert_eq!(context["flags"]["what_if"], true, "the enterprise plan turns what_if on");
    assert_eq!(context["access"], json!({"mode": "full", "reason": null, "warnings": []}));
}

#[tokio::test]
async fn the_platform_admin_and_a_user_in_no_organization_get_full_access_without_an_org() {
    let auth = Auth::new();
    let staff =
        context_of(&access_token(&auth, "staff@salespulse.test", DEMO_PASSWORD).await).await;
    assert_eq!(staff["platform_admin"], true);
    assert_eq!(staff["access"]["mode"], "full");

    let email = fresh_email("context");
    auth.signup(&email).await;
    let newcomer = context_of(&access_token(&auth, &email, PASSWORD).await).await;
    assert_eq!(newcomer["user"]["email"], email.as_str());
    for absent in ["org", "role", "plan"] {
        assert_eq!(newcomer[absent], Value::Null, "{absent}: {newcomer}");
    }
    assert_eq!(newcomer["teams"], json!([]));
    assert_eq!(newcomer["access"]["mode"], "full");
}

#[tokio::test]
async fn a_get_answers_the_same_context_and_anon_is_refused() {
    let auth = Auth::new();
    let token = access_token(&auth, "manager@demo.salespulse.test", DEMO_PASSWORD).await;
    let rest = Rest::new();
    let by_get = rest.send(Method::GET, "rpc/session_context", Some(&token), None).await;
    assert_eq!(by_get.status, 200, "{}", by_get.text);
    assert_eq!(by_get.json(), context_of(&token).await);
    assert_eq!(by_get.json()["role"], "team_manager");

    rest.send(Method::POST, "rpc/session_context", None, None).await.assert_error(401, "42501");
}

#[tokio::test]
async fn a_member_of_a_lapsed_organization_reads_but_cannot_write_through_rest() {
    let auth = Auth::new();
    let email = fresh_email("lapsed");
    let user_id = auth.signup(&email).await["user"]["id"].as_str().unwrap().to_owned();
    let rest = Rest::new();
    let slug = format!("lapsed-{}", uuid::Uuid::new_v4().simple());
    rest.owner()
        .await
        .batch_execute(&format!(
            "insert into organizations (name, slug, plan_key) values ('Lapsed', '{slug}', 'team');
             insert into memberships (org_id, user_id)
             select id, '{user_id}' from organizations where slug = '{slug}';
             insert into subscriptions (org_id, plan_key, status, grace_until)
             select id, 'team', 'past_due', now() - interval '1 hour' from organizations
              where slug = '{slug}';"
        ))
        .await
        .unwrap();
    let token = access_token(&auth, &email, PASSWORD).await;

    let context = context_of(&token).await;
    assert_eq!(
        context["access"],
        json!({"mode": "read_only", "reason": "payment_required", "warnings": []})
    );
    let reads = rest.send(Method::GET, "subscriptions?select=status", Some(&token), None).await;
    assert_eq!(reads.status, 200, "{}", reads.text);
    assert_eq!(reads.json(), json!([{"status": "past_due"}]), "billing stays readable");
    let activity = json!({"type": "call", "occurred_on": "2026-03-03"});
    rest.send(Method::POST, "activities", Some(&token), Some(activity))
        .await
        .assert_error(403, "42501");
}
