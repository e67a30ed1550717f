//! The SDK's download manager against the live server, through a proxy that counts the range
//! requests and damages or refuses what it is told to: resuming after the app is killed,
//! progress, pause and cancel, a damaged block, retries, the quota, the queue.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fount_sdk::client::{DownloadProgress, DownloadSettings, DownloadState, FountError};
use fount_sdk::sealed::{DEFAULT_CHUNK_SIZE, TAG_LEN};
use serde_json::json;

use crate::client::{Stored, TestClient, TestHost, plays_back};
use crate::proxy::Proxy;
use crate::support::*;

/// A sealed block: as many of the server's chunks (and their tags) as hold 1 MiB of audio.
const BLOCK: u64 = (1 << 20) / DEFAULT_CHUNK_SIZE as u64 * (DEFAULT_CHUNK_SIZE as u64 + TAG_LEN as u64);

struct Setup {
    server: TestServer,
    proxy: Proxy,
    token: String,
    titles: Vec<String>,
    audio: Vec<u8>,
}

/// A server, a proxy before it, and `count` titles of `len` bytes of audio each that "ana"
/// owns.
async fn setup(len: usize, count: usize) -> Setup {
    let server = TestServer::start(Backend::Sqlite).await;
    let proxy = Proxy::start(&server.base).await;
    let store = server.store(5).await;
    let audio = long_mp3(len);
    let mut titles = Vec::new();
    for _ in 0..count {
        let title = server.title_with_audio(&store, audio.clone()).await;
        let id = title["id"].as_str().unwrap().to_owned();
        server.grant(&store, "ana", &id, json!({})).await;
        titles.push(id);
    }
    let token = server.token(&store, "ana").await;
    Setup { server, proxy, token, titles, audio }
}

/// A client over `stored` (the same map: the same app, restarted), through the proxy.
async fn app(setup: &Setup, stored: &Stored, settings: DownloadSettings) -> TestClient {
    tagged(setup, stored, settings, "").await
}

/// The same, its requests tagged for the proxy to count apart.
async fn tagged(setup: &Setup, stored: &Stored, settings: DownloadSettings, tag: &str) -> TestClient {
    let mut host = TestHost::with_store(stored.clone());
    host.tag = Some(tag.to_owned());
    let keys = fount_sdk::client::KeyChoice::open(&host, None).await.unwrap();
    let c = fount_sdk::client::Client::new(&setup.proxy.base, host, keys).await.unwrap();
    c.register_device(&setup.token, "phone").await.unwrap();
    for t in &setup.titles {
        if c.licenses().await.unwrap().iter().all(|l| &l.title_id != t) {
            c.acquire_license(&setup.token, t).await.unwrap();
        }
    }
    c.set_download_settings(settings).await.unwrap();
    c
}

fn settings(parallel: u32) -> DownloadSettings {
    DownloadSettings { parallel, attempts: 4, retry_delay_ms: 20, quota_bytes: None }
}

fn code<T: std::fmt::Debug>(r: Result<T, fount_sdk::client::ClientError>) -> String {
    FountError::from(r.expect_err("an error")).code().to_owned()
}

/// Listens: every progress seen, in order.
#[derive(Default, Clone)]
struct Seen(Arc<Mutex<Vec<DownloadProgress>>>);

impl Seen {
    fn push(&self, p: &DownloadProgress) {
        self.0.lock().unwrap().push(p.clone());
    }
    fn all(&self) -> Vec<DownloadProgress> {
        self.0.lock().unwrap().clone()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_download_resumes_fetching_only_the_missing_blocks() {
    let setup = setup(24_000_000, 1).await;
    let title = &setup.titles[0];
    let stored = Stored::default();
    let parallel = 4;

    // The app downloads; it is killed (its future dropped, requests in flight and all) once
    // eight blocks are stored. Requests are slowed so that several are in flight then.
    setup.proxy.faults.lock().unwrap().delay = Duration::from_millis(30);
    let first = app(&setup, &stored, settings(parallel)).await;
    first.enqueue_download(title).await.unwrap();
    let seen = Seen::default();
    let (kill, killed) = tokio::sync::watch::channel(false);
    let listener = |p: &DownloadProgress| {
        seen.push(p);
        if p.bytes >= 8 * BLOCK {
            let _ = kill.send(true);
        }
    };
    let mut killed = killed.clone();
    tokio::select! {
        r = first.run_downloads(&listener) => panic!("the download was to be killed first: {r:?}"),
        _ = killed.wait_for(|k| *k) => {}
    }
    drop(first);
    let seen_before = seen.all().last().unwrap().bytes;

    // Restarted: the queue still has the title; it resumes where the record says.
    setup.proxy.faults.lock().unwrap().delay = Duration::ZERO;
    // Its requests are counted apart: the killed app's last ones may still be arriving.
    let second = tagged(&setup, &stored, settings(parallel), "restarted").await;
    let queued = second.downloads().await.unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].state, DownloadState::Queued, "a download cut off is queued again: {queued:?}");
    // What the record has: at least what listeners were told before the kill (a block or
    // two may have landed between the signal and the drop).
    let kept = queued[0].bytes;
    assert!(kept >= seen_before && seen_before >= 8 * BLOCK, "{kept} {seen_before}");
    let seen = Seen::default();
    let done = second.run_downloads(&|p| seen.push(p)).await.unwrap();
    assert_eq!(done[0].state, DownloadState::Done, "{done:?}");
    assert_eq!(done[0].bytes, done[0].total);

