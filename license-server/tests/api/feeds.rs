//! Feeds: the store API, and syncs against a real feed server on loopback whose feed changes
//! between syncs (a first import, the 304 path, added, changed and removed items, a locked
//! feed), on both databases.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::support::*;

/// The feed the server serves now, its other files, every request it got (its path and
/// `If-None-Match`), and paths that misbehave: redirected, or stalling after their headers.
#[derive(Default)]
struct Served {
    feed: String,
    files: std::collections::HashMap<String, Vec<u8>>,
    redirects: std::collections::HashMap<String, String>,
    stalls: std::collections::HashSet<String>,
    requests: Vec<(String, Option<String>)>,
}

/// The media type the test server gives a path, by its extension.
fn media_type_of(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, e)| e) {
        Some("mp3") => "audio/mpeg",
        Some("json") => "application/json",
        Some("vtt") => "text/vtt",
        Some("html") => "text/html",
        _ => "application/rss+xml",
    }
}

/// A feed server on loopback: `/feed.xml` answers the current feed with an `ETag` of its
/// content, and `304` to a request that sends that tag back; a redirected path answers 302;
/// a stalling one sends its headers and then nothing; other paths answer their file, or 404.
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
                let (status, extra, body, stall) = {
                    let mut s = state.lock().unwrap();
                    s.requests.push((path.clone(), inm.clone()));
                    let etag = format!("\"{:x}\"", fxhash(s.feed.as_bytes()));
                    if let Some(to) = s.redirects.get(&path) {
                        ("302 Found", format!("location: {to}\r\n"), Vec::new(), false)
                    } else if s.stalls.contains(&path) {
                        ("200 OK", "content-length: 1000000\r\n".into(), b"ID3".to_vec(), true)
                    } else if path != "/feed.xml" {
                        match s.files.get(&path) {
                            Some(bytes) => ("200 OK", String::new(), bytes.clone(), false),
                            None => ("404 Not Found", String::new(), Vec::new(), false),
                        }
                    } else if inm.as_deref() == Some(etag.as_str()) {
                        ("304 Not Modified", format!("etag: {etag}\r\n"), Vec::new(), false)
                    } else {
                        ("200 OK", format!("etag: {etag}\r\n"), s.feed.clone().into_bytes(), false)
                    }
                };
                let length = if stall { String::new() } else { format!("content-length: {}\r\n", body.len()) };
                let head = format!(
                    "HTTP/1.1 {status}\r\n{extra}{length}content-type: {}\r\nconnection: close\r\n\r\n",
                    media_type_of(&path)
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                if stall {
                    // Holds the connection open, sending nothing more.
                    tokio::time::sleep(Duration::from_secs(120)).await;
                }
            });
        }
    });
    (base, served)
}

/// A small stable hash for the test server's `ETag`.
fn fxhash(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// An item of a feed, with `extra` elements of its own.
fn item_xml(guid: &str, url: &str, kind: &str, extra: &str) -> String {
    format!(
        "<item><title>Episode {guid}</title><guid isPermaLink=\"false\">{guid}</guid>\
         <enclosure url=\"{url}\" length=\"1000\" type=\"{kind}\"/>{extra}</item>"
    )
}

/// An RSS feed of `items` with `channel` elements of its own; `locked` sets
/// `podcast:locked`.
fn rss_with(channel: &str, items: &[String], locked: bool) -> String {
    let locked = if locked { "<podcast:locked owner=\"owner@example.com\">yes</podcast:locked>" } else { "" };
    format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\" xmlns:podcast=\"https://podcastindex.org/namespace/1.0\" \
         xmlns:itunes=\"http://www.itunes.com/dtds/podcast-1.0.dtd\" xmlns:atom=\"http://www.w3.org/2005/Atom\">\
         <channel><title>Loopback Radio</title><description>d</description>{channel}{locked}{}</channel></rss>",
        items.concat()
    )
}

