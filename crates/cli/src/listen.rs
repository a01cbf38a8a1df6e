//! `supalove listen`: a Realtime subscription in the terminal, one JSON line per event.

use serde_json::{json, Value};
use supalove_core::subscription::{ChangeBinding, SubscribeRequest};

/// The flags of `supalove listen`.
#[derive(clap::Args)]
pub struct ListenOptions {
    /// Schema of the postgres_changes binding
    #[arg(long, default_value = "public")]
    pub schema: String,
    /// Table (default: every published table of the schema)
    #[arg(long)]
    pub table: Option<String>,
    /// `*`, INSERT, UPDATE or DELETE
    #[arg(long, default_value = "*")]
    pub event: String,
    /// Filter such as `id=eq.1`, `age=gte.18`, `status=in.(a,b)`
    #[arg(long)]
    pub filter: Option<String>,
    /// Role of the token: anon, service_role or authenticated
    #[arg(long, default_value = "anon")]
    pub role: String,
    /// Extra JWT claims as a JSON object, e.g. '{"sub":"user-1"}'
    #[arg(long)]
    pub claims: Option<String>,
    /// Channel name
    #[arg(long, default_value = "supalove-listen")]
    pub channel: String,
    /// Also print broadcast messages (and receive our own)
    #[arg(long)]
    pub broadcast: bool,
    /// Track this presence state (JSON) and print presence changes
    #[arg(long)]
    pub presence: Option<String>,
    /// No postgres_changes binding (broadcast/presence only)
    #[arg(long)]
    pub no_changes: bool,
    /// Serializer version: 1.0.0 or 2.0.0 (the official engine is always joined with 1.0.0:
    /// v2.28.32 drops the socket on a vsn 2.0.0 binary broadcast)
    #[arg(long, default_value = "1.0.0")]
    pub vsn: String,
    /// Realtime websocket URL (default: the project's realtime_url)
    #[arg(long)]
    pub url: Option<String>,
    /// Stop after this many postgres_changes/broadcast events
    #[arg(long)]
    pub count: Option<usize>,
}

/// Subscribes and prints until interrupted (or `count` events). A subscription the server
/// refuses (bad filter, missing table or column, unknown role) ends with its reason.
pub async fn run(app: &crate::targets::App, name: &str, o: ListenOptions) -> anyhow::Result<()> {
    let event = o.event.to_uppercase();
    if !["*", "INSERT", "UPDATE", "DELETE"].contains(&event.as_str()) {
        anyhow::bail!(
            "--event {:?} is not one of *, INSERT, UPDATE, DELETE",
            o.event
        );
    }
    let claims = match &o.claims {
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(map)) => Some(map),
            _ => anyhow::bail!("--claims must be a JSON object, e.g. '{{\"sub\":\"user-1\"}}'"),
        },
        None => None,
    };
    let presence: Option<Value> = match &o.presence {
        Some(text) => Some(
            serde_json::from_str(text)
                .map_err(|e| anyhow::anyhow!("--presence is not JSON: {e}"))?,
        ),
        None => None,
    };
    let bindings = if o.no_changes {
        Vec::new()
    } else {
        vec![ChangeBinding {
            event: event.clone(),
            schema: o.schema.clone(),
            table: o.table.clone(),
            filter: o.filter.clone(),
        }]
    };
    let req = SubscribeRequest {
        channel: o.channel.clone(),
        role: o.role.clone(),
        claims,
        vsn: o.vsn.clone(),
        bindings,
        broadcast_self: o.broadcast,
        broadcast_ack: false,
        presence_key: String::new(),
    };
    let mut sub = app.subscribe(name, &req, o.url.clone()).await?;
    if let Some(notice) = &sub.notice {
        eprintln!("note: {notice}");
    }
    eprintln!(
        "joined {} at {} as {}: {}",
        sub.topic, sub.url, o.role, sub.join_reply
    );
    if let Some(state) = presence {
        sub.handle.track(state).await?;
    }
    let mut seen = 0usize;
    let mut reported_drops = 0;
    while let Some(ev) = sub.next().await {
        let mut line = json!({ "received_at_ms": ev.received_at_ms, "event": ev.raw });
        if let Some(latency) = ev.latency_ms {
            line["latency_ms"] = json!((latency * 1000.0).round() / 1000.0);
        }
        if ev.is_data() {
            seen += 1;
        }
        println!("{line}");
        if let Some(reason) = ev.refusal() {
            sub.handle.close();
            return Err(Refused {
                project: name.to_string(),
                reason,
            }
            .into());
        }
        let dropped = sub.dropped();
        if dropped > reported_drops {
            eprintln!(
                "warning: {} event(s) dropped: this terminal reads slower than they arrive",
                dropped - reported_drops
            );
            reported_drops = dropped;
        }
        if o.count.is_some_and(|c| seen >= c) {
            break;
        }
    }
    sub.handle.close();
    Ok(())
}

/// The server refused the subscription: `listen` exits non-zero with the reason and a hint.
#[derive(Debug, thiserror::Error)]
#[error("the server refused the subscription: {reason}")]
pub struct Refused {
    pub project: String,
    pub reason: String,
}

impl Refused {
    /// What to try next.
    pub fn hint(&self) -> String {
        format!(
            "`supalove doctor {}` checks the table, the publication and the policies; `supalove tables {}` lists tables and columns; filters look like `id=eq.1`",
            self.project, self.project
        )
    }
}
