//! Turning client tokens into channel claims, honouring SECURE_CHANNELS.

use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::jwt::{self, Claims, JwtError};

/// Claims used when SECURE_CHANNELS=false and no valid token was given.
pub fn anonymous() -> Claims {
    let raw: Map<String, Value> = json!({"role": "anon"})
        .as_object()
        .cloned()
        .unwrap_or_default();
    Claims {
        raw,
        role: "anon".into(),
        exp: i64::MAX,
    }
}

/// Verifies a token with the project's secret and JWKS, now. Every token check (connect,
/// join, `access_token` refresh, REST) goes through here.
pub fn verify(config: &Config, token: &str) -> Result<Claims, JwtError> {
    jwt::verify(
        token,
        config.jwt_secret.as_bytes(),
        config.jwt_jwks.as_deref(),
        jwt::now_secs(),
    )
}

/// Verifies a token with the project's keys; without SECURE_CHANNELS a bad or missing
/// token falls back to the `anon` role instead of being refused.
pub fn claims_for(config: &Config, token: Option<&str>) -> Result<Claims, JwtError> {
    let result = match token {
        Some(t) => verify(config, t),
        None => Err(JwtError::Missing),
    };
    match result {
        Ok(c) => Ok(c),
        Err(_) if !config.secure_channels => Ok(anonymous()),
        Err(e) => Err(e),
    }
}

/// The connect refusal the current official server sends (HTTP 401 `{"error": …}`,
/// R:lib/realtime_web/channels/user_socket.ex:149-171).
pub fn connect_error(e: &JwtError) -> String {
    match e {
        JwtError::Missing => "API key is missing".into(),
        JwtError::Expired(_) => "Token has expired".into(),
        JwtError::MissingClaim(_) => "Fields `role` and `exp` are required in JWT".into(),
        JwtError::Malformed => "The token provided is not a valid JWT".into(),
        JwtError::Signature => "Failed to validate JWT signature".into(),
        JwtError::Algorithm(_) => {
            "Failed to generate JWT signer, check your JWT secret or JWKS configuration".into()
        }
        JwtError::UnknownKid(kid) => unknown_kid(kid),
    }
}

/// `Failed to generate JWT signer for key ID (kid) "<kid>", …`, the kid as Elixir's
/// `inspect/1` prints a string (R:lib/realtime_web/channels/user_socket.ex:160-161,
/// R:…/realtime_channel.ex:257-262, 605-611).
fn unknown_kid(kid: &str) -> String {
    let quoted = serde_json::to_string(kid).unwrap_or_else(|_| format!("{kid:?}"));
    format!(
        "Failed to generate JWT signer for key ID (kid) {quoted}, check your JWT secret or JWKS configuration"
    )
}

/// The join error reason, `Code: message` (R:lib/realtime_web/channels/realtime_channel.ex:164-274).
pub fn join_reason(e: &JwtError) -> String {
    match e {
        JwtError::Expired(ago) => format!("InvalidJWTToken: Token has expired {ago} seconds ago"),
        JwtError::MissingClaim(_) => {
            "InvalidJWTToken: Fields `role` and `exp` are required in JWT".into()
        }
        JwtError::Malformed | JwtError::Missing => {
            "MalformedJWT: The token provided is not a valid JWT".into()
        }
        JwtError::Signature => "JwtSignatureError: Failed to validate JWT signature".into(),
        JwtError::Algorithm(_) => {
            "JwtSignerError: Failed to generate JWT signer, check your JWT secret or JWKS configuration"
                .into()
        }
        JwtError::UnknownKid(kid) => format!("JwtSignerError: {}", unknown_kid(kid)),
    }
}

/// The `system` message of a refused `access_token` refresh (R:…/realtime_channel.ex:524-617).
pub fn refresh_message(e: &JwtError) -> String {
    match e {
        JwtError::Expired(ago) => format!("Token has expired {ago} seconds ago"),
        JwtError::MissingClaim(_) => "Fields `role` and `exp` are required in JWT".into(),
        JwtError::Malformed | JwtError::Missing => "The token provided is not a valid JWT".into(),
        // The official server sends the inspect() of these errors.
        JwtError::Signature => ":signature_error".into(),
        JwtError::Algorithm(_) => ":error_generating_signer".into(),
        JwtError::UnknownKid(kid) => unknown_kid(kid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signer_messages_name_the_kid_as_elixir_inspects_it() {
        let e = JwtError::UnknownKid("k\"1é".into());
        let msg = r#"Failed to generate JWT signer for key ID (kid) "k\"1é", check your JWT secret or JWKS configuration"#;
        assert_eq!(connect_error(&e), msg);
        assert_eq!(join_reason(&e), format!("JwtSignerError: {msg}"));
        assert_eq!(refresh_message(&e), msg);
        let none = JwtError::Algorithm("none".into());
        assert_eq!(
            connect_error(&none),
            "Failed to generate JWT signer, check your JWT secret or JWKS configuration"
        );
        assert_eq!(refresh_message(&none), ":error_generating_signer");
    }
}
