//! JWT verification through `API_JWT_JWKS` on every path that checks a token: connect, join,
//! `access_token` refresh and the REST broadcast API, with tokens signed in the test by the
//! TEST-ONLY keys of `supalove_realtime::test_keys`.
//!
//! Source: R = supabase/realtime@833cf36c: lib/realtime_web/channels/auth/jwt_verification.ex:37-155
//! (signer choice), lib/realtime_web/channels/user_socket.ex:149-171 (connect refusals),
//! lib/realtime_web/channels/realtime_channel.ex:257-268 (join reasons), 605-611 (refresh).

mod support;

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};
use supalove_phoenix::Vsn;
use supalove_realtime::jwt::{now_secs, sign, Jwks};
use supalove_realtime::test_keys::*;
use supalove_realtime::testkit::PgCluster;
use supalove_realtime::{Engine, ReplicationMode};
use support::*;

const UNKNOWN_KID: &str = "Failed to generate JWT signer for key ID (kid) \"rotated-away\", check your JWT secret or JWKS configuration";
const NO_SIGNER: &str =
    "Failed to generate JWT signer, check your JWT secret or JWKS configuration";

fn key(alg: Algorithm) -> EncodingKey {
    let der = |b: &str| STANDARD.decode(b).unwrap();
    match alg {
        Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512 => {
            EncodingKey::from_rsa_der(&der(TEST_RSA_PRIVATE_DER))
        }
        Algorithm::ES256 => EncodingKey::from_ec_der(&der(TEST_EC_P256_PRIVATE_DER)),
        Algorithm::ES384 => EncodingKey::from_ec_der(&der(TEST_EC_P384_PRIVATE_DER)),
        Algorithm::EdDSA => EncodingKey::from_ed_der(&der(TEST_ED25519_PRIVATE_DER)),
        _ => EncodingKey::from_secret(TEST_OCT_SECRET),
    }
}

/// A token for `role` signed with `alg`, naming `kid`.
fn signed(alg: Algorithm, kid: Option<&str>, role: &str) -> String {
    sign(
        alg,
        kid,
        &json!({"role": role, "exp": now_secs() + 3600, "sub": format!("user-{role}")}),
        &key(alg),
    )
}

fn es256(role: &str) -> String {
    signed(Algorithm::ES256, Some("test-ec"), role)
}

/// An engine of `pg` with `secret` and, with `jwks`, the test JWKS; its own slot, so several
/// engines can share one cluster.
async fn engine_of(pg: &PgCluster, secret: &str, jwks: bool, slot: &str) -> Engine {
    let mut cfg = pg.engine_config(secret, ReplicationMode::Rls);
    cfg.slot_name = slot.into();
    if jwks {
        cfg.jwt_jwks = Some(Arc::new(Jwks::parse(TEST_JWKS).unwrap()));
    }
    engine(cfg).await
}

/// The engine of `pg` with the test JWKS beside the usual secret (or only the JWKS).
async fn jwks_engine(pg: &PgCluster, secret: &str) -> Engine {
    let slot = if secret.is_empty() {
        "jwks_only"
    } else {
        "jwks_and_secret"
    };
    engine_of(pg, secret, true, slot).await
}

/// The HTTP refusal of a websocket upgrade with `token`: status and `error` text.
async fn refusal(e: &Engine, token: &str) -> (u16, String) {
    let url = format!("ws://{}/socket/websocket?apikey={token}&vsn=2.0.0", e.addr);
    match tokio_tungstenite::connect_async(url).await {
        Ok(_) => panic!("upgrade accepted"),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            let body: Value = serde_json::from_slice(resp.body().as_deref().unwrap_or(b"{}"))
                .expect("JSON refusal");
            (
                resp.status().as_u16(),
                body["error"].as_str().unwrap_or("").to_string(),
            )
        }
        Err(other) => panic!("connect failed: {other}"),
    }
}

