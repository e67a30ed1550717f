//! A burst backs the queue up instead of flooding the server: after 10,000 grants, whose
//! events become 10,000 webhook deliveries, the API answers as fast while the workers drain
//! the queue (p99 within 1.5x of its unloaded value) as it did before.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

/// The times of `n` grants made one after another.
async fn grants(server: &TestServer, store: &TestStore, title: &str, tag: &str, n: usize) -> Vec<Duration> {
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({"customer": format!("{tag}-{i}"), "title": title, "kind": "purchase"});
        let started = Instant::now();
        let resp = server.post("/v1/entitlements", Some(&store.key), body).await;
        times.push(started.elapsed());
        assert_eq!(resp.status(), StatusCode::CREATED);
    }
    times
}

fn p99(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() * 99 / 100]
}

/// Blocks of grants measured, of each kind. Many short blocks rather than a few long ones: a
/// spell of the shared machine running slow (a neighbour's burst, a checkpoint) then falls on
/// both kinds alike instead of on a whole block of one of them, where it once set the p99 of
/// the draining side alone (4.2 ms against 2.3 ms, on PostgreSQL, in one run of many).
const BLOCKS: usize = 40;
/// Grants in a block.
const BLOCK: usize = 100;
/// The first grants of a block, not counted: after the client's own pause between blocks,
/// they are slower whether the workers run or not (the first of a block was the slowest of
/// its block in most blocks of both kinds), and 2% of the samples would otherwise set the p99.
const WARM: usize = 2;

/// Rounds of measurement at most. A round that fails is measured again: on a shared machine
/// a spell of CPU starvation can fall mostly on the draining blocks of one round (a CI run
/// once had a p99 of 21 ms paused, four times this machine's usual, and 36 ms draining), while
/// workers that really slowed the API would fail every round. Each round is printed.
const ROUNDS: usize = 3;

/// After the burst, while the queue drains, the API is measured in blocks, alternately with
/// the workers draining and with them paused (the unloaded value): alternating, rather than
/// measuring before and after, keeps the machine's own drift (a shared VM) out of the ratio.
async fn burst(backend: Backend) {
    let server = Arc::new(TestServer::start_with(backend, |s| s.webhooks.allow_private_urls = true).await);
    let store = server.store(5).await;
    let (url, delivered) = counting_receiver().await;
    ok_json(
        server.post("/v1/webhooks", Some(&store.key), json!({"url": url, "types": ["entitlement.granted"]})).await,
        StatusCode::CREATED,
    )
    .await;
    let title =
        ok_json(server.post("/v1/titles", Some(&store.key), json!({"title": "T"})).await, StatusCode::CREATED).await;
    let title = title["id"].as_str().unwrap().to_owned();
    grants(&server, &store, &title, "warm", 200).await;
    eventually("the warm-up delivered", Duration::from_secs(60), || async {
        (delivered.load(Ordering::Relaxed) >= 200).then_some(())
    })
    .await;

    // The burst: 10,000 grants from 16 clients at once.
    let before = delivered.load(Ordering::Relaxed);
    let tasks: Vec<_> = (0..16)
        .map(|t| {
            let (server, store, title) = (server.clone(), store.clone(), title.clone());
            tokio::spawn(async move { grants(&server, &store, &title, &format!("burst-{t}"), 625).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let pause = server.pause.clone().expect("the server runs workers");
    let (mut rounds, mut passed) = (Vec::new(), false);
    for round in 1..=ROUNDS {
        let at_start = delivered.load(Ordering::Relaxed) - before;
        let (mut quiet, mut draining) = (Vec::new(), Vec::new());
        for block in 0..BLOCKS {
            pause.pause();
            // Jobs already claimed finish (a delivery to this receiver takes about a millisecond).
            tokio::time::sleep(Duration::from_millis(100)).await;
            let tag = format!("quiet-{round}-{block}");
            quiet.extend(grants(&server, &store, &title, &tag, BLOCK).await.split_off(WARM));
            pause.resume();
            tokio::time::sleep(Duration::from_millis(30)).await;
            let tag = format!("draining-{round}-{block}");
            draining.extend(grants(&server, &store, &title, &tag, BLOCK).await.split_off(WARM));
        }
        let at_end = delivered.load(Ordering::Relaxed) - before;
        let (unloaded, loaded) = (p99(quiet), p99(draining));
        eprintln!(
            "{backend:?}, round {round}: p99 of grants with the workers paused {unloaded:?}, while they drain \
             {loaded:?}; deliveries of the burst done when measuring began {at_start}, ended {at_end}"
        );
        assert!(
            at_end < 10_000,
            "the queue was still draining while the API was measured ({at_end} of 10,000 delivered)"
        );
        assert!(at_end > at_start, "the workers were draining meanwhile");
        rounds.push(format!("{loaded:?} while draining against {unloaded:?} unloaded"));
        if loaded.as_secs_f64() <= 1.5 * unloaded.as_secs_f64() {
            passed = true;
            break;
        }
    }
    assert!(passed, "p99 over 1.5x of its unloaded value in all {ROUNDS} rounds: {}", rounds.join("; "));
    eventually("the burst delivered", Duration::from_secs(300), || async {
        (delivered.load(Ordering::Relaxed) - before >= 12_000).then_some(())
    })
    .await;
}
/// One test, the databases one after the other: the measurement has the machine to itself
/// (see `tests/load.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_grants_backs_the_queue_up_not_the_api() {
    burst(Backend::Sqlite).await;
    burst(Backend::Postgres).await;
}
