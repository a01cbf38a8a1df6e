//! Exports a project as a compose folder: `docker-compose.yml`, a 0600 `.env`, `init/` and
//! `secrets/` (a 0700 folder with the files compose mounts under `/run/secrets/`).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::template::{self, RenderedStack, TEMPLATE_FILES};

/// What an export wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ExportReport {
    pub compose_file: PathBuf,
    pub env_file: PathBuf,
    pub files: Vec<PathBuf>,
}

/// Writes the rendered stack into `dir` (created if missing).
pub fn export(
    dir: &Path,
    stack: &RenderedStack,
    env: &BTreeMap<String, String>,
) -> Result<ExportReport> {
    fs::create_dir_all(dir).map_err(|e| Error::io(format!("creating {}", dir.display()), e))?;
    let compose_file = dir.join("docker-compose.yml");
    write_atomic(&compose_file, stack.compose_yaml.as_bytes(), 0o644)?;
    let mut env_text = String::from(
        "# supalove project environment: holds secrets, keep it private (mode 0600).\n",
    );
    for (k, v) in env {
        env_text.push_str(&format!("{k}={v}\n"));
    }
    let env_file = dir.join(".env");
    write_private(&env_file, env_text.as_bytes())?;
    let mut files = Vec::new();
    for (folder, entries) in TEMPLATE_FILES {
        let sub = dir.join(folder);
        fs::create_dir_all(&sub)
            .map_err(|e| Error::io(format!("creating {}", sub.display()), e))?;
        for (name, contents) in *entries {
            let path = sub.join(name);
            write_atomic(&path, contents.as_bytes(), 0o644)?;
            files.push(path);
        }
    }
    // compose mounts each secret file as it is on the host: readable inside the container by
    // its unprivileged user (0444), kept from other host users by the 0700 folder around it.
    for (name, secret) in &stack.spec.secrets {
        let rel = secret.file.trim_start_matches("./");
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            crate::registry::create_private_dir(parent)?;
        }
        write_atomic(&path, template::secret_value(name, env)?.as_bytes(), 0o444)?;
        files.push(path);
    }
    Ok(ExportReport {
        compose_file,
        env_file,
        files,
    })
}

/// Writes a file only this user can read, atomically.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes, 0o600)
}

fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let tmp = path.with_extension(format!(
        "{}tmp",
        path.extension()
            .map(|e| format!("{}.", e.to_string_lossy()))
            .unwrap_or_default()
    ));
    let write = || -> std::io::Result<()> {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        let _ = fs::remove_file(&tmp);
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&tmp, fs::Permissions::from_mode(mode))?;
        }
        fs::rename(&tmp, path)
    };
    #[cfg(not(unix))]
    let _ = mode;
    write().map_err(|e| Error::io(format!("writing {}", path.display()), e))
}
