//! Helper of `scripts/bench.sh downloads`: the native SDK's download against `curl` fetching
//! the same sealed file over the same loopback, and the bytes fetched twice when a download
//! is cut off and resumed.
//!
//! `download_bench DEMO_JSON TITLE_ID WORK_DIR ROUNDS`: a customer of the demo store with the
//! title, a device, a license; then ROUNDS alternating pairs of (a whole download by the SDK
//! with 4 range requests in flight into files under WORK_DIR, `curl -o` of the track's sealed
//! file into WORK_DIR), timed; then one download cut off halfway (its future dropped, as a
//! killed app) and resumed, counting the range requests per block. Prints JSON lines.
// A benchmark's own counters and clock: small numbers, and a panic would only end the run.
#![allow(clippy::arithmetic_side_effects)]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

use fount_sdk::client::{
    Client, DownloadSettings, Host, HostError, HttpHeader, HttpRequest, HttpResponse, KeyChoice, SoftwareKeyStore,
};
use fount_sdk::sealed::{DEFAULT_CHUNK_SIZE, TAG_LEN};
use serde_json::{Value, json};

/// HTTP with reqwest; storage in files (written whole, then renamed), as an app's would be;
/// every range request counted by its first byte.
struct BenchHost {
    http: reqwest::Client,
    dir: PathBuf,
    ranges: Mutex<BTreeMap<u64, u32>>,
}

impl BenchHost {
    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(key.replace('/', "%2F"))
    }
}

impl Host for BenchHost {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HostError> {
        let mut req = self.http.request(reqwest::Method::from_bytes(request.method.as_bytes()).unwrap(), &request.url);
        for h in &request.headers {
            if h.name == "range"
                && let Some(start) = h.value.strip_prefix("bytes=").and_then(|v| v.split('-').next())
            {
                *self.ranges.lock().unwrap().entry(start.parse().unwrap()).or_default() += 1;
            }
            req = req.header(&h.name, &h.value);
        }
        let resp = req.body(request.body).send().await.map_err(|e| HostError::new(e.to_string()))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| HttpHeader { name: k.to_string(), value: v.to_str().unwrap_or("").to_owned() })
            .collect();
        let body = resp.bytes().await.map_err(|e| HostError::new(e.to_string()))?.to_vec();
        Ok(HttpResponse { status, headers, body })
    }
    async fn load(&self, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        Ok(tokio::fs::read(self.path(key)).await.ok())
    }
    async fn save(&self, key: &str, value: Vec<u8>) -> Result<(), HostError> {
        let tmp = self.dir.join(format!(".tmp-{}", key.replace('/', "%2F")));
        tokio::fs::write(&tmp, value).await.map_err(|e| HostError::new(e.to_string()))?;
        tokio::fs::rename(&tmp, self.path(key)).await.map_err(|e| HostError::new(e.to_string()))
    }
    async fn remove(&self, key: &str) -> Result<(), HostError> {
        let _ = tokio::fs::remove_file(self.path(key)).await;
        Ok(())
    }
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, HostError> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(|e| HostError::new(e.to_string()))? {
            let name = entry.unwrap().file_name().to_string_lossy().replace("%2F", "/");
            if !name.starts_with(".tmp-") && name.starts_with(prefix) {
                out.push(name);
            }
        }
        Ok(out)
    }
    fn now(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
    }
    async fn sleep(&self, millis: u64) {
        tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
    }
}

type BenchClient = Client<BenchHost, KeyChoice<SoftwareKeyStore>>;

async fn client(base: &str, dir: &Path, token: &str, title: &str) -> BenchClient {
    std::fs::create_dir_all(dir).unwrap();
    let host = BenchHost { http: reqwest::Client::new(), dir: dir.to_owned(), ranges: Mutex::default() };
    let keys = KeyChoice::open(&host, None).await.unwrap();
    let c = Client::new(base, host, keys).await.unwrap();
    c.register_device(token, "bench").await.unwrap();
    if c.licenses().await.unwrap().iter().all(|l| l.title_id != title) {
        c.acquire_license(token, title).await.unwrap();
    }
    c.set_download_settings(DownloadSettings { parallel: 4, ..DownloadSettings::default() }).await.unwrap();
    c
}

