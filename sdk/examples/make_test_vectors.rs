//! Writes the test vectors of `docs/formats.md` to `docs/test-vectors/`.
//!
//! Run with `cargo run -p fount-sdk --example make_test_vectors`. Inputs are fixed, except
//! where a format needs fresh randomness (the ephemeral key and IV of a JWE, RSA-OAEP's
//! padding): those outputs change on each run, and the vectors check decryption, which is
//! what an implementation must get right.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::path::Path;

use fount_sdk::encoding::b64;
use fount_sdk::license::{Confirmation, LicenseClaims, WrappedKey};
use fount_sdk::sealed::{HEADER_LEN, SealedHeader};
use fount_sdk::{ContentKey, DeviceKey, Jwks, KeyId, SigningKey, SoftwareDeviceKey, jwe, license, sealed};
use ring::rand::SystemRandom;
use serde_json::{Value, json};
use zeroize::Zeroizing;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn seq(start: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| start.wrapping_add(i as u8)).collect()
}

/// An Ed25519 PKCS#8 v1 document (RFC 8410) around a 32-byte seed.
fn ed25519_pkcs8(seed: &[u8]) -> Vec<u8> {
    let mut der = vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
    der.extend_from_slice(seed);
    der
}

fn write(dir: &Path, name: &str, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap() + "\n";
    std::fs::write(dir.join(name), text).unwrap();
    println!("wrote {name}");
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/test-vectors");
    std::fs::create_dir_all(&dir).unwrap();
    let rng = SystemRandom::new();

    // Device keys: P-256 from a fixed scalar; RSA freshly generated (kept in the vector).
    let device_jwk = {
        let d = b64(seq(0x11, 32));
        let tmp =
            SoftwareDeviceKey::from_private_jwk(&json!({"kty": "EC", "crv": "P-256", "d": d}).to_string()).unwrap();
        tmp.to_private_jwk().to_string()
    };
    let device = SoftwareDeviceKey::from_private_jwk(&device_jwk).unwrap();
    let other =
        SoftwareDeviceKey::from_private_jwk(&json!({"kty": "EC", "crv": "P-256", "d": b64(seq(0x51, 32))}).to_string())
            .unwrap();
    let rsa_device = SoftwareDeviceKey::generate_rsa(&rng, 2048).unwrap();

    // Device ids.
    let rfc_jwk = json!({"kty": "RSA", "e": "AQAB", "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
    let ids: Vec<Value> = [
        ("the example of RFC 7638 section 3.1", rfc_jwk.clone()),
        ("the P-256 device key of license.json", serde_json::to_value(device.public_key().to_jwk()).unwrap()),
        (
            "the RSA device key of jwe-rsa-oaep-256.json",
            serde_json::to_value(rsa_device.public_key().to_jwk()).unwrap(),
        ),
    ]
    .into_iter()
    .map(|(what, jwk)| {
        let parsed: fount_sdk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
        json!({"description": what, "jwk": jwk, "device_id": parsed.thumbprint()})
    })
    .collect();
    write(
        &dir,
        "device-id.json",
        &json!({"description": "Device ids: RFC 7638 JWK SHA-256 thumbprints, base64url", "cases": ids}),
    );

    // Content key and a sealed asset.
    let key_id = KeyId(seq(0xa0, 16).try_into().unwrap());
    let key_bytes: [u8; 32] = seq(0x40, 32).try_into().unwrap();
    let content_key = ContentKey::new(key_id, Zeroizing::new(key_bytes));
    let salt: [u8; 32] = seq(0xc0, 32).try_into().unwrap();
    let plaintext: Vec<u8> =
        b"Fount sealed asset test vector: chunks of 64 bytes, the last one short. ".repeat(3)[..150].to_vec();
    let sealed_bytes = sealed::seal_with_salt(&content_key, 64, &plaintext, salt).unwrap();
    let header = SealedHeader::parse(&sealed_bytes).unwrap();
    let file_key = {
        let prk = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, &salt).extract(&key_bytes);
        let mut out = [0u8; 32];
        prk.expand(&[b"fount-sealed-asset-v1"], ring::hkdf::HKDF_SHA256).unwrap().fill(&mut out).unwrap();
        out
    };
    let ranges: Vec<Value> = [(0u64, 1u64), (0, 150), (60, 70), (64, 128), (149, 150)]
        .into_iter()
        .map(|(a, b)| {
            let span = header.sealed_range(a..b).unwrap();
            json!({"plaintext": [a, b], "first_chunk": span.first_chunk, "sealed": [span.bytes.start, span.bytes.end]})
        })
        .collect();
    let stride = 64 + 16;
    let mut flipped = sealed_bytes.clone();
    flipped[HEADER_LEN + stride + 3] ^= 0x01;
    let mut swapped = sealed_bytes.clone();
    let first: Vec<u8> = swapped[HEADER_LEN..HEADER_LEN + stride].to_vec();
    swapped.copy_within(HEADER_LEN + stride..HEADER_LEN + 2 * stride, HEADER_LEN);
    swapped[HEADER_LEN + stride..HEADER_LEN + 2 * stride].copy_from_slice(&first);
    let truncated = sealed_bytes[..HEADER_LEN + 2 * stride].to_vec();
    let mut header_changed = sealed_bytes.clone();
    header_changed[40] ^= 0x01;
    write(
        &dir,
        "sealed-asset.json",
        &json!({
            "description": "A 150-byte file sealed with 64-byte chunks (3 chunks: 64, 64, 22)",
            "content_key_hex": hex(&key_bytes),
            "key_id": key_id.to_string(),
            "salt_hex": hex(&salt),
            "chunk_size": 64,
            "plaintext_hex": hex(&plaintext),
            "header_hex": hex(header.as_bytes()),
            "file_key_hex": hex(&file_key),
            "sealed_hex": hex(&sealed_bytes),
            "ranges": ranges,
            "tampered": [
                {"description": "bit 0 of byte 3 of chunk 1 flipped", "sealed_hex": hex(&flipped), "error": "ChunkAuthentication(1)"},
                {"description": "chunks 0 and 1 swapped", "sealed_hex": hex(&swapped), "error": "ChunkAuthentication(0)"},
                {"description": "last chunk cut off", "sealed_hex": hex(&truncated), "error": "SealedLength"},
                {"description": "a salt byte changed", "sealed_hex": hex(&header_changed), "error": "ChunkAuthentication(0)"}
            ]
        }),
    );

    // JWEs to the P-256 and RSA device keys.
    for (name, key, alg) in
        [("jwe-ecdh-es.json", &device, "ECDH-ES"), ("jwe-rsa-oaep-256.json", &rsa_device, "RSA-OAEP-256")]
    {
        let jwe = jwe::encrypt(key.public_key(), &key_bytes, &rng).unwrap();
        write(
            &dir,
            name,
            &json!({
                "description": format!("A content key wrapped with {alg} + A256GCM"),
                "private_jwk": serde_json::from_str::<Value>(&key.to_private_jwk()).unwrap(),
                "jwe": jwe,
                "plaintext_hex": hex(&key_bytes),
            }),
        );
    }

    // Licenses, signed by a key from a fixed seed.
    let signer = SigningKey::from_pkcs8(&ed25519_pkcs8(&seq(0x01, 32))).unwrap();
    let jwks = Jwks { keys: vec![signer.jwks_key()] };
    let iat = 1_800_000_000;
    let claims = |jti: &str, nbf: i64| LicenseClaims {
        iss: "https://fount.example".into(),
        aud: "store-1".into(),
        jti: jti.into(),
        title: "title-1".into(),
        iat,
        nbf,
        exp: Some(iat + 86_400),
        renew_by: iat + 43_200,
        status: format!("https://fount.example/v1/licenses/{jti}/status"),
        cnf: Confirmation { jkt: device.device_id().as_str().into() },
        keys: vec![WrappedKey {
            kid: key_id.to_string(),
            jwe: jwe::encrypt(device.public_key(), &key_bytes, &rng).unwrap(),
        }],
    };
    let rental = license::sign(&claims("license-1", iat), &signer).unwrap();
    let future = license::sign(&claims("license-2", iat + 3600), &signer).unwrap();
    let rogue = SigningKey::from_pkcs8(&ed25519_pkcs8(&seq(0x77, 32))).unwrap();
    let unknown = license::sign(&claims("license-3", iat), &rogue).unwrap();
    let parts: Vec<&str> = rental.split('.').collect();
    let payload = String::from_utf8(fount_sdk::encoding::unb64(parts[1], "p").unwrap()).unwrap();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(payload.replacen("\"title\":\"title-1\"", "\"title\":\"title-2\"", 1)),
        parts[2]
    );
    let holder = device.device_id().as_str().to_owned();
    let other_id = other.device_id().as_str().to_owned();
    let case = |lic: &str, device: &str, trusted: i64, now: i64, result: &str| json!({"license": lic, "device_id": device, "trusted": trusted, "now": now, "result": result});
    write(
        &dir,
        "license.json",
        &json!({
            "description": "Licenses and the verdict for each (license, device, trusted time, now); licenses are named by their key here",
            "jwks": jwks,
            "device_private_jwk": serde_json::from_str::<Value>(&device_jwk).unwrap(),
            "other_device_private_jwk": serde_json::from_str::<Value>(&other.to_private_jwk()).unwrap(),
            "licenses": {"rental": rental, "starts_later": future, "unknown_key": unknown, "tampered": tampered},
            "rental_claims": serde_json::to_value(license::VerifiedLicense::verify(&rental, &jwks).unwrap().claims()).unwrap(),
            "content_key_hex": hex(&key_bytes),
            "cases": [
                case("rental", &holder, 0, iat + 60, "ok"),
                case("rental", &other_id, 0, iat + 60, "WrongDevice"),
                case("rental", &holder, 0, iat - 301, "ClockRolledBack"),
                case("rental", &holder, 0, iat - 300, "ok"),
                case("rental", &holder, iat + 10_000, iat + 9_000, "ClockRolledBack"),
                case("rental", &holder, 0, iat + 43_200, "RenewRequired"),
                case("rental", &holder, 0, iat + 86_400, "Expired"),
                case("starts_later", &holder, 0, iat + 60, "NotYetValid"),
                case("starts_later", &holder, 0, iat + 3_600 - 300, "ok"),
                case("unknown_key", &holder, 0, iat + 60, "UnknownSigningKey"),
                case("tampered", &holder, 0, iat + 60, "BadSignature")
            ]
        }),
    );

    // A manifest and positions on its timeline.
    write(
        &dir,
        "manifest.json",
        &json!({
            "description": "An audiobook manifest, its chapters on the timeline, and where positions fall",
            "manifest": {
                "@context": fount_sdk::manifest::CONTEXT,
                "metadata": {"@type": "http://schema.org/Audiobook", "conformsTo": fount_sdk::manifest::AUDIOBOOK_PROFILE, "identifier": "urn:uuid:7f9c1c8e-9d1e-4a8f-9a63-0f3c2b7e1d55", "title": "Test Vector Book", "author": "Fount", "duration": 300.5},
                "links": [{"rel": "self", "href": "manifest.json", "type": fount_sdk::manifest::MEDIA_TYPE}],
                "readingOrder": [
                    {"href": "tracks/a.fsa", "type": "audio/mpeg", "title": "Part one", "duration": 120.25, "properties": {"encrypted": {"scheme": fount_sdk::manifest::SEALED_SCHEME, "algorithm": fount_sdk::manifest::SEALED_ALGORITHM, "keyId": key_id.to_string(), "originalLength": 962000}}},
                    {"href": "tracks/b.fsa", "type": "audio/mpeg", "title": "Part two", "duration": 180.25, "properties": {"encrypted": {"scheme": fount_sdk::manifest::SEALED_SCHEME, "algorithm": fount_sdk::manifest::SEALED_ALGORITHM, "keyId": key_id.to_string(), "originalLength": 1442000}}}
                ],
                "toc": [
                    {"href": "tracks/a.fsa", "title": "Opening"},
                    {"href": "tracks/a.fsa#t=61.5", "title": "Second", "children": [{"href": "tracks/a.fsa#t=90", "title": "Second, part b"}]},
                    {"href": "tracks/b.fsa#t=npt:1:00", "title": "Third"}
                ]
            },
            "chapters": [
                {"title": "Opening", "track": 0, "offset": 0.0, "start": 0.0, "depth": 0},
                {"title": "Second", "track": 0, "offset": 61.5, "start": 61.5, "depth": 0},
                {"title": "Second, part b", "track": 0, "offset": 90.0, "start": 90.0, "depth": 1},
                {"title": "Third", "track": 1, "offset": 60.0, "start": 180.25, "depth": 0}
            ],
            "positions": [
                {"seconds": 0.0, "track": 0, "offset": 0.0, "chapter": 0},
                {"seconds": 100.0, "track": 0, "offset": 100.0, "chapter": 2},
                {"seconds": 120.25, "track": 1, "offset": 0.0, "chapter": 2},
                {"seconds": 200.25, "track": 1, "offset": 80.0, "chapter": 3},
                {"seconds": 1000.0, "track": 1, "offset": 180.25, "chapter": 3}
            ],
            "byte_ranges": [
                {"track": 0, "from": 30.0625, "to": 60.125, "bytes": [240500, 481000]}
            ]
        }),
    );
}
