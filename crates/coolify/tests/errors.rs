//! Every refusal of coolify-notes §1, from the fake Coolify, becomes a clear message with the
//! fix, and changes nothing on our side (no service uuid remembered, nothing half-made kept).

mod fake;
mod support;

use std::sync::Arc;

use fake::{FakeCoolify, Knobs};
use reqwest::Method;
use supalove_coolify::MemoryStore;
use supalove_core::provisioner::Provisioner;
use supalove_core::{Error, ErrorKind, Shell};
use support::{provisioner, provisioner_with, stack};

/// Applies "shop" and returns the error, its HTTP status and its fix; asserts that the
/// project remembers no service afterwards.
async fn failing_apply(fake: &FakeCoolify, token: &str) -> (Error, Option<u16>, String) {
    let p = provisioner_with(&fake.url(), token, Arc::new(MemoryStore::default()));
    let err = p
        .apply("shop", &stack("shop", "native", 8001), &|_| {})
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Target, "{err:?}");
    let Error::Target { status, fix, .. } = &err else {
        unreachable!()
    };
    let (status, fix) = (*status, fix.clone());
    assert!(
        p.deployment("shop")
            .unwrap()
            .and_then(|d| d.service_uuid)
            .is_none(),
        "no service is remembered after {err}"
    );
    assert_eq!(err.hint_for(Shell::App).as_deref(), Some(fix.as_str()));
    (err, status, fix)
}

#[tokio::test]
async fn invalid_token_400_says_the_user_left_the_team_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs {
        user_in_team: false,
        ..Knobs::default()
    })
    .await;
    let (err, status, fix) = failing_apply(&fake, fake::TOKEN).await;
    assert_eq!(status, Some(400));
    assert!(
        err.to_string().contains("no longer in the token's team"),
        "{err}"
    );
    assert!(
        fix.contains("member of the team") && fix.contains("--token-stdin"),
        "{fix}"
    );
    assert_eq!(fake.service_count(), 0);
}

#[tokio::test]
async fn wrong_token_401_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let (err, status, fix) = failing_apply(&fake, "3|not-the-token").await;
    assert_eq!(status, Some(401));
    assert!(err.to_string().contains("Unauthenticated"), "{err}");
    assert!(
        fix.contains("Keys & Tokens") && fix.contains("read, write and deploy"),
        "{fix}"
    );
    assert_eq!(
        fake.calls(),
        ["GET /version"],
        "stopped at the first refusal"
    );
}

#[tokio::test]
async fn api_disabled_403_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs {
        api_enabled: false,
        ..Knobs::default()
    })
    .await;
    let (err, status, fix) = failing_apply(&fake, fake::TOKEN).await;
    assert_eq!(status, Some(403));
    assert!(err.to_string().contains("API disabled"), "{err}");
    assert!(
        fix.contains("API Access") && fix.contains("Settings"),
        "{fix}"
    );
}

#[tokio::test]
async fn missing_ability_403_names_it_and_creates_nothing_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs {
        abilities: vec!["read".into()],
        ..Knobs::default()
    })
    .await;
    let (err, status, fix) = failing_apply(&fake, fake::TOKEN).await;
    assert_eq!(status, Some(403));
    assert!(
        err.to_string()
            .contains("Missing required permissions: write"),
        "{err}"
    );
    assert!(fix.contains("tick deploy first"), "{fix}");
    assert!(fake.with(|s| s.projects.is_empty() && s.services.is_empty()));

    // With write but no deploy, the start is what is refused.
    let fake = FakeCoolify::start(Knobs {
        abilities: vec!["read".into(), "write".into()],
        ..Knobs::default()
    })
    .await;
    let p = provisioner(&fake.url());
    let err = p
        .apply("shop", &stack("shop", "native", 8001), &|_| {})
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("Missing required permissions: deploy"),
        "{err}"
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn ip_not_allowed_403_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs {
        ip_allowed: false,
        ..Knobs::default()
    })
    .await;
    let (err, status, fix) = failing_apply(&fake, fake::TOKEN).await;
    assert_eq!(status, Some(403));
    assert!(
        err.to_string().contains("refused this machine's address"),
        "{err}"
    );
    assert!(fix.contains("allowlist"), "{fix}");
}

