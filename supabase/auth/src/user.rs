//! A user and its identities, read from `auth.users`/`auth.identities` and answered in GoTrue's
//! JSON shape.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};
use tokio_postgres::Row;
use uuid::Uuid;

/// The `auth.users` columns this server reads, in the order `User::from_row` expects.
pub const USER_COLUMNS: &str = "id, aud, role, email, encrypted_password, email_confirmed_at, \
    invited_at, confirmation_sent_at, recovery_sent_at, last_sign_in_at, raw_app_meta_data, \
    raw_user_meta_data, created_at, updated_at, phone, phone_confirmed_at, banned_until, \
    deleted_at, is_anonymous";

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub aud: String,
    pub role: String,
    pub email: Option<String>,
    pub encrypted_password: Option<String>,
    pub email_confirmed_at: Option<DateTime<Utc>>,
    pub invited_at: Option<DateTime<Utc>>,
    pub confirmation_sent_at: Option<DateTime<Utc>>,
    pub recovery_sent_at: Option<DateTime<Utc>>,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub app_metadata: Value,
    pub user_metadata: Value,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub phone: Option<String>,
    pub phone_confirmed_at: Option<DateTime<Utc>>,
    pub banned_until: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    pub is_anonymous: bool,
    pub identities: Vec<Identity>,
}

#[derive(Debug, Clone)]
pub struct Identity {
    pub id: Uuid,
    pub provider_id: String,
    pub user_id: Uuid,
    pub identity_data: Value,
    pub provider: String,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub email: Option<String>,
}

pub const IDENTITY_COLUMNS: &str = "id, provider_id, user_id, identity_data, provider, \
    last_sign_in_at, created_at, updated_at, email";

impl User {
    pub fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            id: row.try_get(0)?,
            aud: row.try_get::<_, Option<String>>(1)?.unwrap_or_default(),
            role: row.try_get::<_, Option<String>>(2)?.unwrap_or_default(),
            email: row.try_get(3)?,
            encrypted_password: row.try_get(4)?,
            email_confirmed_at: row.try_get(5)?,
            invited_at: row.try_get(6)?,
            confirmation_sent_at: row.try_get(7)?,
            recovery_sent_at: row.try_get(8)?,
            last_sign_in_at: row.try_get(9)?,
            app_metadata: row.try_get::<_, Option<Value>>(10)?.unwrap_or_else(|| json!({})),
            user_metadata: row.try_get::<_, Option<Value>>(11)?.unwrap_or_else(|| json!({})),
            created_at: row.try_get(12)?,
            updated_at: row.try_get(13)?,
            phone: row.try_get(14)?,
            phone_confirmed_at: row.try_get(15)?,
            banned_until: row.try_get(16)?,
            deleted_at: row.try_get(17)?,
            is_anonymous: row.try_get(18)?,
            identities: Vec::new(),
        })
    }

    pub fn email(&self) -> &str {
        self.email.as_deref().unwrap_or_default()
    }

    pub fn phone(&self) -> &str {
        self.phone.as_deref().unwrap_or_default()
    }

    pub fn is_confirmed(&self) -> bool {
        self.email_confirmed_at.is_some()
    }

    pub fn is_banned(&self, now: DateTime<Utc>) -> bool {
        self.banned_until.is_some_and(|until| until > now)
    }

    /// The user as GoTrue's `User` marshals it: optional timestamps left out when unset.
    pub fn to_json(&self) -> Value {
        let mut user = Map::new();
        user.insert("id".into(), json!(self.id));
        user.insert("aud".into(), json!(self.aud));
        user.insert("role".into(), json!(self.role));
        user.insert("email".into(), json!(self.email()));
        put_time(&mut user, "email_confirmed_at", self.email_confirmed_at);
        put_time(&mut user, "invited_at", self.invited_at);
        user.insert("phone".into(), json!(self.phone()));
        put_time(&mut user, "phone_confirmed_at", self.phone_confirmed_at);
        put_time(&mut user, "confirmation_sent_at", self.confirmation_sent_at);
        put_time(&mut user, "confirmed_at", self.email_confirmed_at.or(self.phone_confirmed_at));
        put_time(&mut user, "recovery_sent_at", self.recovery_sent_at);
        put_time(&mut user, "last_sign_in_at", self.last_sign_in_at);
        user.insert("app_metadata".into(), self.app_metadata.clone());
        user.insert("user_metadata".into(), self.user_metadata.clone());
        user.insert(
            "identities".into(),
            Value::Array(self.identities.iter().map(Identity::to_json).collect()),
        );
        put_time(&mut user, "created_at", self.created_at);
        put_time(&mut user, "updated_at", self.updated_at);
        put_time(&mut user, "banned_until", self.banned_until);
        put_time(&mut user, "deleted_at", self.deleted_at);
        user.insert("is_anonymous".into(), json!(self.is_anonymous));
        Value::Object(user)
    }
}

