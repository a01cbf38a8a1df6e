//! HS256/384/512 JWT verification for client tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Map, Value};
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

/// Verifies `token` with `secret` at time `now` (seconds since the epoch).
pub fn verify(token: &str, secret: &[u8], now: i64) -> Result<Claims, JwtError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(JwtError::Missing);
    }
    let parts: Vec<&str> = token.split('.').map(|p| p.trim_end_matches('=')).collect();
    if parts.len() != 3 {
        return Err(JwtError::Malformed);
    }
    let token = parts.join(".");
    let alg = match jsonwebtoken::decode_header(&token) {
        Ok(h) => h.alg,
        // The library knows no `none` (nor algs it lacks): name what the header asked for.
        Err(_) => return Err(header_alg(parts[0]).map_or(JwtError::Malformed, JwtError::Algorithm)),
    };
    if !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
        return Err(JwtError::Algorithm(format!("{alg:?}")));
    }
    // Expiry and role are checked below, against the caller's clock and with our messages.
    let mut rules = Validation::new(alg);
    rules.validate_exp = false;
    rules.validate_aud = false;
    rules.required_spec_claims.clear();
    let raw = match jsonwebtoken::decode::<Map<String, Value>>(
        &token,
        &DecodingKey::from_secret(secret),
        &rules,
    ) {
        Ok(data) => data.claims,
        Err(e) if *e.kind() == ErrorKind::InvalidSignature => return Err(JwtError::Signature),
        Err(_) => return Err(JwtError::Malformed),
    };
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

/// The `alg` a JSON header names (empty when it names none); `None` if it is not JSON.
fn header_alg(header: &str) -> Option<String> {
    let json: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    Some(
        json.get("alg")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string(),
    )
}

/// Signs `claims` with HS256; for tests, benches and tools that mint keys.
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("HS256 signs any JSON")
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
