//! A project whose secrets are in the opt-in file store (what `scripts/demo.sh` picks on a
//! machine without a Secret Service) says so in `show` and `list`, and a later command that
//! looks in the keyring is told where the secrets are and how to reach them.

mod common;

use common::World;

#[test]
fn file_store_projects_say_where_their_secrets_are_and_keyring_commands_are_pointed_there() {
    let w = World::new(26);
    let name = w.name("filestore");
    let file = |args: &[&str]| {
        let out = w
            .cmd(args)
            .env("SUPALOVE_SECRET_STORE", "file")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    file(&["new", &name]);
    let secrets_dir = w.home().join("secrets");
    let show = file(&["show", &name]);
    let row = show
        .lines()
        .find(|l| l.trim_start().starts_with("secrets"))
        .unwrap_or_else(|| panic!("no secrets row: {show}"));
    assert!(
        row.contains(&format!("0600 files in {}", secrets_dir.display())),
        "{row}"
    );
    let list = file(&["list"]);
    assert!(list.contains(&name), "{list}");
    assert!(
        list.contains(&format!("secrets: 0600 files in {}", secrets_dir.display())),
        "{list}"
    );

    // The same home with the keyring (the default): pointed at the file store, nothing changed.
    let out = w
        .cmd(&["show", &name])
        .env("SUPALOVE_SECRET_STORE", "keyring")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("project \"{name}\"'s secrets are in 0600 files")),
        "{err}"
    );
    assert!(err.contains("SUPALOVE_SECRET_STORE=file"), "{err}");
    assert!(file(&["show", &name]).contains("healthy"), "still healthy");
}
