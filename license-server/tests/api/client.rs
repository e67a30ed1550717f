//! The SDK's client against the live server, through an in-memory host: the same flow every
//! binding's tests run in its own language.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

use fount_sdk::LicenseStatus;
use fount_sdk::client::{
    Client, FountError, Host, HostError, HttpHeader, HttpRequest, HttpResponse, KeyChoice, SoftwareKeyStore,
};
use serde_json::json;

use crate::on_both_databases;
use crate::support::*;

/// What a test host stores: shared, so that a second host over the same map is the same app
/// restarted.
pub(crate) type Stored = std::sync::Arc<Mutex<BTreeMap<String, Vec<u8>>>>;

/// HTTP with reqwest, storage in a map, a clock the test can move, a network it can cut.
pub(crate) struct TestHost {
    http: reqwest::Client,
    pub(crate) store: Stored,
    offline: AtomicBool,
    skew: AtomicI64,
    requests: AtomicI64,
    /// Looks for a downloaded block (`fount/asset/<title>/blocks/…`).
    block_loads: AtomicI64,
    /// Sent as `x-test-app` with every request, for a proxy to tell apps apart.
    pub(crate) tag: Option<String>,
}

impl TestHost {
    /// A host over `store`.
    pub(crate) fn with_store(store: Stored) -> Self {
        TestHost { store, ..TestHost::default() }
    }
}

impl Default for TestHost {
    fn default() -> Self {
        TestHost {
            http: http_client(),
            store: Stored::default(),
            offline: AtomicBool::default(),
            skew: AtomicI64::default(),
            requests: AtomicI64::default(),
            block_loads: AtomicI64::default(),
            tag: None,
        }
    }
}

impl Host for TestHost {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HostError> {
        if self.offline.load(Ordering::SeqCst) {
            return Err(HostError::new("offline"));
        }
        self.requests.fetch_add(1, Ordering::SeqCst);
        let method =
            reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| HostError::new(e.to_string()))?;
        let mut req = self.http.request(method, &request.url).body(request.body);
        for h in &request.headers {
            req = req.header(&h.name, &h.value);
        }
        if let Some(tag) = &self.tag {
            req = req.header("x-test-app", tag);
        }
        let resp = req.send().await.map_err(|e| HostError::new(e.to_string()))?;
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
        if key.starts_with("fount/asset/") && key.contains("/blocks/") {
            self.block_loads.fetch_add(1, Ordering::SeqCst);
        }
        Ok(self.store.lock().unwrap().get(key).cloned())
    }
    async fn save(&self, key: &str, value: Vec<u8>) -> Result<(), HostError> {
        self.store.lock().unwrap().insert(key.to_owned(), value);
        Ok(())
    }
    async fn remove(&self, key: &str) -> Result<(), HostError> {
        self.store.lock().unwrap().remove(key);
        Ok(())
    }
    async fn keys(&self, prefix: &str) -> Result<Vec<String>, HostError> {
        Ok(self.store.lock().unwrap().keys().filter(|k| k.starts_with(prefix)).cloned().collect())
    }
    fn now(&self) -> i64 {
        now() + self.skew.load(Ordering::SeqCst)
    }
    async fn sleep(&self, millis: u64) {
        tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
    }
}

pub(crate) type TestClient = Client<TestHost, KeyChoice<SoftwareKeyStore>>;

pub(crate) async fn client_at(url: &str) -> Result<TestClient, fount_sdk::client::ClientError> {
    let host = TestHost::default();
    let keys = KeyChoice::open(&host, None).await?;
    Client::new(url, host, keys).await
}

/// Every byte of the title's first track, read through the open title (streamed, or from
/// what is downloaded), equals `audio`.
pub(crate) async fn plays_back(c: &TestClient, title: &str, audio: &[u8]) {
    let open = c.open_title(title).await.unwrap();
    let mut at = 0usize;
    while at < audio.len() {
        let got = open.read(0, at as u64, 3_000_000).await.unwrap();
        assert!(!got.is_empty(), "no bytes at {at}");
        assert_eq!(got, audio[at..at + got.len()], "at byte {at}");
        at += got.len();
    }
}

async fn client(server: &TestServer) -> TestClient {
    client_at(&server.base).await.unwrap()
}

fn code<T>(r: Result<T, fount_sdk::client::ClientError>) -> &'static str {
    match r {
        Ok(_) => "ok",
        Err(e) => FountError::from(e).code(),
    }
}

