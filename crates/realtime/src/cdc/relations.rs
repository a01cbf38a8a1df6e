//! Table metadata and per-role checks, read from the database on the capture connection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_postgres::Client;

use super::pgoutput::{Relation, TupleValue};

/// One column of a published table.
#[derive(Debug, Clone)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// `pg_type.typname` (what the `columns` payload shows).
    pub typname: String,
    /// `format_type` output, used for casts in SQL.
    pub sql_type: String,
    /// Part of the primary key.
    pub is_pk: bool,
    /// Part of the replica identity sent in old tuples.
    pub is_key: bool,
}

/// A published table as the dispatcher needs it.
#[derive(Debug, Clone)]
pub struct RelInfo {
    /// Table OID.
    pub id: u32,
    /// Schema.
    pub schema: String,
    /// Name.
    pub name: String,
    /// REPLICA IDENTITY FULL: old tuples carry the whole row.
    pub replica_full: bool,
    /// Row-level security enabled.
    pub rls_enabled: bool,
    /// Columns in pgoutput order.
    pub columns: Vec<Column>,
}

impl RelInfo {
    /// Whether the table has a primary key.
    pub fn has_pk(&self) -> bool {
        self.columns.iter().any(|c| c.is_pk)
    }

    /// Index of a column by name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

/// Loads type names, primary key and RLS flag for a relation message.
pub async fn load(client: &Client, rel: &Relation) -> Result<RelInfo, tokio_postgres::Error> {
    let oids: Vec<u32> = rel.columns.iter().map(|c| c.type_oid).collect();
    let types: HashMap<u32, (String, String)> = client
        .query(
            "select oid, typname::text, format_type(oid, null) from pg_type where oid = any($1)",
            &[&oids],
        )
        .await?
        .into_iter()
        .map(|r| (r.get::<_, u32>(0), (r.get(1), r.get(2))))
        .collect();
    let row = client
        .query_opt(
            "select c.relrowsecurity, coalesce(array(select a.attname::text from pg_index i \
             join pg_attribute a on a.attrelid = i.indrelid and a.attnum = any(i.indkey) \
             where i.indrelid = c.oid and i.indisprimary), '{}') from pg_class c where c.oid = $1",
            &[&rel.id],
        )
        .await?;
    let (rls_enabled, pk): (bool, Vec<String>) = match row {
        Some(r) => (r.get(0), r.get(1)),
        None => (false, Vec::new()),
    };
    let columns = rel
        .columns
        .iter()
        .map(|c| {
            let (typname, sql_type) = types
                .get(&c.type_oid)
                .cloned()
                .unwrap_or_else(|| ("text".into(), "text".into()));
            Column {
                name: c.name.clone(),
                typname,
                sql_type,
                is_pk: pk.contains(&c.name),
                is_key: c.is_key,
            }
        })
        .collect();
    Ok(RelInfo {
        id: rel.id,
        schema: rel.schema.clone(),
        name: rel.name.clone(),
        replica_full: rel.replica_identity == b'f',
        rls_enabled,
        columns,
    })
}

/// Quotes an SQL identifier.
pub fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

const PRIVILEGE_TTL: Duration = Duration::from_secs(1);
/// How long to wait for a streamed commit to become visible before judging RLS on it
/// (a row deleted meanwhile is simply not visible to anybody): pauses of 0.5 ms doubling to
/// 64 ms, eight in all (127.5 ms).
const VISIBILITY_PAUSES: backon::ExponentialBuilder = backon::ExponentialBuilder::new()
    .with_min_delay(Duration::from_micros(500))
    .with_factor(2.0)
    .without_max_delay()
    .with_max_times(8);

/// Which columns a role may select, and when that was read.
type Cached = (Instant, Arc<Vec<bool>>);

/// Column SELECT privileges per (role, table), cached briefly since grants rarely change.
#[derive(Debug, Default)]
pub struct Privileges {
    cache: HashMap<(String, u32), Cached>,
    bypass: HashMap<String, (Instant, bool)>,
}

impl Privileges {
    /// Whether `role` bypasses row-level security (superuser or BYPASSRLS, e.g.
    /// `service_role`): its changes need no RLS check, so none can be withheld.
    pub async fn bypasses_rls(&mut self, client: &Client, role: &str) -> bool {
        if let Some((at, v)) = self.bypass.get(role) {
            if at.elapsed() < PRIVILEGE_TTL {
                return *v;
            }
        }
        let v = match client
            .query_opt(
                "select rolsuper or rolbypassrls from pg_roles where rolname = $1",
                &[&role],
            )
            .await
        {
            Ok(row) => row.is_some_and(|r| r.get::<_, bool>(0)),
            Err(e) => {
                tracing::warn!(role, error = %e, "cannot read role attributes");
                false
            }
        };
        self.bypass.insert(role.to_string(), (Instant::now(), v));
        v
    }

