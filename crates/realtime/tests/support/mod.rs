//! Shared integration-test plumbing: a real Postgres, a real engine, a real websocket client.
#![allow(dead_code)]

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use supalove_phoenix::binary::decode_user_broadcast;
use supalove_phoenix::serializer::{decode_text, encode_text};
use supalove_phoenix::{Frame, UserBroadcast, Vsn};
use supalove_realtime::jwt::{now_secs, sign_hs256};
use supalove_realtime::testkit::{PgCluster, SUPABASE_BOOTSTRAP_SQL};
use supalove_realtime::{Config, Engine, ReplicationMode};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Shared secret of every test engine.
pub const SECRET: &str = "test-secret-with-at-least-32-characters-long";
/// Guards against a hung test; not a performance assertion.
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// Tables the tests use: `todos` (plain, anon lacks column `secret`) and `notes` (RLS).
pub const SCHEMA_SQL: &str = "
create table todos (id bigserial primary key, task text, done bool default false, n int, secret text, tags text[], meta jsonb);
revoke select on todos from anon;
grant select (id, task, done, n, tags, meta) on todos to anon;
create table notes (id int primary key, body text, public bool not null default false);
alter table notes enable row level security;
create policy anon_public on notes for select to anon using (public);
create policy authenticated_all on notes for select to authenticated using (true);
create table nopk (v text);
alter publication supabase_realtime add table todos, notes, nopk;
";

/// A token for `role`, valid for an hour unless `exp` is given.
pub fn token(role: &str) -> String {
    sign_hs256(
        &json!({"role": role, "exp": now_secs() + 3600, "sub": format!("user-{role}")}),
        SECRET.as_bytes(),
    )
}

/// An expired token.
pub fn expired_token(role: &str) -> String {
    sign_hs256(
        &json!({"role": role, "exp": now_secs() - 10}),
        SECRET.as_bytes(),
    )
}

/// A cluster bootstrapped like a Supabase database, with the test tables.
pub async fn cluster() -> PgCluster {
    let pg = PgCluster::start().await.expect("start postgres");
    let c = pg.client().await.expect("connect");
    c.batch_execute(SUPABASE_BOOTSTRAP_SQL)
        .await
        .expect("bootstrap");
    c.batch_execute(SCHEMA_SQL).await.expect("schema");
    pg
}

/// Starts an engine with `config` on a free port.
pub async fn engine(config: Config) -> Engine {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    Engine::start(config, listener).unwrap()
}

/// Cluster plus engine in `mode`.
pub async fn setup(mode: ReplicationMode) -> (PgCluster, Engine) {
    let pg = cluster().await;
    let e = engine(pg.engine_config(SECRET, mode)).await;
    (pg, e)
}

/// What the server sent.
#[derive(Debug, Clone)]
pub enum Incoming {
    /// A text frame.
    Text(Frame),
    /// A binary user broadcast.
    Binary(UserBroadcast),
}

/// A websocket client speaking one serializer version.
pub struct Client {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub vsn: Vsn,
    next_ref: u64,
}

/// Opens a websocket; `Err(status)` if the upgrade was refused.
pub async fn connect_raw(
    addr: std::net::SocketAddr,
    path: &str,
    query: &str,
) -> Result<Client, u16> {
    let vsn = if query.contains("vsn=2.0.0") {
        Vsn::V2
    } else {
        Vsn::V1
    };
    let url = format!("ws://{addr}{path}?{query}");
    match tokio_tungstenite::connect_async(url).await {
        Ok((ws, _)) => Ok(Client {
            ws,
            vsn,
            next_ref: 0,
        }),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("websocket connect failed: {e}"),
    }
}

/// Connects with `token` and `vsn`.
pub async fn connect(e: &Engine, token: &str, vsn: Vsn) -> Client {
    connect_raw(
        e.addr,
        "/socket/websocket",
        &format!("apikey={token}&vsn={}", vsn.as_str()),
    )
    .await
    .expect("upgrade accepted")
}

impl Client {
    /// Sends a frame; returns its ref.
    pub async fn push(
        &mut self,
        topic: &str,
        event: &str,
        payload: Value,
        join_ref: Option<&str>,
    ) -> String {
        self.next_ref += 1;
        let r = self.next_ref.to_string();
        let f = Frame {
            join_ref: join_ref.map(str::to_owned),
            msg_ref: Some(r.clone()),
            topic: topic.into(),
            event: event.into(),
            payload,
        };
        self.send_raw(Message::Text(encode_text(self.vsn, &f).into()))
            .await;
        r
    }

