//! Readiness, probed for real: a SQL `SELECT 1` through the published port, the engine's
//! health endpoint, a websocket join; one probe type and one wait loop for every caller.

use std::time::{Duration, Instant};

/// Runs `SELECT 1` against the project's database once.
pub async fn probe_db(port: u16, password: &str) -> std::result::Result<(), String> {
    let client = crate::sql::connect(port, password)
        .await
        .map_err(|e| e.to_string())?;
    let row = client
        .query_one("SELECT 1", &[])
        .await
        .map_err(|e| e.to_string())?;
    match row.get::<_, i32>(0) {
        1 => Ok(()),
        other => Err(format!("SELECT 1 returned {other}")),
    }
}

/// One readiness check, probed for real the way a client would.
#[derive(Debug, Clone, Copy)]
pub enum Probe<'a> {
    /// `SELECT 1` through the published database port.
    Db { port: u16, password: &'a str },
    /// `GET path` on 127.0.0.1:`port` answers 200.
    Http {
        port: u16,
        path: &'a str,
        host: Option<&'a str>,
        bearer: Option<&'a str>,
    },
    /// A websocket client joins a channel and receives its own broadcast.
    Join {
        url: &'a str,
        host: Option<&'a str>,
        token: &'a str,
    },
}

impl Probe<'_> {
    /// Runs the check once.
    pub async fn once(&self) -> std::result::Result<(), String> {
        match *self {
            Probe::Db { port, password } => probe_db(port, password).await,
            Probe::Http {
                port,
                path,
                host,
                bearer,
            } => match http_status(port, path, host, bearer).await? {
                200 => Ok(()),
                code => Err(format!("{path} answered HTTP {code}")),
            },
            Probe::Join { url, host, token } => probe_realtime_join(url, host, token)
                .await
                .map_err(|e| format!("websocket join: {e}")),
        }
    }
}

/// How one service is waited for.
pub struct Wait<'a> {
    /// Checks that must all pass, in order.
    pub probes: &'a [Probe<'a>],
    pub timeout: Duration,
    /// Pause between rounds.
    pub interval: Duration,
}

/// What one round of [`wait_until`] found when a probe failed.
enum Round {
    /// Not ready yet: try again after the interval.
    NotYet(String),
    /// Waiting makes no sense any more (timeout, or the container died).
    GiveUp(String),
}

/// The one readiness loop: probes until all pass or `timeout` passes; every tenth round
/// `alive` says whether waiting still makes sense (the container might have died), and its
/// error ends the wait at once. Rounds are `interval` apart (a constant backon policy).
/// Returns how long it took, or why it gave up.
pub async fn wait_until<F, Fut>(wait: Wait<'_>, alive: F) -> std::result::Result<Duration, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<(), String>>,
{
    use backon::{ConstantBuilder, Retryable};
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    let started = Instant::now();
    let tries = AtomicU32::new(0);
    let alive = Mutex::new(alive);
    let round = || async {
        let mut last = None;
        for probe in wait.probes {
            if let Err(e) = probe.once().await {
                last = Some(e);
                break;
            }
        }
        let Some(last) = last else {
            return Ok(());
        };
        let round = tries.fetch_add(1, Ordering::Relaxed) + 1;
        // Inspect is cheap but not free: check the container only every few rounds.
        if round.is_multiple_of(10) {
            let check = {
                let mut alive = alive.lock().unwrap_or_else(|e| e.into_inner());
                alive()
            };
            check.await.map_err(Round::GiveUp)?;
        }
        if started.elapsed() > wait.timeout {
            return Err(Round::GiveUp(format!(
                "not ready after {}s: {last}",
                wait.timeout.as_secs()
            )));
        }
        Err(Round::NotYet(last))
    };
    let policy = ConstantBuilder::new()
        .with_delay(wait.interval)
        .without_max_times();
    round
        .retry(policy)
        .when(|r| matches!(r, Round::NotYet(_)))
        .await
        .map(|()| started.elapsed())
        .map_err(|(Round::NotYet(why) | Round::GiveUp(why))| why)
}

/// `GET path` on 127.0.0.1:`port`; the HTTP status, or why there was none.
pub async fn http_status(
    port: u16,
    path: &str,
    host: Option<&str>,
    bearer: Option<&str>,
) -> std::result::Result<u16, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::time::timeout(
        Duration::from_secs(2),
        tokio::net::TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    .map_err(|_| "connect timed out".to_string())?
    .map_err(|e| e.to_string())?;
    let mut req = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
        host.unwrap_or("127.0.0.1")
    );
    if let Some(token) = bearer {
        req.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    req.push_str("\r\n");
    stream
        .write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut head = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut head))
        .await
        .map_err(|_| "no answer".to_string())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&head[..n]);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {text:?}"))
}