    {
        let f = setup.proxy.faults.lock().unwrap();
        let blocks = (done[0].total - 68).div_ceil(BLOCK) as u32;
        let after = f.by_app["restarted"];
        let stored_blocks = ((kept - 68) / BLOCK) as u32;
        assert_eq!(after, blocks - stored_blocks, "only the blocks the record lacked were fetched again");
        let twice = f.ranges.values().filter(|n| **n > 1).count() as u32;
        assert!(twice <= parallel, "{twice} blocks were fetched twice: at most one per request in flight");
        assert!(f.ranges.values().all(|n| *n <= 2));
    }

    // Progress: bytes never go back, and end at the total, done.
    let all = seen.all();
    assert!(all.windows(2).all(|w| w[0].bytes <= w[1].bytes), "progress in order");
    let last = all.last().unwrap();
    assert_eq!((last.state, last.bytes), (DownloadState::Done, last.total));
    assert_eq!(all[0].bytes, kept, "it starts from what was stored");
    assert!(all.iter().all(|p| p.tracks.len() == 1 && p.tracks[0].total == p.total));

    // Offline, it plays from storage, byte for byte.
    let requests = setup.proxy.faults.lock().unwrap().by_app["restarted"];
    plays_back(&second, title, &setup.audio).await;
    assert_eq!(setup.proxy.faults.lock().unwrap().by_app["restarted"], requests, "played from storage");
    let usage = second.storage_usage().await.unwrap();
    assert_eq!((usage.bytes, usage.titles.len()), (done[0].total, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_block_is_fetched_again_and_failures_are_retried_then_typed() {
    let setup = setup(6_000_000, 2).await;
    let stored = Stored::default();
    let c = app(&setup, &stored, settings(3)).await;

    // Block 2 arrives damaged once, and two answers are 503: the download still ends whole.
    let damaged = 68 + 2 * BLOCK;
    {
        let mut f = setup.proxy.faults.lock().unwrap();
        f.corrupt_once = Some(damaged);
        f.unavailable = 2;
    }
    let done = c.download_title(&setup.titles[0], &|_| {}).await.unwrap();
    assert_eq!(done.state, DownloadState::Done);
    {
        let f = setup.proxy.faults.lock().unwrap();
        assert_eq!(f.ranges[&damaged], 2, "the damaged block was fetched again");
        let blocks = (done.total - 68).div_ceil(BLOCK) as u32;
        assert_eq!(f.requests(), 1 + blocks + 1 + 2, "the header, each block, one refetch and two retries");
    }
    plays_back(&c, &setup.titles[0], &setup.audio).await;

    // A server that keeps answering 503: the title fails after its attempts, typed, and what
    // it stored stays for the next run.
    setup.proxy.faults.lock().unwrap().unavailable = 1000;
    let seen = Seen::default();
    assert_eq!(code(c.download_title(&setup.titles[1], &|p| seen.push(p)).await), "server");
    let last = seen.all().last().cloned().unwrap();
    assert_eq!(last.state, DownloadState::Failed);
    assert_eq!(last.error.as_ref().unwrap().code, "server", "{last:?}");
    assert_eq!(c.download_progress(&setup.titles[1]).await.unwrap().state, DownloadState::Failed);
    setup.proxy.faults.lock().unwrap().unavailable = 0;
    // Queued again, the run finishes it.
    c.resume_download(&setup.titles[1]).await.unwrap();
    let all = c.run_downloads(&|_| {}).await.unwrap();
    assert!(all.iter().all(|p| p.state == DownloadState::Done), "{all:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_resume_cancel_and_the_quota() {
    let setup = setup(6_000_000, 2).await;
    let stored = Stored::default();
    let c = Arc::new(app(&setup, &stored, settings(2)).await);
    let title = setup.titles[0].clone();

    // Paused from the listener after two blocks: the call ends paused, the blocks kept.
    let seen = Seen::default();
    let paused = {
        let pauser = c.clone();
        let t = title.clone();
        let pause = Arc::new(Mutex::new(false));
        c.download_title(&title, &|p| {
            seen.push(p);
            let mut asked = pause.lock().unwrap();
            if p.bytes >= 2 * BLOCK && !*asked {
                *asked = true;
                // The listener runs inside the download; asking to pause is a flag.
                pollster::block_on(pauser.pause_download(&t)).unwrap();
            }
        })
        .await
        .unwrap()
    };
    assert_eq!(paused.state, DownloadState::Paused);
    assert!(paused.bytes >= 2 * BLOCK && paused.bytes < paused.total, "{paused:?}");
    assert_eq!(seen.all().last().unwrap().state, DownloadState::Paused);
    let requests = setup.proxy.faults.lock().unwrap().block_requests();
    // A paused title is skipped by a run.
    assert_eq!(c.run_downloads(&|_| {}).await.unwrap()[0].state, DownloadState::Paused);
    assert_eq!(setup.proxy.faults.lock().unwrap().block_requests(), requests);

    // Resumed: it completes from where it was.
    c.resume_download(&title).await.unwrap();
    let done = c.run_downloads(&|_| {}).await.unwrap();
    assert_eq!(done[0].state, DownloadState::Done);
    let blocks = (done[0].total - 68).div_ceil(BLOCK) as u32;
    assert!(setup.proxy.faults.lock().unwrap().block_requests() <= blocks + 2);

    // The quota: the second title does not fit; refused before any block, typed.
    let used = c.storage_usage().await.unwrap().bytes;
    c.set_download_settings(DownloadSettings { quota_bytes: Some(used + 1_000_000), ..settings(2) }).await.unwrap();
    let before = setup.proxy.faults.lock().unwrap().block_requests();
    let refused = c.download_title(&setup.titles[1], &|_| {}).await;
    assert_eq!(code(refused), "quota_exceeded");
    assert_eq!(setup.proxy.faults.lock().unwrap().block_requests(), before, "nothing fetched");
    let failed = c.download_progress(&setup.titles[1]).await.unwrap();
    assert_eq!((failed.state, failed.error.unwrap().code.as_str()), (DownloadState::Failed, "quota_exceeded"));

    // Cancelled: what it stored is gone, and the title reads online again.
    let cancelled = c.cancel_download(&title).await.unwrap();
    assert_eq!((cancelled.state, cancelled.bytes), (DownloadState::Cancelled, 0));
    assert_eq!(c.storage_usage().await.unwrap().bytes, 0);
    assert!(stored.lock().unwrap().keys().all(|k| !k.starts_with(&format!("fount/asset/{title}/"))));
    assert!(!c.open_title(&title).await.unwrap().is_downloaded());
    plays_back(&c, &title, &setup.audio).await;

    // Settings out of range are refused.
    assert_eq!(code(c.set_download_settings(DownloadSettings { parallel: 0, ..settings(1) }).await), "invalid_input");
    assert_eq!(code(c.enqueue_download("no such title").await), "invalid_input");
    assert_eq!(code(c.enqueue_download("nosuchtitle").await), "not_licensed");
    drop(setup.server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocks_stored_in_another_layout_are_read_from_the_server_then_fetched_again() {
    let setup = setup(3_000_000, 1).await;
    let title = &setup.titles[0];
    let stored = Stored::default();
    let c = app(&setup, &stored, settings(2)).await;
    let done = c.download_title(title, &|_| {}).await.unwrap();
    assert_eq!(done.state, DownloadState::Done);
    drop(c);

    // The blocks stored again as an older layout would have: half as many chunks a block.
    let assets = format!("fount/asset/{title}/");
    {
        let mut map = stored.lock().unwrap();
        let prefix = format!("{assets}blocks/0/");
        let mut keys: Vec<(u64, String)> =
            map.keys().filter_map(|k| Some((k.strip_prefix(&prefix)?.parse().ok()?, k.clone()))).collect();
        keys.sort();
        assert!(keys.len() >= 3, "{keys:?}");
        let body: Vec<u8> = keys.iter().flat_map(|(_, k)| map.remove(k).unwrap()).collect();
        for (n, half) in body.chunks(BLOCK as usize / 2).enumerate() {
            map.insert(format!("{prefix}{n}"), half.to_vec());
        }
        let layout = json!({ "tracks": [{ "sealed_len": done.total, "block_len": BLOCK / 2 }] });
        map.insert(format!("{assets}layout"), serde_json::to_vec(&layout).unwrap());
    }

    // Restarted, the title still says downloaded; reading it finds blocks of the wrong
    // length, and reads from the server instead, byte for byte, with no error.
    let c = tagged(&setup, &stored, settings(2), "restarted").await;
    let open = c.open_title(title).await.unwrap();
    assert!(open.is_downloaded());
    let first = open.read(0, 0, 3_000_000).await.unwrap();
    assert_eq!(first, setup.audio[..first.len()]);
    assert!(!open.is_downloaded(), "this handle no longer reads storage");
    plays_back(&c, title, &setup.audio).await;
    let fetched = setup.proxy.faults.lock().unwrap().by_app.get("restarted").copied().unwrap_or(0);
    assert!(fetched > 0, "read from the server");

    // Downloaded again: the layout has changed, so every block is fetched anew, and then it
    // plays from storage.
    let again = c.download_title(title, &|_| {}).await.unwrap();
    assert_eq!((again.state, again.bytes), (DownloadState::Done, done.total));
    let blocks = (done.total - 68).div_ceil(BLOCK) as u32;
    let after = setup.proxy.faults.lock().unwrap().by_app["restarted"];
    assert_eq!(after - fetched, blocks, "each block once");
    assert!(c.open_title(title).await.unwrap().is_downloaded());
    plays_back(&c, title, &setup.audio).await;
    assert_eq!(setup.proxy.faults.lock().unwrap().by_app["restarted"], after, "played from storage");
    drop(setup.server);
}
