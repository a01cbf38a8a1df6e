//! Backups of a project's database: `pg_dump` and `psql` run inside the project's db
//! container (the provisioner's exec), so the host needs no Postgres client of a matching
//! version. Dumps are plain SQL with `--clean --if-exists`, so one restores into a fresh
//! project as well as over the project it came from; a restore runs in one transaction.

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, ReadBuf};

use crate::error::{Error, Result};
use crate::provisioner::{Progress, ProgressSink, Provisioner, ServiceState, Stage};
use crate::settings::Settings;
use crate::Supalove;

/// The first line pg_dump writes; a restore refuses files without it.
const DUMP_HEADER: &str = "--\n-- PostgreSQL database dump\n--";

/// How often (in bytes) progress is reported while dumping or loading.
const PROGRESS_EVERY: u64 = 256 * 1024;

/// What a backup wrote.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct BackupReport {
    pub project: String,
    /// The dump file (plain SQL, mode 0600).
    pub file: PathBuf,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
}

/// What a restore loaded.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
pub struct RestoreReport {
    pub project: String,
    pub file: PathBuf,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub bytes: u64,
    /// The backup of what the database held before, when it held anything.
    pub previous: Option<PathBuf>,
}

/// Where automatic and default backups go: `<app-data>/backups`.
pub fn backups_dir(settings: &Settings) -> PathBuf {
    settings.home.join("backups")
}

/// `<app-data>/backups/<project>-<UTC time>.sql`, e.g. `shop-2026-12-02T081502Z-123.sql`.
fn default_file(settings: &Settings, project: &str) -> PathBuf {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    // "2026-12-02 08:15 UTC"
    let day_minute = crate::volumes::utc_time(secs);
    let (date, time) = day_minute.split_at(10);
    let hhmm = time[1..6].replace(':', "");
    let millis = now.subsec_millis();
    backups_dir(settings).join(format!(
        "{project}-{date}T{hhmm}{:02}Z-{millis:03}.sql",
        secs % 60
    ))
}

impl<P: Provisioner> Supalove<P> {
    /// Dumps the project's database into `out` (default: a new file in the backups folder).
    pub async fn backup(
        &self,
        name: &str,
        out: Option<&Path>,
        progress: ProgressSink<'_>,
    ) -> Result<BackupReport> {
        let record = crate::registry::Registry::new(self.settings().registry_path()).get(name)?;
        db_running(self.provisioner(), &record.id, name).await?;
        let file = match out {
            Some(f) => f.to_path_buf(),
            None => default_file(self.settings(), name),
        };
        dump(self.provisioner(), &record.id, name, &file, progress).await
    }

    /// Loads a dump made by [`Supalove::backup`] into the project's database, in one
    /// transaction. What the database held before is backed up first.
    pub async fn restore(
        &self,
        name: &str,
        file: &Path,
        progress: ProgressSink<'_>,
    ) -> Result<RestoreReport> {
        let record = crate::registry::Registry::new(self.settings().registry_path()).get(name)?;
        let failed = |detail: String| Error::RestoreFailed {
            project: name.to_string(),
            file: file.to_path_buf(),
            detail,
        };
        let mut source = tokio::fs::File::open(file)
            .await
            .map_err(|e| failed(format!("cannot open it: {e}")))?;
        let total = source
            .metadata()
            .await
            .map_err(|e| failed(e.to_string()))?
            .len();
        let mut head = vec![0u8; DUMP_HEADER.len()];
        let got = source
            .read(&mut head)
            .await
            .map_err(|e| failed(e.to_string()))?;
        // A short read of a real dump is possible in theory; read on until the header is in.
        let mut filled = got;
        while filled < head.len() {
            let n = source
                .read(&mut head[filled..])
                .await
                .map_err(|e| failed(e.to_string()))?;
            if n == 0 {
                break;
            }
            filled += n;
        }
        if &head[..filled] != DUMP_HEADER.as_bytes() {
            return Err(failed(
                "it is not a plain SQL dump from `supalove backup` (pg_dump); nothing was changed"
                    .into(),
            ));
        }
        db_running(self.provisioner(), &record.id, name).await?;
        let previous = self.backup_if_data(&record.id, name, progress).await?;

        progress(Progress::new(
            "restore",
            Stage::Creating,
            format!("loading {}", file.display()),
        ));
        let reader = Counting {
            inner: std::io::Cursor::new(head).chain(source),
            done: 0,
            reported: 0,
            total: Some(total),
            label: "loading",
            progress,
        };
        let cmd = [
            "psql",
            "--username=app",
            "--dbname=app",
            "--no-psqlrc",
            "--no-password",
            "--quiet",
            "--single-transaction",
            "--set=ON_ERROR_STOP=1",
        ];
        let mut sink = tokio::io::sink();
        let outcome = self
            .provisioner()
            .exec(
                &record.id,
                "db",
                cmd.iter().map(|s| s.to_string()).collect(),
                Some(Box::new(reader)),
                &mut sink,
            )
            .await?;
        if outcome.exit_code != 0 {
            progress(Progress::new("restore", Stage::Failed, "psql failed"));
            return Err(failed(format!(
                "psql exited with {}: {}",
                outcome.exit_code,
                outcome.stderr.trim()
            )));
        }
        progress(Progress::new(
            "restore",
            Stage::Ready,
            format!("loaded {} ({})", file.display(), size(total)),
        ));
        Ok(RestoreReport {
            project: name.to_string(),
            file: file.to_path_buf(),
            bytes: total,
            previous,
        })
    }

