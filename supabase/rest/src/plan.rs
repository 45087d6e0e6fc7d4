//! From a parsed request to one SQL statement that answers it, the JSON built by Postgres:
//! reads, inserts/upserts, updates, deletes and function calls. Pure: no I/O here.

use http::StatusCode;
use serde_json::Value;

use crate::error::ApiError;
use crate::parse::{
    Condition, Embed, Field, Filter, IsValue, Nulls, Operand, Operator, OrderTerm, Quantifier,
    SelectItem,
};
use crate::request::{MediaType, Page, Params, Resolution};
use crate::schema::{Function, Relationship, Returns, Schema, Table};
use crate::sql::{Sql, ident, qualified};

/// The columns every planned statement returns, in this order.
pub const TOTAL: usize = 0;
pub const PAGE_TOTAL: usize = 1;
pub const BODY: usize = 2;
pub const LOCATION: usize = 3;
pub const RESPONSE_HEADERS: usize = 4;
pub const RESPONSE_STATUS: usize = 5;

/// How the rows of `pgrst_t` become the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Media(MediaType),
    /// A function's single scalar result: the value itself.
    Scalar,
    /// A function's set of scalars: an array of the values.
    ScalarSet,
    /// No body (return=minimal and headers-only, void functions).
    None,
}

pub struct Planner<'a> {
    pub schema: &'a Schema,
    pub params: &'a Params,
    /// Requests fetch at most this many rows (`PGRST_DB_MAX_ROWS`).
    pub max_rows: Option<u64>,
    aliases: usize,
}

impl<'a> Planner<'a> {
    pub fn new(schema: &'a Schema, params: &'a Params, max_rows: Option<u64>) -> Self {
        Self { schema, params, max_rows, aliases: 0 }
    }

    fn next_alias(&mut self) -> String {
        self.aliases += 1;
        format!("pgrst_{}", self.aliases)
    }