/// An RSS feed of `items` (`(guid, enclosure URL, media type)`); `locked` sets
/// `podcast:locked`.
fn rss(items: &[(&str, &str, &str)], locked: bool) -> String {
    let items: Vec<String> = items.iter().map(|(guid, url, kind)| item_xml(guid, url, kind, "")).collect();
    rss_with("", &items, locked)
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
    server.settle_events().await;
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
    // The channel and e1 say more of themselves: a language, an author and an image; e1 a
    // description, its own image, JSON chapters and a transcript.
    const VTT: &str = "WEBVTT\n\n00:00:00.000 --> 00:00:02.000\nWelcome to Loopback Radio.\n";
    {
        let mut s = served.lock().unwrap();
        s.files.insert(
            "/e1-chapters.json".into(),
            br#"{"version": "1.2.0", "chapters": [{"startTime": 0, "title": "Cold open"}, {"startTime": 10.5, "title": "Interview"}, {"startTime": 20, "title": "Ad", "toc": false}]}"#.to_vec(),
        );
        s.files.insert("/e1.vtt".into(), VTT.as_bytes().to_vec());
    }
    let channel = "<language>en-GB</language><itunes:author>Loopback Studio</itunes:author>\
                   <itunes:image href=\"https://img.example/show.jpg\"/>";
    let e1_extra = format!(
        "<description>First &amp; best</description><itunes:image href=\"https://img.example/e1.png\"/>\
         <podcast:chapters url=\"{base}/e1-chapters.json\" type=\"application/json+chapters\"/>\
         <podcast:transcript url=\"{base}/e1.vtt\" type=\"text/vtt\" language=\"en\"/>"
    );
    served.lock().unwrap().feed = rss_with(
        channel,
        &[
            item_xml("e1", &audio("1"), "audio/mpeg", &e1_extra),
            item_xml("e2", &audio("2"), "audio/mpeg", ""),
            item_xml("e3", &format!("{base}/3.pdf"), "application/pdf", ""),
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
    // What the feed said of e1 made its title, the channel filling in what e1 did not say.
    assert_eq!(
        (
            title["description"].as_str(),
            title["author"].as_str(),
            title["language"].as_str(),
            title["cover_url"].as_str()
        ),
        (Some("First & best"), Some("Loopback Studio"), Some("en-GB"), Some("https://img.example/e1.png"))
    );
    let e2 = ok_json(server.get(&format!("/v1/titles/{e2_title}"), Some(&store.key)).await, StatusCode::OK).await;
    assert_eq!((e2["description"].as_str(), e2["cover_url"].as_str()), (None, Some("https://img.example/show.jpg")));
    let manifest = server.manifest(&e1_title).await;
    assert_eq!(manifest["readingOrder"].as_array().unwrap().len(), 1);
    assert_eq!(manifest["metadata"]["description"], "First & best");
    // Chapters from the JSON file (the one not meant for a table of contents left out) ...
    let toc: Vec<&str> = manifest["toc"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(toc, ["Cold open", "Interview"], "{manifest}");
    assert!(manifest["toc"][1]["href"].as_str().unwrap().ends_with("#t=10.5"), "{manifest}");
    // ... else from the file itself.
    let e2_manifest = server.manifest(&e2_title).await;
    let toc: Vec<&str> = e2_manifest["toc"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap()).collect();
    assert_eq!(toc, ["The Spring", "The Keeper", "The Library"], "{e2_manifest}");
    // The transcript is kept, linked from the manifest as an alternate of its track.
    let alternate = &manifest["readingOrder"][0]["alternate"][0];
    assert_eq!(
        (alternate["type"].as_str(), alternate["language"].as_str()),
        (Some("text/vtt"), Some("en")),
        "{manifest}"
    );
    let href = alternate["href"].as_str().unwrap();
    assert!(href.starts_with("transcripts/"), "{href}");
    let resp = server.http.get(server.url(&format!("/pub/{e1_title}/{href}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["content-type"], "text/vtt; charset=utf-8");
    assert_eq!(resp.text().await.unwrap(), VTT);
    served.lock().unwrap().files.remove("/e1.vtt");
    let resp = server.http.get(server.url(&format!("/pub/{e1_title}/{href}"))).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK, "kept by Fount: served when the feed's copy is gone");
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
    // The view reads the feed, then its items: one read can fall between the import's commit
    // and its own second query, showing the new items beside the feed as it was.
    eventually("the second import, recorded", Duration::from_secs(20), || async {
        let f = feed(&server, &store, &id).await;
        (f["items"].as_array().unwrap().len() == 4 && f["last_sync_at"].as_i64().unwrap() >= before).then_some(())
    })
    .await;
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

/// A WebSub hub on loopback: it accepts every subscription request (202) and keeps its form.
async fn hub_server() -> (String, Arc<Mutex<Vec<std::collections::HashMap<String, String>>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hub", listener.local_addr().expect("addr"));
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let parsed = loop {
                    if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + length {
                            break url::form_urlencoded::parse(&buf[end + 4..end + 4 + length])
                                .into_owned()
                                .collect::<std::collections::HashMap<String, String>>();
                        }
                    }
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                };
                log.lock().unwrap().push(parsed);
                let _ =
                    socket.write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").await;
            });
        }
    });
    (url, asked)
}

