//! A data volume that vanished (or was swapped for another project's) is news, not a fresh
//! start: `start`, `restart` and the resume of `new` refuse, say what is missing and since
//! when, create nothing, and `start --recreate-empty` is the explicit way to begin again.

mod common;

use common::{containers_named, docker, World};

fn volume_exists(volume: &str) -> bool {
    !docker(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("name=^{volume}$"),
    ])
    .is_empty()
}

fn remove_behind_supaloves_back(name: &str) {
    docker(&[
        "rm",
        "-f",
        &format!("project_{name}_db"),
        &format!("project_{name}_realtime"),
    ]);
    docker(&["volume", "rm", &format!("project_{name}_db_data")]);
    assert!(containers_named(&format!("project_{name}_")).is_empty());
}

#[test]
fn a_missing_data_volume_is_refused_until_recreate_empty_is_asked_for() {
    let w = World::new(65);
    let name = w.name("lostvol");
    let volume = format!("project_{name}_db_data");
    w.ok(&["new", &name]);
    w.sql(
        &name,
        "CREATE TABLE kept (n int); INSERT INTO kept VALUES (1)",
    );
    remove_behind_supaloves_back(&name);

    for verb in ["start", "restart"] {
        let err = w.fails(&[verb, &name]);
        assert!(
            err.contains(&volume) && err.contains("is gone"),
            "{verb}: {err}"
        );
        assert!(err.contains("last seen by supalove 20"), "{verb}: {err}");
        assert!(err.contains("empty database"), "{verb}: {err}");
        assert!(
            err.contains(&format!("supalove start {name} --recreate-empty")),
            "{verb}: {err}"
        );
        assert!(
            containers_named(&format!("project_{name}_")).is_empty(),
            "{verb} created a container"
        );
        assert!(!volume_exists(&volume), "{verb} created a volume");
    }
    let card = w.json(&["show", &name]);
    assert_eq!(
        card["name"],
        name.as_str(),
        "the project is still registered"
    );

    // The explicit choice: an empty database, and from then on a volume that is checked again.
    w.ok(&["start", &name, "--recreate-empty"]);
    assert!(volume_exists(&volume));
    assert_eq!(
        w.sql(
            &name,
            "SELECT count(*) FROM pg_tables WHERE tablename = 'kept'"
        ),
        "0",
        "a recreated database is empty"
    );
    w.ok(&["restart", &name]);
}

#[test]
fn a_volume_holding_another_projects_data_is_refused_and_kept() {
    let w = World::new(66);
    let name = w.name("swapvol");
    let volume = format!("project_{name}_db_data");
    w.ok(&["new", &name]);
    remove_behind_supaloves_back(&name);
    // Someone puts another project's volume in its place.
    docker(&[
        "volume",
        "create",
        "--label",
        "dev.supalove.project=it-someone-else",
        "--label",
        "dev.supalove.volume-id=0123456789abcdef",
        &volume,
    ]);
    assert!(volume_exists(&volume));
    for args in [
        vec!["start", &name],
        vec!["start", &name, "--recreate-empty"],
    ] {
        let err = w.fails(&args);
        assert!(
            err.contains(&format!("does not hold project \"{name}\"'s database")),
            "{args:?}: {err}"
        );
        assert!(err.contains("0123456789abcdef"), "{args:?}: {err}");
        assert!(err.contains("it-someone-else"), "{args:?}: {err}");
        assert!(
            containers_named(&format!("project_{name}_")).is_empty(),
            "{args:?} created a container"
        );
        assert!(volume_exists(&volume), "the other data is never deleted");
    }
    docker(&["volume", "rm", &volume]);
}
