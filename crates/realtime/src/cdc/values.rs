//! Conversion of pgoutput text values into the JSON the official server sends (`to_jsonb`).

use serde_json::{Number, Value};

/// Converts the text output of a value of type `typname` into JSON.
pub fn to_json(typname: &str, text: &str) -> Value {
    if let Some(elem) = typname.strip_prefix('_') {
        return parse_array(text)
            .map(|items| {
                Value::Array(
                    items
                        .into_iter()
                        .map(|i| i.map_or(Value::Null, |s| to_json(elem, &s)))
                        .collect(),
                )
            })
            .unwrap_or_else(|| Value::String(text.to_string()));
    }
    match typname {
        "int2" | "int4" | "int8" | "oid" => text
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(text.into())),
        "float4" | "float8" | "numeric" => text
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .and_then(Number::from_f64)
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(text.into())),
        "bool" => Value::Bool(text == "t" || text == "true"),
        "json" | "jsonb" => {
            serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into()))
        }
        "timestamp" => Value::String(text.replacen(' ', "T", 1)),
        "timestamptz" => Value::String(iso_offset(&text.replacen(' ', "T", 1))),
        _ => Value::String(text.to_string()),
    }
}

/// `+00` → `+00:00`, as `to_jsonb(timestamptz)` writes offsets.
fn iso_offset(s: &str) -> String {
    let Some(pos) = s.rfind(['+', '-']).filter(|p| *p > 10) else {
        return s.to_string();
    };
    let off = &s[pos + 1..];
    if off.len() == 2 {
        format!("{s}:00")
    } else {
        s.to_string()
    }
}

/// Parses a one-dimensional array literal; `None` for nested or odd input.
fn parse_array(text: &str) -> Option<Vec<Option<String>>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut out = Vec::new();
    if inner.is_empty() {
        return Some(out);
    }
    let mut chars = inner.chars().peekable();
    loop {
        let mut item = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => item.push(chars.next()?),
                    '"' => break,
                    c => item.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                if c == '{' || c == '"' {
                    return None;
                }
                item.push(c);
                chars.next();
            }
        }
        out.push(if !quoted && item == "NULL" {
            None
        } else {
            Some(item)
        });
        match chars.next() {
            None => return Some(out),
            Some(',') => continue,
            Some(_) => return None,
        }
    }
}

/// True when values of `typname` compare as numbers in filters.
pub fn is_numeric(typname: &str) -> bool {
    matches!(
        typname,
        "int2" | "int4" | "int8" | "oid" | "float4" | "float8" | "numeric"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scalars() {
        assert_eq!(to_json("int8", "42"), json!(42));
        assert_eq!(to_json("numeric", "1.5"), json!(1.5));
        assert_eq!(to_json("float8", "NaN"), json!("NaN"));
        assert_eq!(to_json("bool", "t"), json!(true));
        assert_eq!(to_json("bool", "f"), json!(false));
        assert_eq!(to_json("jsonb", r#"{"a": [1]}"#), json!({"a":[1]}));
        assert_eq!(to_json("text", "hi"), json!("hi"));
        assert_eq!(
            to_json("timestamp", "2024-01-02 03:04:05"),
            json!("2024-01-02T03:04:05")
        );
        assert_eq!(
            to_json("timestamptz", "2024-01-02 03:04:05.5+00"),
            json!("2024-01-02T03:04:05.5+00:00")
        );
        assert_eq!(to_json("date", "2024-01-02"), json!("2024-01-02"));
    }

    #[test]
    fn arrays() {
        assert_eq!(to_json("_int4", "{1,2,NULL}"), json!([1, 2, null]));
        assert_eq!(
            to_json("_text", r#"{a,"b c","d\"e"}"#),
            json!(["a", "b c", "d\"e"])
        );
        assert_eq!(to_json("_int4", "{}"), json!([]));
        assert_eq!(to_json("_int4", "{{1},{2}}"), json!("{{1},{2}}"));
        assert_eq!(
            to_json("_text", r#"{"unterminated}"#),
            json!(r#"{"unterminated}"#)
        );
    }
}
