//! Validating a channel's postgres_changes bindings and announcing when capture covers them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use supalove_phoenix::{Frame, PostgresChangeParams, Refs};
use tokio_postgres::Client;

use super::capture::{describe, PUBLICATION};
use super::filter::Filter;
use super::registry::{Binding, ChannelSubs};
use super::relations::quote_ident;
use crate::config::ReplicationMode;
use crate::outbound::{Out, SharedFrame};
use crate::state::State;

/// Why a binding cannot be subscribed.
#[derive(Debug)]
enum Failure {
    /// The client's parameters are wrong: tell it and stop.
    Invalid(String),
    /// The database is unreachable: tell it and retry.
    Database(String),
}

fn db(e: tokio_postgres::Error) -> Failure {
    if e.as_db_error().is_some() {
        Failure::Invalid(describe(e))
    } else {
        Failure::Database(describe(e))
    }
}

/// Everything needed to subscribe one joined channel.
#[derive(Debug, Clone)]
pub struct Request {
    /// The channel's subscriptions, with bindings still empty.
    pub subs: ChannelSubs,
    /// The bindings as the client sent them, with their ids.
    pub params: Vec<(u32, PostgresChangeParams)>,
    /// Channel name without the `realtime:` prefix.
    pub channel: String,
    /// Join ref to stamp on system pushes, as the client sent it.
    pub join_ref: Value,
}

/// A channel push `[join_ref, null, topic, "system", …]`.
fn system(req: &Request, status: &str, message: String) -> Out {
    let frame = Frame::push(
        req.subs.topic.clone(),
        "system",
        json!({ "extension": "postgres_changes", "status": status, "message": message, "channel": req.channel }),
    );
    let refs = Refs {
        join_ref: req.join_ref.clone(),
        msg_ref: Value::Null,
    };
    Out::Text(SharedFrame::with_refs(frame, refs))
}

/// Waits for live capture, validates once and registers the bindings.
async fn attach_once(state: &Arc<State>, req: &Request) -> Result<(), Failure> {
    let mut capture = state.capture.clone();
    if capture.wait_for(|s| s.live).await.is_err() {
        return Err(Failure::Database("change capture stopped".into()));
    }
    let client = state.db.read().unwrap_or_else(|e| e.into_inner()).clone();
    let Some(client) = client else {
        return Err(Failure::Database("database not connected".into()));
    };
    let bindings = validate(&client, req, state.config.mode).await?;
    let mut subs = req.subs.clone();
    subs.bindings = bindings;
    state.subs.insert(subs);
    Ok(())
}