impl Identity {
    pub fn from_row(row: &Row) -> Result<Self, tokio_postgres::Error> {
        Ok(Self {
            id: row.try_get(0)?,
            provider_id: row.try_get(1)?,
            user_id: row.try_get(2)?,
            identity_data: row.try_get(3)?,
            provider: row.try_get(4)?,
            last_sign_in_at: row.try_get(5)?,
            created_at: row.try_get(6)?,
            updated_at: row.try_get(7)?,
            email: row.try_get(8)?,
        })
    }

    fn to_json(&self) -> Value {
        let mut identity = Map::new();
        identity.insert("identity_id".into(), json!(self.id));
        identity.insert("id".into(), json!(self.provider_id));
        identity.insert("user_id".into(), json!(self.user_id));
        identity.insert("identity_data".into(), self.identity_data.clone());
        identity.insert("provider".into(), json!(self.provider));
        put_time(&mut identity, "last_sign_in_at", self.last_sign_in_at);
        put_time(&mut identity, "created_at", self.created_at);
        put_time(&mut identity, "updated_at", self.updated_at);
        if let Some(email) = &self.email {
            identity.insert("email".into(), json!(email));
        }
        Value::Object(identity)
    }
}

fn put_time(object: &mut Map<String, Value>, key: &str, value: Option<DateTime<Utc>>) {
    if let Some(time) = value {
        object.insert(key.into(), json!(timestamp(time)));
    }
}

/// RFC 3339 in UTC with the sub-second digits Postgres keeps, like Go's time marshalling.
pub fn timestamp(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// GoTrue's metadata update: top-level keys replaced, keys set to null removed.
pub fn merge_metadata(current: &Value, updates: &Map<String, Value>) -> Value {
    let mut merged = current.as_object().cloned().unwrap_or_default();
    for (key, value) in updates {
        if value.is_null() {
            merged.remove(key);
        } else {
            merged.insert(key.clone(), value.clone());
        }
    }
    Value::Object(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn user() -> User {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap();
        User {
            id: Uuid::nil(),
            aud: "authenticated".into(),
            role: "authenticated".into(),
            email: Some("a@b.co".into()),
            encrypted_password: Some("$2a$10$secret".into()),
            email_confirmed_at: Some(at),
            invited_at: None,
            confirmation_sent_at: None,
            recovery_sent_at: None,
            last_sign_in_at: None,
            app_metadata: json!({"provider": "email", "providers": ["email"]}),
            user_metadata: json!({"name": "A"}),
            created_at: Some(at),
            updated_at: Some(at),
            phone: None,
            phone_confirmed_at: None,
            banned_until: None,
            deleted_at: None,
            is_anonymous: false,
            identities: Vec::new(),
        }
    }

    #[test]
    fn the_json_never_carries_the_password_hash() {
        let json = user().to_json().to_string();
        assert!(!json.contains("secret"), "{json}");
    }

    #[test]
    fn unset_times_are_left_out_and_set_ones_are_rfc3339() {
        let json = user().to_json();
        assert_eq!(json["email_confirmed_at"], "2026-01-02T03:04:05Z");
        assert_eq!(json["confirmed_at"], "2026-01-02T03:04:05Z");
        assert!(json.get("last_sign_in_at").is_none());
        assert_eq!(json["phone"], "");
        assert_eq!(json["identities"], json!([]));
    }

    #[test]
    fn a_ban_holds_until_its_end() {
        let mut banned = user();
        let now = Utc::now();
        banned.banned_until = Some(now + chrono::Duration::hours(1));
        assert!(banned.is_banned(now));
        assert!(!banned.is_banned(now + chrono::Duration::hours(2)));
        assert!(!user().is_banned(now));
    }

    #[test]
    fn metadata_updates_replace_keys_and_null_removes_them() {
        let updates = json!({"b": 2, "a": null});
        let merged = merge_metadata(&json!({"a": 1, "c": 3}), updates.as_object().unwrap());
        assert_eq!(merged, json!({"b": 2, "c": 3}));
    }
}
