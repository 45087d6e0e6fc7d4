//! Reading a request's form parameters as Stripe does: nested keys (`a[b]`, `a[0][c]`, `a[]`)
//! into a tree, checked against the shape an endpoint accepts, with Stripe's error bodies for
//! unknown, missing and malformed parameters.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::{Map, Value, json};

/// An error answered in Stripe's shape.
#[derive(Debug)]
pub struct StripeError {
    pub status: StatusCode,
    pub body: Value,
}

impl StripeError {
    pub fn invalid(code: Option<&str>, param: Option<&str>, message: impl Into<String>) -> Self {
        let mut error = json!({"type": "invalid_request_error", "message": message.into()});
        if let Some(code) = code {
            error["code"] = json!(code);
        }
        if let Some(param) = param {
            error["param"] = json!(param);
        }
        Self { status: StatusCode::BAD_REQUEST, body: json!({ "error": error }) }
    }

    pub fn missing(param: &str) -> Self {
        Self::invalid(
            Some("parameter_missing"),
            Some(param),
            format!("Missing required param: {param}."),
        )
    }

    pub fn no_such(kind: &str, id: &str, param: &str) -> Self {
        let mut error =
            Self::invalid(Some("resource_missing"), Some(param), format!("No such {kind}: '{id}'"));
        if param.is_empty() {
            error.body["error"].as_object_mut().map(|e| e.remove("param"));
            error.status = StatusCode::NOT_FOUND;
        }
        error
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            body: json!({"error": {"type": "invalid_request_error", "message": message.into()}}),
        }
    }
}

/// What an endpoint accepts at one place of the tree.
pub enum Shape {
    /// A scalar (every form value is text; endpoints parse numbers and booleans themselves).
    Text,
    /// Free-form string pairs (`metadata`).
    Metadata,
    /// Named fields, each with its shape; any other name is `parameter_unknown`.
    Object(&'static [(&'static str, Shape)]),
    /// An array (`a[0]…`, `a[]`) of the inner shape.
    List(&'static Shape),
}

/// Parses a form body or query string into a tree. Indexed keys become arrays in index order.
pub fn parse(encoded: &[u8]) -> Result<Value, StripeError> {
    let mut root = Value::Object(Map::new());
    for (key, value) in form_urlencoded::parse(encoded) {
        let (head, path) = split_key(&key).ok_or_else(|| {
            StripeError::invalid(None, Some(&key), format!("Invalid parameter name: {key}"))
        })?;
        insert(&mut root, &head, &path, value.into_owned(), &key)?;
    }
    Ok(arrays_from_indices(root))
}

/// `line_items[0][price]` → (`line_items`, [`0`, `price`]); `lookup_keys[]` → (`lookup_keys`, [``]).
fn split_key(key: &str) -> Option<(String, Vec<String>)> {
    let (head, mut rest) = match key.find('[') {
        Some(at) => (&key[..at], &key[at..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return None;
    }
    let mut path = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        path.push(inner[..close].to_owned());
        rest = &inner[close + 1..];
    }
    Some((head.to_owned(), path))
}

fn insert(
    node: &mut Value,
    head: &str,
    path: &[String],
    value: String,
    whole: &str,
) -> Result<(), StripeError> {
    let conflict =
        || StripeError::invalid(None, Some(whole), format!("Invalid parameter: {whole}"));
    let Value::Object(map) = node else { return Err(conflict()) };
    let Some((next, rest)) = path.split_first() else {
        if map.insert(head.to_owned(), Value::String(value)).is_some() {
            return Err(conflict());
        }
        return Ok(());
    };
    let child = map.entry(head.to_owned()).or_insert_with(|| Value::Object(Map::new()));
    if next.is_empty() {
        // `a[]=x` appends: stored under the next free index.
        let Value::Object(items) = child else { return Err(conflict()) };
        let index = items.len().to_string();
        if !rest.is_empty() {
            return Err(conflict());
        }
        items.insert(index, Value::String(value));
        return Ok(());
    }
    insert(child, next, rest, value, whole)
}

fn arrays_from_indices(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let all_indices = !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok());
            if all_indices {
                let ordered: BTreeMap<usize, Value> = map
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap_or(0), arrays_from_indices(v)))
                    .collect();
                Value::Array(ordered.into_values().collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, arrays_from_indices(v))).collect())
            }
        }
        other => other,
    }
}

