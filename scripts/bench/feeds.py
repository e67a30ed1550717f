"""Feeds: what importing and polling cost (docs/benchmarks.md, "Feeds").

    python3 feeds.py BIN POSTGRES_URL

BIN is a release `fount-server`; POSTGRES_URL an empty PostgreSQL database. Serves feeds and
enclosures from a local nginx (ETag and 304 as a CDN would), and prints one JSON line per
measurement:

* feed_import: a first import of a 500-item feed of small enclosures (each a copy of
  examples/media/sample.mp3 with bytes of its own), on SQLite, by `serve` with its 4 workers:
  items per second from the feed's creation to its last item published, and the time spent
  fetching, probing and sealing (summed over the items, from the server's log). Reference,
  same run: `fount-server package` of the same 500 files from the local disk (probe and seal,
  no fetch, no queue).
* feed_memory: the server's resident memory while it imports one enclosure of 1 GiB (an MP3
  made of the sample's frames), against its memory just before.
* feed_polling: 1,000 unchanged feeds (5 stores of 200) polled once each, on PostgreSQL: the
  requests nginx saw and how they were answered, the rows each table gained or changed
  (pg_stat_user_tables), and the server's CPU seconds. Reference, same run: the CPU seconds
  of a Python loop making the same 1,000 conditional requests.
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

bin_, pg_url = sys.argv[1], sys.argv[2]
root = Path(__file__).resolve().parents[2]
sample = (root / "examples/media/sample.mp3").read_bytes()
work = Path(tempfile.mkdtemp(prefix="fount-feeds-bench-"))
www = work / "www"
www.mkdir()
ITEMS, POLLED = 500, 1000


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss(items, title="Bench Radio"):
    body = "".join(
        f'<item><title>{guid}</title><guid>{guid}</guid><enclosure url="{url}" length="{length}" type="audio/mpeg"/></item>'
        for guid, url, length in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title><description>d</description>{body}</channel></rss>'


# nginx: the enclosures and feeds, with an access log to count requests.
web_port = free_port()
web = f"http://127.0.0.1:{web_port}"
(work / "nginx.conf").write_text(f"""
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log;
events {{}}
http {{
  log_format brief '$request_uri $status';
  access_log {work}/access.log brief;
  client_body_temp_path {work};
  types {{ audio/mpeg mp3; application/rss+xml xml; }}
  server {{ listen 127.0.0.1:{web_port}; root {www}; }}
}}
""")
for i in range(ITEMS):
    (www / f"e{i}.mp3").write_bytes(sample + i.to_bytes(4, "big") * 64)
(www / "import.xml").write_text(rss([(f"e{i}", f"{web}/e{i}.mp3", len(sample) + 256) for i in range(ITEMS)]))
for i in range(POLLED):
    (www / f"poll-{i}.xml").write_text(rss([], title=f"Quiet feed {i}"))
# 1 GB of audio (under the default upload limit of 1 GiB): the sample, then its frames (past
# its ID3v2 tag) again and again.
tag = 10 + ((sample[6] & 0x7f) << 21 | (sample[7] & 0x7f) << 14 | (sample[8] & 0x7f) << 7 | (sample[9] & 0x7f))
frames = sample[tag:]
with open(www / "big.mp3", "wb") as f:
    f.write(sample)
    written = len(sample)
    while written + len(frames) <= 1_000_000_000:
        f.write(frames)
        written += len(frames)
big_len = written
(www / "big.xml").write_text(rss([("big", f"{web}/big.mp3", big_len)]))
subprocess.run(["nginx", "-c", str(work / "nginx.conf")], check=True)
servers = []


def cleanup():
    for s in servers:
        if s.proc and s.proc.poll() is None:
            s.proc.kill()
    subprocess.run(["nginx", "-c", str(work / "nginx.conf"), "-s", "stop"], check=False, capture_output=True)
    shutil.rmtree(work, ignore_errors=True)


atexit.register(cleanup)


def requests_seen():
    log = work / "access.log"
    return log.read_text().splitlines() if log.exists() else []


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Server:
    def __init__(self, database_url=None):
        self.data = Path(tempfile.mkdtemp(prefix="fount-feeds-data-", dir=work))
        self.env = dict(os.environ, FOUNT_DATA=str(self.data), FOUNT_LOG="fount_server=info", FOUNT_ALLOW_PRIVATE_URLS="1")
        self.env.pop("FOUNT_DATABASE_URL", None)
        if database_url:
            self.env["FOUNT_DATABASE_URL"] = database_url
        self.cli("init")
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(self.data / "server.log", "w")
        self.proc = None
        servers.append(self)

    def cli(self, *args):
        return subprocess.run([bin_, *args], check=True, capture_output=True, text=True, env=self.env).stdout

    def start(self):
        self.proc = subprocess.Popen([bin_, "serve", "--listen", f"127.0.0.1:{self.port}"], env=self.env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(200):
            try:
                urllib.request.urlopen(self.base + "/health", timeout=2)
                return
            except OSError:
                time.sleep(0.1)
        raise SystemExit("the server did not start")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)

    def store(self, name):
        store = json.loads(self.cli("store", "create", "--name", name))["id"]
        return self.cli("apikey", "create", "--store", store).strip()

    def call(self, method, path, key, body=None):
        req = urllib.request.Request(self.base + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")


def until(what, check, within, every=0.2):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(every)
    raise SystemExit(f"{what}: not within {within} s")


def published_count(server, key, feed):
    items = server.call("GET", f"/v1/feeds/{feed}", key)["items"]
    failed = [i for i in items if i["status"] == "failed"]
    if failed:
        raise SystemExit(f"an item failed: {failed[0]}")
    return sum(1 for i in items if i["status"] == "published")


# 1. The first import of 500 items, and its reference: the same files packaged from disk.
server = Server()
ref_store = json.loads(server.cli("store", "create", "--name", "Reference"))["id"]
started = time.monotonic()
server.cli("package", "--store", ref_store, "--new-title", "Reference", *[str(www / f"e{i}.mp3") for i in range(ITEMS)])
reference_s = time.monotonic() - started
key = server.store("Import")
server.start()
started = time.monotonic()
feed = server.call("POST", "/v1/feeds", key, {"url": f"{web}/import.xml"})["id"]
until("the import", lambda: published_count(server, key, feed) == ITEMS, 900, every=0.5)
import_s = time.monotonic() - started
log = (server.data / "server.log").read_text()
fetch_ms = sum(int(m) for m in re.findall(r"fetch_us=(\d+)", log)) / 1000
probe_ms = sum(int(m) for m in re.findall(r"probe_us=(\d+)", log)) / 1000
seal_ms = sum(int(m) for m in re.findall(r"seal_us=(\d+)", log)) / 1000
work_ms = fetch_ms + probe_ms + seal_ms
print(json.dumps({"bench": "feed_import", "items": ITEMS, "item_bytes": len(sample) + 256, "seconds": round(import_s, 1),
                  "items_per_s": round(ITEMS / import_s, 1), "reference_items_per_s": round(ITEMS / reference_s, 1),
                  "fetch_s": round(fetch_ms / 1000, 2), "probe_s": round(probe_ms / 1000, 2), "seal_s": round(seal_ms / 1000, 2),
                  "fetch_share": round(fetch_ms / work_ms, 2), "probe_share": round(probe_ms / work_ms, 2),
                  "seal_share": round(seal_ms / work_ms, 2)}), flush=True)

# 2. Memory while one enclosure of 1 GiB is imported.
before = rss_kb(server.proc.pid)
peak = before
feed = server.call("POST", "/v1/feeds", key, {"url": f"{web}/big.xml"})["id"]
started = time.monotonic()
deadline = started + 1800
while time.monotonic() < deadline:
    peak = max(peak, rss_kb(server.proc.pid))
    if published_count(server, key, feed) == 1:
        break
    time.sleep(0.1)
else:
    raise SystemExit("the 1 GiB import: not within 30 minutes")
print(json.dumps({"bench": "feed_memory", "enclosure_bytes": big_len, "seconds": round(time.monotonic() - started, 1),
                  "rss_before_mb": round(before / 1024, 1), "rss_peak_mb": round(peak / 1024, 1),
                  "growth_mb": round((peak - before) / 1024, 1)}), flush=True)
server.stop()
shutil.rmtree(server.data, ignore_errors=True)


# 3. Polling 1,000 unchanged feeds, on PostgreSQL.
def psql(sql):
    return subprocess.run(["psql", "-qtA", pg_url, "-c", sql], check=True, capture_output=True, text=True).stdout.strip()


def table_writes():
    rows = psql("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables")
    out = {}
    for line in rows.splitlines():
        name, ins, upd, dele = line.split("|")
        out[name] = (int(ins), int(upd), int(dele))
    return out


server = Server(pg_url)
server.start()
keys = [server.store(f"Poll {s}") for s in range(POLLED // 200)]
for i in range(POLLED):
    server.call("POST", "/v1/feeds", keys[i // 200], {"url": f"{web}/poll-{i}.xml", "interval": 86400})
until("the first syncs", lambda: psql("SELECT count(*) FROM feeds WHERE last_result = 'imported'") == str(POLLED), 600, every=1)
time.sleep(2)
seen, writes, cpu = len(requests_seen()), table_writes(), cpu_seconds(server.proc.pid)
now_ms = int(time.time() * 1000)
psql(f"UPDATE jobs SET run_at = {now_ms} WHERE kind = 'feed.sync' AND state = 'queued'")
started = time.monotonic()
until("the polls", lambda: psql(f"SELECT count(*) FROM jobs WHERE kind = 'feed.sync' AND (state <> 'queued' OR run_at <= {now_ms})") == "0", 600, every=0.5)
poll_s = time.monotonic() - started
time.sleep(2)  # PostgreSQL's statistics reach the views within a second
polls = requests_seen()[seen:]
after, cpu_used = table_writes(), cpu_seconds(server.proc.pid) - cpu
changed = {t: [a - b for a, b in zip(after[t], writes.get(t, (0, 0, 0)))] for t in after}
changed = {t: dict(zip(("inserted", "updated", "deleted"), v)) for t, v in changed.items() if any(v)}
# The benchmark's own UPDATE that made the syncs due is not the server's.
if "jobs" in changed:
    changed["jobs"]["updated"] -= POLLED
server.stop()

# The reference: the same 1,000 conditional requests from a plain loop.
etags = {}
for i in range(POLLED):
    with urllib.request.urlopen(f"{web}/poll-{i}.xml", timeout=10) as r:
        etags[i] = r.headers["ETag"]
cpu_ref = time.process_time()
for i in range(POLLED):
    req = urllib.request.Request(f"{web}/poll-{i}.xml", headers={"If-None-Match": etags[i]})
    try:
        urllib.request.urlopen(req, timeout=10)
    except urllib.error.HTTPError as e:
        assert e.code == 304, e.code
cpu_ref = time.process_time() - cpu_ref
statuses = {}
for line in polls:
    statuses[line.split()[-1]] = statuses.get(line.split()[-1], 0) + 1
print(json.dumps({"bench": "feed_polling", "feeds": POLLED, "seconds": round(poll_s, 1), "requests": len(polls),
                  "statuses": statuses, "rows_written": changed, "server_cpu_s": round(cpu_used, 2),
                  "reference_cpu_s": round(cpu_ref, 2), "cpu_ratio": round(cpu_used / cpu_ref, 2) if cpu_ref else None}),
      flush=True)
