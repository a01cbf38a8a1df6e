//! Connection, heartbeat, broadcast, presence, tokens and robustness over real websockets.

mod support;

use serde_json::json;
use supalove_phoenix::binary::encode_user_broadcast_push;
use supalove_phoenix::{BroadcastBody, UserBroadcast, Vsn};
use supalove_realtime::ReplicationMode;
use support::*;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn connect_is_refused_before_upgrade_for_bad_tokens() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    for q in [
        String::new(),
        "apikey=garbage".to_string(),
        format!("apikey={}", expired_token("anon")),
        format!(
            "apikey={}",
            supalove_realtime::jwt::sign_hs256(
                &json!({"role":"anon","exp": 9_999_999_999i64}),
                b"wrong-secret"
            )
        ),
        format!("apikey={}&vsn=9.9.9", token("anon")),
    ] {
        assert_eq!(
            connect_raw(e.addr, "/socket/websocket", &q).await.err(),
            Some(403),
            "{q}"
        );
    }
    // Both paths and the x-api-key header are accepted.
    assert!(connect_raw(
        e.addr,
        "/realtime/v1/websocket",
        &format!("apikey={}&vsn=2.0.0", token("anon"))
    )
    .await
    .is_ok());
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{}/socket/websocket?vsn=1.0.0", e.addr),
    )
    .unwrap();
    req.headers_mut()
        .insert("x-api-key", token("anon").parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_ok());
}

#[tokio::test]
async fn heartbeat_and_unmatched_topics() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    for vsn in [Vsn::V1, Vsn::V2] {
        let mut c = connect(&e, &token("anon"), vsn).await;
        let r = c.push("phoenix", "heartbeat", json!({}), None).await;
        let reply = c.reply(&r).await;
        assert_eq!(reply.payload, json!({"status": "ok", "response": {}}));
        let r = c.push("other:x", "phx_join", json!({}), Some("1")).await;
        assert_eq!(
            c.reply(&r).await.payload["response"]["reason"],
            "unmatched topic"
        );
        let r = c
            .push(
                "realtime:x",
                "broadcast",
                json!({"type":"broadcast","event":"e","payload":{}}),
                None,
            )
            .await;
        assert_eq!(c.reply(&r).await.payload["status"], "error");
    }
}

#[tokio::test]
async fn join_reply_and_presence_state_then_leave_closes() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    let resp = c
        .join("realtime:room", json!({"broadcast": {"self": true}}))
        .await;
    assert_eq!(resp, json!({"postgres_changes": []}));
    let state = c.expect("realtime:room", "presence_state").await;
    assert_eq!(state.payload, json!({}));
    assert_eq!(state.join_ref.as_deref(), Some("j1"));
    let r = c
        .push("realtime:room", "phx_leave", json!({}), Some("j1"))
        .await;
    assert_eq!(c.reply(&r).await.payload["status"], "ok");
    let close = c.expect("realtime:room", "phx_close").await;
    assert_eq!(close.join_ref.as_deref(), Some("j1"));
    // Joining a joined topic again closes the old channel first.
    c.join("realtime:again", json!({})).await;
    let r = c
        .push(
            "realtime:again",
            "phx_join",
            json!({"config": {}}),
            Some("j2"),
        )
        .await;
    let close = c.expect("realtime:again", "phx_close").await;
    assert_eq!(close.join_ref.as_deref(), Some("j1"));
    assert_eq!(c.reply(&r).await.payload["status"], "ok");
}

