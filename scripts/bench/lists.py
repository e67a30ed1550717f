"""Memory of a server listing a large store again and again (scripts/bench.sh lists).

Grants ENTITLEMENTS purchases to as many customers through the store API, then walks
GET /v1/entitlements page by page (200 a page) WALKS times, reading the server's resident
memory (VmRSS) after each walk. Before paging, one such list was a single 9.7 MB answer, and
21 of them took a server from 18 MB to 155 MB for good.
"""
import concurrent.futures
import http.client
import json
import sys
import threading
import time
import urllib.parse

base, key, title, pid, count, walks = sys.argv[1:7]
count, walks = int(count), int(walks)
url = urllib.parse.urlparse(base)
local = threading.local()


def call(method, path, body=None):
    if not hasattr(local, "conn"):
        local.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    local.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                       headers={"authorization": f"Bearer {key}", "content-type": "application/json"})
    r = local.conn.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data) if data else None


def rss_mb():
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


start = time.time()
with concurrent.futures.ThreadPoolExecutor(16) as pool:
    list(pool.map(lambda i: call("POST", "/v1/entitlements",
                                 {"customer": f"c{i}", "title": title, "kind": "purchase"}), range(count)))
granted = time.time() - start
after_grants = rss_mb()


def walk():
    after, items, pages, biggest = None, 0, 0, 0
    while True:
        path = "/v1/entitlements?limit=200" + (f"&after={after}" if after else "")
        page = call("GET", path)
        items += len(page["items"])
        pages += 1
        biggest = max(biggest, len(json.dumps(page)))
        after = page["next"]
        if not after:
            return items, pages, biggest


samples = []
for w in range(walks):
    t = time.time()
    items, pages, biggest = walk()
    samples.append({"walk": w + 1, "rss_mb": round(rss_mb(), 1), "seconds": round(time.time() - t, 2)})
    assert items == count, (items, count)
first, last = samples[0]["rss_mb"], samples[-1]["rss_mb"]
print(json.dumps({"bench": "list_memory", "entitlements": count, "grant_seconds": round(granted, 1),
                  "walks": walks, "pages_per_walk": pages, "largest_page_bytes": biggest,
                  "rss_after_grants_mb": round(after_grants, 1), "rss_after_first_walk_mb": first,
                  "rss_after_last_walk_mb": last, "growth_after_first_walk": round(last / first - 1, 3),
                  "samples": samples}))
