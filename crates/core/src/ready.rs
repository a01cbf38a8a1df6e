//! Readiness, probed for real: a SQL `SELECT 1` through the published port.

use std::time::{Duration, Instant};

use crate::card::{DB_NAME, DB_USER};
use crate::error::{Error, Result};

/// Runs `SELECT 1` against the project's database once.
pub async fn probe_db(port: u16, password: &str) -> std::result::Result<(), String> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host("127.0.0.1")
        .port(port)
        .user(DB_USER)
        .password(password)
        .dbname(DB_NAME)
        .connect_timeout(Duration::from_secs(2));
    let (client, conn) = cfg
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| e.to_string())?;
    let task = tokio::spawn(conn);
    let row = client
        .query_one("SELECT 1", &[])
        .await
        .map_err(|e| e.to_string())?;
    let one: i32 = row.get(0);
    drop(client);
    let _ = task.await;
    if one == 1 {
        Ok(())
    } else {
        Err(format!("SELECT 1 returned {one}"))
    }
}

/// Probes until the database answers or `timeout` passes; `alive` says whether waiting still
/// makes sense (the container might have died), and its error ends the wait at once.
pub async fn wait_db<F, Fut>(
    project: &str,
    port: u16,
    password: &str,
    timeout: Duration,
    mut alive: F,
) -> Result<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = std::result::Result<(), String>>,
{
    let started = Instant::now();
    let mut last;
    let mut tries: u32 = 0;
    loop {
        match probe_db(port, password).await {
            Ok(()) => return Ok(started.elapsed()),
            Err(e) => last = e,
        }
        tries += 1;
        // Check the container only every few tries: inspect is cheap but not free.
        if tries.is_multiple_of(10) {
            if let Err(why) = alive().await {
                return Err(not_ready(project, why));
            }
        }
        if started.elapsed() > timeout {
            return Err(not_ready(
                project,
                format!("no answer to SELECT 1 after {}s: {last}", timeout.as_secs()),
            ));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn not_ready(project: &str, detail: String) -> Error {
    Error::NotReady {
        project: project.to_string(),
        service: "db".into(),
        detail,
        last_logs: Vec::new(),
    }
}
