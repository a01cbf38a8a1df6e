#![warn(missing_docs)]
//! Phoenix channel wire protocol as spoken by Supabase Realtime and `@supabase/realtime-js`.
//!
//! This crate holds frames, the two serializers (`vsn` 1.0.0 JSON objects and 2.0.0 JSON
//! arrays plus binary user-broadcast frames) and typed client messages. It does no I/O, so the
//! server engine and any client can share it.

pub mod binary;
pub mod error;
pub mod frame;
pub mod messages;
pub mod serializer;

pub use binary::{BinaryIn, BroadcastBody, UserBroadcast};
pub use error::DecodeError;
pub use frame::Frame;
pub use messages::{
    ClientMessage, JoinConfig, PostgresChangeParams, PostgresChangesOptions, PresenceRequest,
};
pub use serializer::{Decoded, Refs, Vsn};
