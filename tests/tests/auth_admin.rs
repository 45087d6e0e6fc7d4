//! `/auth/v1/admin/users`: only for the service_role key.

mod auth_support;
mod support;

use auth_support::{Auth, PASSWORD, error_of, fresh_email};
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn admin_endpoints_refuse_everyone_but_an_admin_role() {
    let auth = Auth::new();
    let session = auth.signup(&fresh_email("notadmin")).await;
    let user_token = session["access_token"].as_str().unwrap();
    let id = session["user"]["id"].as_str().unwrap();
    let routes = [
        (Method::GET, "/admin/users".to_owned()),
        (Method::POST, "/admin/users".to_owned()),
        (Method::GET, format!("/admin/users/{id}")),
        (Method::PUT, format!("/admin/users/{id}")),
        (Method::DELETE, format!("/admin/users/{id}")),
    ];
    for (method, path) in &routes {
        let none = auth.request(method.clone(), path).send().await.unwrap();
        assert_eq!(error_of(none).await.1, "no_authorization", "{method} {path}");
        for token in [user_token, auth.stack.anon_key.as_str()] {
            let response =
                auth.request(method.clone(), path).bearer_auth(token).send().await.unwrap();
            let (status, code, msg) = error_of(response).await;
            assert_eq!(
                (status, code.as_str(), msg.as_str()),
                (403, "not_admin", "User not allowed")
            );
        }
    }
    // The user is still there.
    assert_eq!(auth.get_user(user_token).await.status(), 200);
}

#[tokio::test]
async fn an_admin_creates_reads_updates_and_deletes_a_user() {
    let auth = Auth::new();
    let email = fresh_email("Managed");
    let created = auth
        .admin(Method::POST, "/admin/users")
        .json(&json!({
            "email": email,
            "password": PASSWORD,
            "email_confirm": true,
            "user_metadata": {"full_name": "Max"},
            "app_metadata": {"org_role": "manager"},
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200);
    let user: Value = created.json().await.unwrap();
    assert_eq!(user["email"], email.to_lowercase());
    assert_eq!(user["user_metadata"], json!({"full_name": "Max"}));
    assert_eq!(
        user["app_metadata"],
        json!({"provider": "email", "providers": ["email"], "org_role": "manager"})
    );
    let id = user["id"].as_str().unwrap().to_owned();
    let path = format!("/admin/users/{id}");

    // The claims carry the app metadata the admin set.
    let session: Value = auth.password_grant(&email, PASSWORD).await.json().await.unwrap();
    let claims = auth.claims(session["access_token"].as_str().unwrap());
    assert_eq!(claims["app_metadata"]["org_role"], "manager");

    let duplicate = auth
        .admin(Method::POST, "/admin/users")
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_of(duplicate).await,
        (
            422,
            "email_exists".into(),
            "A user with this email address has already been registered".into()
        )
    );

    let fetched: Value = auth.admin(Method::GET, &path).send().await.unwrap().json().await.unwrap();
    assert_eq!(fetched["id"], id.as_str());

    let updated: Value = auth
        .admin(Method::PUT, &path)
        .json(&json!({"app_metadata": {"org_role": null, "plan": "pro"}, "role": "authenticated"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        updated["app_metadata"],
        json!({"provider": "email", "providers": ["email"], "plan": "pro"})
    );

    // A new password from the admin ends the user's sessions.
    let reset = auth.admin(Method::PUT, &path).json(&json!({"password": "reset-by-admin"})).send();
    assert_eq!(reset.await.unwrap().status(), 200);
    let (_, code, _) =
        error_of(auth.get_user(session["access_token"].as_str().unwrap()).await).await;
    assert_eq!(code, "session_not_found");
    assert_eq!(auth.password_grant(&email, "reset-by-admin").await.status(), 200);

    let deleted = auth.admin(Method::DELETE, &path).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    assert_eq!(deleted.json::<Value>().await.unwrap(), json!({}));
    let gone = auth.admin(Method::GET, &path).send().await.unwrap();
    assert_eq!(error_of(gone).await, (404, "user_not_found".into(), "User not found".into()));
    let bad_id = auth.admin(Method::GET, "/admin/users/not-a-uuid").send().await.unwrap();
    assert_eq!(error_of(bad_id).await.0, 404);
}

#[tokio::test]
async fn admin_create_validates_its_input() {
    let auth = Auth::new();
    let post = |body: Value| auth.admin(Method::POST, "/admin/users").json(&body).send();
    assert_eq!(error_of(post(json!({})).await.unwrap()).await.1, "validation_failed");
    assert_eq!(error_of(post(json!({"email": "x"})).await.unwrap()).await.1, "validation_failed");
    let bad_ban = post(json!({"email": fresh_email("ban"), "ban_duration": "forever"}));
    assert_eq!(error_of(bad_ban.await.unwrap()).await.1, "validation_failed");
    let soft =
        auth.admin(Method::POST, "/admin/users").json(&json!({"email": fresh_email("soft")}));
    let user: Value = soft.send().await.unwrap().json().await.unwrap();
    let path = format!("/admin/users/{}", user["id"].as_str().unwrap());
    let deleted = auth.admin(Method::DELETE, &path).json(&json!({"should_soft_delete": true}));
    assert_eq!(deleted.send().await.unwrap().status(), 200);
    let after: Value = auth.admin(Method::GET, &path).send().await.unwrap().json().await.unwrap();
    assert!(after["deleted_at"].is_string());
    assert_eq!(after["email"], "");
}

#[tokio::test]
async fn the_user_list_pages_with_gotrues_headers() {
    let auth = Auth::new();
    let tag = format!("page{}", uuid::Uuid::new_v4().simple());
    for n in 0..3 {
        auth.signup(&format!("{tag}-{n}@example.com")).await;
    }
    let response = auth
        .admin(Method::GET, &format!("/admin/users?page=1&per_page=2&filter={tag}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-total-count"], "3");
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains("page=2&per_page=2>; rel=\"next\""), "{link}");
    assert!(link.contains("page=2&per_page=2>; rel=\"last\""), "{link}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["aud"], "authenticated");
    let first_page: Vec<&str> =
        body["users"].as_array().unwrap().iter().map(|u| u["email"].as_str().unwrap()).collect();
    // Newest first.
    assert_eq!(first_page, [format!("{tag}-2@example.com"), format!("{tag}-1@example.com")]);

    let second: Value = auth
        .admin(Method::GET, &format!("/admin/users?page=2&per_page=2&filter={tag}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(second["users"].as_array().unwrap().len(), 1);
    let bad = auth.admin(Method::GET, "/admin/users?page=x").send().await.unwrap();
    assert_eq!(error_of(bad).await.1, "validation_failed");
}
