//! Shared engine state handed to every connection.

use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::{Arc, RwLock};

use tokio::sync::watch;
use tokio_postgres::Client;

use crate::cdc::capture::CaptureStatus;
use crate::cdc::registry::Registry;
use crate::config::Config;
use crate::hub::Hub;

/// Everything connections share: configuration, topics, subscriptions, capture status.
#[derive(Debug)]
pub struct State {
    /// Validated configuration.
    pub config: Config,
    /// Topics, broadcast and presence.
    pub hub: Hub,
    /// postgres_changes subscriptions.
    pub subs: Registry,
    /// Capture status, for health and for "Subscribed to PostgreSQL".
    pub capture: watch::Receiver<CaptureStatus>,
    /// Connection for validation queries, while the database is reachable.
    pub db: RwLock<Option<Arc<Client>>>,
    /// Source of socket ids.
    pub next_socket: AtomicU64,
    /// Open websockets.
    pub sockets: AtomicUsize,
}
