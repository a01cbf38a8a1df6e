//! postgres_changes filters as the current official server reads them: `col=[not.]op.value`
//! conditions joined by commas (all must hold), with the operators eq, neq, lt, lte, gt, gte,
//! in, like, ilike, is, match, imatch and isdistinct.
//!
//! Parsing follows `parse_subscription_params` of supabase/realtime
//! (lib/extensions/postgres_cdc_rls/subscriptions.ex); evaluation follows the SQL of
//! `realtime.check_equality_op` (three-valued: a condition that is NULL does not pass, and
//! `not.` of NULL is still NULL). Values are canonicalised by the database first
//! (`cdc/subscribe.rs`).

use std::cmp::Ordering;

use regex::Regex;
use thiserror::Error;

use super::pattern::Like;
use super::values::is_numeric;

/// A filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `= any(list)`
    In,
    /// `LIKE`
    Like,
    /// `ILIKE`
    Ilike,
    /// `IS NULL/TRUE/FALSE/UNKNOWN`
    Is,
    /// `~`
    Match,
    /// `~*`
    Imatch,
    /// `IS DISTINCT FROM`
    IsDistinct,
}

impl Op {
    fn from_name(name: &str) -> Option<Op> {
        Some(match name {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "in" => Op::In,
            "like" => Op::Like,
            "ilike" => Op::Ilike,
            "is" => Op::Is,
            "match" => Op::Match,
            "imatch" => Op::Imatch,
            "isdistinct" => Op::IsDistinct,
            _ => return None,
        })
    }

    /// The name clients write.
    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Neq => "neq",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::In => "in",
            Op::Like => "like",
            Op::Ilike => "ilike",
            Op::Is => "is",
            Op::Match => "match",
            Op::Imatch => "imatch",
            Op::IsDistinct => "isdistinct",
        }
    }
}

/// One parsed condition, before the database has seen its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    /// Column name.
    pub column: String,
    /// Operator.
    pub op: Op,
    /// `not.` prefix.
    pub negate: bool,
    /// The value, unquoted; for `in` a Postgres array literal `{a,b}`.
    pub value: String,
}

/// A filter string the official server would refuse; the text is its message.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FilterError {
    /// A segment that is not `col=op.value`, or an unknown operator: the parts, as the
    /// official server prints them.
    #[error("Error parsing `filter` params: [{}]", .0.iter().map(|p| serde_json::Value::from(p.as_str()).to_string()).collect::<Vec<_>>().join(", "))]
    Parts(Vec<String>),
    /// `in` without `(…)`.
    #[error("Error parsing `filter` params: `in` filter value must be wrapped by parentheses")]
    InParens,
    /// `a=eq.1,,b=eq.2`.
    #[error(
        "Error parsing `filter` params: filter must not contain empty segments (check for extra commas)"
    )]
    EmptySegment,
}

/// Parses a whole filter string; empty or blank means no condition.
pub fn parse(raw: &str) -> Result<Vec<Condition>, FilterError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    split_top_level(trimmed)
        .into_iter()
        .map(parse_segment)
        .collect()
}

/// Splits on commas outside `(…)` and outside a `"…"` quote; a quote opens only right after
/// `.`, `(` or a comma inside parentheses, and `\` escapes the next byte inside it.
fn split_top_level(s: &str) -> Vec<&str> {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut prev, mut start) = (0usize, false, 0u8, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if quoted {
            match b {
                b'\\' if i + 1 < bytes.len() => {
                    prev = bytes[i + 1];
                    i += 1;
                }
                b'"' => {
                    quoted = false;
                    prev = b;
                }
                _ => prev = b,
            }
        } else {
            match b {
                b'"' if matches!(prev, b'.' | b'(' | b',') => {
                    quoted = true;
                    prev = b;
                }
                b'(' => {
                    depth += 1;
                    prev = b;
                }
                b')' => {
                    depth = depth.saturating_sub(1);
                    prev = b;
                }
                b',' if depth == 0 => {
                    out.push(&s[start..i]);
                    start = i + 1;
                    prev = 0;
                }
                _ => prev = b,
            }
        }
        i += 1;
    }
    out.push(&s[start..]);
    out
}

