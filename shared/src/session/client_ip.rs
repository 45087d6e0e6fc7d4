//! The client's address, for login throttling. Only a header that the edge in front of the
//! functions sets (and overwrites) can be trusted: `cf-connecting-ip` on Cloudflare (the
//! default of `CLIENT_IP_HEADER`). Behind another proxy, name its header; for `x-forwarded-for`
//! the last entry is taken, the one the trusted proxy appended itself, since everything to its
//! left came from the client. A value that is not an IP address counts as no address: the
//! account is still throttled, and junk cannot mint a fresh counter per request.

use std::net::IpAddr;

use http::HeaderMap;

use super::SessionSettings;

/// The caller's address as the configured header states it, once it parses as an IP address
/// (Postgres stores it canonical), or `None`.
pub fn client_ip(headers: &HeaderMap, settings: &SessionSettings) -> Option<String> {
    let value = headers.get(settings.client_ip_header.as_str())?.to_str().ok()?;
    let last_hop = value.rsplit(',').next()?.trim();
    last_hop.parse::<IpAddr>().is_ok().then(|| last_hop.to_owned())
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn ip(header: &str, value: &str, configured: &str) -> Option<String> {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::HeaderName::from_bytes(header.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
        let settings =
            SessionSettings { client_ip_header: configured.into(), ..SessionSettings::default() };
        client_ip(&headers, &settings)
    }

    #[test]
    fn the_configured_header_gives_the_address() {
        assert_eq!(
            ip("cf-connecting-ip", "203.0.113.7", "cf-connecting-ip").as_deref(),
            Some("203.0.113.7")
        );
        assert_eq!(
            ip("cf-connecting-ip", "2001:db8::1", "cf-connecting-ip").as_deref(),
            Some("2001:db8::1")
        );
    }

    #[test]
    fn other_headers_are_ignored() {
        assert_eq!(ip("x-forwarded-for", "203.0.113.7", "cf-connecting-ip"), None);
        assert_eq!(ip("x-real-ip", "203.0.113.7", "cf-connecting-ip"), None);
    }

    #[test]
    fn a_forwarded_for_list_gives_its_last_hop_only() {
        assert_eq!(
            ip("x-forwarded-for", "1.2.3.4, 198.51.100.9", "x-forwarded-for").as_deref(),
            Some("198.51.100.9")
        );
    }

    #[test]
    fn a_value_that_is_no_address_is_none() {
        for junk in ["unknown", "", "203.0.113.7:443", "203.0.113.7, ", "a.b.c.d"] {
            assert_eq!(ip("cf-connecting-ip", junk, "cf-connecting-ip"), None, "{junk:?}");
        }
    }
}