/// Attaches the bindings, retrying while the database is unreachable; `Err` carries why the
/// client's parameters cannot work. Used when the client asked the join to wait.
pub async fn attach(state: &Arc<State>, req: &Request) -> Result<(), String> {
    loop {
        match attach_once(state, req).await {
            Ok(()) => return Ok(()),
            Err(Failure::Invalid(why)) => return Err(why),
            Err(Failure::Database(_)) => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    }
}

/// The `system` message a channel gets once its bindings are attached.
pub fn subscribed_message(req: &Request) -> Out {
    system(req, "ok", "Subscribed to PostgreSQL".into())
}

/// Attaches in the background, then sends the `system` message (ok, or error and retry).
pub async fn run(state: Arc<State>, req: Request) {
    let mut capture = state.capture.clone();
    loop {
        // While capture is down, say so every few seconds instead of waiting in silence.
        let live = tokio::time::timeout(Duration::from_secs(5), capture.wait_for(|s| s.live))
            .await
            .map(|r| r.is_ok());
        if live.is_err() {
            let why = state.capture.borrow().last_error.clone();
            let why = why.unwrap_or_else(|| "database unavailable".into());
            let msg = system(
                &req,
                "error",
                format!("Subscribing to PostgreSQL failed: {why}; retrying"),
            );
            if !req.subs.mailbox.send(msg).await {
                return;
            }
            continue;
        }
        match attach_once(&state, &req).await {
            Ok(()) => {
                req.subs.mailbox.send(subscribed_message(&req)).await;
                return;
            }
            Err(Failure::Invalid(why)) => {
                let msg = system(
                    &req,
                    "error",
                    format!("Subscribing to PostgreSQL failed: {why}"),
                );
                req.subs.mailbox.send(msg).await;
                return;
            }
            Err(Failure::Database(why)) => {
                let msg = system(
                    &req,
                    "error",
                    format!("Subscribing to PostgreSQL failed: {why}"),
                );
                if !req.subs.mailbox.send(msg).await {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
        }
    }
}

async fn validate(
    client: &Client,
    req: &Request,
    mode: ReplicationMode,
) -> Result<Vec<Binding>, Failure> {
    let published: Vec<(String, String)> = client
        .query(
            "select schemaname::text, tablename::text from pg_publication_tables where pubname = $1",
            &[&PUBLICATION],
        )
        .await
        .map_err(db)?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    if mode == ReplicationMode::Rls {
        // Like the official `claims_role regrole` column: the JWT role must exist.
        let role = &req.subs.role;
        let exists = client
            .query_opt("select 1 from pg_roles where rolname = $1", &[role])
            .await
            .map_err(db)?
            .is_some();
        if !exists {
            return Err(Failure::Invalid(format!("role \"{role}\" does not exist")));
        }
    }
    let mut out = Vec::with_capacity(req.params.len());
    for (id, p) in &req.params {
        let schema = p
            .schema
            .clone()
            .filter(|s| !s.is_empty() && s != "*")
            .unwrap_or_else(|| "public".into());
        let table = p.table.clone().filter(|t| !t.is_empty() && t != "*");
        let covered = published
            .iter()
            .any(|(s, t)| *s == schema && table.as_ref().is_none_or(|want| want == t));
        if !covered {
            return Err(Failure::Invalid(format!(
                "Subscription insert failed with 0 rows. Check that tables are part of publication \
                 {PUBLICATION} and subscription params are correct: {}",
                Value::Object(p.raw.clone())
            )));
        }
        let filter = match (&p.filter, &table) {
            (None, _) => None,
            (Some(f), _) if f.is_empty() => None,
            (Some(_), None) => {
                return Err(Failure::Invalid("a filter needs a specific table".into()));
            }
            (Some(raw), Some(t)) => {
                Some(canonical_filter(client, raw, &schema, t, &req.subs.role, mode).await?)
            }
        };
        out.push(Binding {
            id: *id,
            event: p.event.clone(),
            schema,
            table,
            filter,
        });
    }
    Ok(out)
}

async fn canonical_filter(
    client: &Client,
    raw: &str,
    schema: &str,
    table: &str,
    role: &str,
    mode: ReplicationMode,
) -> Result<Filter, Failure> {
    let mut filter = Filter::parse(raw).map_err(|e| Failure::Invalid(e.to_string()))?;
    let rel = format!("{}.{}", quote_ident(schema), quote_ident(table));
    let row = client
        .query_opt(
            "select format_type(a.atttypid, a.atttypmod), \
             coalesce(has_column_privilege(r.oid, a.attrelid, a.attname::text, 'SELECT'), false) \
             from pg_attribute a left join pg_roles r on r.rolname = $3 \
             where a.attrelid = $1::text::regclass and a.attname = $2 and a.attnum > 0 and not a.attisdropped",
            &[&rel, &filter.column, &role],
        )
        .await
        .map_err(db)?;
    let Some(row) = row else {
        return Err(Failure::Invalid(format!(
            "invalid column for filter {}",
            filter.column
        )));
    };
    let (sql_type, selectable): (String, bool) = (row.get(0), row.get(1));
    if mode == ReplicationMode::Rls && !selectable {
        return Err(Failure::Invalid(format!(
            "invalid column for filter {}",
            filter.column
        )));
    }
    let cast = format!("select $1::text::{sql_type}::text");
    let mut canonical = Vec::with_capacity(filter.values.len());
    for v in &filter.values {
        let row = client
            .query_one(&cast, &[v])
            .await
            .map_err(|e| match e.as_db_error() {
                Some(_) => Failure::Invalid(format!(
                    "invalid filter value `{v}` for column {} of type {sql_type}",
                    filter.column
                )),
                None => Failure::Database(describe(e)),
            })?;
        canonical.push(row.get::<_, String>(0));
    }
    filter.values = canonical;
    Ok(filter)
}