/// Joins a channel and sends a broadcast to itself (self + ack): the proof that a client can
/// really connect, authenticate, join and receive. postgres_changes are not needed for this
/// (a fresh project has no published table yet, which the engine rightly refuses to bind).
pub async fn probe_realtime_join(
    url: &str,
    host: Option<&str>,
    token: &str,
) -> std::result::Result<(), String> {
    let mut options = supalove_client::ClientOptions::new(url);
    options.host = host.map(str::to_string);
    options.reconnect = false;
    options.reply_timeout = Duration::from_secs(5);
    let (client, mut events) = supalove_client::connect(options, token)
        .await
        .map_err(|e| e.to_string())?;
    let topic = supalove_client::topic("supalove-readiness");
    let config = supalove_client::ChannelConfig {
        broadcast_self: true,
        broadcast_ack: true,
        ..Default::default()
    };
    let result = async {
        client.join(&topic, &config).await.map_err(|e| e.to_string())?;
        client
            .broadcast(&topic, "ping", serde_json::json!({ "from": "supalove" }), true)
            .await
            .map_err(|e| e.to_string())?;
        let deadline = tokio::time::sleep(Duration::from_secs(5));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                ev = events.recv() => match ev {
                    Some(supalove_client::Event::Broadcast { event, .. }) if event == "ping" => return Ok(()),
                    Some(_) => {}
                    None => return Err("the socket closed".to_string()),
                },
                _ = &mut deadline => return Err("our own broadcast did not come back within 5 s".to_string()),
            }
        }
    }
    .await;
    client.close();
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A loopback port with nothing listening on it (bound, then released).
    fn closed_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn http_probe(port: u16) -> Probe<'static> {
        Probe::Http {
            port,
            path: "/health",
            host: None,
            bearer: None,
        }
    }

    #[tokio::test]
    async fn wait_until_gives_up_after_the_timeout_with_the_last_error_and_checks_alive_every_tenth_round(
    ) {
        let probes = [http_probe(closed_port())];
        let alive_calls = AtomicU32::new(0);
        let wait = Wait {
            probes: &probes,
            timeout: Duration::from_millis(600),
            interval: Duration::from_millis(20),
        };
        let err = wait_until(wait, || async {
            alive_calls.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .await
        .unwrap_err();
        assert!(err.starts_with("not ready after 0s: "), "{err}");
        assert!(err.to_lowercase().contains("refused"), "{err}");
        // Rounds are >= 20 ms apart, so 600 ms holds at most ~30 rounds: alive ran at rounds
        // 10, 20, ... and never on the others.
        let calls = alive_calls.load(Ordering::SeqCst);
        assert!((1..=3).contains(&calls), "alive ran {calls} times");
    }

    #[tokio::test]
    async fn wait_until_stops_at_once_when_alive_says_the_container_died() {
        let probes = [http_probe(closed_port())];
        let wait = Wait {
            probes: &probes,
            timeout: Duration::from_secs(60),
            interval: Duration::from_millis(1),
        };
        let err = wait_until(wait, || async {
            Err("the container exited (code 1)".into())
        })
        .await
        .unwrap_err();
        assert_eq!(err, "the container exited (code 1)");
    }

    #[tokio::test]
    async fn wait_until_returns_once_every_probe_passes() {
        // Nothing listens at first; an HTTP server answering 200 comes up after a few rounds.
        let port = closed_port();
        let server = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .unwrap();
            loop {
                let (mut s, _) = listener.accept().await.unwrap();
                let mut buf = [0u8; 512];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                    .await;
            }
        });
        let probes = [http_probe(port)];
        let wait = Wait {
            probes: &probes,
            timeout: Duration::from_secs(30),
            interval: Duration::from_millis(10),
        };
        let took = wait_until(wait, || async { Ok(()) }).await.unwrap();
        assert!(took >= Duration::from_millis(150), "{took:?}");
        server.abort();
    }
}