fn parse_segment(segment: &str) -> Result<Condition, FilterError> {
    let trimmed = segment.trim();
    if trimmed.is_empty() {
        return Err(FilterError::EmptySegment);
    }
    let Some((column, rest)) = trimmed.split_once('=') else {
        return Err(FilterError::Parts(vec![trimmed.to_string()]));
    };
    let (negate, op_value) = match rest.strip_prefix("not.") {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let Some((op_name, value)) = op_value.split_once('.') else {
        return Err(FilterError::Parts(vec![op_value.to_string()]));
    };
    let Some(op) = Op::from_name(op_name) else {
        return Err(FilterError::Parts(vec![
            op_name.to_string(),
            value.to_string(),
        ]));
    };
    let value = if op == Op::In {
        let inner = value
            .strip_prefix('(')
            .and_then(|v| v.strip_suffix(')'))
            .ok_or(FilterError::InParens)?;
        format!("{{{inner}}}")
    } else {
        unquote(value)
    };
    Ok(Condition {
        column: column.to_string(),
        op,
        negate,
        value,
    })
}

/// `"a\"b"` → `a"b`; a value that is not exactly one quoted string stays as written.
fn unquote(value: &str) -> String {
    let Some(rest) = value.strip_prefix('"') else {
        return value.to_string();
    };
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' if chars.as_str().is_empty() => return out,
            '"' => return value.to_string(),
            '\\' => match chars.next() {
                Some(n) => out.push(n),
                None => return value.to_string(),
            },
            c => out.push(c),
        }
    }
    value.to_string()
}

/// The right-hand side of `is`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsWhat {
    /// `is.null` (any type) and `is.unknown` (boolean).
    Null,
    /// `is.true`
    True,
    /// `is.false`
    False,
}

/// What a condition tests, with database-canonical values.
#[derive(Debug, Clone)]
pub enum Test {
    /// eq, neq, lt, lte, gt, gte, isdistinct: the value in the column type's text output.
    Compare(String),
    /// `in`: the list's non-NULL values, and whether it held a NULL.
    In {
        /// Canonical values.
        values: Vec<String>,
        /// A NULL in the list makes a miss NULL rather than false.
        has_null: bool,
    },
    /// `is`
    Is(IsWhat),
    /// like / ilike
    Like(Like),
    /// match / imatch (compiled case-insensitive for imatch)
    Regex(Regex),
}

/// One ready condition of a binding.
#[derive(Debug, Clone)]
pub struct Filter {
    /// Column name.
    pub column: String,
    /// Operator.
    pub op: Op,
    /// `not.` prefix.
    pub negate: bool,
    /// What to test.
    pub test: Test,
}

impl Filter {
    /// Whether a row whose column has text value `value` (None = NULL) of type `typname` passes.
    pub fn matches(&self, value: Option<&str>, typname: &str) -> bool {
        match self.eval(value, typname) {
            Some(b) => b != self.negate,
            None => false,
        }
    }

    /// The SQL truth value of the condition without `not.`: `None` is NULL.
    fn eval(&self, value: Option<&str>, typname: &str) -> Option<bool> {
        if let Test::Is(what) = self.test {
            return Some(match what {
                IsWhat::Null => value.is_none(),
                IsWhat::True => value == Some("t"),
                IsWhat::False => value == Some("f"),
            });
        }
        if self.op == Op::IsDistinct {
            let Test::Compare(other) = &self.test else {
                return None;
            };
            return Some(match value {
                None => true,
                Some(v) => compare(v, other, typname) != Some(Ordering::Equal),
            });
        }
        let value = value?;
        match &self.test {
            Test::Compare(other) => {
                let ord = compare(value, other, typname)?;
                Some(match self.op {
                    Op::Eq => ord == Ordering::Equal,
                    Op::Neq => ord != Ordering::Equal,
                    Op::Lt => ord == Ordering::Less,
                    Op::Lte => ord != Ordering::Greater,
                    Op::Gt => ord == Ordering::Greater,
                    Op::Gte => ord != Ordering::Less,
                    _ => return None,
                })
            }
            Test::In { values, has_null } => {
                let hit = values
                    .iter()
                    .any(|v| compare(value, v, typname) == Some(Ordering::Equal));
                if hit {
                    Some(true)
                } else if *has_null {
                    None
                } else {
                    Some(false)
                }
            }
            Test::Like(like) => Some(like.matches(value)),
            Test::Regex(re) => Some(re.is_match(value)),
            Test::Is(_) => None,
        }
    }
}