/// Checks `tree` against `shape`: the first unknown parameter or misplaced value is Stripe's 400.
pub fn check(tree: &Value, shape: &Shape, path: &str) -> Result<(), StripeError> {
    let unknown = |name: &str| {
        StripeError::invalid(
            Some("parameter_unknown"),
            Some(name),
            format!("Received unknown parameter: {name}"),
        )
    };
    let invalid = || StripeError::invalid(None, Some(path), format!("Invalid value for {path}."));
    match (shape, tree) {
        (Shape::Text, Value::String(_)) => Ok(()),
        (Shape::Metadata, Value::Object(map)) => {
            if map.len() > 50 {
                return Err(StripeError::invalid(
                    None,
                    Some(path),
                    "You can specify up to 50 keys.",
                ));
            }
            for (key, value) in map {
                let Value::String(text) = value else { return Err(invalid()) };
                if key.chars().count() > 40 || text.chars().count() > 500 {
                    return Err(StripeError::invalid(
                        None,
                        Some(&format!("{path}[{key}]")),
                        "Metadata keys are limited to 40 characters and values to 500.",
                    ));
                }
            }
            Ok(())
        }
        (Shape::Metadata, Value::String(empty)) if empty.is_empty() => Ok(()),
        (Shape::Object(fields), Value::Object(map)) => {
            for (name, value) in map {
                let nested = if path.is_empty() { name.clone() } else { format!("{path}[{name}]") };
                match fields.iter().find(|(field, _)| field == name) {
                    Some((_, inner)) => check(value, inner, &nested)?,
                    None => return Err(unknown(&nested)),
                }
            }
            Ok(())
        }
        (Shape::List(inner), Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                check(item, inner, &format!("{path}[{index}]"))?;
            }
            Ok(())
        }
        _ => Err(invalid()),
    }
}

/// Typed reads of a checked tree.
pub struct Params<'a>(pub &'a Value);

impl<'a> Params<'a> {
    pub fn text(&self, name: &str) -> Option<&'a str> {
        self.0.get(name).and_then(Value::as_str)
    }

    pub fn required(&self, name: &str) -> Result<&'a str, StripeError> {
        self.text(name).filter(|v| !v.is_empty()).ok_or_else(|| StripeError::missing(name))
    }

    pub fn integer(&self, name: &str, at: &str) -> Result<Option<i64>, StripeError> {
        self.text(name)
            .map(|text| {
                text.parse::<i64>().map_err(|_| {
                    StripeError::invalid(
                        Some("parameter_invalid_integer"),
                        Some(at),
                        format!("Invalid integer: {text}"),
                    )
                })
            })
            .transpose()
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, StripeError> {
        match self.text(name) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(StripeError::invalid(
                Some("parameter_invalid_boolean"),
                Some(name),
                format!("Invalid boolean: {other}"),
            )),
        }
    }

    pub fn child(&self, name: &str) -> Option<Params<'a>> {
        self.0.get(name).map(Params)
    }

    pub fn metadata(&self) -> Value {
        match self.0.get("metadata") {
            Some(Value::Object(map)) => Value::Object(map.clone()),
            _ => json!({}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_keys_become_a_tree_with_arrays() {
        let tree = parse(
            b"mode=subscription&line_items[1][price]=p2&line_items[0][price]=p1\
              &line_items[0][quantity]=3&metadata[org_id]=o&lookup_keys[]=a&lookup_keys[]=b",
        )
        .unwrap();
        assert_eq!(
            tree,
            json!({"mode": "subscription",
                   "line_items": [{"price": "p1", "quantity": "3"}, {"price": "p2"}],
                   "metadata": {"org_id": "o"}, "lookup_keys": ["a", "b"]})
        );
    }

    #[test]
    fn unknown_and_misplaced_parameters_are_refused_by_name() {
        const ITEM: Shape = Shape::Object(&[("price", Shape::Text)]);
        const SHAPE: Shape = Shape::Object(&[("line_items", Shape::List(&ITEM))]);
        let error = check(&parse(b"line_items[0][prize]=x").unwrap(), &SHAPE, "").unwrap_err();
        assert_eq!(error.body["error"]["code"], "parameter_unknown");
        assert_eq!(error.body["error"]["param"], "line_items[0][prize]");
        assert!(check(&parse(b"line_items=x").unwrap(), &SHAPE, "").is_err());
        assert!(check(&parse(b"line_items[0][price]=x").unwrap(), &SHAPE, "").is_ok());
        assert!(parse(b"a=1&a=2").is_err());
    }
}
