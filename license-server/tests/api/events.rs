//! The event log, polled: every change is an event, in order; a cursor resumes exactly where
//! it left off; a store sees only its own events and cursors. On PostgreSQL, writers
//! committing out of order never put an event behind a reader's cursor.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::*;

/// Every event of the store after `after`, page by page (`limit` each); and the last cursor.
async fn poll_all(server: &TestServer, store: &TestStore, after: Option<&str>, limit: u32) -> (Vec<Value>, String) {
    let mut events = Vec::new();
    let mut cursor = after.map(str::to_owned);
    loop {
        let mut path = format!("/v1/events?limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&after={c}"));
        }
        let page = ok_json(server.get(&path, Some(&store.key)).await, StatusCode::OK).await;
        let items = page["items"].as_array().expect("items").clone();
        assert!(items.len() <= limit as usize);
        assert_eq!(page["has_more"], items.len() == limit as usize, "{page}");
        let next = page["next"].as_str().expect("next is never null").to_owned();
        if items.is_empty() {
            if let Some(c) = &cursor {
                assert_eq!(&next, c, "an empty page gives back the cursor it was given");
            }
            return (events, next);
        }
        events.extend(items);
        cursor = Some(next);
    }
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().expect("type")).collect()
}

on_both_databases! {
    async fn a_re_issued_license_s_event_shows_it_as_the_api_does(server: TestServer) {
        // (On PostgreSQL the event is written in the license's own statement; see
        // `issue_license`.)
        let f = Fixture::new(&server).await;
        let first = f.licensed(&server).await;
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let again = server.acquire(&f.token, &f.title_id, &f.device).await;
        assert!(again.status().is_success(), "{}", again.status());
        let listed = ok_json(server.get("/v1/licenses", Some(&f.store.key)).await, StatusCode::OK).await;
        let view = &listed["items"][0];
        assert_eq!(listed["items"].as_array().unwrap().len(), 1, "a re-issue is the same license");
        assert_eq!(view["id"], first["id"]);
        // On PostgreSQL an event is listed once every transaction that began before it ended
        // (the ordering rule, docs/events.md): a worker's fan-out may still be open.
        let items = eventually("the re-issue's event listed", Duration::from_secs(10), || async {
            let events = ok_json(server.get("/v1/events?types=license.issued", Some(&f.store.key)).await, StatusCode::OK).await;
            let items = events["items"].as_array().unwrap().clone();
            (items.len() == 2).then_some(items)
        })
        .await;
        assert_eq!(&items[1]["data"]["license"], view, "the re-issue's event");
        assert_eq!(items[0]["data"]["license"]["id"], first["id"]);
        assert!(items[1]["data"]["license"]["issued_at"].as_i64() > items[0]["data"]["license"]["issued_at"].as_i64());
    }

    async fn every_change_is_an_event_and_a_cursor_resumes_exactly(server: TestServer) {
        let f = Fixture::new(&server).await;
        let issued = f.licensed(&server).await;
        let license = issued["id"].as_str().unwrap();
        ok_json(server.post(&format!("/v1/me/licenses/{license}/renew"), Some(&f.token), json!({})).await, StatusCode::OK).await;
        ok_json(server.post(&format!("/v1/me/licenses/{license}/return"), Some(&f.token), json!({})).await, StatusCode::OK).await;
        let ents = ok_json(server.get("/v1/entitlements", Some(&f.store.key)).await, StatusCode::OK).await;
        let entitlement = ents["items"][0]["id"].as_str().unwrap().to_owned();
        ok_json(server.post(&format!("/v1/entitlements/{entitlement}/revoke"), Some(&f.store.key), json!({})).await, StatusCode::OK).await;

        server.settle_events().await;
        let (all, end) = poll_all(&server, &f.store, None, 200).await;
        assert_eq!(
            types(&all),
            ["api_key.created", "title.created", "track.added", "track.published", "device.registered", "entitlement.granted",
             "license.issued", "license.renewed", "license.returned", "entitlement.revoked"],
        );
        // Each carries the resource as the API shows it, who did it, and when.
        let granted = &all[5];
        assert_eq!(granted["data"]["entitlement"]["id"], entitlement.as_str());
        assert_eq!(granted["data"]["entitlement"]["customer"], "alice");
        assert!(granted["actor"].as_str().unwrap().starts_with("api_key:"), "{granted}");
        assert_eq!(all[4]["actor"], "customer:alice");
        assert_eq!(all[3]["actor"], "system", "a worker published the track");
        assert_eq!(all[6]["data"]["license"]["id"], license);
        assert_eq!(all[8]["data"]["license"]["status"], "returned");
        assert_eq!(all[3]["data"]["track"]["status"], "published");
        // The store's key, made with the command line: named, never its secret.
        assert_eq!(all[0]["actor"], "cli");
        let key_id = f.store.key.split('_').nth(1).unwrap();
        assert_eq!(all[0]["data"]["api_key"]["id"], key_id);
        let secret = f.store.key.splitn(3, '_').nth(2).unwrap();
        assert!(!all[0].to_string().contains(secret), "{}", all[0]);
        for e in &all {
            assert!(e["id"].as_str().unwrap().starts_with("evt_"));
            assert!(e["timestamp"].as_str().unwrap().ends_with('Z'));
            assert!(e["created_at"].as_i64().unwrap() > 1_700_000_000);
        }
        let ids: HashSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), all.len());

        // Small pages give the same events in the same order.
        let (paged, paged_end) = poll_all(&server, &f.store, None, 2).await;
        assert_eq!(paged, all);
        assert_eq!(paged_end, end);
        // Resuming from the third event's cursor gives exactly what follows it.
        let third = ok_json(server.get("/v1/events?limit=3", Some(&f.store.key)).await, StatusCode::OK).await;
        let (rest, _) = poll_all(&server, &f.store, third["next"].as_str(), 50).await;
        assert_eq!(rest, all[3..]);
        // Later changes appear after the last cursor, and only they.
        // (On PostgreSQL, once the transactions begun before it ended: see above.)
        server.grant(&f.store, "bob", &f.title_id, json!({})).await;
        let new = eventually("the grant listed", Duration::from_secs(10), || async {
            let (new, _) = poll_all(&server, &f.store, Some(&end), 50).await;
            (!new.is_empty()).then_some(new)
        })
        .await;
        assert_eq!(types(&new), ["entitlement.granted"]);
        assert_eq!(new[0]["data"]["entitlement"]["customer"], "bob");

        // A filter by type, and one event by id.
        let licenses = ok_json(server.get("/v1/events?types=license.issued,license.returned", Some(&f.store.key)).await, StatusCode::OK).await;
        assert_eq!(types(licenses["items"].as_array().unwrap()), ["license.issued", "license.returned"]);
        let one = ok_json(server.get(&format!("/v1/events/{}", all[0]["id"].as_str().unwrap()), Some(&f.store.key)).await, StatusCode::OK).await;
        assert_eq!(one, all[0]);

        // Another store sees none of it, and may not use this store's cursors.
        let other = server.store(5).await;
        let theirs = eventually("the other store's key listed", Duration::from_secs(10), || async {
            let theirs = ok_json(server.get("/v1/events", Some(&other.key)).await, StatusCode::OK).await;
            let items = theirs["items"].as_array().unwrap().clone();
            (!items.is_empty()).then_some(items)
        })
        .await;
        assert_eq!(types(&theirs), ["api_key.created"], "their own key only");
        problem(server.get(&format!("/v1/events?after={end}"), Some(&other.key)).await, StatusCode::BAD_REQUEST, "invalid-parameter").await;
        problem(server.get(&format!("/v1/events/{}", all[0]["id"].as_str().unwrap()), Some(&other.key)).await, StatusCode::NOT_FOUND, "not-found").await;
        // Cursors of other lists, unknown types and bad limits are refused.
        for bad in ["/v1/events?after=bm9wZQ", "/v1/events?types=entitlement.granted,nope", "/v1/events?limit=0", "/v1/events?limit=201"] {
            problem(server.get(bad, Some(&f.store.key)).await, StatusCode::BAD_REQUEST, "invalid-parameter").await;
        }
        problem(server.get("/v1/events", None).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
    }

    async fn a_rental_reaching_its_end_is_an_event(server: TestServer) {
        let f = Fixture::new(&server).await;
        let ends = now() + 2;
        server.grant(&f.store, &f.customer, &f.title_id, json!({"kind": "rental", "ends_at": ends})).await;
        let issued = ok_json(server.acquire(&f.token, &f.title_id, &f.device).await, StatusCode::CREATED).await;
        let expired = eventually("license.expired", Duration::from_secs(30), || async {
            let page = ok_json(server.get("/v1/events?types=license.expired", Some(&f.store.key)).await, StatusCode::OK).await;
            page["items"].as_array().and_then(|i| i.first().cloned())
        })
        .await;
        assert_eq!(expired["data"]["license"]["id"], issued["id"]);
        assert_eq!(expired["data"]["license"]["status"], "expired");
        assert!(expired["created_at"].as_i64().unwrap() >= ends, "{expired}");
        // Once.
        tokio::time::sleep(Duration::from_secs(6)).await;
        let page = ok_json(server.get("/v1/events?types=license.expired", Some(&f.store.key)).await, StatusCode::OK).await;
        assert_eq!(page["items"].as_array().unwrap().len(), 1);
    }
}