    /// GET/HEAD on a table or view. `range` is the `Range` header's window.
    pub fn read(
        &mut self,
        table: &Table,
        shape: Shape,
        count: bool,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<Sql, ApiError> {
        let source = qualified(&table.schema, &table.name);
        let qualifier = ident(&table.name);
        let mut sql = Sql::default();
        sql.push("select ");
        if count {
            sql.push("(select pg_catalog.count(*) from ").push(&source).push(" as ");
            sql.push(&qualifier);
            self.where_clause(&mut sql, table, &qualifier, &[], true)?;
            sql.push(")");
        } else {
            sql.push("null::bigint");
        }
        sql.push(", ");
        envelope_columns(&mut sql, shape, None);
        sql.push(" from (select ");
        let params = self.params;
        self.select_list(&mut sql, table, &params.select, &qualifier, &mut Vec::new())?;
        sql.push(" from ").push(&source).push(" as ").push(&qualifier);
        self.where_clause(&mut sql, table, &qualifier, &[], true)?;
        order_by(&mut sql, &qualifier, self.params.order_at(&[]));
        self.page(&mut sql, self.params.page_at(&[]), range);
        sql.push(") pgrst_t");
        Ok(sql)
    }

    /// POST: insert the JSON `body` (object or array), as an upsert when `resolution` is given.
    pub fn insert(
        &mut self,
        table: &Table,
        columns: &[String],
        body: &str,
        resolution: Option<Resolution>,
        shape: Shape,
        location: bool,
    ) -> Result<Sql, ApiError> {
        let target = qualified(&table.schema, &table.name);
        let qualifier = ident(&table.name);
        let mut sql = Sql::default();
        sql.push("with pgrst_source as (insert into ").push(&target).push(" as ").push(&qualifier);
        if columns.is_empty() && body.trim_start().starts_with('{') {
            // `{}`: one row of defaults.
            sql.push(" default values");
        } else if columns.is_empty() {
            // `[]`: nothing to insert.
            sql.push(" select * from ").push(&target).push(" where false");
        } else {
            let list = columns.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
            sql.push(" (").push(&list).push(") select ").push(&list);
            sql.push(" from json_populate_recordset(null::").push(&target).push(", (select case ");
            sql.push("when json_typeof(pgrst_body) = 'array' then pgrst_body ");
            sql.push("else json_build_array(pgrst_body) end from (select ").bind(body);
            sql.push("::json as pgrst_body) pgrst_payload)) pgrst_rows");
        }
        if let Some(resolution) = resolution {
            let conflict = match &self.params.on_conflict {
                Some(columns) => columns.clone(),
                None => table.primary_key.clone(),
            };
            if conflict.is_empty() {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "PGRST102",
                    "An upsert needs on_conflict or a primary key",
                ));
            }
            let conflict = conflict.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
            sql.push(" on conflict (").push(&conflict).push(")");
            let updates: Vec<String> =
                columns.iter().map(|c| format!("{0} = excluded.{0}", ident(c))).collect();
            if resolution == Resolution::IgnoreDuplicates || updates.is_empty() {
                sql.push(" do nothing");
            } else {
                sql.push(" do update set ").push(&updates.join(", "));
            }
        }
        self.returning(&mut sql, table, shape, &qualifier, location)?;
        Ok(sql)
    }

    /// PATCH: set the columns of the JSON object `body` on the filtered rows.
    pub fn update(
        &mut self,
        table: &Table,
        columns: &[String],
        body: &str,
        shape: Shape,
    ) -> Result<Sql, ApiError> {
        let target = qualified(&table.schema, &table.name);
        let qualifier = ident(&table.name);
        let mut sql = Sql::default();
        if columns.is_empty() {
            // Nothing to set: PostgREST answers as if no row matched.
            sql.push("with pgrst_source as (select * from ").push(&target).push(" as ");
            sql.push(&qualifier).push(" where false)");
        } else {
            let sets: Vec<String> =
                columns.iter().map(|c| format!("{0} = pgrst_body.{0}", ident(c))).collect();
            sql.push("with pgrst_source as (update ").push(&target).push(" as ").push(&qualifier);
            sql.push(" set ").push(&sets.join(", "));
            sql.push(" from (select * from json_populate_record(null::").push(&target);
            sql.push(", ").bind(body).push("::json)) pgrst_body");
            self.where_clause(&mut sql, table, &qualifier, &[], false)?;
        }
        self.returning(&mut sql, table, shape, &qualifier, false)?;
        Ok(sql)
    }

    /// DELETE the filtered rows.
    pub fn delete(&mut self, table: &Table, shape: Shape) -> Result<Sql, ApiError> {
        let target = qualified(&table.schema, &table.name);
        let qualifier = ident(&table.name);
        let mut sql = Sql::default();
        sql.push("with pgrst_source as (delete from ").push(&target).push(" as ").push(&qualifier);
        self.where_clause(&mut sql, table, &qualifier, &[], false)?;
        self.returning(&mut sql, table, shape, &qualifier, false)?;
        Ok(sql)
    }

    /// Closes the `pgrst_source` CTE of a write and selects the envelope over its rows, with the
    /// primary key of the rows when `location` is wanted.
    fn returning(
        &mut self,
        sql: &mut Sql,
        table: &Table,
        shape: Shape,
        qualifier: &str,
        location: bool,
    ) -> Result<(), ApiError> {
        let location = location && !table.primary_key.is_empty();
        if !sql.text.ends_with("where false)") {
            if shape == Shape::None && !location {
                // `returning 1` needs no SELECT policy, as with PostgREST's return=minimal.
                sql.push(" returning 1)");
            } else {
                sql.push(" returning ").push(qualifier).push(".*)");
            }
        }
        sql.push(" select null::bigint, ");
        envelope_columns(sql, shape, location.then_some(&table.primary_key[..]));
        sql.push(" from (select ");
        if shape == Shape::None {
            sql.push("1");
        } else {
            let params = self.params;
            self.select_list(sql, table, &params.select, qualifier, &mut Vec::new())?;
        }
        sql.push(" from pgrst_source as ").push(qualifier).push(") pgrst_t");
        Ok(())
    }

    /// `/rpc/<fn>`: calls `function` with `arguments` (a JSON object), or with the whole body
    /// for a single unnamed json parameter. Row-returning results take the read parameters.
    pub fn call(
        &mut self,
        function: &Function,
        arguments: &Value,
        whole_body: Option<&str>,
        shape: Shape,
        count: bool,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<Sql, ApiError> {
        let mut sql = Sql::default();
        let mut record = Vec::new();
        let mut named = Vec::new();
        if let Some(body) = whole_body {
            let placeholder = sql.placeholder(body);
            named.push(format!("{placeholder}::{}", function.arguments[0].type_name));
        } else {
            let given = arguments.as_object();
            for argument in &function.arguments {
                if given.is_some_and(|g| g.contains_key(&argument.name)) {
                    named.push(format!("{0} := pgrst_args.{0}", ident(&argument.name)));
                    record.push(format!("{} {}", ident(&argument.name), argument.type_name));
                }
            }
        }
        let call = format!("{}({})", qualified(&function.schema, &function.name), named.join(", "));
        let args_source = if record.is_empty() {
            String::new()
        } else {
            let placeholder = sql.placeholder(arguments.to_string());
            format!("json_to_record({placeholder}::json) as pgrst_args({}), ", record.join(", "))
        };
        let fn_alias = ident(&function.name);
        let total = if count { "pg_catalog.count(*)" } else { "null::bigint" };
        sql.push("select ").push(total).push(", ");
        envelope_columns(&mut sql, shape, None);
        sql.push(" from (select ");
        match (function.returns, function.returns_set) {
            (Returns::Void, _) | (Returns::Scalar, false) => {
                sql.push(&call).push(" as pgrst_scalar");
                if !args_source.is_empty() {
                    sql.push(" from ").push(args_source.trim_end_matches(", "));
                }
            }
            (Returns::Scalar, true) => {
                let table = no_table(function);
                sql.push(&fn_alias).push(" as pgrst_scalar from ").push(&args_source).push(&call);
                sql.push(" as ").push(&fn_alias);
                self.where_clause(&mut sql, &table, &fn_alias, &[], true)?;
                order_by(&mut sql, &fn_alias, self.params.order_at(&[]));
                self.page(&mut sql, self.params.page_at(&[]), range);
            }
            (Returns::Row, _) => {
                let table = self.return_table(function);
                let params = self.params;
                self.select_list(&mut sql, &table, &params.select, &fn_alias, &mut Vec::new())?;
                sql.push(" from ").push(&args_source).push(&call).push(" as ").push(&fn_alias);
                self.where_clause(&mut sql, &table, &fn_alias, &[], true)?;
                order_by(&mut sql, &fn_alias, self.params.order_at(&[]));
                self.page(&mut sql, self.params.page_at(&[]), range);
            }
        }
        sql.push(") pgrst_t");
        Ok(sql)
    }

    /// The table a row-returning function's type is, for select and embedding; a bare one when
    /// it returns a composite that is not a table.
    fn return_table(&self, function: &Function) -> Table {
        function
            .return_table
            .as_ref()
            .and_then(|(schema, name)| self.schema.table(schema, name))
            .cloned()
            .unwrap_or_else(|| no_table(function))
    }

    fn select_list(
        &mut self,
        sql: &mut Sql,
        table: &Table,
        items: &[SelectItem],
        qualifier: &str,
        path: &mut Vec<String>,
    ) -> Result<(), ApiError> {
        let mut first = true;
        for item in items {
            if !first {
                sql.push(", ");
            }
            first = false;
            match item {
                SelectItem::Star => {
                    sql.push(qualifier).push(".*");
                }
                SelectItem::Field { field, alias, cast } => {
                    field_expr(sql, qualifier, field);
                    if let Some(cast) = cast {
                        sql.push("::").push(cast);
                    }
                    let name = alias.as_deref().unwrap_or(field.output_name());
                    sql.push(" as ").push(&ident(name));
                }
                SelectItem::Embed(embed) => {
                    path.push(embed.output_name().to_owned());
                    self.embed(sql, table, qualifier, embed, path)?;
                    path.pop();
                    sql.push(" as ").push(&ident(embed.output_name()));
                }
            }
        }
        if first {
            // `select=` with only spaces: PostgREST selects nothing, an empty object per row.
            sql.push("null as \"\"");
        }
        Ok(())
    }

    /// The embedded resource's value: an object (or null) for to-one, an array for to-many.
    fn embed(
        &mut self,
        sql: &mut Sql,
        parent: &Table,
        parent_qualifier: &str,
        embed: &Embed,
        path: &[String],
    ) -> Result<(), ApiError> {
        let row = self.next_alias();
        let (source, found) =
            sql.capture(|sql| self.embed_source(sql, parent, parent_qualifier, embed, path));
        let (child, alias, to_one) = found?;
        let (list, listed) = sql
            .capture(|sql| self.select_list(sql, &child, &embed.items, &alias, &mut path.to_vec()));
        listed?;
        if to_one {
            sql.push("(select row_to_json(").push(&row).push(") from (select ");
            sql.push(&list).push(&source).push(") ").push(&row).push(")");
        } else {
            sql.push("coalesce((select json_agg(").push(&row).push(") from (select ");
            sql.push(&list).push(&source);
            order_by(sql, &alias, self.params.order_at(path));
            self.page(sql, self.params.page_at(path), None);
            sql.push(") ").push(&row).push("), '[]')");
        }
        Ok(())
    }

    /// Writes ` from <child> as <alias> where <join> [and <filters>]` and returns the child
    /// table, its alias, and whether at most one child row matches.
    fn embed_source(
        &mut self,
        sql: &mut Sql,
        parent: &Table,
        parent_qualifier: &str,
        embed: &Embed,
        path: &[String],
    ) -> Result<(Table, String, bool), ApiError> {
        let relationships = self.schema.relationships(
            &parent.schema,
            &parent.name,
            &embed.relation,
            embed.hint.as_deref(),
        );
        let relationship = match relationships.as_slice() {
            [one] => one.clone(),
            [] => return Err(no_relationship(parent, &embed.relation)),
            many => return Err(ambiguous(parent, embed, many)),
        };
        let child = self
            .schema
            .table(&parent.schema, &embed.relation)
            .cloned()
            .ok_or_else(|| no_relationship(parent, &embed.relation))?;
        let alias = ident(&self.next_alias());
        sql.push(" from ").push(&qualified(&child.schema, &child.name)).push(" as ").push(&alias);
        let joins: Vec<String> = relationship
            .join_columns()
            .iter()
            .map(|(p, c)| format!("{alias}.{} = {parent_qualifier}.{}", ident(c), ident(p)))
            .collect();
        sql.push(" where ").push(&joins.join(" and "));
        for filter in self.params.filters_at(path) {
            sql.push(" and ");
            render_filter(sql, &alias, filter);
        }
        self.inner_embeds(sql, &child, &alias, &embed.items, path)?;
        Ok((child, alias, relationship.to_one))
    }

    /// ` and exists (…)` for each `!inner` embed among `items`.
    fn inner_embeds(
        &mut self,
        sql: &mut Sql,
        table: &Table,
        qualifier: &str,
        items: &[SelectItem],
        path: &[String],
    ) -> Result<(), ApiError> {
        for item in items {
            if let SelectItem::Embed(embed) = item
                && embed.inner
            {
                let mut child_path = path.to_vec();
                child_path.push(embed.output_name().to_owned());
                sql.push(" and exists (select 1");
                self.embed_source(sql, table, qualifier, embed, &child_path)?;
                sql.push(")");
            }
        }
        Ok(())
    }

    /// ` where …` for the filters at `path` (and `!inner` embeds when `with_embeds`).
    fn where_clause(
        &mut self,
        sql: &mut Sql,
        table: &Table,
        qualifier: &str,
        path: &[String],
        with_embeds: bool,
    ) -> Result<(), ApiError> {
        sql.push(" where true");
        for filter in self.params.filters_at(path) {
            sql.push(" and ");
            render_filter(sql, qualifier, filter);
        }
        if with_embeds {
            let params = self.params;
            self.inner_embeds(sql, table, qualifier, &params.select, path)?;
        }
        Ok(())
    }

    /// ` limit … offset …` from the page parameters, the Range window and max rows.
    fn page(&self, sql: &mut Sql, page: Page, range: Option<(u64, Option<u64>)>) {
        let mut offset = page.offset.unwrap_or(0);
        let mut limit = page.limit;
        if let Some((first, last)) = range {
            // Both windows apply: the Range header is relative to the whole result.
            // Saturating: the numbers come from the request and may be as large as u64 allows.
            let range_limit = last.map(|last| (last - first).saturating_add(1));
            let ends = (
                limit.map(|l| offset.saturating_add(l)),
                range_limit.map(|l| first.saturating_add(l)),
            );
            let end = match ends {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            offset = offset.max(first);
            limit = end.map(|end| end.saturating_sub(offset));
        }
        if let Some(max) = self.max_rows {
            limit = Some(limit.map_or(max, |l| l.min(max)));
        }
        if let Some(limit) = limit {
            sql.push(&format!(" limit {limit}"));
        }
        if offset > 0 {
            sql.push(&format!(" offset {offset}"));
        }
    }
}

/// A table with no columns or keys known: a function's composite result.
fn no_table(function: &Function) -> Table {
    Table {
        schema: function.schema.clone(),
        name: function.name.clone(),
        columns: Vec::new(),
        primary_key: Vec::new(),
        unique_keys: Vec::new(),
    }
}

fn no_relationship(parent: &Table, child: &str) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "PGRST200",
        format!(
            "Could not find a relationship between '{}' and '{}' in the schema cache",
            parent.name, child
        ),
    )
    .details(format!(
        "Searched for a foreign key relationship between '{}' and '{}' in the schema '{}', but \
         no matches were found.",
        parent.name, child, parent.schema
    ))
}

