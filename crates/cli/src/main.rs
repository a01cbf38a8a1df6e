//! `supalove`: local Supabase-like projects on Docker, from the terminal.

mod listen;
mod output;
mod targets;
mod timeline;

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use supalove_core::ports::PortRequest;
use supalove_core::projects::WatchEvent;
use supalove_core::provisioner::{LogOptions, Progress};
use supalove_core::{CreateProject, Error, RemoveOptions};
use timeline::Timeline;

#[derive(Parser)]
#[command(
    name = "supalove",
    version,
    about = "Local Supabase-like projects on Docker, one command each"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Create a project: Postgres (wal_level=logical) with its secrets in the OS keyring
    #[command(
        long_about = "Create a project and wait until it is ready.\n\nA project is: a network project_<name>; a data volume project_<name>_db_data (kept by stop, start and a plain rm); a Postgres 15 container project_<name>_db started with wal_level=logical, its port on 127.0.0.1 only, with roles anon, authenticated and service_role and the supabase_realtime publication; a Realtime container project_<name>_realtime on REALTIME_PORT (the official engine also gets project_<name>_gateway in front); a JWT secret and a database password in the OS keyring, from which the anon and service_role keys are minted. Rerunning `new` for an interrupted project finishes it.",
        after_help = "Examples:\n  supalove new shop\n  supalove new shop --engine supabase --realtime-port 8100\n  supalove new shop --json | jq -r .db_url"
    )]
    New {
        /// The project name
        name: String,
        /// Host port for Postgres (default: a free one from SUPALOVE_DB_PORT_BASE + offset)
        #[arg(long)]
        db_port: Option<u16>,
        /// Host port of Realtime (default: SUPALOVE_REALTIME_PORT_BASE + offset)
        #[arg(long)]
        realtime_port: Option<u16>,
        /// Realtime engine: native (supalove's own) or supabase (the official image)
        #[arg(long)]
        engine: Option<String>,
        /// Allow --db-port / --realtime-port below 1024 (as root only)
        #[arg(long)]
        allow_privileged_ports: bool,
        /// Deploy to this target (`supalove target list`) instead of the local Docker engine
        #[arg(long)]
        target: Option<String>,
        /// With --target: the server (uuid) to deploy to
        #[arg(long, requires = "target")]
        server: Option<String>,
        /// With --target: Realtime's public host; for the official engine it must start with
        /// `realtime-dev.` (its tenant), e.g. realtime-dev.shop.example.com
        #[arg(long, requires = "target")]
        domain: Option<String>,
        /// With --target: the Realtime image the server pulls (the native engine's image is
        /// built locally: push it to a registry first)
        #[arg(long, requires = "target")]
        realtime_image: Option<String>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// List projects with their live status
    List {
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Show a project's card: status, db_url, ports, keys
    Show {
        /// The project name
        name: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Start a stopped project (recreates missing containers; data is kept)
    Start {
        /// The project name
        name: String,
        /// When the data volume is gone, begin again with an empty database (the data stays lost)
        #[arg(long)]
        recreate_empty: bool,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Stop a project's containers (data is kept)
    Stop {
        /// The project name
        name: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Stop, then start
    Restart {
        /// The project name
        name: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Delete a project's containers and network; data volumes and secrets are kept unless --volumes
    Rm {
        /// The project name
        name: String,
        /// Also delete the data volumes and the project's secrets (a database that holds
        /// anything is first dumped into the app-data dir's backups folder)
        #[arg(long)]
        volumes: bool,
        /// With --volumes: delete without taking that backup first
        #[arg(long, requires = "volumes")]
        no_backup: bool,
        /// Do not ask for confirmation
        #[arg(long, short)]
        yes: bool,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Dump a project's database (pg_dump, run in its db container) into a plain SQL file
    Backup {
        /// The project name
        name: String,
        /// Where to write it (default: a new file in the app-data dir's backups folder)
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Load a dump from `supalove backup` into a project's database, in one transaction
    /// (what the database held before is backed up first)
    Restore {
        /// The project name
        name: String,
        /// The dump to load (a file `supalove backup` wrote)
        file: PathBuf,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Print a project's logs (all services merged, or one)
    Logs {
        /// The project name
        name: String,
        /// Only this service (`db`, `realtime`, `gateway`); default: all, merged
        service: Option<String>,
        /// Keep streaming new lines
        #[arg(long, short)]
        follow: bool,
        /// Only the last N lines of history
        #[arg(long)]
        tail: Option<u64>,
        /// Prefix each line with the engine's time stamp (one per line: a program's own
        /// stamp for the same instant is left out)
        #[arg(long, short)]
        timestamps: bool,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Print connection settings as dotenv lines (like `supabase status -o env`)
    Env {
        /// The project name
        name: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Write docker-compose.yml, a 0600 .env and init files that `docker-compose up -d` runs
    Export {
        /// The project name
        name: String,
        /// The folder to write into (created if missing)
        dir: PathBuf,
        /// `coolify`: write what a Coolify deployment sends instead (init files inline, no
        /// container names, the variables set through its API in .env)
        #[arg(long)]
        target: Option<String>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Subscribe to a project's Realtime and print one JSON line per event, with its latency
    #[command(
        after_help = "Examples:\n  supalove listen shop --table messages\n  supalove listen shop --table messages --filter 'room_id=eq.7' --role authenticated\n  supalove listen shop --channel lobby --no-changes --broadcast --presence '{\"user\":\"ada\"}'"
    )]
    Listen {
        /// The project name
        name: String,
        #[command(flatten)]
        options: listen::ListenOptions,
    },
    /// Run SQL in the project's database (as its owner) and print the rows
    #[command(
        after_help = "The SQL comes from the argument, from a file (-f), or from stdin (`-` or no argument when stdin is not a terminal).\n\nExamples:\n  supalove sql shop \"create table messages (id bigserial primary key, body text)\"\n  supalove sql shop \"alter publication supabase_realtime add table messages\"\n  supalove sql shop \"select count(*) from messages\" --json\n  supalove sql shop -f schema.sql\n  pg_dump --schema-only other | supalove sql shop"
    )]
    Sql {
        /// The project name
        name: String,
        /// The SQL to run (several statements separated by `;` run in order); `-` reads stdin
        #[arg(conflicts_with = "file")]
        statement: Option<String>,
        /// Read the SQL from this file
        #[arg(short = 'f', long, value_name = "FILE.sql")]
        file: Option<std::path::PathBuf>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// List the project's tables with their columns, publication and RLS state
    Tables {
        /// The project name
        name: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Insert one row from a JSON object (left-out columns get their defaults)
    Insert {
        /// The project name
        name: String,
        /// schema.table (default schema: public)
        table: String,
        /// e.g. '{"body":"hello","n":1}'
        values: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Check what must hold for database changes to reach Realtime subscribers, with fixes
    #[command(
        after_help = "Examples:\n  supalove doctor shop\n  supalove doctor shop --table public.messages\n  supalove doctor shop --fix   # create the publication, add tables to it"
    )]
    Doctor {
        /// The project name
        name: String,
        /// Check these tables (schema.table; default: published tables and public's tables)
        #[arg(long)]
        table: Vec<String>,
        /// Apply the safe fixes (create the publication, add tables to it)
        #[arg(long)]
        fix: bool,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// CPU and memory of a project's running services (like `docker stats --no-stream`)
    Stats {
        /// The project name
        name: String,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Stream status changes of projects' containers as they happen (Docker events); waits
    /// out a Docker outage and resumes
    Watch {
        /// Only this project (default: every project)
        name: Option<String>,
        /// Print JSON instead of text
        #[arg(long)]
        json: bool,
    },
    /// Serve the control-plane HTTP API on 127.0.0.1 (and ::1): what the CLI does, over HTTP
    Serve {
        /// Port to listen on
        #[arg(long, default_value_t = supalove_api::DEFAULT_PORT)]
        port: u16,
        /// Let a browser page from this origin call the API (CORS); repeatable. Default: none
        #[arg(long = "allow-origin")]
        allow_origin: Vec<String>,
    },
    /// The control-plane API's bearer token
    Api {
        #[command(subcommand)]
        command: ApiCommand,
    },
    /// Where projects run besides local Docker: Coolify instances
    Target {
        #[command(subcommand)]
        command: targets::TargetCommand,
    },
}

#[derive(Subcommand)]
enum ApiCommand {
    /// Print the API's bearer token (created on first use, kept in the secret store)
    Token {
        /// Replace the token with a new one; the old one stops working at once
        #[arg(long)]
        rotate: bool,
    },
}

/// Runs the control plane until Ctrl-C.
async fn serve(port: u16, allow_origin: Vec<String>) -> anyhow::Result<()> {
    let app = std::sync::Arc::new(app().await?);
    let options = supalove_api::ServeOptions {
        port,
        allowed_origins: allow_origin,
    };
    let server = supalove_api::bind(app, options).await?;
    eprintln!("supalove control plane on {}", server.url());
    eprintln!(
        "token: `supalove api token`; health: GET {}/v1/health",
        server.url()
    );
    tokio::select! {
        r = server.run() => r?,
        _ = tokio::signal::ctrl_c() => eprintln!("stopping"),
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report_error(&e);
            ExitCode::FAILURE
        }
    }
}

fn report_error(e: &anyhow::Error) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "error: {e}");
    if let Some(refused) = e.downcast_ref::<listen::Refused>() {
        let _ = writeln!(err, "  hint: {}", refused.hint());
    }
    if let Some(core) = e.downcast_ref::<Error>() {
        if let Error::NotReady { last_logs, .. } = core {
            if !last_logs.is_empty() {
                let _ = writeln!(err, "  last log lines:");
                for l in last_logs {
                    let _ = writeln!(err, "    {l}");
                }
            }
        }
        if let Some(hint) = core.hint() {
            let _ = writeln!(err, "  hint: {hint}");
        }
    }
}

async fn app() -> anyhow::Result<targets::App> {
    targets::open().await
}

fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// The SQL of `supalove sql`: the argument, the file of `-f`, or stdin (`-`, or no argument
/// with stdin not a terminal). Empty SQL is refused, so nothing runs by mistake.
fn sql_text(statement: Option<String>, file: Option<std::path::PathBuf>) -> anyhow::Result<String> {
    use std::io::Read;
    let (text, from) = match (statement, file) {
        (_, Some(path)) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| anyhow::anyhow!("cannot read the SQL file {}: {e}", path.display()))?;
            (text, path.display().to_string())
        }
        (Some(s), None) if s != "-" => (s, "the argument".to_string()),
        (arg, None) => {
            if arg.is_none() && std::io::stdin().is_terminal() {
                anyhow::bail!(
                    "no SQL given: pass it as an argument, with -f FILE.sql, or on stdin (`supalove sql <project> - < file.sql`)"
                );
            }
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| anyhow::anyhow!("cannot read SQL from stdin: {e}"))?;
            (text, "stdin".to_string())
        }
    };
    if text.trim().is_empty() {
        anyhow::bail!("the SQL from {from} is empty: nothing was run");
    }
    Ok(text)
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::New {
            name,
            db_port,
            realtime_port,
            engine,
            allow_privileged_ports,
            target,
            server,
            domain,
            realtime_image,
            json,
        } => {
            let engine = engine
                .as_deref()
                .map(supalove_core::registry::RealtimeEngine::parse)
                .transpose()?;
            let app = app().await?;
            let tl = Timeline::new(json);
            let sink = |p: Progress| tl.report(p);
            let req = CreateProject {
                name,
                ports: PortRequest {
                    db: db_port,
                    realtime: realtime_port,
                    allow_privileged: allow_privileged_ports,
                },
                engine,
                remote: target.map(|target| supalove_core::projects::RemoteRequest {
                    target,
                    server,
                    domain,
                    realtime_image,
                }),
            };
            let result = app.create(req, &sink).await;
            tl.finish();
            let card = result?;
            if json {
                print_json(&card)?;
            } else {
                print!("{}", output::card(&card));
            }
        }
        Command::List { json } => {
            let cards = app().await?.list().await?;
            if json {
                print_json(&cards)?;
            } else {
                print!("{}", output::list(&cards));
            }
        }
        Command::Show { name, json } => {
            let card = app().await?.show(&name).await?;
            if json {
                print_json(&card)?;
            } else {
                print!("{}", output::card(&card));
            }
        }
        Command::Start {
            name,
            recreate_empty,
            json,
        } => lifecycle(&name, json, Action::Start { recreate_empty }).await?,
        Command::Stop { name, json } => lifecycle(&name, json, Action::Stop).await?,
        Command::Restart { name, json } => lifecycle(&name, json, Action::Restart).await?,
        Command::Rm {
            name,
            volumes,
            no_backup,
            yes,
            json,
        } => {
            let app = app().await?;
            let options = RemoveOptions {
                volumes,
                skip_backup: no_backup,
            };
            let plan = app.removal_plan(&name, options).await?;
            if !json || !yes {
                eprintln!("Removing project {name:?} deletes:");
                for c in &plan.containers {
                    eprintln!("  container {c}");
                }
                for n in &plan.networks {
                    eprintln!("  network   {n}");
                }
                for v in &plan.volumes_removed {
                    eprintln!("  volume    {v}  (its data is lost)");
                }
                if volumes {
                    eprintln!("  secrets   the project's JWT secret and database password");
                    if !no_backup {
                        eprintln!(
                            "after dumping its database (if it holds anything) into {} (skip with --no-backup)",
                            supalove_core::backup::backups_dir(app.settings()).display()
                        );
                    }
                }
                if !plan.volumes_kept.is_empty() {
                    eprintln!("and keeps:");
                    for v in &plan.volumes_kept {
                        eprintln!("  volume    {v}  (data; `supalove new {name}` reattaches it, `--volumes` deletes it)");
                    }
                    eprintln!("  secrets   in {}", app.secret_store());
                }
            }
            if !yes && !confirm(&format!("Remove {name}?"))? {
                anyhow::bail!("nothing was removed (answer `y` to confirm, or pass --yes)");
            }
            let tl = Timeline::new(json);
            let sink = |p: Progress| tl.report(p);
            let result = app.remove(&name, options, &sink).await;
            tl.finish();
            let report = result?;
            if json {
                print_json(&report)?;
            } else {
                if let Some(file) = &report.backup {
                    println!("backed up {name}'s database to {file}");
                }
                println!(
                    "removed {name}: {} container(s), {} network(s), {} volume(s); kept {} volume(s)",
                    report.containers.len(),
                    report.networks.len(),
                    report.volumes_removed.len(),
                    report.volumes_kept.len()
                );
            }
        }
        Command::Backup { name, out, json } => {
            let app = app().await?;
            let tl = Timeline::new(json);
            let sink = |p: Progress| tl.report(p);
            let result = app.backup(&name, out.as_deref(), &sink).await;
            tl.finish();
            let report = result?;
            if json {
                print_json(&report)?;
            } else {
                println!("{}", report.file.display());
            }
        }
        Command::Restore { name, file, json } => {
            let app = app().await?;
            let tl = Timeline::new(json);
            let sink = |p: Progress| tl.report(p);
            let result = app.restore(&name, &file, &sink).await;
            tl.finish();
            let report = result?;
            if json {
                print_json(&report)?;
            } else {
                if let Some(previous) = &report.previous {
                    println!("the database as it was before: {}", previous.display());
                }
                println!("restored {} into {name}", report.file.display());
            }
        }
        Command::Logs {
            name,
            service,
            follow,
            tail,
            timestamps,
            json,
        } => {
            let app = app().await?;
            let mut stream = app
                .logs(&name, service.as_deref(), LogOptions { follow, tail })
                .await?;
            let many = service.is_none();
            let mut out = std::io::stdout().lock();
            while let Some(line) = stream.next().await {
                let line = line?;
                let text = match (timestamps, &line.timestamp) {
                    (true, Some(ts)) => format!("{ts} {}", line.message()),
                    _ => line.text.clone(),
                };
                let written = if json {
                    writeln!(out, "{}", serde_json::to_string(&line)?)
                } else if many {
                    writeln!(out, "{:<9}| {text}", line.service)
                } else {
                    writeln!(out, "{text}")
                };
                if written.is_err() {
                    break; // the reader went away (e.g. `| head`)
                }
            }
        }
        Command::Env { name, json } => {
            let env = app().await?.env(&name).await?;
            if json {
                print_json(&env)?;
            } else {
                for (k, v) in env {
                    println!("{}", output::env_line(&k, &v));
                }
            }
        }
        Command::Export {
            name,
            dir,
            target,
            json,
        } => {
            let app = app().await?;
            let coolify = target.as_deref() == Some("coolify");
            let report = match &target {
                Some(t) => app.export_for(&name, &dir, t).await?,
                None => app.export(&name, &dir).await?,
            };
            if json {
                print_json(&report)?;
            } else {
                println!("wrote {}", report.compose_file.display());
                println!(
                    "wrote {} (mode 0600: it holds the project's secrets)",
                    report.env_file.display()
                );
                for f in &report.files {
                    println!("wrote {}", f.display());
                }
                if coolify {
                    println!("this is what `supalove new --target` sends: the compose (base64) to POST /api/v1/services, the .env through PATCH .../envs/bulk");
                } else {
                    println!(
                        "run it with: docker-compose -f {} up -d",
                        report.compose_file.display()
                    );
                }
            }
        }
        Command::Listen { name, options } => {
            listen::run(&app().await?, &name, options).await?;
        }
        Command::Tables { name, json } => {
            let tables = app().await?.tables(&name).await?;
            if json {
                print_json(&tables)?;
            } else {
                for t in &tables {
                    let cols: Vec<String> = t
                        .columns
                        .iter()
                        .map(|c| format!("{} {}", c.name, c.data_type))
                        .collect();
                    println!(
                        "{}.{}{}{} ({})",
                        t.schema,
                        t.name,
                        if t.published { "  [realtime]" } else { "" },
                        if t.rls { "  [rls]" } else { "" },
                        cols.join(", ")
                    );
                }
            }
        }
        Command::Insert {
            name,
            table,
            values,
            json,
        } => {
            let values = match serde_json::from_str::<serde_json::Value>(&values) {
                Ok(serde_json::Value::Object(map)) => map,
                _ => anyhow::bail!("values must be a JSON object, e.g. '{{\"body\":\"hello\"}}'"),
            };
            let (schema, table) = supalove_core::doctor::split_table(&table);
            let result = app()
                .await?
                .insert_row(&name, &schema, &table, &values)
                .await?;
            if json {
                print_json(&result)?;
            } else {
                for row in &result.rows {
                    println!("{}", row[0].as_deref().unwrap_or("null"));
                }
            }
        }
        Command::Sql {
            name,
            statement,
            file,
            json,
        } => {
            let statement = sql_text(statement, file)?;
            let results = app().await?.sql(&name, &statement).await?;
            if json {
                print_json(&results)?;
            } else {
                for r in &results {
                    print!("{}", output::table(r));
                }
            }
        }
        Command::Doctor {
            name,
            table,
            fix,
            json,
        } => {
            let report = app().await?.doctor(&name, &table, fix).await?;
            if json {
                print_json(&report)?;
            } else {
                print!("{}", output::doctor(&report));
            }
            if report
                .checks
                .iter()
                .any(|c| c.status == supalove_core::doctor::CheckStatus::Fail)
            {
                std::process::exit(3);
            }
        }
        Command::Stats { name, json } => {
            let stats = app().await?.stats(&name).await?;
            if json {
                print_json(&stats)?;
            } else {
                println!(
                    "{:<10} {:<32} {:>7} {:>20}",
                    "SERVICE", "CONTAINER", "CPU %", "MEMORY / LIMIT"
                );
                for s in stats {
                    println!(
                        "{:<10} {:<32} {:>7.2} {:>9.1} / {:.0} MiB",
                        s.service,
                        s.container,
                        s.cpu_percent,
                        s.memory_bytes as f64 / 1048576.0,
                        s.memory_limit_bytes as f64 / 1048576.0
                    );
                }
            }
        }
        Command::Watch { name, json } => {
            let app = app().await?;
            if let Some(n) = &name {
                app.show(n).await?;
            }
            let mut events = app.watch(name.as_deref());
            while let Some(ev) = events.next().await {
                if json {
                    println!("{}", serde_json::to_string(&ev)?);
                    continue;
                }
                match ev {
                    WatchEvent::Change(ev) => println!(
                        "{} {}/{}: {}",
                        output::date(ev.time.max(0) as u64),
                        ev.project,
                        ev.service,
                        ev.action
                    ),
                    WatchEvent::DockerLost { tried, detail } => eprintln!(
                        "Docker went away ({}: {detail}); waiting for it to come back...",
                        tried.join(", ")
                    ),
                    WatchEvent::DockerBack { endpoint } => {
                        eprintln!("Docker is back at {endpoint}; watching again")
                    }
                }
            }
        }
        Command::Serve { port, allow_origin } => {
            serve(port, allow_origin).await?;
        }
        Command::Target { command } => targets::run(command).await?,
        Command::Api { command } => match command {
            ApiCommand::Token { rotate } => {
                let app = app().await?;
                let token = if rotate {
                    app.rotate_api_token().await?
                } else {
                    app.api_token().await?
                };
                println!("{token}");
            }
        },
    }
    Ok(())
}

enum Action {
    Start { recreate_empty: bool },
    Stop,
    Restart,
}

async fn lifecycle(name: &str, json: bool, action: Action) -> anyhow::Result<()> {
    let app = app().await?;
    let tl = Timeline::new(json);
    let sink = |p: Progress| tl.report(p);
    let result = match action {
        Action::Start { recreate_empty } => {
            let options = supalove_core::projects::StartOptions { recreate_empty };
            app.start_with(name, options, &sink).await
        }
        Action::Stop => app.stop(name, &sink).await,
        Action::Restart => app.restart(name, &sink).await,
    };
    tl.finish();
    let card = result?;
    if json {
        print_json(&card)?;
    } else {
        println!("{}: {}", card.name, output::status_word(card.status));
    }
    Ok(())
}

fn confirm(question: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("{question} needs confirmation: pass --yes (stdin is not a terminal)");
    }
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}

#[cfg(test)]
mod help_tests {
    use clap::CommandFactory;

    /// Every argument and flag of every command says what it is for.
    #[test]
    fn every_argument_and_flag_has_a_description() {
        fn walk(cmd: &clap::Command, path: String, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if arg.is_hide_set() || id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_about().is_none() && sub.get_long_about().is_none() {
                    missing.push(format!("{path} {} (the command itself)", sub.get_name()));
                }
                walk(sub, format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "supalove".into(), &mut missing);
        assert!(
            missing.is_empty(),
            "without a description:\n{}",
            missing.join("\n")
        );
    }

    /// `new`, `listen`, `sql` and `doctor` show examples; `new --help` says what a project is.
    #[test]
    fn the_main_commands_show_examples() {
        let mut cli = super::Cli::command();
        for name in ["new", "listen", "sql", "doctor"] {
            let sub = cli.find_subcommand_mut(name).unwrap();
            let help = sub.render_long_help().to_string();
            assert!(
                help.contains("Examples:\n  supalove {name}")
                    || help.contains(&format!("Examples:\n  supalove {name} ")),
                "{name}: {help}"
            );
        }
        let new = cli.find_subcommand_mut("new").unwrap();
        let help = new.render_long_help().to_string();
        for part in [
            "project_<name>_db_data",
            "wal_level=logical",
            "supabase_realtime",
            "OS keyring",
        ] {
            assert!(help.contains(part), "new --help names {part}: {help}");
        }
    }
}
