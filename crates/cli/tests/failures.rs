//! Failures say what is wrong and how to fix it, and leave nothing behind.

mod common;

use std::time::Duration;

use common::{containers_named, docker, eventually, World};

#[test]
fn no_docker_daemon_is_a_clear_error() {
    let w = World::new(20);
    let name = w.name("nodaemon");
    let out = w
        .cmd(&["new", &name])
        .env("DOCKER_HOST", "unix:///tmp/supalove-no-such-docker.sock")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Docker is not reachable"), "{err}");
    assert!(
        err.contains("/tmp/supalove-no-such-docker.sock"),
        "says what it tried: {err}"
    );
    assert!(
        err.contains("systemctl start docker"),
        "says how to fix it: {err}"
    );
    common::assert_nothing_created(&w, &name);
}

#[test]
fn missing_image_is_a_clear_error_and_creates_nothing() {
    let w = World::new(21);
    let name = w.name("noimage");
    let out = w
        .cmd(&["new", &name])
        .env("SUPALOVE_LOCAL_POSTGRES_IMAGE", "supalove/absent:0")
        .env("SUPALOVE_POSTGRES_IMAGE", "supalove/absent:0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("image supalove/absent:0 is not available"),
        "{err}"
    );
    assert!(
        err.contains("scripts/build-images.sh"),
        "names the build script: {err}"
    );
    common::assert_nothing_created(&w, &name);
}

#[test]
fn unavailable_keyring_is_a_clear_error_and_creates_nothing() {
    let w = World::new(22);
    let name = w.name("nokeyring");
    let out = w
        .cmd(&["new", &name])
        .env("SUPALOVE_SECRET_STORE", "keyring")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/tmp/supalove-no-such-bus",
        )
        .env_remove("DISPLAY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("keyring is unavailable"), "{err}");
    assert!(
        err.contains("SUPALOVE_SECRET_STORE=file"),
        "offers the opt-in: {err}"
    );
    common::assert_nothing_created(&w, &name);
}

/// Runs `supalove new <name>` and kills it as soon as its db container exists: it is then
/// creating, uploading, starting or waiting for initdb, never done. The container's name.
fn kill_new_midway(w: &World, name: &str) -> String {
    let container = format!("project_{name}_db");
    let mut child = w.cmd(&["new", name]).spawn().unwrap();
    let seen = eventually(Duration::from_secs(30), || {
        !containers_named(&container).is_empty()
    });
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(seen, "the container never appeared");
    assert!(!status.success(), "the CLI was killed before it finished");
    container
}

#[test]
fn killed_mid_provision_then_rerun_converges_without_orphans() {
    let w = World::new(23);
    let name = w.name("killed");
    let container = kill_new_midway(&w, &name);
    let registry = w.registry_text();
    assert!(registry.contains("\"provisioned\": false"), "{registry}");
    assert_eq!(w.json(&["show", &name])["status"], "incomplete");

    let card = w.json(&["new", &name]);
    assert_eq!(card["status"], "healthy", "{card}");
    let mut all = containers_named(&format!("project_{name}_"));
    all.sort();
    assert_eq!(all, vec![container, format!("project_{name}_realtime")]);
    let nets = docker(&[
        "network",
        "ls",
        "-q",
        "--filter",
        &format!("name=project_{name}"),
    ]);
    assert_eq!(nets.lines().count(), 1);
    let vols = docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name=project_{name}"),
    ]);
    assert_eq!(vols.lines().count(), 1);
    assert_eq!(w.json(&["list"]).as_array().unwrap().len(), 1);
    assert_eq!(
        w.sql(
            &name,
            "SELECT count(*) FROM pg_publication WHERE pubname = 'supabase_realtime'"
        ),
        "1"
    );
}

/// `supalove start` on a project whose `new` was killed midway finishes the creation (the same
/// resume as rerunning `new`), and never calls a still-incomplete project started.
#[test]
fn start_of_a_project_killed_mid_provision_finishes_it() {
    let w = World::new(83);
    let name = w.name("halfmade");
    let container = kill_new_midway(&w, &name);
    assert_eq!(w.json(&["show", &name])["status"], "incomplete");

    let card = w.json(&["start", &name]);
    assert_eq!(card["status"], "healthy", "{card}");
    assert!(w.registry_text().contains("\"provisioned\": true"));
    assert_eq!(w.json(&["show", &name])["status"], "healthy");
    let mut all = containers_named(&format!("project_{name}_"));
    all.sort();
    assert_eq!(all, vec![container, format!("project_{name}_realtime")]);
    assert_eq!(
        w.sql(
            &name,
            "SELECT count(*) FROM pg_publication WHERE pubname = 'supabase_realtime'"
        ),
        "1"
    );
}

#[test]
fn an_image_that_cannot_run_postgres_fails_clearly_and_creates_nothing() {
    let w = World::new(24);
    let name = w.name("badimage");
    // The bare Debian rootfs of our image: present, but `postgres` is not on its PATH.
    let out = w
        .cmd(&["new", &name])
        .env(
            "SUPALOVE_LOCAL_POSTGRES_IMAGE",
            "supalove/pg15-rootfs:bookworm",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("error:") && err.contains("postgres"), "{err}");
    common::assert_nothing_created(&w, &name);
}

#[test]
fn official_engine_image_missing_is_a_clear_error_and_creates_nothing() {
    let w = World::new(25);
    let name = w.name("official");
    let out = w
        .cmd(&["new", &name, "--engine", "supabase"])
        // A supported tag (the template has its recipe) of an image this machine lacks.
        .env(
            "SUPALOVE_SUPABASE_REALTIME_IMAGE",
            "supalove-test/absent-realtime:v2.28.32",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("image supalove-test/absent-realtime:v2.28.32 is not available"),
        "{err}"
    );
    assert!(err.contains("pulling is disabled"), "{err}");
    common::assert_nothing_created(&w, &name);
    let bad = w.fails(&["new", &name, "--engine", "elixir"]);
    assert!(bad.contains("neither `native` nor `supabase`"), "{bad}");
}
