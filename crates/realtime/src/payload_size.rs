//! The official payload size rule: `:erlang.external_size(payload) > kb * 1000 + 500`
//! (R:lib/realtime/tenants.ex:538-543), computed over the decoded JSON as Jason would hold it.

use serde_json::Value;

/// Padding the official server adds to the configured limit.
const PADDING: usize = 500;

/// Whether `payload` is over `max_kb` by the official rule.
pub fn exceeds(payload: &Value, max_kb: u64) -> bool {
    let limit = (max_kb as usize)
        .saturating_mul(1000)
        .saturating_add(PADDING);
    external_size(payload) > limit
}

/// Size of `v` in the Erlang external term format (version byte included): maps, binaries
/// for strings and keys, integers, floats, lists and the atoms `true`/`false`/`nil`.
pub fn external_size(v: &Value) -> usize {
    1 + term(v)
}

fn term(v: &Value) -> usize {
    match v {
        // SMALL_ATOM_UTF8_EXT: tag, length, name.
        Value::Null => 2 + 3,
        Value::Bool(true) => 2 + 4,
        Value::Bool(false) => 2 + 5,
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) if (0..=255).contains(&i) => 2,
            (Some(i), _) if i32::try_from(i).is_ok() => 5,
            (Some(i), _) => 3 + magnitude_bytes(i.unsigned_abs()),
            (None, Some(u)) => 3 + magnitude_bytes(u),
            // NEW_FLOAT_EXT.
            _ => 9,
        },
        Value::String(s) => 5 + s.len(),
        Value::Array(items) if items.is_empty() => 1,
        Value::Array(items) => 5 + items.iter().map(term).sum::<usize>() + 1,
        Value::Object(map) => {
            5 + map
                .iter()
                .map(|(k, v)| 5 + k.len() + term(v))
                .sum::<usize>()
        }
    }
}

fn magnitude_bytes(mut n: u64) -> usize {
    let mut bytes = 0;
    while n > 0 {
        bytes += 1;
        n >>= 8;
    }
    bytes.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sizes_match_term_to_binary() {
        // Values checked against `byte_size(:erlang.term_to_binary(Jason.decode!(json)))`
        // semantics of the external format: 131, MAP_EXT etc.
        assert_eq!(external_size(&json!({})), 6);
        assert_eq!(external_size(&json!("abc")), 9);
        assert_eq!(external_size(&json!(7)), 3);
        assert_eq!(external_size(&json!(70000)), 6);
        assert_eq!(external_size(&json!(1.5)), 10);
        assert_eq!(external_size(&json!([])), 2);
        assert_eq!(external_size(&json!([1, 2])), 1 + 5 + 2 + 2 + 1);
        assert_eq!(external_size(&json!({"a": true})), 1 + 5 + 6 + 6);
    }

    #[test]
    fn limit_has_the_official_padding() {
        let body = |n: usize| json!({ "p": "x".repeat(n) });
        // 1 + 5 + (5 + 1) + (5 + n) = n + 17 bytes.
        assert!(!exceeds(&body(1000 + 500 - 17), 1));
        assert!(exceeds(&body(1000 + 500 - 16), 1));
    }
}