#[tokio::test]
async fn broadcast_self_ack_and_binary_frames() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut a = connect(&e, &token("anon"), Vsn::V2).await;
    let mut b = connect(&e, &token("anon"), Vsn::V1).await;
    a.join(
        "realtime:room",
        json!({"broadcast": {"self": true, "ack": true}}),
    )
    .await;
    b.join(
        "realtime:room",
        json!({"broadcast": {"self": false, "ack": false}}),
    )
    .await;

    let r = a
        .push(
            "realtime:room",
            "broadcast",
            json!({"type":"broadcast","event":"cursor","payload":{"x":1}}),
            Some("j1"),
        )
        .await;
    assert_eq!(a.reply(&r).await.payload["status"], "ok");
    let own = a.expect("realtime:room", "broadcast").await;
    assert_eq!(
        own.payload,
        json!({"type":"broadcast","event":"cursor","payload":{"x":1}})
    );
    assert_eq!(
        b.expect("realtime:room", "broadcast").await.payload["payload"]["x"],
        1
    );

    // b (no self): its own message reaches a but not b; b's next broadcast is a's.
    b.push(
        "realtime:room",
        "broadcast",
        json!({"type":"broadcast","event":"e2","payload":{"y":2}}),
        Some("j1"),
    )
    .await;
    assert_eq!(
        a.expect("realtime:room", "broadcast").await.payload["event"],
        "e2"
    );

    // vsn 2.0.0 binary user broadcast push (what realtime-js >= 2.91 sends).
    let push = UserBroadcast {
        join_ref: Some("j1".into()),
        msg_ref: Some("99".into()),
        topic: "realtime:room".into(),
        event: "bin".into(),
        meta: None,
        body: BroadcastBody::Json(json!({"z": 3})),
    };
    a.send_raw(Message::Binary(
        encode_user_broadcast_push(&push).unwrap().into(),
    ))
    .await;
    assert_eq!(a.reply("99").await.payload["status"], "ok");
    let got = b.expect("realtime:room", "broadcast").await;
    assert_eq!(
        got.payload,
        json!({"type":"broadcast","event":"bin","payload":{"z":3}})
    );

    // Raw bytes travel as a kind-4 frame to vsn 2.0.0 clients.
    let raw = UserBroadcast {
        body: BroadcastBody::Binary(vec![1, 2, 3]),
        msg_ref: Some("100".into()),
        ..push
    };
    a.send_raw(Message::Binary(
        encode_user_broadcast_push(&raw).unwrap().into(),
    ))
    .await;
    loop {
        match a.next().await.expect("open") {
            Incoming::Binary(ub) => {
                assert_eq!(
                    (ub.event.as_str(), ub.body),
                    ("bin", BroadcastBody::Binary(vec![1, 2, 3]))
                );
                break;
            }
            Incoming::Text(_) => continue,
        }
    }
}

#[tokio::test]
async fn presence_track_diff_state_and_leave() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut a = connect(&e, &token("anon"), Vsn::V2).await;
    a.join("realtime:p", json!({"presence": {"key": "alice"}}))
        .await;
    let r = a
        .push(
            "realtime:p",
            "presence",
            json!({"type":"presence","event":"track","payload":{"online_at":"now"}}),
            Some("j1"),
        )
        .await;
    assert_eq!(a.reply(&r).await.payload["status"], "ok");
    let diff = a.expect("realtime:p", "presence_diff").await.payload;
    assert_eq!(diff["joins"]["alice"]["metas"][0]["online_at"], "now");
    assert!(diff["joins"]["alice"]["metas"][0]["phx_ref"].is_string());

    let mut b = connect(&e, &token("anon"), Vsn::V1).await;
    b.join("realtime:p", json!({"presence": {"key": "bob"}}))
        .await;
    let state = b.expect("realtime:p", "presence_state").await.payload;
    assert_eq!(state["alice"]["metas"][0]["online_at"], "now");

    drop(a);
    let diff = b.expect("realtime:p", "presence_diff").await.payload;
    assert_eq!(diff["leaves"]["alice"]["metas"][0]["online_at"], "now");
    let r = b
        .push(
            "realtime:p",
            "presence",
            json!({"type":"presence","event":"untrack"}),
            Some("j1"),
        )
        .await;
    assert_eq!(b.reply(&r).await.payload["status"], "ok");
}

#[tokio::test]
async fn access_token_refresh_and_rejection() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    c.subscribe(
        "realtime:n",
        json!([{"event": "INSERT", "schema": "public", "table": "notes"}]),
    )
    .await;
    // After refreshing to `authenticated`, private rows become visible.
    c.push(
        "realtime:n",
        "access_token",
        json!({"access_token": token("authenticated")}),
        Some("j1"),
    )
    .await;
    let r = c.push("phoenix", "heartbeat", json!({}), None).await;
    c.reply(&r).await;
    sql(&pg, "insert into notes values (1, 'private', false)").await;
    assert_eq!(c.change("realtime:n").await["data"]["record"]["id"], 1);

    c.push(
        "realtime:n",
        "access_token",
        json!({"access_token": "not-a-jwt"}),
        Some("j1"),
    )
    .await;
    let sys = c.expect("realtime:n", "system").await;
    assert_eq!(sys.payload["status"], "error");
    assert!(sys.payload["message"]
        .as_str()
        .unwrap()
        .starts_with("Received an invalid access token"));
    c.expect("realtime:n", "phx_close").await;

    c.join("realtime:x", json!({})).await;
    c.push(
        "realtime:x",
        "access_token",
        json!({"access_token": expired_token("anon")}),
        Some("j1"),
    )
    .await;
    let sys = c.expect("realtime:x", "system").await;
    assert!(sys.payload["message"]
        .as_str()
        .unwrap()
        .starts_with("access token has expired"));

    // A join carrying a bad access_token is refused with an error reply.
    let r = c
        .push(
            "realtime:y",
            "phx_join",
            json!({"config": {}, "access_token": expired_token("anon")}),
            Some("j9"),
        )
        .await;
    assert_eq!(c.reply(&r).await.payload["status"], "error");
}

