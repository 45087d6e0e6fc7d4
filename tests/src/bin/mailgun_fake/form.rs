//! The two body encodings Mailgun's send endpoint accepts, read into (name, value) pairs in
//! order: `application/x-www-form-urlencoded` and `multipart/form-data` (text parts only; a
//! file part is kept with its file name as the value, which is all the checks need).

/// The fields of `body` sent as `content_type`; None when the encoding is neither of the two,
/// or the multipart body is malformed.
pub fn fields(content_type: &str, body: &[u8]) -> Option<Vec<(String, String)>> {
    let media_type = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match media_type.as_str() {
        "application/x-www-form-urlencoded" => {
            Some(form_urlencoded::parse(body).into_owned().collect())
        }
        "multipart/form-data" => multipart(boundary(content_type)?.as_str(), body),
        _ => None,
    }
}

/// The `boundary` parameter of a multipart content type, unquoted.
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|parameter| {
        let (name, value) = parameter.split_once('=')?;
        (name.trim().eq_ignore_ascii_case("boundary"))
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|value| !value.is_empty())
    })
}

/// RFC 7578 parts: `--boundary CRLF headers CRLF CRLF content CRLF`, closed by `--boundary--`.
fn multipart(boundary: &str, body: &[u8]) -> Option<Vec<(String, String)>> {
    let delimiter = format!("--{boundary}");
    let text = String::from_utf8_lossy(body);
    let mut sections = text.split(delimiter.as_str());
    sections.next()?; // the preamble
    let mut fields = Vec::new();
    for section in sections {
        if section.starts_with("--") {
            return Some(fields);
        }
        let section = section.strip_prefix("\r\n")?;
        let (headers, content) = section.split_once("\r\n\r\n")?;
        let content = content.strip_suffix("\r\n")?;
        let disposition = headers
            .split("\r\n")
            .find(|line| line.to_ascii_lowercase().starts_with("content-disposition:"))?;
        let parameter = |key: &str| {
            disposition.split(';').find_map(|part| {
                let (name, value) = part.trim().split_once('=')?;
                (name == key).then(|| value.trim_matches('"').to_owned())
            })
        };
        let name = parameter("name")?;
        let value = parameter("filename").unwrap_or_else(|| content.to_owned());
        fields.push((name, value));
    }
    None // no closing delimiter
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(fields: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn a_urlencoded_body_is_read_in_order_with_escapes_undone() {
        let body = b"from=SalesPulse%20%3Cno-reply%40mg.test%3E&h%3AMessage-Id=%3Cb-1%40mg.test%3E&to=a%40b.test";
        assert_eq!(
            fields("application/x-www-form-urlencoded", body),
            pairs(&[
                ("from", "SalesPulse <no-reply@mg.test>"),
                ("h:Message-Id", "<b-1@mg.test>"),
                ("to", "a@b.test")
            ])
        );
    }

    #[test]
    fn a_multipart_body_is_read_part_by_part() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\na@b.test\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"text\"\r\n\
                    Content-Type: text/plain\r\n\r\nline one\r\nline two\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"a.pdf\"\r\n\r\n%PDF\r\n\
                    --XyZ--\r\n";
        assert_eq!(
            fields("multipart/form-data; boundary=\"XyZ\"", body.as_bytes()),
            pairs(&[("to", "a@b.test"), ("text", "line one\r\nline two"), ("attachment", "a.pdf")])
        );
    }

    #[test]
    fn other_encodings_and_broken_multipart_bodies_give_no_fields() {
        assert_eq!(fields("application/json", b"{\"to\": \"a@b.test\"}"), None);
        assert_eq!(fields("multipart/form-data", b"--x\r\n"), None, "no boundary");
        let unclosed = b"--x\r\nContent-Disposition: form-data; name=\"to\"\r\n\r\na@b.test\r\n";
        assert_eq!(fields("multipart/form-data; boundary=x", unclosed), None);
    }
}
