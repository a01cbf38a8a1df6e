//! HS256/384/512 JWT verification for client tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::{Sha256, Sha384, Sha512};
use thiserror::Error;

/// Why a token was refused (messages never include the token or the secret).
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum JwtError {
    /// No token was given.
    #[error("no API key or access token was given")]
    Missing,
    /// Not three base64url parts with JSON header and claims.
    #[error("token is malformed")]
    Malformed,
    /// Only HMAC algorithms are supported.
    #[error("token algorithm `{0}` is not supported (use HS256, HS384 or HS512)")]
    Algorithm(String),
    /// Signature does not match the project's JWT secret.
    #[error("token signature is invalid")]
    Signature,
    /// `exp` is in the past (by this many seconds).
    #[error("token has expired {0} seconds ago")]
    Expired(i64),
    /// A required claim is missing.
    #[error("token is missing the `{0}` claim")]
    MissingClaim(&'static str),
}

/// Verified claims of a client token.
#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    /// All claims as sent.
    pub raw: Map<String, Value>,
    /// The `role` claim, used as the Postgres role.
    pub role: String,
    /// Expiry, seconds since the epoch.
    pub exp: i64,
}

fn part(s: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed)
}

/// Verifies `token` with `secret` at time `now` (seconds since the epoch).
pub fn verify(token: &str, secret: &[u8], now: i64) -> Result<Claims, JwtError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(JwtError::Missing);
    }
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header: Value = serde_json::from_slice(&part(h)?).map_err(|_| JwtError::Malformed)?;
    let signature = part(s)?;
    let signed = &token[..h.len() + 1 + c.len()];
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let ok = match alg {
        "HS256" => check::<Hmac<Sha256>>(secret, signed, &signature),
        "HS384" => check::<Hmac<Sha384>>(secret, signed, &signature),
        "HS512" => check::<Hmac<Sha512>>(secret, signed, &signature),
        other => return Err(JwtError::Algorithm(other.to_string())),
    };
    if !ok {
        return Err(JwtError::Signature);
    }
    let raw: Map<String, Value> =
        serde_json::from_slice(&part(c)?).map_err(|_| JwtError::Malformed)?;
    let exp = raw
        .get("exp")
        .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
        .ok_or(JwtError::MissingClaim("exp"))?;
    if exp <= now {
        return Err(JwtError::Expired(now - exp));
    }
    let role = raw
        .get("role")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty())
        .ok_or(JwtError::MissingClaim("role"))?
        .to_string();
    Ok(Claims { raw, role, exp })
}

fn check<M: Mac + hmac::digest::KeyInit>(secret: &[u8], signed: &str, sig: &[u8]) -> bool {
    let Ok(mut mac) = <M as hmac::digest::KeyInit>::new_from_slice(secret) else {
        return false;
    };
    mac.update(signed.as_bytes());
    mac.verify_slice(sig).is_ok()
}

/// Signs `claims` with HS256; for tests, benches and tools that mint keys.
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{header}.{body}");
    let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(secret)
        .expect("HMAC accepts keys of any length");
    mac.update(signed.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{sig}")
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters-long";

    #[test]
    fn accepts_valid_and_reads_role() {
        let t = sign_hs256(&json!({"role":"anon","exp":2000}), SECRET);
        let c = verify(&t, SECRET, 1000).unwrap();
        assert_eq!((c.role.as_str(), c.exp), ("anon", 2000));
    }

    #[test]
    fn refuses_bad_tokens() {
        let t = sign_hs256(&json!({"role":"anon","exp":2000}), SECRET);
        assert_eq!(verify(&t, SECRET, 3000), Err(JwtError::Expired(1000)));
        assert_eq!(verify(&t, b"other", 1000), Err(JwtError::Signature));
        assert_eq!(verify("", SECRET, 0), Err(JwtError::Missing));
        assert_eq!(verify("a.b", SECRET, 0), Err(JwtError::Malformed));
        assert_eq!(verify("!!.!!.!!", SECRET, 0), Err(JwtError::Malformed));
        let no_role = sign_hs256(&json!({"exp":2000}), SECRET);
        assert_eq!(
            verify(&no_role, SECRET, 0),
            Err(JwtError::MissingClaim("role"))
        );
        let no_exp = sign_hs256(&json!({"role":"anon"}), SECRET);
        assert_eq!(
            verify(&no_exp, SECRET, 0),
            Err(JwtError::MissingClaim("exp"))
        );
        let mut tampered = t.clone();
        tampered.insert(t.find('.').unwrap() + 2, 'x');
        assert!(verify(&tampered, SECRET, 0).is_err());
    }

    #[test]
    fn refuses_none_alg() {
        let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let c = URL_SAFE_NO_PAD.encode(br#"{"role":"service_role","exp":9999999999}"#);
        assert!(matches!(
            verify(&format!("{h}.{c}."), SECRET, 0),
            Err(JwtError::Algorithm(_))
        ));
    }
}