#[tokio::test]
async fn malformed_frames_close_only_their_socket() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut good = connect(&e, &token("anon"), Vsn::V2).await;
    good.join("realtime:r", json!({})).await;
    for bad in [
        Message::Text("{not json".into()),
        Message::Binary(vec![3, 200, 1].into()),
        Message::Text(r#"{"topic":"x"}"#.into()),
    ] {
        let mut evil = connect(&e, &token("anon"), Vsn::V2).await;
        evil.join("realtime:r", json!({})).await;
        evil.send_raw(bad).await;
        while evil.next().await.is_some() {}
    }
    // A bad payload for a joined channel crashes only that channel (phx_error).
    good.push(
        "realtime:r",
        "presence",
        json!({"event": "dance"}),
        Some("j1"),
    )
    .await;
    good.expect("realtime:r", "phx_error").await;
    let r = good.push("phoenix", "heartbeat", json!({}), None).await;
    assert_eq!(good.reply(&r).await.payload["status"], "ok");
}

#[tokio::test]
async fn slow_consumers_lose_messages_others_do_not() {
    let pg = cluster().await;
    let mut cfg = pg.engine_config(SECRET, ReplicationMode::Rls);
    cfg.socket_queue = 64;
    let e = engine(cfg).await;
    let mut slow = connect(&e, &token("anon"), Vsn::V2).await;
    slow.join("realtime:flood", json!({})).await;
    let mut fast = connect(&e, &token("anon"), Vsn::V2).await;
    fast.join("realtime:flood", json!({})).await;
    let mut sender = connect(&e, &token("anon"), Vsn::V2).await;
    sender
        .join("realtime:flood", json!({"broadcast": {"ack": true}}))
        .await;
    let blob = "x".repeat(16 * 1024);
    let total = 1500u64;
    // The fast client reads concurrently, as a healthy client would, and must see everything.
    let reader = tokio::spawn(async move {
        for seen in 0..total {
            let f = fast.expect("realtime:flood", "broadcast").await;
            assert_eq!(f.payload["payload"]["i"], seen);
        }
    });
    for i in 0..total {
        let payload = json!({"type":"broadcast","event":"n","payload":{"i": i, "blob": blob}});
        let r = sender
            .push("realtime:flood", "broadcast", payload, Some("j1"))
            .await;
        sender.reply(&r).await;
    }
    reader.await.unwrap();
    // The slow reader gets what fitted in its queue, then a drop report.
    let report = slow.expect("realtime:flood", "system").await;
    assert_eq!(report.payload["status"], "error");
    assert!(report.payload["message"]
        .as_str()
        .unwrap()
        .contains("messages dropped"));
}

#[tokio::test]
async fn http_ping_health_and_broadcast_api() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V1).await;
    c.join("realtime:api", json!({})).await;
    wait_live(&e).await;
    let http = Http(e.addr);
    assert_eq!(
        http.req("GET", "/api/ping", None, None).await,
        (200, json!({"message": "Success"}).to_string())
    );
    assert_eq!(
        http.req("GET", "/api/tenants/realtime-dev/health", None, None)
            .await
            .0,
        403
    );
    let (code, body) = http
        .req(
            "GET",
            "/api/tenants/realtime-dev/health",
            Some(&token("anon")),
            None,
        )
        .await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["data"]["healthy"], true);
    let (code, _) = http.req("GET", "/health", None, None).await;
    assert_eq!(code, 200);
    let msg =
        json!({"messages": [{"topic": "api", "event": "hello", "payload": {"a": 1}}]}).to_string();
    assert_eq!(
        http.req("POST", "/api/broadcast", None, Some(&msg)).await.0,
        401
    );
    assert_eq!(
        http.req("POST", "/api/broadcast", Some(&token("anon")), Some("{}"))
            .await
            .0,
        422
    );
    assert_eq!(
        http.req("POST", "/api/broadcast", Some(&token("anon")), Some(&msg))
            .await
            .0,
        202
    );
    let got = c.expect("realtime:api", "broadcast").await;
    assert_eq!(
        got.payload,
        json!({"type": "broadcast", "event": "hello", "payload": {"a": 1}})
    );
}

