//! `supalove listen`: a Realtime subscription in the terminal, one JSON line per event.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use supalove_client::{ChannelConfig, ClientOptions, Event};
use supalove_core::Supalove;
use supalove_docker::LocalDocker;

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
    /// Serializer version: 1.0.0 or 2.0.0
    #[arg(long, default_value = "1.0.0")]
    pub vsn: String,
    /// Realtime websocket URL (default: the project's realtime_url)
    #[arg(long)]
    pub url: Option<String>,
    /// Stop after this many postgres_changes/broadcast events
    #[arg(long)]
    pub count: Option<usize>,
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// Subscribes and prints until interrupted (or `count` events).
pub async fn run(app: &Supalove<LocalDocker>, name: &str, o: ListenOptions) -> anyhow::Result<()> {
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
    let target = app.realtime_target(name).await?;
    let url = o.url.clone().unwrap_or(target.url);
    let token = app.token(name, &o.role, claims).await?;
    let mut options = ClientOptions::new(url.clone());
    options.vsn = supalove_client::parse_vsn(&o.vsn)?;
    options.host = target.host;
    let (client, mut events) = supalove_client::connect(options, &token).await?;
    let topic = supalove_client::topic(&o.channel);
    let mut config = ChannelConfig {
        broadcast_self: o.broadcast,
        ..Default::default()
    };
    if !o.no_changes {
        config
            .postgres_changes
            .push(supalove_client::postgres_binding(
                &event,
                &o.schema,
                o.table.as_deref(),
                o.filter.as_deref(),
            ));
    }
    let reply = client.join(&topic, &config).await?;
    eprintln!("joined {topic} at {url} as {}: {reply}", o.role);
    if let Some(state) = presence {
        client.track(&topic, state).await?;
    }
    let mut seen = 0usize;
    while let Some(ev) = events.recv().await {
        let received = now_ms();
        let mut line = json!({ "received_at_ms": received, "event": ev });
        match &ev {
            Event::PostgresChanges { data, .. } => {
                let ty = data["type"].as_str().unwrap_or_default();
                if event != "*" && ty != event {
                    continue; // like realtime-js, filter the event type on the client
                }
                if let Some(commit) = data["commit_timestamp"]
                    .as_str()
                    .and_then(supalove_client::parse_rfc3339_ms)
                {
                    line["latency_ms"] = json!(((received - commit) * 1000.0).round() / 1000.0);
                }
                seen += 1;
            }
            Event::Broadcast { .. } => seen += 1,
            Event::System { payload, .. } if payload["status"] == "error" => {
                eprintln!("system error: {payload}");
            }
            _ => {}
        }
        println!("{line}");
        if o.count.is_some_and(|c| seen >= c) {
            break;
        }
    }
    client.close();
    Ok(())
}
