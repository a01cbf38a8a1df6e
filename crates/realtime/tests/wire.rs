//! Raw-wire tests: every reply of the official server for malformed frames, presence pushes,
//! token refreshes, leave/refs/close and the broadcast size limit, checked byte for byte
//! (as JSON) against what the current official server sends.
//!
//! Sources (see /work/shared/realtime-current.md): R = supabase/realtime@833cf36c,
//! P = supabase/phoenix@94ab442e. Each test names the files and lines it follows.

mod support;

use serde_json::{json, Value};
use supalove_phoenix::Vsn;
use supalove_realtime::ReplicationMode;
use support::*;
use tokio_tungstenite::tungstenite::Message;

fn is(v: &Value, topic: &str, event: &str) -> bool {
    v[2] == topic && v[3] == event
}

/// Joins `topic` over vsn 2.0.0 with join ref `jr` and waits for the join reply.
async fn join_v2(c: &mut Client, topic: &str, jr: Value, config: Value) -> Value {
    let frame = json!([jr, "join", topic, "phx_join", {"config": config}]);
    c.send_text(&frame.to_string()).await;
    c.expect_json(|v| v[1] == "join" && v[3] == "phx_reply")
        .await
}

/// A heartbeat with ref `r`, and everything received before its reply.
async fn until_heartbeat(c: &mut Client, r: &str) -> Vec<Value> {
    c.send_text(&json!([null, r, "phoenix", "heartbeat", {}]).to_string())
        .await;
    let mut before = Vec::new();
    loop {
        let v = c.next_json().await;
        if v[1] == r && v[3] == "phx_reply" {
            assert_eq!(
                v,
                json!([null, r, "phoenix", "phx_reply", {"status":"ok","response":{}}])
            );
            return before;
        }
        before.push(v);
    }
}

