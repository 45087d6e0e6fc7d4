//! PostgREST's query-string grammar: `select=`, horizontal filters, `and=`/`or=` trees, `order=`.
//! Pure parsing into typed values; errors are PGRST100 with PostgREST's message shape.

use crate::error::ApiError;

/// A column, possibly followed by a JSON path: `data->a->>b`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub json_path: Vec<JsonStep>,
}

/// One `->key` (JSON) or `->>key` (text) step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonStep {
    pub as_text: bool,
    pub key: String,
}

impl Field {
    /// The name a selected field gets in the result: the last JSON key, else the column.
    pub fn output_name(&self) -> &str {
        self.json_path.last().map_or(&self.name, |step| &step.key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectItem {
    /// `*`: every column of the relation.
    Star,
    /// `alias:field::cast`.
    Field { field: Field, alias: Option<String>, cast: Option<String> },
    /// `alias:relation!hint!inner(items)`.
    Embed(Embed),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Embed {
    pub relation: String,
    pub alias: Option<String>,
    pub hint: Option<String>,
    pub inner: bool,
    pub items: Vec<SelectItem>,
}

impl Embed {
    /// The key the embedded value gets in its parent object.
    pub fn output_name(&self) -> &str {
        self.alias.as_deref().unwrap_or(&self.relation)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    Like,
    Ilike,
    Match,
    Imatch,
    In,
    Is,
    IsDistinct,
    Contains,
    ContainedIn,
    Overlaps,
    StrictlyLeft,
    StrictlyRight,
    NotExtendRight,
    NotExtendLeft,
    Adjacent,
    Fts,
    PlainFts,
    PhraseFts,
    WebFts,
}

impl Operator {
    fn from_name(name: &str) -> Option<Self> {
        use Operator::*;
        Some(match name {
            "eq" => Eq,
            "neq" => Neq,
            "gt" => Gt,
            "gte" => Gte,
            "lt" => Lt,
            "lte" => Lte,
            "like" => Like,
            "ilike" => Ilike,
            "match" => Match,
            "imatch" => Imatch,
            "in" => In,
            "is" => Is,
            "isdistinct" => IsDistinct,
            "cs" => Contains,
            "cd" => ContainedIn,
            "ov" => Overlaps,
            "sl" => StrictlyLeft,
            "sr" => StrictlyRight,
            "nxr" => NotExtendRight,
            "nxl" => NotExtendLeft,
            "adj" => Adjacent,
            "fts" => Fts,
            "plfts" => PlainFts,
            "phfts" => PhraseFts,
            "wfts" => WebFts,
            _ => return None,
        })
    }

    /// The SQL operator of a binary comparison (`None` for in/is/fts, rendered specially).
    pub fn sql(self) -> Option<&'static str> {
        use Operator::*;
        Some(match self {
            Eq => "=",
            Neq => "<>",
            Gt => ">",
            Gte => ">=",
            Lt => "<",
            Lte => "<=",
            Like => "like",
            Ilike => "ilike",
            Match => "~",
            Imatch => "~*",
            IsDistinct => "is distinct from",
            Contains => "@>",
            ContainedIn => "<@",
            Overlaps => "&&",
            StrictlyLeft => "<<",
            StrictlyRight => ">>",
            NotExtendRight => "&<",
            NotExtendLeft => "&>",
            Adjacent => "-|-",
            In | Is | Fts | PlainFts | PhraseFts | WebFts => return None,
        })
    }

    /// The tsquery constructor of a full-text operator.
    pub fn tsquery_function(self) -> Option<&'static str> {
        match self {
            Operator::Fts => Some("to_tsquery"),
            Operator::PlainFts => Some("plainto_tsquery"),
            Operator::PhraseFts => Some("phraseto_tsquery"),
            Operator::WebFts => Some("websearch_to_tsquery"),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantifier {
    Any,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsValue {
    Null,
    NotNull,
    True,
    False,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operand {
    /// One value, bound as an untyped parameter.
    Value(String),
    /// `in.(a,b)` and quantified `eq(any).{a,b}`: bound as one array literal.
    List(Vec<String>),
    Is(IsValue),
    /// Full-text search with an optional configuration: `fts(english).cat`.
    Search {
        language: Option<String>,
        query: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub field: Field,
    pub negated: bool,
    pub operator: Operator,
    pub quantifier: Option<Quantifier>,
    pub operand: Operand,
}

/// A horizontal filter: a condition or an `and`/`or` tree of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Condition(Condition),
    Tree { negated: bool, or: bool, children: Vec<Filter> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nulls {
    First,
    Last,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderTerm {
    pub field: Field,
    pub descending: bool,
    pub nulls: Option<Nulls>,
}

fn failed(what: &str, input: &str, details: impl Into<String>) -> ApiError {
    ApiError::parse(format!("\"failed to parse {what} ({input})\" (line 1, column 1)"), details)
}

/// Splits `text` at top-level `sep`, outside double quotes and parentheses or braces.
fn split_top_level(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut quoted, mut escaped, mut start) = (0i32, false, false, 0);
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '(' | '{' if !quoted => depth += 1,
            ')' | '}' if !quoted => depth -= 1,
            c if c == sep && !quoted && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A value that may be double-quoted with backslash escapes.
fn unquote(text: &str) -> String {
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return text.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn is_name_char(c: char) -> bool {
    !matches!(c, '.' | ',' | '(' | ')' | ':' | '!' | '-' | '>' | '"' | '{' | '}' | ' ')
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(is_name_char)
}

/// `col`, `"quoted col"` or `col->a->>b`.
pub fn parse_field(text: &str) -> Option<Field> {
    let text = text.trim();
    let (name, mut rest) = if let Some(quoted) = text.strip_prefix('"') {
        let end = quoted.find('"')?;
        (quoted[..end].to_owned(), &quoted[end + 1..])
    } else {
        let end = text.find("->").unwrap_or(text.len());
        let name = &text[..end];
        if !valid_name(name) {
            return None;
        }
        (name.to_owned(), &text[end..])
    };
    if name.is_empty() {
        return None;
    }
    let mut json_path = Vec::new();
    while !rest.is_empty() {
        let (as_text, after) = if let Some(after) = rest.strip_prefix("->>") {
            (true, after)
        } else {
            (false, rest.strip_prefix("->")?)
        };
        let end = after.find("->").unwrap_or(after.len());
        let key = unquote(&after[..end]);
        if key.is_empty() {
            return None;
        }
        json_path.push(JsonStep { as_text, key });
        rest = &after[end..];
    }
    Some(Field { name, json_path })
}

/// The `select=` parameter.
pub fn parse_select(text: &str) -> Result<Vec<SelectItem>, ApiError> {
    let fail = |details: &str| failed("select", text, details);
    if text.trim().is_empty() {
        return Ok(vec![SelectItem::Star]);
    }
    let mut items = Vec::new();
    for part in split_top_level(text, ',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(fail("unexpected \",\" expecting field name (* or [a..z0..9_$])"));
        }
        items.push(parse_select_item(part).ok_or_else(|| fail(&format!("unexpected \"{part}\"")))?);
    }
    Ok(items)
}

fn parse_select_item(part: &str) -> Option<SelectItem> {
    if part == "*" {
        return Some(SelectItem::Star);
    }
    // `alias:rest`, where the alias is before the first ':' not part of a '::' cast.
    let (alias, rest) = match part.find(':') {
        Some(i) if !part[i..].starts_with("::") => (Some(part[..i].trim()), part[i + 1..].trim()),
        _ => (None, part),
    };
    if alias.is_some_and(|a| !valid_name(a)) {
        return None;
    }
    let alias = alias.map(str::to_owned);
    if let Some(open) = rest.find('(') {
        let inner = rest[open + 1..].strip_suffix(')')?;
        let mut head = rest[..open].split('!');
        let relation = head.next()?.trim().to_owned();
        if !valid_name(&relation) {
            return None;
        }
        let (mut hint, mut inner_join) = (None, false);
        for modifier in head {
            match modifier.trim() {
                "inner" => inner_join = true,
                "left" => inner_join = false,
                name if valid_name(name) => hint = Some(name.to_owned()),
                _ => return None,
            }
        }
        let items = parse_select(inner).ok()?;
        return Some(SelectItem::Embed(Embed { relation, alias, hint, inner: inner_join, items }));
    }
    let (field_text, cast) = match rest.split_once("::") {
        Some((field, cast)) => (field, Some(cast.trim())),
        None => (rest, None),
    };
    if cast.is_some_and(|c| c.is_empty() || !c.chars().all(|c| c.is_alphanumeric() || c == '_')) {
        return None;
    }
    let field = parse_field(field_text)?;
    Some(SelectItem::Field { field, alias, cast: cast.map(str::to_owned) })
}

/// The value of a horizontal filter, `[not.]op[(modifier)].value`, for `field`.
pub fn parse_condition(field: Field, text: &str) -> Result<Condition, ApiError> {
    let fail = || {
        failed(
            "filter",
            text,
            "unexpected end of input expecting \"not\" or operator (eq, gt, ...)",
        )
    };
    let (negated, rest) = match text.strip_prefix("not.") {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (op_text, value) = rest.split_once('.').ok_or_else(fail)?;
    let (op_name, modifier) = match op_text.split_once('(') {
        Some((name, modifier)) => (name, Some(modifier.strip_suffix(')').ok_or_else(fail)?)),
        None => (op_text, None),
    };
    let operator = Operator::from_name(op_name).ok_or_else(fail)?;
    let mut quantifier = None;
    let operand = match operator {
        Operator::In => Operand::List(parse_list(value, '(', ')').ok_or_else(fail)?),
        Operator::Is => Operand::Is(match value.to_ascii_lowercase().as_str() {
            "null" => IsValue::Null,
            "not_null" => IsValue::NotNull,
            "true" => IsValue::True,
            "false" => IsValue::False,
            "unknown" => IsValue::Unknown,
            _ => return Err(fail()),
        }),
        op if op.tsquery_function().is_some() => {
            Operand::Search { language: modifier.map(str::to_owned), query: value.to_owned() }
        }
        _ => match modifier {
            Some("any") | Some("all") => {
                quantifier =
                    Some(if modifier == Some("any") { Quantifier::Any } else { Quantifier::All });
                Operand::List(parse_list(value, '{', '}').ok_or_else(fail)?)
            }
            Some(_) => return Err(fail()),
            None => Operand::Value(value.to_owned()),
        },
    };
    if modifier.is_some() && operator == Operator::In {
        return Err(fail());
    }
    Ok(Condition { field, negated, operator, quantifier, operand })
}

/// `(a,"b,c")` (or `{…}`) into its items.
fn parse_list(text: &str, open: char, close: char) -> Option<Vec<String>> {
    let inner = text.strip_prefix(open)?.strip_suffix(close)?;
    if inner.trim().is_empty() {
        return Some(Vec::new());
    }
    Some(split_top_level(inner, ',').into_iter().map(|item| unquote(item.trim())).collect())
}

/// A horizontal filter given as a query parameter `key=value`; `key` is a field (the embedding
/// path already removed) or one of `and`, `or`, `not.and`, `not.or`.
pub fn parse_filter(key: &str, value: &str) -> Result<Filter, ApiError> {
    let (negated, logic) = match key.strip_prefix("not.") {
        Some(rest) => (true, rest),
        None => (false, key),
    };
    if logic == "and" || logic == "or" {
        return parse_tree(negated, logic == "or", value, &format!("{key}={value}"));
    }
    let field = parse_field(key).ok_or_else(|| {
        failed("filter", key, "unexpected \"-\" expecting field name (* or [a..z0..9_$])")
    })?;
    Ok(Filter::Condition(parse_condition(field, value)?))
}

fn parse_tree(negated: bool, or: bool, text: &str, whole: &str) -> Result<Filter, ApiError> {
    let fail = || failed("logic tree", whole, "unexpected end of input expecting \"(\"");
    let inner = text.strip_prefix('(').and_then(|t| t.strip_suffix(')')).ok_or_else(fail)?;
    let mut children = Vec::new();
    for item in split_top_level(inner, ',') {
        let item = item.trim();
        // `not.` before a nested tree negates it; a condition negates after its field.
        let (item_negated, rest) = match item.strip_prefix("not.") {
            Some(rest) if rest.starts_with("and(") || rest.starts_with("or(") => (true, rest),
            _ => (false, item),
        };
        let child = if let Some(sub) = rest.strip_prefix("and(") {
            parse_tree(item_negated, false, &format!("({sub}"), whole)?
        } else if let Some(sub) = rest.strip_prefix("or(") {
            parse_tree(item_negated, true, &format!("({sub}"), whole)?
        } else {
            let (field, condition) = split_field(item).ok_or_else(fail)?;
            let field = parse_field(field).ok_or_else(fail)?;
            let mut condition = parse_condition(field, condition)?;
            // Inside a tree, a value with reserved characters (`,`, `(`) is double-quoted.
            match &mut condition.operand {
                Operand::Value(value) | Operand::Search { query: value, .. } => {
                    *value = unquote(value);
                }
                Operand::List(_) | Operand::Is(_) => {}
            }
            Filter::Condition(condition)
        };
        children.push(child);
    }
    if children.is_empty() {
        return Err(fail());
    }
    Ok(Filter::Tree { negated, or, children })
}

/// `field.op.value` -> (`field`, `op.value`); the field ends at the first '.' outside quotes.
fn split_field(item: &str) -> Option<(&str, &str)> {
    if let Some(quoted) = item.strip_prefix('"') {
        let end = quoted.find('"')? + 2;
        return item[end..].strip_prefix('.').map(|rest| (&item[..end], rest));
    }
    item.split_once('.')
}

/// The `order=` parameter.
pub fn parse_order(text: &str) -> Result<Vec<OrderTerm>, ApiError> {
    let fail = || failed("order", text, "unexpected \".\" expecting \"asc\", \"desc\", ...");
    let mut terms = Vec::new();
    for part in split_top_level(text, ',') {
        let mut pieces = part.trim().split('.');
        let field = parse_field(pieces.next().unwrap_or_default()).ok_or_else(fail)?;
        let mut term = OrderTerm { field, descending: false, nulls: None };
        for piece in pieces {
            match piece {
                "asc" => term.descending = false,
                "desc" => term.descending = true,
                "nullsfirst" => term.nulls = Some(Nulls::First),
                "nullslast" => term.nulls = Some(Nulls::Last),
                _ => return Err(fail()),
            }
        }
        terms.push(term);
    }
    Ok(terms)
}

/// A comma-separated list of column names (`columns=`, `on_conflict=`).
pub fn parse_names(param: &str, text: &str) -> Result<Vec<String>, ApiError> {
    let names: Vec<String> = split_top_level(text, ',').iter().map(|n| unquote(n.trim())).collect();
    if names.iter().any(|n| n.is_empty()) {
        return Err(failed(param, text, "unexpected \",\" expecting field name"));
    }
    Ok(names)
}

/// A non-negative whole number (`limit=`, `offset=`).
pub fn parse_count(param: &str, text: &str) -> Result<u64, ApiError> {
    text.trim()
        .parse()
        .map_err(|_| failed(param, text, "unexpected input expecting a non-negative integer"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> Field {
        Field { name: name.to_owned(), json_path: vec![] }
    }

    fn column(name: &str) -> SelectItem {
        SelectItem::Field { field: field(name), alias: None, cast: None }
    }

    #[test]
    fn select_reads_columns_renames_casts_and_json_paths() {
        let items = parse_select("id,full_name:name,amount::text,data->a->>b").unwrap();
        assert_eq!(items[0], column("id"));
        assert_eq!(
            items[1],
            SelectItem::Field { field: field("name"), alias: Some("full_name".into()), cast: None }
        );
        assert_eq!(
            items[2],
            SelectItem::Field { field: field("amount"), alias: None, cast: Some("text".into()) }
        );
        let SelectItem::Field { field: path, .. } = &items[3] else { panic!() };
        assert_eq!(path.name, "data");
        assert_eq!(path.output_name(), "b");
        assert_eq!(
            path.json_path,
            vec![
                JsonStep { as_text: false, key: "a".into() },
                JsonStep { as_text: true, key: "b".into() }
            ]
        );
    }

    #[test]
    fn select_reads_embeds_with_alias_hint_and_inner() {
        let items = parse_select("*,owner:users!owner_fk!inner(id,email),tags(*)").unwrap();
        assert_eq!(items[0], SelectItem::Star);
        assert_eq!(
            items[1],
            SelectItem::Embed(Embed {
                relation: "users".into(),
                alias: Some("owner".into()),
                hint: Some("owner_fk".into()),
                inner: true,
                items: vec![column("id"), column("email")],
            })
        );
        let SelectItem::Embed(tags) = &items[2] else { panic!() };
        assert_eq!(tags.output_name(), "tags");
        assert_eq!(tags.items, vec![SelectItem::Star]);
    }

    #[test]
    fn an_empty_select_means_every_column() {
        assert_eq!(parse_select("").unwrap(), vec![SelectItem::Star]);
    }

    #[test]
    fn a_malformed_select_is_pgrst100() {
        for bad in ["id,,name", "a(b", "x::", "bad-name", "t!nope!(x)"] {
            let error = parse_select(bad).unwrap_err();
            assert_eq!(error.code, "PGRST100", "{bad}");
        }
    }

    #[test]
    fn conditions_read_operator_negation_and_operand() {
        let check = |text: &str, negated: bool, operator: Operator, operand: Operand| {
            let c = parse_condition(field("x"), text).unwrap();
            assert_eq!((c.negated, c.operator, c.operand), (negated, operator, operand), "{text}");
        };
        check("eq.5", false, Operator::Eq, Operand::Value("5".into()));
        check("not.like.a*", true, Operator::Like, Operand::Value("a*".into()));
        check("gte.2020-01-01", false, Operator::Gte, Operand::Value("2020-01-01".into()));
        check("eq.a.b", false, Operator::Eq, Operand::Value("a.b".into()));
        check(
            "in.(1,\"a,b\",3)",
            false,
            Operator::In,
            Operand::List(vec!["1".into(), "a,b".into(), "3".into()]),
        );
        check("in.()", false, Operator::In, Operand::List(vec![]));
        check("is.null", false, Operator::Is, Operand::Is(IsValue::Null));
        check("not.is.TRUE", true, Operator::Is, Operand::Is(IsValue::True));
        check(
            "fts(english).cat",
            false,
            Operator::Fts,
            Operand::Search { language: Some("english".into()), query: "cat".into() },
        );
    }

    #[test]
    fn a_quantified_condition_takes_a_brace_list() {
        let c = parse_condition(field("x"), "like(any).{a*,b*}").unwrap();
        assert_eq!(c.quantifier, Some(Quantifier::Any));
        assert_eq!(c.operand, Operand::List(vec!["a*".into(), "b*".into()]));
    }

    #[test]
    fn malformed_conditions_are_pgrst100() {
        for bad in ["5", "foo.1", "is.maybe", "in.1,2", "eq(some).1", "not.5"] {
            let error = parse_condition(field("x"), bad).unwrap_err();
            assert_eq!(error.code, "PGRST100", "{bad}");
            assert_eq!(error.status, 400);
        }
    }

    #[test]
    fn logic_trees_nest_and_negate() {
        let tree =
            parse_filter("or", "(a.eq.1,and(b.gt.2,c.not.is.null),not.or(d.in.(1,2)))").unwrap();
        let Filter::Tree { negated: false, or: true, children } = tree else { panic!() };
        assert_eq!(children.len(), 3);
        let Filter::Tree { or: false, children: inner, .. } = &children[1] else { panic!() };
        let Filter::Condition(c) = &inner[1] else { panic!() };
        assert!(c.negated);
        assert_eq!(c.field.name, "c");
        assert!(matches!(children[2], Filter::Tree { negated: true, or: true, .. }));
        assert!(matches!(
            parse_filter("not.and", "(a.eq.1)").unwrap(),
            Filter::Tree { negated: true, or: false, .. }
        ));
    }

    #[test]
    fn a_quoted_value_in_a_tree_loses_its_quotes() {
        let Filter::Tree { children, .. } = parse_filter("or", "(a.eq.\"x, y\",b.eq.1)").unwrap()
        else {
            panic!()
        };
        let Filter::Condition(c) = &children[0] else { panic!() };
        assert_eq!(c.operand, Operand::Value("x, y".into()));
    }

    #[test]
    fn malformed_logic_trees_are_pgrst100() {
        for bad in ["a.eq.1", "()", "(a)", "(a.zz.1)"] {
            assert_eq!(parse_filter("or", bad).unwrap_err().code, "PGRST100", "{bad}");
        }
    }

    #[test]
    fn order_reads_direction_and_nulls() {
        let terms = parse_order("a.desc.nullslast,b,c.asc.nullsfirst").unwrap();
        assert_eq!(
            terms[0],
            OrderTerm { field: field("a"), descending: true, nulls: Some(Nulls::Last) }
        );
        assert_eq!(terms[1], OrderTerm { field: field("b"), descending: false, nulls: None });
        assert_eq!(terms[2].nulls, Some(Nulls::First));
        assert_eq!(parse_order("a.sideways").unwrap_err().code, "PGRST100");
    }

    #[test]
    fn counts_and_names_parse_or_fail_with_pgrst100() {
        assert_eq!(parse_count("limit", "10").unwrap(), 10);
        assert_eq!(parse_count("limit", "-1").unwrap_err().code, "PGRST100");
        assert_eq!(parse_names("columns", "a,b").unwrap(), vec!["a", "b"]);
        assert_eq!(parse_names("columns", "a,,b").unwrap_err().code, "PGRST100");
    }
}
