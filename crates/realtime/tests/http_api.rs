//! The HTTP API: ping, health endpoints and the broadcast API (public and private).

mod support;

use serde_json::json;
use supalove_phoenix::Vsn;
use supalove_realtime::ReplicationMode;
use support::*;

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

/// The engine's HTTP API, through the test kit's raw client.
struct Http(std::net::SocketAddr);

impl Http {
    async fn req(
        &self,
        method: &str,
        path: &str,
        bearer: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        supalove_realtime::testkit::http_request(self.0, method, path, bearer, body).await
    }
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

/// One HTTP/1.1 request with any headers and a raw body.
async fn raw_req(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let out = String::from_utf8_lossy(&out).into_owned();
    let code = out[9..12].parse().unwrap();
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// R:lib/realtime/tenants/batch_broadcast.ex:20-27, 105-151 (validation errors, `id` → meta)
/// and R:lib/realtime_web/plugs/auth_tenant.ex:17-76 (401 `{"message":"Unauthorized"}`).
#[tokio::test]
async fn batch_broadcast_validation_auth_and_meta() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    c.join("realtime:b", json!({})).await;
    let anon = format!("bearer {}", token("anon"));
    let json_ct = ("Content-Type", "application/json");
    let (code, body) = raw_req(e.addr, "POST", "/api/broadcast", &[json_ct], b"{}").await;
    assert_eq!(
        (code, body.as_str()),
        (401, r#"{"message":"Unauthorized"}"#)
    );
    let bad = json!({"messages": [{"topic": "b", "event": "e", "payload": {}}, {"topic": "b", "payload": 5}]});
    let (code, body) = raw_req(
        e.addr,
        "POST",
        "/realtime/v1/api/broadcast",
        &[json_ct, ("Authorization", &anon)],
        bad.to_string().as_bytes(),
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"errors": {"messages": [{}, {"event": ["can't be blank"], "payload": ["is invalid"]}]}})
    );
    let ok = json!({"messages": [{"topic": "b", "event": "e", "payload": {"n": 1}, "id": "m-1"}]});
    let key = token("anon");
    let (code, body) = raw_req(
        e.addr,
        "POST",
        "/realtime/v1/api/broadcast",
        &[json_ct, ("apikey", &key)],
        ok.to_string().as_bytes(),
    )
    .await;
    assert_eq!((code, body.as_str()), (202, ""));
    let got = c.expect("realtime:b", "broadcast").await;
    assert_eq!(
        got.payload,
        json!({"type": "broadcast", "event": "e", "payload": {"n": 1}, "meta": {"id": "m-1"}})
    );
}

/// R:lib/realtime/tenants/single_broadcast.ex:68-266 and
/// R:lib/realtime_web/plugs/validate_broadcast_content_type.ex:18-40: what realtime-js
/// `httpSend` posts; 415 for other media types, 403 for a private topic without write
/// permission, 202 and a user broadcast (binary for vsn 2.0.0, JSON for 1.0.0) otherwise.
#[tokio::test]
async fn single_broadcast_endpoint() {
    let (pg, e) = setup(ReplicationMode::Rls).await;
    wait_live(&e).await;
    sql(
        &pg,
        "create policy r on realtime.messages for select to authenticated using (true)",
    )
    .await;
    let mut v2 = connect(&e, &token("anon"), Vsn::V2).await;
    v2.join("realtime:room 1", json!({})).await;
    let mut v1 = connect(&e, &token("anon"), Vsn::V1).await;
    v1.join("realtime:room 1", json!({})).await;
    let key = token("anon");
    let auth = [
        ("apikey", key.as_str()),
        ("Content-Type", "application/json"),
    ];
    let path = "/api/broadcast/room%201/events/cursor%2Fmove";
    let (code, _) = raw_req(e.addr, "POST", path, &auth, br#"{"x":1}"#).await;
    assert_eq!(code, 202);
    let b = loop {
        match v2.next().await {
            Some(Incoming::Binary(b)) => break b,
            Some(Incoming::Text(_)) => continue,
            None => panic!("vsn 2.0.0 gets a binary user broadcast"),
        }
    };
    assert_eq!(
        (b.topic.as_str(), b.event.as_str()),
        ("realtime:room 1", "cursor/move")
    );
    assert_eq!(
        b.body,
        supalove_phoenix::BroadcastBody::Json(json!({"x": 1}))
    );
    let got = v1.expect("realtime:room 1", "broadcast").await;
    assert_eq!(
        got.payload,
        json!({"type": "broadcast", "event": "cursor/move", "payload": {"x": 1}})
    );
    // Raw bytes reach vsn 2.0.0 members as bytes.
    let bin = [
        ("apikey", key.as_str()),
        ("Content-Type", "application/octet-stream"),
    ];
    let path_v1 = "/realtime/v1/api/broadcast/room%201/events/raw";
    assert_eq!(
        raw_req(e.addr, "POST", path_v1, &bin, &[0, 1, 2]).await.0,
        202
    );
    let Some(Incoming::Binary(b)) = v2.next().await else {
        panic!("no binary broadcast")
    };
    assert_eq!(
        b.body,
        supalove_phoenix::BroadcastBody::Binary(vec![0, 1, 2])
    );
    let text = [("apikey", key.as_str()), ("Content-Type", "text/plain")];
    let (code, body) = raw_req(e.addr, "POST", path, &text, b"hi").await;
    assert_eq!(code, 415);
    assert!(body.contains("Unsupported Media Type"), "{body}");
    let authed = token("authenticated");
    let auth_priv = [
        ("Authorization", &*format!("Bearer {authed}")),
        ("Content-Type", "application/json"),
    ];
    let (code, body) = raw_req(
        e.addr,
        "POST",
        "/api/broadcast/vip/events/e?private=true",
        &auth_priv,
        b"{}",
    )
    .await;
    assert_eq!(
        (code, body.as_str()),
        (403, r#"{"message":"Unauthorized"}"#)
    );
    let (code, _) = raw_req(
        e.addr,
        "POST",
        path,
        &[("apikey", "sb_publishable_x")],
        b"{}",
    )
    .await;
    assert_eq!(code, 401);
}

/// The Supabase APIs a project does not have answer 501 with a JSON body the clients turn
/// into `error` (code, message, hint), never a silent success.
#[tokio::test]
async fn missing_supabase_apis_answer_501_with_a_hint() {
    let (_pg, e) = setup(ReplicationMode::Rls).await;
    for (method, path, needle) in [
        ("POST", "/rest/v1/todos", "supalove insert"),
        ("GET", "/rest/v1/", "DB_URL"),
        ("POST", "/auth/v1/signup", "ANON_KEY"),
        ("GET", "/storage/v1/bucket", "DB_URL"),
        ("POST", "/functions/v1/hello", "DB_URL"),
        ("POST", "/graphql/v1", "DB_URL"),
    ] {
        assert_eq!(raw_req(e.addr, "GET", "/restless", &[], b"").await.0, 404);
        let (code, body) = raw_req(e.addr, method, path, &[], b"").await;
        assert_eq!(code, 501, "{path}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["code"], "not_implemented");
        assert!(v["message"].as_str().unwrap().contains(path), "{v}");
        assert!(v["hint"].as_str().unwrap().contains(needle), "{path}: {v}");
    }
}
