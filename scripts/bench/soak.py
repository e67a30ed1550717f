"""The soak: issuance held at 80% of its peak for ten minutes, with webhooks and a feed's
syncs running beside it (docs/benchmarks.md, "The soak").

    python3 soak.py BIN BENCH_BIN [SECONDS]

BIN is a release `fount-server`, BENCH_BIN its `issuance_bench` example; SECONDS the soak's
length (600 unless given). One `fount-server serve` on SQLite, with its in-process workers,
answers everything; a local nginx is both the webhook receiver (204) and the content
provider (the feed and its enclosures). Prints one JSON line per measurement:

* soak_peak: licenses/s with 64 connections as fast as answers come (15 s after a 3 s
  warm-up), the figure the soak's rate is taken from;
* soak: the soak itself. wrk paces 64 connections at 80% of the peak
  (scripts/bench/acquire.lua) while, beside it, a store grants a title every 100 ms (each
  grant an `entitlement.granted` webhook) and the provider adds an item to its feed every
  30 s and asks for a sync (each item fetched, probed, sealed and published by a worker, with
  its webhooks). Reported: the rate reached and its latency; every error seen anywhere (non-2xx
  and socket errors in wrk, failed grants, failed or dead deliveries, failed feed items,
  warnings and errors in the server's log); the server's resident memory (the median of the
  minute after a one-minute warm-up against the median of the last minute); the SQLite WAL's
  largest and last size; the database's size.

FOUNT_SOAK_KEEP=1 keeps the scratch folder (the database, the logs) for a look afterwards.

The endpoint is subscribed to everything but the license and device events: a delivery for
every license issued would be a firehose the two cores cannot serve beside issuance itself
(docs/benchmarks.md, "Webhook deliveries per second").
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

bin_, bench_bin = sys.argv[1], sys.argv[2]
SECONDS = int(sys.argv[3]) if len(sys.argv) > 3 else 600
WARMUP = min(60, SECONDS // 5)
SAMPLE_EVERY = 2
FEED_EVERY, GRANT_EVERY = 30, 0.1
SUBSCRIBED = ["entitlement.granted", "title.created", "track.added", "track.published", "track.failed",
              "feed.synced", "feed.failed", "feed_item.published", "feed_item.failed"]
root = Path(__file__).resolve().parents[2]
sample = (root / "examples/media/sample.mp3").read_bytes()
work = Path(tempfile.mkdtemp(prefix="fount-soak-"))
www, data = work / "www", work / "data"
www.mkdir()
data.mkdir()
procs = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
    subprocess.run(["nginx", "-c", str(work / "nginx.conf"), "-s", "stop"], check=False, capture_output=True)
    shutil.rmtree(work, ignore_errors=True)


if not os.environ.get("FOUNT_SOAK_KEEP"):
    atexit.register(cleanup)

# nginx: the webhook receiver and the content provider.
web_port = free_port()
web = f"http://127.0.0.1:{web_port}"
(work / "nginx.conf").write_text(f"""
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{}}
http {{
  access_log off;
  log_format hook '$http_webhook_id';
  client_body_temp_path {work};
  types {{ audio/mpeg mp3; application/rss+xml xml; }}
  server {{
    listen 127.0.0.1:{web_port};
    root {www};
    location = /hook {{ access_log {work}/hooks.log hook; return 204; }}
  }}
}}
""")
subprocess.run(["nginx", "-c", str(work / "nginx.conf")], check=True)

env = dict(os.environ, FOUNT_DATA=str(data), FOUNT_LOG="warn", FOUNT_ALLOW_PRIVATE_URLS="1")
env.pop("FOUNT_DATABASE_URL", None)


def cli(*args):
    return subprocess.run([bin_, *args], check=True, capture_output=True, text=True, env=env).stdout


cli("init")
store = json.loads(cli("store", "create", "--name", "Soak", "--device-limit", "5"))["id"]
key = cli("apikey", "create", "--store", store).strip()
operator = cli("operator-key", "create").strip()
title = cli("package", "--store", store, "--new-title", "Soak", str(root / "examples/media/sample.mp3")).strip()
port = free_port()
base = f"http://127.0.0.1:{port}"
log_path = data / "server.log"
server = subprocess.Popen([bin_, "serve", "--listen", f"127.0.0.1:{port}"], env=env,
                          stdout=open(log_path, "w"), stderr=subprocess.STDOUT)
procs.append(server)
for _ in range(200):
    try:
        urllib.request.urlopen(base + "/health", timeout=2)
        break
    except OSError:
        time.sleep(0.1)
else:
    raise SystemExit("the server did not start")


def call(method, path, token, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"authorization": f"Bearer {token}", "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"null")


clients = work / "clients"
subprocess.run([bench_bin, "setup", base, key, title, "256", str(clients)], check=True, stdout=subprocess.DEVNULL)
call("POST", "/v1/webhooks", key, {"url": f"{web}/hook", "types": SUBSCRIBED})


def wrk(seconds, rate=None):
    wrk_env = dict(os.environ, FOUNT_BENCH_CLIENTS=str(clients), FOUNT_BENCH_THREADS="2")
    if rate:
        wrk_env["FOUNT_BENCH_RATE"] = str(rate)
    out = subprocess.run(["wrk", "-t2", "-c64", f"-d{seconds}s", "--timeout", "5s", "--latency",
                          "-s", str(root / "scripts/bench/acquire.lua"), base],
                         check=True, capture_output=True, text=True, env=wrk_env).stdout

    def ms(label):
        m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % label, out, re.M)
        return round(float(m.group(1)) * {"us": 0.001, "ms": 1, "s": 1000}[m.group(2)], 2)

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "requests": int(re.search(r"(\d+) requests in", out).group(1)),
            "p50_ms": ms("50%"), "p99_ms": ms("99%"),
            "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
            "socket_errors": sum(map(int, socket.groups())) if socket else 0}


# The peak, as the issuance benchmark measures it.
wrk(3)
peak = wrk(15)
print(json.dumps({"bench": "soak_peak", "licenses_per_s": round(peak["rps"]), "p99_ms": peak["p99_ms"],
                  "non_2xx": peak["non_2xx"], "socket_errors": peak["socket_errors"]}), flush=True)
target = round(0.8 * peak["rps"])

# Beside the load: grants, the feed, and the samples.
stop = threading.Event()
errors = {"grants": 0, "feed_syncs": 0}
grants = [0]
items = [0]


def enclosure(i):
    (www / f"e{i}.mp3").write_bytes(sample + i.to_bytes(4, "big") * 64)
    return f'<item><title>Episode {i}</title><guid>e{i}</guid><enclosure url="{web}/e{i}.mp3" length="{len(sample) + 256}" type="audio/mpeg"/></item>'


feed_items = [enclosure(0)]


def write_feed():
    (www / "feed.xml").write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>Soak Radio</title>'
                                  f'<description>d</description>{"".join(feed_items)}</channel></rss>')


write_feed()
feed = call("POST", "/v1/feeds", key, {"url": f"{web}/feed.xml"})["id"]


def granting():
    while not stop.wait(GRANT_EVERY):
        try:
            call("POST", "/v1/entitlements", key, {"customer": f"soak-{grants[0]}", "title": title, "kind": "purchase"})
            grants[0] += 1
        except (OSError, urllib.error.HTTPError):
            errors["grants"] += 1


def providing():
    while not stop.wait(FEED_EVERY):
        feed_items.append(enclosure(len(feed_items)))
        write_feed()
        try:
            call("POST", f"/v1/feeds/{feed}/sync", key)
        except (OSError, urllib.error.HTTPError):
            errors["feed_syncs"] += 1


def hooks_received(unique=True):
    """Deliveries the receiver answered: distinct events, or every request (at least once
    allows a delivery twice)."""
    log = work / "hooks.log"
    ids = log.read_text().splitlines() if log.exists() else []
    return len(set(ids)) if unique else len(ids)


def query(sql):
    db = sqlite3.connect(f"file:{data / 'fount.db'}?mode=ro", uri=True, timeout=10)
    try:
        return db.execute(sql).fetchone()[0]
    finally:
        db.close()


def fanout_lag():
    """Events in the log the webhook fan-out has not looked at yet."""
    return query("SELECT (SELECT max(seq) FROM events) - (SELECT position FROM cursors WHERE name = 'webhook.fanout')")


def deliveries_made():
    return query("SELECT count(*) FROM webhook_deliveries")


# (seconds since the soak began, RSS bytes, WAL bytes, grants not yet delivered, fan-out lag)
samples = []


def sampling(started):
    while not stop.wait(SAMPLE_EVERY):
        status = Path(f"/proc/{server.pid}/status").read_text()
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) * 1024
        wal = data / "fount.db-wal"
        samples.append((time.monotonic() - started, rss, wal.stat().st_size if wal.exists() else 0,
                        grants[0] - hooks_received(), fanout_lag()))


started = time.monotonic()
threads = [threading.Thread(target=f, daemon=True) for f in (granting, providing)]
threads.append(threading.Thread(target=sampling, args=(started,), daemon=True))
for t in threads:
    t.start()
soak = wrk(SECONDS, rate=target)
stop.set()
for t in threads:
    t.join(timeout=15)

# What the load left behind: every event the endpoint subscribes to delivered, and the
# imports done, within two minutes of the load's end.
ended = time.monotonic()
backlog_at_end = grants[0] - hooks_received()
deadline = ended + 120
while True:
    stats = call("GET", "/v1/operator/queue", operator)
    busy = sum(k["queued"] + k["running"] + k["scheduled"] for k in stats["kinds"] if k["kind"] != "feed.sync")
    if (busy == 0 and fanout_lag() == 0 and hooks_received() >= deliveries_made()) or time.monotonic() > deadline:
        break
    time.sleep(0.25)
drained_s = time.monotonic() - ended
feed_state = call("GET", f"/v1/feeds/{feed}", key)
published = sum(1 for i in feed_state["items"] if i["status"] == "published")
failed_items = sum(1 for i in feed_state["items"] if i["status"] == "failed")
endpoints = call("GET", "/v1/webhooks", key)
server.send_signal(signal.SIGTERM)
server.wait(timeout=60)
log_lines = [line for line in log_path.read_text().splitlines() if line.strip()]

after_warmup = [rss for t, rss, *_ in samples if WARMUP <= t < 2 * WARMUP]
last = [rss for t, rss, *_ in samples if t >= SECONDS - WARMUP]
rss_start, rss_end = statistics.median(after_warmup), statistics.median(last)
wal = [w for _, _, w, *_ in samples] or [0]
db_bytes = sum(p.stat().st_size for p in data.glob("fount.db*"))
result = {
    "bench": "soak", "database": "sqlite", "seconds": SECONDS, "peak_per_s": round(peak["rps"]), "target_per_s": target,
    "licenses_per_s": round(soak["rps"]), "licenses": soak["requests"], "p50_ms": soak["p50_ms"], "p99_ms": soak["p99_ms"],
    "grants": grants[0], "feed_items_published": published, "feed_items": len(feed_items),
    "webhook_deliveries": hooks_received(), "webhook_requests": hooks_received(unique=False), "webhook_deliveries_made": deliveries_made(),
    "webhook_backlog_max": max(b for _, _, _, b, _ in samples), "fanout_lag_max": max(f for *_, f in samples), "webhook_backlog_at_end": backlog_at_end, "drained_s": round(drained_s, 1), "jobs_left": busy,
    "errors": {"non_2xx": soak["non_2xx"], "socket": soak["socket_errors"], "grants": errors["grants"],
               "feed_syncs": errors["feed_syncs"], "feed_items_failed": failed_items, "jobs_dead": stats["dead"],
               "endpoints_failing": sum(1 for e in endpoints["items"] if not e["enabled"] or e["failing_since"]),
               "server_log_warnings": len(log_lines)},
    "rss_after_warmup_mb": round(rss_start / 1e6, 1), "rss_end_mb": round(rss_end / 1e6, 1),
    "rss_max_mb": round(max(r for _, r, *_ in samples) / 1e6, 1),
    "rss_growth_pct": round(100 * (rss_end / rss_start - 1), 1),
    "rss_by_minute_mb": [round(rss / 1e6, 1) for t, rss, *_ in samples if t % 60 < SAMPLE_EVERY],
    "wal_max_mb": round(max(wal) / 1e6, 1), "wal_end_mb": round(wal[-1] / 1e6, 1), "database_mb": round(db_bytes / 1e6, 1),
    "log_sample": log_lines[:3],
}
result["error_count"] = sum(result["errors"].values())
print(json.dumps(result), flush=True)
