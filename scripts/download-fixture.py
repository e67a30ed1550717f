#!/usr/bin/env python3
"""Long titles on the running demo, for the SDK's download and playback tests.

    download-fixture.py DEMO_JSON SAMPLE_MP3 WORK_DIR [m4a]

Builds an MP3 of at least 100 MB (over three hours: the sample followed by its frames again
and again, what a long audiobook is to the prober and the packager), uploads it to a new title
of the demo's store, waits for it to be published, and prints the title id. With `m4a`, also
a 20-minute AAC file in an MP4 container (made by ffmpeg), and prints its title id on a second
line. Every request has a timeout.
"""

import subprocess

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

def frame_length(header):
    """Bytes in the MPEG audio Layer III frame with this 4-byte header."""
    mpeg1 = (header[1] >> 3) & 3 == 3
    kbps = (
        [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320]
        if mpeg1
        else [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160]
    )[header[2] >> 4]
    rate = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}[(header[1] >> 3) & 3][(header[2] >> 2) & 3]
    return (144 if mpeg1 else 72) * kbps * 1000 // rate + ((header[2] >> 1) & 1)


# The sample's first frame is its Info (or Xing) frame: it states the sample's length, which a
# player would believe for the whole file. The repeated audio leaves it out.
first = frame_length(sample[tag : tag + 4])
start = tag + first if b"Info" in sample[tag : tag + first] or b"Xing" in sample[tag : tag + first] else tag
frames = sample[start:]
path = f"{work}/long.mp3"
with open(path, "wb") as f:
    f.write(sample[:tag])
    written = tag
    while written < SIZE:
        f.write(frames)
        written += len(frames)


def call(method, url, body=None, content_type="application/json"):
    req = urllib.request.Request(demo["base_url"] + url, data=body, method=method)
    req.add_header("Authorization", f"Bearer {demo['api_key']}")
    req.add_header("content-type", content_type)
    with urllib.request.urlopen(req, timeout=120) as resp:
        return json.load(resp)


def publish(name, path, media_type, filename):
    """A new title of the file at `path`, published: its id."""
    title = call("POST", "/v1/titles", json.dumps({"title": name, "author": "Fount", "price": "4.99", "currency": "EUR"}).encode())["id"]
    with open(path, "rb") as f:
        job = call("POST", f"/v1/titles/{title}/tracks?filename={filename}", f.read(), media_type)["job"]["id"]
    deadline = time.monotonic() + 180
    while True:
        state = call("GET", f"/v1/jobs/{job}")["state"]
        if state == "completed":
            return title
        if state == "dead" or time.monotonic() > deadline:
            sys.exit(f"packaging {filename} ended {state}")
        time.sleep(0.2)


print(publish("The Long Book", path, "audio/mpeg", "long.mp3"))
if sys.argv[4:] == ["m4a"]:
    m4a = f"{work}/tone.m4a"
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050:duration=1200",
         "-ac", "1", "-c:a", "aac", "-b:a", "32k", "-movflags", "+faststart", "-y", m4a],
        check=True,
        timeout=120,
    )
    print(publish("Twenty Minutes of A", m4a, "audio/mp4", "tone.m4a"))