    /// Before data is destroyed: a dump into the backups folder when the database holds
    /// anything (None when it holds nothing).
    pub(crate) async fn backup_if_data(
        &self,
        id: &str,
        name: &str,
        progress: ProgressSink<'_>,
    ) -> Result<Option<PathBuf>> {
        if !has_data(self.provisioner(), id, name).await? {
            progress(Progress::new(
                "backup",
                Stage::Ready,
                "the database holds no tables, views, sequences or functions: nothing to back up",
            ));
            return Ok(None);
        }
        let file = default_file(self.settings(), name);
        Ok(Some(
            dump(self.provisioner(), id, name, &file, progress)
                .await?
                .file,
        ))
    }
}

/// The backup `rm --volumes` takes first: None when there is no database (no container and
/// no volume) or an empty one; refused when the data exists but cannot be dumped.
pub async fn before_removal<P: Provisioner>(
    app: &Supalove<P>,
    name: &str,
    progress: ProgressSink<'_>,
) -> Result<Option<PathBuf>> {
    let status = app.provisioner().status(name).await?;
    let db = status.iter().find(|s| s.service == "db");
    let volume = crate::volumes::volume_name(name);
    match db {
        None if !app.provisioner().volume_exists(&volume).await? => return Ok(None),
        None => {
            return Err(Error::BackupFailed {
                project: name.to_string(),
                detail: format!(
                    "its data volume {volume} exists but no database container runs on it, so it cannot be dumped before deletion"
                ),
            })
        }
        Some(_) => {}
    }
    db_running(app.provisioner(), name, name).await?;
    app.backup_if_data(name, name, progress).await
}