/// Removes the downloaded blocks (keeping the license, key and header): a fresh download.
fn clear_blocks(dir: &Path) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.file_name().unwrap().to_string_lossy().starts_with("fount%2Fasset%2F") {
            std::fs::remove_file(path).unwrap();
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let demo: Value = serde_json::from_str(&std::fs::read_to_string(&args[0]).unwrap()).unwrap();
    let (title, work, rounds) = (&args[1], PathBuf::from(&args[2]), args[3].parse::<usize>().unwrap());
    let base = demo["base_url"].as_str().unwrap();
    let key = demo["api_key"].as_str().unwrap();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let post = async |path: &str, body: Value| -> Value {
        http.post(format!("{base}{path}")).bearer_auth(key).json(&body).send().await.unwrap().json().await.unwrap()
    };
    post("/v1/entitlements", json!({"customer": "download-bench", "title": title, "kind": "purchase"})).await;
    let token = post("/v1/customers/download-bench/tokens", json!({})).await["token"].as_str().unwrap().to_owned();
    let manifest: Value =
        http.get(format!("{base}/pub/{title}/manifest.json")).send().await.unwrap().json().await.unwrap();
    let href = manifest["readingOrder"][0]["href"].as_str().unwrap();
    let sealed_url = if href.contains("://") { href.to_owned() } else { format!("{base}/pub/{title}/{href}") };

    let dir = work.join("sdk");
    let sdk = client(base, &dir, &token, title).await;
    let (mut sdk_rates, mut curl_rates) = (Vec::new(), Vec::new());
    let mut bytes = 0;
    for _ in 0..rounds {
        clear_blocks(&dir);
        let started = Instant::now();
        let done = sdk.download_title(title, &|_| {}).await.unwrap();
        sdk_rates.push(done.total as f64 / started.elapsed().as_secs_f64() / 1e6);
        bytes = done.total;

        let out = work.join("curl.sealed");
        let started = Instant::now();
        let status = std::process::Command::new("curl")
            .args(["-sS", "--fail", "-o"])
            .arg(&out)
            .arg(&sealed_url)
            .status()
            .unwrap();
        assert!(status.success());
        let len = std::fs::metadata(&out).unwrap().len();
        curl_rates.push(len as f64 / started.elapsed().as_secs_f64() / 1e6);
        std::fs::remove_file(&out).unwrap();
    }
    let (s, c) = (median(sdk_rates.clone()), median(curl_rates.clone()));
    // The median of each pair's ratio: a slow spell of the shared machine falls on one pair.
    let paired = median(sdk_rates.iter().zip(&curl_rates).map(|(s, c)| s / c).collect());
    println!(
        "{}",
        json!({"bench": "download_throughput", "bytes": bytes, "parallel": 4, "rounds": rounds,
            "sdk_mb_per_s": (s * 10.0).round() / 10.0, "curl_mb_per_s": (c * 10.0).round() / 10.0,
            "ratio": (paired * 100.0).round() / 100.0, "ratio_of_medians": (s / c * 100.0).round() / 100.0,
            "sdk_each": sdk_rates.iter().map(|r| r.round()).collect::<Vec<_>>(),
            "curl_each": curl_rates.iter().map(|r| r.round()).collect::<Vec<_>>()})
    );

    // Cut off halfway (the future dropped, requests in flight and all), then resumed by a new
    // client over the same files: the blocks requested twice, and their bytes.
    clear_blocks(&dir);
    let cut = work.join("cut");
    std::fs::create_dir_all(&cut).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), cut.join(entry.file_name())).unwrap();
    }
    let first = client(base, &cut, &token, title).await;
    let half = bytes / 2;
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let cut_at = |p: &fount_sdk::client::DownloadProgress| {
        if p.bytes >= half {
            let _ = stop.send(true);
        }
    };
    tokio::select! {
        _ = first.download_title(title, &cut_at) => panic!("finished before the cut"),
        _ = stopped.wait_for(|s| *s) => {}
    }
    let before = first.host().ranges.lock().unwrap().clone();
    drop(first);
    let second = client(base, &cut, &token, title).await;
    let done = second.download_title(title, &|_| {}).await.unwrap();
    let after = second.host().ranges.lock().unwrap().clone();
    let twice: Vec<u64> = after.keys().filter(|start| **start > 0 && before.contains_key(start)).copied().collect();
    let block = (1u64 << 20) / u64::from(DEFAULT_CHUNK_SIZE) * (u64::from(DEFAULT_CHUNK_SIZE) + TAG_LEN as u64);
    println!(
        "{}",
        json!({"bench": "download_refetch", "bytes": done.total, "parallel": 4, "cut_at_bytes": half,
            "blocks_fetched_twice": twice.len(), "bytes_fetched_twice": twice.len() as u64 * block,
            "block_bytes": block})
    );
}