/// PGRST201: more than one foreign key joins the two; the hint names one to choose.
fn ambiguous(parent: &Table, embed: &Embed, many: &[Relationship]) -> ApiError {
    let details: Vec<Value> = many
        .iter()
        .map(|r| {
            serde_json::json!({
                "cardinality": if r.parent_holds_key { "many-to-one" } else { "one-to-many" },
                "relationship": format!("{} using {}({})", r.foreign_key.constraint,
                    r.foreign_key.table, r.foreign_key.columns.join(", ")),
                "embedding": format!("{} with {}", parent.name, embed.relation),
            })
        })
        .collect();
    ApiError::new(
        StatusCode::MULTIPLE_CHOICES,
        "PGRST201",
        format!(
            "Could not embed because more than one relationship was found for '{}' and '{}'",
            parent.name, embed.relation
        ),
    )
    .details(Value::Array(details).to_string())
    .hint(format!(
        "Try changing '{0}' to one of the relationship names shown in details, e.g. '{0}!{1}'",
        embed.relation, many[0].foreign_key.constraint
    ))
}

/// total is written by the caller; this writes page_total, body, location and the response
/// settings a function may have set. Rows are counted with `count(*)`: a second reference to the
/// whole row `pgrst_t` made Postgres, which inlines the subquery, evaluate its expressions twice —
/// a scalar function's call, or every embedded resource.
fn envelope_columns(sql: &mut Sql, shape: Shape, location_key: Option<&[String]>) {
    sql.push("pg_catalog.count(*), ");
    sql.push(match shape {
        Shape::Media(MediaType::Json) => "coalesce(json_agg(pgrst_t), '[]')::text",
        Shape::Media(MediaType::Object) => "coalesce((json_agg(pgrst_t)->0)::text, 'null')",
        Shape::Media(MediaType::Csv) => {
            "coalesce((select string_agg(pgrst_k, ',') from \
             json_object_keys(json_agg(pgrst_t)->0) pgrst_k), '') || chr(10) || \
             coalesce(string_agg(substring(pgrst_t::text, 2, length(pgrst_t::text) - 2), \
             chr(10)), '')"
        }
        Shape::Scalar => "coalesce((json_agg(pgrst_t.pgrst_scalar)->0)::text, 'null')",
        Shape::ScalarSet => "coalesce(json_agg(pgrst_t.pgrst_scalar)::text, '[]')",
        Shape::None => "null::text",
    });
    sql.push(", ");
    match location_key {
        Some(key) => {
            let columns = key.iter().map(|c| ident(c)).collect::<Vec<_>>().join(", ");
            sql.push("(select json_agg(pgrst_k)::text from (select ").push(&columns);
            sql.push(" from pgrst_source) pgrst_k)");
        }
        None => {
            sql.push("null::text");
        }
    }
    sql.push(", nullif(current_setting('response.headers', true), '')");
    sql.push(", nullif(current_setting('response.status', true), '')");
}