fn compare(a: &str, b: &str, typname: &str) -> Option<Ordering> {
    if is_numeric(typname) {
        let (x, y) = (a.parse::<f64>().ok()?, b.parse::<f64>().ok()?);
        x.partial_cmp(&y)
    } else {
        Some(a.cmp(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(raw: &str) -> Condition {
        let mut v = parse(raw).unwrap();
        assert_eq!(v.len(), 1, "{raw}");
        v.remove(0)
    }

    fn msg(raw: &str) -> String {
        parse(raw).unwrap_err().to_string()
    }

    #[test]
    fn parses_like_the_official_server() {
        // The examples of parse_subscription_params' documentation (subscriptions.ex).
        assert_eq!(
            one("subject=eq.hey"),
            Condition {
                column: "subject".into(),
                op: Op::Eq,
                negate: false,
                value: "hey".into()
            }
        );
        assert_eq!(one("subject=in.(hidee,ho)").value, "{hidee,ho}");
        let n = one("subject=not.like.hey%");
        assert_eq!((n.op, n.negate, n.value.as_str()), (Op::Like, true, "hey%"));
        let two = parse("id=gt.0,id=lt.100").unwrap();
        assert_eq!(
            two.iter()
                .map(|c| (c.op, c.value.as_str()))
                .collect::<Vec<_>>(),
            vec![(Op::Gt, "0"), (Op::Lt, "100")]
        );
        assert_eq!(parse("").unwrap(), vec![]);
        assert_eq!(parse("   ").unwrap(), vec![]);
        assert_eq!(
            msg("subject=foo.hey"),
            r#"Error parsing `filter` params: ["foo", "hey"]"#
        );
        assert_eq!(
            msg("undefined"),
            r#"Error parsing `filter` params: ["undefined"]"#
        );
        assert_eq!(msg("id=5"), r#"Error parsing `filter` params: ["5"]"#);
        assert_eq!(
            msg("id=in.1,2"),
            "Error parsing `filter` params: `in` filter value must be wrapped by parentheses"
        );
        assert!(msg("a=eq.1,,b=eq.2").ends_with("(check for extra commas)"));
        assert!(msg("a=eq.1,").ends_with("(check for extra commas)"));
    }

    #[test]
    fn commas_inside_parentheses_and_quotes_do_not_split() {
        assert_eq!(one("id=in.(1, 2,3)").value, "{1, 2,3}");
        assert_eq!(one(r#"t=eq."a,b""#).value, "a,b");
        assert_eq!(one(r#"t=eq."say \"hi\", ok""#).value, r#"say "hi", ok"#);
        let v = parse(r#"t=in.("a,b",c),n=gt.1"#).unwrap();
        assert_eq!(v[0].value, r#"{"a,b",c}"#);
        assert_eq!(v[1].column, "n");
        // A quote that does not follow `.`, `(` or `,` is an ordinary character.
        let v = parse(r#"t=eq.x"y,n=eq.1"#).unwrap();
        assert_eq!(v[0].value, r#"x"y"#);
        // Not one whole quoted string: kept as written.
        assert_eq!(one(r#"t=eq."a"b"#).value, r#""a"b"#);
        assert_eq!(one("name=eq.a.b").value, "a.b");
        assert_eq!(one("n=not.is.null").op, Op::Is);
    }

    fn filter(op: Op, negate: bool, test: Test) -> Filter {
        Filter {
            column: "c".into(),
            op,
            negate,
            test,
        }
    }

    #[test]
    fn three_valued_like_sql() {
        let cmp = |op, v: &str| filter(op, false, Test::Compare(v.into()));
        assert!(cmp(Op::Eq, "5").matches(Some("5"), "int4"));
        assert!(cmp(Op::Neq, "5").matches(Some("6"), "int4"));
        assert!(!cmp(Op::Neq, "5").matches(None, "int4"));
        assert!(cmp(Op::Lte, "10").matches(Some("10"), "int8"));
        assert!(cmp(Op::Gt, "9").matches(Some("10"), "numeric"));
        assert!(!cmp(Op::Lt, "b").matches(Some("b"), "text"));
        assert!(!cmp(Op::Eq, "5").matches(Some("x"), "int4"));
        // not. of NULL is NULL: no row with a NULL passes `not.eq`.
        assert!(!filter(Op::Eq, true, Test::Compare("5".into())).matches(None, "int4"));
        assert!(filter(Op::Eq, true, Test::Compare("5".into())).matches(Some("4"), "int4"));
        let distinct = filter(Op::IsDistinct, false, Test::Compare("5".into()));
        assert!(distinct.matches(None, "int4"));
        assert!(distinct.matches(Some("4"), "int4"));
        assert!(!distinct.matches(Some("5.0"), "numeric"));
        let same = filter(Op::IsDistinct, true, Test::Compare("5".into()));
        assert!(!same.matches(None, "int4"));
        assert!(same.matches(Some("5"), "int4"));
        let is_null = filter(Op::Is, false, Test::Is(IsWhat::Null));
        assert!(is_null.matches(None, "text"));
        assert!(!is_null.matches(Some(""), "text"));
        let not_true = filter(Op::Is, true, Test::Is(IsWhat::True));
        assert!(not_true.matches(None, "bool"));
        assert!(not_true.matches(Some("f"), "bool"));
        assert!(!not_true.matches(Some("t"), "bool"));
        let in_null = |negate| {
            filter(
                Op::In,
                negate,
                Test::In {
                    values: vec!["1".into()],
                    has_null: true,
                },
            )
        };
        assert!(in_null(false).matches(Some("1"), "int4"));
        assert!(!in_null(false).matches(Some("2"), "int4"));
        // 2 <> all of {1, NULL} is NULL, so `not.in` does not pass either.
        assert!(!in_null(true).matches(Some("2"), "int4"));
        let re = Regex::new("^ab+c").unwrap();
        assert!(filter(Op::Match, false, Test::Regex(re.clone())).matches(Some("abbc!"), "text"));
        assert!(filter(Op::Match, true, Test::Regex(re)).matches(Some("ac"), "text"));
    }
}
