//! `listen` ends when the server refuses the subscription (a missing table, an unknown
//! column in a filter), exiting non-zero with the server's reason and a hint.

mod common;

use std::time::{Duration, Instant};

use common::World;

#[test]
fn listen_exits_with_the_reason_when_the_subscription_is_refused() {
    let w = World::new(68);
    let name = w.name("listen-refused");
    w.ok(&["new", &name]);
    w.ok(&[
        "sql",
        &name,
        "create table items (id bigserial primary key, body text); alter publication supabase_realtime add table items",
    ]);
    for args in [
        vec!["--table", "no_such_table"],
        vec!["--table", "items", "--filter", "no_such_column=eq.1"],
    ] {
        let mut all = vec!["listen", name.as_str(), "--role", "service_role"];
        all.extend(args.iter().copied());
        let started = Instant::now();
        let mut child = w
            .cmd(&all)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        let status = status.unwrap_or_else(|| panic!("listen {args:?} kept running: {err}"));
        assert!(!status.success(), "listen {args:?} succeeded: {err}");
        assert!(err.contains("refused the subscription"), "{err}");
        assert!(
            err.contains("hint:") && err.contains("supalove doctor"),
            "{err}"
        );
    }
}