fn field_expr(sql: &mut Sql, qualifier: &str, field: &Field) {
    sql.push(qualifier).push(".").push(&ident(&field.name));
    for step in &field.json_path {
        sql.push(if step.as_text { "->>" } else { "->" });
        match step.key.parse::<i64>() {
            Ok(index) => sql.push(&index.to_string()),
            Err(_) => sql.bind(step.key.clone()).push("::text"),
        };
    }
}

fn order_by(sql: &mut Sql, qualifier: &str, terms: &[OrderTerm]) {
    for (i, term) in terms.iter().enumerate() {
        sql.push(if i == 0 { " order by " } else { ", " });
        field_expr(sql, qualifier, &term.field);
        sql.push(if term.descending { " desc" } else { " asc" });
        match term.nulls {
            Some(Nulls::First) => sql.push(" nulls first"),
            Some(Nulls::Last) => sql.push(" nulls last"),
            None => sql,
        };
    }
}

pub fn render_filter(sql: &mut Sql, qualifier: &str, filter: &Filter) {
    match filter {
        Filter::Condition(condition) => render_condition(sql, qualifier, condition),
        Filter::Tree { negated, or, children } => {
            sql.push(if *negated { "not (" } else { "(" });
            for (i, child) in children.iter().enumerate() {
                if i > 0 {
                    sql.push(if *or { " or " } else { " and " });
                }
                render_filter(sql, qualifier, child);
            }
            sql.push(")");
        }
    }
}