/// Minimal HTTP/1.1 client over a raw TCP stream (keeps test dependencies small).
struct Http(std::net::SocketAddr);

impl Http {
    async fn req(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(self.0).await.unwrap();
        let body = body.unwrap_or("");
        let auth = bearer
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: realtime-dev\r\nConnection: close\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        let code = out[9..12].parse().unwrap();
        let body = out
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (code, body)
    }
}

#[tokio::test]
async fn insecure_channels_accept_missing_tokens_as_anon() {
    let pg = cluster().await;
    let mut cfg = pg.engine_config(SECRET, ReplicationMode::Rls);
    cfg.secure_channels = false;
    let e = engine(cfg).await;
    let mut c = connect_raw(e.addr, "/socket/websocket", "vsn=2.0.0")
        .await
        .expect("no token needed with SECURE_CHANNELS=false");
    c.subscribe(
        "realtime:n",
        json!([{"event": "INSERT", "schema": "public", "table": "notes"}]),
    )
    .await;
    // The fallback role is anon, so RLS still applies: only the public row arrives.
    sql(
        &pg,
        "insert into notes values (1, 'private', false), (2, 'public', true)",
    )
    .await;
    assert_eq!(c.change("realtime:n").await["data"]["record"]["id"], 2);
}

#[tokio::test]
async fn unknown_roles_cannot_subscribe_in_rls_mode() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut ghost = connect(&e, &token("no_such_role"), Vsn::V2).await;
    let params = json!([{"event": "INSERT", "schema": "public", "table": "notes"}]);
    ghost
        .join("realtime:g", json!({ "postgres_changes": params }))
        .await;
    let sys = ghost.expect("realtime:g", "system").await;
    assert_eq!(sys.payload["status"], "error");
    let msg = sys.payload["message"].as_str().unwrap();
    assert!(
        msg.contains("role \"no_such_role\" does not exist"),
        "{msg}"
    );
}

#[tokio::test]
async fn random_garbage_never_takes_the_server_down() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut good = connect(&e, &token("anon"), Vsn::V1).await;
    good.join("realtime:steady", json!({})).await;
    // Deterministic xorshift noise: raw bytes, broken JSON and well-formed-but-wrong frames.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let shapes = [
        r#"[null,"1","realtime:steady","phx_join",{"config":{"postgres_changes":[{"event":1}]}}]"#,
        r#"["1","2","realtime:steady","presence",{"event":"track","payload":[]}]"#,
        r#"[null,null,null,null,null]"#,
        r#"{"topic":"phoenix","event":"heartbeat","payload":{},"ref":{}}"#,
        r#"["1","3","realtime:steady","broadcast",{"event":{}}]"#,
    ];
    for round in 0..120 {
        let vsn = if round % 2 == 0 { Vsn::V1 } else { Vsn::V2 };
        let mut evil = connect(&e, &token("anon"), vsn).await;
        let len = (next() % 300) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        let msg = match round % 4 {
            0 => Message::Binary(bytes.into()),
            1 => Message::Text(String::from_utf8_lossy(&bytes).into_owned().into()),
            2 => Message::Text(shapes[(next() % shapes.len() as u64) as usize].into()),
            _ => {
                let mut b = vec![3u8];
                b.extend(bytes);
                Message::Binary(b.into())
            }
        };
        evil.send_raw(msg).await;
        let r = evil.push("phoenix", "heartbeat", json!({}), None).await;
        // Either the socket was closed for the bad frame or it still answers: never a hang.
        loop {
            match evil.next().await {
                None => break,
                Some(Incoming::Text(f)) if f.msg_ref.as_deref() == Some(r.as_str()) => break,
                Some(_) => continue,
            }
        }
    }
    let r = good.push("phoenix", "heartbeat", json!({}), None).await;
    assert_eq!(good.reply(&r).await.payload["status"], "ok");
    let mut fresh = connect(&e, &token("anon"), Vsn::V2).await;
    fresh.join("realtime:steady", json!({})).await;
}

