//! Per-project secrets (JWT secret, DB password): the OS keyring, or an opt-in 0600 file store.

use std::path::PathBuf;

use base64::Engine;
use rand::RngCore;

use crate::error::{Error, Result};

/// Keyring service name under which every supalove secret is stored.
pub const KEYRING_SERVICE: &str = "dev.supalove";

/// The kinds of secret a project has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// HS256 secret that signs the project's JWTs (>= 32 random bytes).
    JwtSecret,
    /// Password of the database's `app` user.
    DbPassword,
    /// Bearer token of the control-plane HTTP API (owner [`control_plane_owner`], not a project).
    ApiToken,
    /// API token of a remote target (owner [`crate::targets::token_owner`], not a project).
    TargetToken,
}

/// The owner under which the control plane of the supalove home `home` keeps its own secrets:
/// not a valid project name (names cannot start with `_`), so it never collides with a
/// project's entries; one per home, so two homes (and parallel tests) have their own tokens.
pub fn control_plane_owner(home: &std::path::Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(home.to_string_lossy().as_bytes());
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("_control-plane-{short}")
}

impl SecretKind {
    /// Both kinds a project has.
    pub const ALL: [SecretKind; 2] = [SecretKind::JwtSecret, SecretKind::DbPassword];

    /// Stable key used in the store.
    pub fn key(self) -> &'static str {
        match self {
            SecretKind::JwtSecret => "jwt_secret",
            SecretKind::DbPassword => "db_password",
            SecretKind::ApiToken => "api_token",
            SecretKind::TargetToken => "target_token",
        }
    }

    /// Words for messages.
    pub fn describe(self) -> &'static str {
        match self {
            SecretKind::JwtSecret => "JWT secret",
            SecretKind::DbPassword => "database password",
            SecretKind::ApiToken => "control-plane API token",
            SecretKind::TargetToken => "target API token",
        }
    }

    fn generate(self) -> String {
        let mut bytes = [0u8; 48];
        rand::rng().fill_bytes(&mut bytes);
        match self {
            // 48 random bytes, base64url: 64 characters, the string itself is the HMAC key.
            SecretKind::JwtSecret => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes),
            // Hex keeps the password safe inside URLs and shell lines without escaping.
            SecretKind::DbPassword => bytes[..24].iter().map(|b| format!("{b:02x}")).collect(),
            // Prefixed so a leaked token is recognisable (and greppable by secret scanners).
            SecretKind::ApiToken => format!(
                "slv_{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes[..32])
            ),
            // Target tokens are issued by the target, never generated here.
            SecretKind::TargetToken => unreachable!("target tokens are given, not generated"),
        }
    }
}

/// A project's secrets, held in memory only as long as needed.
#[derive(Clone)]
pub struct ProjectSecrets {
    /// Signs anon/service_role keys; given to Realtime as `JWT_SECRET`.
    pub jwt_secret: String,
    /// Password of the `app` database user.
    pub db_password: String,
}

impl std::fmt::Debug for ProjectSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProjectSecrets { .. }")
    }
}

/// Somewhere to keep secrets. Calls may block (D-Bus); run them off the async runtime.
pub trait SecretStore: Send + Sync {
    /// The stored value, or None when there is none.
    fn get(&self, project: &str, kind: SecretKind) -> Result<Option<String>>;
    /// Stores (or replaces) a value.
    fn set(&self, project: &str, kind: SecretKind, value: &str) -> Result<()>;
    /// Deletes a value; deleting a missing one is fine.
    fn delete(&self, project: &str, kind: SecretKind) -> Result<()>;
    /// Where the secrets go, for messages.
    fn describe(&self) -> String;
    /// Fails with a clear error when the store cannot be used right now.
    fn check_available(&self) -> Result<()> {
        Ok(())
    }
}

/// Reads both secrets, generating and storing any that are missing.
pub fn get_or_create(store: &dyn SecretStore, project: &str) -> Result<ProjectSecrets> {
    let mut values = Vec::with_capacity(2);
    for kind in SecretKind::ALL {
        let value = match store.get(project, kind)? {
            Some(v) => v,
            None => {
                let v = kind.generate();
                store.set(project, kind, &v)?;
                v
            }
        };
        values.push(value);
    }
    let db_password = values.pop().expect("two values");
    let jwt_secret = values.pop().expect("two values");
    Ok(ProjectSecrets {
        jwt_secret,
        db_password,
    })
}

/// Reads both secrets; a missing one is an error.
pub fn load(store: &dyn SecretStore, project: &str) -> Result<ProjectSecrets> {
    let get = |kind: SecretKind| {
        store.get(project, kind)?.ok_or(Error::SecretMissing {
            project: project.to_string(),
            what: kind.describe(),
        })
    };
    Ok(ProjectSecrets {
        jwt_secret: get(SecretKind::JwtSecret)?,
        db_password: get(SecretKind::DbPassword)?,
    })
}

