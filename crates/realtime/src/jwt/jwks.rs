//! The project's JSON Web Key Set (`API_JWT_JWKS`) and the choice of verification key for a
//! token, as the official server picks its signer
//! (R:lib/realtime_web/channels/auth/jwt_verification.ex:37-155).

use std::borrow::Cow;
use std::fmt;

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

use super::JwtError;

/// Key type of a JWK (`kty`); other types are never used to verify a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kty {
    Rsa,
    Ec,
    Okp,
    Oct,
}

#[derive(Clone)]
struct Key {
    kid: Option<String>,
    kty: Kty,
    /// `crv` of EC and OKP keys.
    crv: Option<String>,
    /// `None` for a curve this engine cannot verify with (Ed448, X25519, P-521, ...).
    key: Option<DecodingKey>,
}

/// A validated JWKS: the public keys (and `oct` secrets) client tokens may be signed with.
#[derive(Clone, Default)]
pub struct Jwks {
    keys: Vec<Key>,
}

/// Never prints key material (an `oct` key is a secret): only types, curves and kids.
impl fmt::Debug for Jwks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| {
                format!(
                    "{:?}{} kid={:?}{}",
                    k.kty,
                    k.crv
                        .as_deref()
                        .map(|c| format!("/{c}"))
                        .unwrap_or_default(),
                    k.kid.as_deref().unwrap_or(""),
                    if k.key.is_some() { "" } else { " (unusable)" }
                )
            }))
            .finish()
    }
}

/// Curves this engine verifies with, and the algorithm that checks a key's point.
fn curve_alg(kty: Kty, crv: &str) -> Option<Algorithm> {
    match (kty, crv) {
        (Kty::Ec, "P-256") => Some(Algorithm::ES256),
        (Kty::Ec, "P-384") => Some(Algorithm::ES384),
        (Kty::Okp, "Ed25519") => Some(Algorithm::EdDSA),
        _ => None,
    }
}

impl Jwks {
    /// Parses `{"keys": [...]}`. Keys of a known type (RSA, EC, OKP, oct) must be well formed;
    /// keys of other types are skipped, and keys on curves this engine lacks are kept but never
    /// verify (a token naming one is refused as having no signer). Errors never quote key
    /// material.
    pub fn parse(text: &str) -> Result<Jwks, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
        let list = doc
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("expected a JSON object {\"keys\": [...]}")?;
        let mut keys = Vec::new();
        for (i, item) in list.iter().enumerate() {
            let obj = item
                .as_object()
                .ok_or_else(|| format!("key {i} is not a JSON object"))?;
            let kid = match obj.get("kid") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err(format!("key {i}: `kid` is not a string")),
            };
            let name = match &kid {
                Some(k) => format!("key {i} (kid {k:?})"),
                None => format!("key {i}"),
            };
            let kty = match obj.get("kty").and_then(Value::as_str) {
                Some("RSA") => Kty::Rsa,
                Some("EC") => Kty::Ec,
                Some("OKP") => Kty::Okp,
                Some("oct") => Kty::Oct,
                Some(_) => continue,
                None => return Err(format!("{name} has no `kty`")),
            };
            let crv = match kty {
                Kty::Ec | Kty::Okp => Some(
                    obj.get("crv")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("{name} has no `crv`"))?
                        .to_string(),
                ),
                Kty::Rsa | Kty::Oct => None,
            };
            let usable = match &crv {
                Some(c) => curve_alg(kty, c).is_some(),
                None => true,
            };
            let key = if usable {
                Some(
                    decoding_key(obj, kty, crv.as_deref())
                        .map_err(|why| format!("{name}: {why}"))?,
                )
            } else {
                None
            };
            keys.push(Key { kid, kty, crv, key });
        }
        Ok(Jwks { keys })
    }

    /// How many keys were kept.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key was kept.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The first key of type `kty` with id `kid`, as the official `Enum.find`.
    fn find(&self, kty: Kty, kid: &str) -> Option<&Key> {
        self.keys
            .iter()
            .find(|k| k.kty == kty && k.kid.as_deref() == Some(kid))
    }
}

