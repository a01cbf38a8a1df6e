//! Running SQL in a project's database (`supalove sql`, the app's SQL helper, the doctor).

use std::time::Duration;

use serde::Serialize;
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::card::{DB_NAME, DB_USER};
use crate::error::{Error, Result};

/// The outcome of one statement: rows (as text, like psql) or an affected-row count.
#[derive(Debug, Clone, Serialize)]
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
    let (client, conn) = cfg.connect(tokio_postgres::NoTls).await.map_err(|e| {
        Error::Database(format!(
            "cannot connect to the project's database on 127.0.0.1:{port}: {e} (is the project running?)"
        ))
    })?;
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
            Error::Database(msg)
        }
        None => Error::Database(e.to_string()),
    }
}