fn render_condition(sql: &mut Sql, qualifier: &str, condition: &Condition) {
    sql.push(if condition.negated { "not (" } else { "(" });
    field_expr(sql, qualifier, &condition.field);
    let like = matches!(condition.operator, Operator::Like | Operator::Ilike);
    let pattern = |value: &str| if like { value.replace('*', "%") } else { value.to_owned() };
    match (&condition.operand, condition.operator.sql()) {
        (Operand::Is(value), _) => {
            sql.push(match value {
                IsValue::Null => " is null",
                IsValue::NotNull => " is not null",
                IsValue::True => " is true",
                IsValue::False => " is false",
                IsValue::Unknown => " is unknown",
            });
        }
        (Operand::List(items), op) => {
            let items: Vec<String> = items.iter().map(|i| pattern(i)).collect();
            let quantifier = match condition.quantifier {
                Some(Quantifier::All) => "all",
                _ => "any",
            };
            sql.push(" ").push(op.unwrap_or("=")).push(" ").push(quantifier).push("(");
            sql.bind(array_literal(&items)).push(")");
        }
        (Operand::Search { language, query }, _) => {
            let function = condition.operator.tsquery_function().unwrap_or("to_tsquery");
            sql.push(" @@ ").push(function).push("(");
            if let Some(language) = language {
                sql.bind(language.clone()).push("::regconfig, ");
            }
            sql.bind(query.clone()).push(")");
        }
        (Operand::Value(value), op) => {
            sql.push(" ").push(op.unwrap_or("=")).push(" ").bind(pattern(value));
        }
    }
    sql.push(")");
}

