//! RS256 verification (RSASSA-PKCS1-v1_5 with SHA-256, RFC 8017 §8.2.2) for projects whose
//! signing key is RSA. Built on `crypto-bigint`'s Montgomery arithmetic, which `p256` already
//! links, rather than the `rsa` crate and its own big-integer library: verifying needs only
//! `s^e mod n` and a comparison with the expected encoding.

use crypto_bigint::U4096;
use crypto_bigint::modular::runtime_mod::{DynResidue, DynResidueParams};
use sha2::{Digest, Sha256};

/// Moduli from 2048 to 4096 bits are accepted; Supabase issues 2048-bit keys.
const MIN_BITS: usize = 2048;
const MAX_BYTES: usize = 512;

/// DER of `DigestInfo { sha256, NULL }` followed by the 32-byte OCTET STRING header.
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// An RSA public key ready to verify signatures.
#[derive(Clone)]
pub struct RsaKey {
    params: DynResidueParams<{ U4096::LIMBS }>,
    exponent: U4096,
    exponent_bits: usize,
    /// The modulus length in bytes: signatures and encodings have exactly this length.
    size: usize,
}

impl RsaKey {
    /// A key from the big-endian modulus `n` and exponent `e` of a JWK. `None` for moduli
    /// outside 2048–4096 bits, even moduli, and exponents that are even, 1, or over 64 bits.
    pub fn new(n: &[u8], e: &[u8]) -> Option<Self> {
        let n = strip_leading_zeros(n);
        let e = strip_leading_zeros(e);
        let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
        let odd = |bytes: &[u8]| bytes.last().is_some_and(|b| b & 1 == 1);
        if !(MIN_BITS..=MAX_BYTES * 8).contains(&bits)
            || !odd(n)
            || !odd(e)
            || e.len() > 8
            || e == [1]
        {
            return None;
        }
        let exponent = padded(e)?;
        Some(Self {
            params: DynResidueParams::new(&padded(n)?),
            exponent,
            exponent_bits: exponent.bits(),
            size: n.len(),
        })
    }

    /// Whether `signature` is this key's RS256 signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        if signature.len() != self.size {
            return false;
        }
        let Some(s) = padded(signature) else { return false };
        if s >= *self.params.modulus() {
            return false;
        }
        let m = DynResidue::new(&s, self.params)
            .pow_bounded_exp(&self.exponent, self.exponent_bits)
            .retrieve();
        padded(&expected_encoding(message, self.size)).is_some_and(|expected| m == expected)
    }
}

/// EMSA-PKCS1-v1_5: `00 01 FF…FF 00 DigestInfo SHA-256(message)`, `size` bytes long.
fn expected_encoding(message: &[u8], size: usize) -> Vec<u8> {
    let digest = Sha256::digest(message);
    let filler = size - 3 - SHA256_DIGEST_INFO.len() - digest.len();
    let mut encoded = Vec::with_capacity(size);
    encoded.extend([0x00, 0x01]);
    encoded.extend(std::iter::repeat_n(0xff, filler));
    encoded.push(0x00);
    encoded.extend(SHA256_DIGEST_INFO);
    encoded.extend(digest);
    encoded
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// `bytes` as a 4096-bit integer, or `None` when longer.
fn padded(bytes: &[u8]) -> Option<U4096> {
    let mut buffer = [0u8; MAX_BYTES];
    buffer.get_mut(MAX_BYTES.checked_sub(bytes.len())?..)?.copy_from_slice(bytes);
    Some(U4096::from_be_slice(&buffer))
}

#[cfg(test)]
pub(crate) mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    /// A 2048-bit key made with `openssl genrsa 2048`, and a JWT it signed with
    /// `openssl dgst -sha256 -sign` (claims: the unit tests' user, exp 1800003600).
    pub const N: &str = "ssk5DvlpQzT3oFYMTvHzI9lt1lPt37_TFeH6v4arRMxQ8Wbsgy1p1-Cr6FhR0j0v9kFtCBMpCUscVhZSsZ4mwRMnyK4wbyOYV1GdFrrL-JuAnwv3MaEVoERfe5Edl1yhgHgM0aj5HAHdRsPcD_pYHVJWR68AMszl0SAH2YpM0vgQG2tLLkw0YDFiYwGYjlqrCfpM52lkgFAx3GLTQcPvByIUF6W0NOH9HM65gpsvqTyM6bd9631LO2IW4CSNAPq8eFA4OXYq5AwcO56eoyr7ZZjUrFiN9tg8wqpU1mSw1pmX-8a6owuxhiWvOIrPpi9iRcBu8inNlozbSjlT79beVw";
    pub const E: &str = "AQAB";
    pub const TOKEN: &str = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6InJzYS0xIn0.eyJzdWIiOiI4ZjRlMmE0My0zYzZmLTRmOGUtOWE0My03ZDJmNWMzYjFlMTAiLCJhdWQiOiJhdXRoZW50aWNhdGVkIiwicm9sZSI6ImF1dGhlbnRpY2F0ZWQiLCJleHAiOjE4MDAwMDM2MDAsImlhdCI6MTc5OTk5OTk5MH0.XpG6X2inUv-yP05MLhC3MJ1hpUEx7ZAS3ljOVgexceSZJ4uXzTrmTJ1lnV0YUJuM_iiqAiOrsVudLEeEEiP37Zz_q-uSkSfMhSKU3r0aKw63jR5jGdVjtluxc5uBZF7D1uTOmR5BY5yIQPmSTklYQSnMb_j54bW0-bxmMKplpTKFwvnyP3kL7l0g47QUTp2mYyaK2lCk-Lr8d2CAUceGC-ym_foXu0ZTcyF30EZw5bgrb6CZUXKClsTrHwBPNgroA7KzUPD_lgsbr8tfvlXQknlEvVnlPpS2deEKw6UHdCY8afRhC_KbRK1FiWU_v4rmEwudFHwlOw48JRm8X6hQ9Q";

    fn decode(text: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(text).unwrap()
    }

    fn key() -> RsaKey {
        RsaKey::new(&decode(N), &decode(E)).unwrap()
    }

    fn parts() -> (String, Vec<u8>) {
        let (signed, signature) = TOKEN.rsplit_once('.').unwrap();
        (signed.to_owned(), decode(signature))
    }

    #[test]
    fn a_signature_openssl_made_verifies() {
        let (signed, signature) = parts();
        assert!(key().verify(signed.as_bytes(), &signature));
    }

    #[test]
    fn a_changed_message_or_signature_does_not_verify() {
        let (signed, mut signature) = parts();
        assert!(!key().verify(format!("{signed}x").as_bytes(), &signature));
        signature[100] ^= 1;
        assert!(!key().verify(signed.as_bytes(), &signature));
        assert!(!key().verify(signed.as_bytes(), &signature[1..]));
        assert!(!key().verify(signed.as_bytes(), &[0xff; 256]));
    }

    #[test]
    fn weak_or_malformed_keys_are_refused() {
        let n = decode(N);
        assert!(RsaKey::new(&[&[0u8, 0][..], &n].concat(), &decode(E)).is_some());
        assert!(RsaKey::new(&n[..128], &decode(E)).is_none(), "1024 bits");
        assert!(RsaKey::new(&vec![0xff; 513], &decode(E)).is_none(), "4104 bits");
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        assert!(RsaKey::new(&even, &decode(E)).is_none());
        assert!(RsaKey::new(&n, &[1]).is_none());
        assert!(RsaKey::new(&n, &[1, 0]).is_none());
        assert!(RsaKey::new(&n, &[1; 9]).is_none());
    }
}
