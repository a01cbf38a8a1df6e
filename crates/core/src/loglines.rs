//! What a log line says besides its text: its level, and the time stamp it repeats.
//!
//! Postgres, our engine (tracing) and nginx print their own time stamp at the head of each
//! line, and the engine (Docker) stamps it again. [`own_stamp_len`] finds the program's own
//! stamp when it names the same instant, so a view shows one time; [`detect_level`] reads the
//! level those formats state.

use serde::Serialize;

/// How severe a log line says it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

/// Stamps closer than this to the engine's are the same instant (programs round, buffer).
const SAME_INSTANT_MS: i64 = 1_500;

/// Bytes at the head of `text` that are the program's own time stamp for the instant the
/// engine stamped as `engine_ts` (RFC 3339), with the spaces after it; 0 when there is none.
pub fn own_stamp_len(text: &str, engine_ts: &str) -> usize {
    let Some((engine_ms, _)) = parse_stamp(engine_ts) else {
        return 0;
    };
    // tracing dims its stamp when it thinks it has a terminal: `\x1b[2m<stamp>\x1b[0m`.
    let start = skip_sgr(text, 0);
    let Some((own_ms, len)) = parse_stamp(&text[start..]) else {
        return 0;
    };
    if (own_ms - engine_ms).abs() > SAME_INSTANT_MS {
        return 0;
    }
    let end = skip_sgr(text, start + len);
    let rest = &text[end..];
    end + (rest.len() - rest.trim_start_matches(' ').len())
}

/// The index after any ANSI colour sequences (`ESC [ ... m`) starting at `i`.
fn skip_sgr(text: &str, mut i: usize) -> usize {
    let b = text.as_bytes();
    while b.get(i) == Some(&0x1b) && b.get(i + 1) == Some(&b'[') {
        let Some(m) = b[i + 2..]
            .iter()
            .position(|c| !(c.is_ascii_digit() || *c == b';'))
        else {
            break;
        };
        if b[i + 2 + m] != b'm' {
            break;
        }
        i += 3 + m;
    }
    i
}

