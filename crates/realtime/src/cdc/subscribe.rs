//! Validating a channel's postgres_changes bindings and announcing when capture covers them.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use supalove_phoenix::{Frame, PostgresChangeParams, Refs};
use tokio_postgres::Client;

use super::capture::{describe, PUBLICATION};
use super::filter::{self, Condition, Filter, IsWhat, Op, Test};
use super::pattern::Like;
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
    /// The parameters do not parse: the official server's message, sent as is; stop.
    Params(String),
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
    use backon::{ConstantBuilder, Retryable};
    // While the database is unreachable: a try every 500 ms for as long as the join waits.
    let policy = ConstantBuilder::new()
        .with_delay(Duration::from_millis(500))
        .without_max_times();
    (|| attach_once(state, req))
        .retry(policy)
        .when(|f| matches!(f, Failure::Database(_)))
        .await
        .map_err(|f| match f {
            Failure::Invalid(why) | Failure::Params(why) | Failure::Database(why) => why,
        })
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
            Err(Failure::Params(message)) => {
                req.subs.mailbox.send(system(&req, "error", message)).await;
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
        // Parse everything before asking the database, like the official server.
        let conditions = filter::parse(p.filter.as_deref().unwrap_or(""))
            .map_err(|e| Failure::Params(e.to_string()))?;
        let select = parse_select(p.select.as_ref(), table.is_none())?;
        let filters = match (&table, conditions.is_empty()) {
            (_, true) => Vec::new(),
            (None, false) => {
                return Err(Failure::Invalid("a filter needs a specific table".into()));
            }
            (Some(t), false) => {
                let rel = format!("{}.{}", quote_ident(&schema), quote_ident(t));
                let mut out = Vec::with_capacity(conditions.len());
                for c in conditions {
                    out.push(compile(client, c, &rel, &req.subs.role, mode).await?);
                }
                out
            }
        };
        if let (Some(cols), Some(t)) = (&select, &table) {
            let rel = format!("{}.{}", quote_ident(&schema), quote_ident(t));
            for col in cols {
                if column(client, &rel, col, &req.subs.role, mode)
                    .await?
                    .is_none()
                {
                    return Err(Failure::Invalid(format!("invalid column for select {col}")));
                }
            }
        }
        out.push(Binding {
            id: *id,
            event: p.event.clone(),
            schema,
            table,
            filters,
            select,
        });
    }
    Ok(out)
}

/// `select`: a list of column names (other items dropped, empty = all columns); a string is
/// refused, and so is a list on a wildcard subscription (official messages).
fn parse_select(raw: Option<&Value>, wildcard: bool) -> Result<Option<Vec<String>>, Failure> {
    let cols: Vec<String> = match raw {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(_)) => {
            return Err(Failure::Params(
                "Error parsing `select` params: expected a list of column name strings, e.g. \
                 select: [\"col1\", \"col2\"]"
                    .into(),
            ))
        }
        _ => Vec::new(),
    };
    if cols.is_empty() {
        return Ok(None);
    }
    if wildcard {
        return Err(Failure::Params(
            "Column selection is not supported for wildcard subscriptions. Provide an explicit \
             schema and table name."
                .into(),
        ));
    }
    Ok(Some(cols))
}

/// A column's type (`regtype` text), if it exists and (in RLS mode) the role may select it.
async fn column(
    client: &Client,
    rel: &str,
    name: &str,
    role: &str,
    mode: ReplicationMode,
) -> Result<Option<String>, Failure> {
    let row = client
        .query_opt(
            "select a.atttypid::regtype::text, \
             coalesce(has_column_privilege(r.oid, a.attrelid, a.attname::text, 'SELECT'), false) \
             from pg_attribute a left join pg_roles r on r.rolname = $3 \
             where a.attrelid = $1::text::regclass and a.attname = $2 and a.attnum > 0 and not a.attisdropped",
            &[&rel, &name, &role],
        )
        .await
        .map_err(db)?;
    Ok(row
        .filter(|r| mode == ReplicationMode::Stream || r.get::<_, bool>(1))
        .map(|r| r.get(0)))
}