on_both_databases! {
    async fn listening_follows_the_listener_across_devices(server: TestServer) {
        let store = server.store(5).await;
        let title = server.title_with_audio(&store, sample_mp3()).await;
        let title_id = title["id"].as_str().unwrap();
        server.grant(&store, "hana", title_id, json!({})).await;
        let (phone, tablet) = (client(&server).await, client(&server).await);
        let token = server.token(&store, "hana").await;
        for c in [&phone, &tablet] {
            c.register_device(&token, "a device").await.unwrap();
            c.acquire_license(&token, title_id).await.unwrap();
        }
        let (p, t) = (phone.open_title(title_id).await.unwrap(), tablet.open_title(title_id).await.unwrap());

        // The phone listens, marks a place, syncs; the tablet syncs and has both.
        p.save_position(12.0).await.unwrap();
        let mark = p.add_bookmark(9.0, Some("the keeper".into())).await.unwrap();
        let sent = p.sync_listening(&token).await.unwrap();
        assert_eq!((sent.sent, sent.received), (2, 0));
        let got = t.sync_listening(&token).await.unwrap();
        assert_eq!((got.received, got.sent), (2, 0));
        assert!((t.position().await.unwrap().unwrap() - 12.0).abs() < 0.01);
        let marks = t.bookmarks().await.unwrap();
        assert_eq!(marks.iter().map(|b| (b.id.as_str(), b.note.as_deref())).collect::<Vec<_>>(), [(mark.id.as_str(), Some("the keeper"))]);
        assert!((marks[0].position - 9.0).abs() < 0.01);

        // Then, a second apart (the host's clock counts seconds), the phone moves back without
        // syncing, and the tablet, offline, goes on and removes the mark. The tablet syncs
        // first, the phone after: the later changes (the tablet's) win, whatever the order.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        p.save_position(3.0).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        tablet.host().offline.store(true, Ordering::SeqCst);
        t.save_position(15.5).await.unwrap();
        assert!(t.remove_bookmark(&mark.id).await.unwrap());
        assert!(!t.remove_bookmark(&mark.id).await.unwrap(), "already removed");
        assert!(t.bookmarks().await.unwrap().is_empty());
        assert_eq!(code(t.sync_listening(&token).await), "network");
        tablet.host().offline.store(false, Ordering::SeqCst);
        let report = t.sync_listening(&token).await.unwrap();
        assert_eq!((report.sent, report.received), (2, 0), "{report:?}");
        let back = p.sync_listening(&token).await.unwrap();
        assert_eq!((back.sent, back.received), (0, 2), "{back:?}");
        assert!((back.position.unwrap() - 15.5).abs() < 0.01, "{back:?}");
        assert!((p.position().await.unwrap().unwrap() - 15.5).abs() < 0.01);
        assert!(p.bookmarks().await.unwrap().is_empty(), "the removal reached the phone");
        // The server has the tombstone, so a third device never sees the mark.
        let listed = ok_json(server.get(&format!("/v1/me/bookmarks/{title_id}"), Some(&token)).await, reqwest::StatusCode::OK).await;
        assert_eq!(listed["items"][0]["deleted"], true);
        // Nothing new: a sync sends and takes nothing.
        let quiet = p.sync_listening(&token).await.unwrap();
        assert_eq!((quiet.sent, quiet.received), (0, 0));
    }

    async fn client_whole_path(server: TestServer) {
        let store = server.store(5).await;
        let title = server.title_with_audio(&store, sample_mp3()).await;
        let title_id = title["id"].as_str().unwrap();
        let token = server.token(&store, "gina").await;
        let c = client(&server).await;

        // Not entitled yet, then entitled.
        let device = c.register_device(&token, "Gina's phone").await.unwrap();
        assert_eq!(device.id, c.device_id());
        assert!(device.active);
        assert_eq!(code(c.acquire_license(&token, title_id).await), "not_entitled");
        server.grant(&store, "gina", title_id, json!({})).await;
        let license = c.acquire_license(&token, title_id).await.unwrap();
        assert_eq!((license.title_id.as_str(), license.status), (title_id, LicenseStatus::Active));
        assert_eq!(c.licenses().await.unwrap(), vec![license.clone()]);

        // Open, read ranges: identical to the original.
        let audio = sample_mp3();
        let open = c.open_title(title_id).await.unwrap();
        assert_eq!(open.tracks().len(), 1);
        assert_eq!(open.tracks()[0].length, audio.len() as u64);
        assert_eq!(open.chapters().iter().map(|c| c.title.as_str()).collect::<Vec<_>>(), ["The Spring", "The Keeper", "The Library"]);
        for (offset, len) in [(0u64, 1000u64), (65_000, 200_000), (audio.len() as u64 - 10, 100)] {
            let got = open.read(0, offset, len).await.unwrap();
            let end = (offset + len).min(audio.len() as u64) as usize;
            assert_eq!(got, audio[offset as usize..end]);
        }
        assert_eq!(code(open.read(0, audio.len() as u64, 1).await), "invalid_input");
        assert_eq!(code(open.read(7, 0, 1).await), "invalid_input");
        // Nothing is downloaded, so no read looked in storage for blocks (in a browser, an
        // IndexedDB transaction on the way from a click to the sound).
        assert_eq!(c.host().block_loads.load(Ordering::SeqCst), 0);
        let earlier = c.open_title(title_id).await.unwrap();

        // Download, then everything works with the network cut.
        open.download().await.unwrap();
        assert!(open.is_downloaded());
        c.host().offline.store(true, Ordering::SeqCst);
        // A handle opened before the download does not know of it, and still plays: the
        // server out of reach, it finds the blocks in storage.
        assert!(!earlier.is_downloaded());
        assert_eq!(earlier.read(0, 65_000, 200_000).await.unwrap(), audio[65_000..265_000]);
        let offline = c.open_title(title_id).await.unwrap();
        let mut whole = Vec::new();
        while (whole.len() as u64) < audio.len() as u64 {
            whole.extend(offline.read(0, whole.len() as u64, 100_000).await.unwrap());
        }
        assert_eq!(whole, audio);
        offline.save_position(20.5).await.unwrap();
        assert!((offline.position().await.unwrap().unwrap() - 20.5).abs() < 0.01);
        let mark = offline.add_bookmark(14.0, Some("the keeper".into())).await.unwrap();
        assert_eq!(mark.chapter.as_deref(), Some("The Keeper"));
        assert_eq!(offline.bookmarks().await.unwrap().len(), 1);
        assert!(offline.remove_bookmark(&mark.id).await.unwrap());
        assert_eq!(offline.locate(30.0).chapter, Some(2));
        assert_eq!(code(c.check_status(&license.id).await), "network");
        c.host().offline.store(false, Ordering::SeqCst);

        // A clock set back an hour is refused; put right, it plays.
        c.host().skew.store(-3600, Ordering::SeqCst);
        assert_eq!(code(c.open_title(title_id).await), "clock_rolled_back");
        c.host().skew.store(0, Ordering::SeqCst);

        // Renew, then the store revokes: the device learns at its status check.
        let renewed = c.renew_license(&token, &license.id).await.unwrap();
        assert_eq!(renewed.id, license.id);
        server.post(&format!("/v1/licenses/{}/revoke", license.id), Some(&store.key), json!({})).await;
        assert!(c.open_title(title_id).await.is_ok(), "offline, the device does not know yet");
        let checked = c.check_status(&license.id).await.unwrap();
        assert_eq!(checked.status, LicenseStatus::Revoked);
        assert!(!checked.downloaded, "an ended license's downloads are removed");
        assert_eq!(code(c.open_title(title_id).await), "revoked");
        assert_eq!(code(c.renew_license(&token, &license.id).await), "revoked");
    }

    async fn client_errors_and_return(server: TestServer) {
        let f = Fixture::new(&server).await;
        server.grant(&f.store, &f.customer, &f.title_id, json!({})).await;
        let c = client(&server).await;
        // Not registered yet.
        assert_eq!(code(c.acquire_license(&f.token, &f.title_id).await), "device_not_registered");
        assert_eq!(code(c.register_device("not-a-token", "x").await), "unauthorized");
        c.register_device(&f.token, "laptop").await.unwrap();
        assert_eq!(code(c.acquire_license(&f.token, "no-such-title").await), "not_found");
        assert_eq!(code(c.acquire_license(&f.token, "../../etc").await), "invalid_input");
        assert_eq!(code(c.open_title(&f.title_id).await), "not_licensed");
        let license = c.acquire_license(&f.token, &f.title_id).await.unwrap();
        let returned = c.return_license(&f.token, &license.id).await.unwrap();
        assert_eq!(returned.status, LicenseStatus::Returned);
        assert_eq!(code(c.open_title(&f.title_id).await), "returned");
        // A device over the store's limit.
        let store = server.store(1).await;
        let token = server.token(&store, "solo").await;
        client(&server).await.register_device(&token, "one").await.unwrap();
        assert_eq!(code(client(&server).await.register_device(&token, "two").await), "device_limit_reached");
        // A server that is not there; a URL that is not one.
        let nowhere = client_at("http://127.0.0.1:9").await.unwrap();
        assert_eq!(code(nowhere.register_device("t", "x").await), "network");
        assert_eq!(code(client_at("ftp://x").await), "invalid_input");
    }
}
