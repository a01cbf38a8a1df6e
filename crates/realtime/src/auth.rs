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

/// Verifies a token against the project's secret; without SECURE_CHANNELS a bad or missing
/// token falls back to the `anon` role instead of being refused.
pub fn claims_for(config: &Config, token: Option<&str>) -> Result<Claims, JwtError> {
    let result = match token {
        Some(t) => jwt::verify(t, config.jwt_secret.as_bytes(), jwt::now_secs()),
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
pub fn connect_error(e: &JwtError) -> &'static str {
    match e {
        JwtError::Missing => "API key is missing",
        JwtError::Expired(_) => "Token has expired",
        JwtError::MissingClaim(_) => "Fields `role` and `exp` are required in JWT",
        JwtError::Malformed => "The token provided is not a valid JWT",
        JwtError::Signature => "Failed to validate JWT signature",
        JwtError::Algorithm(_) => {
            "Failed to generate JWT signer, check your JWT secret or JWKS configuration"
        }
    }
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
    }
}
