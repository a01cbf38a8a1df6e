//! The Rust Realtime client (crates/client) against a provisioned project: token refresh on a
//! live channel, and reconnect + rejoin when the engine restarts under it.

mod common;

use std::time::Duration;

use common::{docker, World};
use serde_json::Value;
use supalove_client::{ChannelConfig, ClientOptions, Event};
use tokio::sync::mpsc::UnboundedReceiver;

async fn next_change(rx: &mut UnboundedReceiver<Event>, body: &str) -> Value {
    let wait = async {
        while let Some(ev) = rx.recv().await {
            if let Event::PostgresChanges { data, .. } = ev {
                if data["record"]["body"] == body {
                    return data;
                }
            }
        }
        panic!("the event stream ended");
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .unwrap_or_else(|_| panic!("no change with body {body:?} within 20 s"))
}

async fn subscribed(rx: &mut UnboundedReceiver<Event>) {
    let wait = async {
        while let Some(ev) = rx.recv().await {
            if let Event::System { payload, .. } = ev {
                if payload["status"] == "ok" {
                    return;
                }
            }
        }
        panic!("the event stream ended before `Subscribed to PostgreSQL` arrived");
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("Subscribed to PostgreSQL");
}

#[tokio::test(flavor = "multi_thread")]
async fn token_refresh_and_reconnect_keep_a_subscription_alive() {
    let w = World::new(60);
    let name = w.name("client");
    let card = w.json(&["new", &name]);
    w.ok(&["sql", &name, "CREATE TABLE notes (id serial PRIMARY KEY, body text); ALTER PUBLICATION supabase_realtime ADD TABLE notes"]);
    let env = w.env(&name);
    let url = card["realtime_url"].as_str().unwrap().to_string();

    let mut opts = ClientOptions::new(url);
    opts.reply_timeout = Duration::from_secs(10);
    let (client, mut rx) = supalove_client::connect(opts, env["ANON_KEY"].as_str().unwrap())
        .await
        .unwrap();
    let topic = supalove_client::topic("client-test");
    let config = ChannelConfig {
        postgres_changes: vec![supalove_client::postgres_binding(
            "*",
            "public",
            Some("notes"),
            None,
        )],
        ..Default::default()
    };
    let reply = client.join(&topic, &config).await.unwrap();
    assert_eq!(reply["postgres_changes"][0]["table"], "notes");
    subscribed(&mut rx).await;

    w.ok(&[
        "sql",
        &name,
        "INSERT INTO notes (body) VALUES ('before refresh')",
    ]);
    next_change(&mut rx, "before refresh").await;

    // Another token (the service_role key, minted from the project secret) replaces the anon one.
    let fresh = {
        let out = w.cmd(&["env", &name, "--json"]).output().unwrap();
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["SERVICE_ROLE_KEY"].as_str().unwrap().to_string()
    };
    client.set_token(&fresh).unwrap();
    w.ok(&[
        "sql",
        &name,
        "INSERT INTO notes (body) VALUES ('after refresh')",
    ]);
    next_change(&mut rx, "after refresh").await;

    // The engine restarts: the client reconnects and rejoins by itself.
    docker(&["restart", "-t", "2", &format!("project_{name}_realtime")]);
    let wait = async {
        let mut dropped = false;
        while let Some(ev) = rx.recv().await {
            match ev {
                Event::Disconnected { .. } => dropped = true,
                Event::Reconnected if dropped => return,
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .expect("disconnect then reconnect");
    subscribed(&mut rx).await;
    w.ok(&[
        "sql",
        &name,
        "INSERT INTO notes (body) VALUES ('after reconnect')",
    ]);
    next_change(&mut rx, "after reconnect").await;
    client.close();
}
