//! The identity of a project's data volume. A volume that vanished behind supalove's back, or
//! one that holds another project's database, is reported and refused: starting would
//! otherwise put an empty (or someone else's) database where the project's data was.
//!
//! supalove labels each data volume it creates with a random id, remembers that id, the
//! engine's creation time and when it last saw the volume in the registry (no secrets), and
//! compares before anything is started or created.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::provisioner::{Provisioner, VolumeInfo};
use crate::registry::{ProjectRecord, Registry};
use crate::template::RenderedStack;

/// Label on a data volume: the id supalove gave it when it created it.
pub const VOLUME_ID_LABEL: &str = "dev.supalove.volume-id";

/// The label every object of a project carries (set by the template and the provisioner).
const PROJECT_LABEL: &str = "dev.supalove.project";

/// What supalove knows of a project's data volume (stored in the registry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataVolume {
    /// The engine's volume name (`project_<id>_db_data`).
    pub name: String,
    /// The id on the volume's label; None for volumes made before supalove labelled them.
    #[serde(default)]
    pub id: Option<String>,
    /// The engine's creation time of the volume (RFC 3339), once seen.
    #[serde(default)]
    pub created_at: Option<String>,
    /// When supalove last saw it serve the project (seconds since the Unix epoch).
    #[serde(default)]
    pub last_seen: Option<u64>,
}

/// What `start` does when the project's data volume is gone.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartOptions {
    /// Create a new, empty data volume in place of the missing one (the old data stays lost).
    pub recreate_empty: bool,
}

/// The name of a project's data volume.
pub fn volume_name(id: &str) -> String {
    format!("project_{id}_db_data")
}

fn fresh(id: &str) -> DataVolume {
    DataVolume {
        name: volume_name(id),
        id: Some(random_id()),
        created_at: None,
        last_seen: None,
    }
}

/// 16 random bytes as hex: names one volume, never a secret.
fn random_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn adopted(name: &str, info: &VolumeInfo) -> DataVolume {
    DataVolume {
        name: name.to_string(),
        id: info.labels.get(VOLUME_ID_LABEL).cloned(),
        created_at: info.created_at.clone(),
        last_seen: Some(crate::keys::now()),
    }
}

/// For a new record: a fresh identity, or the identity of the volume a removed project of
/// the same name left behind (which `new` reattaches).
pub async fn plan<P: Provisioner>(provisioner: &P, record: &mut ProjectRecord) -> Result<()> {
    let info = provisioner.volume_info(&volume_name(&record.id)).await?;
    plan_with(record, info);
    Ok(())
}

/// [`plan`] with the volume's info already at hand (for code that holds the registry lock).
pub fn plan_with(record: &mut ProjectRecord, info: Option<VolumeInfo>) {
    let name = volume_name(&record.id);
    record.data_volume = Some(match info {
        Some(info) => adopted(&name, &info),
        None => fresh(&record.id),
    });
}

/// Labels the rendered stack's data volume with the project's volume id, so the volume
/// supalove creates carries it (labels of existing volumes never change).
pub fn label(stack: &mut RenderedStack, record: &ProjectRecord) {
    let Some(DataVolume {
        name, id: Some(id), ..
    }) = &record.data_volume
    else {
        return;
    };
    for vol in stack.spec.volumes.values_mut() {
        if &vol.name == name {
            vol.labels.insert(VOLUME_ID_LABEL.into(), id.clone());
        }
    }
}

