//! The test vectors of `docs/formats.md`, checked against this implementation. An independent
//! implementation (`tests/vectors/check_vectors.py`, Python) checks the same files.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::panic,
    clippy::float_cmp,
    missing_docs
)]

use std::path::Path;

use fount_sdk::manifest::TrackPosition;
use fount_sdk::sealed::{self, Opener, SealedHeader};
use fount_sdk::{
    ClockGuard, ContentKey, DeviceId, DeviceKey, DevicePublicKey, Error, Jwk, Jwks, KeyId, Publication,
    SoftwareDeviceKey, VerifiedLicense, jwe,
};
use serde_json::Value;
use zeroize::Zeroizing;

fn vector(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/test-vectors").join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn str_of(v: &Value) -> &str {
    v.as_str().unwrap()
}

fn content_key(v: &Value, hex_field: &str, kid: &str) -> ContentKey {
    let bytes: [u8; 32] = unhex(str_of(&v[hex_field])).try_into().unwrap();
    ContentKey::new(KeyId::parse(kid).unwrap(), Zeroizing::new(bytes))
}

#[test]
fn device_ids() {
    let v = vector("device-id.json");
    for case in v["cases"].as_array().unwrap() {
        let jwk: Jwk = serde_json::from_value(case["jwk"].clone()).unwrap();
        assert_eq!(jwk.thumbprint(), str_of(&case["device_id"]), "{}", case["description"]);
        let key = DevicePublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(key.device_id().as_str(), str_of(&case["device_id"]));
    }
}

#[test]
fn sealed_asset() {
    let v = vector("sealed-asset.json");
    let key = content_key(&v, "content_key_hex", str_of(&v["key_id"]));
    let plaintext = unhex(str_of(&v["plaintext_hex"]));
    let sealed_bytes = unhex(str_of(&v["sealed_hex"]));
    let salt: [u8; 32] = unhex(str_of(&v["salt_hex"])).try_into().unwrap();
    let chunk = u32::try_from(v["chunk_size"].as_u64().unwrap()).unwrap();

    // Sealing is deterministic given the salt: byte for byte the same.
    assert_eq!(sealed::seal_with_salt(&key, chunk, &plaintext, salt).unwrap(), sealed_bytes);
    let header = SealedHeader::parse(&sealed_bytes).unwrap();
    assert_eq!(header.as_bytes().as_slice(), unhex(str_of(&v["header_hex"])));
    assert_eq!(sealed::open(&key, &sealed_bytes).unwrap(), plaintext);

    let opener = Opener::new(header.clone(), &key).unwrap();
    for r in v["ranges"].as_array().unwrap() {
        let (a, b) = (r["plaintext"][0].as_u64().unwrap(), r["plaintext"][1].as_u64().unwrap());
        let span = header.sealed_range(a..b).unwrap();
        assert_eq!(span.first_chunk, r["first_chunk"].as_u64().unwrap());
        assert_eq!(
            [span.bytes.start, span.bytes.end],
            [r["sealed"][0].as_u64().unwrap(), r["sealed"][1].as_u64().unwrap()]
        );
        let bytes = &sealed_bytes[span.bytes.start as usize..span.bytes.end as usize];
        assert_eq!(opener.read(a..b, bytes).unwrap(), &plaintext[a as usize..b as usize]);
    }
    for t in v["tampered"].as_array().unwrap() {
        let err = sealed::open(&key, &unhex(str_of(&t["sealed_hex"]))).unwrap_err();
        assert_eq!(format!("{err:?}"), str_of(&t["error"]), "{}", t["description"]);
    }
}

#[test]
fn jwe_both_algorithms() {
    for name in ["jwe-ecdh-es.json", "jwe-rsa-oaep-256.json"] {
        let v = vector(name);
        let key = SoftwareDeviceKey::from_private_jwk(&v["private_jwk"].to_string()).unwrap();
        let plain = jwe::decrypt(str_of(&v["jwe"]), &key).unwrap();
        assert_eq!(plain.as_slice(), unhex(str_of(&v["plaintext_hex"])), "{name}");
    }
}

