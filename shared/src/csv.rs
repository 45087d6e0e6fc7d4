//! CSV for downloads that people open in spreadsheets: RFC 4180 records (comma-separated,
//! CRLF-terminated, a cell quoted when it holds a comma, a quote or a line break, quotes
//! doubled), and cells that a spreadsheet would run as a formula made inert.
//!
//! Formula injection: Excel, LibreOffice and Google Sheets evaluate a cell starting with `=`,
//! `+`, `-` or `@` (and treat a leading tab or carriage return the same way), so text a user
//! typed, such as `=HYPERLINK(…)`, could run on an admin's machine. Such a cell gets a leading
//! `'`, which spreadsheets read as "text" and hide; the value stays readable and recoverable.

/// Appends one record made of `cells` to `out`, ended by CRLF.
pub fn write_record<'a>(out: &mut String, cells: impl IntoIterator<Item = &'a str>) {
    for (i, cell) in cells.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_cell(out, cell);
    }
    out.push_str("\r\n");
}

/// Appends one cell, made inert and quoted as needed.
pub fn write_cell(out: &mut String, cell: &str) {
    let guarded = starts_a_formula(cell);
    let quoted = cell.contains([',', '"', '\r', '\n']);
    if quoted {
        out.push('"');
    }
    if guarded {
        out.push('\'');
    }
    if quoted {
        for c in cell.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(cell);
    }
}

/// Whether a spreadsheet would treat `cell` as a formula (or the start of one).
pub fn starts_a_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn record(cells: &[&str]) -> String {
        let mut out = String::new();
        write_record(&mut out, cells.iter().copied());
        out
    }

    /// An RFC 4180 reader, only to read back what the writer wrote.
    fn parse(text: &str) -> Vec<Vec<String>> {
        let mut records = Vec::new();
        let mut record = Vec::new();
        let mut cell = String::new();
        let mut chars = text.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => cell.push(c),
                (false, '"') => quoted = true,
                (false, ',') => record.push(std::mem::take(&mut cell)),
                (false, '\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                    record.push(std::mem::take(&mut cell));
                    records.push(std::mem::take(&mut record));
                }
                (false, c) => cell.push(c),
            }
        }
        records
    }

    #[test]
    fn plain_cells_are_written_as_they_are() {
        assert_eq!(record(&["id", "at", "flag.set", ""]), "id,at,flag.set,\r\n");
        assert_eq!(record(&["Zoë", "東京", "a b"]), "Zoë,東京,a b\r\n");
    }

    #[test]
    fn commas_quotes_and_line_breaks_are_quoted_with_quotes_doubled() {
        assert_eq!(record(&["a,b"]), "\"a,b\"\r\n");
        assert_eq!(record(&["say \"hi\""]), "\"say \"\"hi\"\"\"\r\n");
        assert_eq!(record(&["two\nlines", "cr\r"]), "\"two\nlines\",\"cr\r\"\r\n");
        assert_eq!(record(&[r#"{"a":1,"b":"x"}"#]), "\"{\"\"a\"\":1,\"\"b\"\":\"\"x\"\"}\"\r\n");
    }

    #[test]
    fn cells_a_spreadsheet_would_evaluate_become_text() {
        assert_eq!(record(&["=1+1", "+1", "-1", "@SUM(A1)"]), "'=1+1,'+1,'-1,'@SUM(A1)\r\n");
        assert_eq!(
            record(&["\tx", "=HYPERLINK(\"http://x\",\"y\")"]),
            "'\tx,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"\r\n"
        );
        assert_eq!(record(&["\r=1"]), "\"'\r=1\"\r\n");
        assert_eq!(
            record(&["a=1", "1-2", "x@y"]),
            "a=1,1-2,x@y\r\n",
            "only the first character counts"
        );
    }

    proptest! {
        #[test]
        fn every_record_reads_back_as_written_apart_from_the_formula_guard(
            rows in prop::collection::vec(
                prop::collection::vec(prop_oneof!["(?s).{0,12}", "[=+@\t\r\n\",a -]{0,8}"], 1..6),
                1..6,
            )
        ) {
            let mut text = String::new();
            for row in &rows {
                write_record(&mut text, row.iter().map(String::as_str));
            }
            let expected: Vec<Vec<String>> = rows.iter().map(|row| {
                row.iter()
                    .map(|cell| if starts_a_formula(cell) { format!("'{cell}") } else { cell.clone() })
                    .collect()
            }).collect();
            prop_assert_eq!(parse(&text), expected);
        }
    }
}
