//! A name that supalove's registry calls free but Docker already uses (another supalove home's
//! project, or containers made by hand) is refused before anything is touched: creating the
//! project would otherwise replace those containers.

mod common;

use common::{docker, World};

fn container_id(name: &str) -> String {
    docker(&["inspect", "-f", "{{.Id}}", name])
}

#[test]
fn a_hand_made_container_under_the_name_is_named_and_left_alone() {
    let w = World::new(16);
    let name = w.name("handmade");
    let container = format!("project_{name}_db");
    // Created, never started: the kind of leftover a `docker run` or an exported compose leaves.
    docker(&[
        "create",
        "--name",
        &container,
        "supalove/postgres:15",
        "true",
    ]);
    let before = container_id(&container);
    assert!(!before.is_empty(), "docker create {container} worked");

    let err = w.fails(&["new", &name]);
    assert!(err.contains(&container), "names the container: {err}");
    assert!(err.contains("not made by this supalove"), "{err}");
    assert!(
        err.contains(&format!("docker ps -a --filter name=project_{name}_")),
        "says how to look: {err}"
    );
    // Nothing changed: no project registered, the container is the same one, no volume made.
    assert!(!w.registry_text().contains(&format!("\"{name}\"")));
    assert_eq!(
        container_id(&container),
        before,
        "the container was not replaced"
    );
    assert_eq!(
        docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            &format!("name=project_{name}_")
        ]),
        ""
    );

    // Once it is gone the name is free again.
    docker(&["rm", "-f", &container]);
    w.ok(&["new", &name]);
}

#[test]
fn a_project_of_another_supalove_home_is_named_and_keeps_running() {
    let a = World::new(17);
    let b = World::new(18);
    let name = a.name("twohomes");
    assert_eq!(b.name("twohomes"), name, "the same name in both homes");
    let card = a.json(&["new", &name]);
    assert_eq!(card["status"], "healthy");
    let db = format!("project_{name}_db");
    let before = container_id(&db);

    let err = b.fails(&["new", &name]);
    assert!(
        err.contains(&db),
        "names the other home's containers: {err}"
    );
    assert!(
        err.contains(&format!("project_{name}_realtime")),
        "names every container: {err}"
    );
    assert!(err.contains("another supalove home"), "{err}");
    assert!(!b.registry_text().contains(&format!("\"{name}\"")));

    // The other home's project was not touched.
    assert_eq!(container_id(&db), before);
    assert_eq!(a.json(&["show", &name])["status"], "healthy");
}
