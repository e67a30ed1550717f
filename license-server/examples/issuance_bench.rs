//! Helper of `scripts/bench.sh` for the license-issuance benchmark.
//!
//! * `setup BASE_URL API_KEY TITLE_ID N OUT`: makes N customers, each with a registered
//!   device and a purchase of the title, through the HTTP API; writes one line per customer,
//!   `token device title`, for the wrk script.
//! * `ceiling SECONDS`: the crypto ceiling, in process: per license, unseal the content key,
//!   wrap it to a P-256 device (ECDH-ES + A256GCM) and sign the license (Ed25519), on one
//!   thread and on every core. Prints JSON lines.
// A benchmark's own counters and clock: small numbers, and a panic would only end the run.
#![allow(clippy::arithmetic_side_effects)]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write as _;
use std::time::{Duration, Instant};

use fount_sdk::encoding::b64;
use fount_sdk::license::{self, Confirmation, LicenseClaims, WrappedKey};
use fount_sdk::{ContentKey, DeviceKey, SigningKey, SoftwareDeviceKey, jwe};
use fount_server::crypto::kek::Kek;
use ring::rand::SystemRandom;
use serde_json::{Value, json};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("setup") => setup(&args[1], &args[2], &args[3], args[4].parse().unwrap(), &args[5]),
        Some("ceiling") => ceiling(args.get(1).and_then(|s| s.parse().ok()).unwrap_or(3)),
        _ => eprintln!("usage: issuance_bench setup BASE API_KEY TITLE N OUT | ceiling SECONDS"),
    }
}

fn setup(base: &str, api_key: &str, title: &str, n: usize, out: &str) {
    // reqwest is built without a TLS provider of its own (the server chooses ring for its
    // outbound client); the example's plain-HTTP client still needs one installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::blocking::Client::new();
    let post = |path: &str, bearer: &str, body: Value| -> Value {
        let r = http.post(format!("{base}{path}")).bearer_auth(bearer).json(&body).send().unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.text().unwrap());
        r.json().unwrap()
    };
    let mut file = std::fs::File::create(out).unwrap();
    for i in 0..n {
        let customer = format!("bench-{i}");
        post("/v1/entitlements", api_key, json!({"customer": customer, "title": title, "kind": "purchase"}));
        let token = post(&format!("/v1/customers/{customer}/tokens"), api_key, json!({"ttl_seconds": 86_400}));
        let token = token["token"].as_str().unwrap();
        let device = SoftwareDeviceKey::generate_p256(&SystemRandom::new()).unwrap();
        post("/v1/me/devices", token, json!({"jwk": device.public_key().to_jwk()}));
        writeln!(file, "{token} {} {title}", device.device_id()).unwrap();
    }
}

fn one_thread(seconds: u64) -> u64 {
    let rng = SystemRandom::new();
    let kek = Kek::from_base64(&b64([9u8; 32])).unwrap();
    let content = ContentKey::generate(&rng).unwrap();
    let sealed = kek.seal("content-key", "title", content.expose_secret()).unwrap();
    let signer = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8(&rng).unwrap()).unwrap();
    let device = SoftwareDeviceKey::generate_p256(&rng).unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut count = 0u64;
    while Instant::now() < deadline {
        let key = kek.open("content-key", "title", &sealed).unwrap();
        let wrapped = jwe::encrypt(device.public_key(), &key, &rng).unwrap();
        let claims = LicenseClaims {
            iss: "http://127.0.0.1:8080".into(),
            aud: "store".into(),
            jti: "0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9".into(),
            title: "title".into(),
            iat: 1_800_000_000,
            nbf: 1_800_000_000,
            exp: None,
            renew_by: 1_800_604_800,
            status: "http://127.0.0.1:8080/v1/licenses/0b1c2d3e-4f50-4617-8283-94a5b6c7d8e9/status".into(),
            cnf: Confirmation { jkt: device.device_id().as_str().into() },
            keys: vec![WrappedKey { kid: content.id().to_string(), jwe: wrapped }],
        };
        std::hint::black_box(license::sign(&claims, &signer).unwrap());
        count += 1;
    }
    count
}

fn ceiling(seconds: u64) {
    let single = one_thread(seconds) as f64 / seconds as f64;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let handles: Vec<_> = (0..threads).map(|_| std::thread::spawn(move || one_thread(seconds))).collect();
    let all: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    println!(r#"{{"bench":"crypto_ceiling","threads":1,"licenses_per_s":{single:.0}}}"#);
    println!(r#"{{"bench":"crypto_ceiling","threads":{threads},"licenses_per_s":{:.0}}}"#, all as f64 / seconds as f64);
}
