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
    /// Row conditions (all must hold), with database-canonical values.
    pub filters: Vec<Filter>,
    /// `select`: the columns to send (primary key columns are always sent); `None` = all.
    pub select: Option<Vec<String>>,
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
    /// The channel's join ref as the client sent it (for `system` pushes).
    pub join_ref: Value,
}

/// Claims refreshed before a channel's subscriptions were registered.
type Refreshed = (Arc<str>, String, String);

/// All channels with postgres_changes subscriptions.
#[derive(Debug, Default)]
pub struct Registry {
    inner: RwLock<HashMap<(u64, String), Arc<ChannelSubs>>>,
    /// Token refreshes that raced with subscription validation, applied on insert.
    pending: RwLock<HashMap<(u64, String), Refreshed>>,
}

impl Registry {
    /// Adds or replaces a channel's subscriptions.
    pub fn insert(&self, mut subs: ChannelSubs) {
        let key = (subs.socket_id, subs.topic.clone());
        let refreshed = self
            .pending
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        if let Some((claims, sub, role)) = refreshed {
            (subs.claims, subs.sub, subs.role) = (claims, sub, role);
        }
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        map.insert(key, Arc::new(subs));
    }

    /// Removes a channel's subscriptions.
    pub fn remove(&self, socket_id: u64, topic: &str) {
        let key = (socket_id, topic.to_string());
        self.pending
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        map.remove(&key);
    }

    /// Replaces the claims of a channel after an `access_token` refresh (also when its
    /// subscriptions are still being validated).
    pub fn update_claims(
        &self,
        socket_id: u64,
        topic: &str,
        claims: &Map<String, Value>,
        role: &str,
    ) {
        let key = (socket_id, topic.to_string());
        let text: Arc<str> = Value::Object(claims.clone()).to_string().into();
        let sub = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let mut map = self.inner.write().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(&key) {
            Some(entry) => {
                let mut updated = (**entry).clone();
                (updated.claims, updated.sub, updated.role) = (text, sub, role.to_string());
                *entry = Arc::new(updated);
            }
            None => {
                let mut pending = self.pending.write().unwrap_or_else(|e| e.into_inner());
                pending.insert(key, (text, sub, role.to_string()));
            }
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
            select: None,
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
    fn refresh_before_registration_is_not_lost() {
        let reg = Registry::default();
        let (mailbox, _rx, _) = Mailbox::new(7, supalove_phoenix::Vsn::V1, 16, 1 << 20);
        let claims = json!({"role": "authenticated", "sub": "u1"})
            .as_object()
            .unwrap()
            .clone();
        reg.update_claims(7, "realtime:a", &claims, "authenticated");
        reg.insert(ChannelSubs {
            socket_id: 7,
            topic: "realtime:a".into(),
            mailbox,
            claims: "{\"role\":\"anon\"}".into(),
            sub: String::new(),
            role: "anon".into(),
            bindings: Vec::new(),
            join_ref: Value::Null,
        });
        let got = reg.snapshot();
        assert_eq!(
            (got[0].role.as_str(), got[0].sub.as_str()),
            ("authenticated", "u1")
        );
        reg.remove(7, "realtime:a");
        assert!(reg.is_empty());
    }

    #[test]
    fn wants_matches_event_and_table() {
        let b = Binding {
            id: 1,
            event: "INSERT".into(),
            schema: "public".into(),
            table: None,
            filters: Vec::new(),
            select: None,
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
