//! The project's database: SQL, tables, rows, and the doctor.

use crate::error::Result;
use crate::keys;
use crate::provisioner::Provisioner;
use crate::registry::ProjectRecord;
use crate::secrets::ProjectSecrets;

use super::*;

impl<P: Provisioner> Supalove<P> {
    /// Runs SQL in the project's database as its owner; one result per statement.
    pub async fn sql(
        &self,
        name: &str,
        statement: &str,
    ) -> Result<Vec<crate::sql::StatementResult>> {
        let record = self.record(name).await?;
        let secrets = self.load_secrets(&record).await?;
        let client = crate::sql::connect(record.ports.db, &secrets.db_password).await?;
        crate::sql::run(&client, statement).await
    }

    /// The project's user tables with their columns, publication and RLS state.
    pub async fn tables(&self, name: &str) -> Result<Vec<crate::sql::TableInfo>> {
        let client = self.db_client(name).await?;
        crate::sql::tables(&client).await
    }

    /// Inserts one row from JSON values (missing columns get their defaults).
    pub async fn insert_row(
        &self,
        name: &str,
        schema: &str,
        table: &str,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<crate::sql::StatementResult> {
        let client = self.db_client(name).await?;
        crate::sql::insert_row(&client, schema, table, values).await
    }

    pub(crate) async fn db_client(&self, name: &str) -> Result<tokio_postgres::Client> {
        let record = self.record(name).await?;
        let secrets = self.load_secrets(&record).await?;
        crate::sql::connect(record.ports.db, &secrets.db_password).await
    }

    /// Checks what must hold for changes to reach subscribers; with `fix`, applies the safe
    /// fixes and checks again.
    pub async fn doctor(&self, name: &str, tables: &[String], fix: bool) -> Result<DoctorReport> {
        let record = self.record(name).await?;
        let secrets = self.load_secrets(&record).await?;
        let client = crate::sql::connect(record.ports.db, &secrets.db_password).await?;
        let mut checks =
            crate::doctor::check_database(&client, tables, record.realtime_engine).await?;
        let mut fixed = Vec::new();
        // A fix can enable the next one (a recreated publication can take tables): repeat
        // while something was fixed, a bounded number of times.
        for _ in 0..3 {
            if !fix {
                break;
            }
            let ran = crate::doctor::apply_fixes(&client, &checks).await?;
            if ran.is_empty() {
                break;
            }
            fixed.extend(ran);
            checks = crate::doctor::check_database(&client, tables, record.realtime_engine).await?;
        }
        checks.push(self.engine_check(&record, &secrets).await);
        checks.push(self.key_check(&record, &secrets));
        Ok(DoctorReport { checks, fixed })
    }

    pub(crate) async fn engine_check(
        &self,
        record: &ProjectRecord,
        secrets: &ProjectSecrets,
    ) -> crate::doctor::Check {
        use crate::doctor::{Check, CheckStatus};
        let probes = self.probes(record, secrets);
        let outcome = match probes.quick(record, "realtime") {
            Some(probe) => probe.once().await,
            None => Err("the stack has no Realtime service".into()),
        };
        let (status, message) = match outcome {
            Ok(()) => (
                CheckStatus::Ok,
                format!(
                    "the {} Realtime engine answers on port {}",
                    record.realtime_engine.as_str(),
                    record.ports.realtime
                ),
            ),
            Err(e) => (
                CheckStatus::Fail,
                format!(
                    "the Realtime engine does not answer on port {}: {e}",
                    record.ports.realtime
                ),
            ),
        };
        Check {
            id: "engine".into(),
            fix: (status != CheckStatus::Ok).then(|| {
                format!(
                    "supalove restart {} (and see `supalove logs {} realtime`)",
                    record.name, record.name
                )
            }),
            status,
            message,
            auto_fix: false,
        }
    }

    pub(crate) fn key_check(
        &self,
        record: &ProjectRecord,
        secrets: &ProjectSecrets,
    ) -> crate::doctor::Check {
        use crate::doctor::{Check, CheckStatus};
        let exp = self.keys(record, secrets).expires_at;
        let now = keys::now();
        let days_left = exp.saturating_sub(now) / 86_400;
        let (status, message) = if exp <= now {
            (
                CheckStatus::Fail,
                "the anon and service_role keys have expired: clients are refused".to_string(),
            )
        } else if days_left < 30 {
            (
                CheckStatus::Warn,
                format!("the anon and service_role keys expire in {days_left} days"),
            )
        } else {
            (
                CheckStatus::Ok,
                format!("the anon and service_role keys are valid for {days_left} more days"),
            )
        };
        Check {
            id: "key_expiry".into(),
            status,
            message,
            fix: (status != CheckStatus::Ok).then(|| {
                "recreate the project's keys with a longer SUPALOVE_KEY_LIFETIME_DAYS".into()
            }),
            auto_fix: false,
        }
    }
}