/// The names of a title's tracks, in reading order.
async fn track_names(server: &TestServer, store: &TestStore, title: &str) -> Vec<String> {
    let t = ok_json(server.get(&format!("/v1/titles/{title}"), Some(&store.key)).await, StatusCode::OK).await;
    t["tracks"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

/// A serialised book: the feed is one title whose tracks are its items, oldest first; its hub
/// is subscribed to, verifies the subscription, and a signed publish brings a new item in
/// seconds (a forged one nothing); then a listener plays every track through the SDK, each
/// byte-identical to its enclosure.
async fn serial_feed_with_a_hub(backend: Backend) {
    use fount_sdk::{ClockGuard, DeviceKey as _, Publication, VerifiedLicense, sealed};

    let server = TestServer::start_with(backend, |s| s.webhooks.allow_private_urls = true).await;
    let store = server.store(5).await;
    let (base, served) = feed_server().await;
    let (hub_url, hub) = hub_server().await;
    // Each part's enclosure its own bytes, so that byte-identical means the right part.
    let part = |n: u8| {
        let mut audio = sample_mp3();
        audio.extend(std::iter::repeat_n(n, 100 + usize::from(n)));
        audio
    };
    {
        let mut s = served.lock().unwrap();
        for n in 0..3u8 {
            s.files.insert(format!("/s{n}.mp3"), part(n));
        }
    }
    let self_url = format!("{base}/feed.xml");
    let channel = format!("<atom:link rel=\"hub\" href=\"{hub_url}\"/><atom:link rel=\"self\" href=\"{self_url}\"/>");
    let dated = |guid: &str, date: &str| {
        item_xml(guid, &format!("{base}/{guid}.mp3"), "audio/mpeg", &format!("<pubDate>{date}</pubDate>"))
    };
    // Newest first, as feeds list them.
    let (s0, s1, s2) = (
        dated("s0", "Sun, 31 Dec 2023 10:00:00 GMT"),
        dated("s1", "Mon, 01 Jan 2024 10:00:00 GMT"),
        dated("s2", "Tue, 02 Jan 2024 10:00:00 GMT"),
    );
    served.lock().unwrap().feed = rss_with(&channel, &[s2.clone(), s1.clone()], false);
    let created = ok_json(
        server.post("/v1/feeds", Some(&store.key), json!({"url": self_url, "mode": "serial", "interval": 3600})).await,
        StatusCode::CREATED,
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let f = published(&server, &store, &id, &["s1", "s2"]).await;
    let title = f["title"].as_str().expect("the serial feed's title").to_owned();
    assert_eq!(f["items"][0]["title"], title.as_str());
    assert_eq!(f["items"][1]["title"], title.as_str());
    assert_eq!(track_names(&server, &store, &title).await, ["Episode s1", "Episode s2"], "oldest first");
    let book = ok_json(server.get(&format!("/v1/titles/{title}"), Some(&store.key)).await, StatusCode::OK).await;
    assert_eq!(book["title"], "Loopback Radio");
    assert_eq!(book["description"], "d");

    // The subscription: asked of the hub for the feed's own URL, with a callback on this
    // server and a secret.
    let asked =
        eventually("the hub asked", Duration::from_secs(20), || async { hub.lock().unwrap().first().cloned() }).await;
    assert_eq!(asked.get("hub.mode").map(String::as_str), Some("subscribe"));
    assert_eq!(asked.get("hub.topic"), Some(&self_url));
    let callback = asked["hub.callback"].clone();
    assert!(callback.starts_with(&server.url("/websub/")), "{callback}");
    let secret = asked["hub.secret"].clone();
    assert_eq!(secret.len(), 64);
    assert_eq!(feed(&server, &store, &id).await["subscription"]["state"], "pending");

    // Verification of intent: another topic is not Fount's subscription; the right one is,
    // and its challenge is echoed.
    let verify = |topic: &str, challenge: &str| {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("hub.mode", "subscribe")
            .append_pair("hub.topic", topic)
            .append_pair("hub.challenge", challenge)
            .append_pair("hub.lease_seconds", "3600")
            .finish();
        server.http.get(format!("{callback}?{query}")).send()
    };
    problem(verify("https://elsewhere.example/feed.xml", "x").await.unwrap(), StatusCode::NOT_FOUND, "not-found").await;
    let resp = verify(&self_url, "challenge-7f3a").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.unwrap(), "challenge-7f3a");
    let sub = feed(&server, &store, &id).await["subscription"].clone();
    assert_eq!(sub["state"], "active");
    let until = sub["lease_until"].as_i64().unwrap();
    assert!((until - now() - 3600).abs() < 60, "{sub}");

    // A publish: s0, older than both, joins the feed. A forged push reads nothing ...
    served.lock().unwrap().feed = rss_with(&channel, &[s2, s1, s0], false);
    let body = served.lock().unwrap().feed.clone();
    let feed_reads = || served.lock().unwrap().requests.iter().filter(|(p, _)| p == "/feed.xml").count();
    let reads = feed_reads();
    let push =
        |signature: String| server.http.post(&callback).header("x-hub-signature", signature).body(body.clone()).send();
    let forged = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"not the secret"), body.as_bytes());
    problem(
        push(format!("sha256={}", hex::encode(forged))).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid-signature",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(feed_reads(), reads, "a forged push reads nothing");
    // ... a signed one reads the feed at once, an hour before its next poll.
    let signed = ring::hmac::sign(&ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes()), body.as_bytes());
    let resp = push(format!("sha256={}", hex::encode(signed))).await.unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    eventually("the pushed feed read", Duration::from_secs(10), || async { (feed_reads() > reads).then_some(()) })
        .await;
    published(&server, &store, &id, &["s0", "s1", "s2"]).await;
    assert_eq!(track_names(&server, &store, &title).await, ["Episode s0", "Episode s1", "Episode s2"]);
    // A callback that is no subscription of Fount's tells the hub to stop.
    let gone = server
        .http
        .post(server.url("/websub/0123456789abcdef"))
        .header("x-hub-signature", "sha256=00")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::GONE);

    // A listener buys the book and plays every part through the SDK.
    server.grant(&store, "reader", &title, json!({})).await;
    let token = server.token(&store, "reader").await;
    let device = new_device();
    ok_json(server.register(&token, &device).await, StatusCode::CREATED).await;
    let issued = ok_json(server.acquire(&token, &title, &device).await, StatusCode::CREATED).await;
    let license = VerifiedLicense::verify(issued["license"].as_str().unwrap(), &server.jwks().await).expect("verifies");
    let playable = license.authorize(&device.device_id(), &mut ClockGuard::new(0), now()).expect("playable");
    let manifest_url = server.url(&format!("/pub/{title}/manifest.json"));
    let bytes = server.http.get(&manifest_url).send().await.unwrap().bytes().await.unwrap();
    let publication = Publication::from_json(&bytes).expect("manifest parses");
    assert_eq!(publication.tracks().len(), 3);
    for (n, track) in publication.tracks().iter().enumerate() {
        let info = track.sealed.expect("sealed");
        let key = playable.content_key(&info.key_id, &device).expect("content key");
        let url = format!("{}/{}", manifest_url.rsplit_once('/').unwrap().0, track.href);
        let sealed_bytes = server.http.get(&url).send().await.unwrap().bytes().await.unwrap();
        let plain = sealed::open(&key, &sealed_bytes).expect("decrypts");
        assert!(plain == part(u8::try_from(n).unwrap()), "part {n} is byte-identical to its enclosure");
    }
}