async fn join_v2(c: &mut Client, topic: &str, jr: &str, extra: Value) -> Value {
    let mut payload = json!({"config": {}});
    if let (Some(p), Some(x)) = (payload.as_object_mut(), extra.as_object()) {
        p.extend(x.clone());
    }
    c.send_text(&json!([jr, "join", topic, "phx_join", payload]).to_string())
        .await;
    c.expect_json(|v| v[1] == "join" && v[2] == topic && v[3] == "phx_reply")
        .await
}

#[tokio::test]
async fn rs_es_and_eddsa_tokens_connect_join_and_receive_changes() {
    let pg = cluster().await;
    let e = jwks_engine(&pg, SECRET).await;
    wait_live(&e).await;

    // Connect with ES256; RLS then sees the token's role and claims.
    let mut c = connect(&e, &es256("authenticated"), Vsn::V2).await;
    c.subscribe(
        "realtime:notes",
        json!([{"event": "INSERT", "schema": "public", "table": "notes"}]),
    )
    .await;
    sql(&pg, "insert into notes (id, body) values (1, 'private')").await;
    let change = c.change("realtime:notes").await;
    assert_eq!(change["data"]["record"]["body"], "private");

    // Join tokens of every asymmetric family, on one socket.
    for (i, (alg, kid)) in [
        (Algorithm::RS256, "test-rsa"),
        (Algorithm::RS384, "test-rsa"),
        (Algorithm::ES384, "test-ec384"),
        (Algorithm::EdDSA, "test-ed"),
        (Algorithm::HS512, "test-oct"),
    ]
    .into_iter()
    .enumerate()
    {
        let topic = format!("realtime:j{i}");
        let tok = signed(alg, Some(kid), "anon");
        let reply = join_v2(&mut c, &topic, "7", json!({"access_token": tok})).await;
        assert_eq!(
            reply,
            json!(["7", "join", topic, "phx_reply", {"status":"ok","response":{"postgres_changes":[]}}]),
            "{alg:?}"
        );
    }

    // The REST broadcast API takes them too.
    let (code, _) = http_post(
        &e,
        "/api/broadcast",
        &signed(Algorithm::RS256, Some("test-rsa"), "service_role"),
        &json!({"messages":[{"topic":"j0","event":"e","payload":{}}]}).to_string(),
    )
    .await;
    assert_eq!(code, 202);
}

#[tokio::test]
async fn unknown_kid_and_missing_signer_get_the_official_messages() {
    let pg = cluster().await;
    let e = jwks_engine(&pg, SECRET).await;
    let rotated = signed(Algorithm::ES256, Some("rotated-away"), "anon");
    assert_eq!(refusal(&e, &rotated).await, (401, UNKNOWN_KID.to_string()));
    // An RS256 token without a kid has no signer.
    assert_eq!(
        refusal(&e, &signed(Algorithm::RS256, None, "anon")).await,
        (401, NO_SIGNER.to_string())
    );

    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    let reply = join_v2(&mut c, "realtime:k", "1", json!({"access_token": rotated})).await;
    assert_eq!(
        reply,
        json!(["1", "join", "realtime:k", "phx_reply", {"status":"error","response":{"reason": format!("JwtSignerError: {UNKNOWN_KID}")}}])
    );
    let reply = join_v2(
        &mut c,
        "realtime:k",
        "2",
        json!({"access_token": signed(Algorithm::ES256, None, "anon")}),
    )
    .await;
    assert_eq!(
        reply[4]["response"]["reason"],
        format!("JwtSignerError: {NO_SIGNER}")
    );

    // Without a JWKS, an ES256 token has no signer either.
    let plain = engine_of(&pg, SECRET, false, "no_jwks").await;
    assert_eq!(
        refusal(&plain, &es256("anon")).await,
        (401, NO_SIGNER.to_string())
    );
}

