//! Project names: lowercase DNS labels, so they fit container, network and host names.

use crate::error::{Error, Result};

/// Longest name we accept; keeps `project_<name>_<service>` well under Docker's limits.
pub const MAX_NAME_LEN: usize = 40;

/// Checks that `name` is a lowercase DNS label of 1-40 characters and says why not.
pub fn validate_name(name: &str) -> Result<()> {
    let fail = |reason: &str| {
        Err(Error::InvalidName {
            name: name.to_string(),
            reason: reason.to_string(),
        })
    };
    if name.is_empty() {
        return fail("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return fail(&format!(
            "it has {} characters, the limit is {MAX_NAME_LEN}",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        let why = if c.is_ascii_uppercase() {
            format!("{c:?} is uppercase; use lowercase letters")
        } else {
            format!("{c:?} is not allowed; use lowercase letters, digits and '-'")
        };
        return fail(&why);
    }
    if name.starts_with('-') || name.ends_with('-') {
        return fail("it starts or ends with '-'");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels() {
        for ok in ["a", "shop", "blog-2", "1st", &"x".repeat(40)] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_with_reasons() {
        let cases = [
            ("", "empty"),
            ("Shop", "uppercase"),
            ("my_shop", "'_' is not allowed"),
            ("-shop", "starts or ends"),
            ("shop-", "starts or ends"),
            ("café", "not allowed"),
            ("a b", "not allowed"),
        ];
        for (name, why) in cases {
            let err = validate_name(name).unwrap_err().to_string();
            assert!(err.contains(why), "{name}: {err}");
        }
        let long = "x".repeat(41);
        assert!(validate_name(&long)
            .unwrap_err()
            .to_string()
            .contains("41 characters"));
    }
}