#[tokio::test]
async fn private_channels_follow_realtime_messages_policies() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    wait_live(&e).await; // the engine has created realtime.messages by now
    sql(
        &pg,
        "create policy read_rooms on realtime.messages for select to authenticated \
                using (realtime.topic() in ('room1', 'readonly')); \
              create policy write_room1 on realtime.messages for insert to authenticated \
                with check (realtime.topic() = 'room1')",
    )
    .await;
    let mut user = connect(&e, &token("authenticated"), Vsn::V2).await;
    let private = json!({"private": true, "broadcast": {"self": true, "ack": true}, "presence": {"key": "u"}});
    user.join("realtime:room1", private.clone()).await;
    let r = user
        .push(
            "realtime:room1",
            "broadcast",
            json!({"type":"broadcast","event":"m","payload":{}}),
            Some("j1"),
        )
        .await;
    assert_eq!(user.reply(&r).await.payload["status"], "ok");
    user.expect("realtime:room1", "broadcast").await;

    user.join("realtime:readonly", private.clone()).await;
    let r = user
        .push(
            "realtime:readonly",
            "broadcast",
            json!({"type":"broadcast","event":"m","payload":{}}),
            Some("j1"),
        )
        .await;
    let denied = user.reply(&r).await.payload;
    assert_eq!(denied["status"], "error");
    assert!(denied["response"]["reason"]
        .as_str()
        .unwrap()
        .contains("write"));
    let r = user
        .push(
            "realtime:readonly",
            "presence",
            json!({"type":"presence","event":"track","payload":{}}),
            Some("j1"),
        )
        .await;
    assert_eq!(user.reply(&r).await.payload["status"], "error");

    for (token, topic) in [
        (token("authenticated"), "realtime:secret"),
        (token("anon"), "realtime:room1"),
    ] {
        let mut c = connect(&e, &token, Vsn::V1).await;
        let r = c
            .push(topic, "phx_join", json!({"config": private}), Some("j1"))
            .await;
        let reply = c.reply(&r).await.payload;
        assert_eq!(reply["status"], "error", "{topic}");
        assert!(reply["response"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("Unauthorized"));
    }
    // The same topic joined as a public channel is open to everybody.
    let mut anon = connect(&e, &token("anon"), Vsn::V1).await;
    anon.join("realtime:secret", json!({"private": false}))
        .await;
}

#[tokio::test]
async fn private_and_public_channels_of_one_name_are_separate_rooms() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    wait_live(&e).await;
    sql(&pg, "create policy rw_read on realtime.messages for select to authenticated using (true); \
              create policy rw_write on realtime.messages for insert to authenticated with check (true)").await;
    let mut public = connect(&e, &token("anon"), Vsn::V2).await;
    public
        .join(
            "realtime:room",
            json!({"private": false, "broadcast": {"self": true}}),
        )
        .await;
    let mut private = connect(&e, &token("authenticated"), Vsn::V1).await;
    private
        .join(
            "realtime:room",
            json!({"private": true, "broadcast": {"self": true, "ack": true}}),
        )
        .await;
    let r = private
        .push(
            "realtime:room",
            "broadcast",
            json!({"type":"broadcast","event":"secret","payload":{}}),
            Some("j1"),
        )
        .await;
    assert_eq!(private.reply(&r).await.payload["status"], "ok");
    assert_eq!(
        private.expect("realtime:room", "broadcast").await.payload["event"],
        "secret"
    );
    // The public member's first broadcast is its own public one: the secret never reached it.
    public
        .push(
            "realtime:room",
            "broadcast",
            json!({"type":"broadcast","event":"public","payload":{}}),
            Some("j1"),
        )
        .await;
    assert_eq!(
        public.expect("realtime:room", "broadcast").await.payload["event"],
        "public"
    );
}

#[tokio::test]
async fn broadcast_api_reaches_private_rooms_only_with_write_permission() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    wait_live(&e).await;
    sql(&pg, "create policy api_read on realtime.messages for select to authenticated using (true); \
              create policy api_write on realtime.messages for insert to service_role with check (true); \
              create policy api_read_service on realtime.messages for select to service_role using (true)").await;
    let mut member = connect(&e, &token("authenticated"), Vsn::V2).await;
    member.join("realtime:vip", json!({"private": true})).await;
    let send = |role: &str, event: &str| {
        let body =
            json!({"messages": [{"topic": "vip", "event": event, "payload": {}, "private": true}]})
                .to_string();
        let addr = e.addr;
        let jwt = token(role);
        async move { http_post(addr, "/api/broadcast", &jwt, &body).await }
    };
    assert_eq!(send("authenticated", "denied").await, 202);
    assert_eq!(send("service_role", "allowed").await, 202);
    assert_eq!(
        member.expect("realtime:vip", "broadcast").await.payload["event"],
        "allowed"
    );
}

async fn http_post(addr: std::net::SocketAddr, path: &str, bearer: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {bearer}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out[9..12].parse().unwrap()
}