/// True when the store holds both secrets of `project`.
pub fn exists(store: &dyn SecretStore, project: &str) -> Result<bool> {
    for kind in SecretKind::ALL {
        if store.get(project, kind)?.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The control plane's bearer token (stored under `owner`), created on first use.
pub fn api_token(store: &dyn SecretStore, owner: &str) -> Result<String> {
    if let Some(t) = store.get(owner, SecretKind::ApiToken)? {
        return Ok(t);
    }
    rotate_api_token(store, owner)
}

/// Replaces the control plane's bearer token with a fresh one.
pub fn rotate_api_token(store: &dyn SecretStore, owner: &str) -> Result<String> {
    let token = SecretKind::ApiToken.generate();
    store.set(owner, SecretKind::ApiToken, &token)?;
    Ok(token)
}

/// The store the settings ask for: the OS keyring, or the opt-in file store.
pub fn store_for(settings: &crate::settings::Settings) -> std::sync::Arc<dyn SecretStore> {
    match settings.secret_store {
        crate::settings::SecretStoreKind::Keyring => std::sync::Arc::new(KeyringStore),
        crate::settings::SecretStoreKind::File => {
            std::sync::Arc::new(FileStore::new(settings.home.join("secrets")))
        }
    }
}

/// The OS keyring through the `keyring` crate (Secret Service on Linux).
#[derive(Debug, Default)]
pub struct KeyringStore;

impl KeyringStore {
    fn entry(project: &str, kind: SecretKind) -> Result<keyring::Entry> {
        keyring::Entry::new(KEYRING_SERVICE, &format!("{project}/{}", kind.key()))
            .map_err(keyring_error)
    }

    /// Writes, reads back and deletes a probe entry, so a missing or locked keyring is
    /// reported before any project is touched.
    pub fn check(&self) -> Result<()> {
        let probe = format!("supalove/probe-{}", std::process::id());
        let entry = keyring::Entry::new(KEYRING_SERVICE, &probe).map_err(keyring_error)?;
        entry.set_password("probe").map_err(keyring_error)?;
        let back = entry.get_password().map_err(keyring_error)?;
        let _ = entry.delete_credential();
        if back != "probe" {
            return Err(Error::KeyringUnavailable(
                "the keyring returned a different value than was stored".into(),
            ));
        }
        Ok(())
    }
}

fn keyring_error(e: keyring::Error) -> Error {
    match e {
        keyring::Error::PlatformFailure(inner) | keyring::Error::NoStorageAccess(inner) => {
            Error::KeyringUnavailable(inner.to_string())
        }
        other => Error::KeyringUnavailable(other.to_string()),
    }
}

impl SecretStore for KeyringStore {
    fn get(&self, project: &str, kind: SecretKind) -> Result<Option<String>> {
        match Self::entry(project, kind)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn set(&self, project: &str, kind: SecretKind, value: &str) -> Result<()> {
        Self::entry(project, kind)?
            .set_password(value)
            .map_err(keyring_error)
    }

    fn delete(&self, project: &str, kind: SecretKind) -> Result<()> {
        match Self::entry(project, kind)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn describe(&self) -> String {
        format!("the OS keyring (service {KEYRING_SERVICE})")
    }

    fn check_available(&self) -> Result<()> {
        self.check()
    }
}

/// Opt-in store (`SUPALOVE_SECRET_STORE=file`): one 0600 file per secret in a 0700 directory.
#[derive(Debug)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// Secrets under `dir` (usually `<SUPALOVE_HOME>/secrets`).
    pub fn new(dir: PathBuf) -> Self {
        FileStore { dir }
    }

    fn path(&self, project: &str, kind: SecretKind) -> PathBuf {
        self.dir.join(format!("{project}.{}", kind.key()))
    }
}

impl SecretStore for FileStore {
    fn get(&self, project: &str, kind: SecretKind) -> Result<Option<String>> {
        let path = self.path(project, kind);
        match std::fs::read_to_string(&path) {
            Ok(v) => Ok(Some(v.trim_end().to_string())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("reading {}", path.display()), e)),
        }
    }

    fn set(&self, project: &str, kind: SecretKind, value: &str) -> Result<()> {
        crate::registry::create_private_dir(&self.dir)?;
        let path = self.path(project, kind);
        crate::export::write_private(&path, value.as_bytes())
    }

    fn delete(&self, project: &str, kind: SecretKind) -> Result<()> {
        let path = self.path(project, kind);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io(format!("deleting {}", path.display()), e)),
        }
    }

    fn describe(&self) -> String {
        format!("0600 files in {} (opt-in file store)", self.dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_round_trip_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("secrets"));
        assert!(!exists(&store, "shop").unwrap());
        let s = get_or_create(&store, "shop").unwrap();
        assert!(s.jwt_secret.len() >= 43, "at least 32 bytes of entropy");
        assert_eq!(s.db_password.len(), 48);
        let again = get_or_create(&store, "shop").unwrap();
        assert_eq!(again.jwt_secret, s.jwt_secret);
        assert_eq!(load(&store, "shop").unwrap().db_password, s.db_password);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path("shop", SecretKind::JwtSecret))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        store.delete("shop", SecretKind::JwtSecret).unwrap();
        assert!(matches!(
            load(&store, "shop"),
            Err(Error::SecretMissing { .. })
        ));
        assert!(format!("{s:?}").contains(".."));
        assert!(!format!("{s:?}").contains(&s.jwt_secret));
    }
}
