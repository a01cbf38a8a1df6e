//! What a project remembers about its Coolify deployment: the instance and every uuid, so a
//! rerun updates the same service instead of creating a second one (Coolify names are not
//! unique, so nothing is ever rediscovered by name alone). No secret is kept here.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Mutex;

use supalove_core::error::{Error, Result};
use supalove_core::registry::Registry;

/// One project's deployment on a Coolify instance (kept in the project's registry record).
pub use supalove_core::registry::RemoteDeployment as Deployment;

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

/// Deployments in the projects' registry records (`remote`), which core creates before the
/// first apply: the store supalove's shells use.
#[derive(Debug, Clone)]
pub struct RegistryStore(pub Registry);

impl DeploymentStore for RegistryStore {
    fn get(&self, project_id: &str) -> Result<Option<Deployment>> {
        Ok(self
            .0
            .load()?
            .into_iter()
            .find(|r| r.id == project_id)
            .and_then(|r| r.remote))
    }
    fn put(&self, project_id: &str, deployment: &Deployment) -> Result<()> {
        let lock = self.0.lock()?;
        let mut record = self
            .0
            .load()?
            .into_iter()
            .find(|r| r.id == project_id)
            .ok_or_else(|| Error::NotFound(project_id.to_string()))?;
        record.remote = Some(deployment.clone());
        self.0.upsert(&lock, record)
    }
    fn delete(&self, project_id: &str) -> Result<()> {
        let lock = self.0.lock()?;
        let found = self.0.load()?.into_iter().find(|r| r.id == project_id);
        match found {
            Some(mut record) if record.remote.is_some() => {
                record.remote = None;
                self.0.upsert(&lock, record)
            }
            _ => Ok(()),
        }
    }
    fn ids(&self) -> Result<Vec<String>> {
        Ok(self
            .0
            .load()?
            .into_iter()
            .filter(|r| r.remote.is_some())
            .map(|r| r.id)
            .collect())
    }
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
