"""The download manager from Python against a live server, through the test proxy
(scripts/test-proxy.py counts range requests and damages or refuses them on demand): a 100 MB
title killed mid-download with its process and resumed by another, progress in order, pause
from the callback, cancel, a damaged block, retries, the quota.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import urllib.request

import pytest

from fount import (
    DownloadSettings,
    DownloadState,
    FileStorage,
    FountClient,
    FountError,
    ProgressCallback,
    SystemClock,
    UrllibTransport,
)

DEMO = json.loads(pathlib.Path(os.environ["FOUNT_DEMO_JSON"]).read_text())
PROXY = os.environ["FOUNT_PROXY_URL"]
TITLE = os.environ["FOUNT_BIG_TITLE"]
BLOCK = 64 * (16 * 1024 + 16)  # the chunks (16 KiB and a tag each) that hold 1 MiB of audio
HEADER = 68


def call(url, method="GET", body=None, key=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    if key:
        req.add_header("Authorization", "Bearer " + key)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=30) as r:
        data = r.read()
        return json.loads(data) if data else None


def control(path, body=None):
    return call(PROXY + path, "POST" if body is not None else "GET", body)


def customer(name):
    cid = f"python-dl-{name}-{time.time_ns()}"
    call(DEMO["base_url"] + "/v1/entitlements", "POST", {"customer": cid, "title": TITLE, "kind": "purchase"}, DEMO["api_key"])
    return call(DEMO["base_url"] + f"/v1/customers/{cid}/tokens", "POST", {}, DEMO["api_key"])["token"]


def child(token, folder, tag, kill_at=None):
    """Runs the child app; kills it (SIGKILL) once it reports `kill_at` bytes stored."""
    p = subprocess.Popen(
        [sys.executable, str(pathlib.Path(__file__).with_name("download_child.py")), PROXY, token, TITLE, str(folder), tag],
        stdout=subprocess.PIPE,
        text=True,
    )
    seen, final = [], None
    deadline = time.monotonic() + 150
    for line in p.stdout:
        doc = json.loads(line)
        if "final" in doc:
            final = doc["final"]
            continue
        seen.append(doc)
        if kill_at is not None and doc["bytes"] >= kill_at:
            p.send_signal(signal.SIGKILL)
            break
        assert time.monotonic() < deadline, "the child app took too long"
    code = p.wait(timeout=30)
    return code, seen, final


def in_order(seen):
    return all(a["bytes"] <= b["bytes"] for a, b in zip(seen, seen[1:]))


def test_a_killed_download_resumes_in_another_process_fetching_only_the_missing_blocks(tmp_path):
    control("/_proxy/reset", {})
    control("/_proxy/faults", {"delayMs": 20})
    token = customer("kill")
    code, first, _ = child(token, tmp_path, "first", kill_at=30_000_000)
    assert code == -signal.SIGKILL
    assert in_order(first)
    control("/_proxy/faults", {"delayMs": 0})

    code, second, final = child(token, tmp_path, "second")
    assert code == 0
    assert final["state"] == "done" and final["bytes"] == final["total"] > 100_000_000
    kept = second[0]["bytes"]
    assert kept >= first[-1]["bytes"], "the record has at least what the killed app was told"
    assert in_order(second)
    assert (second[-1]["state"], second[-1]["bytes"]) == ("done", final["total"])

    counts = control("/_proxy/counts")
    blocks = -(-(final["total"] - HEADER) // BLOCK)
    assert counts["apps"]["second"] == blocks - (kept - HEADER) // BLOCK, "only the missing blocks were fetched"
    twice = sum(1 for n in counts["ranges"].values() if n > 1)
    assert twice <= 4, f"{twice} blocks fetched twice: at most one per request in flight"


def test_pause_resume_cancel_a_damaged_block_retries_and_the_quota(tmp_path):
    control("/_proxy/reset", {})
    token = customer("inproc")
    client = FountClient(PROXY, UrllibTransport(timeout=30), FileStorage(tmp_path), SystemClock(), None)
    client.register_device(token, "python")
    client.acquire_license(token, TITLE)
    client.set_download_settings(DownloadSettings(parallel=4, attempts=4, retry_delay_ms=20, quota_bytes=None))
    damaged = HEADER + 5 * BLOCK
    control("/_proxy/faults", {"corruptOnce": damaged, "unavailable": 2})

    seen = []

    def listen(p):
        seen.append(p)
        if p.bytes >= 20_000_000 and p.state == DownloadState.DOWNLOADING:
            client.pause_download(TITLE)

    paused = client.download_title(TITLE, ProgressCallback(listen))
    assert paused.state == DownloadState.PAUSED
    assert seen[-1].state == DownloadState.PAUSED
    assert 20_000_000 <= paused.bytes < paused.total
    assert all(a.bytes <= b.bytes for a, b in zip(seen, seen[1:]))
    assert paused.tracks[0].total == paused.total

    client.resume_download(TITLE)
    (done,) = client.run_downloads(None)
    assert (done.state, done.bytes) == (DownloadState.DONE, done.total)
    counts = control("/_proxy/counts")
    assert counts["ranges"][str(damaged)] == 2, "the damaged block was fetched again"
    usage = client.storage_usage()
    assert (usage.bytes, [t.title_id for t in usage.titles]) == (done.total, [TITLE])

    cancelled = client.cancel_download(TITLE)
    assert (cancelled.state, cancelled.bytes) == (DownloadState.CANCELLED, 0)
    assert client.storage_usage().bytes == 0

    client.set_download_settings(DownloadSettings(parallel=4, attempts=4, retry_delay_ms=20, quota_bytes=done.total // 2))
    with pytest.raises(FountError.QuotaExceeded, match=r"needs \d+ bytes"):
        client.download_title(TITLE, None)
    assert client.download_progress(TITLE).error.code == "quota_exceeded"

    # A server that keeps answering 503: typed, after the attempts.
    client.set_download_settings(DownloadSettings(parallel=2, attempts=3, retry_delay_ms=10, quota_bytes=None))
    control("/_proxy/faults", {"unavailable": 1000})
    with pytest.raises(FountError.Server):
        client.download_title(TITLE, None)
    control("/_proxy/faults", {"unavailable": 0})
    assert client.download_progress(TITLE).state == DownloadState.FAILED
