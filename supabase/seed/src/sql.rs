//! Writing values into SQL text. Every string goes through `literal`; numbers come from the
//! validated types of `values`.

/// A string literal: single quotes doubled (standard_conforming_strings is on everywhere).
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A `text[]` literal built from string literals.
pub fn text_array<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = values.into_iter().map(literal).collect();
    format!("array[{}]::text[]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled_and_nothing_else_changes() {
        assert_eq!(literal("O'Brien"), "'O''Brien'");
        assert_eq!(literal(r"a\b"), r"'a\b'");
        assert_eq!(literal("'; drop table x; --"), "'''; drop table x; --'");
    }

    #[test]
    fn arrays_are_spelled_out() {
        assert_eq!(text_array(["a", "b'c"]), "array['a', 'b''c']::text[]");
        assert_eq!(text_array([]), "array[]::text[]");
    }
}
