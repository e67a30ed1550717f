"""Webhook deliveries per second: a store's N grants, fanned out and delivered to a local
receiver (nginx answering 204) by one `fount-server worker` process.

    python3 webhooks.py BIN BASE_URL RECEIVER_URL GRANTS SLOTS

With FOUNT_DATA (and FOUNT_DATABASE_URL) naming the installation a `serve --workers 0` at
BASE_URL runs on, with FOUNT_ALLOW_PRIVATE_URLS=1: makes a store, an endpoint and GRANTS
grants (so GRANTS deliveries wait), then starts the worker and times it until the queue has
no delivery left. Prints one JSON line.
"""

import json
import os
import subprocess
import sys
import time
import urllib.request

bin_, base, receiver, grants, slots = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]


def cli(*args):
    return subprocess.run([bin_, *args], check=True, capture_output=True, text=True).stdout


def call(method, path, key, body=None):
    req = urllib.request.Request(base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


store = json.loads(cli("store", "create", "--name", "Webhooks"))["id"]
key = cli("apikey", "create", "--store", store).strip()
operator = cli("operator-key", "create").strip()
call("POST", "/v1/webhooks", key, {"url": receiver, "types": ["entitlement.granted"]})
title = call("POST", "/v1/titles", key, {"title": "Bench"})["id"]
for i in range(grants):
    call("POST", "/v1/entitlements", key, {"customer": f"c{i}", "title": title, "kind": "purchase"})

started = time.monotonic()
worker = subprocess.Popen([bin_, "worker", "--workers", slots], stderr=subprocess.DEVNULL)
try:
    while True:
        stats = call("GET", "/v1/operator/queue", operator)
        # A kind is listed while it has jobs waiting, running or dead.
        pending = sum(k["queued"] + k["running"] + k["scheduled"] for k in stats["kinds"] if k["kind"] == "webhook.deliver")
        if pending == 0 and stats["completed_last_hour"] >= grants:
            break
        if time.monotonic() - started > 600:
            sys.exit(f"not done in 10 minutes: {stats}")
        time.sleep(0.05)
    elapsed = time.monotonic() - started
finally:
    worker.terminate()
    worker.wait(timeout=60)
dead = stats["dead"]
assert dead == 0, stats
print(json.dumps({"bench": "webhook_deliveries", "database": os.environ.get("FOUNT_BENCH_DB", "sqlite"),
                  "deliveries": grants, "slots": int(slots), "seconds": round(elapsed, 2),
                  "deliveries_per_s": round(grants / elapsed)}))