/// Checks one condition against the table as the official trigger
/// (`realtime.subscription_check_filters`) does, and makes it ready to evaluate.
async fn compile(
    client: &Client,
    c: Condition,
    rel: &str,
    role: &str,
    mode: ReplicationMode,
) -> Result<Filter, Failure> {
    let Some(sql_type) = column(client, rel, &c.column, role, mode).await? else {
        return Err(Failure::Invalid(format!(
            "invalid column for filter {}",
            c.column
        )));
    };
    let bad_value = |e: tokio_postgres::Error| match e.as_db_error() {
        Some(_) => Failure::Invalid(format!(
            "invalid filter value `{}` for column {} of type {sql_type}",
            c.value, c.column
        )),
        None => Failure::Database(describe(e)),
    };
    let has_operator = |name: &'static str, both_sides: bool| {
        let sql_type = sql_type.clone();
        async move {
            let q = if both_sides {
                "select exists(select 1 from pg_operator where oprname = $1 \
                 and oprleft = $2::text::regtype and oprright = $2::text::regtype \
                 and oprresult = 'boolean'::regtype)"
            } else {
                "select exists(select 1 from pg_operator where oprname = $1 \
                 and oprleft = $2::text::regtype)"
            };
            let row = client.query_one(q, &[&name, &sql_type]).await.map_err(db)?;
            if row.get::<_, bool>(0) {
                Ok(())
            } else {
                Err(Failure::Invalid(format!(
                    "operator {} requires a text-compatible column type, got {sql_type}",
                    c.op.name()
                )))
            }
        }
    };
    let test = match c.op {
        Op::In => {
            // The database parses the array literal, as `realtime.cast(value, type[])` does.
            let rows = client
                .query(
                    &format!("select format('%s', e) from unnest($1::text::{sql_type}[]) e"),
                    &[&c.value],
                )
                .await
                .map_err(bad_value)?;
            if rows.len() > 100 {
                return Err(Failure::Invalid(
                    "too many values for `in` filter. Maximum 100".into(),
                ));
            }
            let values: Vec<Option<String>> = rows.iter().map(|r| r.get(0)).collect();
            Test::In {
                has_null: values.iter().any(Option::is_none),
                values: values.into_iter().flatten().collect(),
            }
        }
        Op::Is => {
            let what = match c.value.as_str() {
                "null" => IsWhat::Null,
                "unknown" => IsWhat::Null,
                "true" => IsWhat::True,
                "false" => IsWhat::False,
                _ => {
                    return Err(Failure::Invalid(
                        "invalid value for is filter: must be null, true, false, or unknown".into(),
                    ))
                }
            };
            if c.value != "null" && sql_type != "boolean" {
                return Err(Failure::Invalid(format!(
                    "is {} filter requires a boolean column, got {sql_type}",
                    c.value
                )));
            }
            Test::Is(what)
        }
        Op::Like | Op::Ilike => {
            has_operator("~~", false).await?;
            let like = Like::new(&c.value, c.op == Op::Ilike).map_err(|_| {
                Failure::Invalid(format!(
                    "invalid {} pattern `{}`: LIKE pattern must not end with escape character",
                    c.op.name(),
                    c.value
                ))
            })?;
            Test::Like(like)
        }
        Op::Match | Op::Imatch => {
            let name = if c.op == Op::Imatch { "~*" } else { "~" };
            has_operator(name, true).await?;
            if let Err(e) = client.query_one("select '' ~ $1", &[&c.value]).await {
                return Err(match e.as_db_error() {
                    Some(d) => Failure::Invalid(format!(
                        "invalid regular expression for {} filter: {}",
                        c.op.name(),
                        d.message()
                    )),
                    None => Failure::Database(describe(e)),
                });
            }
            // Postgres accepted it; ours must understand it the same way or refuse it.
            let re = regex::RegexBuilder::new(&c.value)
                .case_insensitive(c.op == Op::Imatch)
                .dot_matches_new_line(true)
                .build()
                .map_err(|e| {
                    Failure::Invalid(format!(
                        "regular expression `{}` for {} filter uses syntax this engine does not \
                         support (backreferences, lookaround, \\m \\M \\y and the like): {}",
                        c.value,
                        c.op.name(),
                        e.to_string().lines().last().unwrap_or("")
                    ))
                })?;
            Test::Regex(re)
        }
        Op::Eq | Op::Neq | Op::Lt | Op::Lte | Op::Gt | Op::Gte | Op::IsDistinct => {
            // format('%s') gives the type's output text, the form pgoutput sends (`t`, not
            // `true`, for booleans).
            let row = client
                .query_one(
                    &format!("select format('%s', $1::text::{sql_type})"),
                    &[&c.value],
                )
                .await
                .map_err(bad_value)?;
            Test::Compare(row.get(0))
        }
    };
    Ok(Filter {
        column: c.column,
        op: c.op,
        negate: c.negate,
        test,
    })
}
