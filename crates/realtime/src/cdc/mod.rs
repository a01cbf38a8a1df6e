//! Change data capture: pgoutput logical decoding, subscriptions, RLS and dispatch.

pub mod capture;
pub mod dispatch;
pub mod filter;
pub mod pattern;
pub mod pgoutput;
pub mod registry;
pub mod relations;
pub mod replication;
pub mod subscribe;
pub mod values;
