//! supalove-core: the domain and use cases of supalove. No UI, no Docker client: the engine
//! sits behind [`provisioner::Provisioner`].

pub mod backup;
pub mod card;
pub mod doctor;
pub mod downloads;
pub mod error;
pub mod export;
pub mod keys;
pub mod loglines;
#[cfg(test)]
pub(crate) mod memory;
pub mod name;
pub mod ports;
pub mod projects;
pub mod provisioner;
pub mod ready;
pub mod registry;
pub mod routed;
pub mod secrets;
pub mod settings;
pub mod spec;
pub mod sql;
pub mod subscription;
pub mod targets;
pub mod template;
pub mod volumes;

pub use error::{Error, ErrorKind, Result, Shell};
pub use projects::{CreateProject, RemoveOptions, Supalove};
