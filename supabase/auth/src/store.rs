//! Reads and writes of `auth.users`, `auth.identities`, `auth.sessions`, `auth.refresh_tokens`
//! and `auth.mfa_amr_claims`, on the owner connection, as GoTrue's models do them.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::AuthResult;
use crate::jwt::AmrEntry;
use crate::secure;
use crate::user::{IDENTITY_COLUMNS, Identity, USER_COLUMNS, User};

/// A user's fields at creation.
pub struct NewUser<'a> {
    pub id: Uuid,
    pub aud: &'a str,
    pub role: &'a str,
    pub email: &'a str,
    pub encrypted_password: &'a str,
    pub confirmed: bool,
    pub app_metadata: Value,
    pub user_metadata: Value,
    pub banned_until: Option<DateTime<Utc>>,
}

/// Loads `user.identities`.
async fn with_identities(db: &impl GenericClient, mut user: User) -> AuthResult<User> {
    let sql = format!(
        "select {IDENTITY_COLUMNS} from auth.identities where user_id = $1 order by created_at"
    );
    for row in db.query(&sql, &[&user.id]).await? {
        user.identities.push(Identity::from_row(&row)?);
    }
    Ok(user)
}

pub async fn user_by_id(db: &impl GenericClient, id: Uuid) -> AuthResult<Option<User>> {
    let sql = format!("select {USER_COLUMNS} from auth.users where id = $1");
    match db.query_opt(&sql, &[&id]).await? {
        Some(row) => Ok(Some(with_identities(db, User::from_row(&row)?).await?)),
        None => Ok(None),
    }
}

/// The non-SSO user of `aud` with this e-mail (compared lower-cased, as GoTrue stores it).
pub async fn user_by_email(
    db: &impl GenericClient,
    email: &str,
    aud: &str,
) -> AuthResult<Option<User>> {
    let sql = format!(
        "select {USER_COLUMNS} from auth.users \
         where lower(email) = lower($1) and aud = $2 and is_sso_user = false"
    );
    match db.query_opt(&sql, &[&email, &aud]).await? {
        Some(row) => Ok(Some(with_identities(db, User::from_row(&row)?).await?)),
        None => Ok(None),
    }
}

/// Whether another user holds this e-mail (any audience: the unique index spans them).
pub async fn email_taken(db: &impl GenericClient, email: &str, except: Uuid) -> AuthResult<bool> {
    let row = db
        .query_opt(
            "select 1 from auth.users where lower(email) = lower($1) and is_sso_user = false \
             and id <> $2",
            &[&email, &except],
        )
        .await?;
    Ok(row.is_some())
}

/// Inserts the user and its e-mail identity, as GoTrue's sign-up and admin create do.
/// `None` when the address was taken meanwhile (the unique index decides races).
pub async fn insert_user(db: &impl GenericClient, new: NewUser<'_>) -> AuthResult<Option<User>> {
    let inserted = db
        .execute(
            "insert into auth.users (instance_id, id, aud, role, email, encrypted_password, \
           email_confirmed_at, raw_app_meta_data, raw_user_meta_data, banned_until, \
           created_at, updated_at, is_sso_user, is_anonymous) \
         values ('00000000-0000-0000-0000-000000000000', $1, $2, $3, $4, $5, \
           case when $6 then now() end, $7, $8, $9, now(), now(), false, false)",
            &[
                &new.id,
                &new.aud,
                &new.role,
                &new.email,
                &new.encrypted_password,
                &new.confirmed,
                &new.app_metadata,
                &new.user_metadata,
                &new.banned_until,
            ],
        )
        .await;
    match inserted {
        Err(error) if error.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            return Ok(None);
        }
        other => other?,
    };
    let identity_data = json!({
        "sub": new.id.to_string(),
        "email": new.email,
        "email_verified": new.confirmed,
        "phone_verified": false,
    });
    db.execute(
        "insert into auth.identities (provider_id, user_id, identity_data, provider, \
           created_at, updated_at) values ($1, $2, $3, 'email', now(), now())",
        &[&new.id.to_string(), &new.id, &identity_data],
    )
    .await?;
    user_by_id(db, new.id).await
}

/// Sets the given columns of `auth.users` and `updated_at`. Column names are ours, never input.
pub async fn update_user(
    db: &impl GenericClient,
    id: Uuid,
    changes: &UserChanges,
) -> AuthResult<()> {
    db.execute(
        "update auth.users set \
           email = coalesce($2, email), \
           encrypted_password = coalesce($3, encrypted_password), \
           raw_user_meta_data = coalesce($4, raw_user_meta_data), \
           raw_app_meta_data = coalesce($5, raw_app_meta_data), \
           role = coalesce($6, role), \
           email_confirmed_at = case when $7 then coalesce(email_confirmed_at, now()) \
                                     else email_confirmed_at end, \
           banned_until = case when $8 then $9 else banned_until end, \
           updated_at = now() \
         where id = $1",
        &[
            &id,
            &changes.email,
            &changes.encrypted_password,
            &changes.user_metadata,
            &changes.app_metadata,
            &changes.role,
            &changes.confirm_email,
            &changes.banned_until.is_some(),
            &changes.banned_until.flatten(),
        ],
    )
    .await?;
    if let Some(email) = &changes.email {
        db.execute(
            "update auth.identities set identity_data = identity_data || jsonb_build_object('email', $2::text), \
               updated_at = now() where user_id = $1 and provider = 'email'",
            &[&id, email],
        )
        .await?;
    }
    Ok(())
}

