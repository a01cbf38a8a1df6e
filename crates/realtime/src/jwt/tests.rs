use super::*;
use crate::test_keys::*;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

const SECRET: &[u8] = b"super-secret-jwt-token-with-at-least-32-characters-long";

fn hs(t: &str, secret: &[u8], now: i64) -> Result<Claims, JwtError> {
    verify(t, secret, None, now)
}

fn jwks() -> Jwks {
    Jwks::parse(TEST_JWKS).expect("the test JWKS parses")
}

fn der(b64: &str) -> Vec<u8> {
    STANDARD.decode(b64).unwrap()
}

fn claims() -> Value {
    json!({"role":"authenticated","exp":2000,"sub":"u1"})
}

#[test]
fn accepts_valid_and_reads_role() {
    let t = sign_hs256(&json!({"role":"anon","exp":2000}), SECRET);
    let c = hs(&t, SECRET, 1000).unwrap();
    assert_eq!((c.role.as_str(), c.exp), ("anon", 2000));
}

#[test]
fn refuses_bad_tokens() {
    let t = sign_hs256(&json!({"role":"anon","exp":2000}), SECRET);
    assert_eq!(hs(&t, SECRET, 3000), Err(JwtError::Expired(1000)));
    assert_eq!(hs(&t, b"other", 1000), Err(JwtError::Signature));
    assert_eq!(hs("", SECRET, 0), Err(JwtError::Missing));
    assert_eq!(hs("a.b", SECRET, 0), Err(JwtError::Malformed));
    assert_eq!(hs("!!.!!.!!", SECRET, 0), Err(JwtError::Malformed));
    let no_role = sign_hs256(&json!({"exp":2000}), SECRET);
    assert_eq!(hs(&no_role, SECRET, 0), Err(JwtError::MissingClaim("role")));
    let no_exp = sign_hs256(&json!({"role":"anon"}), SECRET);
    assert_eq!(hs(&no_exp, SECRET, 0), Err(JwtError::MissingClaim("exp")));
    let mut tampered = t.clone();
    tampered.insert(t.find('.').unwrap() + 2, 'x');
    assert!(hs(&tampered, SECRET, 0).is_err());
}