/// A Postgres array literal with every element quoted: `{"a","b\"c"}`.
pub fn array_literal(items: &[String]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|item| format!("\"{}\"", item.replace('\\', "\\\\").replace('"', "\\\"")))
        .collect();
    format!("{{{}}}", quoted.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_filter;
    use crate::request::parse_params;
    use crate::schema::{Column, ForeignKey};

    fn table(name: &str, columns: &[&str]) -> Table {
        Table {
            schema: "public".into(),
            name: name.into(),
            columns: columns
                .iter()
                .map(|c| Column { name: c.to_string(), type_name: "text".into() })
                .collect(),
            primary_key: vec!["id".into()],
            unique_keys: vec![vec!["id".into()]],
        }
    }

    fn schema() -> Schema {
        let mut schema = Schema::default();
        for t in [table("orders", &["id", "client_id"]), table("clients", &["id", "name"])] {
            schema.tables.insert(("public".into(), t.name.clone()), t);
        }
        schema.foreign_keys.push(ForeignKey {
            constraint: "orders_client_fk".into(),
            schema: "public".into(),
            table: "orders".into(),
            columns: vec!["client_id".into()],
            foreign_schema: "public".into(),
            foreign_table: "clients".into(),
            foreign_columns: vec!["id".into()],
        });
        schema
    }

    fn read(query: &str) -> Result<Sql, ApiError> {
        let schema = schema();
        let params = parse_params(query, |_| false)?;
        let table = schema.table("public", "orders").unwrap().clone();
        Planner::new(&schema, &params, None).read(
            &table,
            Shape::Media(MediaType::Json),
            false,
            None,
        )
    }

    fn filter(key: &str, value: &str) -> Sql {
        let mut sql = Sql::default();
        render_filter(&mut sql, "\"t\"", &parse_filter(key, value).unwrap());
        sql
    }

    #[test]
    fn a_condition_binds_its_value_and_quotes_its_column() {
        let sql = filter("name", "eq.x'); drop table t; --");
        assert_eq!(sql.text, "(\"t\".\"name\" = $1)");
        assert_eq!(sql.params, vec![Some("x'); drop table t; --".to_owned())]);
    }

    #[test]
    fn operators_render_as_postgrest_defines_them() {
        let check = |key: &str, value: &str, text: &str, param: Option<&str>| {
            let sql = filter(key, value);
            assert_eq!(sql.text, text, "{key}={value}");
            assert_eq!(sql.params.first().cloned().flatten().as_deref(), param);
        };
        check("a", "neq.1", "(\"t\".\"a\" <> $1)", Some("1"));
        check("a", "like.*x*", "(\"t\".\"a\" like $1)", Some("%x%"));
        check("a", "not.ilike.x*", "not (\"t\".\"a\" ilike $1)", Some("x%"));
        check("a", "in.(1,\"b,c\")", "(\"t\".\"a\" = any($1))", Some("{\"1\",\"b,c\"}"));
        check("a", "is.null", "(\"t\".\"a\" is null)", None);
        check("a", "not.is.true", "not (\"t\".\"a\" is true)", None);
        check("a", "cs.{1,2}", "(\"t\".\"a\" @> $1)", Some("{1,2}"));
        check("a", "gte(all).{1,2}", "(\"t\".\"a\" >= all($1))", Some("{\"1\",\"2\"}"));
        check("a", "fts.cat", "(\"t\".\"a\" @@ to_tsquery($1))", Some("cat"));
        check("d->x->>y", "eq.1", "(\"t\".\"d\"->$1::text->>$2::text = $3)", Some("x"));
        check("d->0", "is.null", "(\"t\".\"d\"->0 is null)", None);
    }

    #[test]
    fn logic_trees_render_with_and_or_and_not() {
        let sql = filter("or", "(a.eq.1,not.and(b.gt.2,c.is.null))");
        assert_eq!(
            sql.text,
            "((\"t\".\"a\" = $1) or not ((\"t\".\"b\" > $2) and (\"t\".\"c\" is null)))"
        );
    }

    #[test]
    fn array_literals_escape_quotes_and_backslashes() {
        assert_eq!(array_literal(&["a\"b".into(), "c\\".into()]), "{\"a\\\"b\",\"c\\\\\"}");
        assert_eq!(array_literal(&[]), "{}");
    }

    #[test]
    fn a_read_selects_filters_orders_and_pages_in_one_statement() {
        let sql =
            read("select=id,cid:client_id::text&id=gt.1&order=id.desc.nullslast&limit=5").unwrap();
        assert!(sql.text.contains("\"orders\".\"id\" as \"id\""), "{}", sql.text);
        assert!(sql.text.contains("\"orders\".\"client_id\"::text as \"cid\""), "{}", sql.text);
        assert!(sql.text.contains("where true and (\"orders\".\"id\" > $1)"), "{}", sql.text);
        assert!(sql.text.contains("order by \"orders\".\"id\" desc nulls last limit 5"));
        assert_eq!(sql.params, vec![Some("1".to_owned())]);
    }

    #[test]
    fn a_many_to_one_embed_is_an_object_and_inner_adds_exists() {
        let sql = read("select=id,clients!inner(name)&clients.name=eq.x").unwrap();
        assert!(sql.text.contains("(select row_to_json("), "{}", sql.text);
        assert!(sql.text.contains("and exists (select 1 from \"public\".\"clients\""));
        assert_eq!(sql.params.len(), 2, "the embed filter is bound in the value and in exists");
    }

    #[test]
    fn a_one_to_many_embed_is_an_array() {
        let schema = schema();
        let params = parse_params("select=name,orders(id)&orders.limit=1", |_| false).unwrap();
        let table = schema.table("public", "clients").unwrap().clone();
        let sql = Planner::new(&schema, &params, None)
            .read(&table, Shape::Media(MediaType::Json), false, None)
            .unwrap();
        assert!(sql.text.contains("coalesce((select json_agg("), "{}", sql.text);
        assert!(sql.text.contains("limit 1) "), "{}", sql.text);
    }

    #[test]
    fn embedding_an_unrelated_table_is_pgrst200() {
        let error = read("select=*,payments(*)").unwrap_err();
        assert_eq!((error.code.as_str(), error.status.as_u16()), ("PGRST200", 400));
    }

    #[test]
    fn pages_combine_limit_offset_range_and_max_rows() {
        let schema = schema();
        let page = |query: &str, range, max| {
            let params = parse_params(query, |_| false).unwrap();
            let planner = Planner::new(&schema, &params, max);
            let mut sql = Sql::default();
            planner.page(&mut sql, params.page_at(&[]), range);
            sql.text
        };
        assert_eq!(page("limit=10&offset=5", None, None), " limit 10 offset 5");
        assert_eq!(page("", Some((0, Some(9))), None), " limit 10");
        assert_eq!(page("", Some((5, None)), Some(100)), " limit 100 offset 5");
        assert_eq!(page("limit=3", Some((2, Some(9))), None), " limit 1 offset 2");
        assert_eq!(page("", None, Some(50)), " limit 50");
        let huge = format!("limit={0}&offset={0}", u64::MAX);
        assert_eq!(
            page(&huge, Some((1, Some(u64::MAX))), None),
            format!(" limit 0 offset {}", u64::MAX)
        );
    }
}