/// R:lib/realtime_web/socket.ex:48-67 (decode failures are logged and ignored, since
/// v2.78.4), R:lib/realtime_web/socket/v2_serializer.ex:158-223 (V2 needs a list of >= 5;
/// binary kinds 0 and 3 only), P:lib/phoenix/socket/serializers/v1_json_serializer.ex:30-46.
#[tokio::test]
async fn malformed_frames_are_ignored_and_the_socket_and_channels_stay() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    let reply = join_v2(
        &mut c,
        "realtime:r",
        json!("1"),
        json!({"broadcast": {"self": true}}),
    )
    .await;
    assert_eq!(reply[4]["status"], "ok");
    for bad in [
        Message::Text("{not json".into()),
        Message::Text("[1,2,3,4]".into()),
        Message::Text(r#"{"topic":"phoenix","event":"heartbeat","payload":{},"ref":"1"}"#.into()),
        Message::Text("42".into()),
        Message::Text(r#"[null,"1",7,"heartbeat",{}]"#.into()),
        Message::Binary(vec![9, 1, 2].into()),
        Message::Binary(vec![3, 200, 1].into()),
        Message::Binary(vec![3, 0, 0, 10, 1, 0, 1, b'r'].into()),
        Message::Binary(vec![].into()),
    ] {
        c.send_raw(bad).await;
    }
    // Nothing was answered, and the channel still relays broadcasts.
    assert!(until_heartbeat(&mut c, "hb")
        .await
        .iter()
        .all(|v| v[3] != "phx_reply"));
    let b = json!(["1", "b1", "realtime:r", "broadcast", {"type":"broadcast","event":"e","payload":{"n":1}}]);
    c.send_text(&b.to_string()).await;
    let got = c.expect_json(|v| is(v, "realtime:r", "broadcast")).await;
    assert_eq!(
        got,
        json!([null, null, "realtime:r", "broadcast", {"type":"broadcast","event":"e","payload":{"n":1}}])
    );

    // vsn 1.0.0: an object needs topic, event, payload and ref; arrays are ignored.
    let mut v1 = connect(&e, &token("anon"), Vsn::V1).await;
    for bad in [
        r#"{"topic":"phoenix","event":"heartbeat","payload":{}}"#,
        r#"[null,"1","phoenix","heartbeat",{}]"#,
        "garbage",
    ] {
        v1.send_text(bad).await;
    }
    v1.send_raw(Message::Binary(vec![3, 0, 0, 0, 0, 0, 1].into()))
        .await;
    v1.send_text(r#"{"topic":"phoenix","event":"heartbeat","payload":"any","ref":7}"#)
        .await;
    assert_eq!(
        v1.next_json().await,
        json!({"topic":"phoenix","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":7})
    );
}

/// R:lib/realtime_web/socket/v2_serializer.ex:98-108, 158-167: extra elements are ignored and
/// replies echo `join_ref`/`ref` verbatim, numbers included.
#[tokio::test]
async fn refs_come_back_exactly_as_sent() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    c.send_text(r#"[3,4.5,"phoenix","heartbeat",{},"extra",[1]]"#)
        .await;
    assert_eq!(
        c.next_json().await,
        json!([3, 4.5, "phoenix", "phx_reply", {"status":"ok","response":{}}])
    );
    c.send_text(r#"[11,12,"realtime:n","phx_join",{"config":{"presence":{"enabled":true}}}]"#)
        .await;
    assert_eq!(
        c.next_json().await,
        json!([11, 12, "realtime:n", "phx_reply", {"status":"ok","response":{"postgres_changes":[]}}])
    );
    // Channel pushes carry the join ref with its type and ref null.
    assert_eq!(
        c.next_json().await,
        json!([11, null, "realtime:n", "presence_state", {}])
    );
}

/// P:lib/phoenix/socket.ex:765-768, 837-841, 870-873 (unmatched topic, join_ref null),
/// R:lib/realtime_web/channels/realtime_channel.ex:41-45 (empty name), 619-627 (unknown
/// events on a joined channel get no reply).
#[tokio::test]
async fn unroutable_frames_get_the_official_replies() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    let unmatched = |r: &str, topic: &str| json!([null, r, topic, "phx_reply", {"status":"error","response":{"reason":"unmatched topic"}}]);
    c.send_text(
        r#"["5","6","realtime:x","broadcast",{"type":"broadcast","event":"e","payload":{}}]"#,
    )
    .await;
    assert_eq!(c.next_json().await, unmatched("6", "realtime:x"));
    c.send_text(r#"["5","7","room:x","phx_join",{}]"#).await;
    assert_eq!(c.next_json().await, unmatched("7", "room:x"));
    c.send_text(r#"["5","8","realtime:x","presence",{"event":"track"}]"#)
        .await;
    assert_eq!(c.next_json().await, unmatched("8", "realtime:x"));
    c.send_text(r#"["5","9","realtime:","phx_join",{}]"#).await;
    assert_eq!(
        c.next_json().await,
        json!(["5", "9", "realtime:", "phx_reply", {"status":"error","response":{"reason":"TopicNameRequired: You must provide a topic name"}}])
    );
    join_v2(&mut c, "realtime:j", json!("1"), json!({})).await;
    c.send_text(r#"["1","10","realtime:j","no_such_event",{}]"#)
        .await;
    c.send_text(r#"["1","11","realtime:j","broadcast",{"no":"event"}]"#)
        .await;
    let before = until_heartbeat(&mut c, "hb").await;
    assert!(before.iter().all(|v| v[3] != "phx_reply"), "{before:?}");
}

/// R:lib/realtime_web/channels/realtime_channel/presence_handler.ex:69-189 and
/// R:lib/realtime_web/channels/realtime_channel.ex:473-521; P:lib/phoenix/socket.ex:558-566,
/// 865-868 (a crashed channel sends phx_error with the join ref as both refs).
#[tokio::test]
async fn presence_pushes_get_the_official_replies() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    join_v2(
        &mut c,
        "realtime:p",
        json!("1"),
        json!({"presence": {"key": "me"}}),
    )
    .await;
    let push =
        |r: &str, payload: Value| json!(["1", r, "realtime:p", "presence", payload]).to_string();
    let ok = |r: &str| json!(["1", r, "realtime:p", "phx_reply", {"status":"ok","response":{}}]);
    let reply_to = |r: &'static str| move |v: &Value| v[1] == r && v[3] == "phx_reply";

    c.send_text(&push(
        "t1",
        json!({"type":"presence","event":"TRACK","payload":{"a":1}}),
    ))
    .await;
    assert_eq!(c.expect_json(reply_to("t1")).await, ok("t1"));
    let diff = c
        .expect_json(|v| is(v, "realtime:p", "presence_diff"))
        .await;
    assert_eq!(diff[4]["joins"]["me"]["metas"][0]["a"], 1);

    c.send_text(&push("t2", json!({"type":"presence"}))).await;
    assert_eq!(c.expect_json(reply_to("t2")).await, ok("t2"));
    c.send_text(&push("t3", json!("not a map"))).await;
    assert_eq!(c.expect_json(reply_to("t3")).await, ok("t3"));
    c.send_text(&push("t4", json!({"event":"dance"}))).await;
    assert_eq!(
        c.expect_json(reply_to("t4")).await,
        json!(["1", "t4", "realtime:p", "phx_reply", {"status":"error","response":{}}])
    );
    c.send_text(&push("t5", json!({"event":"track","payload":[1]})))
        .await;
    assert_eq!(
        c.expect_json(reply_to("t5")).await,
        json!(["1", "t5", "realtime:p", "phx_reply", {"status":"error","response":{"reason":"Presence track payload must be a map"}}])
    );
    // The channel is still joined: untrack works and tells the room.
    c.send_text(&push("t6", json!({"event":"Untrack"}))).await;
    assert_eq!(c.expect_json(reply_to("t6")).await, ok("t6"));
    let diff = c
        .expect_json(|v| is(v, "realtime:p", "presence_diff"))
        .await;
    assert!(diff[4]["leaves"]["me"].is_object());
    // A non-string event crashes the channel process.
    c.send_text(&push("t7", json!({"event": 5}))).await;
    assert_eq!(
        c.expect_json(|v| is(v, "realtime:p", "phx_error")).await,
        json!(["1", "1", "realtime:p", "phx_error", {}])
    );
    c.send_text(&push("t8", json!({"event":"track"}))).await;
    assert_eq!(
        c.next_json().await,
        json!([null, "t8", "realtime:p", "phx_reply", {"status":"error","response":{"reason":"unmatched topic"}}])
    );
}

/// R:lib/realtime_web/channels/realtime_channel.ex:524-617 (no access_token push is
/// answered; `sb_`, null, the same token and non-strings are ignored), 834-875 (failure:
/// `system` error then phx_close), P:lib/phoenix/socket.ex:880-915.
#[tokio::test]
async fn access_token_pushes_as_the_official_server() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let anon = token("anon");
    let mut c = connect(&e, &anon, Vsn::V2).await;
    join_v2(&mut c, "realtime:t", json!("1"), json!({})).await;
    for ignored in [
        json!({"access_token": null}),
        json!({"access_token": "sb_publishable_abc"}),
        json!({"access_token": anon}),
        json!({"access_token": 42}),
        json!({}),
    ] {
        c.send_text(&json!(["1", "a", "realtime:t", "access_token", ignored]).to_string())
            .await;
    }
    let before = until_heartbeat(&mut c, "hb").await;
    assert!(
        before
            .iter()
            .all(|v| v[2] != "realtime:t" || v[3] == "presence_state"),
        "{before:?}"
    );
    // The channel is still there: a refresh to a bad token ends it with the official pair.
    c.send_text(
        &json!(["1", "b", "realtime:t", "access_token", {"access_token": "garbage"}]).to_string(),
    )
    .await;
    assert_eq!(
        c.expect_json(|v| is(v, "realtime:t", "system")).await,
        json!(["1", null, "realtime:t", "system", {"extension":"system","status":"error","message":"The token provided is not a valid JWT","channel":"t"}])
    );
    assert_eq!(
        c.next_json().await,
        json!(["1", "1", "realtime:t", "phx_close", {}])
    );

    join_v2(&mut c, "realtime:u", json!("2"), json!({})).await;
    let wrong = supalove_realtime::jwt::sign_hs256(
        &json!({"role":"anon","exp": 9_999_999_999i64}),
        b"another-secret-of-at-least-32-characters",
    );
    for (token, message) in [
        (wrong, ":signature_error".to_string()),
        (
            supalove_realtime::jwt::sign_hs256(
                &json!({"exp": 9_999_999_999i64}),
                SECRET.as_bytes(),
            ),
            "Fields `role` and `exp` are required in JWT".to_string(),
        ),
    ] {
        c.send_text(
            &json!(["2", "c", "realtime:u", "access_token", {"access_token": token}]).to_string(),
        )
        .await;
        let sys = c.expect_json(|v| is(v, "realtime:u", "system")).await;
        assert_eq!(sys[4]["message"], json!(message));
        assert_eq!(
            c.next_json().await,
            json!(["2", "2", "realtime:u", "phx_close", {}])
        );
        join_v2(&mut c, "realtime:u", json!("2"), json!({})).await;
    }
    c.send_text(
        &json!(["2", "d", "realtime:u", "access_token", {"access_token": expired_token("anon")}])
            .to_string(),
    )
    .await;
    let sys = c.expect_json(|v| is(v, "realtime:u", "system")).await;
    let msg = sys[4]["message"].as_str().unwrap();
    assert!(
        msg.starts_with("Token has expired ") && msg.ends_with(" seconds ago"),
        "{msg}"
    );
}

/// R:lib/realtime_web/channels/realtime_channel.ex:781-802 (an `sb_` access token at join
/// means the connect token), 164-274 (join error reasons `Code: message`).
#[tokio::test]
async fn join_tokens_and_their_errors() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    c.send_text(
        r#"["1","1","realtime:k","phx_join",{"config":{},"access_token":"sb_secret_xyz"}]"#,
    )
    .await;
    assert_eq!(c.next_json().await[4]["status"], "ok");
    let cases = [
        (expired_token("anon"), "InvalidJWTToken: Token has expired "),
        (
            "garbage".to_string(),
            "MalformedJWT: The token provided is not a valid JWT",
        ),
        (
            supalove_realtime::jwt::sign_hs256(
                &json!({"role":"anon","exp": 9_999_999_999i64}),
                b"another-secret-of-at-least-32-characters",
            ),
            "JwtSignatureError: Failed to validate JWT signature",
        ),
        (
            supalove_realtime::jwt::sign_hs256(&json!({"role":"anon"}), SECRET.as_bytes()),
            "InvalidJWTToken: Fields `role` and `exp` are required in JWT",
        ),
    ];
    for (i, (tok, reason)) in cases.into_iter().enumerate() {
        let r = format!("j{i}");
        let topic = format!("realtime:bad{i}");
        c.send_text(
            &json!(["9", r, topic, "phx_join", {"config":{}, "access_token": tok}]).to_string(),
        )
        .await;
        let reply = c.expect_json(|v| v[1] == r.as_str()).await;
        assert_eq!(reply[0], "9");
        assert_eq!(reply[4]["status"], "error");
        let got = reply[4]["response"]["reason"].as_str().unwrap();
        assert!(got.starts_with(reason), "{got}");
    }
}

/// P:lib/phoenix/socket.ex:771-835 (leave of a topic never joined replies ok with refs
/// echoed; a duplicate join closes the old channel first), P:lib/phoenix/channel/server.ex:323-324
/// and P:lib/phoenix/socket.ex:880-915 (`[jr, jr, topic, "phx_close", {}]`).
#[tokio::test]
async fn leave_close_and_duplicate_join() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    c.send_text(r#"[21,22,"realtime:never","phx_leave",{}]"#)
        .await;
    assert_eq!(
        c.next_json().await,
        json!([21, 22, "realtime:never", "phx_reply", {"status":"ok","response":{}}])
    );
    let before = until_heartbeat(&mut c, "hb").await;
    assert!(
        before.is_empty(),
        "no phx_close for a topic never joined: {before:?}"
    );

    join_v2(&mut c, "realtime:l", json!(5), json!({})).await;
    c.send_text(r#"[5,"x","realtime:l","phx_join",{"config":{}}]"#)
        .await;
    assert_eq!(
        c.expect_json(|v| is(v, "realtime:l", "phx_close")).await,
        json!([5, 5, "realtime:l", "phx_close", {}])
    );
    assert_eq!(c.expect_json(|v| v[1] == "x").await[4]["status"], "ok");
    c.send_text(r#"[5,"y","realtime:l","phx_leave",{}]"#).await;
    assert_eq!(
        c.expect_json(|v| v[1] == "y").await,
        json!([5, "y", "realtime:l", "phx_reply", {"status":"ok","response":{}}])
    );
    assert_eq!(
        c.next_json().await,
        json!([5, 5, "realtime:l", "phx_close", {}])
    );
}

/// R:lib/realtime/tenants.ex:538-543 (`external_size > kb*1000+500`),
/// R:lib/realtime_web/channels/realtime_channel/broadcast_handler.ex:45-60, 102-117
/// (ack → `"response":"payload_size_exceeded"`, no ack → dropped; the channel stays).
#[tokio::test]
async fn broadcast_over_the_size_limit() {
    let pg = cluster().await;
    let mut cfg = pg.engine_config(SECRET, ReplicationMode::Rls);
    cfg.limits.max_payload_kb = 1;
    let e = engine(cfg).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    join_v2(
        &mut c,
        "realtime:big",
        json!("1"),
        json!({"broadcast": {"ack": true, "self": true}}),
    )
    .await;
    let big = "x".repeat(2000);
    c.send_text(&json!(["1", "b1", "realtime:big", "broadcast", {"type":"broadcast","event":"e","payload":{"big": big}}]).to_string())
        .await;
    assert_eq!(
        c.expect_json(|v| v[1] == "b1").await,
        json!(["1", "b1", "realtime:big", "phx_reply", {"status":"error","response":"payload_size_exceeded"}])
    );
    c.send_text(&json!(["1", "b2", "realtime:big", "broadcast", {"type":"broadcast","event":"e","payload":{"n": 1}}]).to_string())
        .await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(c.next_json().await);
    }
    assert!(
        seen.contains(
            &json!(["1", "b2", "realtime:big", "phx_reply", {"status":"ok","response":{}}])
        ),
        "{seen:?}"
    );
    assert!(seen
        .iter()
        .any(|v| is(v, "realtime:big", "broadcast") && v[4]["payload"]["n"] == 1));
    // Without ack the oversized message is dropped silently.
    join_v2(
        &mut c,
        "realtime:big2",
        json!("2"),
        json!({"broadcast": {"self": true}}),
    )
    .await;
    c.send_text(&json!(["2", "b3", "realtime:big2", "broadcast", {"type":"broadcast","event":"e","payload":{"big": "y".repeat(2000)}}]).to_string())
        .await;
    let before = until_heartbeat(&mut c, "hb").await;
    assert!(
        before
            .iter()
            .all(|v| v[3] != "broadcast" && v[3] != "phx_reply"),
        "{before:?}"
    );
}

/// R:lib/realtime_web/channels/realtime_channel/broadcast_handler.ex:62-86 (private channel
/// without broadcast write: dropped, no reply even with ack) and
/// R:lib/realtime_web/channels/realtime_channel/presence_handler.ex:126-128 (presence track
/// without write: `{"status":"error","response":{}}`).
#[tokio::test]
async fn private_channel_without_write_permission() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    wait_live(&e).await;
    sql(
        &pg,
        "create policy ro on realtime.messages for select to authenticated using (true)",
    )
    .await;
    let mut c = connect(&e, &token("authenticated"), Vsn::V2).await;
    let reply = join_v2(
        &mut c,
        "realtime:ro",
        json!("1"),
        json!({"private": true, "broadcast": {"ack": true, "self": true}}),
    )
    .await;
    assert_eq!(reply[4]["status"], "ok", "{reply}");
    c.send_text(
        r#"["1","b","realtime:ro","broadcast",{"type":"broadcast","event":"e","payload":{}}]"#,
    )
    .await;
    let before = until_heartbeat(&mut c, "hb").await;
    assert!(
        before.iter().all(|v| v[1] != "b" && v[3] != "broadcast"),
        "{before:?}"
    );
    c.send_text(r#"["1","p","realtime:ro","presence",{"event":"track","payload":{"a":1}}]"#)
        .await;
    assert_eq!(
        c.expect_json(|v| v[1] == "p").await,
        json!(["1", "p", "realtime:ro", "phx_reply", {"status":"error","response":{}}])
    );
}

/// R:lib/extensions/postgres_cdc_rls/subscriptions.ex (parse_subscription_params: the
/// `Error parsing \`filter\` params: …` messages) and
/// R:lib/realtime_web/channels/realtime_channel.ex:366-380 (ok join reply first, then a
/// `system` push with extension `postgres_changes`, join_ref and a null ref; the channel stays).
#[tokio::test]
async fn unparsable_filter_gets_the_official_system_push() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("service_role"), Vsn::V2).await;
    let changes =
        json!([{"event": "*", "schema": "public", "table": "todos", "filter": "id=foo.hey"}]);
    let reply = join_v2(
        &mut c,
        "realtime:pf",
        json!("7"),
        json!({"postgres_changes": changes}),
    )
    .await;
    assert_eq!(reply[4]["status"], "ok", "{reply}");
    assert_eq!(
        c.expect_json(|v| is(v, "realtime:pf", "system")).await,
        json!(["7", null, "realtime:pf", "system", {
            "extension": "postgres_changes",
            "status": "error",
            "message": "Error parsing `filter` params: [\"foo\", \"hey\"]",
            "channel": "pf"
        }])
    );
    // The channel stays joined: a heartbeat still works and a leave is answered ok.
    until_heartbeat(&mut c, "hb").await;
    c.send_text(r#"["7","l","realtime:pf","phx_leave",{}]"#)
        .await;
    assert_eq!(
        c.expect_json(|v| v[1] == "l").await,
        json!(["7", "l", "realtime:pf", "phx_reply", {"status":"ok","response":{}}])
    );
}

/// R:lib/realtime_web/channels/realtime_channel.ex:158, 433-443, 1112-1114 (presence_state
/// after join only with `presence.enabled`, a FlexibleBoolean), R:…/payloads/flexible_boolean.ex:17-27.
#[tokio::test]
async fn presence_state_only_when_presence_is_enabled() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    for (jr, config) in [
        ("1", json!({})),
        ("2", json!({"presence": {"enabled": "false"}})),
        ("3", json!({"presence": {"key": "k", "enabled": false}})),
        ("4", json!({"presence": {"enabled": "yes"}})),
    ] {
        join_v2(&mut c, &format!("realtime:off{jr}"), json!(jr), config).await;
    }
    assert_eq!(until_heartbeat(&mut c, "h1").await, Vec::<Value>::new());
    for (jr, enabled) in [
        ("5", json!(true)),
        ("6", json!("TRUE")),
        ("7", json!("true")),
    ] {
        let topic = format!("realtime:on{jr}");
        join_v2(
            &mut c,
            &topic,
            json!(jr),
            json!({"presence": {"enabled": enabled}}),
        )
        .await;
        assert_eq!(
            c.next_json().await,
            json!([jr, null, topic, "presence_state", {}])
        );
    }
    // A channel without presence still sees diffs, and may track (which enables presence
    // for it, R:…/presence_handler.ex:151-154) without a presence_state push.
    c.send_text(
        &json!(["1", "t", "realtime:off1", "presence", {"event":"track","payload":{"a":1}}])
            .to_string(),
    )
    .await;
    assert_eq!(
        c.next_json().await,
        json!(["1", "t", "realtime:off1", "phx_reply", {"status":"ok","response":{}}])
    );
    let diff = c.next_json().await;
    assert_eq!(diff[3], "presence_diff");
    assert_eq!(until_heartbeat(&mut c, "h2").await, Vec::<Value>::new());
}

/// R:lib/realtime_web/channels/realtime_channel/presence_handler.ex:69-79, 215-237 (every
/// presence push with an `event` counts; at most CLIENT_PRESENCE_MAX_CALLS per
/// CLIENT_PRESENCE_WINDOW_MS, R:config/runtime.exs:13-14), R:…/realtime_channel.ex:498-501
/// and 834-875 (`system` error, then phx_close).
#[tokio::test]
async fn client_presence_rate_limit_closes_the_channel() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    join_v2(
        &mut c,
        "realtime:rl",
        json!("1"),
        json!({"presence": {"key": "me"}}),
    )
    .await;
    let push =
        |r: &str, payload: Value| json!(["1", r, "realtime:rl", "presence", payload]).to_string();
    // Pushes without an event are not counted.
    for r in ["n1", "n2", "n3"] {
        c.send_text(&push(r, json!({"type": "presence"}))).await;
    }
    // Five counted pushes of any kind are answered as usual.
    let counted = [
        json!({"event": "track", "payload": {"n": 1}}),
        json!({"event": "track", "payload": {"n": 1}}),
        json!({"event": "dance"}),
        json!({"event": "untrack"}),
        json!({"event": "TRACK", "payload": {"n": 2}}),
    ];
    for (i, p) in counted.into_iter().enumerate() {
        c.send_text(&push(&format!("c{i}"), p)).await;
    }
    let before = until_heartbeat(&mut c, "h").await;
    let replies: Vec<&Value> = before.iter().filter(|v| v[3] == "phx_reply").collect();
    assert_eq!(replies.len(), 8, "{before:?}");
    assert!(before.iter().all(|v| v[3] != "system"), "{before:?}");
    // The sixth: the official shutdown pair, and no reply.
    c.send_text(&push("c5", json!({"event": "track", "payload": {"n": 3}})))
        .await;
    assert_eq!(
        c.next_json().await,
        json!(["1", null, "realtime:rl", "system", {"extension":"system","status":"error","message":"Client presence rate limit exceeded","channel":"rl"}])
    );
    assert_eq!(
        c.next_json().await,
        json!(["1", "1", "realtime:rl", "phx_close", {}])
    );
    // The limit is per channel: a new join starts afresh.
    join_v2(&mut c, "realtime:rl", json!("2"), json!({})).await;
    c.send_text(&json!(["2", "x", "realtime:rl", "presence", {"event":"untrack"}]).to_string())
        .await;
    assert_eq!(
        c.expect_json(|v| v[1] == "x").await,
        json!(["2", "x", "realtime:rl", "phx_reply", {"status":"ok","response":{}}])
    );
}

/// The limit and window come from CLIENT_PRESENCE_MAX_CALLS / CLIENT_PRESENCE_WINDOW_MS; a new
/// window starts with the first push after the previous one ended (R:…/presence_handler.ex:215-237).
#[tokio::test]
async fn client_presence_window_is_configurable_and_resets() {
    let pg = cluster().await;
    let mut cfg = pg.engine_config(SECRET, ReplicationMode::Rls);
    cfg.limits.client_presence_max_calls = 2;
    cfg.limits.client_presence_window_ms = 400;
    let e = engine(cfg).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    join_v2(&mut c, "realtime:w", json!("1"), json!({})).await;
    let untrack =
        |r: &str| json!(["1", r, "realtime:w", "presence", {"event":"untrack"}]).to_string();
    let ok = |r: &str| json!(["1", r, "realtime:w", "phx_reply", {"status":"ok","response":{}}]);
    for r in ["a", "b"] {
        c.send_text(&untrack(r)).await;
        assert_eq!(c.next_json().await, ok(r));
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for r in ["c", "d"] {
        c.send_text(&untrack(r)).await;
        assert_eq!(c.next_json().await, ok(r));
    }
    c.send_text(&untrack("e")).await;
    let sys = c.next_json().await;
    assert_eq!(sys[4]["message"], "Client presence rate limit exceeded");
    assert_eq!(c.next_json().await[3], "phx_close");
}
