//! Ports outside 1024-65535 (and port 0, which would let Docker pick a random one) are refused
//! before anything exists: no registry entry, container, network, volume or secret.

mod common;

use common::{assert_nothing_created, World};

#[test]
fn port_zero_and_privileged_ports_are_refused_before_anything_exists() {
    let w = World::new(64);
    let name = w.name("port0");
    for (flag, port, why) in [
        ("--db-port", "0", "port 0"),
        ("--realtime-port", "0", "port 0"),
        ("--db-port", "80", "below 1024"),
        ("--realtime-port", "1023", "below 1024"),
    ] {
        let err = w.fails(&["new", &name, flag, port]);
        assert!(err.contains(why), "{flag} {port}: {err}");
        assert!(err.contains("1024-65535"), "{flag} {port}: {err}");
        assert!(err.contains("hint:"), "{err}");
        assert_nothing_created(&w, &name);
        assert!(
            !w.home().join("secrets").exists()
                || std::fs::read_dir(w.home().join("secrets"))
                    .unwrap()
                    .next()
                    .is_none(),
            "no secret was created"
        );
    }
    // clap already refuses what does not fit a port number.
    let err = w.fails(&["new", &name, "--db-port", "70000"]);
    assert!(err.contains("70000"), "{err}");
    assert_nothing_created(&w, &name);
}
