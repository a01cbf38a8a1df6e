//! The keyring store against a real Secret Service (gnome-keyring in a private D-Bus session,
//! started by scripts/with-keyring.sh, which the test command wraps around `cargo test`).

use supalove_core::secrets::{self, KeyringStore, SecretKind, SecretStore};

#[test]
fn keyring_round_trip_against_real_secret_service() {
    assert_eq!(
        std::env::var("SUPALOVE_IN_KEYRING_SESSION").as_deref(),
        Ok("1"),
        "run the tests through scripts/with-keyring.sh (scripts/test.sh does): it starts the Secret Service"
    );
    let store = KeyringStore;
    store.check().expect("the Secret Service accepts a probe");
    let project = format!("it-keyring-{}", std::process::id());
    assert!(!secrets::exists(&store, &project).unwrap());
    let created = secrets::get_or_create(&store, &project).unwrap();
    let loaded = secrets::load(&store, &project).unwrap();
    assert_eq!(created.jwt_secret, loaded.jwt_secret);
    assert_eq!(created.db_password, loaded.db_password);
    store
        .set(&project, SecretKind::DbPassword, "replaced")
        .unwrap();
    assert_eq!(
        store
            .get(&project, SecretKind::DbPassword)
            .unwrap()
            .as_deref(),
        Some("replaced")
    );
    for kind in SecretKind::ALL {
        store.delete(&project, kind).unwrap();
        store.delete(&project, kind).unwrap(); // deleting twice is fine
    }
    assert!(!secrets::exists(&store, &project).unwrap());
    let err = secrets::load(&store, &project).unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");
}
