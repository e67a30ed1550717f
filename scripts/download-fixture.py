#!/usr/bin/env python3
"""A title of at least 100 MB of audio on the running demo, for the SDK's download tests.

    download-fixture.py DEMO_JSON SAMPLE_MP3 WORK_DIR

Builds an MP3 of the sample followed by its frames again and again (what a long audiobook is
to the prober and the packager), uploads it to a new title of the demo's store, waits for it to
be published, and prints the title id. Every request has a timeout.
"""

import json
import sys
import time
import urllib.request

demo = json.load(open(sys.argv[1]))
sample = open(sys.argv[2], "rb").read()
work = sys.argv[3]
SIZE = 100_000_000

# The ID3v2 tag's size: four 7-bit bytes after the first six of its 10-byte header.
tag = 10 + sum((b & 0x7F) << (7 * (3 - i)) for i, b in enumerate(sample[6:10])) if sample[:3] == b"ID3" else 0
frames = sample[tag:]
path = f"{work}/long.mp3"
with open(path, "wb") as f:
    f.write(sample)
    written = len(sample)
    while written < SIZE:
        f.write(frames)
        written += len(frames)


def call(method, url, body=None, content_type="application/json"):
    req = urllib.request.Request(demo["base_url"] + url, data=body, method=method)
    req.add_header("Authorization", f"Bearer {demo['api_key']}")
    req.add_header("content-type", content_type)
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.load(resp)


title = call("POST", "/v1/titles", json.dumps({"title": "The Long Book", "author": "Fount", "price": "4.99", "currency": "EUR"}).encode())["id"]
with open(path, "rb") as f:
    job = call("POST", f"/v1/titles/{title}/tracks?filename=long.mp3", f.read(), "audio/mpeg")["job"]["id"]
deadline = time.monotonic() + 180
while True:
    state = call("GET", f"/v1/jobs/{job}")["state"]
    if state == "completed":
        break
    if state == "dead" or time.monotonic() > deadline:
        sys.exit(f"packaging the long title ended {state}")
    time.sleep(0.2)
print(title)
