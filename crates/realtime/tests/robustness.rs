//! Robustness: malformed frames, random garbage and slow consumers.

mod support;

use serde_json::json;
use supalove_phoenix::Vsn;
use supalove_realtime::ReplicationMode;
use support::*;
use tokio_tungstenite::tungstenite::Message;

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
        // Bad frames are ignored (see tests/wire.rs): the socket always still answers.
        loop {
            match evil.next().await {
                None => panic!("socket closed after a bad frame"),
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
