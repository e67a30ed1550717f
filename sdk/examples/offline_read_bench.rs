//! The native side of the wasm decryption benchmark (`scripts/bench.sh wasm`): reads the
//! downloaded title in a snapshot written by `bindings/wasm/js/bench/decrypt.mjs prepare`,
//! offline, in consecutive 1 MiB reads, best of 5 passes, with the same key and bytes as the
//! wasm run. Prints MB/s as JSON.
//!
//! `cargo run --release -p fount-sdk --example offline_read_bench SNAPSHOT`
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

use base64::Engine as _;
use fount_sdk::client::{Client, Host, HostError, HttpRequest, HttpResponse, KeyChoice, SoftwareKeyStore};

struct Offline(Mutex<BTreeMap<String, Vec<u8>>>);

impl Host for Offline {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, HostError> {
        Err(HostError::new("offline"))
    }
    async fn load(&self, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        Ok(self.0.lock().unwrap().get(key).cloned())
    }
    async fn save(&self, key: &str, value: Vec<u8>) -> Result<(), HostError> {
        self.0.lock().unwrap().insert(key.into(), value);
        Ok(())
    }
    async fn remove(&self, key: &str) -> Result<(), HostError> {
        self.0.lock().unwrap().remove(key);
        Ok(())
    }
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, HostError> {
        Ok(self.0.lock().unwrap().keys().filter(|k| k.starts_with(prefix)).cloned().collect())
    }
    fn now(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
    }
    async fn sleep(&self, millis: u64) {
        // Offline, nothing is retried; a wait would only block this one-threaded benchmark.
        std::thread::sleep(std::time::Duration::from_millis(millis));
    }
}

fn main() {
    let path = std::env::args().nth(1).expect("usage: offline_read_bench SNAPSHOT");
    let snapshot: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD;
    let entries = snapshot["entries"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), b64.decode(v.as_str().unwrap()).unwrap()))
        .collect();
    let title = snapshot["title"].as_str().unwrap();
    pollster::block_on(async {
        let host = Offline(Mutex::new(entries));
        let keys: KeyChoice<SoftwareKeyStore> = KeyChoice::open(&host, None).await.unwrap();
        let client = Client::new("http://offline.invalid", host, keys).await.unwrap();
        let open = client.open_title(title).await.unwrap();
        let length = open.tracks()[0].length;
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = Instant::now();
            let mut at = 0;
            while at < length {
                at += open.read(0, at, 1 << 20).await.unwrap().len() as u64;
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        println!(r#"{{"bench":"native_read","bytes":{length},"mb_per_s":{:.1}}}"#, length as f64 / best / 1e6);
    });
}
