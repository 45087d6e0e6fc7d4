//! Building SQL text with every value bound as a parameter and every identifier quoted.

use bytes::BytesMut;
use tokio_postgres::types::{Format, IsNull, ToSql, Type, to_sql_checked};

/// SQL text and its parameters; a value never enters the text.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Option<String>>,
}

impl Sql {
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Binds `value` as the next parameter and writes its placeholder.
    pub fn bind(&mut self, value: impl Into<String>) -> &mut Self {
        self.params.push(Some(value.into()));
        let placeholder = format!("${}", self.params.len());
        self.text.push_str(&placeholder);
        self
    }

    /// Binds `value` and returns its placeholder without writing it, for text composed apart.
    pub fn placeholder(&mut self, value: impl Into<String>) -> String {
        self.params.push(Some(value.into()));
        format!("${}", self.params.len())
    }

    /// Runs `write` and takes back the text it wrote (its parameters stay bound), so a fragment
    /// can be placed elsewhere: placeholders are numbered by binding order, not text position.
    pub fn capture<R>(&mut self, write: impl FnOnce(&mut Self) -> R) -> (String, R) {
        let start = self.text.len();
        let result = write(self);
        (self.text.split_off(start), result)
    }
}

/// A quoted identifier: `"name"` with inner quotes doubled.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `"schema"."name"`.
pub fn qualified(schema: &str, name: &str) -> String {
    format!("{}.{}", ident(schema), ident(name))
}

/// A parameter sent in text format with no declared type, so that Postgres infers its type from
/// where it is used, as PostgREST's untyped parameters are.
#[derive(Debug)]
pub struct TextParam<'a>(pub Option<&'a str>);

impl ToSql for TextParam<'_> {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Some(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(IsNull::No)
            }
            None => Ok(IsNull::Yes),
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    fn encode_format(&self, _ty: &Type) -> Format {
        Format::Text
    }

    to_sql_checked!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_with_inner_quotes_doubled() {
        assert_eq!(ident("name"), "\"name\"");
        assert_eq!(ident("a\"; drop table x; --"), "\"a\"\"; drop table x; --\"");
        assert_eq!(qualified("public", "t"), "\"public\".\"t\"");
    }

    #[test]
    fn values_become_numbered_parameters() {
        let mut sql = Sql::default();
        sql.push("a = ").bind("1").push(" and b = ").bind("x'y");
        assert_eq!(sql.text, "a = $1 and b = $2");
        assert_eq!(sql.params, vec![Some("1".to_owned()), Some("x'y".to_owned())]);
    }

    #[test]
    fn a_captured_fragment_keeps_its_parameters_bound() {
        let mut sql = Sql::default();
        let (fragment, ()) = sql.capture(|sql| {
            sql.push("b = ").bind("2");
        });
        sql.push("a = ").bind("1").push(" and ").push(&fragment);
        assert_eq!(sql.text, "a = $2 and b = $1");
        assert_eq!(sql.params.len(), 2);
        assert_eq!(sql.placeholder("3"), "$3");
    }
}