async fn db_running<P: Provisioner>(provisioner: &P, id: &str, name: &str) -> Result<()> {
    let status = provisioner.status(id).await?;
    match status.iter().find(|s| s.service == "db").map(|s| s.state) {
        Some(ServiceState::Healthy | ServiceState::Starting | ServiceState::Unhealthy) => Ok(()),
        other => Err(Error::BackupFailed {
            project: name.to_string(),
            detail: match other {
                None | Some(ServiceState::Missing) => {
                    "its database container does not exist".into()
                }
                Some(state) => format!(
                    "its database is not running ({})",
                    serde_json::to_value(state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_default()
                ),
            },
        }),
    }
}

/// True when the database holds user objects (outside the system and Realtime schemas).
async fn has_data<P: Provisioner>(provisioner: &P, id: &str, name: &str) -> Result<bool> {
    let sql =
        "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
               WHERE c.relkind IN ('r','p','v','m','S','f') AND n.nspname NOT IN \
               ('pg_catalog','information_schema','pg_toast','realtime','_realtime') \
               AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%') \
               + (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace \
               WHERE n.nspname NOT IN ('pg_catalog','information_schema','realtime','_realtime'))";
    let cmd = [
        "psql",
        "--username=app",
        "--dbname=app",
        "--no-psqlrc",
        "--no-password",
        "--tuples-only",
        "--no-align",
        "--command",
        sql,
    ];
    let mut out = Vec::new();
    let outcome = provisioner
        .exec(
            id,
            "db",
            cmd.iter().map(|s| s.to_string()).collect(),
            None,
            &mut out,
        )
        .await?;
    let text = String::from_utf8_lossy(&out);
    match (outcome.exit_code, text.trim().parse::<u64>()) {
        (0, Ok(n)) => Ok(n > 0),
        _ => Err(Error::BackupFailed {
            project: name.to_string(),
            detail: format!(
                "could not look into the database: {}",
                outcome.stderr.trim()
            ),
        }),
    }
}

/// Runs pg_dump in the db container into `file` (written to a temporary name, then renamed).
async fn dump<P: Provisioner>(
    provisioner: &P,
    id: &str,
    name: &str,
    file: &Path,
    progress: ProgressSink<'_>,
) -> Result<BackupReport> {
    let failed = |detail: String| Error::BackupFailed {
        project: name.to_string(),
        detail,
    };
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        crate::registry::create_private_dir(dir)?;
    }
    let tmp = file.with_extension("sql.partial");
    let mut opts = tokio::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let out = opts
        .open(&tmp)
        .await
        .map_err(|e| failed(format!("cannot write {}: {e}", tmp.display())))?;
    progress(Progress::new(
        "backup",
        Stage::Creating,
        format!("pg_dump into {}", file.display()),
    ));
    let mut writer = Counting {
        inner: out,
        done: 0,
        reported: 0,
        total: None,
        label: "pg_dump",
        progress,
    };
    let cmd = [
        "pg_dump",
        "--username=app",
        "--dbname=app",
        "--no-password",
        "--clean",
        "--if-exists",
    ];
    let result = provisioner
        .exec(
            id,
            "db",
            cmd.iter().map(|s| s.to_string()).collect(),
            None,
            &mut writer,
        )
        .await;
    let bytes = writer.done;
    let finished = async {
        let outcome = result?;
        if outcome.exit_code != 0 {
            return Err(failed(format!(
                "pg_dump exited with {}: {}",
                outcome.exit_code,
                outcome.stderr.trim()
            )));
        }
        writer
            .inner
            .sync_all()
            .await
            .map_err(|e| failed(format!("writing {}: {e}", tmp.display())))?;
        tokio::fs::rename(&tmp, file)
            .await
            .map_err(|e| failed(format!("writing {}: {e}", file.display())))
    }
    .await;
    if let Err(e) = finished {
        let _ = tokio::fs::remove_file(&tmp).await;
        progress(Progress::new("backup", Stage::Failed, e.to_string()));
        return Err(e);
    }
    progress(Progress::new(
        "backup",
        Stage::Ready,
        format!("wrote {} ({})", file.display(), size(bytes)),
    ));
    Ok(BackupReport {
        project: name.to_string(),
        file: file.to_path_buf(),
        bytes,
    })
}

fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.1} MiB", bytes as f64 / 1048576.0)
    } else {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    }
}

/// Counts the bytes that pass through and reports progress every [`PROGRESS_EVERY`].
struct Counting<'a, T> {
    inner: T,
    done: u64,
    reported: u64,
    total: Option<u64>,
    label: &'static str,
    progress: ProgressSink<'a>,
}

impl<T> Counting<'_, T> {
    fn advance(&mut self, n: usize) {
        self.done += n as u64;
        if self.done - self.reported >= PROGRESS_EVERY {
            self.reported = self.done;
            let service = if self.total.is_some() {
                "restore"
            } else {
                "backup"
            };
            let mut p = Progress::new(
                service,
                Stage::Creating,
                format!("{}: {}", self.label, size(self.done)),
            );
            p.current = Some(self.done);
            p.total = self.total;
            (self.progress)(p);
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counting<'_, T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            self.advance(n);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counting<'_, T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = poll {
            let n = buf.filled().len() - before;
            self.advance(n);
        }
        poll
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_backup_files_sit_in_the_app_data_dir_and_sort_by_time() {
        let mut s = Settings::from_env().unwrap();
        s.home = PathBuf::from("/tmp/home");
        let f = default_file(&s, "shop");
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        assert_eq!(f.parent().unwrap(), Path::new("/tmp/home/backups"));
        assert!(
            name.starts_with("shop-20") && name.ends_with(".sql"),
            "{name}"
        );
        assert!(!name.contains(' ') && !name.contains(':'), "{name}");
    }

    #[tokio::test]
    async fn counting_reports_progress_with_the_total() {
        let seen = std::sync::Mutex::new(Vec::new());
        let sink = |p: Progress| seen.lock().unwrap().push((p.current, p.total));
        let data = vec![7u8; 600 * 1024];
        let mut reader = Counting {
            inner: data.as_slice(),
            done: 0,
            reported: 0,
            total: Some(data.len() as u64),
            label: "loading",
            progress: &sink,
        };
        let mut out = Vec::new();
        tokio::io::copy(&mut reader, &mut out).await.unwrap();
        assert_eq!(out.len(), data.len());
        let seen = seen.lock().unwrap();
        assert!(seen.len() >= 2, "{seen:?}");
        assert!(seen
            .iter()
            .all(|(c, t)| c.unwrap() <= t.unwrap() && *t == Some(600 * 1024)));
    }
}
