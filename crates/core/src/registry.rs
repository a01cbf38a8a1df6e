//! The registry of projects: what was asked for (names, ports, images). It never holds a secret.
//!
//! One JSON file in the app-data dir, written atomically (temp file + rename) under an
//! exclusive lock so concurrent CLI runs and the app never lose each other's changes.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ports::Ports;

/// Version of the stack template a project was created with.
pub const TEMPLATE_VERSION: u32 = 2;

/// Which Realtime server a project runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum RealtimeEngine {
    /// supalove's own engine (`supalove/realtime`), configured by the project plan's variables.
    #[default]
    Native,
    /// The official `supabase/realtime` image, configured as its own source expects.
    Supabase,
}

impl RealtimeEngine {
    /// Parses `native` or `supabase`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "native" => Ok(RealtimeEngine::Native),
            "supabase" => Ok(RealtimeEngine::Supabase),
            other => Err(Error::InvalidSetting {
                name: "engine".into(),
                reason: format!("{other:?} is neither `native` nor `supabase`"),
            }),
        }
    }

    /// The name used in templates and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            RealtimeEngine::Native => "native",
            RealtimeEngine::Supabase => "supabase",
        }
    }
}

/// One project as it was asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRecord {
    /// The name the person chose (a DNS label).
    pub name: String,
    /// The id used in Docker object names (`project_<id>_<service>`); equal to the name.
    pub id: String,
    /// Host ports on 127.0.0.1.
    pub ports: Ports,
    /// Postgres image chosen when the project was created.
    pub db_image: String,
    /// The Realtime server of the stack.
    #[serde(default)]
    pub realtime_engine: RealtimeEngine,
    /// Realtime image chosen when the project was created (empty: from the settings).
    #[serde(default)]
    pub realtime_image: String,
    /// The gateway's image when the stack has one in front of a native engine (test-only
    /// setting); an official-engine stack always has a gateway (image from the settings when
    /// this is empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_image: Option<String>,
    /// Stack template version.
    pub template_version: u32,
    /// Creation time, seconds since the Unix epoch; also the `iat` of the derived keys.
    pub created_at: u64,
    /// False until the first provisioning finished; a rerun of `new` resumes such a project.
    #[serde(default)]
    pub provisioned: bool,
    /// The identity of the project's data volume, so a lost or swapped one is noticed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_volume: Option<crate::volumes::DataVolume>,
    /// The remote target the project runs on (`supalove target list`); None: the local
    /// Docker engine.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Where its deployment lives on that target (instance URL and uuids; no secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteDeployment>,
}

/// A project's deployment on a remote target (a Coolify instance): the instance and every
/// uuid, so a rerun updates the same service instead of creating a second one (Coolify names
/// are not unique, so nothing is rediscovered by name alone).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteDeployment {
    /// The instance (`https://coolify.example.com`).
    pub base_url: String,
    /// The server it runs on (asked for with `--server`, or the first usable one).
    #[serde(default)]
    pub server_uuid: Option<String>,
    #[serde(default)]
    pub project_uuid: Option<String>,
    #[serde(default)]
    pub environment_name: Option<String>,
    #[serde(default)]
    pub environment_uuid: Option<String>,
    /// The service that holds the stack.
    #[serde(default)]
    pub service_uuid: Option<String>,
    /// The realtime host asked for with `--domain`, if any.
    #[serde(default)]
    pub domain: Option<String>,
    /// `wss://host/socket`, once known.
    #[serde(default)]
    pub realtime_url: Option<String>,
}

impl ProjectRecord {
    /// Whether the stack has the gateway in front of its Realtime engine.
    pub fn has_gateway(&self) -> bool {
        self.realtime_engine == RealtimeEngine::Supabase || self.gateway_image.is_some()
    }

