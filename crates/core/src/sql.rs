//! Running SQL in a project's database (`supalove sql`, the app's SQL helper, the doctor).

use std::time::Duration;

use serde::Serialize;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::card::{DB_NAME, DB_USER};
use crate::error::{Error, Result};

/// The outcome of one statement: rows (as text, like psql) or an affected-row count.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct StatementResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// Rows returned or affected, from the command tag.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub count: u64,
}

/// Connects as the project's owner (`app`).
pub async fn connect(port: u16, password: &str) -> Result<Client> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host("127.0.0.1")
        .port(port)
        .user(DB_USER)
        .password(password)
        .dbname(DB_NAME)
        .application_name("supalove")
        .connect_timeout(Duration::from_secs(2));
    let (client, conn) = cfg
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|source| Error::DatabaseUnreachable { port, source })?;
    tokio::spawn(conn);
    Ok(client)
}

/// Runs one or more `;`-separated statements; returns one result per statement.
pub async fn run(client: &Client, sql: &str) -> Result<Vec<StatementResult>> {
    let messages = client.simple_query(sql).await.map_err(db_error)?;
    let mut out = Vec::new();
    let mut current = StatementResult {
        columns: Vec::new(),
        rows: Vec::new(),
        count: 0,
    };
    for m in messages {
        match m {
            SimpleQueryMessage::RowDescription(cols) => {
                current.columns = cols.iter().map(|c| c.name().to_string()).collect();
            }
            SimpleQueryMessage::Row(row) => {
                if current.columns.is_empty() {
                    current.columns = row.columns().iter().map(|c| c.name().to_string()).collect();
                }
                current.rows.push(
                    (0..row.len())
                        .map(|i| row.get(i).map(str::to_string))
                        .collect(),
                );
            }
            SimpleQueryMessage::CommandComplete(n) => {
                current.count = n;
                out.push(std::mem::replace(
                    &mut current,
                    StatementResult {
                        columns: Vec::new(),
                        rows: Vec::new(),
                        count: 0,
                    },
                ));
            }
            _ => {}
        }
    }
    Ok(out)
}

/// A database error with Postgres's own message, detail and hint.
pub fn db_error(e: tokio_postgres::Error) -> Error {
    match e.as_db_error() {
        Some(db) => {
            let mut msg = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                msg.push_str(&format!(" (detail: {d})"));
            }
            if let Some(h) = db.hint() {
                msg.push_str(&format!(" (hint: {h})"));
            }
            let position = match db.position() {
                Some(tokio_postgres::error::ErrorPosition::Original(p)) => Some(*p),
                _ => None,
            };
            Error::Query {
                detail: msg,
                position,
                source: e,
            }
        }
        None => Error::Query {
            detail: e.to_string(),
            position: None,
            source: e,
        },
    }
}

/// A user table, with what the tester and the insert form need to know.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TableInfo {
    pub schema: String,
    pub name: String,
    pub columns: Vec<ColumnInfo>,
    /// In the `supabase_realtime` publication.
    pub published: bool,
    /// Row level security enabled.
    pub rls: bool,
    pub has_primary_key: bool,
}

/// One column of a [`TableInfo`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ColumnInfo {
    pub name: String,
    /// `format_type` of the column (`integer`, `text`, `timestamp with time zone`, ...).
    pub data_type: String,
    pub nullable: bool,
    pub has_default: bool,
}

/// Every user table outside the system schemas, with columns in order.
pub async fn tables(client: &Client) -> Result<Vec<TableInfo>> {
    let rows = client
        .query(
            "SELECT n.nspname, c.relname, c.relrowsecurity, \
                    EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), \
                    EXISTS (SELECT 1 FROM pg_publication_tables p WHERE p.pubname = 'supabase_realtime' \
                            AND p.schemaname = n.nspname AND p.tablename = c.relname), \
                    a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull, \
                    a.atthasdef OR a.attidentity <> '' \
             FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped \
             WHERE c.relkind IN ('r', 'p') \
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', '_realtime', 'realtime') \
               AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' \
             ORDER BY n.nspname, c.relname, a.attnum",
            &[],
        )
        .await
        .map_err(db_error)?;
    let mut out: Vec<TableInfo> = Vec::new();
    for r in rows {
        let (schema, name): (String, String) = (r.get(0), r.get(1));
        if out
            .last()
            .is_none_or(|t| t.schema != schema || t.name != name)
        {
            out.push(TableInfo {
                schema,
                name,
                columns: Vec::new(),
                published: r.get(4),
                rls: r.get(2),
                has_primary_key: r.get(3),
            });
        }
        out.last_mut().expect("pushed").columns.push(ColumnInfo {
            name: r.get(5),
            data_type: r.get(6),
            nullable: r.get(7),
            has_default: r.get(8),
        });
    }
    Ok(out)
}

/// Inserts one row from JSON values; columns left out get their defaults. Postgres converts
/// each value to its column's type (`json_populate_record`), so types are never guessed here.
pub async fn insert_row(
    client: &Client,
    schema: &str,
    table: &str,
    values: &serde_json::Map<String, serde_json::Value>,
) -> Result<StatementResult> {
    let target = format!(
        "{}.{}",
        crate::doctor::ident(schema),
        crate::doctor::ident(table)
    );
    if values.is_empty() {
        let sql = format!("INSERT INTO {target} DEFAULT VALUES RETURNING *");
        return run(client, &sql)
            .await?
            .pop()
            .ok_or_else(|| Error::Database("no result".into()));
    }
    let cols: Vec<String> = values.keys().map(|k| crate::doctor::ident(k)).collect();
    let list = cols.join(", ");
    let sql = format!(
        "WITH row AS (INSERT INTO {target} ({list}) SELECT {list} FROM json_populate_record(NULL::{target}, $1::text::json) RETURNING *) \
         SELECT row_to_json(row)::text FROM row"
    );
    let json = serde_json::Value::Object(values.clone()).to_string();
    let rows = client.query(&sql, &[&json]).await.map_err(db_error)?;
    Ok(StatementResult {
        columns: vec!["row".into()],
        rows: rows
            .iter()
            .map(|r| vec![Some(r.get::<_, String>(0))])
            .collect(),
        count: rows.len() as u64,
    })
}