    /// Which columns of `rel` the role may select (all false if the role does not exist).
    pub async fn columns(&mut self, client: &Client, role: &str, rel: &RelInfo) -> Arc<Vec<bool>> {
        let key = (role.to_string(), rel.id);
        if let Some((at, v)) = self.cache.get(&key) {
            if at.elapsed() < PRIVILEGE_TTL {
                return v.clone();
            }
        }
        let names: Vec<&str> = rel.columns.iter().map(|c| c.name.as_str()).collect();
        let result = client
            .query(
                "select coalesce(has_column_privilege(r.oid, $2::oid, n, 'SELECT'), false) \
                 from unnest($3::text[]) with ordinality as c(n, i) \
                 left join pg_roles r on r.rolname = $1 order by i",
                &[&role, &rel.id, &names],
            )
            .await;
        let allowed = match result {
            Ok(rows) => rows.iter().map(|r| r.get::<_, bool>(0)).collect(),
            Err(e) => {
                tracing::warn!(role, table = %rel.name, error = %e, "cannot read column privileges");
                vec![false; rel.columns.len()]
            }
        };
        let allowed = Arc::new(allowed);
        self.cache.insert(key, (Instant::now(), allowed.clone()));
        allowed
    }
}

/// Whether `role` with `claims` can SELECT the row identified by the new tuple's primary key.
pub async fn row_visible(
    client: &mut Client,
    rel: &RelInfo,
    new: &[TupleValue],
    role: &str,
    claims: &str,
    sub: &str,
) -> Result<bool, tokio_postgres::Error> {
    let mut conds = Vec::new();
    let mut params: Vec<String> = Vec::new();
    for (col, v) in rel.columns.iter().zip(new) {
        if !col.is_pk {
            continue;
        }
        let TupleValue::Text(t) = v else {
            return Ok(false);
        };
        params.push(t.clone());
        conds.push(format!(
            "{} = ${}::text::{}",
            quote_ident(&col.name),
            params.len(),
            col.sql_type
        ));
    }
    if conds.is_empty() {
        return Ok(false);
    }
    let sql = format!(
        "select exists(select 1 from {}.{} where {})",
        quote_ident(&rel.schema),
        quote_ident(&rel.name),
        conds.join(" and ")
    );
    let tx = client.transaction().await?;
    tx.execute(
        "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), \
         set_config('request.jwt.claim.role', $1, true), set_config('request.jwt.claim.sub', $3, true)",
        &[&role, &claims, &sub],
    )
    .await?;
    let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let visible: bool = tx.query_one(&sql, &refs).await?.get(0);
    tx.rollback().await?;
    Ok(visible)
}

/// One RLS question: may `role` with `claims` (and `sub`) read the changed row?
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Check {
    /// Postgres role from the JWT.
    pub role: String,
    /// Claims JSON for `request.jwt.claims`.
    pub claims: Arc<str>,
    /// `sub` claim.
    pub sub: String,
}

/// An SQL string literal that is safe whatever `standard_conforming_strings` says.
fn literal(s: &str) -> String {
    format!("E'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}

/// Answers every check for one changed row in a single round trip (one read-only
/// transaction switching role and claims per check); falls back to one transaction per
/// check if the batch fails, so one bad role cannot hide the row from everybody.
pub async fn visible_batch(
    client: &mut Client,
    rel: &RelInfo,
    new: &[TupleValue],
    checks: &[Check],
) -> Vec<bool> {
    let mut conds = Vec::new();
    for (col, v) in rel.columns.iter().zip(new) {
        if !col.is_pk {
            continue;
        }
        let TupleValue::Text(t) = v else {
            return vec![false; checks.len()];
        };
        conds.push(format!(
            "{} = {}::{}",
            quote_ident(&col.name),
            literal(t),
            col.sql_type
        ));
    }
    if conds.is_empty() {
        return vec![false; checks.len()];
    }
    let probe = format!(
        "SELECT 'v', exists(select 1 from {}.{} where {});",
        quote_ident(&rel.schema),
        quote_ident(&rel.name),
        conds.join(" and ")
    );
    // The stream can deliver a commit a moment before the transaction is visible to new
    // snapshots; a probe as the session user first tells "not visible yet" from "denied".
    let su_probe = probe.replacen("'v'", "'su'", 1);
    let mut sql = format!("BEGIN READ ONLY;{su_probe}");
    for c in checks {
        let role = literal(&c.role);
        sql.push_str(&format!(
            "SELECT set_config('role', {role}, true), set_config('request.jwt.claims', {}, true), \
             set_config('request.jwt.claim.role', {role}, true), set_config('request.jwt.claim.sub', {}, true);",
            literal(&c.claims),
            literal(&c.sub)
        ));
        sql.push_str(&probe);
    }
    sql.push_str("ROLLBACK;");
    let mut pauses = backon::BackoffBuilder::build(VISIBILITY_PAUSES);
    let answer = loop {
        let result = client.simple_query(&sql).await;
        let Ok(messages) = &result else { break result };
        let row_exists = messages.iter().any(|m| {
            matches!(m, tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("su") && r.get(1) == Some("t"))
        });
        match pauses.next() {
            Some(pause) if !row_exists => tokio::time::sleep(pause).await,
            _ => break result,
        }
    };
    match answer {
        Ok(messages) => {
            let verdicts: Vec<bool> = messages
                .iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) if r.get(0) == Some("v") => {
                        Some(r.get(1) == Some("t"))
                    }
                    _ => None,
                })
                .collect();
            if verdicts.len() == checks.len() {
                return verdicts;
            }
            tracing::warn!(table = %rel.name, "RLS batch answered {} of {} checks", verdicts.len(), checks.len());
            vec![false; checks.len()]
        }
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            tracing::debug!(table = %rel.name, error = %e, "RLS batch failed; checking one by one");
            let mut out = Vec::with_capacity(checks.len());
            for c in checks {
                let v = row_visible(client, rel, new, &c.role, &c.claims, &c.sub)
                    .await
                    .unwrap_or_else(|e| {
                        tracing::warn!(role = %c.role, table = %rel.name, error = %e, "RLS check failed; change withheld");
                        false
                    });
                out.push(v);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibility_pauses_double_from_half_a_millisecond_to_64_ms() {
        let got: Vec<Duration> = backon::BackoffBuilder::build(VISIBILITY_PAUSES).collect();
        let want: Vec<Duration> = (0..8).map(|i| Duration::from_micros(500 << i)).collect();
        assert_eq!(got.len(), want.len(), "{got:?}");
        for (got, want) in got.iter().zip(&want) {
            assert!(
                got.abs_diff(*want) < Duration::from_micros(1),
                "{got:?} vs {want:?}"
            );
        }
    }
}
