//! The doctor: checks what must hold for database changes to reach Realtime subscribers, and
//! names each broken prerequisite with its fix.

use serde::Serialize;
use tokio_postgres::Client;

use crate::error::Result;
use crate::registry::RealtimeEngine;
use crate::sql::db_error;

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum CheckStatus {
    Ok,
    Warn,
    Fail,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct Check {
    /// Stable id: `wal_level`, `publication`, `published_tables`, `table_published`,
    /// `replica_identity`, `rls_policy`, `grants`, `replication_slot`, `key_expiry`, `engine`.
    pub id: String,
    pub status: CheckStatus,
    pub message: String,
    /// What to do about it (SQL or a command), when not ok.
    pub fix: Option<String>,
    /// True when `doctor --fix` applies `fix` by itself (it is safe: no data changes).
    pub auto_fix: bool,
}

impl Check {
    fn new(id: &str, status: CheckStatus, message: impl Into<String>) -> Check {
        Check {
            id: id.into(),
            status,
            message: message.into(),
            fix: None,
            auto_fix: false,
        }
    }

    fn with_fix(mut self, fix: impl Into<String>, auto: bool) -> Check {
        self.fix = Some(fix.into());
        self.auto_fix = auto;
        self
    }
}

/// The API roles whose view of a table matters.
pub const ROLES: [&str; 3] = ["anon", "authenticated", "service_role"];

/// Quotes an identifier for SQL.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Splits `schema.table` (default schema `public`).
pub fn split_table(t: &str) -> (String, String) {
    match t.split_once('.') {
        Some((s, n)) => (s.to_string(), n.to_string()),
        None => ("public".to_string(), t.to_string()),
    }
}

async fn one(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>> {
    client.query(sql, params).await.map_err(db_error)
}

/// Runs the database-side checks. `tables` narrows the per-table checks (default: every table
/// in the publication, plus unpublished tables of `public`).
pub async fn check_database(
    client: &Client,
    tables: &[String],
    engine: RealtimeEngine,
) -> Result<Vec<Check>> {
    use CheckStatus::{Fail, Warn};
    let ok = CheckStatus::Ok;
    let mut out = Vec::new();

    let wal: String = one(client, "SELECT current_setting('wal_level')", &[]).await?[0].get(0);
    out.push(if wal == "logical" {
        Check::new("wal_level", ok, "wal_level is logical")
    } else {
        Check::new("wal_level", Fail, format!("wal_level is {wal}: logical decoding (and so Realtime) is off"))
            .with_fix("the stack starts Postgres with `-c wal_level=logical`: restart the project (`supalove restart <project>`)", false)
    });

    let has_pub = !one(
        client,
        "SELECT 1 FROM pg_publication WHERE pubname = 'supabase_realtime'",
        &[],
    )
    .await?
    .is_empty();
    if !has_pub {
        out.push(
            Check::new(
                "publication",
                Fail,
                "publication supabase_realtime does not exist: no change reaches Realtime",
            )
            .with_fix("CREATE PUBLICATION supabase_realtime", true),
        );
    } else {
        out.push(Check::new(
            "publication",
            ok,
            "publication supabase_realtime exists",
        ));
    }

    let published: Vec<(String, String)> = one(
        client,
        "SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = 'supabase_realtime' ORDER BY 1, 2",
        &[],
    )
    .await?
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    let names: Vec<String> = published.iter().map(|(s, t)| format!("{s}.{t}")).collect();
    out.push(Check::new(
        "published_tables",
        if names.is_empty() { Warn } else { ok },
        if names.is_empty() {
            "no table is in supabase_realtime yet".to_string()
        } else {
            format!("published tables: {}", names.join(", "))
        },
    ));

    let targets: Vec<(String, String)> = if tables.is_empty() {
        let mut t = published.clone();
        for r in one(
            client,
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r','p') AND n.nspname = 'public' ORDER BY 2",
            &[],
        )
        .await?
        {
            let key = (r.get::<_, String>(0), r.get::<_, String>(1));
            if !t.contains(&key) {
                t.push(key);
            }
        }
        t
    } else {
        tables.iter().map(|t| split_table(t)).collect()
    };

    for (schema, table) in targets {
        out.extend(
            check_table(
                client,
                &schema,
                &table,
                published.contains(&(schema.clone(), table.clone())),
                has_pub,
            )
            .await?,
        );
    }

    out.push(check_slot(client, engine).await?);
    Ok(out)
}

/// How an engine captures changes: the slot it owns, its output plugin and how it reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotUse {
    pub name: &'static str,
    pub plugin: &'static str,
    pub how: &'static str,
}

/// The slot `engine` uses. The native engine streams pgoutput over a replication connection
/// (SLOT_NAME of the plan). The official image appends its build-time `SLOT_NAME_SUFFIX`
/// (empty in the published images) to `supabase_realtime_replication_slot_`, creates the slot
/// temporary with wal2json only once a client subscribes to postgres_changes, and polls it with
/// SQL (`pg_logical_slot_get_changes`), not over a replication connection.
pub fn slot_use(engine: RealtimeEngine) -> SlotUse {
    match engine {
        RealtimeEngine::Native => SlotUse {
            name: "supabase_realtime_replication_slot",
            plugin: "pgoutput",
            how: "streamed over a replication connection",
        },
        RealtimeEngine::Supabase => SlotUse {
            name: "supabase_realtime_replication_slot_",
            plugin: "wal2json",
            how: "polled with SQL (pg_logical_slot_get_changes), not a replication connection",
        },
    }
}

async fn check_slot(client: &Client, engine: RealtimeEngine) -> Result<Check> {
    let want = slot_use(engine);
    let rows = one(
        client,
        "SELECT slot_name, active, plugin FROM pg_replication_slots WHERE slot_type = 'logical' ORDER BY 1",
        &[],
    )
    .await?;
    let slots: Vec<(String, bool, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let list = slots
        .iter()
        .map(|(n, a, p)| format!("{n} ({p}, {})", if *a { "active" } else { "inactive" }))
        .collect::<Vec<_>>()
        .join(", ");
    let ours = slots.iter().find(|(n, _, _)| n == want.name);
    Ok(match ours {
        Some((_, _, plugin)) if plugin == want.plugin => Check::new(
            "replication_slot",
            CheckStatus::Ok,
            format!(
                "the {} engine's slot {} is there ({}, {}); replication slots: {list}",
                engine.as_str(),
                want.name,
                want.plugin,
                want.how
            ),
        ),
        Some((_, _, plugin)) => Check::new(
            "replication_slot",
            CheckStatus::Warn,
            format!(
                "slot {} uses {plugin}, but the {} engine decodes with {}",
                want.name,
                engine.as_str(),
                want.plugin
            ),
        )
        .with_fix(
            format!(
                "drop it (`SELECT pg_drop_replication_slot('{}')` while the engine is stopped) and restart the project",
                want.name
            ),
            false,
        ),
        None => {
            let when = match engine {
                RealtimeEngine::Native => "the engine creates it when it starts",
                RealtimeEngine::Supabase => {
                    "the official engine creates it (wal2json, temporary) only once a client subscribes to postgres_changes"
                }
            };
            let others = if list.is_empty() {
                "no logical replication slot exists".to_string()
            } else {
                format!("replication slots: {list}")
            };
            Check::new(
                "replication_slot",
                CheckStatus::Warn,
                format!(
                    "the {} engine's slot {} does not exist ({when}); {others}",
                    engine.as_str(),
                    want.name
                ),
            )
            .with_fix(
                "start the project's Realtime service (`supalove start <project>`) and subscribe to postgres_changes",
                false,
            )
        }
    })
}

async fn check_table(
    client: &Client,
    schema: &str,
    table: &str,
    published: bool,
    has_pub: bool,
) -> Result<Vec<Check>> {
    use CheckStatus::{Fail, Warn};
    let ok = CheckStatus::Ok;
    let q = format!("{}.{}", ident(schema), ident(table));
    let name = format!("{schema}.{table}");
    let rows = one(
        client,
        "SELECT c.oid::int8, c.relreplident::text, c.relrowsecurity, \
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2",
        &[&schema, &table],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Ok(vec![Check::new(
            "table_published",
            Fail,
            format!("table {name} does not exist"),
        )]);
    };
    let (replident, rls, has_pk): (String, bool, bool) = (row.get(1), row.get(2), row.get(3));
    let mut out = Vec::new();
    out.push(if published {
        Check::new(
            "table_published",
            ok,
            format!("{name} is in supabase_realtime"),
        )
    } else {
        let fix = format!("ALTER PUBLICATION supabase_realtime ADD TABLE {q}");
        Check::new(
            "table_published",
            Fail,
            format!("{name} is not in supabase_realtime: its changes are never sent"),
        )
        .with_fix(fix, has_pub)
    });
    // 'd' default (primary key), 'f' full, 'i' index, 'n' nothing.
    out.push(match (replident.as_str(), has_pk) {
        ("f", _) | ("i", _) | ("d", true) => Check::new("replica_identity", ok, format!("{name} identifies rows for UPDATE/DELETE")),
        _ => Check::new(
            "replica_identity",
            Warn,
            format!("{name} has no primary key or replica identity: UPDATE and DELETE events carry no old record and RLS filtering of them fails"),
        )
        .with_fix(format!("ALTER TABLE {q} ADD PRIMARY KEY (...) -- or: ALTER TABLE {q} REPLICA IDENTITY FULL"), false),
    });
    for role in super::doctor::ROLES {
        let grant = one(
            client,
            "SELECT has_table_privilege($1, $2, 'SELECT')",
            &[&role, &q],
        )
        .await?;
        let can: bool = grant[0].get(0);
        if !can {
            out.push(
                Check::new(
                    "grants",
                    Fail,
                    format!("role {role} may not SELECT {name}: it receives no events for it"),
                )
                .with_fix(format!("GRANT SELECT ON {q} TO {role}"), false),
            );
            continue;
        }
        if rls && role != "service_role" {
            let policies = one(
                client,
                "SELECT count(*) FROM pg_policies WHERE schemaname = $1 AND tablename = $2 \
                 AND cmd IN ('SELECT', 'ALL') AND (roles @> ARRAY[$3]::name[] OR roles @> ARRAY['public']::name[])",
                &[&schema, &table, &role],
            )
            .await?;
            let n: i64 = policies[0].get(0);
            if n == 0 {
                out.push(
                    Check::new("rls_policy", Warn, format!("RLS is on for {name} and no SELECT policy applies to {role}: {role} sees no rows, so no events"))
                        .with_fix(format!("CREATE POLICY \"{role} can read\" ON {q} FOR SELECT TO {role} USING (true) -- or a narrower condition"), false),
                );
            }
        }
    }
    if !out.iter().any(|c| c.id == "grants" || c.id == "rls_policy") {
        out.push(Check::new(
            "grants",
            ok,
            format!(
                "anon, authenticated and service_role may read {name}{}",
                if rls { " (RLS policies apply)" } else { "" }
            ),
        ));
    }
    Ok(out)
}

/// Applies the safe fixes among `checks` (publication, table membership); returns what ran.
pub async fn apply_fixes(client: &Client, checks: &[Check]) -> Result<Vec<String>> {
    let mut ran = Vec::new();
    // The publication first: adding tables needs it.
    let mut fixes: Vec<&Check> = checks
        .iter()
        .filter(|c| c.auto_fix && c.fix.is_some())
        .collect();
    fixes.sort_by_key(|c| c.id != "publication");
    for c in fixes {
        let sql = c.fix.as_deref().expect("filtered");
        client.batch_execute(sql).await.map_err(db_error)?;
        ran.push(sql.to_string());
    }
    Ok(ran)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_and_names() {
        assert_eq!(ident("we\"ird"), "\"we\"\"ird\"");
        assert_eq!(split_table("notes"), ("public".into(), "notes".into()));
        assert_eq!(split_table("app.notes"), ("app".into(), "notes".into()));
    }
}
