//! SQL `LIKE` / `ILIKE` patterns (`%` any run, `_` one character, `\` escapes the next one),
//! evaluated on the row's text without a database round trip.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A literal character (already lower-cased for ILIKE).
    Char(char),
    /// `_`
    One,
    /// `%`
    Any,
}

/// A compiled LIKE pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Like {
    tokens: Vec<Token>,
    fold_case: bool,
}

/// A pattern Postgres refuses too.
#[derive(Debug, PartialEq, Eq)]
pub struct TrailingEscape;

impl Like {
    /// Compiles `pattern`; `fold_case` for ILIKE.
    pub fn new(pattern: &str, fold_case: bool) -> Result<Like, TrailingEscape> {
        let mut tokens = Vec::new();
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let t = match c {
                '%' => {
                    if tokens.last() != Some(&Token::Any) {
                        tokens.push(Token::Any);
                    }
                    continue;
                }
                '_' => Token::One,
                '\\' => Token::Char(chars.next().ok_or(TrailingEscape)?),
                c => Token::Char(c),
            };
            tokens.push(t);
        }
        if fold_case {
            for t in &mut tokens {
                if let Token::Char(c) = t {
                    *c = fold(*c);
                }
            }
        }
        Ok(Like { tokens, fold_case })
    }

    /// Whether the whole of `text` matches.
    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = if self.fold_case {
            text.chars().map(fold).collect()
        } else {
            text.chars().collect()
        };
        // Greedy with backtracking to the last `%`: O(len(text) * len(pattern)) at worst.
        let (mut t, mut p) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::Any) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(Token::One) => {
                    t += 1;
                    p += 1;
                }
                Some(Token::Char(c)) if *c == text[t] => {
                    t += 1;
                    p += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p..].iter().all(|t| *t == Token::Any)
    }
}

/// Simple case folding: the first char of the lower-case form.
fn fold(c: char) -> char {
    c.to_lowercase().next().unwrap_or(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn like(p: &str, t: &str) -> bool {
        Like::new(p, false).unwrap().matches(t)
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(like("hey%", "hey you"));
        assert!(like("hey%", "hey"));
        assert!(!like("hey%", "he"));
        assert!(like("%ou", "hey you"));
        assert!(like("h_y", "hey"));
        assert!(!like("h_y", "hy"));
        assert!(like("%a%b%", "xxaxxbxx"));
        assert!(!like("%a%b%", "xxbxxaxx"));
        assert!(like("100\\%", "100%"));
        assert!(!like("100\\%", "1000"));
        assert!(like("a\\_b", "a_b"));
        assert!(!like("a\\_b", "axb"));
        assert!(like("", ""));
        assert!(!like("", "x"));
        assert!(like("%", ""));
        assert!(like("é_", "éa"));
        assert_eq!(Like::new("abc\\", false), Err(TrailingEscape));
        assert!(!like("Hey", "hey"));
        assert!(Like::new("HEY%", true).unwrap().matches("hey YOU"));
        assert!(Like::new("ÉTÉ", true).unwrap().matches("été"));
    }

    proptest! {
        // Without wildcards, LIKE is equality.
        #[test]
        fn literal_patterns_are_equality(a in "[a-c]{0,6}", b in "[a-c]{0,6}") {
            prop_assert_eq!(like(&a, &b), a == b);
        }

        // `%x%` is "contains".
        #[test]
        fn percent_both_sides_is_contains(a in "[a-c]{0,3}", b in "[a-c]{0,8}") {
            prop_assert_eq!(like(&format!("%{a}%"), &b), b.contains(&a));
        }
    }
}
