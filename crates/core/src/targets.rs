//! Targets: where projects run besides the local Docker engine (Coolify instances). The list
//! is a small file in the app-data dir without secrets; each target's API token lives in the
//! secret store under the owner `_target-<name>` (never a project name: those cannot start
//! with `_`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::name::validate_name;
use crate::secrets::{SecretKind, SecretStore};

/// What kind of system a target is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum TargetKind {
    /// A Coolify v4 instance, driven over its HTTP API.
    Coolify,
}

/// One target as it was added (no token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct TargetRecord {
    /// The name projects refer to (`prod`), a DNS label like project names.
    pub name: String,
    pub kind: TargetKind,
    /// The instance's URL (`https://coolify.example.com`).
    pub url: String,
    /// The server new projects go to unless `--server` says otherwise.
    #[serde(default)]
    pub server_uuid: Option<String>,
    /// Seconds since the Unix epoch.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub added_at: u64,
}

/// The secret-store owner of a target's token.
pub fn token_owner(name: &str) -> String {
    format!("_target-{name}")
}

/// The targets file (`targets.json` in the app-data dir).
#[derive(Debug, Clone)]
pub struct Targets {
    path: PathBuf,
}

#[derive(Default, Serialize, Deserialize)]
struct TargetsFile {
    version: u32,
    targets: Vec<TargetRecord>,
}

impl Targets {
    /// The targets of the supalove home `home`.
    pub fn new(home: &std::path::Path) -> Self {
        Targets {
            path: home.join("targets.json"),
        }
    }

    /// Every target, in the order they were added.
    pub fn load(&self) -> Result<Vec<TargetRecord>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str::<TargetsFile>(&text)
                .map(|f| f.targets)
                .map_err(|e| Error::Registry {
                    path: self.path.clone(),
                    detail: e.to_string(),
                }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io(format!("reading {}", self.path.display()), e)),
        }
    }

    /// The target named `name`.
    pub fn get(&self, name: &str) -> Result<TargetRecord> {
        self.load()?
            .into_iter()
            .find(|t| t.name == name)
            .ok_or_else(|| Error::InvalidRequest(format!(
                "no target named {name:?}: add it with `supalove target add {name} --coolify <url> --token-stdin` (see `supalove target list`)"
            )))
    }

    fn save(&self, targets: Vec<TargetRecord>) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            crate::registry::create_private_dir(dir)?;
        }
        let text = serde_json::to_string_pretty(&TargetsFile {
            version: 1,
            targets,
        })
        .expect("targets serialize");
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|e| Error::io(format!("writing {}", self.path.display()), e))
    }

    /// Adds (or replaces, keeping its position) a target and stores its token.
    pub fn add(&self, store: &dyn SecretStore, record: TargetRecord, token: &str) -> Result<()> {
        validate_name(&record.name)?;
        if token.trim().is_empty() {
            return Err(Error::InvalidRequest(
                "the token is empty: pipe it in, e.g. `printf %s \"$TOKEN\" | supalove target add ... --token-stdin`".into(),
            ));
        }
        store.set(
            &token_owner(&record.name),
            SecretKind::TargetToken,
            token.trim(),
        )?;
        let mut all = self.load()?;
        match all.iter_mut().find(|t| t.name == record.name) {
            Some(t) => *t = record,
            None => all.push(record),
        }
        self.save(all)
    }

    /// Forgets a target and deletes its token; true when it existed.
    pub fn remove(&self, store: &dyn SecretStore, name: &str) -> Result<bool> {
        let mut all = self.load()?;
        let before = all.len();
        all.retain(|t| t.name != name);
        store.delete(&token_owner(name), SecretKind::TargetToken)?;
        if all.len() == before {
            return Ok(false);
        }
        self.save(all)?;
        Ok(true)
    }

    /// The API token of `name`.
    pub fn token(&self, store: &dyn SecretStore, name: &str) -> Result<String> {
        store
            .get(&token_owner(name), SecretKind::TargetToken)?
            .ok_or_else(|| Error::SecretMissing {
                project: token_owner(name),
                what: SecretKind::TargetToken.describe(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_keep_the_token_out_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::secrets::FileStore::new(dir.path().join("secrets"));
        let targets = Targets::new(dir.path());
        let record = TargetRecord {
            name: "prod".into(),
            kind: TargetKind::Coolify,
            url: "https://c.example.com".into(),
            server_uuid: None,
            added_at: 1,
        };
        targets
            .add(&store, record.clone(), "7|secret-token\n")
            .unwrap();
        assert_eq!(targets.load().unwrap(), std::slice::from_ref(&record));
        assert_eq!(targets.token(&store, "prod").unwrap(), "7|secret-token");
        let file = std::fs::read_to_string(dir.path().join("targets.json")).unwrap();
        assert!(!file.contains("secret-token"), "{file}");
        assert!(targets
            .add(
                &store,
                TargetRecord {
                    name: "Bad Name".into(),
                    ..record
                },
                "t"
            )
            .is_err());
        assert!(targets
            .add(&store, targets.get("prod").unwrap(), " ")
            .is_err());
        assert!(targets.remove(&store, "prod").unwrap());
        assert!(targets.get("prod").is_err());
        assert!(targets.token(&store, "prod").is_err(), "the token went too");
        assert!(!targets.remove(&store, "prod").unwrap());
    }
}
