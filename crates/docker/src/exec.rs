//! Running a command in a project's container (pg_dump, psql) through the engine's exec API,
//! so no host client of a matching version is needed.

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use bollard::Docker;
use futures_util::StreamExt;
use supalove_core::provisioner::ExecOutcome;
use supalove_core::{Error, Result};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::docker_error;
use crate::labels::container_name;

/// How much of stderr an outcome keeps (the end is where the error is).
const STDERR_KEEP: usize = 8 * 1024;

/// See `Provisioner::exec`.
pub async fn exec(
    docker: &Docker,
    project_id: &str,
    service: &str,
    cmd: Vec<String>,
    stdin: Option<Box<dyn AsyncRead + Send + Unpin + '_>>,
    stdout: &mut (dyn AsyncWrite + Send + Unpin),
) -> Result<ExecOutcome> {
    let container = container_name(project_id, service);
    let running = docker
        .inspect_container(&container, None)
        .await
        .map_err(|e| match e {
            e if crate::is_not_found(&e) => {
                Error::Docker(format!("container {container} does not exist"))
            }
            e => docker_error(e),
        })?
        .state
        .and_then(|s| s.running)
        .unwrap_or(false);
    if !running {
        return Err(Error::Docker(format!(
            "container {container} is not running"
        )));
    }
    let created = docker
        .create_exec(
            &container,
            CreateExecOptions {
                attach_stdin: Some(stdin.is_some()),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: Some(cmd),
                ..Default::default()
            },
        )
        .await
        .map_err(docker_error)?;
    let started = docker
        .start_exec(
            &created.id,
            Some(StartExecOptions {
                detach: false,
                tty: false,
                output_capacity: Some(64 * 1024),
            }),
        )
        .await
        .map_err(docker_error)?;
    let StartExecResults::Attached {
        mut output,
        mut input,
    } = started
    else {
        return Err(Error::Docker("the engine detached the exec".into()));
    };
    let feed = async move {
        if let Some(mut source) = stdin {
            tokio::io::copy(&mut source, &mut input)
                .await
                .map_err(|e| Error::Io {
                    context: "sending input to the container".into(),
                    source: e,
                })?;
        }
        // EOF for the command's stdin (a half-close of the attach connection).
        input.shutdown().await.map_err(|e| Error::Io {
            context: "closing the container's input".into(),
            source: e,
        })
    };
    let drain = async {
        let mut stderr = Vec::new();
        while let Some(chunk) = output.next().await {
            match chunk.map_err(docker_error)? {
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    stdout.write_all(&message).await.map_err(|e| Error::Io {
                        context: "writing the command's output".into(),
                        source: e,
                    })?
                }
                LogOutput::StdErr { message } => {
                    stderr.extend_from_slice(&message);
                    if stderr.len() > 2 * STDERR_KEEP {
                        stderr.drain(..stderr.len() - STDERR_KEEP);
                    }
                }
                LogOutput::StdIn { .. } => {}
            }
        }
        stdout.flush().await.map_err(|e| Error::Io {
            context: "writing the command's output".into(),
            source: e,
        })?;
        Ok::<_, Error>(stderr)
    };
    let (fed, stderr) = tokio::join!(feed, drain);
    let stderr = stderr?;
    let inspect = docker
        .inspect_exec(&created.id)
        .await
        .map_err(docker_error)?;
    let exit_code = inspect.exit_code.unwrap_or(-1);
    let tail = &stderr[stderr.len().saturating_sub(STDERR_KEEP)..];
    let stderr = String::from_utf8_lossy(tail).into_owned();
    // A command that stopped reading early (and failed) explains itself better than the
    // broken pipe its input hit.
    if exit_code == 0 {
        fed?;
    }
    Ok(ExecOutcome { exit_code, stderr })
}