/// Milliseconds since the epoch of the stamp at the head of `s`, and its length. Reads
/// `2026-12-03T10:00:00.123456Z` (RFC 3339, tracing), `2026-12-03 10:00:00.123 UTC`
/// (Postgres) and `2026/12/03 10:00:00` (nginx, which logs in the container's zone: UTC).
pub fn parse_stamp(s: &str) -> Option<(i64, usize)> {
    let b = s.as_bytes();
    let num = |from: usize, n: usize| -> Option<i64> {
        let d = b.get(from..from + n)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0i64, |acc, c| acc * 10 + i64::from(c - b'0')))
    };
    let sep = *b.get(4)?;
    if !(sep == b'-' || sep == b'/') || b.get(7) != Some(&sep) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    if !matches!(b.get(10), Some(b'T' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    let (hour, min, sec) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || min > 59 || sec > 60 {
        return None;
    }
    let mut i = 19;
    let mut ms = 0i64;
    if matches!(b.get(i), Some(b'.' | b',')) {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                ms = ms * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..3 {
            ms *= 10;
        }
    }
    let mut offset_s = 0i64;
    if b.get(i) == Some(&b'Z') {
        i += 1;
    } else if matches!(b.get(i), Some(b'+' | b'-')) && b.get(i + 3) == Some(&b':') {
        let sign = if b[i] == b'-' { -1 } else { 1 };
        offset_s = sign * (num(i + 1, 2)? * 3600 + num(i + 4, 2)? * 60);
        i += 6;
    } else if s[i..].starts_with(" UTC") || s[i..].starts_with(" GMT") {
        i += 4;
    }
    // A stamp ends at a space, a colour code or the end of the line (not `...:00.5abc`).
    if b.get(i).is_some_and(|c| *c != b' ' && *c != 0x1b) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + min * 60 + sec - offset_s;
    Some((secs * 1000 + ms, i))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Postgres lines that explain the line before them; they state no level of their own.
const PG_CONTINUATION: [&str; 6] = [
    "DETAIL",
    "HINT",
    "STATEMENT",
    "CONTEXT",
    "LOCATION",
    "QUERY",
];

/// The level a line states, read from its first few words: Postgres `LOG:`/`WARNING:`/
/// `ERROR:`/`FATAL:`/`PANIC:`/`DEBUG1:`, tracing `INFO`/`WARN`/`ERROR`/`DEBUG`/`TRACE`,
/// nginx and Elixir `[error]`/`[warn]`/`[info]`, and logfmt `level=error`.
pub fn detect_level(text: &str) -> Option<LogLevel> {
    let head = head_without_ansi(text, 200);
    for (i, word) in head.split_whitespace().take(7).enumerate() {
        if let Some(inner) = word
            .strip_prefix('[')
            .and_then(|w| w.strip_suffix(']').or_else(|| w.strip_suffix("]:")))
        {
            if let Some(level) = bracketed(inner) {
                return Some(level);
            }
            continue;
        }
        let bare = word.trim_end_matches(':');
        if PG_CONTINUATION.contains(&bare) && word.ends_with(':') {
            return None;
        }
        // Postgres' `ERROR:` may follow its stamp and pid; tracing's bare `INFO` comes first
        // (after its stamp), not anywhere in a sentence.
        if word.ends_with(':') || i < 3 {
            if let Some(level) = upper_word(bare) {
                return Some(level);
            }
        }
        if let Some(value) = word
            .strip_prefix("level=")
            .or_else(|| word.strip_prefix("\"level\":"))
        {
            return bracketed(&value.trim_matches(|c| c == '"' || c == ',').to_lowercase());
        }
    }
    None
}

fn upper_word(w: &str) -> Option<LogLevel> {
    Some(match w {
        "TRACE" | "DEBUG" | "DEBUG1" | "DEBUG2" | "DEBUG3" | "DEBUG4" | "DEBUG5" => LogLevel::Debug,
        "INFO" | "LOG" | "NOTICE" => LogLevel::Info,
        "WARN" | "WARNING" => LogLevel::Warn,
        "ERROR" | "ERRO" | "FATAL" | "PANIC" | "CRITICAL" | "CRIT" => LogLevel::Error,
        _ => return None,
    })
}

fn bracketed(w: &str) -> Option<LogLevel> {
    Some(match w {
        "trace" | "debug" => LogLevel::Debug,
        "info" | "notice" => LogLevel::Info,
        "warn" | "warning" => LogLevel::Warn,
        "error" | "err" | "crit" | "critical" | "alert" | "emerg" | "fatal" => LogLevel::Error,
        _ => return upper_word(w),
    })
}

/// Up to `max` bytes of the line with ANSI escape sequences (tracing's colours) removed.
fn head_without_ansi(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    if !head.contains('\x1b') {
        return head.into();
    }
    let mut out = String::with_capacity(head.len());
    let mut chars = head.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Samples from `docker logs -t` of a real project's containers (supalove/postgres:15,
    // supalove/realtime:0.1.0) and nginx's error log format (the gateway).
    const PG: &str = "2026-12-03T11:14:50.158335889Z 2026-12-03 11:14:50.158 UTC [1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432";
    const ENGINE: &str = "2026-12-03T11:14:59.677133641Z 2026-12-03T11:14:59.676903Z  INFO supalove_realtime::cdc::capture: waiting for the database to accept connections error=error connecting to server";

    fn split(docker: &str) -> (&str, &str) {
        docker.split_once(' ').unwrap()
    }

    #[test]
    fn postgres_stamp_is_stripped_when_it_is_the_same_instant() {
        let (ts, text) = split(PG);
        let n = own_stamp_len(text, ts);
        assert_eq!(
            &text[n..],
            "[1] LOG:  listening on IPv4 address \"0.0.0.0\", port 5432"
        );
        assert_eq!(detect_level(&text[n..]), Some(LogLevel::Info));
        assert_eq!(detect_level(text), Some(LogLevel::Info));
    }

    #[test]
    fn engine_stamp_is_stripped_and_its_level_read() {
        let (ts, text) = split(ENGINE);
        let n = own_stamp_len(text, ts);
        assert!(text[n..].starts_with("INFO supalove_realtime::cdc::capture: waiting"));
        assert_eq!(detect_level(text), Some(LogLevel::Info));
        let coloured = "2026-12-03T11:14:59.676903Z \x1b[33m WARN\x1b[0m \x1b[2msupalove_realtime\x1b[0m: slow";
        assert_eq!(detect_level(coloured), Some(LogLevel::Warn));
        assert_eq!(own_stamp_len(coloured, ts), 28);
        let dimmed = "\x1b[2m2026-12-03T11:14:59.676903Z\x1b[0m \x1b[32m INFO\x1b[0m listening";
        assert_eq!(
            &dimmed[own_stamp_len(dimmed, ts)..],
            "\x1b[32m INFO\x1b[0m listening"
        );
    }

    #[test]
    fn a_different_instant_or_no_stamp_is_kept() {
        let text = "2026-12-03 11:10:00.000 UTC [1] LOG:  checkpoint starting: time";
        assert_eq!(own_stamp_len(text, "2026-12-03T11:14:50.158335889Z"), 0);
        assert_eq!(
            own_stamp_len("init: done; starting postgres", "2026-12-03T11:14:50Z"),
            0
        );
        assert_eq!(own_stamp_len("2026-12-03 11:14:50.158 UTC", "junk"), 0);
        // Within rounding of a second is the same instant.
        assert_eq!(
            own_stamp_len(
                "2026-12-03 11:14:50.999 UTC [1] LOG:  x",
                "2026-12-03T11:14:51.4Z"
            ),
            28
        );
    }

    #[test]
    fn nginx_stamp_and_level() {
        let text = "2026/12/03 11:15:00 [error] 29#29: *1 connect() failed (111: Connection refused) while connecting to upstream";
        assert_eq!(own_stamp_len(text, "2026-12-03T11:15:00.201Z"), 20);
        assert_eq!(detect_level(text), Some(LogLevel::Error));
        assert_eq!(
            detect_level("2026/12/03 11:15:00 [warn] 1#1: conflicting server name"),
            Some(LogLevel::Warn)
        );
    }

    #[test]
    fn postgres_levels() {
        for (line, level) in [
            ("2026-12-03 11:14:50.158 UTC [61] ERROR:  relation \"nope\" does not exist at character 15", Some(LogLevel::Error)),
            ("2026-12-03 11:14:50.158 UTC [61] FATAL:  password authentication failed for user \"postgres\"", Some(LogLevel::Error)),
            ("[1] PANIC:  could not write to file", Some(LogLevel::Error)),
            ("[1] WARNING:  there is no transaction in progress", Some(LogLevel::Warn)),
            ("[1] DEBUG2:  autovacuum: processing database", Some(LogLevel::Debug)),
            ("2026-12-03 11:14:50.158 UTC [61] STATEMENT:  select * from nope", None),
            ("2026-12-03 11:14:50.158 UTC [61] DETAIL:  Connection matched pg_hba.conf line 99", None),
            ("init: done; starting postgres", None),
            ("PostgreSQL init process complete; ready for start up.", None),
        ] {
            assert_eq!(detect_level(line), level, "{line}");
        }
    }

    #[test]
    fn tracing_elixir_and_logfmt_levels() {
        for (line, level) in [
            (
                "2026-12-03T11:14:59.676903Z ERROR supalove_realtime: replication failed",
                Some(LogLevel::Error),
            ),
            (
                "2026-12-03T11:14:59.676903Z DEBUG supalove_realtime::ws: frame",
                Some(LogLevel::Debug),
            ),
            (
                "2026-12-03T11:14:59.676903Z TRACE supalove_realtime::ws: frame",
                Some(LogLevel::Debug),
            ),
            (
                "11:15:00.123 [info] Running RealtimeWeb.Endpoint",
                Some(LogLevel::Info),
            ),
            (
                "11:15:00.123 [error] Postgrex.Protocol failed to connect",
                Some(LogLevel::Error),
            ),
            (
                "time=2026-12-03T11:15:00Z level=warn msg=slow",
                Some(LogLevel::Warn),
            ),
            ("{\"level\":\"error\",\"msg\":\"x\"}", None),
            (
                "a message that mentions ERROR only late in a long sentence of words",
                None,
            ),
        ] {
            assert_eq!(detect_level(line), level, "{line}");
        }
    }

    #[test]
    fn stamps_parse_to_the_same_instant() {
        let rfc = parse_stamp("2026-12-03T11:14:50.158335889Z").unwrap().0;
        assert_eq!(
            parse_stamp("2026-12-03 11:14:50.158 UTC").unwrap(),
            (rfc, 27)
        );
        assert_eq!(parse_stamp("2026-12-03T12:14:50.158+01:00").unwrap().0, rfc);
        assert_eq!(parse_stamp("1970-01-01T00:00:01.5Z").unwrap(), (1500, 22));
        assert_eq!(parse_stamp("2026-12-03T11:14:50.5abc"), None);
        assert_eq!(parse_stamp("not a stamp"), None);
    }
}