#[tokio::test]
async fn unknown_server_404_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let p = provisioner(&fake.url());
    p.choose("shop", Some("nosuchserver000000000000".into()), None)
        .unwrap();
    let err = p
        .apply("shop", &stack("shop", "native", 8001), &|_| {})
        .await
        .unwrap_err();
    let Error::Target { status, fix, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, Some(404));
    assert!(
        err.to_string().contains("GET /servers/nosuchserver"),
        "{err}"
    );
    assert!(fix.contains("server uuid"), "{fix}");
    assert_eq!(fake.service_count(), 0);
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn domain_conflict_409_lists_the_other_resource_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let p = provisioner(&fake.url());
    p.choose("shop", None, Some("realtime-dev.example.test".into()))
        .unwrap();
    p.apply("shop", &stack("shop", "native", 8001), &|_| {})
        .await
        .unwrap();
    p.choose("blog", None, Some("realtime-dev.example.test".into()))
        .unwrap();
    let err = p
        .apply("blog", &stack("blog", "native", 8002), &|_| {})
        .await
        .unwrap_err();
    let Error::Target { status, fix, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, Some(409));
    assert!(
        err.to_string()
            .contains("realtime-dev.example.test (used by supalove-shop)"),
        "{err}"
    );
    assert!(fix.contains("--domain"), "{fix}");
    assert_eq!(fake.service_count(), 1, "Coolify kept no half-made service");
    assert!(p
        .deployment("blog")
        .unwrap()
        .unwrap()
        .service_uuid
        .is_none());
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn validation_422_lists_the_fields_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs {
        build_server: true,
        ..Knobs::default()
    })
    .await;
    // Left to choose, supalove skips a build server and says so.
    let (err, status, fix) = failing_apply(&fake, fake::TOKEN).await;
    assert_eq!(status, None);
    assert!(err.to_string().contains("has no usable server"), "{err}");
    assert!(fix.contains("--server"), "{fix}");
    // Named with --server, Coolify's controller refuses it: 422 with the field's message.
    let p = provisioner(&fake.url());
    let server = fake.with(|s| s.server_uuid.clone());
    p.choose("shop", Some(server), None).unwrap();
    let err = p
        .apply("shop", &stack("shop", "native", 8001), &|_| {})
        .await
        .unwrap_err();
    let Error::Target { status, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, Some(422));
    assert!(
        err.to_string()
            .contains("server_uuid: Build servers cannot be used"),
        "{err}"
    );
    assert_eq!(fake.service_count(), 0);
    assert_eq!(fake.violations(), Vec::<String>::new());

    // An unknown key is refused by the controller (422), and the fake flags that the request
    // was not what the document allows.
    let fake = FakeCoolify::start(Knobs::default()).await;
    let p = provisioner(&fake.url());
    let body = serde_json::json!({"name": "x", "color": "red"});
    let err = p
        .client()
        .call::<serde_json::Value>(Method::POST, "/projects", &[], Some(&body))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("color: This field is not allowed."),
        "{err}"
    );
    let v = fake.violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(
        v[0].contains("POST /projects: body does not match"),
        "{v:?}"
    );
}

#[tokio::test]
async fn rate_limit_429_passes_retry_after_on_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs {
        rate_limited: Some(42),
        ..Knobs::default()
    })
    .await;
    let (err, status, fix) = failing_apply(&fake, fake::TOKEN).await;
    assert_eq!(status, Some(429));
    let Error::Target { retry_after, .. } = &err else {
        unreachable!()
    };
    assert_eq!(*retry_after, Some(42));
    assert!(err.to_string().contains("200 requests a minute"), "{err}");
    assert_eq!(fix, "wait 42 s and run the command again");
}

