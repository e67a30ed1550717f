//! The operator's command line: what it refuses, what it says, and the commands operators
//! reach for. The real binary, as an operator runs it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::on_both_databases;
use crate::support::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_refuse_a_folder_without_fount_data() {
    let cwd = tempfile::tempdir().unwrap();
    // No --data: the default folder does not exist, and is not made.
    let out = fount(cwd.path(), &["store", "create", "--name", "Shop"], &[]).await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("fount-data holds no Fount data"), "{}", stderr(&out));
    assert!(!cwd.path().join("fount-data").exists(), "a data folder was created");
    // A mistyped path: named, and not made either.
    let typo = cwd.path().join("fount-dta");
    let out = fount(cwd.path(), &["apikey", "list", "--store", "x", "--data", typo.to_str().unwrap()], &[]).await;
    assert!(stderr(&out).contains(&format!("{} holds no Fount data", typo.display())), "{}", stderr(&out));
    assert!(!typo.exists());
    // A folder that exists but holds no database.
    std::fs::create_dir(cwd.path().join("empty")).unwrap();
    let out = fount(cwd.path(), &["title", "list", "--store", "x", "--data", "empty"], &[]).await;
    assert!(stderr(&out).contains("no fount.db"), "{}", stderr(&out));
    assert!(!cwd.path().join("empty/master.key").exists());
    // `init` makes one, and then the commands work.
    let out = fount(cwd.path(), &["init", "--data", "shop"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = fount(cwd.path(), &["store", "create", "--name", "Shop", "--data", "shop"], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    // A database whose keys were sealed under a master key that is not here.
    std::fs::remove_file(cwd.path().join("shop/master.key")).unwrap();
    let out = fount(cwd.path(), &["serve", "--data", "shop", "--listen", "127.0.0.1:0"], &[]).await;
    assert!(stderr(&out).contains("already holds keys sealed under a master key"), "{}", stderr(&out));
    assert!(!cwd.path().join("shop/master.key").exists(), "a new master key was written over the old one's place");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_or_unreachable_database_is_named_and_leaves_no_key() {
    let cwd = tempfile::tempdir().unwrap();
    let out = fount(cwd.path(), &["serve", "--data", "d"], &[("FOUNT_DATABASE_URL", "mysql://db.example/fount")]).await;
    assert!(stderr(&out).contains("must start with postgres://"), "{}", stderr(&out));
    assert!(stderr(&out).contains("\"mysql\""), "{}", stderr(&out));
    assert!(!cwd.path().join("d").exists());
    // Nothing listens on port 1: the host, the port and the cause are named.
    let started = Instant::now();
    let out = fount(
        cwd.path(),
        &["serve", "--data", "d"],
        &[("FOUNT_DATABASE_URL", "postgres://fount:secret@127.0.0.1:1/shop")],
    )
    .await;
    let err = stderr(&out);
    assert!(err.contains("cannot connect to PostgreSQL at 127.0.0.1:1/shop"), "{err}");
    assert!(err.contains("refused"), "{err}");
    assert!(!err.contains("secret"), "the password was printed: {err}");
    assert!(!cwd.path().join("d/master.key").exists(), "a master key was written before the database answered");
    assert!(started.elapsed() < Duration::from_secs(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_in_use_fails_before_listening() {
    let cwd = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = fount(cwd.path(), &["serve", "--data", "d", "--listen", &addr], &[("FOUNT_LOG", "info")]).await;
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(err.contains("already running"), "{err}");
    assert!(!err.contains("listening"), "it said it was listening: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_database_is_refused_with_a_clear_message() {
    let cwd = tempfile::tempdir().unwrap();
    assert!(fount(cwd.path(), &["init", "--data", "d"], &[]).await.status.success());
    let read_only = format!("sqlite://{}?mode=ro", cwd.path().join("d/fount.db").display());
    let out =
        fount(cwd.path(), &["serve", "--data", "d", "--listen", "127.0.0.1:0"], &[("FOUNT_DATABASE_URL", &read_only)])
            .await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not take writes: the database is read-only"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_help_names_its_own_folder() {
    let cwd = tempfile::tempdir().unwrap();
    let out = fount(cwd.path(), &["demo", "--help"], &[]).await;
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("[default: fount-demo]"), "{help}");
    assert!(!help.contains("[default: fount-data]"), "{help}");
}

on_both_databases! {
    async fn the_commands_operators_reach_for(server: TestServer) {
        let store = server.store(3).await;
        let listed: Value = serde_json::from_str(&server.cli(&["store", "list", "--json"]).await).unwrap();
        assert!(listed.as_array().unwrap().iter().any(|s| s["id"] == store.id.as_str()), "{listed}");
        assert!(server.cli(&["store", "list"]).await.contains("Test Store"));

        // API keys: listed without their secrets, and revoked for good.
        let second = server.cli(&["apikey", "create", "--store", &store.id, "--label", "backup"]).await.trim().to_owned();
        let keys: Value = serde_json::from_str(&server.cli(&["apikey", "list", "--store", &store.id, "--json"]).await).unwrap();
        assert_eq!(keys.as_array().unwrap().len(), 2);
        // `fsk_<hex id>_<base64url secret>`: the secret may hold `_` itself, so it is all that
        // follows the id.
        let secret = second.splitn(3, '_').nth(2).unwrap();
        assert!(secret.len() >= 40, "{second}");
        assert!(!keys.to_string().contains(secret), "a secret was listed");
        assert_eq!(server.get("/v1/store", Some(&second)).await.status(), StatusCode::OK);
        assert!(server.cli(&["apikey", "revoke", "--id", &second]).await.contains("revoked"));
        problem(server.get("/v1/store", Some(&second)).await, StatusCode::UNAUTHORIZED, "unauthorized").await;
        assert_eq!(server.get("/v1/store", Some(&store.key)).await.status(), StatusCode::OK);

        // Package with a price and a cover, then list and remove tracks.
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/media/sample.mp3");
        let sample = sample.to_str().unwrap();
        let title_id = server
            .cli(&["package", "--store", &store.id, "--new-title", "Priced", "--price", "7.50", "--currency", "EUR",
                   "--cover", "https://img.example/c.jpg", "--language", "en", sample, sample])
            .await
            .trim()
            .to_owned();
        let title = ok_json(server.get(&format!("/v1/titles/{title_id}"), Some(&store.key)).await, StatusCode::OK).await;
        assert_eq!((title["price"].as_str(), title["currency"].as_str()), (Some("7.50"), Some("EUR")));
        assert_eq!(title["cover_url"], "https://img.example/c.jpg");
        assert_eq!(title["tracks"].as_array().unwrap().len(), 2);
        let bad = server.cli_output(&["package", "--store", &store.id, "--new-title", "X", "--price", "7.50", "--currency", "euro", sample]).await;
        assert!(String::from_utf8_lossy(&bad.stderr).contains("ISO 4217"));
        let titles: Value = serde_json::from_str(&server.cli(&["title", "list", "--store", &store.id, "--json"]).await).unwrap();
        assert!(titles.as_array().unwrap().iter().any(|t| t["id"] == title_id.as_str() && t["tracks"] == 2));
        let tracks: Value = serde_json::from_str(&server.cli(&["track", "list", "--title", &title_id, "--json"]).await).unwrap();
        let first_file = tracks[0]["file"].as_str().unwrap().to_owned();
        let second_file = tracks[1]["file"].as_str().unwrap().to_owned();
        assert!(server.data.join("assets").join(&first_file).exists());
        server.cli(&["track", "delete", "--title", &title_id, "--position", "0"]).await;
        assert!(!server.data.join("assets").join(&first_file).exists(), "the sealed file stayed");
        let tracks: Value = serde_json::from_str(&server.cli(&["track", "list", "--title", &title_id, "--json"]).await).unwrap();
        assert_eq!(tracks.as_array().unwrap().len(), 1);
        assert_eq!((tracks[0]["position"].as_i64(), tracks[0]["file"].as_str()), (Some(0), Some(second_file.as_str())));

        // A title someone holds is not deleted; one nobody holds is, with its files.
        server.grant(&store, "alice", &title_id, json!({})).await;
        let held = server.cli_output(&["title", "delete", "--title", &title_id]).await;
        assert!(!held.status.success());
        assert!(String::from_utf8_lossy(&held.stderr).contains("held by 1 entitlement"));
        let spare = server.cli(&["package", "--store", &store.id, "--new-title", "Spare", sample]).await.trim().to_owned();
        let spare_files: Value = serde_json::from_str(&server.cli(&["track", "list", "--title", &spare, "--json"]).await).unwrap();
        server.cli(&["title", "delete", "--title", &spare]).await;
        assert!(!server.data.join("assets").join(spare_files[0]["file"].as_str().unwrap()).exists());
        problem(server.get(&format!("/v1/titles/{spare}"), Some(&store.key)).await, StatusCode::NOT_FOUND, "not-found").await;
        problem(server.get(&format!("/pub/{spare}/manifest.json"), None).await, StatusCode::NOT_FOUND, "not-found").await;
    }
}