/// What `update_user` changes; `None` leaves a column as it is.
#[derive(Debug, Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub encrypted_password: Option<String>,
    pub user_metadata: Option<Value>,
    pub app_metadata: Option<Value>,
    pub role: Option<String>,
    pub confirm_email: bool,
    /// `Some(None)` lifts a ban, `Some(Some(t))` bans until `t`.
    pub banned_until: Option<Option<DateTime<Utc>>>,
}

pub async fn record_sign_in(db: &impl GenericClient, user_id: Uuid) -> AuthResult<()> {
    db.execute(
        "update auth.users set last_sign_in_at = now(), updated_at = now() where id = $1",
        &[&user_id],
    )
    .await?;
    db.execute(
        "update auth.identities set last_sign_in_at = now(), updated_at = now() \
         where user_id = $1 and provider = 'email'",
        &[&user_id],
    )
    .await?;
    Ok(())
}

/// A new session with its first refresh token and its `amr` entry. Returns (session id, token).
pub async fn create_session(
    db: &impl GenericClient,
    user_id: Uuid,
    method: &str,
    user_agent: Option<&str>,
) -> AuthResult<(Uuid, String)> {
    let session_id = Uuid::new_v4();
    db.execute(
        "insert into auth.sessions (id, user_id, created_at, updated_at, aal, user_agent) \
         values ($1, $2, now(), now(), 'aal1', $3)",
        &[&session_id, &user_id, &user_agent],
    )
    .await?;
    db.execute(
        "insert into auth.mfa_amr_claims (session_id, created_at, updated_at, \
           authentication_method, id) values ($1, now(), now(), $2, $3)",
        &[&session_id, &method, &Uuid::new_v4()],
    )
    .await?;
    let token = insert_refresh_token(db, user_id, session_id, None).await?;
    Ok((session_id, token))
}

async fn insert_refresh_token(
    db: &impl GenericClient,
    user_id: Uuid,
    session_id: Uuid,
    parent: Option<&str>,
) -> AuthResult<String> {
    let token = secure::refresh_token()?;
    db.execute(
        "insert into auth.refresh_tokens (instance_id, token, user_id, revoked, created_at, \
           updated_at, parent, session_id) \
         values ('00000000-0000-0000-0000-000000000000', $1, $2, false, now(), now(), $3, $4)",
        &[&token, &user_id.to_string(), &parent, &session_id],
    )
    .await?;
    Ok(token)
}

/// The session's `aal` and `amr` claims.
pub async fn session_claims(
    db: &impl GenericClient,
    session_id: Uuid,
) -> AuthResult<(String, Vec<AmrEntry>)> {
    let aal = db
        .query_opt("select aal from auth.sessions where id = $1", &[&session_id])
        .await?
        .and_then(|row| row.get::<_, Option<String>>(0))
        .unwrap_or_else(|| "aal1".to_owned());
    let amr = db
        .query(
            "select authentication_method, extract(epoch from updated_at)::bigint \
             from auth.mfa_amr_claims where session_id = $1 order by updated_at desc",
            &[&session_id],
        )
        .await?
        .iter()
        .map(|row| AmrEntry { method: row.get(0), timestamp: row.get(1) })
        .collect();
    Ok((aal, amr))
}

pub async fn session_exists(db: &impl GenericClient, session_id: Uuid) -> AuthResult<bool> {
    let row = db.query_opt("select 1 from auth.sessions where id = $1", &[&session_id]).await?;
    Ok(row.is_some())
}

/// A refresh token row, locked with its session for the rest of the transaction.
#[derive(Debug)]
pub struct RefreshToken {
    pub id: i64,
    pub token: String,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub revoked: bool,
    pub updated_at: DateTime<Utc>,
    pub session_not_after: Option<DateTime<Utc>>,
}

pub async fn lock_refresh_token(
    db: &impl GenericClient,
    token: &str,
) -> AuthResult<Option<RefreshToken>> {
    let row = db
        .query_opt(
            "select rt.id, rt.token, s.user_id, rt.session_id, coalesce(rt.revoked, false), \
               coalesce(rt.updated_at, rt.created_at, now()), s.not_after \
             from auth.refresh_tokens rt join auth.sessions s on s.id = rt.session_id \
             where rt.token = $1 for update of rt, s",
            &[&token],
        )
        .await?;
    Ok(row.map(|row| RefreshToken {
        id: row.get(0),
        token: row.get(1),
        user_id: row.get(2),
        session_id: row.get(3),
        revoked: row.get(4),
        updated_at: row.get(5),
        session_not_after: row.get(6),
    }))
}

