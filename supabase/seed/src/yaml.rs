//! Reading one YAML file into a validated value, with the file and line in every error.

use std::path::Path;

use serde::de::DeserializeOwned;

use crate::SeedError;

/// The text of `path`, or an error naming it.
pub fn read_text(path: &Path) -> Result<String, SeedError> {
    std::fs::read_to_string(path)
        .map_err(|e| SeedError::new(path, None, format!("cannot read: {e}")))
}

/// Deserializes `text`; validation inside `T`'s `Deserialize` (the newtypes of `values`) is
/// reported at the line where serde was (the start of the item holding the bad value).
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, SeedError> {
    serde_yaml_ng::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        // serde_yaml_ng appends " at line L column C" to the message; the line is kept apart.
        let message = e.to_string();
        let reason = match message.find(" at line ") {
            Some(at) => message[..at].to_owned(),
            None => message,
        };
        SeedError::new(path, line, reason)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Pair {
        a: u32,
        b: String,
    }

    fn check(text: &str, line: Option<usize>, reason_part: &str) {
        let e = parse::<Pair>(Path::new("x.yml"), text).unwrap_err();
        assert_eq!(e.line, line, "{e}");
        assert!(e.reason.contains(reason_part), "{e}");
        assert!(!e.reason.contains(" at line "), "{e}");
    }

    #[test]
    fn errors_name_the_line_and_the_reason() {
        check("a: 1\nb: x\nc: 2\n", Some(3), "unknown field `c`");
        check("a: -1\nb: x\n", Some(1), "invalid type: integer `-1`");
        check("a: 1\n", Some(1), "missing field `b`");
        check("a: 1\nb: 'x\n", Some(3), "unexpected end of stream");
    }
}

/// The 1-based line of the `nth` line (from 1) whose trimmed text, after a leading `- `,
/// starts with `needle`: where a cross-field problem (a duplicate key) is reported.
pub fn line_of_nth(text: &str, needle: &str, nth: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start();
            l.strip_prefix("- ").unwrap_or(l).starts_with(needle)
        })
        .nth(nth.checked_sub(1)?)
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod line_tests {
    use super::*;

    #[test]
    fn the_nth_matching_line_is_found() {
        let text = "a:\n  - key: x\n  - key: y\n  - key: x\n";
        assert_eq!(line_of_nth(text, "key: x", 1), Some(2));
        assert_eq!(line_of_nth(text, "key: x", 2), Some(4));
        assert_eq!(line_of_nth(text, "key: x", 3), None);
        assert_eq!(line_of_nth(text, "key: x", 0), None);
    }
}
