//! What the bench binaries share: finding the `supalove` binary next to them, running it in a
//! private home, the docker CLI, medians and the medians table. Each bench includes this file
//! with `#[path]`; not every bench uses every item.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A binary built next to the running one (`target/<profile>/<name>`).
pub fn sibling(name: &str) -> anyhow::Result<PathBuf> {
    let me = std::env::current_exe()?;
    let path = me.with_file_name(name);
    anyhow::ensure!(
        path.exists(),
        "{} is missing: build it with `cargo build --release -p supalove`",
        path.display()
    );
    Ok(path)
}

/// Runs `supalove <args>` in `home` with its own port bases (and `env`); stdout, or why not.
pub fn run_supalove(
    supalove: &Path,
    home: &Path,
    (db_base, realtime_base): (&str, &str),
    env: &[(&str, &str)],
    args: &[&str],
) -> anyhow::Result<String> {
    let out = Command::new(supalove)
        .args(args)
        .env("SUPALOVE_HOME", home)
        .env("SUPALOVE_DB_PORT_BASE", db_base)
        .env("SUPALOVE_REALTIME_PORT_BASE", realtime_base)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "supalove {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// `docker <args>`, trimmed stdout.
pub fn docker(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("docker").args(args).output()?;
    anyhow::ensure!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

pub fn median(xs: &[Duration]) -> Duration {
    let mut v = xs.to_vec();
    v.sort();
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> u128 {
    d.as_millis()
}

/// A table of median/min/max in ms, one row per labelled sample set.
pub fn print_medians(rows: &[(&str, &[Duration])]) {
    println!("{:<44} {:>8} {:>8} {:>8}", "", "median", "min", "max");
    for (label, xs) in rows {
        println!(
            "{label:<44} {:>8} {:>8} {:>8}",
            ms(median(xs)),
            ms(*xs.iter().min().unwrap()),
            ms(*xs.iter().max().unwrap())
        );
    }
}
