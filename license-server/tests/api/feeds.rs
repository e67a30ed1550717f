//! Feeds: the store API, and syncs against a real feed server on loopback whose feed changes
//! between syncs (a first import, the 304 path, added, changed and removed items, a locked
//! feed), on both databases.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::*;

/// The feed the server serves now, its other files, and every request it got (its path and
/// `If-None-Match`).
#[derive(Default)]
struct Served {
    feed: String,
    files: std::collections::HashMap<String, Vec<u8>>,
    requests: Vec<(String, Option<String>)>,
}

/// A feed server on loopback: `/feed.xml` answers the current feed with an `ETag` of its
/// content, and `304` to a request that sends that tag back; other paths answer their file,
/// or 404.
async fn feed_server() -> (String, Arc<Mutex<Served>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let served = Arc::new(Mutex::new(Served::default()));
    let state = served.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let state = state.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let end = loop {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break end;
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&buf[..end]).to_string();
                let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                let inm = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("if-none-match"))
                    .map(|(_, v)| v.trim().to_owned());
                let (status, etag, body) = {
                    let mut s = state.lock().unwrap();
                    s.requests.push((path.clone(), inm.clone()));
                    let etag = format!("\"{:x}\"", fxhash(s.feed.as_bytes()));
                    if path != "/feed.xml" {
                        match s.files.get(&path) {
                            Some(bytes) => ("200 OK", etag, bytes.clone()),
                            None => ("404 Not Found", etag, Vec::new()),
                        }
                    } else if inm.as_deref() == Some(etag.as_str()) {
                        ("304 Not Modified", etag, Vec::new())
                    } else {
                        ("200 OK", etag, s.feed.clone().into_bytes())
                    }
                };
                let kind = if path.ends_with(".mp3") { "audio/mpeg" } else { "application/rss+xml" };
                let head = format!(
                    "HTTP/1.1 {status}\r\netag: {etag}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    (base, served)
}

/// A small stable hash for the test server's `ETag`.
fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// An RSS feed of `items` (`(guid, enclosure URL, media type)`); `locked` sets
/// `podcast:locked`.
fn rss(items: &[(&str, &str, &str)], locked: bool) -> String {
    let items: String = items
        .iter()
        .map(|(guid, url, kind)| {
            format!(
                "<item><title>Episode {guid}</title><guid isPermaLink=\"false\">{guid}</guid>\
                 <enclosure url=\"{url}\" length=\"1000\" type=\"{kind}\"/></item>"
            )
        })
        .collect();
    let locked = if locked { "<podcast:locked owner=\"owner@example.com\">yes</podcast:locked>" } else { "" };
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:podcast=\"https://podcastindex.org/namespace/1.0\">\
         <channel><title>Loopback Radio</title><description>d</description>{locked}{items}</channel></rss>"
    )
}

async fn feed(server: &TestServer, store: &TestStore, id: &str) -> Value {
    ok_json(server.get(&format!("/v1/feeds/{id}"), Some(&store.key)).await, StatusCode::OK).await
}

/// The feed once its sync has recorded something after `since` (seconds).
async fn synced_after(server: &TestServer, store: &TestStore, id: &str, since: i64) -> Value {
    eventually("the feed's sync recorded", Duration::from_secs(20), || async {
        let f = feed(server, store, id).await;
        (f["last_sync_at"].as_i64().unwrap_or(0) >= since && f["last_result"].is_string()).then_some(f)
    })
    .await
}

