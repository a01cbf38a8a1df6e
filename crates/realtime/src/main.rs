//! `supalove-realtime`: run the engine configured from the environment.

use anyhow::Context;
use supalove_realtime::{Config, Engine};
use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LOG_LEVEL")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            // A plain line for `docker logs`, not a backtrace.
            eprintln!("supalove-realtime: invalid configuration: {e}");
            std::process::exit(2);
        }
    };
    tracing::info!(bind = %config.limits.bind, port = config.port, mode = ?config.mode, slot = %config.slot_name,
        temporary_slot = config.temporary_slot, secure_channels = config.secure_channels,
        "starting supalove-realtime");
    let listener = TcpListener::bind((config.limits.bind, config.port))
        .await
        .with_context(|| {
            format!(
                "cannot listen on {}:{} (check PORT and BIND_ADDRESS)",
                config.limits.bind, config.port
            )
        })?;
    let mut engine = Engine::start(config, listener)?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    tokio::select! {
        r = engine.wait() => r.context("server stopped")?,
        _ = tokio::signal::ctrl_c() => tracing::info!("interrupted; shutting down"),
        _ = term.recv() => tracing::info!("terminated; shutting down"),
    }
    Ok(())
}
