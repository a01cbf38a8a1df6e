//! Remote targets as use cases: add (token to the secret store), list, remove.

use crate::error::{Error, Result};
use crate::provisioner::Provisioner;
use crate::targets::{TargetKind, TargetRecord, Targets};

use super::*;

impl<P: Provisioner> Supalove<P> {
    /// The targets file of this home.
    fn target_file(&self) -> Targets {
        Targets::new(&self.settings.home)
    }

    /// Adds (or updates) a Coolify target: the URL goes to `targets.json`, the token to the
    /// secret store. Checking that it answers is the shell's next step (`target list`).
    pub async fn add_target(
        &self,
        name: &str,
        url: &str,
        token: String,
        server_uuid: Option<String>,
    ) -> Result<TargetRecord> {
        let url = url.trim().trim_end_matches('/').to_string();
        let url = url.strip_suffix("/api/v1").unwrap_or(&url).to_string();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(Error::InvalidSetting {
                name: "coolify URL".into(),
                reason: format!(
                    "{url:?} is not an http(s) URL such as https://coolify.example.com"
                ),
            });
        }
        let record = TargetRecord {
            name: name.to_string(),
            kind: TargetKind::Coolify,
            url,
            server_uuid,
            added_at: crate::keys::now(),
        };
        let targets = self.target_file();
        let stored = record.clone();
        self.secret_call(move |s| targets.add(s, stored, &token))
            .await?;
        Ok(record)
    }

    /// Every target, in the order they were added.
    pub async fn targets(&self) -> Result<Vec<TargetRecord>> {
        let targets = self.target_file();
        self.blocking(move || targets.load()).await
    }

    /// The API token of target `name` (for opening its provisioner).
    pub async fn target_token(&self, name: &str) -> Result<String> {
        let targets = self.target_file();
        let name = name.to_string();
        self.secret_call(move |s| targets.token(s, &name)).await
    }

    /// Forgets a target and its token; refused while projects run on it.
    pub async fn remove_target(&self, name: &str) -> Result<()> {
        let users: Vec<String> = self
            .records()
            .await?
            .into_iter()
            .filter(|r| r.target.as_deref() == Some(name))
            .map(|r| r.name)
            .collect();
        if !users.is_empty() {
            return Err(Error::InvalidRequest(format!(
                "target {name:?} still runs {}: remove them first (`supalove rm <project>`)",
                users.join(", ")
            )));
        }
        let targets = self.target_file();
        let owned = name.to_string();
        if self.secret_call(move |s| targets.remove(s, &owned)).await? {
            Ok(())
        } else {
            Err(Error::InvalidRequest(format!(
                "no target named {name:?} (see `supalove target list`)"
            )))
        }
    }
}
