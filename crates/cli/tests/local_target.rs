//! The local path with targets in place: a project made without `--target` runs on the local
//! Docker engine exactly as before (its card says so), next to a configured Coolify target.

mod common;

use common::World;

#[test]
fn a_local_project_stays_local_when_a_target_exists() {
    let w = World::new(95);
    let name = w.name("local");
    // A target that answers nothing: local projects must not need it.
    let mut add = w.cmd(&[
        "target",
        "add",
        "far",
        "--coolify",
        "http://127.0.0.1:9",
        "--token-stdin",
    ]);
    add.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = add.spawn().unwrap();
    {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"1|t").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("unreachable"));

    let card = w.json(&["new", &name]);
    assert_eq!(card["status"], "healthy", "{card}");
    assert!(card["target"].is_null(), "{card}");
    let port = card["ports"]["realtime"].as_u64().unwrap();
    assert_eq!(
        card["realtime_url"],
        format!("ws://127.0.0.1:{port}/socket")
    );
    let show = w.ok(&["show", &name]);
    assert!(show.contains("target        local (Docker)"), "{show}");
    assert!(
        common::docker(&["ps", "--format", "{{.Names}}"]).contains(&format!("project_{name}_db"))
    );
    w.ok(&["rm", &name, "--yes"]);
    w.ok(&["target", "rm", "far"]);
}
