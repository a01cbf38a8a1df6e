//! The CLI on a Coolify target, against the fake Coolify of `crates/coolify/tests` (no
//! Docker: every call goes to the fake): target add/list/rm, new --target, show, list,
//! stop/start, export --target coolify, rm.

mod common;
#[path = "../../coolify/tests/fake/mod.rs"]
mod fake;

use std::process::{Command, Output, Stdio};

use fake::{FakeCoolify, Knobs};

struct Home(tempfile::TempDir);

impl Home {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_supalove"));
        c.args(args)
            .env("SUPALOVE_HOME", self.0.path())
            .env("SUPALOVE_SECRET_STORE", "file")
            // Nothing here may reach a Docker engine: point it at nothing.
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .stdin(Stdio::null());
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        common::succeeded(args, self.run(args))
    }

    fn with_stdin(&self, args: &[&str], input: &str) -> Output {
        common::run_with_stdin(self.cmd(args), input)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_deploys_to_a_coolify_target_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs {
        healthy_after: 1,
        ..Knobs::default()
    })
    .await;
    let home = Home(tempfile::tempdir().unwrap());
    let url = fake.url();
    let added = home.with_stdin(
        &["target", "add", "prod", "--coolify", &url, "--token-stdin"],
        &format!("{}\n", fake::TOKEN),
    );
    let stdout = String::from_utf8_lossy(&added.stdout);
    assert!(
        added.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(stdout.contains("reachable · Coolify 4.3.11"), "{stdout}");
    let targets = std::fs::read_to_string(home.0.path().join("targets.json")).unwrap();
    assert!(
        !targets.contains(fake::TOKEN),
        "the token is not in the targets file"
    );

    let list = home.ok(&["target", "list"]);
    let server = fake.with(|s| s.server_uuid.clone());
    assert!(
        list.contains("prod  coolify") && list.contains(&server),
        "{list}"
    );

    let card: serde_json::Value = serde_json::from_str(&home.ok(&[
        "new",
        "shop",
        "--target",
        "prod",
        "--realtime-image",
        "ghcr.io/example/realtime:0.1.0",
        "--json",
    ]))
    .unwrap();
    assert_eq!(card["target"], "prod");
    assert_eq!(card["status"], "healthy");
    assert_eq!(
        card["realtime_url"],
        "wss://realtime-dev.shop.apps.example.test/socket"
    );
    let svc = fake.only_service();
    assert_eq!(
        svc.env_at_start[0]["REALTIME_PORT"],
        card["ports"]["realtime"].to_string()
    );

    let show = home.ok(&["show", "shop"]);
    assert!(show.contains("target        prod"), "{show}");
    let listed = home.ok(&["list"]);
    assert!(
        listed.lines().nth(1).unwrap().trim_end().ends_with("prod"),
        "{listed}"
    );
    assert!(home.ok(&["stop", "shop"]).contains("stopped"));
    assert!(home.ok(&["start", "shop"]).contains("healthy"));

    let dir = home.0.path().join("export");
    let out = home.ok(&[
        "export",
        "shop",
        dir.to_str().unwrap(),
        "--target",
        "coolify",
    ]);
    assert!(out.contains("POST /api/v1/services"), "{out}");
    let compose = std::fs::read_to_string(dir.join("docker-compose.yml")).unwrap();
    assert_eq!(compose, svc.compose, "the export is exactly what was sent");

    let out = home.run(&["target", "rm", "prod"]);
    assert!(!out.status.success(), "refused while shop runs there");
    let rm = home.ok(&["rm", "shop", "--yes"]);
    assert!(rm.contains("kept 1 volume"), "{rm}");
    assert_eq!(fake.service_count(), 0);
    home.ok(&["target", "rm", "prod"]);
    assert!(home.ok(&["target", "list"]).contains("local (Docker) only"));
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn cli_reports_a_refused_token_with_its_fix_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let home = Home(tempfile::tempdir().unwrap());
    let out = home.with_stdin(
        &[
            "target",
            "add",
            "prod",
            "--coolify",
            &fake.url(),
            "--token-stdin",
        ],
        "9|wrong",
    );
    assert!(
        out.status.success(),
        "the target is kept; the probe says what is wrong"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("refused") && stdout.contains("Unauthenticated"),
        "{stdout}"
    );
    assert!(
        stdout.contains("hint: the token is wrong or was revoked"),
        "{stdout}"
    );
    let out = home.run(&["new", "shop", "--target", "prod", "--engine", "supabase"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did not accept the token (401"), "{stderr}");
    assert!(
        stderr.contains("hint: the token is wrong or was revoked"),
        "{stderr}"
    );
    assert!(
        home.ok(&["list"]).contains("No projects yet"),
        "nothing was kept"
    );
}

#[path = "common/http.rs"]
mod http;

#[tokio::test(flavor = "multi_thread")]
async fn api_creates_on_a_target_against_fake_coolify() {
    use std::io::BufRead;
    let fake = FakeCoolify::start(Knobs {
        healthy_after: 1,
        ..Knobs::default()
    })
    .await;
    let home = Home(tempfile::tempdir().unwrap());
    let added = home.with_stdin(
        &[
            "target",
            "add",
            "prod",
            "--coolify",
            &fake.url(),
            "--token-stdin",
        ],
        fake::TOKEN,
    );
    assert!(added.status.success());
    let mut child = home
        .cmd(&["serve", "--port", "0"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let port: u16 = first.rsplit(':').next().unwrap().trim().parse().unwrap();
    std::thread::spawn(move || for _ in lines {});
    let token = home.ok(&["api", "token"]).trim().to_string();

    let body = r#"{"name":"blog","target":"prod","engine":"supabase","domain":"realtime-dev.blog.example.test"}"#;
    let r = tokio::task::spawn_blocking(move || {
        http::Request::new(port, "POST", "/v1/projects")
            .token(&token)
            .json(body)
            .send()
    })
    .await
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(r.status, 201, "{}", r.body);
    let card = r.json();
    assert_eq!(card["target"], "prod");
    assert_eq!(
        card["realtime_url"],
        "wss://realtime-dev.blog.example.test/socket"
    );
    assert_eq!(fake.only_service().name, "supalove-blog");
    assert_eq!(fake.violations(), Vec::<String>::new());
}
