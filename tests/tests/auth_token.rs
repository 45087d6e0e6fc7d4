//! `/auth/v1/token`: the password grant and the refresh-token grant with rotation and reuse.

mod auth_support;
mod support;

use std::time::{Duration, Instant};

use auth_support::{Auth, PASSWORD, error_of, fresh_email};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn the_password_grant_opens_a_new_session() {
    let auth = Auth::new();
    let email = fresh_email("grant");
    let signup = auth.signup(&email).await;
    let response = auth.password_grant(&email.to_uppercase(), PASSWORD).await;
    assert_eq!(response.status(), 200);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["user"]["id"], signup["user"]["id"]);
    assert!(session["user"]["last_sign_in_at"].is_string());
    let first = auth.claims(signup["access_token"].as_str().unwrap());
    let second = auth.claims(session["access_token"].as_str().unwrap());
    assert_ne!(first["session_id"], second["session_id"]);
    assert_eq!(second["amr"][0]["method"], "password");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_one_answer_in_comparable_time() {
    let auth = Auth::new();
    let email = fresh_email("enum");
    auth.signup(&email).await;
    // Warm up connections and the dummy hash before timing.
    auth.password_grant(&fresh_email("warm"), PASSWORD).await;
    let mut timings = Vec::new();
    let mut answers = Vec::new();
    for _ in 0..3 {
        for (who, password) in
            [(email.clone(), "wrong-password"), (fresh_email("nobody"), PASSWORD)]
        {
            let started = Instant::now();
            let response = auth.password_grant(&who, password).await;
            timings.push(started.elapsed());
            answers.push(error_of(response).await);
        }
    }
    for answer in &answers {
        assert_eq!(
            answer,
            &(400, "invalid_credentials".into(), "Invalid login credentials".into())
        );
    }
    let wrong: Duration = timings.iter().step_by(2).sum();
    let unknown: Duration = timings.iter().skip(1).step_by(2).sum();
    let ratio = wrong.as_secs_f64() / unknown.as_secs_f64();
    // Both run one bcrypt verification (tens of ms); without the dummy hash the unknown
    // address would answer in about a millisecond.
    assert!((0.5..2.0).contains(&ratio), "wrong {wrong:?} vs unknown {unknown:?}");
    assert!(unknown / 3 > Duration::from_millis(10), "unknown e-mails ran no bcrypt: {unknown:?}");
}

#[tokio::test]
async fn a_hosted_users_2a_hash_verifies() {
    let auth = Auth::new();
    let email = fresh_email("hosted");
    let user_id = uuid::Uuid::new_v4();
    // pgcrypto's bcrypt writes `$2a$` hashes, as Go's bcrypt (GoTrue) does.
    auth.db()
        .await
        .execute(
            "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, \
               email_confirmed_at, raw_app_meta_data, raw_user_meta_data, created_at, updated_at) \
             values ('00000000-0000-0000-0000-000000000000', $1, 'authenticated', 'authenticated', \
               $2, extensions.crypt($3, extensions.gen_salt('bf', 10)), now(), \
               '{\"provider\":\"email\",\"providers\":[\"email\"]}', '{}', now(), now())",
            &[&user_id, &email, &PASSWORD],
        )
        .await
        .unwrap();
    let response = auth.password_grant(&email, PASSWORD).await;
    assert_eq!(response.status(), 200);
    let session: Value = response.json().await.unwrap();
    assert_eq!(session["user"]["id"], user_id.to_string());
}

#[tokio::test]
async fn an_unsupported_grant_and_a_missing_refresh_token_are_refused() {
    let auth = Auth::new();
    let response = auth
        .request(Method::POST, "/token?grant_type=magic")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(error_of(response).await.0, 400);
    let response = auth.refresh("").await;
    assert_eq!(error_of(response).await.1, "validation_failed");
    let response = auth.refresh("nosuchtoken1").await;
    let (status, code, msg) = error_of(response).await;
    assert_eq!((status, code.as_str()), (400, "refresh_token_not_found"));
    assert_eq!(msg, "Invalid Refresh Token: Refresh Token Not Found");
}

#[tokio::test]
async fn a_refresh_rotates_the_token_within_the_same_session() {
    let auth = Auth::new();
    let signup = auth.signup(&fresh_email("rotate")).await;
    let first = signup["refresh_token"].as_str().unwrap();
    let response = auth.refresh(first).await;
    assert_eq!(response.status(), 200);
    let refreshed: Value = response.json().await.unwrap();
    let second = refreshed["refresh_token"].as_str().unwrap();
    assert_ne!(first, second);
    let before = auth.claims(signup["access_token"].as_str().unwrap());
    let after = auth.claims(refreshed["access_token"].as_str().unwrap());
    assert_eq!(before["session_id"], after["session_id"]);
    assert_eq!(after["amr"][0]["method"], "password");

    let db = auth.db().await;
    let rows = db
        .query(
            "select token, revoked, parent from auth.refresh_tokens where token in ($1, $2) \
             order by id",
            &[&first, &second],
        )
        .await
        .unwrap();
    let rows: Vec<(String, bool, Option<String>)> =
        rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(rows, [(first.into(), true, None), (second.into(), false, Some(first.into()))]);
}

