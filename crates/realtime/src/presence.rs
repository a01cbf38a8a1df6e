//! Presence state of one topic (Phoenix.Presence semantics, single node).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

#[derive(Debug, Clone)]
struct Entry {
    socket_id: u64,
    phx_ref: String,
    meta: Map<String, Value>,
}

/// Who is present on a topic, by presence key.
#[derive(Debug, Default)]
pub struct Presence {
    keys: BTreeMap<String, Vec<Entry>>,
    next_ref: u64,
}

/// A presence change: `{joins, leaves}` as sent in `presence_diff`.
pub type Diff = Value;

fn render(e: &Entry, prev: Option<&str>) -> Value {
    let mut m = e.meta.clone();
    m.insert("phx_ref".into(), Value::String(e.phx_ref.clone()));
    if let Some(p) = prev {
        m.insert("phx_ref_prev".into(), Value::String(p.to_string()));
    }
    Value::Object(m)
}

fn one(key: &str, metas: Vec<Value>) -> Value {
    if metas.is_empty() {
        return json!({});
    }
    json!({ key: { "metas": metas } })
}

impl Presence {
    /// The whole state, as sent in `presence_state`.
    pub fn state(&self) -> Value {
        let mut out = Map::new();
        for (k, entries) in &self.keys {
            let metas: Vec<Value> = entries.iter().map(|e| render(e, None)).collect();
            out.insert(k.clone(), json!({ "metas": metas }));
        }
        Value::Object(out)
    }

    fn new_ref(&mut self) -> String {
        self.next_ref += 1;
        format!("{}{:x}", uuid::Uuid::new_v4().simple(), self.next_ref)
    }

    /// Tracks (or updates) `socket_id` under `key`; returns the diff to broadcast.
    pub fn track(&mut self, key: &str, socket_id: u64, meta: Map<String, Value>) -> Diff {
        let phx_ref = self.new_ref();
        let entries = self.keys.entry(key.to_string()).or_default();
        let entry = Entry {
            socket_id,
            phx_ref,
            meta,
        };
        if let Some(pos) = entries.iter().position(|e| e.socket_id == socket_id) {
            let old = std::mem::replace(&mut entries[pos], entry.clone());
            json!({
                "joins": one(key, vec![render(&entry, Some(&old.phx_ref))]),
                "leaves": one(key, vec![render(&old, None)]),
            })
        } else {
            entries.push(entry.clone());
            json!({ "joins": one(key, vec![render(&entry, None)]), "leaves": {} })
        }
    }

    /// Untracks `socket_id` under `key`; `None` if it was not tracked.
    pub fn untrack(&mut self, key: &str, socket_id: u64) -> Option<Diff> {
        let entries = self.keys.get_mut(key)?;
        let pos = entries.iter().position(|e| e.socket_id == socket_id)?;
        let old = entries.remove(pos);
        if entries.is_empty() {
            self.keys.remove(key);
        }
        Some(json!({ "joins": {}, "leaves": one(key, vec![render(&old, None)]) }))
    }

    /// Whether nobody is present.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn track_update_untrack() {
        let mut p = Presence::default();
        let mut meta = Map::new();
        meta.insert("user".into(), json!("ana"));
        let d = p.track("k1", 1, meta.clone());
        assert_eq!(d["joins"]["k1"]["metas"][0]["user"], json!("ana"));
        assert_eq!(d["leaves"], json!({}));
        let first_ref = d["joins"]["k1"]["metas"][0]["phx_ref"]
            .as_str()
            .unwrap()
            .to_string();
        let d2 = p.track("k1", 1, meta);
        assert_eq!(
            d2["joins"]["k1"]["metas"][0]["phx_ref_prev"],
            json!(first_ref)
        );
        assert_eq!(d2["leaves"]["k1"]["metas"][0]["phx_ref"], json!(first_ref));
        p.track("k1", 2, Map::new());
        assert_eq!(p.state()["k1"]["metas"].as_array().unwrap().len(), 2);
        assert!(p.untrack("k1", 1).is_some());
        assert!(p.untrack("k1", 1).is_none());
        assert!(p.untrack("k1", 2).is_some());
        assert!(p.is_empty());
        assert_eq!(p.state(), json!({}));
    }
}
