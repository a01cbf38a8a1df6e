//! Coolify's refusals (coolify-notes §1) as [`Error::Target`]: what happened and the fix, in
//! Coolify's own terms. None of them changes anything on supalove's side.

use reqwest::Method;
use serde_json::Value;
use supalove_core::error::Error;

use crate::client::Answer;

const TOKEN_FIX: &str = "create an API token in Coolify (Keys & Tokens → API tokens) with the \
    abilities read, write and deploy (tick deploy first: it resets the others) or root, then \
    store it with `supalove target add <name> --coolify <url> --token-stdin`";

/// The transport failed: DNS, refused connection, TLS, timeout.
pub fn unreachable(base: &str, method: &Method, path: &str, e: &reqwest::Error) -> Error {
    let why = if e.is_timeout() {
        "did not answer in time".to_string()
    } else if e.is_connect() {
        "is not reachable (connection failed)".to_string()
    } else {
        "could not be reached".to_string()
    };
    let mut source: Option<&dyn std::error::Error> = Some(e);
    let mut chain = Vec::new();
    while let Some(s) = source {
        chain.push(s.to_string());
        source = s.source();
    }
    Error::Target {
        target: format!("Coolify at {base}"),
        status: None,
        detail: format!("{why} ({method} {path}: {})", chain.join(": ")),
        fix: "check the URL (`supalove target list` shows each target and whether it answers), \
              that the Coolify server is up, and that this machine can reach it (VPN, firewall, \
              DNS)"
            .into(),
        retry_after: None,
    }
}

/// A non-2xx answer.
pub fn refused(base: &str, method: &Method, path: &str, answer: &Answer) -> Error {
    let json: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    let message = json
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| answer.body.chars().take(200).collect());
    let call = format!("{method} {path}");
    let (detail, fix) = match answer.status {
        400 if message == "Invalid token." => (
            "refused the token (400 Invalid token.): its user is no longer in the token's team"
                .to_string(),
            format!("as a member of the team, {TOKEN_FIX}"),
        ),
        400 => (
            format!("refused {call} (400 {message}){}", error_field(&json)),
            "the service may be in another state than supalove expected: check it in Coolify's \
             dashboard, then run the command again"
                .to_string(),
        ),
        401 => (
            format!("did not accept the token (401 {message})"),
            format!("the token is wrong or was revoked: {TOKEN_FIX}"),
        ),
        403 if message.contains("API is disabled") => (
            "has its API disabled (403 API is disabled.)".to_string(),
            "an instance admin must turn on API Access in Coolify's Settings → Advanced"
                .to_string(),
        ),
        403 if message.contains("Missing required permissions") => (
            format!("refused {call}: the token lacks an ability (403 {message})"),
            TOKEN_FIX.to_string(),
        ),
        403 if message.contains("not allowed") || message.to_lowercase().contains("ip") => (
            format!("refused this machine's address (403 {message})"),
            "add this machine's IP address to the API allowlist in Coolify's Settings → Advanced \
             (Allowed IPs), or call from an allowed network"
                .to_string(),
        ),
        403 => (
            format!("refused {call} (403 {message})"),
            "a team member who is not an admin may only hold read-only tokens: ask a team admin \
             for a token with read, write and deploy"
                .to_string(),
        ),
        404 => (
            format!("has no such resource ({call}: 404 {message})"),
            "it was deleted or moved in Coolify: check the server uuid (`supalove target list`); \
             for a project's service that is gone, `supalove rm <project>` forgets it and \
             `supalove new` deploys it again"
                .to_string(),
        ),
        405 => (
            format!("does not take {call} (405 {message})"),
            "upgrade Coolify to v4.2 or later (supalove always POSTs lifecycle calls)".to_string(),
        ),
        409 => {
            let conflicts: Vec<String> = json
                .get("conflicts")
                .and_then(Value::as_array)
                .map(|c| {
                    c.iter()
                        .map(|c| {
                            format!(
                                "{} (used by {})",
                                c.get("domain").and_then(Value::as_str).unwrap_or("?"),
                                c.get("resource_name")
                                    .and_then(Value::as_str)
                                    .unwrap_or("another resource")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            if conflicts.is_empty() {
                (
                    format!("refused {call}: it already exists (409 {message})"),
                    "it exists in Coolify already: check it in Coolify's dashboard, then run the command again".to_string(),
                )
            } else {
                (
                    format!(
                        "refused the domain: {} is already in use",
                        conflicts.join(", ")
                    ),
                    "choose another domain with `--domain <host>`, or free it in Coolify first"
                        .to_string(),
                )
            }
        }
        422 => (
            format!("refused {call} (422 {message}){}", field_messages(&json)),
            "the fields above say why; a field supalove sent that Coolify does not allow means \
             this Coolify version is older or newer than supalove expects (`supalove target \
             list` shows its version)"
                .to_string(),
        ),
        429 => (
            format!(
                "is rate-limiting this token (429 {message}; Coolify allows 200 requests a minute)"
            ),
            match answer.retry_after {
                Some(s) => format!("wait {s} s and run the command again"),
                None => "wait a minute and run the command again".to_string(),
            },
        ),
        s if s >= 500 => (
            format!("failed on {call} ({s} {message})"),
            "look at Coolify's own logs (`docker logs coolify` on its host) and try again"
                .to_string(),
        ),
        s => (
            format!("answered {call} with {s} ({message})"),
            "check that the URL points at a Coolify v4 instance".to_string(),
        ),
    };
    Error::Target {
        target: format!("Coolify at {base}"),
        status: Some(answer.status),
        detail,
        fix,
        retry_after: answer.retry_after,
    }
}

/// `: name: msg; other: msg` from a 422's `errors`.
fn field_messages(json: &Value) -> String {
    let Some(errors) = json.get("errors").and_then(Value::as_object) else {
        return String::new();
    };
    let parts: Vec<String> = errors
        .iter()
        .map(|(field, msgs)| {
            let msgs: Vec<&str> = match msgs {
                Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
                Value::String(s) => vec![s.as_str()],
                _ => vec![],
            };
            format!("{field}: {}", msgs.join(" "))
        })
        .collect();
    format!(": {}", parts.join("; "))
}

fn error_field(json: &Value) -> String {
    match json.get("error") {
        Some(Value::String(s)) => format!(": {s}"),
        Some(other @ Value::Object(_)) => format!(": {other}"),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.into(),
            retry_after: None,
        }
    }

    #[test]
    fn a_422_lists_each_field() {
        let e = refused(
            "https://c",
            &Method::POST,
            "/services",
            &answer(
                422,
                r#"{"message":"Validation failed.","errors":{"foo":["This field is not allowed."]}}"#,
            ),
        );
        assert!(
            e.to_string().contains("foo: This field is not allowed."),
            "{e}"
        );
        assert_eq!(e.kind(), supalove_core::ErrorKind::Target);
    }

    #[test]
    fn the_fix_is_the_hint_in_every_shell() {
        let e = refused(
            "https://c",
            &Method::GET,
            "/servers",
            &answer(401, r#"{"message":"Unauthenticated."}"#),
        );
        for shell in [
            supalove_core::Shell::Cli,
            supalove_core::Shell::App,
            supalove_core::Shell::Api,
        ] {
            assert!(e.hint_for(shell).unwrap().contains("Keys & Tokens"));
        }
    }
}
