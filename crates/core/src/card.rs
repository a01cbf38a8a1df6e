//! The project card: everything a person needs to use a project, with its live status.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::keys::ApiKeys;
use crate::ports::Ports;
use crate::provisioner::{ServiceState, ServiceStatus};
use crate::registry::ProjectRecord;
use crate::secrets::ProjectSecrets;

/// A project's overall state, derived from its services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub enum ProjectStatus {
    /// Provisioning never finished; `supalove start <name>` (or `new <name>`) resumes it.
    Incomplete,
    /// Every service is running and healthy.
    Healthy,
    /// Running, waiting for healthchecks.
    Starting,
    /// At least one running service fails its healthcheck.
    Unhealthy,
    /// Some services run and some do not.
    Partial,
    /// No service runs; data is kept.
    Stopped,
    /// Containers are gone (removed outside supalove); `supalove start` recreates them.
    Missing,
}

/// Combines service states into one project state.
pub fn project_status(record: &ProjectRecord, services: &[ServiceStatus]) -> ProjectStatus {
    if !record.provisioned {
        return ProjectStatus::Incomplete;
    }
    let count = |s: ServiceState| services.iter().filter(|x| x.state == s).count();
    let n = services.len();
    if n == 0 || count(ServiceState::Missing) > 0 {
        return ProjectStatus::Missing;
    }
    let down =
        count(ServiceState::Stopped) + count(ServiceState::Missing) + count(ServiceState::Paused);
    if down == n {
        ProjectStatus::Stopped
    } else if down > 0 {
        ProjectStatus::Partial
    } else if count(ServiceState::Unhealthy) > 0 {
        ProjectStatus::Unhealthy
    } else if count(ServiceState::Healthy) == n {
        ProjectStatus::Healthy
    } else {
        ProjectStatus::Starting
    }
}

/// What `supalove show` prints and the app's card shows.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct ProjectCard {
    pub name: String,
    pub id: String,
    pub status: ProjectStatus,
    pub services: Vec<ServiceStatus>,
    pub ports: Ports,
    /// `postgresql://app:<password>@127.0.0.1:<port>/app`.
    pub db_url: String,
    /// `ws://127.0.0.1:<REALTIME_PORT>/socket` once the stack has a Realtime service; on a
    /// remote target, its public `wss://<host>/socket`.
    pub realtime_url: Option<String>,
    /// The remote target it runs on (None: the local Docker engine).
    pub target: Option<String>,
    /// `http://127.0.0.1:<REALTIME_PORT>`: the URL supabase-js's `createClient(api_url,
    /// anon_key)` takes (Realtime at `/realtime/v1/...`; the APIs a project lacks answer 501).
    pub api_url: Option<String>,
    /// How to connect an app (env lines and a supabase-js quickstart): the same block in
    /// `supalove show`, on the app's card and on its Done screen. Holds the anon key.
    pub connect: String,
    pub keys: ApiKeys,
    /// The Realtime server of the stack.
    pub realtime_engine: crate::registry::RealtimeEngine,
    pub db_image: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub created_at: u64,
    /// Where the secrets live.
    pub secret_store: String,
}

/// Database name and user of every project.
pub const DB_NAME: &str = "app";
/// See [`DB_NAME`].
pub const DB_USER: &str = "app";

/// The connection URL of a project's database.
pub fn db_url(ports: &Ports, secrets: &ProjectSecrets) -> String {
    format!(
        "postgresql://{DB_USER}:{}@127.0.0.1:{}/{DB_NAME}",
        secrets.db_password, ports.db
    )
}

/// The dotenv lines of `supalove env`, in the spirit of `supabase status -o env`.
pub fn env_lines(card: &ProjectCard, secrets: &ProjectSecrets) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("DB_URL".into(), card.db_url.clone());
    env.insert("DB_HOST".into(), "127.0.0.1".into());
    env.insert("DB_PORT".into(), card.ports.db.to_string());
    env.insert("DB_NAME".into(), DB_NAME.into());
    env.insert("DB_USER".into(), DB_USER.into());
    env.insert("DB_PASSWORD".into(), secrets.db_password.clone());
    env.insert("JWT_SECRET".into(), secrets.jwt_secret.clone());
    env.insert("ANON_KEY".into(), card.keys.anon.clone());
    env.insert("SERVICE_ROLE_KEY".into(), card.keys.service_role.clone());
    env.insert("REALTIME_PORT".into(), card.ports.realtime.to_string());
    if let Some(url) = &card.realtime_url {
        env.insert("REALTIME_URL".into(), url.clone());
    }
    if let Some(url) = &card.api_url {
        env.insert("API_URL".into(), url.clone());
        // The names a supabase-js app's `.env` usually reads.
        env.insert("SUPABASE_URL".into(), url.clone());
        env.insert("SUPABASE_ANON_KEY".into(), card.keys.anon.clone());
    }
    env
}

/// The realtime_url of a project whose Realtime listens on `port`.
pub fn realtime_url(port: u16) -> String {
    format!("ws://127.0.0.1:{port}/socket")
}

/// The api_url (supabase-js's base URL) of a project whose Realtime listens on `port`.
pub fn api_url(port: u16) -> String {
    format!("http://127.0.0.1:{port}")
}

