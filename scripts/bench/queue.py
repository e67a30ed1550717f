"""The queue's throughput: probe jobs done per second by K `fount-server worker` processes.

    python3 queue.py BIN WORKERS JOBS SLOTS

With FOUNT_DATA (and FOUNT_DATABASE_URL for PostgreSQL) set to an initialised installation:
queues JOBS probes, starts WORKERS worker processes of SLOTS jobs each, and times them from
their start until every probe is done; checks each was done once. Prints one JSON line.
"""

import json
import os
import subprocess
import sys
import time

bin_, workers, jobs, slots = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]


def cli(*args):
    return subprocess.run([bin_, *args], check=True, capture_output=True, text=True).stdout


prefix = cli("queue", "probe", "--count", str(jobs)).strip()
started = time.monotonic()
procs = [subprocess.Popen([bin_, "worker", "--workers", slots], stderr=subprocess.DEVNULL) for _ in range(workers)]
try:
    while True:
        counts = json.loads(cli("queue", "probes", "--prefix", prefix))
        if counts["keys"] >= jobs:
            break
        if time.monotonic() - started > 600:
            sys.exit(f"not done in 10 minutes: {counts}")
        time.sleep(0.05)
    elapsed = time.monotonic() - started
finally:
    for p in procs:
        p.terminate()
    for p in procs:
        p.wait(timeout=60)
assert counts["executions"] == jobs, counts
print(json.dumps({"bench": "queue_jobs", "database": os.environ.get("FOUNT_BENCH_DB", "sqlite"), "workers": workers,
                  "slots": int(slots), "jobs": jobs, "seconds": round(elapsed, 2), "jobs_per_s": round(jobs / elapsed)}))
