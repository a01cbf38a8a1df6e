//! How cards, lists and env lines look in a terminal.

use supalove_core::card::{ProjectCard, ProjectStatus};

/// `2027-11-24` from seconds since the Unix epoch (UTC).
pub fn date(secs: u64) -> String {
    let stamp = i64::try_from(secs).unwrap_or(i64::MAX);
    match time::OffsetDateTime::from_unix_timestamp(stamp) {
        Ok(t) => format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
        // Past the year 9999: no date a person would read; say what was stored.
        Err(_) => format!("{secs} s after 1970"),
    }
}

/// A status word for people.
pub fn status_word(s: ProjectStatus) -> &'static str {
    match s {
        ProjectStatus::Incomplete => "incomplete (`supalove start` or `supalove new` finishes it)",
        ProjectStatus::Healthy => "healthy",
        ProjectStatus::Starting => "starting",
        ProjectStatus::Unhealthy => "unhealthy",
        ProjectStatus::Partial => "partly running",
        ProjectStatus::Stopped => "stopped",
        ProjectStatus::Missing => "containers missing (`supalove start` recreates them)",
    }
}

/// The full card.
pub fn card(c: &ProjectCard) -> String {
    let mut out = format!("{}  ({})\n", c.name, status_word(c.status));
    let row = |out: &mut String, k: &str, v: &str| out.push_str(&format!("  {k:<14}{v}\n"));
    row(
        &mut out,
        "target",
        c.target.as_deref().unwrap_or("local (Docker)"),
    );
    row(&mut out, "db_url", &c.db_url);
    if let Some(u) = &c.api_url {
        row(&mut out, "api_url", u);
    }
    match &c.realtime_url {
        Some(u) => row(&mut out, "realtime_url", u),
        None => row(
            &mut out,
            "realtime_url",
            &format!(
                "- (no Realtime service in this stack; REALTIME_PORT {} is reserved)",
                c.ports.realtime
            ),
        ),
    }
    let reach = match &c.target {
        None => "127.0.0.1 only".to_string(),
        Some(t) => format!("127.0.0.1 of {t}'s server: reach them with `ssh -L`"),
    };
    row(
        &mut out,
        "ports",
        &format!(
            "db {} · realtime {} ({reach})",
            c.ports.db, c.ports.realtime
        ),
    );
    row(&mut out, "anon key", &c.keys.anon);
    row(&mut out, "service_role", &c.keys.service_role);
    row(&mut out, "keys expire", &date(c.keys.expires_at));
    let services = if c.services.is_empty() {
        "none".to_string()
    } else {
        c.services
            .iter()
            .map(|s| format!("{} {:?} ({})", s.service, s.state, s.container).to_lowercase())
            .collect::<Vec<_>>()
            .join(", ")
    };
    row(&mut out, "services", &services);
    row(&mut out, "image", &c.db_image);
    row(&mut out, "secrets", &c.secret_store);
    out.push_str("\nConnect your app:\n");
    for line in c.connect.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str(&format!("  {line}\n"));
        }
    }
    out
}

/// One line per project.
pub fn list(cards: &[ProjectCard]) -> String {
    if cards.is_empty() {
        return "No projects yet. Create one with `supalove new <name>`.\n".into();
    }
    let mut out = format!(
        "{:<20} {:<12} {:<8} {:<9} {:<10} {}\n",
        "NAME", "STATUS", "DB", "REALTIME", "CREATED", "TARGET"
    );
    for c in cards {
        let status = format!("{:?}", c.status).to_lowercase();
        out.push_str(&format!(
            "{:<20} {:<12} {:<8} {:<9} {:<10} {}\n",
            c.name,
            status,
            c.ports.db,
            c.ports.realtime,
            date(c.created_at),
            c.target.as_deref().unwrap_or("local")
        ));
    }
    let mut stores: Vec<&str> = cards.iter().map(|c| c.secret_store.as_str()).collect();
    stores.dedup();
    out.push_str(&format!("\nsecrets: {}\n", stores.join("; ")));
    out
}

/// A statement's rows as an aligned table (psql-like), or its row count.
pub fn table(r: &supalove_core::sql::StatementResult) -> String {
    if r.columns.is_empty() {
        return match r.count {
            0 => "ok\n".to_string(),
            n => format!("ok ({n} row{})\n", if n == 1 { "" } else { "s" }),
        };
    }
    let cell = |v: &Option<String>| v.clone().unwrap_or_else(|| "NULL".into());
    let mut widths: Vec<usize> = r.columns.iter().map(|c| c.chars().count()).collect();
    for row in &r.rows {
        for (i, v) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell(v).chars().count());
        }
    }
    let line = |vals: Vec<String>| {
        vals.iter()
            .enumerate()
            .map(|(i, v)| format!("{v:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join(" | ")
            .trim_end()
            .to_string()
    };
    let mut out = line(r.columns.clone()) + "\n";
    out += &widths
        .iter()
        .map(|w| "-".repeat(*w))
        .collect::<Vec<_>>()
        .join("-+-");
    out += "\n";
    for row in &r.rows {
        out += &line(row.iter().map(cell).collect());
        out += "\n";
    }
    out += &format!(
        "({} row{})\n",
        r.rows.len(),
        if r.rows.len() == 1 { "" } else { "s" }
    );
    out
}

/// The doctor's findings, one per line, with fixes.
pub fn doctor(report: &supalove_core::projects::DoctorReport) -> String {
    use supalove_core::doctor::CheckStatus;
    let mut out = String::new();
    for sql in &report.fixed {
        out += &format!("fixed: {sql}\n");
    }
    for c in &report.checks {
        let mark = match c.status {
            CheckStatus::Ok => "ok  ",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "FAIL",
        };
        out += &format!("[{mark}] {:<17} {}\n", c.id, c.message);
        if let Some(fix) = &c.fix {
            let how = if c.auto_fix {
                "fix (applied by --fix)"
            } else {
                "fix"
            };
            out += &format!("       {how}: {fix}\n");
        }
    }
    out
}

/// Quotes a dotenv value.
pub fn env_line(k: &str, v: &str) -> String {
    format!("{k}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(1_795_478_400), "2026-11-24");
        assert_eq!(date(951_782_400), "2000-02-29");
    }

    #[test]
    fn env_quotes() {
        assert_eq!(env_line("A", "x\"y"), "A=\"x\\\"y\"");
    }
}