#[tokio::test]
async fn hs256_works_with_and_without_a_jwks() {
    let pg = cluster().await;
    let with = jwks_engine(&pg, SECRET).await;
    let without = engine_of(&pg, SECRET, false, "no_jwks").await;
    // Supabase Auth's HS256 tokens carry a kid with no JWK: the secret verifies them.
    let kid_no_jwk = sign(
        Algorithm::HS256,
        Some("auth-hs-kid"),
        &json!({"role": "anon", "exp": now_secs() + 3600}),
        &EncodingKey::from_secret(SECRET.as_bytes()),
    );
    for e in [&with, &without] {
        for tok in [token("anon"), kid_no_jwk.clone()] {
            let mut c = connect(e, &tok, Vsn::V1).await;
            c.join("realtime:hs", json!({})).await;
        }
    }
    // A token signed with the JWKS `oct` key only verifies where the JWKS is configured.
    let oct = signed(Algorithm::HS256, Some("test-oct"), "anon");
    connect(&with, &oct, Vsn::V1).await;
    assert_eq!(
        refusal(&without, &oct).await,
        (401, "Failed to validate JWT signature".to_string())
    );

    // A JWKS alone (no secret): asymmetric tokens work, HS ones without an oct key do not.
    let only = jwks_engine(&pg, "").await;
    connect(&only, &es256("anon"), Vsn::V1).await;
    assert_eq!(
        refusal(&only, &token("anon")).await,
        (401, NO_SIGNER.to_string())
    );
}

#[tokio::test]
async fn access_token_refresh_with_es256_tokens() {
    let pg = cluster().await;
    let e = jwks_engine(&pg, SECRET).await;
    let mut c = connect(&e, &token("anon"), Vsn::V2).await;
    join_v2(&mut c, "realtime:r", "1", json!({})).await;
    // A valid ES256 refresh: no reply, the channel stays.
    let refresh = |tok: String| {
        json!(["1", "a", "realtime:r", "access_token", {"access_token": tok}]).to_string()
    };
    c.send_text(&refresh(es256("authenticated"))).await;
    c.send_text(&json!([null, "hb", "phoenix", "heartbeat", {}]).to_string())
        .await;
    let v = c.expect_json(|v| v[1] == "hb").await;
    assert_eq!(v[4]["status"], "ok");
    c.send_text(&json!(["1", "b", "realtime:r", "broadcast", {"type":"broadcast","event":"x","payload":{}}]).to_string())
        .await;
    c.send_text(&json!([null, "hb2", "phoenix", "heartbeat", {}]).to_string())
        .await;
    let before: Vec<Value> = {
        let mut seen = Vec::new();
        loop {
            let v = c.next_json().await;
            if v[1] == "hb2" {
                break seen;
            }
            seen.push(v);
        }
    };
    assert!(
        before
            .iter()
            .all(|v| v[3] != "system" && v[3] != "phx_close"),
        "{before:?}"
    );
    // A refresh naming a kid the JWKS lacks: the official system message, then phx_close.
    c.send_text(&refresh(signed(
        Algorithm::ES256,
        Some("rotated-away"),
        "anon",
    )))
    .await;
    assert_eq!(
        c.expect_json(|v| v[3] == "system").await,
        json!(["1", null, "realtime:r", "system", {"extension":"system","status":"error","message":UNKNOWN_KID,"channel":"r"}])
    );
    assert_eq!(
        c.next_json().await,
        json!(["1", "1", "realtime:r", "phx_close", {}])
    );
    // No signer at all (ES256 without a kid): the inspect() of the atom, as the official.
    join_v2(&mut c, "realtime:r", "1", json!({})).await;
    c.send_text(&refresh(signed(Algorithm::ES256, None, "anon")))
        .await;
    let sys = c.expect_json(|v| v[3] == "system").await;
    assert_eq!(sys[4]["message"], ":error_generating_signer");
}

/// POST with a bearer token; status and body.
async fn http_post(e: &Engine, path: &str, bearer: &str, body: &str) -> (u16, String) {
    supalove_realtime::testkit::http_request(e.addr, "POST", path, Some(bearer), Some(body)).await
}
