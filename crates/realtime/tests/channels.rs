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
        "apikey=sb_publishable_abc123".to_string(),
    ] {
        // Current official: 401 before the upgrade (R:lib/realtime_web/channels/user_socket.ex:149-171).
        assert_eq!(
            connect_raw(e.addr, "/socket/websocket", &q).await.err(),
            Some(401),
            "{q}"
        );
    }
    // An unknown serializer version is refused by Phoenix's transport negotiation (403).
    let q = format!("apikey={}&vsn=9.9.9", token("anon"));
    assert_eq!(
        connect_raw(e.addr, "/socket/websocket", &q).await.err(),
        Some(403)
    );
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
        .join(
            "realtime:room",
            json!({"broadcast": {"self": true}, "presence": {"enabled": true}}),
        )
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
    // (a, vsn 2.0.0 with self, first gets its own JSON user broadcast as a kind-4 frame too:
    // user broadcasts reach vsn 2.0.0 clients in binary, R:…/message_dispatcher.ex:162-168.)
    loop {
        match a.next().await.expect("open") {
            Incoming::Binary(ub) if matches!(ub.body, BroadcastBody::Json(_)) => continue,
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
    b.join(
        "realtime:p",
        json!({"presence": {"key": "bob", "enabled": true}}),
    )
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
    assert_eq!(
        sys.payload["message"],
        "The token provided is not a valid JWT"
    );
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
        .starts_with("Token has expired"));

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
