//! Names and labels of the Docker objects of a project.

use std::collections::HashMap;

/// Label every supalove object carries: the project id.
pub const PROJECT_LABEL: &str = "dev.supalove.project";
/// Label of a container: which service it runs.
pub const SERVICE_LABEL: &str = "dev.supalove.service";
/// Label of a container: hash of the spec it was created from.
pub const CONFIG_HASH_LABEL: &str = "dev.supalove.config-hash";
/// Compose's labels, so Docker Desktop, OrbStack and lazydocker group the containers.
pub const COMPOSE_PROJECT_LABEL: &str = "com.docker.compose.project";
/// See [`COMPOSE_PROJECT_LABEL`].
pub const COMPOSE_SERVICE_LABEL: &str = "com.docker.compose.service";

/// `project_<id>`: network name and compose project name.
pub fn project_prefix(id: &str) -> String {
    format!("project_{id}")
}

/// `project_<id>_<service>`.
pub fn container_name(id: &str, service: &str) -> String {
    format!("project_{id}_{service}")
}

/// A label filter that finds a project's objects.
pub fn project_filter(id: Option<&str>) -> HashMap<String, Vec<String>> {
    let value = match id {
        Some(id) => format!("{PROJECT_LABEL}={id}"),
        None => PROJECT_LABEL.to_string(),
    };
    HashMap::from([("label".to_string(), vec![value])])
}