#[test]
fn refuses_none_alg() {
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
    let c = URL_SAFE_NO_PAD.encode(br#"{"role":"service_role","exp":9999999999}"#);
    assert!(matches!(
        hs(&format!("{h}.{c}."), SECRET, 0),
        Err(JwtError::Algorithm(_))
    ));
}

#[test]
fn asymmetric_tokens_verify_through_the_jwks_kid() {
    let set = jwks();
    let cases = [
        (
            Algorithm::RS256,
            "test-rsa",
            EncodingKey::from_rsa_der(&der(TEST_RSA_PRIVATE_DER)),
        ),
        (
            Algorithm::RS512,
            "test-rsa",
            EncodingKey::from_rsa_der(&der(TEST_RSA_PRIVATE_DER)),
        ),
        (
            Algorithm::ES256,
            "test-ec",
            EncodingKey::from_ec_der(&der(TEST_EC_P256_PRIVATE_DER)),
        ),
        (
            Algorithm::ES384,
            "test-ec384",
            EncodingKey::from_ec_der(&der(TEST_EC_P384_PRIVATE_DER)),
        ),
        (
            Algorithm::EdDSA,
            "test-ed",
            EncodingKey::from_ed_der(&der(TEST_ED25519_PRIVATE_DER)),
        ),
    ];
    for (alg, kid, key) in cases {
        let t = sign(alg, Some(kid), &claims(), &key);
        let c = verify(&t, SECRET, Some(&set), 1000).unwrap_or_else(|e| panic!("{alg:?}: {e}"));
        assert_eq!(
            (c.role.as_str(), c.raw["sub"].as_str()),
            ("authenticated", Some("u1"))
        );
        // Only through a JWKS key matching the kid: without a JWKS or a kid, no signer.
        assert_eq!(
            verify(&t, SECRET, None, 1000),
            Err(JwtError::Algorithm(format!("{alg:?}")))
        );
        let no_kid = sign(alg, None, &claims(), &key);
        assert_eq!(
            verify(&no_kid, SECRET, Some(&set), 1000),
            Err(JwtError::Algorithm(format!("{alg:?}")))
        );
        // Unknown kid: the official `{:error_generating_signer, kid}`.
        let other = sign(alg, Some("nope"), &claims(), &key);
        assert_eq!(
            verify(&other, SECRET, Some(&set), 1000),
            Err(JwtError::UnknownKid("nope".into()))
        );
        // Expiry still applies after the signature.
        assert_eq!(
            verify(&t, SECRET, Some(&set), 2500),
            Err(JwtError::Expired(500))
        );
    }
}

#[test]
fn a_kid_of_another_key_type_is_unknown_and_a_wrong_key_is_a_bad_signature() {
    let set = jwks();
    let ec = EncodingKey::from_ec_der(&der(TEST_EC_P256_PRIVATE_DER));
    // ES256 naming the RSA key's kid: no EC key with that kid.
    let t = sign(Algorithm::ES256, Some("test-rsa"), &claims(), &ec);
    assert_eq!(
        verify(&t, SECRET, Some(&set), 1000),
        Err(JwtError::UnknownKid("test-rsa".into()))
    );
    // Signed by the P-256 key but naming the P-384 kid: the signature does not verify.
    let t = sign(Algorithm::ES256, Some("test-ec384"), &claims(), &ec);
    assert_eq!(
        verify(&t, SECRET, Some(&set), 1000),
        Err(JwtError::Signature)
    );
    // The RFC 8037 `EdDSA` and the JOSE `Ed25519` spellings both select the OKP key.
    let ed = EncodingKey::from_ed_der(&der(TEST_ED25519_PRIVATE_DER));
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"Ed25519","kid":"test-ed"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims().to_string().as_bytes());
    let message = format!("{header}.{body}");
    let sig = jsonwebtoken::crypto::sign(message.as_bytes(), &ed, Algorithm::EdDSA).unwrap();
    let t = format!("{message}.{sig}");
    assert!(verify(&t, SECRET, Some(&set), 1000).is_ok());
    // A tampered claim no longer verifies.
    let other = URL_SAFE_NO_PAD.encode(br#"{"role":"service_role","exp":2000}"#);
    let forged = format!("{header}.{other}.{sig}");
    assert_eq!(
        verify(&forged, SECRET, Some(&set), 1000),
        Err(JwtError::Signature)
    );
}

#[test]
fn hs_tokens_use_an_oct_key_matching_the_kid_else_the_secret() {
    let set = jwks();
    let oct = EncodingKey::from_secret(TEST_OCT_SECRET);
    let with_oct = sign(Algorithm::HS256, Some("test-oct"), &claims(), &oct);
    assert!(verify(&with_oct, SECRET, Some(&set), 1000).is_ok());
    // Without the JWKS the secret is used, which did not sign it.
    assert_eq!(
        verify(&with_oct, SECRET, None, 1000),
        Err(JwtError::Signature)
    );
    // A kid with no `oct` key (Supabase Auth's usual HS256 tokens): the secret.
    let secret = EncodingKey::from_secret(SECRET);
    for kid in [Some("unknown"), Some("test-rsa"), None] {
        let t = sign(Algorithm::HS384, kid, &claims(), &secret);
        assert!(verify(&t, SECRET, Some(&set), 1000).is_ok(), "{kid:?}");
        assert!(verify(&t, SECRET, None, 1000).is_ok(), "{kid:?}");
    }
    // No secret and no oct key: no signer.
    let t = sign(Algorithm::HS256, None, &claims(), &secret);
    assert_eq!(
        verify(&t, b"", Some(&set), 1000),
        Err(JwtError::Algorithm("HS256".into()))
    );
}

#[test]
fn jwks_parse_errors_are_clear_and_quote_no_key_material() {
    for (text, needle) in [
        ("not json", "not valid JSON"),
        ("[]", "{\"keys\": [...]}"),
        (r#"{"keys": {}}"#, "{\"keys\": [...]}"),
        (r#"{"keys": [1]}"#, "key 0 is not a JSON object"),
        (
            r#"{"keys": [{"kid": "a"}]}"#,
            "key 0 (kid \"a\") has no `kty`",
        ),
        (
            r#"{"keys": [{"kty": "RSA", "kid": "r", "n": "AQAB"}]}"#,
            "`e` is missing",
        ),
        (
            r#"{"keys": [{"kty": "EC", "x": "AA", "y": "AA"}]}"#,
            "has no `crv`",
        ),
        (
            r#"{"keys": [{"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}]}"#,
            "not a valid P-256 public key",
        ),
        (
            r#"{"keys": [{"kty": "oct", "kid": "s", "k": "!!secret!!"}]}"#,
            "base64url",
        ),
    ] {
        let e = Jwks::parse(text).unwrap_err();
        assert!(e.contains(needle), "{text}: {e}");
        assert!(!e.contains("secret"), "{e}");
    }
    // Unknown key types are skipped; curves this engine lacks are kept but never verify.
    let set = Jwks::parse(
        r#"{"keys": [{"kty": "AKP", "kid": "pq"}, {"kty": "OKP", "crv": "X25519", "kid": "x", "x": "AA"},
           {"kty": "OKP", "crv": "Ed448", "kid": "e448", "x": "AA"}]}"#,
    )
    .unwrap();
    assert_eq!(set.len(), 2);
    let shown = format!("{:?}", jwks());
    assert!(
        shown.contains("test-oct") && !shown.contains("YW4tb2N0"),
        "{shown}"
    );
    let ed = EncodingKey::from_ed_der(&der(TEST_ED25519_PRIVATE_DER));
    let t = sign(Algorithm::EdDSA, Some("x"), &claims(), &ed);
    assert_eq!(
        verify(&t, SECRET, Some(&set), 1000),
        Err(JwtError::UnknownKid("x".into()))
    );
    let t = sign(Algorithm::EdDSA, Some("e448"), &claims(), &ed);
    assert_eq!(
        verify(&t, SECRET, Some(&set), 1000),
        Err(JwtError::Algorithm("EdDSA".into()))
    );
}
