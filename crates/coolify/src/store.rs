//! What a project remembers about its Coolify deployment: the instance and every uuid, so a
//! rerun updates the same service instead of creating a second one (Coolify names are not
//! unique, so nothing is ever rediscovered by name alone). No secret is kept here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use supalove_core::error::{Error, Result};

/// One project's deployment on a Coolify instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deployment {
    /// The instance (`https://coolify.example.com`).
    pub base_url: String,
    /// The server it runs on (asked for, or the first usable one).
    #[serde(default)]
    pub server_uuid: Option<String>,
    #[serde(default)]
    pub project_uuid: Option<String>,
    #[serde(default)]
    pub environment_name: Option<String>,
    #[serde(default)]
    pub environment_uuid: Option<String>,
    /// The Coolify service that holds the stack.
    #[serde(default)]
    pub service_uuid: Option<String>,
    /// The realtime host the user chose (`--domain`), if any.
    #[serde(default)]
    pub domain: Option<String>,
    /// `wss://host/socket`, once known.
    #[serde(default)]
    pub realtime_url: Option<String>,
}

/// Where deployments are kept.
pub trait DeploymentStore: Send + Sync {
    /// The deployment of `project_id`, if any.
    fn get(&self, project_id: &str) -> Result<Option<Deployment>>;
    /// Stores (replaces) the deployment of `project_id`.
    fn put(&self, project_id: &str, deployment: &Deployment) -> Result<()>;
    /// Forgets `project_id`.
    fn delete(&self, project_id: &str) -> Result<()>;
    /// Every project with a deployment.
    fn ids(&self) -> Result<Vec<String>>;
}

/// Deployments in memory (tests, or a caller that persists them itself).
#[derive(Debug, Default)]
pub struct MemoryStore(Mutex<BTreeMap<String, Deployment>>);

impl DeploymentStore for MemoryStore {
    fn get(&self, project_id: &str) -> Result<Option<Deployment>> {
        Ok(self.0.lock().expect("store").get(project_id).cloned())
    }
    fn put(&self, project_id: &str, deployment: &Deployment) -> Result<()> {
        self.0
            .lock()
            .expect("store")
            .insert(project_id.to_string(), deployment.clone());
        Ok(())
    }
    fn delete(&self, project_id: &str) -> Result<()> {
        self.0.lock().expect("store").remove(project_id);
        Ok(())
    }
    fn ids(&self) -> Result<Vec<String>> {
        Ok(self.0.lock().expect("store").keys().cloned().collect())
    }
}

/// Deployments in one JSON file (`coolify-deployments.json` in the app-data dir), rewritten
/// atomically.
#[derive(Debug)]
pub struct FileStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileStore {
    /// A store at `path` (created on first write).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileStore {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    fn load(&self) -> Result<BTreeMap<String, Deployment>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| Error::Registry {
                path: self.path.clone(),
                detail: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(Error::Registry {
                path: self.path.clone(),
                detail: e.to_string(),
            }),
        }
    }

    fn save(&self, all: &BTreeMap<String, Deployment>) -> Result<()> {
        let io = |e: std::io::Error| Error::Registry {
            path: self.path.clone(),
            detail: e.to_string(),
        };
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = self.path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(all).expect("deployments serialize");
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

impl DeploymentStore for FileStore {
    fn get(&self, project_id: &str) -> Result<Option<Deployment>> {
        let _g = self.lock.lock().expect("store");
        Ok(self.load()?.remove(project_id))
    }
    fn put(&self, project_id: &str, deployment: &Deployment) -> Result<()> {
        let _g = self.lock.lock().expect("store");
        let mut all = self.load()?;
        all.insert(project_id.to_string(), deployment.clone());
        self.save(&all)
    }
    fn delete(&self, project_id: &str) -> Result<()> {
        let _g = self.lock.lock().expect("store");
        let mut all = self.load()?;
        if all.remove(project_id).is_some() {
            self.save(&all)?;
        }
        Ok(())
    }
    fn ids(&self) -> Result<Vec<String>> {
        let _g = self.lock.lock().expect("store");
        Ok(self.load()?.into_keys().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_survives_a_new_instance() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.json");
        let d = Deployment {
            base_url: "https://c".into(),
            service_uuid: Some("s".repeat(24)),
            ..Default::default()
        };
        FileStore::new(&path).put("shop", &d).unwrap();
        let again = FileStore::new(&path);
        assert_eq!(again.get("shop").unwrap(), Some(d));
        assert_eq!(again.ids().unwrap(), ["shop"]);
        again.delete("shop").unwrap();
        assert_eq!(FileStore::new(&path).get("shop").unwrap(), None);
    }
}
