//! Turns decoded pgoutput changes into `postgres_changes` pushes for matching channels.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use supalove_phoenix::Frame;
use tokio_postgres::Client;

use super::filter::Filter;
use super::pgoutput::{format_commit_ts, Message, TupleValue};
use super::registry::{ChannelSubs, Registry};
use super::relations::{self, Check, Privileges, RelInfo};
use super::values::to_json;
use crate::config::ReplicationMode;
use crate::outbound::{Out, SharedFrame};

/// How long capture waits for a subscriber with a full queue before dropping its messages.
pub const SLOW_CLIENT_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Records above this many bytes are sent with only their small values (`Error 413`).
pub const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// A row change ready to be matched, with tuples aligned to the relation's columns.
#[derive(Debug)]
pub struct Change {
    /// Table.
    pub rel: Arc<RelInfo>,
    /// INSERT, UPDATE or DELETE.
    pub kind: &'static str,
    /// New row (INSERT/UPDATE); unchanged TOAST values filled from the old row when known.
    pub new: Option<Vec<TupleValue>>,
    /// Old row values; `None` entries are columns the WAL did not carry.
    pub old: Option<Vec<Option<TupleValue>>>,
    /// Commit timestamp, formatted.
    pub commit_ts: String,
}

/// Per-capture-connection dispatcher state.
#[derive(Debug)]
pub struct Dispatcher {
    mode: ReplicationMode,
    rels: HashMap<u32, Arc<RelInfo>>,
    privileges: Privileges,
    commit_ts: i64,
}

impl Dispatcher {
    /// A dispatcher for `mode`; create a new one after each reconnect.
    pub fn new(mode: ReplicationMode) -> Dispatcher {
        Dispatcher {
            mode,
            rels: HashMap::new(),
            privileges: Privileges::default(),
            commit_ts: 0,
        }
    }

    /// Handles one pgoutput message; returns how many pushes were queued.
    pub async fn handle(
        &mut self,
        client: &mut Client,
        msg: Message,
        registry: &Registry,
    ) -> Result<usize, tokio_postgres::Error> {
        let change = match msg {
            Message::Begin { commit_ts, .. } => {
                self.commit_ts = commit_ts;
                return Ok(0);
            }
            Message::Relation(r) => {
                let info = relations::load(client, &r).await?;
                self.rels.insert(r.id, Arc::new(info));
                return Ok(0);
            }
            Message::Insert { rel, new } => self.change(rel, "INSERT", Some(new), None),
            Message::Update { rel, old, new } => self.change(rel, "UPDATE", Some(new), old),
            Message::Delete { rel, old } => self.change(rel, "DELETE", None, Some(old)),
            Message::Commit { .. } | Message::Ignored(_) => return Ok(0),
        };
        let Some(change) = change else { return Ok(0) };
        self.dispatch(client, &change, registry).await
    }

    fn change(
        &self,
        rel: u32,
        kind: &'static str,
        new: Option<Vec<TupleValue>>,
        old_tuple: Option<Vec<TupleValue>>,
    ) -> Option<Change> {
        let Some(info) = self.rels.get(&rel).cloned() else {
            tracing::warn!(rel, "change for a relation never described; skipped");
            return None;
        };
        // Old tuples hold the replica identity (key columns) unless REPLICA IDENTITY FULL.
        let mut old: Option<Vec<Option<TupleValue>>> = old_tuple.map(|t| {
            t.into_iter()
                .zip(&info.columns)
                .map(|(v, c)| (info.replica_full || c.is_key).then_some(v))
                .collect()
        });
        let mut new = new;
        if let (Some(n), Some(o)) = (new.as_mut(), old.as_ref()) {
            for (nv, ov) in n.iter_mut().zip(o) {
                if let (TupleValue::Unchanged, Some(v)) = (&nv, ov) {
                    *nv = v.clone();
                }
            }
        }
        if kind == "UPDATE" && old.is_none() {
            // Like wal2json's identity: the key taken from the new row when it did not change.
            old = new.as_ref().map(|n| {
                n.iter()
                    .zip(&info.columns)
                    .map(|(v, c)| (c.is_pk || c.is_key).then(|| v.clone()))
                    .collect()
            });
        }
        Some(Change {
            rel: info,
            kind,
            new,
            old,
            commit_ts: format_commit_ts(self.commit_ts),
        })
    }

