//! Running one request against Postgres as PostgREST does: one transaction (read-only for reads),
//! one statement setting the role, its settings and the request GUCs, then the planned statement.

use deadpool_postgres::{Pool, PoolError};
use http::StatusCode;
use serde_json::Value;
use tokio_postgres::types::{ToSql, Type};

use crate::error::ApiError;
use crate::plan::{BODY, LOCATION, PAGE_TOTAL, RESPONSE_HEADERS, RESPONSE_STATUS, TOTAL};
use crate::sql::{Sql, TextParam, ident};

/// What the request sets with `set_config(…, true)` before its statement runs.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSettings {
    pub role: String,
    pub claims: Value,
    pub method: String,
    pub path: String,
    /// Request headers as one JSON object with lower-case names.
    pub headers: Value,
    pub cookies: Value,
    /// The role's own settings (`alter role … set …`), such as `statement_timeout`.
    pub role_settings: Vec<(String, String)>,
    /// The `db-pre-request` function (`schema.name`), if configured.
    pub pre_request: Option<String>,
}

impl RequestSettings {
    /// The single `select set_config(…)` statement and its parameters.
    pub fn statement(&self) -> Sql {
        let mut sql = Sql::default();
        sql.push("select ");
        let pairs = [
            ("role", self.role.clone()),
            ("request.jwt.claims", self.claims.to_string()),
            ("request.method", self.method.clone()),
            ("request.path", self.path.clone()),
            ("request.headers", self.headers.to_string()),
            ("request.cookies", self.cookies.to_string()),
        ];
        let settings = pairs
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .chain(self.role_settings.iter().cloned());
        for (i, (key, value)) in settings.enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("set_config(").bind(key).push(", ").bind(value).push(", true)");
        }
        sql
    }

    /// `select "schema"."name"()`: the pre-request call, run after the settings; its error, if
    /// any, is the request's answer.
    pub fn pre_request_statement(&self) -> Option<String> {
        let function = self.pre_request.as_deref()?;
        let qualified: Vec<String> = function.split('.').map(ident).collect();
        Some(format!("select {}()", qualified.join(".")))
    }
}

/// The envelope row every planned statement returns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    pub total: Option<i64>,
    pub page_total: i64,
    pub body: Option<String>,
    pub location: Option<String>,
    pub response_headers: Option<String>,
    pub response_status: Option<String>,
}

fn pool_error(error: PoolError) -> ApiError {
    match error {
        PoolError::Timeout(_) => ApiError::new(
            StatusCode::GATEWAY_TIMEOUT,
            "PGRST003",
            "Timed out acquiring connection from connection pool.",
        ),
        other => {
            tracing::error!(error = %other, "database connection failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "PGRST000",
                "Database connection error. Retrying the connection.",
            )
        }
    }
}

fn typed(sql: &Sql) -> Vec<(TextParam<'_>, Type)> {
    sql.params.iter().map(|p| (TextParam(p.as_deref()), Type::UNKNOWN)).collect()
}

/// Runs `statement` after `settings` in one transaction; `check` may refuse the outcome, which
/// rolls the transaction back (a write answered 406, say).
pub async fn run(
    pool: &Pool,
    read_only: bool,
    settings: &RequestSettings,
    statement: &Sql,
    authenticated: bool,
    check: impl FnOnce(&Outcome) -> Result<(), ApiError>,
) -> Result<Outcome, ApiError> {
    let mut client = pool.get().await.map_err(pool_error)?;
    let db_error = |error: tokio_postgres::Error| ApiError::from_db(&error, authenticated);
    let transaction =
        client.build_transaction().read_only(read_only).start().await.map_err(db_error)?;
    let pre = settings.statement();
    let pre_params = typed(&pre);
    let pre_refs: Vec<(&(dyn ToSql + Sync), Type)> =
        pre_params.iter().map(|(p, t)| (p as &(dyn ToSql + Sync), t.clone())).collect();
    let params = typed(statement);
    let refs: Vec<(&(dyn ToSql + Sync), Type)> =
        params.iter().map(|(p, t)| (p as &(dyn ToSql + Sync), t.clone())).collect();
    // Sent together (pipelined, one round trip); when the settings (or the pre-request function)
    // fail, the statement fails after them in the aborted transaction, and the first error is
    // the one to report.
    let pre_request = settings.pre_request_statement();
    let (set, checked, answered) = futures_util::future::join3(
        transaction.query_typed(&pre.text, &pre_refs),
        async {
            match &pre_request {
                Some(call) => transaction.query_typed(call, &[]).await.map(drop),
                None => Ok(()),
            }
        },
        transaction.query_typed(&statement.text, &refs),
    )
    .await;
    set.map_err(db_error)?;
    checked.map_err(db_error)?;
    let rows = answered.map_err(db_error)?;
    // Every planned statement aggregates, so it yields exactly one row.
    let row = rows.first().ok_or_else(|| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "PGRSTX00",
            "The statement returned no row",
        )
    })?;
    let outcome = Outcome {
        total: row.get(TOTAL),
        page_total: row.get(PAGE_TOTAL),
        body: row.get(BODY),
        location: row.get(LOCATION),
        response_headers: row.get(RESPONSE_HEADERS),
        response_status: row.get(RESPONSE_STATUS),
    };
    check(&outcome)?;
    transaction.commit().await.map_err(db_error)?;
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_settings_statement_binds_every_key_and_value() {
        let settings = RequestSettings {
            role: "authenticated".into(),
            claims: json!({"role": "authenticated", "sub": "u1"}),
            method: "GET".into(),
            path: "/items".into(),
            headers: json!({"accept": "*/*"}),
            cookies: json!({}),
            role_settings: vec![("statement_timeout".into(), "8s".into())],
            pre_request: None,
        };
        let sql = settings.statement();
        assert_eq!(sql.text.matches("set_config(").count(), 7);
        assert!(sql.text.ends_with("set_config($13, $14, true)"));
        assert_eq!(sql.params[0].as_deref(), Some("role"));
        assert_eq!(sql.params[1].as_deref(), Some("authenticated"));
        assert_eq!(sql.params[12].as_deref(), Some("statement_timeout"));
        assert_eq!(sql.params[13].as_deref(), Some("8s"));
        assert_eq!(settings.pre_request_statement(), None);
    }

    #[test]
    fn the_pre_request_function_is_called_by_its_quoted_name() {
        let settings = RequestSettings {
            role: "anon".into(),
            claims: json!({"role": "anon"}),
            method: "GET".into(),
            path: "/items".into(),
            headers: json!({}),
            cookies: json!({}),
            role_settings: vec![],
            pre_request: Some("public.check_request".into()),
        };
        assert_eq!(
            settings.pre_request_statement().as_deref(),
            Some(r#"select "public"."check_request"()"#)
        );
    }
}
