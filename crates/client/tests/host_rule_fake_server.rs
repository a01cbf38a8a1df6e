//! The official engine picks its tenant from the Host header (`realtime-dev`). Its image cannot
//! be pulled here, so a fake server (a plain TCP listener) checks what the client sends.

use std::time::Duration;

use supalove_client::{ClientError, ClientOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn request_seen_by_fake_server(host: Option<&str>) -> (String, ClientError) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 4096];
        let n = sock.read(&mut buf).await.unwrap();
        // Refuse like the official server does for an unknown tenant.
        sock.write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
            .await
            .unwrap();
        String::from_utf8_lossy(&buf[..n]).to_string()
    });
    let mut opts = ClientOptions::new(format!("ws://127.0.0.1:{port}/socket"));
    opts.host = host.map(str::to_string);
    opts.reply_timeout = Duration::from_secs(2);
    let err = match supalove_client::connect(opts, "the-token").await {
        Ok(_) => panic!("the fake server refuses every upgrade"),
        Err(e) => e,
    };
    (server.await.unwrap(), err)
}

#[tokio::test]
async fn host_override_reaches_the_server_and_refusals_carry_the_status() {
    let (req, err) = request_seen_by_fake_server(Some("realtime-dev")).await;
    let lower = req.to_lowercase();
    assert!(
        lower.starts_with("get /socket/websocket?apikey=the-token&vsn=1.0.0 http/1.1"),
        "{req}"
    );
    assert!(lower.contains("\r\nhost: realtime-dev\r\n"), "{req}");
    assert!(
        matches!(err, ClientError::Refused { status: 403, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("HTTP 403"));

    let (req, _) = request_seen_by_fake_server(None).await;
    assert!(
        req.to_lowercase().contains("\r\nhost: 127.0.0.1:"),
        "without an override the URL's host is sent: {req}"
    );
}