    async fn dispatch(
        &mut self,
        client: &mut Client,
        change: &Change,
        registry: &Registry,
    ) -> Result<usize, tokio_postgres::Error> {
        let rel = &change.rel;
        // Pass 1: who matches, with which columns, and which RLS questions must be asked.
        let mut plan = Vec::new();
        let mut checks: Vec<Check> = Vec::new();
        for ch in registry.snapshot() {
            let groups = matching_groups(&ch, change);
            if groups.is_empty() {
                continue;
            }
            let (allowed, errors) = match self.mode {
                ReplicationMode::Stream => (Arc::new(vec![true; rel.columns.len()]), Vec::new()),
                ReplicationMode::Rls => {
                    let allowed = self.privileges.columns(client, &ch.role, rel).await;
                    let errors = access_errors(rel, change.kind, &allowed);
                    (allowed, errors)
                }
            };
            // Roles that bypass RLS see every committed change exactly: no re-read that a later
            // DELETE in the stream could turn into "not visible".
            let needs_check = self.mode == ReplicationMode::Rls
                && rel.rls_enabled
                && change.kind != "DELETE"
                && errors.is_empty()
                && !self.privileges.bypasses_rls(client, &ch.role).await;
            let check = needs_check.then(|| Check {
                role: ch.role.clone(),
                claims: ch.claims.clone(),
                sub: ch.sub.clone(),
            });
            if let Some(c) = &check {
                if !checks.contains(c) {
                    checks.push(c.clone());
                }
            }
            // One push per distinct `select` of the channel's matching bindings, as the
            // official `apply_rls` fans out per selected_columns.
            for (select, ids) in groups {
                let shown = match &select {
                    None => allowed.clone(),
                    Some(cols) => Arc::new(
                        rel.columns
                            .iter()
                            .zip(allowed.iter())
                            .map(|(c, a)| *a && (c.is_pk || cols.contains(&c.name)))
                            .collect(),
                    ),
                };
                plan.push((
                    ch.clone(),
                    ids,
                    select,
                    shown,
                    errors.clone(),
                    check.clone(),
                ));
            }
        }
        // Pass 2: one round trip answers every RLS question for this row.
        let verdicts: HashMap<Check, bool> = if checks.is_empty() {
            HashMap::new()
        } else {
            let new = change.new.as_deref().unwrap_or(&[]);
            let answers = relations::visible_batch(client, rel, new, &checks).await;
            checks.into_iter().zip(answers).collect()
        };
        // Pass 3: build each distinct payload once and fan it out.
        type Key = (String, Vec<u32>, Option<Vec<String>>, String);
        let mut frames: HashMap<Key, Arc<SharedFrame>> = HashMap::new();
        let mut sent = 0;
        for (ch, ids, select, allowed, errors, check) in plan {
            if let Some(c) = check {
                if !verdicts.get(&c).copied().unwrap_or(false) {
                    continue;
                }
            }
            let role_key = match self.mode {
                ReplicationMode::Stream => String::new(),
                ReplicationMode::Rls => ch.role.clone(),
            };
            let frame = frames
                .entry((ch.topic.clone(), ids.clone(), select, role_key))
                .or_insert_with(|| {
                    let payload = build_payload(change, &ids, &allowed, errors, self.mode);
                    SharedFrame::new(Frame::push(ch.topic.clone(), "postgres_changes", payload))
                })
                .clone();
            if ch
                .mailbox
                .offer_patient(&ch.topic, Out::Text(frame), SLOW_CLIENT_GRACE)
                .await
            {
                sent += 1;
            }
        }
        Ok(sent)
    }
}

/// The ids of the channel's bindings that want this change, grouped by their `select`.
fn matching_groups(ch: &ChannelSubs, change: &Change) -> Vec<(Option<Vec<String>>, Vec<u32>)> {
    let rel = &change.rel;
    let mut groups: Vec<(Option<Vec<String>>, Vec<u32>)> = Vec::new();
    for b in &ch.bindings {
        if !b.wants(&rel.schema, &rel.name, change.kind)
            || !b.filters.iter().all(|f| passes(f, change))
        {
            continue;
        }
        match groups.iter_mut().find(|(s, _)| *s == b.select) {
            Some((_, ids)) => ids.push(b.id),
            None => groups.push((b.select.clone(), vec![b.id])),
        }
    }
    groups
}

