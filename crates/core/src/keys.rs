//! HS256 JWTs: the anon and service_role keys derived from a project's JWT secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use jsonwebtoken::{Algorithm, Validation};
use serde_json::{json, Map, Value};
use sha2::Sha256;

use crate::error::{Error, Result};

/// Issuer written into every key supalove mints.
pub const ISSUER: &str = "supalove";

/// The two standard Supabase API keys of a project.
#[derive(Debug, Clone, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ApiKeys {
    /// Key with `role: anon`.
    pub anon: String,
    /// Key with `role: service_role` (bypasses RLS).
    pub service_role: String,
    /// When both expire, seconds since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub expires_at: u64,
}

/// Derives the anon and service_role keys; `iat` is fixed so keys are stable across calls.
pub fn api_keys(secret: &str, project_ref: &str, iat: u64, lifetime_secs: u64) -> ApiKeys {
    let exp = iat + lifetime_secs;
    let mint_role = |role: &str| {
        let claims =
            json!({ "iss": ISSUER, "ref": project_ref, "role": role, "iat": iat, "exp": exp });
        sign(secret, claims.as_object().expect("object"))
    };
    ApiKeys {
        anon: mint_role("anon"),
        service_role: mint_role("service_role"),
        expires_at: exp,
    }
}

/// Signs arbitrary claims with HS256 and the `typ: JWT` header.
pub fn sign(secret: &str, claims: &Map<String, Value>) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("HS256 signs any JSON object")
}

fn mac(secret: &str, input: &[u8]) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    m.update(input);
    m
}

/// A secondary secret derived from the project's JWT secret (HMAC-SHA256 of `label`, hex),
/// `len` characters long, so services get distinct secrets without more keyring entries.
pub fn derive(secret: &str, label: &str, len: usize) -> String {
    let bytes = mac(secret, label.as_bytes()).finalize().into_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex[..len.min(hex.len())].to_string()
}

/// Checks signature, algorithm and expiry (against `now`), and returns the claims.
pub fn verify(token: &str, secret: &str, now: u64) -> Result<Map<String, Value>> {
    use jsonwebtoken::errors::ErrorKind;
    let bad = |why: &str| Error::InvalidJwt(why.to_string());
    if token.split('.').count() != 3 {
        return Err(bad("expected three dot-separated parts"));
    }
    match jsonwebtoken::decode_header(token) {
        Ok(h) if h.alg == Algorithm::HS256 => {}
        Ok(_) => return Err(bad("only alg HS256 is accepted")),
        // The library knows no `none` (nor any alg it lacks): JSON it cannot read as a header
        // is an algorithm we refuse; anything else is not a header at all.
        Err(_) if header_is_json(token) => return Err(bad("only alg HS256 is accepted")),
        Err(_) => return Err(bad("the header is not base64url JSON")),
    }
    // Expiry is checked below against the caller's clock, not the library's.
    let mut rules = Validation::new(Algorithm::HS256);
    rules.validate_exp = false;
    rules.validate_aud = false;
    rules.required_spec_claims.clear();
    let key = jsonwebtoken::DecodingKey::from_secret(secret.as_bytes());
    let claims = match jsonwebtoken::decode::<Map<String, Value>>(token, &key, &rules) {
        Ok(data) => data.claims,
        Err(e) => {
            return Err(match e.kind() {
                ErrorKind::InvalidSignature => {
                    bad("the signature does not match this project's JWT secret")
                }
                ErrorKind::Base64(_) => bad("the signature is not base64url"),
                _ => bad("the payload is not base64url JSON"),
            })
        }
    };
    match claims.get("exp").and_then(Value::as_u64) {
        Some(exp) if exp <= now => return Err(bad(&format!("it expired at {exp} (now {now})"))),
        Some(_) => {}
        None => return Err(bad("it has no numeric exp claim")),
    }
    Ok(claims)
}

fn header_is_json(token: &str) -> bool {
    token
        .split('.')
        .next()
        .and_then(|h| B64.decode(h).ok())
        .is_some_and(|b| serde_json::from_slice::<Value>(&b).is_ok())
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "a-secret-of-at-least-thirty-two-characters!!";

    #[test]
    fn derived_keys_verify_and_carry_roles() {
        let keys = api_keys(SECRET, "shop", 1_000, 100);
        let anon = verify(&keys.anon, SECRET, 1_050).unwrap();
        assert_eq!(anon["role"], "anon");
        assert_eq!(anon["iss"], ISSUER);
        assert_eq!(anon["exp"], 1_100);
        let header: Value =
            serde_json::from_slice(&B64.decode(keys.anon.split('.').next().unwrap()).unwrap())
                .unwrap();
        assert_eq!(header["typ"], "JWT");
        assert_eq!(
            verify(&keys.service_role, SECRET, 1_050).unwrap()["role"],
            "service_role"
        );
        assert_eq!(
            api_keys(SECRET, "shop", 1_000, 100).anon,
            keys.anon,
            "stable"
        );
    }

    #[test]
    fn rejects_bad_tokens() {
        let keys = api_keys(SECRET, "shop", 1_000, 100);
        let expired = verify(&keys.anon, SECRET, 1_100).unwrap_err().to_string();
        assert!(expired.contains("expired"), "{expired}");
        let wrong = verify(&keys.anon, "another-secret-another-secret-another", 1_050)
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("signature"), "{wrong}");
        assert!(verify("abc", SECRET, 0)
            .unwrap_err()
            .to_string()
            .contains("three"));
        let mut tampered = keys.anon.clone();
        tampered.insert(tampered.find('.').unwrap() + 2, 'x');
        assert!(verify(&tampered, SECRET, 1_050).is_err());
        let none_alg = format!(
            "{}.{}.",
            B64.encode(br#"{"alg":"none"}"#),
            B64.encode(br#"{"role":"service_role","exp":9999999999}"#)
        );
        assert!(verify(&none_alg, SECRET, 0)
            .unwrap_err()
            .to_string()
            .contains("HS256"));
    }
}
