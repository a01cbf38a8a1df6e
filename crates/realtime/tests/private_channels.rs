//! Private channels: realtime.messages policies and separation from public rooms.

mod support;

use serde_json::json;
use supalove_phoenix::Vsn;
use supalove_realtime::ReplicationMode;
use support::*;

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
    // Without write permission the broadcast is dropped with no reply even with ack, as the
    // official broadcast handler does (see tests/wire.rs): the next reply is the heartbeat's.
    let hb = user.push("phoenix", "heartbeat", json!({}), None).await;
    let next = user.expect_json(|v| v[3] == "phx_reply").await;
    assert_eq!(next[1], json!(hb), "no reply to the denied broadcast {r}");
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