fn expected(result: &str, claims: &Value, case: &Value) -> Result<(), Error> {
    let i = |k: &str| claims[k].as_i64().unwrap();
    match result {
        "ok" => Ok(()),
        "WrongDevice" => Err(Error::WrongDevice),
        "ClockRolledBack" => Err(Error::ClockRolledBack {
            now: case["now"].as_i64().unwrap(),
            trusted: case["trusted"].as_i64().unwrap().max(i("iat")),
        }),
        "RenewRequired" => Err(Error::RenewRequired(i("renew_by"))),
        "Expired" => Err(Error::Expired(i("exp"))),
        "NotYetValid" => Err(Error::NotYetValid(i("iat") + 3600)),
        "UnknownSigningKey" => Err(Error::UnknownSigningKey),
        "BadSignature" => Err(Error::BadSignature),
        other => panic!("unknown result {other}"),
    }
}

#[test]
fn licenses() {
    let v = vector("license.json");
    let jwks: Jwks = serde_json::from_value(v["jwks"].clone()).unwrap();
    let holder = SoftwareDeviceKey::from_private_jwk(&v["device_private_jwk"].to_string()).unwrap();
    let claims = &v["rental_claims"];
    let rental = VerifiedLicense::verify(str_of(&v["licenses"]["rental"]), &jwks).unwrap();
    assert_eq!(serde_json::to_value(rental.claims()).unwrap(), *claims);

    for case in v["cases"].as_array().unwrap() {
        let compact = str_of(&v["licenses"][str_of(&case["license"])]);
        let device = DeviceId::parse(str_of(&case["device_id"])).unwrap();
        let mut clock = ClockGuard::new(case["trusted"].as_i64().unwrap());
        let got = VerifiedLicense::verify(compact, &jwks)
            .and_then(|l| l.authorize(&device, &mut clock, case["now"].as_i64().unwrap()).map(|_| ()));
        assert_eq!(got, expected(str_of(&case["result"]), claims, case), "{case}");
    }

    // The holder unwraps the content key; the other device cannot.
    let playable =
        rental.authorize(&holder.device_id(), &mut ClockGuard::new(0), claims["iat"].as_i64().unwrap()).unwrap();
    let kid = KeyId::parse(str_of(&claims["keys"][0]["kid"])).unwrap();
    let key = playable.content_key(&kid, &holder).unwrap();
    assert_eq!(key.expose_secret().as_slice(), unhex(str_of(&v["content_key_hex"])));
    let other = SoftwareDeviceKey::from_private_jwk(&v["other_device_private_jwk"].to_string()).unwrap();
    assert_eq!(playable.content_key(&kid, &other).unwrap_err(), Error::KeyUnwrap);
}

#[test]
fn manifest_timeline() {
    let v = vector("manifest.json");
    let p = Publication::from_json(v["manifest"].to_string().as_bytes()).unwrap();
    let chapters: Vec<Value> = p
        .chapters()
        .iter()
        .map(|c| serde_json::json!({"title": c.title, "track": c.track, "offset": c.offset, "start": c.start, "depth": c.depth}))
        .collect();
    assert_eq!(Value::from(chapters), v["chapters"]);
    for pos in v["positions"].as_array().unwrap() {
        let s = pos["seconds"].as_f64().unwrap();
        let at = p.locate(s);
        assert_eq!(
            at,
            TrackPosition { track: pos["track"].as_u64().unwrap() as usize, offset: pos["offset"].as_f64().unwrap() },
            "{pos}"
        );
        assert_eq!(p.chapter_at(p.seconds(at).unwrap()), Some(pos["chapter"].as_u64().unwrap() as usize), "{pos}");
    }
    for r in v["byte_ranges"].as_array().unwrap() {
        let got = p
            .byte_range(r["track"].as_u64().unwrap() as usize, r["from"].as_f64().unwrap(), r["to"].as_f64().unwrap())
            .unwrap();
        assert_eq!([got.start, got.end], [r["bytes"][0].as_u64().unwrap(), r["bytes"][1].as_u64().unwrap()]);
    }
}
