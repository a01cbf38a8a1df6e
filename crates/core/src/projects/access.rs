//! How clients reach a project: tokens, the Realtime target, env lines, the export.

use std::collections::BTreeMap;
use std::path::Path;

use crate::card::{self};
use crate::error::{Error, Result};
use crate::export::{self, ExportReport};
use crate::keys;
use crate::provisioner::Provisioner;
use crate::registry::ProjectRecord;

use super::*;

impl<P: Provisioner> Supalove<P> {
    /// A JWT for `role` signed with the project's secret: the stable anon / service_role keys,
    /// or, with extra claims (or another role), a fresh token valid for the key lifetime.
    pub async fn token(
        &self,
        name: &str,
        role: &str,
        claims: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> Result<String> {
        let record = self.record(name).await?;
        let secrets = self.load_secrets(&record).await?;
        let keys = self.keys(&record, &secrets);
        match (role, &claims) {
            ("anon", None) => return Ok(keys.anon),
            ("service_role", None) => return Ok(keys.service_role),
            _ => {}
        }
        let now = keys::now();
        let mut all = serde_json::Map::new();
        all.insert("iss".into(), keys::ISSUER.into());
        all.insert("ref".into(), record.id.clone().into());
        all.insert("role".into(), role.into());
        all.insert("iat".into(), now.into());
        all.insert("exp".into(), (now + self.settings.key_lifetime_secs).into());
        if let Some(extra) = claims {
            all.extend(extra);
        }
        if !all.get("exp").is_some_and(|e| e.is_u64()) {
            return Err(Error::InvalidJwt(
                "custom claims must keep a numeric exp".into(),
            ));
        }
        Ok(keys::sign(&secrets.jwt_secret, &all))
    }

    /// Where a client reaches the project's Realtime service, and the Host header it must send.
    pub async fn realtime_target(&self, name: &str) -> Result<RealtimeTarget> {
        let record = self.record(name).await?;
        Ok(self.target_of(&record))
    }

    pub(crate) fn target_of(&self, record: &ProjectRecord) -> RealtimeTarget {
        RealtimeTarget {
            url: card::realtime_url(record.ports.realtime),
            // The official engine's gateway presents the tenant Host itself, so our client
            // connects exactly as any unmodified client does.
            host: None,
        }
    }

    /// The project's connection settings as dotenv pairs (holds secrets).
    pub async fn env(&self, name: &str) -> Result<BTreeMap<String, String>> {
        let record = self.record(name).await?;
        let secrets = self.load_secrets(&record).await?;
        let card = self.card_with(&record, &secrets).await?;
        Ok(card::env_lines(&card, &secrets))
    }

    /// Writes `docker-compose.yml`, a 0600 `.env` and the init files into `dir`.
    pub async fn export(&self, name: &str, dir: &Path) -> Result<ExportReport> {
        self.export_for(name, dir, self.provisioner.template_target())
            .await
    }

    /// Like [`Self::export`], rendered for `target` (`local` or `coolify`). The Coolify
    /// export is what a Coolify deployment sends: its compose file (init files inline) and
    /// the variables set through the API (the 0600 `.env`).
    pub async fn export_for(&self, name: &str, dir: &Path, target: &str) -> Result<ExportReport> {
        if target != crate::template::TARGET_LOCAL && target != crate::template::TARGET_COOLIFY {
            return Err(Error::InvalidRequest(format!(
                "unknown export target {target:?}: use `local` or `coolify`"
            )));
        }
        let record = self.record(name).await?;
        let secrets = self.load_secrets(&record).await?;
        let stack = self.render_for(&record, &secrets, target)?;
        let env = self.stack_env(&record, &secrets);
        export::export(dir, &stack, &env)
    }

    /// Subscribes to the project's Realtime as `req.role` (token minted from the project's
    /// secret), at the project's realtime_url or `url` when given.
    pub async fn subscribe(
        &self,
        name: &str,
        req: &crate::subscription::SubscribeRequest,
        url: Option<String>,
    ) -> Result<crate::subscription::Subscription> {
        let token = self.token(name, &req.role, req.claims.clone()).await?;
        let record = self.record(name).await?;
        let mut target = self.target_of(&record);
        if is_remote(&record) {
            // A remote project's host names its tenant already (realtime-dev.<...>).
            if let Some(public) = self.provisioner.realtime_url(&record.id).await? {
                target = RealtimeTarget {
                    url: public,
                    host: None,
                };
            }
        }
        let (req, notice) = crate::subscription::for_engine(record.realtime_engine, req);
        let mut sub =
            crate::subscription::open(url.unwrap_or(target.url), target.host, &token, &req).await?;
        sub.notice = notice;
        Ok(sub)
    }

    /// The control-plane API's bearer token (created on first use, kept in the secret store).
    pub async fn api_token(&self) -> Result<String> {
        let owner = crate::secrets::control_plane_owner(&self.settings.home);
        self.secret_call(move |s| crate::secrets::api_token(s, &owner))
            .await
    }

    /// Replaces the API token; the old one stops working at once.
    pub async fn rotate_api_token(&self) -> Result<String> {
        let owner = crate::secrets::control_plane_owner(&self.settings.home);
        self.secret_call(move |s| crate::secrets::rotate_api_token(s, &owner))
            .await
    }
}