    /// A fresh record for `name`.
    pub fn new(name: String, ports: Ports, db_image: String, created_at: u64) -> Self {
        ProjectRecord {
            id: name.clone(),
            name,
            ports,
            db_image,
            realtime_engine: RealtimeEngine::Native,
            realtime_image: String::new(),
            gateway_image: None,
            template_version: TEMPLATE_VERSION,
            created_at,
            provisioned: false,
            data_volume: None,
            target: None,
            remote: None,
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct RegistryFile {
    version: u32,
    projects: Vec<ProjectRecord>,
}

/// Access to the registry file.
#[derive(Debug, Clone)]
pub struct Registry {
    path: PathBuf,
}

/// The exclusive right to create one project; released on drop.
pub struct ProjectClaim {
    _file: File,
}

/// An exclusive hold on the registry; released on drop.
pub struct RegistryLock {
    _file: File,
}

impl Registry {
    /// The registry stored at `path` (created on first write).
    pub fn new(path: PathBuf) -> Self {
        Registry { path }
    }

    /// Where the registry lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Claims the right to create `name` for as long as the claim lives; another creation of
    /// the same name (in this process or another) gets [`Error::Busy`] instead of waiting.
    pub fn claim(&self, name: &str) -> Result<ProjectClaim> {
        let dir = self.dir().join("claims");
        create_private_dir(self.dir())?;
        create_private_dir(&dir)?;
        let path = dir.join(format!("{name}.lock"));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
        match file.try_lock() {
            Ok(()) => Ok(ProjectClaim { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::Busy(name.to_string())),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(Error::io(format!("locking {}", path.display()), e))
            }
        }
    }

    /// Blocks until this process holds the registry exclusively.
    pub fn lock(&self) -> Result<RegistryLock> {
        let dir = self.dir();
        create_private_dir(dir)?;
        let lock_path = self.path.with_extension("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| Error::io(format!("opening {}", lock_path.display()), e))?;
        file.lock()
            .map_err(|e| Error::io(format!("locking {}", lock_path.display()), e))?;
        Ok(RegistryLock { _file: file })
    }

    /// All projects, in creation order.
    pub fn load(&self) -> Result<Vec<ProjectRecord>> {
        match fs::read(&self.path) {
            Ok(bytes) => {
                let file: RegistryFile =
                    serde_json::from_slice(&bytes).map_err(|e| Error::Registry {
                        path: self.path.clone(),
                        detail: e.to_string(),
                    })?;
                Ok(file.projects)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::io(format!("reading {}", self.path.display()), e)),
        }
    }

    /// One project by name.
    pub fn get(&self, name: &str) -> Result<ProjectRecord> {
        self.load()?
            .into_iter()
            .find(|p| p.name == name)
            .ok_or_else(|| Error::NotFound(name.to_string()))
    }

    /// Replaces the whole list atomically. Call with the lock held.
    pub fn save(&self, _lock: &RegistryLock, projects: &[ProjectRecord]) -> Result<()> {
        let dir = self.dir();
        create_private_dir(dir)?;
        let file = RegistryFile {
            version: 1,
            projects: projects.to_vec(),
        };
        let bytes = serde_json::to_vec_pretty(&file).expect("registry serializes");
        let tmp = self.path.with_extension("json.tmp");
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)?;
            Ok(())
        };
        write().map_err(|e| Error::io(format!("writing {}", self.path.display()), e))
    }

    /// Inserts or replaces the record with the same name. Call with the lock held.
    pub fn upsert(&self, lock: &RegistryLock, record: ProjectRecord) -> Result<()> {
        let mut all = self.load()?;
        match all.iter_mut().find(|p| p.name == record.name) {
            Some(slot) => *slot = record,
            None => all.push(record),
        }
        self.save(lock, &all)
    }

    /// Removes a record by name; true when there was one. Call with the lock held.
    pub fn remove(&self, lock: &RegistryLock, name: &str) -> Result<bool> {
        let mut all = self.load()?;
        let before = all.len();
        all.retain(|p| p.name != name);
        if all.len() == before {
            return Ok(false);
        }
        self.save(lock, &all)?;
        Ok(true)
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// Creates `dir` (and parents) readable by this user only.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(offset: u16) -> Ports {
        Ports {
            offset,
            db: 100 + offset,
            realtime: 200 + offset,
        }
    }

    #[test]
    fn round_trip_upsert_remove() {
        let dir = tempfile::tempdir().unwrap();
        let reg = Registry::new(dir.path().join("sub/projects.json"));
        assert!(reg.load().unwrap().is_empty());
        let lock = reg.lock().unwrap();
        reg.upsert(
            &lock,
            ProjectRecord::new("a".into(), ports(1), "i".into(), 5),
        )
        .unwrap();
        reg.upsert(
            &lock,
            ProjectRecord::new("b".into(), ports(2), "i".into(), 6),
        )
        .unwrap();
        let mut a = reg.get("a").unwrap();
        a.provisioned = true;
        reg.upsert(&lock, a.clone()).unwrap();
        let all = reg.load().unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0], a);
        assert!(reg.remove(&lock, "a").unwrap());
        assert!(!reg.remove(&lock, "a").unwrap());
        assert!(matches!(reg.get("a"), Err(Error::NotFound(_))));
        assert!(!dir.path().join("sub/projects.json.tmp").exists());
    }

    #[test]
    fn corrupt_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("projects.json");
        fs::write(&path, "{not json").unwrap();
        let err = Registry::new(path.clone()).load().unwrap_err();
        assert!(err.to_string().contains("unreadable"), "{err}");
        assert!(err.hint().unwrap().contains(path.to_str().unwrap()));
    }
}