/// Refuses to go on when the project's data volume is missing (unless `recreate_empty`, which
/// gives the record a fresh identity) or belongs to something else. Call before anything is
/// started or created.
pub async fn prepare<P: Provisioner>(
    registry: &Registry,
    provisioner: &P,
    record: &mut ProjectRecord,
    options: StartOptions,
) -> Result<()> {
    let known = record.data_volume.clone().unwrap_or_else(|| DataVolume {
        name: volume_name(&record.id),
        id: None,
        created_at: None,
        last_seen: None,
    });
    match provisioner.volume_info(&known.name).await? {
        None => {
            // An interrupted first creation never served data: its volume may be made anew.
            let held_data = record.provisioned || known.last_seen.is_some();
            if held_data && !options.recreate_empty {
                return Err(Error::VolumeMissing {
                    project: record.name.clone(),
                    volume: known.name,
                    last_seen: known.last_seen.map(utc_time),
                    created_at: known.created_at,
                });
            }
            if held_data || record.data_volume.is_none() {
                let (registry, name, id) =
                    (registry.clone(), record.name.clone(), record.id.clone());
                *record = off_runtime(move || {
                    let lock = registry.lock()?;
                    let mut stored = registry.get(&name)?;
                    stored.data_volume = Some(fresh(&id));
                    registry.upsert(&lock, stored.clone())?;
                    Ok(stored)
                })
                .await?;
            }
            Ok(())
        }
        Some(info) => check_identity(record, &known, &info),
    }
}

fn check_identity(record: &ProjectRecord, known: &DataVolume, info: &VolumeInfo) -> Result<()> {
    let label = info.labels.get(VOLUME_ID_LABEL);
    let owner = info
        .labels
        .get(PROJECT_LABEL)
        .map(|p| format!(" (labelled for project {p:?})"))
        .unwrap_or_default();
    let created = info
        .created_at
        .as_deref()
        .map(|c| format!(", created {c}"))
        .unwrap_or_default();
    let detail = match (&known.id, label) {
        (Some(want), Some(have)) if want == have => return Ok(()),
        (Some(want), Some(have)) => format!(
            "it carries volume id {have}{owner}{created}, but this project's volume is {want}"
        ),
        // Not made by supalove for this project: by hand, by compose, or before supalove
        // labelled volumes (then its creation time must match the one recorded).
        (Some(_), None) if known.last_seen.is_none() && !record.provisioned => return Ok(()),
        (Some(want), None) => format!(
            "it carries no supalove volume id{owner}{created}, but this project's volume is {want}"
        ),
        (None, _) => match (&known.created_at, &info.created_at) {
            (Some(want), Some(have)) if want != have => format!(
                "it was created {have}{owner}, but this project's volume was created {want}"
            ),
            _ => return Ok(()),
        },
    };
    Err(Error::VolumeForeign {
        project: record.name.clone(),
        volume: known.name.clone(),
        detail,
    })
}

/// Records that the project's data volume served it just now (after a successful start).
pub async fn seen<P: Provisioner>(registry: &Registry, provisioner: &P, name: &str) -> Result<()> {
    let (reg, n) = (registry.clone(), name.to_string());
    let record = off_runtime(move || reg.get(&n)).await?;
    let vol = volume_name(&record.id);
    let Some(info) = provisioner.volume_info(&vol).await? else {
        return Ok(());
    };
    let (registry, name) = (registry.clone(), name.to_string());
    off_runtime(move || {
        let lock = registry.lock()?;
        let mut stored = registry.get(&name)?;
        stored.data_volume = Some(adopted(&vol, &info));
        registry.upsert(&lock, stored)
    })
    .await
}

/// Registry work (a file lock, reads and writes) runs off the async runtime's threads.
async fn off_runtime<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        Error::io(
            "a background task failed",
            std::io::Error::other(e.to_string()),
        )
    })?
}

