//! The schema cache: relations, columns, keys, foreign keys, functions and role settings of the
//! exposed schemas, introspected from pg_catalog and reloaded on `NOTIFY pgrst, 'reload schema'`.

use std::collections::HashMap;

use tokio_postgres::GenericClient;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    /// `format_type` of the column, usable as a cast target.
    pub type_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub schema: String,
    pub name: String,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    /// Column sets of the primary key and unique constraints: a foreign key onto one of these
    /// from the other side makes a one-to-one relationship.
    pub unique_keys: Vec<Vec<String>>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A foreign key: `table(columns)` references `foreign_table(foreign_columns)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignKey {
    pub constraint: String,
    pub schema: String,
    pub table: String,
    pub columns: Vec<String>,
    pub foreign_schema: String,
    pub foreign_table: String,
    pub foreign_columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argument {
    pub name: String,
    pub type_name: String,
    pub has_default: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    Void,
    /// A base type, array, domain or `json`: answered as one JSON value.
    Scalar,
    /// A row type (table, composite or `record` with OUT parameters): answered as an object.
    Row,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Function {
    pub schema: String,
    pub name: String,
    pub arguments: Vec<Argument>,
    pub returns: Returns,
    pub returns_set: bool,
    /// `false` for volatile functions, which need a read-write transaction.
    pub read_only: bool,
    /// The table or view whose row type the function returns, for select and embedding.
    pub return_table: Option<(String, String)>,
}

#[derive(Debug, Clone, Default)]
pub struct Schema {
    pub tables: HashMap<(String, String), Table>,
    pub foreign_keys: Vec<ForeignKey>,
    pub functions: HashMap<(String, String), Vec<Function>>,
    /// Settings each role carries (`alter role … set …`), applied when switching to it.
    pub role_settings: HashMap<String, Vec<(String, String)>>,
    /// `pgrst.db_pre_request` of the role PostgREST logs in as (its in-database configuration):
    /// the function every request calls after its settings, before its statement.
    pub pre_request: Option<String>,
}

impl Schema {
    pub fn table(&self, schema: &str, name: &str) -> Option<&Table> {
        self.tables.get(&(schema.to_owned(), name.to_owned()))
    }

    pub fn functions(&self, schema: &str, name: &str) -> &[Function] {
        self.functions.get(&(schema.to_owned(), name.to_owned())).map_or(&[], Vec::as_slice)
    }
}

const TABLES: &str = "
select n.nspname, c.relname,
       coalesce(array_agg(a.attname::text order by a.attnum)
                filter (where a.attname is not null), '{}'),
       coalesce(array_agg(format_type(a.atttypid, a.atttypmod) order by a.attnum)
                filter (where a.attname is not null), '{}')
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
where c.relkind in ('r', 'v', 'm', 'f', 'p') and n.nspname = any($1)
group by n.nspname, c.relname";

const KEYS: &str = "
select n.nspname, c.relname, k.contype::text,
       array(select a.attname::text from unnest(k.conkey) with ordinality u(attnum, i)
             join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum order by u.i)
from pg_constraint k
join pg_class c on c.oid = k.conrelid
join pg_namespace n on n.oid = c.relnamespace
where k.contype in ('p', 'u') and n.nspname = any($1)";

const FOREIGN_KEYS: &str = "
select k.conname::text, n.nspname, c.relname,
       array(select a.attname::text from unnest(k.conkey) with ordinality u(attnum, i)
             join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.attnum order by u.i),
       fn.nspname, fc.relname,
       array(select a.attname::text from unnest(k.confkey) with ordinality u(attnum, i)
             join pg_attribute a on a.attrelid = k.confrelid and a.attnum = u.attnum order by u.i)
from pg_constraint k
join pg_class c on c.oid = k.conrelid
join pg_namespace n on n.oid = c.relnamespace
join pg_class fc on fc.oid = k.confrelid
join pg_namespace fn on fn.oid = fc.relnamespace
where k.contype = 'f' and (n.nspname = any($1) or fn.nspname = any($1))";

/// Input arguments only (IN, INOUT, VARIADIC), in order; the last `pronargdefaults` of them
/// have defaults.
const FUNCTIONS: &str = "
select n.nspname, p.proname,
       coalesce(args.names, '{}'), coalesce(args.types, '{}'),
       p.pronargdefaults::int,
       case when p.prorettype = 'void'::regtype then 'void'
            when t.typtype = 'c' or p.prorettype = 'record'::regtype then 'row'
            else 'scalar' end,
       p.proretset,
       p.provolatile <> 'v',
       rn.nspname::text, rc.relname::text
from pg_proc p
join pg_namespace n on n.oid = p.pronamespace
join pg_type t on t.oid = p.prorettype
left join pg_class rc on rc.oid = t.typrelid
left join pg_namespace rn on rn.oid = rc.relnamespace
cross join lateral (
  select array_agg(coalesce(a.name, '') order by a.i) as names,
         array_agg(format_type(a.type, null) order by a.i) as types
  from unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]),
              coalesce(p.proargmodes, array_fill('i'::\"char\", array[p.pronargs::int])),
              p.proargnames) with ordinality as a(type, mode, name, i)
  where a.mode in ('i', 'b', 'v')
) args
where n.nspname = any($1) and p.prokind = 'f'";

const ROLE_SETTINGS: &str = "
select r.rolname::text, s.setconfig
from pg_db_role_setting s
join pg_roles r on r.oid = s.setrole
where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))
order by s.setdatabase";

/// Reads the cache for `schemas` through `client`.
pub async fn introspect(
    client: &impl GenericClient,
    schemas: &[String],
) -> Result<Schema, tokio_postgres::Error> {
    let mut schema = Schema::default();
    for row in client.query(TABLES, &[&schemas]).await? {
        let (names, types): (Vec<String>, Vec<String>) = (row.get(2), row.get(3));
        let table = Table {
            schema: row.get(0),
            name: row.get(1),
            columns: names
                .into_iter()
                .zip(types)
                .map(|(name, type_name)| Column { name, type_name })
                .collect(),
            primary_key: Vec::new(),
            unique_keys: Vec::new(),
        };
        schema.tables.insert((table.schema.clone(), table.name.clone()), table);
    }
    for row in client.query(KEYS, &[&schemas]).await? {
        let key = (row.get::<_, String>(0), row.get::<_, String>(1));
        let (kind, columns): (String, Vec<String>) = (row.get(2), row.get(3));
        if let Some(table) = schema.tables.get_mut(&key) {
            if kind == "p" {
                table.primary_key = columns.clone();
            }
            table.unique_keys.push(columns);
        }
    }
    for row in client.query(FOREIGN_KEYS, &[&schemas]).await? {
        schema.foreign_keys.push(ForeignKey {
            constraint: row.get(0),
            schema: row.get(1),
            table: row.get(2),
            columns: row.get(3),
            foreign_schema: row.get(4),
            foreign_table: row.get(5),
            foreign_columns: row.get(6),
        });
    }
    for row in client.query(FUNCTIONS, &[&schemas]).await? {
        let (names, types): (Vec<String>, Vec<String>) = (row.get(2), row.get(3));
        let defaults = usize::try_from(row.get::<_, i32>(4)).unwrap_or(0);
        let first_default = names.len().saturating_sub(defaults);
        let returns = match row.get::<_, &str>(5) {
            "void" => Returns::Void,
            "row" => Returns::Row,
            _ => Returns::Scalar,
        };
        let function = Function {
            schema: row.get(0),
            name: row.get(1),
            arguments: names
                .into_iter()
                .zip(types)
                .enumerate()
                .map(|(i, (name, type_name))| Argument {
                    name,
                    type_name,
                    has_default: i >= first_default,
                })
                .collect(),
            returns,
            returns_set: row.get(6),
            read_only: row.get(7),
            return_table: row.get::<_, Option<String>>(8).zip(row.get::<_, Option<String>>(9)),
        };
        schema
            .functions
            .entry((function.schema.clone(), function.name.clone()))
            .or_default()
            .push(function);
    }
    let login_role: String = client.query_one("select current_user::text", &[]).await?.get(0);
    for row in client.query(ROLE_SETTINGS, &[]).await? {
        let settings: Vec<String> = row.get(1);
        let parsed = settings
            .iter()
            .filter_map(|s| s.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        // Database-specific settings come last and win over the ones for every database.
        let entry = schema.role_settings.entry(row.get(0)).or_default();
        for (key, value) in parsed {
            entry.retain(|(k, _)| *k != key);
            entry.push((key, value));
        }
    }
    schema.pre_request = schema.role_settings.get(&login_role).and_then(|settings| {
        settings.iter().find(|(key, _)| key == "pgrst.db_pre_request").map(|(_, v)| v.clone())
    });
    Ok(schema)
}

/// How an embedded relation is reached from its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    pub foreign_key: ForeignKey,
    /// The parent holds the foreign key (many-to-one): the child's columns are the referenced
    /// ones. Otherwise the child holds it (one-to-many).
    pub parent_holds_key: bool,
    /// One row at most on the child's side: many-to-one, or one-to-one.
    pub to_one: bool,
}

impl Relationship {
    /// Column pairs `(parent column, child column)` to join on.
    pub fn join_columns(&self) -> Vec<(&str, &str)> {
        let fk = &self.foreign_key;
        let (parent, child) = if self.parent_holds_key {
            (&fk.columns, &fk.foreign_columns)
        } else {
            (&fk.foreign_columns, &fk.columns)
        };
        parent.iter().map(String::as_str).zip(child.iter().map(String::as_str)).collect()
    }
}

impl Schema {
    /// The relationships between `parent` and `child` (both in `schema`), narrowed by `hint`:
    /// a constraint name or a foreign-key column name.
    pub fn relationships(
        &self,
        schema: &str,
        parent: &str,
        child: &str,
        hint: Option<&str>,
    ) -> Vec<Relationship> {
        let mut found = Vec::new();
        for fk in &self.foreign_keys {
            let matches_hint = hint.is_none_or(|h| {
                fk.constraint == h || (fk.columns.len() == 1 && fk.columns[0] == h)
            });
            if !matches_hint {
                continue;
            }
            let outward = fk.schema == schema && fk.table == parent;
            let outward = outward && fk.foreign_schema == schema && fk.foreign_table == child;
            let inward = fk.schema == schema && fk.table == child;
            let inward = inward && fk.foreign_schema == schema && fk.foreign_table == parent;
            if outward {
                found.push(Relationship {
                    foreign_key: fk.clone(),
                    parent_holds_key: true,
                    to_one: true,
                });
            }
            if inward {
                let unique = self
                    .table(schema, child)
                    .is_some_and(|t| t.unique_keys.iter().any(|key| same_set(key, &fk.columns)));
                found.push(Relationship {
                    foreign_key: fk.clone(),
                    parent_holds_key: false,
                    to_one: unique,
                });
            }
        }
        found
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fk(name: &str, table: &str, column: &str, foreign: &str) -> ForeignKey {
        ForeignKey {
            constraint: name.into(),
            schema: "public".into(),
            table: table.into(),
            columns: vec![column.into()],
            foreign_schema: "public".into(),
            foreign_table: foreign.into(),
            foreign_columns: vec!["id".into()],
        }
    }

    fn table(name: &str, unique: &[&str]) -> Table {
        Table {
            schema: "public".into(),
            name: name.into(),
            columns: vec![],
            primary_key: vec!["id".into()],
            unique_keys: vec![vec!["id".into()], unique.iter().map(|s| s.to_string()).collect()],
        }
    }

    fn schema() -> Schema {
        let mut schema = Schema::default();
        for t in [table("orders", &[]), table("clients", &[]), table("profiles", &["user_id"])] {
            schema.tables.insert(("public".into(), t.name.clone()), t);
        }
        schema.foreign_keys = vec![
            fk("orders_client_fk", "orders", "client_id", "clients"),
            fk("orders_referrer_fk", "orders", "referrer_id", "clients"),
            fk("profiles_user_fk", "profiles", "user_id", "clients"),
        ];
        schema
    }

    #[test]
    fn a_foreign_key_on_the_parent_is_many_to_one() {
        let rels = schema().relationships("public", "orders", "clients", Some("client_id"));
        assert_eq!(rels.len(), 1);
        assert!(rels[0].parent_holds_key && rels[0].to_one);
        assert_eq!(rels[0].join_columns(), vec![("client_id", "id")]);
    }

    #[test]
    fn a_foreign_key_on_the_child_is_one_to_many_unless_unique() {
        let rels = schema().relationships("public", "clients", "orders", Some("orders_client_fk"));
        assert_eq!(rels.len(), 1);
        assert!(!rels[0].parent_holds_key && !rels[0].to_one);
        assert_eq!(rels[0].join_columns(), vec![("id", "client_id")]);
        let rels = schema().relationships("public", "clients", "profiles", None);
        assert!(rels[0].to_one);
    }

    #[test]
    fn two_foreign_keys_without_a_hint_are_ambiguous() {
        assert_eq!(schema().relationships("public", "orders", "clients", None).len(), 2);
        assert!(schema().relationships("public", "orders", "profiles", None).is_empty());
    }
}
