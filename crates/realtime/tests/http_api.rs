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