/// The verification key of one JWK, through `jsonwebtoken`'s JWK support. Only the fields
/// that make the key are handed over, so `alg`, `use` or `key_ops` values the library does not
/// know cannot make a usable key fail.
fn decoding_key(
    obj: &Map<String, Value>,
    kty: Kty,
    crv: Option<&str>,
) -> Result<DecodingKey, String> {
    let fields: &[&str] = match kty {
        Kty::Rsa => &["n", "e"],
        Kty::Ec => &["x", "y"],
        Kty::Okp => &["x"],
        Kty::Oct => &["k"],
    };
    let mut reduced = Map::new();
    reduced.insert("kty".into(), obj["kty"].clone());
    if let Some(c) = crv {
        reduced.insert("crv".into(), Value::String(c.into()));
    }
    for f in fields {
        let v = obj
            .get(*f)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| format!("`{f}` is missing or not a string"))?;
        // base64url without padding, as JWKs are written; tolerate padding anyway.
        reduced.insert((*f).into(), Value::String(v.trim_end_matches('=').into()));
    }
    let jwk: Jwk = serde_json::from_value(Value::Object(reduced))
        .map_err(|_| "not a valid JWK of its `kty`".to_string())?;
    let key =
        DecodingKey::from_jwk(&jwk).map_err(|_| "a field is not valid base64url".to_string())?;
    // A point off the curve (or of the wrong length) is caught now rather than at each token.
    if let Some(alg) = crv.and_then(|c| curve_alg(kty, c)) {
        if jsonwebtoken::crypto::verify("", b"", &key, alg).is_err() {
            return Err(format!("not a valid {} public key", crv.unwrap_or("")));
        }
    }
    Ok(key)
}

/// The algorithm and key a token with header `alg`/`kid` is verified with, or why there is none
/// (R:…/jwt_verification.ex:98-155): HS* with a JWKS `oct` key matching `kid`, else the secret;
/// RS*, ES* and EdDSA only with a JWKS key of the right type matching `kid`.
pub(super) fn signer<'a>(
    alg: &str,
    kid: Option<&str>,
    secret: &'a [u8],
    jwks: Option<&'a Jwks>,
) -> Result<(Algorithm, Cow<'a, DecodingKey>), JwtError> {
    let no_signer = || JwtError::Algorithm(alg.to_string());
    let lookup = |kty: Kty| -> Result<Option<&'a Key>, JwtError> {
        match (jwks, kid) {
            (Some(set), Some(kid)) => Ok(set.find(kty, kid)),
            _ => Err(no_signer()),
        }
    };
    let unknown_kid = || JwtError::UnknownKid(kid.unwrap_or_default().to_string());
    let asymmetric =
        |kty: Kty, algorithm: Algorithm| -> Result<(Algorithm, Cow<'a, DecodingKey>), JwtError> {
            let key = lookup(kty)?.ok_or_else(unknown_kid)?;
            match &key.key {
                Some(k) => Ok((algorithm, Cow::Borrowed(k))),
                // An EC key on a curve this engine lacks (P-521).
                None => Err(no_signer()),
            }
        };
    match alg {
        "HS256" | "HS384" | "HS512" => {
            let algorithm = match alg {
                "HS256" => Algorithm::HS256,
                "HS384" => Algorithm::HS384,
                _ => Algorithm::HS512,
            };
            if let Ok(Some(Key { key: Some(k), .. })) = lookup(Kty::Oct) {
                return Ok((algorithm, Cow::Borrowed(k)));
            }
            // No `oct` key for the kid: the project secret, as the official server falls back.
            if secret.is_empty() {
                return Err(no_signer());
            }
            Ok((algorithm, Cow::Owned(DecodingKey::from_secret(secret))))
        }
        "RS256" => asymmetric(Kty::Rsa, Algorithm::RS256),
        "RS384" => asymmetric(Kty::Rsa, Algorithm::RS384),
        "RS512" => asymmetric(Kty::Rsa, Algorithm::RS512),
        "ES256" => asymmetric(Kty::Ec, Algorithm::ES256),
        "ES384" => asymmetric(Kty::Ec, Algorithm::ES384),
        // The official server verifies ES512; the underlying library has no P-521.
        "ES512" => {
            lookup(Kty::Ec)?.ok_or_else(unknown_kid)?;
            Err(no_signer())
        }
        // RFC 8037 writes `EdDSA`; JOSE also names the curve itself.
        "EdDSA" | "Ed25519" | "Ed448" => {
            let key = lookup(Kty::Okp)?.ok_or_else(unknown_kid)?;
            match (&key.key, key.crv.as_deref()) {
                (Some(k), _) => Ok((Algorithm::EdDSA, Cow::Borrowed(k))),
                // The official server verifies Ed448; the underlying library cannot.
                (None, Some("Ed448")) => Err(no_signer()),
                // X25519 and other non-signing curves: the official answer for a missing key.
                (None, _) => Err(unknown_kid()),
            }
        }
        _ => Err(no_signer()),
    }
}
