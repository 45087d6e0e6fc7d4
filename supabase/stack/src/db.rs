//! Database set-up: create the database, apply the local bootstrap, then the migrations in order,
//! once each, recorded in `supabase_migrations.schema_migrations` as the Supabase CLI records them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use tokio_postgres::{Client, NoTls};

/// Serialises concurrent set-ups of the same database (two `scripts/test` runs, say).
const SETUP_LOCK_KEY: i64 = 0x5a1e_5b01;

/// A migration file: `<version>_<name>.sql`, the version being the leading digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    pub version: String,
    pub name: String,
    pub path: PathBuf,
}

impl Migration {
    fn from_path(path: PathBuf) -> Result<Self> {
        let stem = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".sql"))
            .with_context(|| format!("{} is not a .sql file", path.display()))?;
        let Some((version, name)) = stem.split_once('_') else {
            bail!("{}: migration files are named <timestamp>_<name>.sql", path.display());
        };
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            bail!("{}: the part before the first '_' must be digits", path.display());
        }
        Ok(Self { version: version.to_owned(), name: name.to_owned(), path })
    }
}

/// The `.sql` files of `dir`, sorted by name.
fn sql_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    if !dir.exists() {
        return Ok(files);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sql") {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// The migrations of `dir` in the order they apply; two files with one version are an error.
pub fn migrations(dir: &Path) -> Result<Vec<Migration>> {
    let migrations =
        sql_files(dir)?.into_iter().map(Migration::from_path).collect::<Result<Vec<_>>>()?;
    for pair in migrations.windows(2) {
        if pair[0].version == pair[1].version {
            bail!("two migrations share version {}", pair[0].version);
        }
    }
    Ok(migrations)
}

/// Creates the database named in `url` when it does not exist yet.
pub async fn create_database(url: &str) -> Result<()> {
    let (maintenance_url, name) = split_database(url)?;
    let client = connect(&maintenance_url).await?;
    let exists =
        client.query_opt("select 1 from pg_database where datname = $1", &[&name]).await?.is_some();
    if !exists {
        let sql = format!("create database {}", quote_ident(&name));
        if let Err(error) = client.batch_execute(&sql).await {
            // Another set-up may have created it between the check and here.
            if error.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_DATABASE) {
                return Err(error).context("creating the database");
            }
        }
    }
    Ok(())
}

/// Applies the bootstrap (every time: each file is idempotent), then each pending migration in
/// its own transaction. Returns the versions applied now.
pub async fn setup(url: &str, supabase_dir: &Path) -> Result<Vec<String>> {
    create_database(url).await?;
    let client = connect(url).await?;
    client.execute("select pg_advisory_lock($1)", &[&SETUP_LOCK_KEY]).await?;
    let result = apply_all(&client, supabase_dir).await;
    client.execute("select pg_advisory_unlock($1)", &[&SETUP_LOCK_KEY]).await?;
    result
}

async fn apply_all(client: &Client, supabase_dir: &Path) -> Result<Vec<String>> {
    for file in sql_files(&supabase_dir.join("bootstrap"))? {
        let sql = std::fs::read_to_string(&file)?;
        client
            .batch_execute(&sql)
            .await
            .with_context(|| format!("bootstrap {}", file.display()))?;
    }
    let applied: Vec<String> = client
        .query("select version from supabase_migrations.schema_migrations", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    let mut now_applied = Vec::new();
    for migration in migrations(&supabase_dir.join("migrations"))? {
        if applied.contains(&migration.version) {
            continue;
        }
        let sql = std::fs::read_to_string(&migration.path)?;
        let wrapped = format!(
            "begin;\n{sql}\n;\ninsert into supabase_migrations.schema_migrations (version, name, statements) \
             values ({}, {}, array[{}]);\ncommit;",
            quote_literal(&migration.version),
            quote_literal(&migration.name),
            quote_literal(&sql),
        );
        if let Err(error) = client.batch_execute(&wrapped).await {
            // A failed statement leaves the transaction aborted: end it before reporting.
            let _ = client.batch_execute("rollback").await;
            return Err(anyhow::Error::new(error))
                .with_context(|| format!("migration {}", migration.path.display()));
        }
        now_applied.push(migration.version);
    }
    // Let a running gateway pick up the new schema, as PostgREST does.
    client.batch_execute("notify pgrst, 'reload schema'").await?;
    Ok(now_applied)
}

pub async fn connect(url: &str) -> Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .with_context(|| format!("connecting to {}", redact(url)))?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "database connection closed");
        }
    });
    Ok(client)
}

/// `(url of the maintenance database "postgres", database name)` for a postgres URL.
fn split_database(url: &str) -> Result<(String, String)> {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let (server, name) = base.rsplit_once('/').context("the database URL names no database")?;
    if name.is_empty() || server.ends_with('/') {
        bail!("the database URL names no database");
    }
    let maintenance = match query {
        Some(q) => format!("{server}/postgres?{q}"),
        None => format!("{server}/postgres"),
    };
    Ok((maintenance, name.to_owned()))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn quote_literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_names_split_into_version_and_name() {
        let m = Migration::from_path(PathBuf::from("x/20260101000000_create_orgs.sql")).unwrap();
        assert_eq!((m.version.as_str(), m.name.as_str()), ("20260101000000", "create_orgs"));
    }

    #[test]
    fn badly_named_migrations_are_refused() {
        for bad in ["x/create.sql", "x/v1_create.sql", "x/_create.sql", "x/2026.txt"] {
            assert!(Migration::from_path(PathBuf::from(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_maintenance_url_keeps_server_and_options() {
        let check = |url: &str, m: &str, n: &str| {
            assert_eq!(split_database(url).unwrap(), (m.to_owned(), n.to_owned()));
        };
        check("postgres://u@h:5/app", "postgres://u@h:5/postgres", "app");
        check(
            "postgres://u@h/app?sslmode=disable",
            "postgres://u@h/postgres?sslmode=disable",
            "app",
        );
        assert!(split_database("postgres://u@h/").is_err());
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn quoting_doubles_the_quote_character() {
        assert_eq!(quote_ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(quote_literal("it's"), "'it''s'");
    }
}