/// The session's newest unrevoked token and its parent.
pub async fn active_refresh_token(
    db: &impl GenericClient,
    session_id: Uuid,
) -> AuthResult<Option<(String, Option<String>)>> {
    let row = db
        .query_opt(
            "select token, parent from auth.refresh_tokens \
             where session_id = $1 and revoked = false order by id desc limit 1",
            &[&session_id],
        )
        .await?;
    Ok(row.map(|row| (row.get(0), row.get(1))))
}

/// Revokes `old` and issues its child in the same session (GoTrue's `GrantRefreshTokenSwap`).
pub async fn swap_refresh_token(db: &impl GenericClient, old: &RefreshToken) -> AuthResult<String> {
    db.execute(
        "update auth.refresh_tokens set revoked = true, updated_at = now() where id = $1",
        &[&old.id],
    )
    .await?;
    insert_refresh_token(db, old.user_id, old.session_id, Some(&old.token)).await
}

/// Revokes every token of the session (GoTrue's `RevokeTokenFamily`, on reuse).
pub async fn revoke_token_family(db: &impl GenericClient, session_id: Uuid) -> AuthResult<()> {
    db.execute(
        "update auth.refresh_tokens set revoked = true, updated_at = now() \
         where session_id = $1 and revoked = false",
        &[&session_id],
    )
    .await?;
    Ok(())
}

pub async fn touch_session(
    db: &impl GenericClient,
    session_id: Uuid,
    user_agent: Option<&str>,
) -> AuthResult<()> {
    db.execute(
        "update auth.sessions set refreshed_at = now() at time zone 'utc', updated_at = now(), \
           user_agent = $2 where id = $1",
        &[&session_id, &user_agent],
    )
    .await?;
    Ok(())
}

/// Which of a user's sessions a logout ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogoutScope {
    Global,
    Local,
    Others,
}

/// Deletes sessions (their refresh tokens and amr claims go with them by cascade).
pub async fn logout(
    db: &impl GenericClient,
    user_id: Uuid,
    current: Option<Uuid>,
    scope: LogoutScope,
) -> AuthResult<()> {
    match (scope, current) {
        (LogoutScope::Local, Some(session)) => {
            db.execute("delete from auth.sessions where id = $1", &[&session]).await?
        }
        (LogoutScope::Others, Some(session)) => {
            db.execute(
                "delete from auth.sessions where user_id = $1 and id <> $2",
                &[&user_id, &session],
            )
            .await?
        }
        _ => db.execute("delete from auth.sessions where user_id = $1", &[&user_id]).await?,
    };
    Ok(())
}

/// One page of users of `aud`, newest first, with the total count.
pub async fn list_users(
    db: &impl GenericClient,
    aud: &str,
    filter: Option<&str>,
    page: i64,
    per_page: i64,
) -> AuthResult<(Vec<User>, i64)> {
    let pattern = filter.map(|f| format!("%{}%", f.replace('\\', "\\\\").replace('%', "\\%")));
    let condition = "aud = $1 and ($2::text is null or email ilike $2 \
                     or raw_user_meta_data ->> 'full_name' ilike $2)";
    let total: i64 = db
        .query_one(&format!("select count(*) from auth.users where {condition}"), &[&aud, &pattern])
        .await?
        .get(0);
    let sql = format!(
        "select {USER_COLUMNS} from auth.users where {condition} \
         order by created_at desc, id limit $3 offset $4"
    );
    let offset = (page - 1).saturating_mul(per_page);
    let mut users = Vec::new();
    for row in db.query(&sql, &[&aud, &pattern, &per_page, &offset]).await? {
        users.push(with_identities(db, User::from_row(&row)?).await?);
    }
    Ok((users, total))
}

pub async fn delete_user(db: &impl GenericClient, id: Uuid) -> AuthResult<()> {
    db.execute("delete from auth.users where id = $1", &[&id]).await?;
    Ok(())
}

/// GoTrue's soft delete: the row stays, marked deleted, with no way to sign in.
pub async fn soft_delete_user(db: &impl GenericClient, id: Uuid) -> AuthResult<()> {
    db.execute(
        "update auth.users set deleted_at = now(), updated_at = now(), email = null, \
           phone = null, encrypted_password = '', raw_user_meta_data = '{}', \
           raw_app_meta_data = '{}' where id = $1 and deleted_at is null",
        &[&id],
    )
    .await?;
    db.execute("delete from auth.identities where user_id = $1", &[&id]).await?;
    db.execute("delete from auth.sessions where user_id = $1", &[&id]).await?;
    Ok(())
}