/// Whether one condition holds for the change's row (the old row for a DELETE).
fn passes(f: &Filter, change: &Change) -> bool {
    let rel = &change.rel;
    let Some(idx) = rel.column_index(&f.column) else {
        return false;
    };
    let typname = &rel.columns[idx].typname;
    let value = match (change.kind, &change.new, &change.old) {
        ("DELETE", _, Some(old)) => match &old[idx] {
            // A column the old row does not carry (no REPLICA IDENTITY FULL) fails the
            // condition, as the official `is_visible_through_filters` fails closed
            // (R:lib/realtime/tenants/repo/migrations/20260626120000_readd_postgrest_filter_ops.ex:159-184,
            // 20260709120000_fix_apply_rls_filter_role_leak.ex:210-217).
            None | Some(TupleValue::Unchanged) => return false,
            Some(v) => v.clone(),
        },
        (_, Some(new), _) => new[idx].clone(),
        _ => return false,
    };
    match value {
        TupleValue::Text(t) => f.matches(Some(&t), typname),
        _ => f.matches(None, typname),
    }
}

fn access_errors(rel: &RelInfo, kind: &str, allowed: &[bool]) -> Vec<String> {
    if !rel.has_pk() {
        if kind != "DELETE" {
            return vec!["Error 400: Bad Request, no primary key".into()];
        }
        return Vec::new();
    }
    let pk_selectable = rel.columns.iter().zip(allowed).any(|(c, a)| c.is_pk && *a);
    if pk_selectable {
        Vec::new()
    } else {
        vec!["Error 401: Unauthorized".into()]
    }
}

fn record(
    rel: &RelInfo,
    values: impl Iterator<Item = Option<TupleValue>>,
    allowed: &[bool],
    only_pk: bool,
) -> Map<String, Value> {
    let mut out = Map::new();
    for ((col, v), ok) in rel.columns.iter().zip(values).zip(allowed) {
        if !ok || (only_pk && !col.is_pk) {
            continue;
        }
        match v {
            Some(TupleValue::Text(t)) => {
                out.insert(col.name.clone(), to_json(&col.typname, &t));
            }
            Some(TupleValue::Null) => {
                out.insert(col.name.clone(), Value::Null);
            }
            Some(TupleValue::Unchanged) | None => {}
        }
    }
    out
}

fn shrink(map: &mut Map<String, Value>) -> bool {
    if Value::Object(map.clone()).to_string().len() <= MAX_RECORD_BYTES {
        return false;
    }
    map.retain(|_, v| v.to_string().len() <= 64);
    true
}

/// Builds the `{ids, data}` payload for one role's view of a change.
pub fn build_payload(
    change: &Change,
    ids: &[u32],
    allowed: &[bool],
    mut errors: Vec<String>,
    mode: ReplicationMode,
) -> Value {
    let rel = &change.rel;
    let columns: Vec<Value> = rel
        .columns
        .iter()
        .zip(allowed)
        .filter(|(_, a)| **a)
        .map(|(c, _)| json!({ "name": c.name, "type": c.typname }))
        .collect();
    let mut data = json!({
        "schema": rel.schema,
        "table": rel.name,
        "type": change.kind,
        "commit_timestamp": change.commit_ts,
        "columns": columns,
    });
    let mut too_large = false;
    if let Some(new) = &change.new {
        let mut rec = record(rel, new.iter().cloned().map(Some), allowed, false);
        too_large |= shrink(&mut rec);
        data["record"] = Value::Object(rec);
    }
    if let Some(old) = &change.old {
        // With RLS on, a DELETE reveals only the primary key.
        let only_pk = mode == ReplicationMode::Rls && change.kind == "DELETE" && rel.rls_enabled;
        let mut rec = record(rel, old.iter().cloned(), allowed, only_pk);
        too_large |= shrink(&mut rec);
        data["old_record"] = Value::Object(rec);
    }
    if too_large {
        errors.push("Error 413: Payload Too Large".into());
    }
    data["errors"] = if errors.is_empty() {
        Value::Null
    } else {
        json!(errors)
    };
    json!({ "ids": ids, "data": data })
}