#[tokio::test]
async fn the_parent_of_the_active_token_hands_back_the_same_child() {
    let auth = Auth::new();
    let signup = auth.signup(&fresh_email("retry")).await;
    let first = signup["refresh_token"].as_str().unwrap();
    let child: Value = auth.refresh(first).await.json().await.unwrap();
    // The client lost the answer and retries with the old token: it gets the same child.
    let retry: Value = auth.refresh(first).await.json().await.unwrap();
    assert_eq!(retry["refresh_token"], child["refresh_token"]);
}

/// Signs up and refreshes twice: (signup session, first, second, third refresh token).
async fn three_generations(auth: &Auth) -> (Value, String, String, String) {
    let signup = auth.signup(&fresh_email("reuse")).await;
    let first = signup["refresh_token"].as_str().unwrap().to_owned();
    let second: Value = auth.refresh(&first).await.json().await.unwrap();
    let second = second["refresh_token"].as_str().unwrap().to_owned();
    let third: Value = auth.refresh(&second).await.json().await.unwrap();
    let third = third["refresh_token"].as_str().unwrap().to_owned();
    (signup, first, second, third)
}

#[tokio::test]
async fn a_revoked_token_reused_within_the_interval_still_refreshes() {
    // GoTrue allows it for clients racing each other (two tabs) for 10 seconds.
    let auth = Auth::new();
    let (_, first, _, third) = three_generations(&auth).await;
    let response = auth.refresh(&first).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_ne!(body["refresh_token"], third.as_str());
}

#[tokio::test]
async fn reusing_a_revoked_token_after_the_interval_revokes_the_whole_session() {
    let auth = Auth::new();
    let (signup, first, _, third) = three_generations(&auth).await;
    // `first` is neither active nor the active token's parent. Once the reuse interval has
    // passed, it is an attack: refused, and the session's tokens revoked.
    let db = auth.db().await;
    db.execute(
        "update auth.refresh_tokens set updated_at = now() - interval '11 seconds' where token = $1",
        &[&first],
    )
    .await
    .unwrap();
    let (status, code, msg) = error_of(auth.refresh(&first).await).await;
    assert_eq!((status, code.as_str()), (400, "refresh_token_already_used"));
    assert_eq!(msg, "Invalid Refresh Token: Already Used");
    let session_id = auth.claims(signup["access_token"].as_str().unwrap())["session_id"]
        .as_str()
        .unwrap()
        .parse::<uuid::Uuid>()
        .unwrap();
    let live: i64 = db
        .query_one(
            "select count(*) from auth.refresh_tokens where session_id = $1 and not revoked",
            &[&session_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(live, 0);

    // The holder of the newest token is locked out too, once the reuse interval since the
    // revocation has passed (GoTrue stamps the revocation time on every token of the family).
    db.execute(
        "update auth.refresh_tokens set updated_at = now() - interval '11 seconds' \
         where session_id = $1",
        &[&session_id],
    )
    .await
    .unwrap();
    let (_, code, _) = error_of(auth.refresh(&third).await).await;
    assert_eq!(code, "refresh_token_already_used");
}

#[tokio::test]
async fn an_unconfirmed_or_banned_user_cannot_sign_in() {
    let auth = Auth::new();
    let email = fresh_email("unconfirmed");
    let created = auth
        .admin(Method::POST, "/admin/users")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let created: Value = created.json().await.unwrap();
    let (_, code, _) = error_of(auth.password_grant(&email, PASSWORD).await).await;
    assert_eq!(code, "email_not_confirmed");

    let id = created["id"].as_str().unwrap();
    let banned = auth
        .admin(Method::PUT, &format!("/admin/users/{id}"))
        .json(&json!({"email_confirm": true, "ban_duration": "24h"}))
        .send()
        .await
        .unwrap();
    assert_eq!(banned.status(), 200);
    let (_, code, _) = error_of(auth.password_grant(&email, PASSWORD).await).await;
    assert_eq!(code, "user_banned");
    // A wrong password still gets the uniform answer, banned or not.
    let (_, code, _) = error_of(auth.password_grant(&email, "wrong-password").await).await;
    assert_eq!(code, "invalid_credentials");

    let lifted = auth
        .admin(Method::PUT, &format!("/admin/users/{id}"))
        .json(&json!({"ban_duration": "none"}))
        .send()
        .await
        .unwrap();
    assert_eq!(lifted.status(), 200);
    assert_eq!(auth.password_grant(&email, PASSWORD).await.status(), 200);
}