#[tokio::test]
async fn unreachable_instance_against_fake_coolify_port_closed() {
    // A port that was just free: nothing listens there.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let p = provisioner(&format!("http://127.0.0.1:{port}"));
    let err = p
        .apply("shop", &stack("shop", "native", 8001), &|_| {})
        .await
        .unwrap_err();
    let Error::Target { status, fix, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(*status, None);
    assert!(err.to_string().contains("is not reachable"), "{err}");
    assert!(fix.contains("supalove target list"), "{fix}");
    let status = p.engine_status().await;
    assert!(!status.connected && status.error.is_some() && status.hint.is_some());
}

#[tokio::test]
async fn get_on_a_lifecycle_route_is_not_in_the_document_against_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let p = provisioner(&fake.url());
    let answer = p
        .client()
        .raw(Method::GET, "/services/abc/start", &[], None)
        .await
        .unwrap();
    assert_eq!(answer.status, 405);
    let err = p
        .client()
        .refusal(&Method::GET, "/services/abc/start", &answer);
    assert!(err.hint().unwrap().contains("v4.2"), "{err:?}");
    assert_eq!(
        fake.violations().len(),
        1,
        "the fake refuses what the document lacks"
    );
}

#[tokio::test]
async fn the_controllers_rules_hold_in_fake_coolify() {
    let fake = FakeCoolify::start(Knobs::default()).await;
    let p = provisioner(&fake.url());
    p.apply("shop", &stack("shop", "native", 8001), &|_| {})
        .await
        .unwrap();
    let uuid = p.deployment("shop").unwrap().unwrap().service_uuid.unwrap();
    let c = p.client();

    // A duplicate key on the single-variable POST is a 409 (the bulk PATCH upserts instead).
    let path = format!("/services/{uuid}/envs");
    let var = serde_json::json!({"key": "EXTRA_ONE", "value": "1"});
    assert_eq!(
        c.raw(Method::POST, &path, &[], Some(&var))
            .await
            .unwrap()
            .status,
        201
    );
    let again = c.raw(Method::POST, &path, &[], Some(&var)).await.unwrap();
    assert_eq!(again.status, 409);
    let err = c.refusal(&Method::POST, &path, &again);
    assert!(err.to_string().contains("already exists"), "{err}");
    assert!(!err.hint().unwrap().contains("domain"), "{err:?}");

    // Values are hidden without read:sensitive, and shown-once ones always.
    let envs = c.envs(&uuid).await.unwrap();
    assert!(envs.iter().any(|e| e.key == "JWT_SECRET"));
    assert!(envs.iter().all(|e| e.value.is_none()), "{envs:?}");

    // The compose must be standard padded base64 on one line (PHP's strict check).
    let yaml = "services:\n  web:\n    image: nginx\n";
    let padded = supalove_coolify::encode_compose(yaml);
    let mime: String = padded
        .as_bytes()
        .chunks(8)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\n");
    let unpadded = padded.trim_end_matches('=').to_string();
    assert_ne!(unpadded, padded, "the sample needs padding");
    let project = p.deployment("shop").unwrap().unwrap().project_uuid.unwrap();
    let server = fake.with(|s| s.server_uuid.clone());
    for (raw, ok) in [(mime, false), (unpadded, false), (padded, true)] {
        let body = serde_json::json!({
            "server_uuid": server, "project_uuid": project, "environment_name": "production",
            "docker_compose_raw": raw, "instant_deploy": false,
        });
        let a = c
            .raw(Method::POST, "/services", &[], Some(&body))
            .await
            .unwrap();
        if ok {
            assert_eq!(a.status, 201, "{}", a.body);
        } else {
            assert_eq!(a.status, 422, "{}", a.body);
            let err = c.refusal(&Method::POST, "/services", &a);
            assert!(
                err.to_string().contains(
                    "docker_compose_raw: The docker_compose_raw should be base64 encoded."
                ),
                "{err}"
            );
        }
    }
    assert_eq!(fake.violations(), Vec::<String>::new());
}
