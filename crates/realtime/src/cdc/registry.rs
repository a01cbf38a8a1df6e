//! Live postgres_changes subscriptions, one entry per joined channel.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value};
use supalove_phoenix::PostgresChangeParams;

use super::filter::Filter;
use crate::outbound::Mailbox;

/// One validated binding of a channel.
#[derive(Debug, Clone)]
pub struct Binding {
    /// Id echoed in the join reply and in each event's `ids`.
    pub id: u32,
    /// `*`, `INSERT`, `UPDATE` or `DELETE`.
    pub event: String,
    /// Schema name.
    pub schema: String,
    /// Table name, `None` for every published table of the schema.
    pub table: Option<String>,
    /// Row filter with database-canonical values.
    pub filter: Option<Filter>,
}

impl Binding {
    /// Whether this binding wants changes of `kind` on `schema.table`.
    pub fn wants(&self, schema: &str, table: &str, kind: &str) -> bool {
        self.schema == schema
            && self.table.as_deref().is_none_or(|t| t == table)
            && (self.event == "*" || self.event.eq_ignore_ascii_case(kind))
    }
}

/// The subscriptions of one joined channel.
#[derive(Debug, Clone)]
pub struct ChannelSubs {
    /// Socket owning the channel.
    pub socket_id: u64,
    /// Full topic (`realtime:<name>`).
    pub topic: String,
    /// Where events go.
    pub mailbox: Mailbox,
    /// JWT claims as JSON text, for `request.jwt.claims`.
    pub claims: Arc<str>,
    /// `sub` claim, for `request.jwt.claim.sub`.
    pub sub: String,
    /// Postgres role from the JWT.
    pub role: String,
    /// Validated bindings in client order.
    pub bindings: Vec<Binding>,
}

/// All channels with postgres_changes subscriptions.
#[derive(Debug, Default)]
pub struct Registry {
    inner: RwLock<HashMap<(u64, String), Arc<ChannelSubs>>>,
}

impl Registry {
    /// Adds or replaces a channel's subscriptions.
    pub fn insert(&self, subs: ChannelSubs) {
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        map.insert((subs.socket_id, subs.topic.clone()), Arc::new(subs));
    }

    /// Removes a channel's subscriptions.
    pub fn remove(&self, socket_id: u64, topic: &str) {
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        map.remove(&(socket_id, topic.to_string()));
    }

    /// Replaces the claims of a channel after an `access_token` refresh.
    pub fn update_claims(
        &self,
        socket_id: u64,
        topic: &str,
        claims: &Map<String, Value>,
        role: &str,
    ) {
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = map.get_mut(&(socket_id, topic.to_string())) {
            let mut updated = (**entry).clone();
            updated.claims = Value::Object(claims.clone()).to_string().into();
            updated.sub = claims
                .get("sub")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            updated.role = role.to_string();
            *entry = Arc::new(updated);
        }
    }

    /// A snapshot of every channel, for dispatching one change.
    pub fn snapshot(&self) -> Vec<Arc<ChannelSubs>> {
        let map = self.inner.read().unwrap_or_else(|e| e.into_inner());
        map.values().cloned().collect()
    }

    /// Whether nobody listens to postgres changes.
    pub fn is_empty(&self) -> bool {
        self.inner
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }
}

/// The id of a binding: a stable hash of its parameters (like the official `phash2`).
pub fn binding_id(params: &PostgresChangeParams) -> u32 {
    let text = Value::Object(params.raw.clone()).to_string();
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h & 0x07ff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> PostgresChangeParams {
        let raw = v.as_object().unwrap().clone();
        PostgresChangeParams {
            event: raw["event"].as_str().unwrap().into(),
            schema: None,
            table: None,
            filter: None,
            raw,
        }
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        let a = binding_id(&params(json!({"event":"*","schema":"public","table":"a"})));
        let b = binding_id(&params(json!({"table":"a","schema":"public","event":"*"})));
        let c = binding_id(&params(
            json!({"event":"INSERT","schema":"public","table":"a"}),
        ));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn wants_matches_event_and_table() {
        let b = Binding {
            id: 1,
            event: "INSERT".into(),
            schema: "public".into(),
            table: None,
            filter: None,
        };
        assert!(b.wants("public", "x", "INSERT"));
        assert!(!b.wants("public", "x", "DELETE"));
        assert!(!b.wants("other", "x", "INSERT"));
        let b = Binding {
            event: "*".into(),
            table: Some("t".into()),
            ..b
        };
        assert!(b.wants("public", "t", "DELETE"));
        assert!(!b.wants("public", "u", "DELETE"));
    }
}