/// The lines `show`, the card and the app's Done screen give for connecting an app: the same
/// block everywhere.
pub fn connection_block(card: &ProjectCard) -> Vec<String> {
    let (Some(api), Some(rt)) = (&card.api_url, &card.realtime_url) else {
        return vec![format!("DB_URL={}", card.db_url)];
    };
    let mut lines = vec![
        format!("SUPABASE_URL={api}"),
        format!("SUPABASE_ANON_KEY={}", card.keys.anon),
        format!("REALTIME_URL={rt}"),
        format!("DB_URL={}", card.db_url),
        String::new(),
        "import { createClient } from '@supabase/supabase-js'".into(),
    ];
    if card.realtime_engine == crate::registry::RealtimeEngine::Supabase {
        lines.push(
            "// vsn 1.0.0: the official engine v2.28.32 drops the socket on a vsn 2.0.0 binary broadcast"
                .into(),
        );
        lines.push(
            "const supabase = createClient(process.env.SUPABASE_URL, process.env.SUPABASE_ANON_KEY, { realtime: { vsn: '1.0.0' } })"
                .into(),
        );
    } else {
        lines.push(
            "const supabase = createClient(process.env.SUPABASE_URL, process.env.SUPABASE_ANON_KEY)"
                .into(),
        );
    }
    lines.push(
        "supabase.channel('room').on('postgres_changes', { event: '*', schema: 'public', table: 'messages' },"
            .into(),
    );
    lines.push("  (p) => console.log(p)).subscribe()".into());
    lines.push(
        "Realtime only: write rows over DB_URL (or `supalove sql`/`insert`); /rest/v1, /auth/v1, /storage/v1, /functions/v1 answer 501."
            .into(),
    );
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(state: ServiceState) -> ServiceStatus {
        ServiceStatus {
            service: "db".into(),
            container: "c".into(),
            state,
            image: None,
            exit_code: None,
            started_at: None,
        }
    }

    fn card(engine: crate::registry::RealtimeEngine) -> ProjectCard {
        ProjectCard {
            name: "shop".into(),
            id: "shop".into(),
            status: ProjectStatus::Healthy,
            services: Vec::new(),
            ports: Ports {
                offset: 1,
                db: 54401,
                realtime: 8001,
            },
            db_url: "postgresql://app:pw@127.0.0.1:54401/app".into(),
            realtime_url: Some(realtime_url(8001)),
            api_url: Some(api_url(8001)),
            connect: String::new(),
            target: None,
            keys: ApiKeys {
                anon: "ANON".into(),
                service_role: "SERVICE".into(),
                expires_at: 0,
            },
            realtime_engine: engine,
            db_image: "img".into(),
            created_at: 0,
            secret_store: "file".into(),
        }
    }

    #[test]
    fn env_and_connection_block_give_api_url() {
        use crate::registry::RealtimeEngine;
        let native = card(RealtimeEngine::Native);
        let secrets = ProjectSecrets {
            db_password: "pw".into(),
            jwt_secret: "s".into(),
        };
        let env = env_lines(&native, &secrets);
        assert_eq!(env["API_URL"], "http://127.0.0.1:8001");
        assert_eq!(env["SUPABASE_URL"], "http://127.0.0.1:8001");
        assert_eq!(env["SUPABASE_ANON_KEY"], "ANON");
        assert_eq!(env["REALTIME_URL"], "ws://127.0.0.1:8001/socket");
        let block = connection_block(&native).join("\n");
        assert!(block.contains("SUPABASE_URL=http://127.0.0.1:8001\nSUPABASE_ANON_KEY=ANON"));
        assert!(
            block.contains("createClient(process.env.SUPABASE_URL, process.env.SUPABASE_ANON_KEY)")
        );
        assert!(!block.contains("vsn"), "{block}");
        let official = connection_block(&card(RealtimeEngine::Supabase)).join("\n");
        assert!(
            official.contains("{ realtime: { vsn: '1.0.0' } }"),
            "{official}"
        );
        assert!(official.contains("v2.28.32"), "{official}");
    }

    #[test]
    fn status_rollup() {
        let ports = Ports {
            offset: 1,
            db: 1,
            realtime: 2,
        };
        let mut rec = ProjectRecord::new("a".into(), ports, "i".into(), 0);
        assert_eq!(project_status(&rec, &[]), ProjectStatus::Incomplete);
        rec.provisioned = true;
        use ServiceState::*;
        let cases = [
            (vec![], ProjectStatus::Missing),
            (vec![Healthy], ProjectStatus::Healthy),
            (vec![Healthy, Starting], ProjectStatus::Starting),
            (vec![Healthy, Unhealthy], ProjectStatus::Unhealthy),
            (vec![Healthy, Stopped], ProjectStatus::Partial),
            (vec![Stopped, Stopped], ProjectStatus::Stopped),
            (vec![Missing], ProjectStatus::Missing),
            (vec![Healthy, Missing], ProjectStatus::Missing),
        ];
        for (states, want) in cases {
            let services: Vec<_> = states.into_iter().map(svc).collect();
            assert_eq!(project_status(&rec, &services), want);
        }
    }
}