/// Broken and hostile enclosures each end as a clear status on their item while the rest of
/// the feed is published; a feed too large or not RSS ends as the feed's status; and a feed
/// that breaks after an import loses nothing already published.
async fn hostile(backend: Backend) {
    let server = TestServer::start_with(backend, |s| {
        s.webhooks.allow_private_urls = true;
        s.limits.upload_bytes = 1024 * 1024;
        s.feeds.download_stall = Duration::from_secs(2);
    })
    .await;
    let store = server.store(5).await;
    let (base, served) = feed_server().await;
    {
        let mut s = served.lock().unwrap();
        s.files.insert("/ok.mp3".into(), sample_mp3());
        s.files.insert("/page.mp3".into(), b"<!doctype html><title>Not audio</title>".to_vec());
        s.files.insert("/big.mp3".into(), vec![0xff; 1024 * 1024 + 1]);
        s.redirects.insert("/loop.mp3".into(), format!("{base}/loop-back.mp3"));
        s.redirects.insert("/loop-back.mp3".into(), format!("{base}/loop.mp3"));
        s.stalls.insert("/stall.mp3".into());
        s.files.insert("/big.xml".into(), vec![b' '; 17 * 1024 * 1024]);
        s.files.insert("/broken.xml".into(), b"<rss version=\"2.0\"><channel><title>Half a feed".to_vec());
    }
    // The feed's items, with their enclosures on this server.
    let feed_xml = {
        let items: Vec<String> = ["ok", "missing", "page", "big", "loop", "stall"]
            .iter()
            .map(|n| item_xml(n, &format!("{base}/{n}.mp3"), "audio/mpeg", ""))
            .collect();
        rss_with("", &items, false)
    };
    served.lock().unwrap().feed = feed_xml;
    let (server_ref, store_ref) = (&server, &store);
    let create = |path: &str| {
        let url = format!("{base}{path}");
        async move {
            let resp = server_ref.post("/v1/feeds", Some(&store_ref.key), json!({"url": url})).await;
            ok_json(resp, StatusCode::CREATED).await["id"].as_str().unwrap().to_owned()
        }
    };
    let id = create("/feed.xml").await;
    let f = published(&server, &store, &id, &["ok"]).await;
    let ok_title = f["items"][0]["title"].as_str().unwrap().to_owned();
    let f = eventually("each broken enclosure's status", Duration::from_secs(60), || async {
        let f = feed(&server, &store, &id).await;
        let settled = f["items"].as_array().unwrap().iter().all(|i| {
            i["status"] == "published" || i["status"] == "failed" || (i["guid"] == "stall" && i["error"].is_string())
        });
        settled.then_some(f)
    })
    .await;
    let error_of = |guid: &str| {
        let item = f["items"].as_array().unwrap().iter().find(|i| i["guid"] == guid).unwrap().clone();
        (item["status"].as_str().unwrap().to_owned(), item["error"].as_str().unwrap_or_default().to_owned())
    };
    for (guid, status, says) in [
        ("missing", "failed", "the server answered 404"),
        ("page", "failed", "not usable audio"),
        ("big", "failed", "larger than the limit of 1048576 bytes"),
        ("loop", "failed", "too many redirects (or a redirect loop)"),
        // A stall may pass: it is tried again, and the item says so meanwhile.
        ("stall", "queued", "timed out"),
    ] {
        let (got, error) = error_of(guid);
        assert_eq!(got, status, "{guid}: {error}");
        assert!(error.contains(says), "{guid}: {error}");
    }
    assert!(error_of("stall").1.contains("attempt 1 of 5, it will be tried again"), "{}", error_of("stall").1);

    // Feeds broken as a whole: each says why, as the feed's status and an event.
    for (path, says) in [("/big.xml", "larger than the limit of 16777216 bytes"), ("/broken.xml", "not RSS 2.0")] {
        let other = create(path).await;
        let f = synced_after(&server, &store, &other, 0).await;
        assert_eq!(f["last_result"], "failed", "{path}");
        assert!(f["last_error"].as_str().unwrap().contains(says), "{path}: {}", f["last_error"]);
    }
    assert_eq!(events_of(&server, &store, "feed.failed").await.len(), 2);

    // The first feed breaks: its sync fails, and what it published stays on sale.
    served.lock().unwrap().feed = "<rss version=\"2.0\"><channel><title>oops".into();
    sync_now(&server, &store, &id).await;
    let f = eventually("the broken feed's failure", Duration::from_secs(20), || async {
        let f = feed(&server, &store, &id).await;
        (f["last_result"] == "failed").then_some(f)
    })
    .await;
    assert!(f["last_error"].as_str().unwrap().contains("not RSS 2.0"), "{}", f["last_error"]);
    assert_eq!(items(&f)[0], ("ok".into(), "published".into()));
    server.grant(&store, "late-buyer", &ok_title, json!({})).await;
    assert_eq!(server.manifest(&ok_title).await["readingOrder"].as_array().unwrap().len(), 1);
}

mod serial {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        serial_feed_with_a_hub(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        serial_feed_with_a_hub(Backend::Postgres).await;
    }
}

mod hostile {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        hostile(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        hostile(Backend::Postgres).await;
    }
}

crate::on_both_databases! {
    async fn feeds_are_managed_through_the_store_api(server: TestServer) {
        let store = server.store(5).await;
        let other = server.store(5).await;
        // This server keeps to public addresses: a loopback feed is refused.
        problem(server.post("/v1/feeds", Some(&store.key), json!({"url": "http://127.0.0.1/feed.xml"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.post("/v1/feeds", Some(&store.key), json!({"url": "http://localhost:9/feed.xml"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
        problem(server.post("/v1/feeds", Some(&store.key), json!({"url": "http://[::ffff:169.254.169.254]/latest/meta-data"})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
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
