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
