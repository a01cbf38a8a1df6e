//! JWT verification for client tokens: HS256/384/512 with the project secret or a JWKS `oct`
//! key, RS256/384/512, ES256/384 and EdDSA (Ed25519) with a JWKS key matching the token's
//! `kid`, as the current official server verifies them
//! (R:lib/realtime_web/channels/auth/jwt_verification.ex).

mod jwks;

pub use jwks::Jwks;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
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
    /// No key can verify this algorithm (`none`, unknown algorithms, RS/ES/EdDSA without a
    /// `kid` or without a JWKS, HS without a secret): the official `:error_generating_signer`.
    #[error("no key can verify token algorithm `{0}`; check the JWT secret or JWKS configuration")]
    Algorithm(String),
    /// The JWKS has no key of the algorithm's type with the token's `kid`: the official
    /// `{:error_generating_signer, kid}`.
    #[error("the JWKS has no key for key ID (kid) {0:?}")]
    UnknownKid(String),
    /// Signature does not match the key.
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

/// A base64url part decoded as a JSON object.
fn json_part(part: &str) -> Option<Map<String, Value>> {
    match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Verifies `token` at time `now` (seconds since the epoch) with the project's `secret`
/// (HS*; may be empty) and, if configured, its JWKS.
pub fn verify(
    token: &str,
    secret: &[u8],
    jwks: Option<&Jwks>,
    now: i64,
) -> Result<Claims, JwtError> {
    let token = token.trim();
    if token.is_empty() {
        return Err(JwtError::Missing);
    }
    let parts: Vec<&str> = token.split('.').map(|p| p.trim_end_matches('=')).collect();
    if parts.len() != 3 {
        return Err(JwtError::Malformed);
    }
    // The official order: claims must be a JSON object, then the header, then a signer.
    let raw = json_part(parts[1]).ok_or(JwtError::Malformed)?;
    let header = json_part(parts[0]).ok_or(JwtError::Malformed)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let kid = header.get("kid").and_then(Value::as_str);
    let (alg, key) = jwks::signer(alg, kid, secret, jwks)?;
    let message = format!("{}.{}", parts[0], parts[1]);
    match jsonwebtoken::crypto::verify(parts[2], message.as_bytes(), &key, alg) {
        Ok(true) => {}
        Ok(false) => return Err(JwtError::Signature),
        // The signature is not base64url, or the key cannot be used with it.
        Err(e) => {
            return Err(match e.kind() {
                jsonwebtoken::errors::ErrorKind::Base64(_) => JwtError::Malformed,
                _ => JwtError::Signature,
            })
        }
    }
    // Expiry and role are checked against the caller's clock and with our messages.
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

/// Signs `claims` with HS256; for tests, benches and tools that mint keys.
pub fn sign_hs256(claims: &Value, secret: &[u8]) -> String {
    sign(
        Algorithm::HS256,
        None,
        claims,
        &EncodingKey::from_secret(secret),
    )
}

/// Signs `claims` with `alg` and, if given, a `kid` header; for tests and tools. RSA keys are
/// PKCS#1 DER, EC and Ed25519 keys PKCS#8 DER (`EncodingKey::from_*_der`).
pub fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("the key signs any JSON")
}

/// Seconds since the Unix epoch.
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
