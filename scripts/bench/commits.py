"""A reference for the queue: single-row insert transactions per second, one after another on
each of CLIENTS connections, on the same database the jobs use (the machine's commit rate).

    python3 commits.py sqlite PATH SECONDS            (WAL, synchronous=NORMAL, as Fount opens it)

PostgreSQL's reference is pgbench, in bench.sh. Prints one JSON line.
"""

import json
import sqlite3
import sys
import time

kind, path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=NORMAL")
db.execute("CREATE TABLE IF NOT EXISTS commit_bench (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
n = 0
end = time.monotonic() + seconds
while time.monotonic() < end:
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO commit_bench (body) VALUES (?)", ("x" * 200,))
    db.execute("COMMIT")
    n += 1
print(json.dumps({"bench": "commit_reference", "database": "sqlite", "commits_per_s": round(n / seconds)}))
