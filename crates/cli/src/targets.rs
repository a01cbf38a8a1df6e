//! Opening supalove with its targets, and the `target` commands (thin: the use cases are
//! core's `add_target` / `targets` / `remove_target`, the probe is the Coolify client's).

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use clap::Subcommand;
use supalove_coolify::{CoolifyConfig, CoolifyProvisioner, RegistryStore};
use supalove_core::registry::Registry;
use supalove_core::routed::Routed;
use supalove_core::Supalove;
use supalove_docker::LocalDocker;

/// supalove with every project on its target: local Docker, or a Coolify instance.
pub type App = Supalove<Routed<LocalDocker, CoolifyProvisioner>>;

/// Opens settings, secrets, the local engine and one provisioner per configured target.
pub async fn open() -> anyhow::Result<App> {
    let local = supalove_docker::open()?;
    let settings = local.settings().clone();
    let secrets = supalove_core::secrets::store_for(&settings);
    let registry = Registry::new(settings.registry_path());
    let mut remotes = BTreeMap::new();
    let mut broken = Vec::new();
    for t in local.targets().await? {
        let opened = async {
            let token = local.target_token(&t.name).await?;
            let mut config = CoolifyConfig::new(&t.name, &t.url, &token);
            config.server_uuid = t.server_uuid.clone();
            let store = Arc::new(RegistryStore(registry.clone()));
            CoolifyProvisioner::new(config, store)
        };
        match opened.await {
            Ok(p) => {
                remotes.insert(t.name.clone(), p);
            }
            Err(e) => broken.push((t.name.clone(), e.to_string())),
        }
    }
    let docker = LocalDocker::new(settings.docker_host.as_deref());
    let mut routed = Routed::new(docker, remotes, registry);
    for (name, why) in broken {
        routed = routed.with_broken(&name, why);
    }
    Ok(Supalove::new(settings, secrets, routed))
}

#[derive(Subcommand)]
pub enum TargetCommand {
    /// Add (or update) a Coolify instance as a target; the API token is read from stdin
    /// into the OS keyring (it needs the abilities read, write and deploy, or root)
    Add {
        /// A name for the target (what `new --target <name>` takes)
        name: String,
        /// The instance's URL, e.g. https://coolify.example.com
        #[arg(long)]
        coolify: String,
        /// Read the token from stdin (required: a token never goes on the command line)
        #[arg(long, required = true)]
        token_stdin: bool,
        /// The server new projects go to (default: the first usable one)
        #[arg(long)]
        server: Option<String>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// List targets: reachable? version? servers
    List {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Forget a target and its token (refused while projects run on it)
    Rm {
        /// The target's name
        name: String,
    },
}

/// Runs one `target` command.
pub async fn run(command: TargetCommand) -> anyhow::Result<()> {
    match command {
        TargetCommand::Add {
            name,
            coolify,
            token_stdin: _,
            server,
            json,
        } => {
            let mut token = String::new();
            std::io::stdin().read_to_string(&mut token)?;
            let app = open().await?;
            let record = app.add_target(&name, &coolify, token, server).await?;
            // Reopen so the new target's provisioner exists, then check that it answers.
            let app = open().await?;
            let probe = match app.provisioner().remote(&name) {
                Some(p) => Some(p.probe().await),
                None => None,
            };
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"target": record, "probe": probe})
                    )?
                );
            } else {
                println!(
                    "added target {name} ({}); token kept in {}",
                    record.url,
                    app.secret_store()
                );
                if let Some(p) = probe {
                    print!("{}", describe(&name, &p));
                }
            }
        }
        TargetCommand::List { json } => {
            let app = open().await?;
            let mut rows = Vec::new();
            for t in app.targets().await? {
                let probe = match app.provisioner().remote(&t.name) {
                    Some(p) => Some(p.probe().await),
                    None => None,
                };
                rows.push((t, probe));
            }
            if json {
                let list: Vec<_> = rows
                    .iter()
                    .map(|(t, p)| serde_json::json!({"target": t, "probe": p}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else if rows.is_empty() {
                println!("local (Docker) only. Add a Coolify instance with `supalove target add <name> --coolify <url> --token-stdin`.");
            } else {
                for (t, p) in rows {
                    println!("{}  coolify  {}", t.name, t.url);
                    match p {
                        Some(p) => print!("{}", describe(&t.name, &p)),
                        None => println!("  its token cannot be read from {}", app.secret_store()),
                    }
                }
            }
        }
        TargetCommand::Rm { name } => {
            open().await?.remove_target(&name).await?;
            println!("removed target {name} and its token");
        }
    }
    Ok(())
}

fn describe(name: &str, p: &supalove_coolify::TargetProbe) -> String {
    let mut out = String::new();
    match (&p.version, &p.error) {
        (Some(v), None) => out.push_str(&format!("  reachable · Coolify {v}\n")),
        (Some(v), Some(e)) => out.push_str(&format!("  reachable · Coolify {v} · {e}\n")),
        (None, Some(e)) => out.push_str(&format!(
            "  {} · {e}\n",
            if p.reachable {
                "refused"
            } else {
                "unreachable"
            }
        )),
        (None, None) => out.push_str("  no answer\n"),
    }
    if let Some(h) = &p.hint {
        out.push_str(&format!("  hint: {h}\n"));
    }
    for (uuid, server, usable) in &p.servers {
        out.push_str(&format!(
            "  server {server}  {uuid}{}\n",
            if *usable { "" } else { "  (not usable)" }
        ));
    }
    if p.servers.is_empty() && p.error.is_none() {
        out.push_str(&format!(
            "  no servers: add one in Coolify before `supalove new <project> --target {name}`\n"
        ));
    }
    out
}
