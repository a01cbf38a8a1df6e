//! postgres_changes filters: `column=op.value` with eq, neq, lt, lte, gt, gte, in.

use std::cmp::Ordering;

use thiserror::Error;

use super::values::is_numeric;

/// A filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `<>`
    Neq,
    /// `<`
    Lt,
    /// `<=`
    Lte,
    /// `>`
    Gt,
    /// `>=`
    Gte,
    /// `= ANY(list)`
    In,
}

/// A parsed filter; values are canonicalised by the database before use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    /// Column name.
    pub column: String,
    /// Operator.
    pub op: Op,
    /// One value, or the list of an `in`.
    pub values: Vec<String>,
}

/// A filter string that cannot be understood.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FilterError {
    /// Not `column=op.value`.
    #[error("filter `{0}` is not of the form column=op.value")]
    Syntax(String),
    /// Unknown operator.
    #[error("filter operator `{0}` is not supported (use eq, neq, lt, lte, gt, gte or in)")]
    Operator(String),
    /// `in` needs `(a,b,...)` with at most 100 values.
    #[error("`in` filter needs a list like (1,2,3) with 1 to 100 values")]
    InList,
}

impl Filter {
    /// Parses `column=op.value`.
    pub fn parse(raw: &str) -> Result<Filter, FilterError> {
        let (column, rest) = raw
            .split_once('=')
            .ok_or_else(|| FilterError::Syntax(raw.to_string()))?;
        let (op, value) = rest
            .split_once('.')
            .ok_or_else(|| FilterError::Syntax(raw.to_string()))?;
        if column.is_empty() {
            return Err(FilterError::Syntax(raw.to_string()));
        }
        let op = match op {
            "eq" => Op::Eq,
            "neq" => Op::Neq,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "in" => Op::In,
            other => return Err(FilterError::Operator(other.to_string())),
        };
        let values = if op == Op::In {
            let inner = value
                .strip_prefix('(')
                .and_then(|v| v.strip_suffix(')'))
                .ok_or(FilterError::InList)?;
            let items: Vec<String> = inner
                .split(',')
                .map(|s| s.trim().trim_matches('"').to_string())
                .collect();
            if items.is_empty() || items.len() > 100 || inner.trim().is_empty() {
                return Err(FilterError::InList);
            }
            items
        } else {
            vec![value.to_string()]
        };
        Ok(Filter {
            column: column.to_string(),
            op,
            values,
        })
    }

    /// Whether a row whose column has text value `value` (None = NULL) of type `typname` passes.
    pub fn matches(&self, value: Option<&str>, typname: &str) -> bool {
        let Some(value) = value else {
            return false;
        };
        let cmp = |other: &str| compare(value, other, typname);
        let first = self.values.first().map(String::as_str).unwrap_or("");
        match self.op {
            Op::Eq => cmp(first) == Some(Ordering::Equal),
            Op::Neq => matches!(cmp(first), Some(Ordering::Less | Ordering::Greater)),
            Op::Lt => cmp(first) == Some(Ordering::Less),
            Op::Lte => matches!(cmp(first), Some(Ordering::Less | Ordering::Equal)),
            Op::Gt => cmp(first) == Some(Ordering::Greater),
            Op::Gte => matches!(cmp(first), Some(Ordering::Greater | Ordering::Equal)),
            Op::In => self.values.iter().any(|v| cmp(v) == Some(Ordering::Equal)),
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

    #[test]
    fn parses() {
        assert_eq!(
            Filter::parse("id=eq.5").unwrap(),
            Filter {
                column: "id".into(),
                op: Op::Eq,
                values: vec!["5".into()]
            }
        );
        assert_eq!(Filter::parse("name=eq.a.b").unwrap().values, vec!["a.b"]);
        assert_eq!(
            Filter::parse("id=in.(1, 2,3)").unwrap().values,
            vec!["1", "2", "3"]
        );
        assert!(matches!(Filter::parse("id"), Err(FilterError::Syntax(_))));
        assert!(matches!(Filter::parse("id=5"), Err(FilterError::Syntax(_))));
        assert!(matches!(
            Filter::parse("id=like.5"),
            Err(FilterError::Operator(_))
        ));
        assert_eq!(Filter::parse("id=in.1,2"), Err(FilterError::InList));
        assert_eq!(Filter::parse("id=in.()"), Err(FilterError::InList));
        let many = format!(
            "id=in.({})",
            (0..101)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        assert_eq!(Filter::parse(&many), Err(FilterError::InList));
    }

    #[test]
    fn evaluates_numbers_and_text() {
        let f = |s: &str| Filter::parse(s).unwrap();
        assert!(f("n=eq.5").matches(Some("5"), "int4"));
        assert!(f("n=neq.5").matches(Some("6"), "int4"));
        assert!(!f("n=neq.5").matches(Some("5"), "int4"));
        assert!(f("n=lt.10").matches(Some("9"), "int4"));
        assert!(!f("n=lt.10").matches(Some("10"), "int4"));
        assert!(f("n=lte.10").matches(Some("10"), "int8"));
        assert!(f("n=gt.9").matches(Some("10"), "numeric"));
        assert!(f("n=gte.10").matches(Some("10"), "float8"));
        assert!(f("n=in.(1,2,3)").matches(Some("2"), "int4"));
        assert!(!f("n=in.(1,2,3)").matches(Some("4"), "int4"));
        assert!(f("t=eq.abc").matches(Some("abc"), "text"));
        assert!(f("t=lt.b").matches(Some("a"), "text"));
        assert!(!f("n=eq.5").matches(None, "int4"));
        assert!(!f("n=neq.5").matches(None, "int4"));
        assert!(!f("n=eq.5").matches(Some("x"), "int4"));
    }
}
