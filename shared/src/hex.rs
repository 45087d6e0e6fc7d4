//! Hexadecimal text, the form providers give webhook signatures in.

/// Lower- or upper-case hex to bytes; `None` for anything else (such a value cannot match).
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let nibble = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    text.as_bytes().chunks(2).map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?)).collect()
}

/// Bytes as lower-case hex (how tests sign as a provider would).
#[cfg(any(test, feature = "testing"))]
pub(crate) fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn either_case_decodes_and_anything_else_is_none() {
        assert_eq!(decode("00fFa0"), Some(vec![0x00, 0xff, 0xa0]));
        assert_eq!(decode(""), Some(vec![]));
        assert_eq!(decode("abc"), None, "odd length");
        assert_eq!(decode("zz"), None);
        assert_eq!(decode("+1"), None);
        assert_eq!(decode("é1"), None, "non-ASCII");
    }

    #[test]
    fn encoding_then_decoding_gives_the_bytes_back() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&bytes)), Some(bytes));
    }
}