/// `2026-12-02 07:54 UTC` from seconds since the Unix epoch.
pub fn utc_time(secs: u64) -> String {
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let rem = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn info(id: Option<&str>, created: &str) -> VolumeInfo {
        let mut labels = BTreeMap::new();
        labels.insert(PROJECT_LABEL.to_string(), "shop".to_string());
        if let Some(id) = id {
            labels.insert(VOLUME_ID_LABEL.to_string(), id.to_string());
        }
        VolumeInfo {
            labels,
            created_at: Some(created.to_string()),
        }
    }

    fn record(known: Option<DataVolume>, provisioned: bool) -> ProjectRecord {
        let ports = crate::ports::Ports {
            offset: 1,
            db: 30001,
            realtime: 31001,
        };
        let mut r = ProjectRecord::new("shop".into(), ports, "img".into(), 0);
        r.data_volume = known;
        r.provisioned = provisioned;
        r
    }

    fn known(id: Option<&str>, created: Option<&str>, last_seen: Option<u64>) -> DataVolume {
        DataVolume {
            name: volume_name("shop"),
            id: id.map(str::to_string),
            created_at: created.map(str::to_string),
            last_seen,
        }
    }

    #[test]
    fn the_same_volume_passes_and_another_projects_is_named() {
        let k = known(Some("aaa"), Some("t1"), Some(5));
        let r = record(Some(k.clone()), true);
        assert!(check_identity(&r, &k, &info(Some("aaa"), "t1")).is_ok());
        let err = check_identity(&r, &k, &info(Some("bbb"), "t2")).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("bbb") && text.contains("aaa"), "{text}");
        assert_eq!(err.kind().as_str(), "volume_foreign");
        assert!(err.hint().unwrap().contains("--recreate-empty"));
        let unlabelled = check_identity(&r, &k, &info(None, "t2")).unwrap_err();
        assert!(unlabelled.to_string().contains("no supalove volume id"));
    }

    #[test]
    fn volumes_from_before_labels_are_checked_by_creation_time() {
        let k = known(None, Some("t1"), Some(5));
        let r = record(Some(k.clone()), true);
        assert!(check_identity(&r, &k, &info(None, "t1")).is_ok());
        let err = check_identity(&r, &k, &info(None, "t9")).unwrap_err();
        assert!(err.to_string().contains("t9"), "{err}");
        // Nothing recorded at all (a record from before this check): adopt what is there.
        let bare = known(None, None, None);
        assert!(check_identity(&record(None, true), &bare, &info(None, "t9")).is_ok());
    }

    #[test]
    fn an_interrupted_creation_may_find_its_unlabelled_volume() {
        let k = known(Some("aaa"), None, None);
        assert!(check_identity(&record(Some(k.clone()), false), &k, &info(None, "t")).is_ok());
    }

    #[test]
    fn missing_volume_error_says_what_and_since_when() {
        let err = Error::VolumeMissing {
            project: "shop".into(),
            volume: "project_shop_db_data".into(),
            last_seen: Some(utc_time(1_764_662_400)),
            created_at: Some("2025-12-01T08:00:00Z".into()),
        };
        let text = err.to_string();
        assert!(text.contains("project_shop_db_data"), "{text}");
        assert!(text.contains("2025-12-02 08:00 UTC"), "{text}");
        assert!(err
            .hint()
            .unwrap()
            .contains("supalove start shop --recreate-empty"));
    }

    #[test]
    fn stack_volume_gets_the_id_label() {
        let ctx = crate::template::TemplateContext {
            project: "shop".into(),
            id: "shop".into(),
            template_version: 2,
            db_image: "img".into(),
            realtime_engine: "native".into(),
            realtime_image: "rt".into(),
            target: crate::template::TARGET_LOCAL.into(),
            realtime_tag: String::new(),
            gateway: false,
            gateway_image: "gw".into(),
        };
        let env: BTreeMap<String, String> = [
            "DB_PASSWORD",
            "DB_PORT",
            "REALTIME_PORT",
            "JWT_SECRET",
            "ANON_KEY",
            "REALTIME_DB_ENC_KEY",
            "REALTIME_SECRET_KEY_BASE",
        ]
        .iter()
        .map(|k| (k.to_string(), "1".to_string()))
        .collect();
        let mut stack = crate::template::render(&ctx, &env).unwrap();
        let r = record(Some(known(Some("abc"), None, None)), false);
        label(&mut stack, &r);
        assert_eq!(stack.spec.volumes["db-data"].labels[VOLUME_ID_LABEL], "abc");
    }
}