/// Many writers commit in an order other than the one their events were numbered in; a reader
/// polling all along misses none and sees none twice, in the order a reader from scratch sees.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_never_put_an_event_behind_a_cursor() {
    let server = std::sync::Arc::new(TestServer::start(Backend::Postgres).await);
    let store = server.store(5).await;
    let title =
        ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "T"})).await, StatusCode::CREATED).await;
    let title = title["id"].as_str().unwrap().to_owned();
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let (server, store, title) = (server.clone(), store.clone(), title.clone());
            tokio::spawn(async move {
                for i in 0..40 {
                    server.grant(&store, &format!("c{w}-{i}"), &title, json!({})).await;
                }
            })
        })
        .collect();
    let mut seen: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let mut writing = true;
    while writing {
        writing = !writers.iter().all(tokio::task::JoinHandle::is_finished);
        let (got, next) = poll_all(&server, &store, cursor.as_deref(), 7).await;
        seen.extend(got);
        cursor = Some(next);
    }
    for w in writers {
        w.await.unwrap();
    }
    // Whatever committed last becomes visible once nothing older is running.
    server.settle_events().await;
    let (tail, _) = poll_all(&server, &store, cursor.as_deref(), 50).await;
    seen.extend(tail);
    let (all, _) = poll_all(&server, &store, None, 200).await;
    // The store's key, its title, then the writers'.
    assert_eq!(all.len(), 2 + 8 * 40);
    let ids = |v: &[Value]| v.iter().map(|e| e["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids(&seen), ids(&all), "the live reader saw the log in its order, each event once");
}

mod retention_deletes_the_oldest_events_in_batches_and_keeps_the_rest {
    use super::*;

    /// The server's own hourly retention keeps 100 years here, so that it cannot take the old
    /// events below before the test's own call does (it once did, on a slow machine).
    async fn server(backend: Backend) -> TestServer {
        TestServer::start_with(backend, |s| s.event_retention_days = 36_500).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run(server(Backend::Sqlite).await).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run(server(Backend::Postgres).await).await
    }

    async fn run(server: TestServer) {
        // The store first, its key (an event of today) after the old events below.
        let made: Value =
            serde_json::from_str(&server.cli(&["store", "create", "--name", "Old"]).await).expect("store");
        let store_id = made["id"].as_str().unwrap().to_owned();
        let url = server.database_url().map_or_else(
            || format!("sqlite://{}", server.data.join(fount_server::config::SQLITE_FILE).display()),
            str::to_owned,
        );
        let repo =
            fount_server::db::open(&url, Duration::from_secs(10), Default::default()).await.expect("the repository");
        // More than two batches of events from 100 days ago, at the log's oldest end, then
        // today's events.
        let old = now() - 100 * 86_400;
        let stale = fount_server::db::event_log::PURGE_BATCH * 2 + 123;
        {
            use sqlx::Connection as _;
            let insert = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) \
                          INSERT INTO events (id, store_id, type, data, actor, created_at) \
                          SELECT 'evt_old' || i, $2, 'title.created', '{}', 'test', $3 FROM n";
            let written = if server.database_url().is_some() {
                let mut db = sqlx::PgConnection::connect(&url).await.expect("connect");
                sqlx::query(insert)
                    .bind(stale)
                    .bind(&store_id)
                    .bind(old)
                    .execute(&mut db)
                    .await
                    .map(|r| r.rows_affected())
            } else {
                let mut db = sqlx::SqliteConnection::connect(&url).await.expect("connect");
                sqlx::query(insert)
                    .bind(stale)
                    .bind(&store_id)
                    .bind(old)
                    .execute(&mut db)
                    .await
                    .map(|r| r.rows_affected())
            };
            assert_eq!(written.expect("old events"), u64::try_from(stale).unwrap());
        }
        let key = server.cli(&["apikey", "create", "--store", &store_id]).await.trim().to_owned();
        let store = TestStore { id: store_id, key };
        let title =
            ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "Kept"})).await, StatusCode::CREATED)
                .await;
        let deleted = repo.purge_events(now() - 90 * 86_400).await.expect("retention");
        assert_eq!(deleted, u64::try_from(stale).unwrap());
        server.settle_events().await;
        let (events, _) = poll_all(&server, &store, None, 200).await;
        assert_eq!(types(&events), ["api_key.created", "title.created"], "today's events are kept");
        assert_eq!(events[1]["data"]["title"]["id"], title["id"]);
        // Nothing left to delete: one batch read, none deleted.
        assert_eq!(repo.purge_events(now() - 90 * 86_400).await.expect("retention"), 0);
    }
}