/// The feed once the items `guids` are published.
async fn published(server: &TestServer, store: &TestStore, id: &str, guids: &[&str]) -> Value {
    eventually("the items published", Duration::from_secs(60), || async {
        let f = feed(server, store, id).await;
        let done = guids
            .iter()
            .all(|g| f["items"].as_array().unwrap().iter().any(|i| i["guid"] == *g && i["status"] == "published"));
        if let Some(failed) = f["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| guids.contains(&i["guid"].as_str().unwrap()) && i["status"] == "failed")
        {
            panic!("an item failed: {failed}");
        }
        done.then_some(f)
    })
    .await
}

fn items(feed: &Value) -> Vec<(String, String)> {
    feed["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["guid"].as_str().unwrap().to_owned(), i["status"].as_str().unwrap().to_owned()))
        .collect()
}

async fn events_of(server: &TestServer, store: &TestStore, prefix: &str) -> Vec<Value> {
    let page = ok_json(server.get("/v1/events?limit=200", Some(&store.key)).await, StatusCode::OK).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"].as_str().unwrap().starts_with(prefix))
        .cloned()
        .collect()
}

async fn sync_now(server: &TestServer, store: &TestStore, id: &str) {
    ok_json(server.post(&format!("/v1/feeds/{id}/sync"), Some(&store.key), json!({})).await, StatusCode::ACCEPTED)
        .await;
}

async fn syncs(backend: Backend) {
    let server = TestServer::start_with(backend, |s| s.webhooks.allow_private_urls = true).await;
    let store = server.store(5).await;
    let (base, served) = feed_server().await;
    let audio = |name: &str| format!("{base}/{name}.mp3");
    {
        let mut s = served.lock().unwrap();
        for name in ["/1.mp3", "/2.mp3", "/4.mp3"] {
            s.files.insert(name.into(), sample_mp3());
        }
        // The remastered episode: other bytes, the same audio.
        let mut remastered = sample_mp3();
        remastered.extend_from_slice(&[0u8; 417]);
        s.files.insert("/1-remastered.mp3".into(), remastered);
    }
    served.lock().unwrap().feed = rss(
        &[
            ("e1", &audio("1"), "audio/mpeg"),
            ("e2", &audio("2"), "audio/mpeg"),
            ("e3", &format!("{base}/3.pdf"), "application/pdf"),
        ],
        false,
    );

    // The first import.
    let created = ok_json(
        server
            .post(
                "/v1/feeds",
                Some(&store.key),
                json!({"url": format!("{base}/feed.xml"), "price": "4.99", "currency": "EUR"}),
            )
            .await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["mode"], "episodes");
    assert_eq!(created["interval"], 3600);
    let f = synced_after(&server, &store, &id, 0).await;
    assert_eq!(f["last_result"], "imported");
    assert_eq!(f["name"], "Loopback Radio");
    assert_eq!(f["items"][2]["status"], "failed");
    assert_eq!(f["items"][2]["error"], "the enclosure is application/pdf, not audio");
    let synced = events_of(&server, &store, "feed").await;
    assert_eq!(synced[0]["type"], "feed.synced");
    assert_eq!((synced[0]["data"]["added"].as_u64(), synced[0]["data"]["failed"].as_u64()), (Some(2), Some(1)));
    assert_eq!(synced[1]["type"], "feed_item.failed");
    assert_eq!(synced[1]["data"]["item"]["guid"], "e3");
    // Each importable item is downloaded, packaged like an upload, and published as a title
    // of its own, with the feed's price.
    let f = published(&server, &store, &id, &["e1", "e2"]).await;
    assert_eq!(items(&f)[..2], [("e1".into(), "published".into()), ("e2".into(), "published".into())]);
    let e1_title = f["items"][0]["title"].as_str().unwrap().to_owned();
    let e2_title = f["items"][1]["title"].as_str().unwrap().to_owned();
    let title = ok_json(server.get(&format!("/v1/titles/{e1_title}"), Some(&store.key)).await, StatusCode::OK).await;
    assert_eq!(
        (title["title"].as_str(), title["price"].as_str(), title["currency"].as_str()),
        (Some("Episode e1"), Some("4.99"), Some("EUR"))
    );
    let manifest = server.manifest(&e1_title).await;
    assert_eq!(manifest["readingOrder"].as_array().unwrap().len(), 1);
    let published_events = events_of(&server, &store, "feed_item.published").await;
    assert_eq!(published_events.len(), 2, "{published_events:?}");
    let feed_events = events_of(&server, &store, "feed").await.len();

    // Unchanged: one conditional request answered 304, and nothing of the feed written.
    let requests = served.lock().unwrap().requests.len();
    sync_now(&server, &store, &id).await;
    eventually("the conditional request", Duration::from_secs(20), || async {
        (served.lock().unwrap().requests.len() > requests).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let s = served.lock().unwrap();
        assert_eq!(s.requests.len(), requests + 1, "one request");
        assert!(s.requests[requests].1.is_some(), "sent with If-None-Match");
    }
    let again = feed(&server, &store, &id).await;
    assert_eq!(again["updated_at"], f["updated_at"], "no write to the feed");
    assert_eq!(events_of(&server, &store, "feed").await.len(), feed_events, "no event");
    // A customer holds e2's title before it leaves the feed.
    server.grant(&store, "listener", &e2_title, json!({})).await;

    // Added, changed and removed items.
    served.lock().unwrap().feed = rss(
        &[
            ("e4", &audio("4"), "audio/mpeg"),
            ("e1", &audio("1-remastered"), "audio/mpeg"),
            ("e3", &format!("{base}/3.pdf"), "application/pdf"),
        ],
        false,
    );
    let before = now();
    sync_now(&server, &store, &id).await;
    let f = eventually("the second import", Duration::from_secs(20), || async {
        let f = feed(&server, &store, &id).await;
        (f["items"].as_array().unwrap().len() == 4).then_some(f)
    })
    .await;
    assert!(f["last_sync_at"].as_i64().unwrap() >= before);
    // The new and the changed items are published; the changed one keeps its title, with the
    // new enclosure as its one track.
    let f = published(&server, &store, &id, &["e4", "e1"]).await;
    assert_eq!(
        items(&f),
        vec![
            ("e4".into(), "published".into()),
            ("e1".into(), "published".into()),
            ("e3".into(), "failed".into()),
            ("e2".into(), "removed".into()),
        ]
    );
    assert_eq!(f["items"][1]["title"], e1_title.as_str());
    let synced = events_of(&server, &store, "feed.synced").await;
    assert_eq!(synced.len(), 2);
    assert_eq!(events_of(&server, &store, "feed_item.failed").await.len(), 1, "e3's failure is not reported again");
    let last = &synced[1]["data"];
    assert_eq!(
        (last["added"].as_u64(), last["changed"].as_u64(), last["removed"].as_u64(), last["failed"].as_u64()),
        (Some(1), Some(1), Some(1), Some(1))
    );

    let manifest = server.manifest(&e1_title).await;
    let order = manifest["readingOrder"].as_array().unwrap();
    assert_eq!(order.len(), 1, "{manifest}");
    // The removed item's title is no longer sold; the license its customer holds still works.
    let withdrawn =
        ok_json(server.get(&format!("/v1/titles/{e2_title}"), Some(&store.key)).await, StatusCode::OK).await;
    assert!(withdrawn["withdrawn_at"].is_i64(), "{withdrawn}");
    let resp = server
        .post(
            "/v1/entitlements",
            Some(&store.key),
            json!({"customer": "newcomer", "title": e2_title, "kind": "purchase"}),
        )
        .await;
    problem(resp, StatusCode::CONFLICT, "title-withdrawn").await;
    let token = server.token(&store, "listener").await;
    let device = new_device();
    assert_eq!(server.register(&token, &device).await.status(), StatusCode::CREATED);
    assert_eq!(
        server.acquire(&token, &e2_title, &device).await.status(),
        StatusCode::CREATED,
        "the license of a withdrawn title"
    );

    // A feed its owner locked: refused, said so, nothing lost.
    served.lock().unwrap().feed = rss(&[("e4", &audio("4"), "audio/mpeg")], true);
    sync_now(&server, &store, &id).await;
    let f = eventually("the locked feed refused", Duration::from_secs(20), || async {
        let f = feed(&server, &store, &id).await;
        (f["last_result"] == "failed").then_some(f)
    })
    .await;
    assert!(f["last_error"].as_str().unwrap().contains("forbids importing"), "{}", f["last_error"]);
    assert_eq!(f["failures"], 1);
    assert_eq!(items(&f).len(), 4, "items kept");
    let failed = events_of(&server, &store, "feed.failed").await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["data"]["feed"]["id"], id.as_str());
}

mod sync {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        syncs(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        syncs(Backend::Postgres).await;
    }
}

crate::on_both_databases! {
    async fn feeds_are_managed_through_the_store_api(server: TestServer) {
        let store = server.store(5).await;
        let other = server.store(5).await;
        // This server keeps to public addresses: a loopback feed is refused.
        problem(server.post("/v1/feeds", Some(&store.key), json!({"url": "http://127.0.0.1/feed.xml"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.post("/v1/feeds", Some(&store.key), json!({"url": "ftp://feeds.example/feed.xml"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.post("/v1/feeds", Some(&store.key), json!({"url": "https://feeds.example/f.xml", "interval": 5})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.post("/v1/feeds", Some(&store.key), json!({"url": "https://feeds.example/f.xml", "price": "3"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.post("/v1/feeds", Some(&store.key), json!({"url": "https://feeds.example/f.xml", "mode": "radio"})).await, StatusCode::UNPROCESSABLE_ENTITY, "invalid-body").await;

        let created = ok_json(
            server.post("/v1/feeds", Some(&store.key), json!({"url": "https://feeds.example/f.xml", "mode": "serial", "interval": 900})).await,
            StatusCode::CREATED,
        )
        .await;
        let id = created["id"].as_str().unwrap().to_owned();
        assert_eq!((created["mode"].as_str(), created["status"].as_str(), created["interval"].as_i64()), (Some("serial"), Some("active"), Some(900)));
        let listed = ok_json(server.get("/v1/feeds", Some(&store.key)).await, StatusCode::OK).await;
        assert_eq!(listed["items"].as_array().unwrap().len(), 1);

        // Another store sees none of it.
        assert!(ok_json(server.get("/v1/feeds", Some(&other.key)).await, StatusCode::OK).await["items"].as_array().unwrap().is_empty());
        for (method, path) in [("GET", format!("/v1/feeds/{id}")), ("DELETE", format!("/v1/feeds/{id}")), ("POST", format!("/v1/feeds/{id}/sync"))] {
            let body = (method == "POST").then(|| json!({}));
            let resp = server.send(method.parse().unwrap(), &path, Some(&other.key), body).await;
            problem(resp, StatusCode::NOT_FOUND, "not-found").await;
        }

        let paused = ok_json(server.send(reqwest::Method::PATCH, &format!("/v1/feeds/{id}"), Some(&store.key), Some(json!({"status": "paused"}))).await, StatusCode::OK).await;
        assert_eq!(paused["status"], "paused");
        problem(server.post(&format!("/v1/feeds/{id}/sync"), Some(&store.key), json!({})).await, StatusCode::CONFLICT, "feed-paused").await;
        problem(server.send(reqwest::Method::PATCH, &format!("/v1/feeds/{id}"), Some(&store.key), Some(json!({"status": "gone"}))).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        let resumed = ok_json(server.send(reqwest::Method::PATCH, &format!("/v1/feeds/{id}"), Some(&store.key), Some(json!({"status": "active"}))).await, StatusCode::OK).await;
        assert_eq!(resumed["status"], "active");
        let job = ok_json(server.post(&format!("/v1/feeds/{id}/sync"), Some(&store.key), json!({})).await, StatusCode::ACCEPTED).await;
        assert_eq!(job["kind"], "feed.sync");

        let resp = server.send(reqwest::Method::DELETE, &format!("/v1/feeds/{id}"), Some(&store.key), None).await;
        assert_eq!(resp.status(), StatusCode::NO_CONTENT);
        problem(server.get(&format!("/v1/feeds/{id}"), Some(&store.key)).await, StatusCode::NOT_FOUND, "not-found").await;
    }
}