    /// Sends a raw text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.send_raw(Message::Text(text.to_string().into())).await;
    }

    /// Next text frame as raw JSON (refs keep their types), skipping binary frames.
    pub async fn next_json(&mut self) -> Value {
        tokio::time::timeout(HANG_GUARD, async {
            loop {
                match self.ws.next().await {
                    Some(Ok(Message::Text(t))) => {
                        return serde_json::from_str(t.as_str()).expect("server sends JSON")
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => {
                        panic!("socket closed while waiting for a frame")
                    }
                    Some(Ok(_)) => continue,
                }
            }
        })
        .await
        .expect("hang guard: no frame")
    }

    /// Skips raw frames until one satisfies `pred`.
    pub async fn expect_json(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        loop {
            let v = self.next_json().await;
            if pred(&v) {
                return v;
            }
        }
    }

    /// Sends any websocket message.
    pub async fn send_raw(&mut self, m: Message) {
        self.ws.send(m).await.expect("send");
    }

    /// Next frame, or `None` when the server closed the socket.
    pub async fn next(&mut self) -> Option<Incoming> {
        tokio::time::timeout(HANG_GUARD, self.next_unguarded())
            .await
            .expect("hang guard: no frame")
    }

    /// Next frame without the hang guard (for long-lived readers in the bench).
    pub async fn next_unguarded(&mut self) -> Option<Incoming> {
        loop {
            let m = self.ws.next().await?;
            match m {
                Ok(Message::Text(t)) => {
                    return Some(Incoming::Text(
                        decode_text(self.vsn, t.as_str()).expect("server frame decodes"),
                    ))
                }
                Ok(Message::Binary(b)) => {
                    return Some(Incoming::Binary(
                        decode_user_broadcast(&b).expect("server binary decodes"),
                    ))
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Skips frames until one on `topic` with `event`.
    pub async fn expect(&mut self, topic: &str, event: &str) -> Frame {
        loop {
            match self.next().await {
                Some(Incoming::Text(f)) if f.topic == topic && f.event == event => return f,
                Some(_) => continue,
                None => panic!("socket closed while waiting for {event} on {topic}"),
            }
        }
    }

    /// Skips frames until the reply to `r`.
    pub async fn reply(&mut self, r: &str) -> Frame {
        loop {
            match self.next().await {
                Some(Incoming::Text(f))
                    if f.event == "phx_reply" && f.msg_ref.as_deref() == Some(r) =>
                {
                    return f
                }
                Some(_) => continue,
                None => panic!("socket closed while waiting for reply {r}"),
            }
        }
    }

    /// Joins `topic` with `config`; returns the join reply's response.
    pub async fn join(&mut self, topic: &str, config: Value) -> Value {
        let r = self
            .push(topic, "phx_join", json!({ "config": config }), Some("j1"))
            .await;
        let reply = self.reply(&r).await;
        assert_eq!(
            reply.payload["status"], "ok",
            "join refused: {}",
            reply.payload
        );
        reply.payload["response"].clone()
    }

    /// Joins with postgres_changes and waits for "Subscribed to PostgreSQL"; returns the ids.
    pub async fn subscribe(&mut self, topic: &str, changes: Value) -> Vec<u64> {
        let resp = self
            .join(topic, json!({ "postgres_changes": changes }))
            .await;
        let sys = self.expect(topic, "system").await;
        assert_eq!(
            sys.payload["status"], "ok",
            "subscription failed: {}",
            sys.payload
        );
        assert_eq!(sys.payload["message"], "Subscribed to PostgreSQL");
        resp["postgres_changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["id"].as_u64().unwrap())
            .collect()
    }

    /// Next postgres_changes payload on `topic`.
    pub async fn change(&mut self, topic: &str) -> Value {
        self.expect(topic, "postgres_changes").await.payload
    }
}

/// Runs SQL as the superuser.
pub async fn sql(pg: &PgCluster, q: &str) {
    pg.client().await.unwrap().batch_execute(q).await.unwrap();
}

/// Waits until change capture is live (the slot exists and is polled).
pub async fn wait_live(e: &Engine) {
    let mut rx = e.state.capture.clone();
    tokio::time::timeout(HANG_GUARD, rx.wait_for(|s| s.live))
        .await
        .expect("hang guard: capture never live")
        .unwrap();
}
