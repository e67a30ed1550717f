#!/usr/bin/env bash
# Fount's benchmarks. Each compares against a reference measured in the same run, because
# these machines are shared and noisy; docs/benchmarks.md records the results.
#
#   scripts/bench.sh [decrypt] [issuance] [wasm] [widget] [lists] [queue] [webhooks] [events]
#                    [feeds] [downloads] [serving] [soak]              (default: all of them)
#
# decrypt:  SDK decryption throughput vs `openssl speed -evp aes-256-gcm -decrypt`, 16 KiB
#           blocks (the server's chunk size).
# issuance: licenses/s and latency over HTTP, 64 connections (wrk), on SQLite and on
#           PostgreSQL, beside the crypto ceiling (sign + wrap per license, in process).
# wasm:     the JavaScript SDK's decryption throughput in Node and in headless Chromium (chunks
#           opened by WebCrypto, and by the core's AES in wasm) vs the native core, the same downloaded title read
#           offline with the same key; and the package's sizes.
# widget:   click on Play to `playing` in the widget vs a plain <audio> element with the same
#           file unencrypted, in headless Chromium, on loopback and through a slow link (a
#           proxy pacing answers at 9 Mbit/s with 60 ms RTT, widget/bench/link.js); and the
#           bytes a first visit takes on the wire (Brotli, gzip only, none).
# lists:    the server's memory while a store of 42,000 entitlements is listed page by page,
#           twenty times over (reference: its memory after the first walk).
# queue:    probe jobs per second done by 1, 2 and 4 `fount-server worker` processes, on SQLite
#           and on PostgreSQL (fsync on), beside the database's own rate of single-row commits
#           (pgbench; a Python sqlite3 loop).
# webhooks: deliveries per second to a local nginx answering 204, by one worker process,
#           beside wrk's requests per second to the same nginx with the same body.
# events:   license issuance (as in `issuance`) with the event log against the commit before
#           it (f95c8c3, built in .cache/bench-ref), alternately, on SQLite and PostgreSQL.
# feeds:    a first import of a 500-item feed (items/s, the shares of fetching, probing and
#           sealing) beside `fount-server package` of the same files; memory while a 1 GiB
#           enclosure is imported; polling 1,000 unchanged feeds (requests, rows written, CPU
#           seconds) beside a plain loop of the same conditional requests. nginx serves them.
# downloads: the native SDK downloading a 100 MB title (4 range requests in flight, files)
#           against curl fetching the same sealed file over the same loopback, alternately;
#           and the bytes fetched twice when a download is cut off halfway and resumed.
# serving:  a 100 MB sealed file served by fount-server's origin (FOUNT_ORIGIN_LISTEN) and its
#           API route against nginx serving the same file with sendfile, in turn, two rounds:
#           random spans of 64 to 256 KiB of audio, whole chunks (64 connections, requests/s)
#           and whole files (8 connections, MB/s); and each server's CPU time per request,
#           read from /proc before and after each run.
# soak:     issuance paced at 80% of its peak for ten minutes (FOUNT_SOAK_SECONDS) on SQLite,
#           with grants, webhook deliveries and a feed's syncs beside it: every error, the
#           server's memory after warm-up and at the end, the WAL's size.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
what=${*:-decrypt issuance wasm widget lists queue webhooks events feeds downloads serving soak}
need_apt openssl wrk postgresql curl nginx
# Every demo a benchmark starts is the release build (see start_demo).
export FOUNT_DEMO_PROFILE=release
results=$(mktemp)
# reset_pg URL: an empty database.
reset_pg() { PGOPTIONS='-c client_min_messages=warning' psql -q "$1" -c 'DROP SCHEMA public CASCADE; CREATE SCHEMA public' >/dev/null; }

if [[ $what == *decrypt* ]]; then
  echo "==> decryption throughput"
  cargo bench -q -p fount-sdk --bench decrypt | tee -a "$results"
  openssl_kbs=$(openssl speed -evp aes-256-gcm -decrypt -bytes 16384 -seconds 3 2>/dev/null | awk '/^AES-256-GCM/ {sub("k","",$2); print $2}')
  echo "{\"bench\":\"openssl_decrypt\",\"chunk_bytes\":16384,\"mb_per_s\":$(awk "BEGIN {printf \"%.1f\", $openssl_kbs / 1000}")}" | tee -a "$results"
fi

run_issuance() { # backend database_url [binary dir] [label]
  local backend=$1 url=$2 dir=${3:-target/release} label=${4:-current} data port pid
  data=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export FOUNT_DATA=$data FOUNT_LOG=warn
  if [ -n "$url" ]; then export FOUNT_DATABASE_URL=$url; else unset FOUNT_DATABASE_URL; fi
  local bin=$dir/fount-server
  $bin init >/dev/null
  store=$($bin store create --name Bench --device-limit 5 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  key=$($bin apikey create --store "$store" 2>/dev/null)
  title=$($bin package --store "$store" --new-title Bench examples/media/sample.mp3 2>/dev/null)
  $bin serve --listen "127.0.0.1:$port" >"$data/server.log" 2>&1 &
  pid=$!
  # Stopped below; this is for a run that fails before then.
  on_exit "kill $pid 2>/dev/null"
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  "$dir/examples/issuance_bench" setup "http://127.0.0.1:$port" "$key" "$title" 256 "$data/clients"
  # Warm up, then measure.
  FOUNT_BENCH_CLIENTS=$data/clients wrk -t2 -c64 -d3s -s scripts/bench/acquire.lua "http://127.0.0.1:$port" >/dev/null
  # The SQLite WAL's size every half second while the load runs (0 on PostgreSQL).
  ( while kill -0 "$pid" 2>/dev/null; do stat -c %s "$data/fount.db-wal" 2>/dev/null || echo 0; sleep 0.5; done ) >"$data/wal" &
  local sampler=$!
  FOUNT_BENCH_CLIENTS=$data/clients wrk -t2 -c64 -d15s --latency -s scripts/bench/acquire.lua "http://127.0.0.1:$port" | tee "$data/wrk"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  wait "$sampler" 2>/dev/null || true
  python3 - "$backend" "$data/wrk" "$label" "$data/wal" <<'PY' | tee -a "$results"
import json, re, sys
backend, text, label = sys.argv[1], open(sys.argv[2]).read(), sys.argv[3]
wal = [int(line) for line in open(sys.argv[4]) if line.strip().isdigit()] or [0]
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % label, text, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return round(value * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(json.dumps({"bench": "license_issuance", "database": backend, "build": label, "connections": 64,
                  "licenses_per_s": round(rps), "p50_ms": ms("50%"), "p99_ms": ms("99%"),
                  "non_2xx": int(errors.group(1)) if errors else 0,
                  "wal_max_mb": round(max(wal) / 1e6, 1), "wal_end_mb": round(wal[-1] / 1e6, 1)}))
PY
  rm -rf "$data"
}

if [[ $what == *issuance* ]]; then
  echo "==> license issuance"
  cargo build -q --release -p fount-server --bin fount-server --example issuance_bench
  target/release/examples/issuance_bench ceiling 3 | tee -a "$results"
  run_issuance sqlite ""
  pg=$(mktemp -d)
  trap 'scripts/postgres.sh stop "$pg/pg"; rm -rf "$pg"' EXIT
  run_issuance postgres "$(FOUNT_PG_FSYNC=on scripts/postgres.sh start "$pg/pg")"
fi

if [[ $what == *wasm* ]]; then
  echo "==> wasm vs native decryption"
  bash scripts/build-wasm.sh
  cat bindings/wasm/js/pkg/sizes.json | sed 's/^{/{"bench":"wasm_size",/' >> "$results"
  cargo build -q --release --locked -p fount-sdk --example offline_read_bench
  work=$(mktemp -d)
  # A 3-minute WAV (32 MB), so the reads are long enough to time.
  python3 - "$work/long.wav" <<'PY'
import math, struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
    second = b"".join(struct.pack("<hh", int(8000 * math.sin(i / 20)), int(8000 * math.cos(i / 30))) for i in range(44100))
    for _ in range(180):
        w.writeframes(second)
PY
  start_demo
  api() { curl -sf -H "Authorization: Bearer $(python3 -c 'import json,os; print(json.load(open(os.environ["FOUNT_DEMO_JSON"]))["api_key"])')" "$@"; }
  title=$(api -H 'content-type: application/json' -d '{"title":"Bench"}' "$DEMO_URL/v1/titles" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  job=$(api -H 'content-type: audio/wav' --data-binary "@$work/long.wav" "$DEMO_URL/v1/titles/$title/tracks?filename=long.wav" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["job"]["id"])')
  # The upload is packaged by a worker: wait for it.
  until api "$DEMO_URL/v1/jobs/$job" | grep -q '"state":"completed"'; do sleep 0.2; done
  (cd bindings/wasm/js && FOUNT_BENCH_TITLE=$title node bench/decrypt.mjs prepare "$work/snapshot.json")
  (cd bindings/wasm/js && node bench/decrypt.mjs run "$work/snapshot.json") | tee -a "$results"
  need_apt chromium fonts-liberation
  (cd bindings/wasm/js && NODE_PATH="$ROOT/tools/node_modules" node bench/decrypt.mjs browser "$work/snapshot.json") | tee -a "$results"
  target/release/examples/offline_read_bench "$work/snapshot.json" | tee -a "$results"
  rm -rf "$work"
fi

if [[ $what == *lists* ]]; then
  echo "==> memory while listing a large store"
  cargo build -q --release --locked -p fount-server
  data=$(mktemp -d)
  port=$(free_port)
  bin=target/release/fount-server
  (
    export FOUNT_DATA=$data FOUNT_LOG=warn
    unset FOUNT_DATABASE_URL
    $bin init >/dev/null
    store=$($bin store create --name Lists | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
    key=$($bin apikey create --store "$store" 2>/dev/null)
    title=$($bin package --store "$store" --new-title Lists examples/media/sample.mp3 2>/dev/null)
    $bin serve --listen "127.0.0.1:$port" >"$data/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
    python3 scripts/bench/lists.py "http://127.0.0.1:$port" "$key" "$title" "$pid" 42000 20
    kill "$pid"; wait "$pid" 2>/dev/null || true
  ) | tee -a "$results"
  rm -rf "$data"
fi

if [[ $what == *queue* ]]; then
  echo "==> the queue: jobs per second"
  cargo build -q --release --locked -p fount-server
  run_queue() { # backend url
    for workers in 1 2 4; do
      local data
      data=$(mktemp -d)
      (
        export FOUNT_DATA=$data FOUNT_LOG=warn FOUNT_BENCH_DB=$1
        if [ -n "$2" ]; then
          export FOUNT_DATABASE_URL=$2
          reset_pg "$2"
        else unset FOUNT_DATABASE_URL; fi
        target/release/fount-server init >/dev/null
        python3 scripts/bench/queue.py target/release/fount-server "$workers" 20000 16
      ) | tee -a "$results"
      rm -rf "$data"
    done
  }
  ref=$(mktemp -d)
  python3 scripts/bench/commits.py sqlite "$ref/commits.db" 5 | tee -a "$results"
  rm -rf "$ref"
  run_queue sqlite ""
  pgq=$(mktemp -d)
  on_exit "scripts/postgres.sh stop '$pgq/pg'; rm -rf '$pgq'"
  pgurl=$(FOUNT_PG_FSYNC=on scripts/postgres.sh start "$pgq/pg")
  psql -q "$pgurl" -c 'CREATE TABLE IF NOT EXISTS commit_bench (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)' >/dev/null
  echo "INSERT INTO commit_bench (body) VALUES (repeat('x', 200));" > "$pgq/insert.sql"
  tps=$(/usr/lib/postgresql/15/bin/pgbench -n -c 4 -j 2 -T 10 -f "$pgq/insert.sql" "$pgurl" 2>/dev/null | awk '/^tps/ {print int($3)}')
  echo "{\"bench\":\"commit_reference\",\"database\":\"postgres\",\"clients\":4,\"commits_per_s\":$tps}" | tee -a "$results"
  run_queue postgres "$pgurl"
fi

if [[ $what == *webhooks* ]]; then
  echo "==> webhook deliveries per second"
  cargo build -q --release --locked -p fount-server
  rx=$(mktemp -d)
  rx_port=$(free_port)
  cat > "$rx/nginx.conf" <<NGINX
worker_processes 1;
pid $rx/nginx.pid;
error_log $rx/error.log;
events {}
http {
  access_log off;
  client_body_temp_path $rx;
  server { listen 127.0.0.1:$rx_port; location / { return 204; } }
}
NGINX
  nginx -c "$rx/nginx.conf"
  on_exit "kill \$(cat '$rx/nginx.pid') 2>/dev/null; rm -rf '$rx'"
  # The reference: wrk's requests per second to the same receiver, a delivery's size each.
  body=$(python3 -c 'print("x" * 700)')
  cat > "$rx/post.lua" <<LUA
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/json"
LUA
  rps=$(wrk -t1 -c16 -d5s -s "$rx/post.lua" "http://127.0.0.1:$rx_port/hook" | awk '/Requests\/sec/ {print int($2)}')
  echo "{\"bench\":\"receiver_reference\",\"connections\":16,\"requests_per_s\":$rps}" | tee -a "$results"
  run_webhooks() { # backend url
    local data port pid
    data=$(mktemp -d)
    port=$(free_port)
    (
      export FOUNT_DATA=$data FOUNT_LOG=warn FOUNT_BENCH_DB=$1 FOUNT_ALLOW_PRIVATE_URLS=1
      if [ -n "$2" ]; then
        export FOUNT_DATABASE_URL=$2
        reset_pg "$2"
      else unset FOUNT_DATABASE_URL; fi
      target/release/fount-server serve --listen "127.0.0.1:$port" --workers 0 >"$data/server.log" 2>&1 &
      pid=$!
      for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
      python3 scripts/bench/webhooks.py target/release/fount-server "http://127.0.0.1:$port" "http://127.0.0.1:$rx_port/hook" 5000 16
      kill "$pid"; wait "$pid" 2>/dev/null || true
    ) | tee -a "$results"
    rm -rf "$data"
  }
  run_webhooks sqlite ""
  pgw=$(mktemp -d)
  on_exit "scripts/postgres.sh stop '$pgw/pg'; rm -rf '$pgw'"
  run_webhooks postgres "$(FOUNT_PG_FSYNC=on scripts/postgres.sh start "$pgw/pg")"
fi

if [[ $what == *feeds* ]]; then
  echo "==> feeds: importing and polling"
  cargo build -q --release --locked -p fount-server
  pgf=$(mktemp -d)
  on_exit "scripts/postgres.sh stop '$pgf/pg'; rm -rf '$pgf'"
  python3 scripts/bench/feeds.py target/release/fount-server "$(FOUNT_PG_FSYNC=on scripts/postgres.sh start "$pgf/pg")" | tee -a "$results"
fi

# big_title_demo DIR: a release `fount-server demo` in DIR/server (stopped on exit) holding
# a 100 MB title (scripts/download-fixture.py); sets port, demopid and big (the title's id).
big_title_demo() {
  local dir=$1
  port=$(free_port)
  FOUNT_LOG=warn target/release/fount-server demo --listen "127.0.0.1:$port" --data "$dir/server" >"$dir/server.log" 2>&1 &
  demopid=$!
  on_exit "kill $demopid 2>/dev/null"
  for _ in $(seq 200); do curl -sf "http://127.0.0.1:$port/health" >/dev/null 2>&1 && [ -f "$dir/server/demo.json" ] && break; sleep 0.1; done
  big=$(python3 scripts/download-fixture.py "$dir/server/demo.json" examples/media/sample.mp3 "$dir" | head -1)
  rm -f "$dir/long.mp3"
}

# cpu_ticks PID…: user and system clock ticks these processes have used.
cpu_ticks() { local t=0 p; for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done; echo $t; }

if [[ $what == *serving* ]]; then
  echo "==> serving sealed files: fount-server against nginx (sendfile)"
  cargo build -q --release --locked -p fount-server
  sv=$(mktemp -d)
  on_exit "rm -rf '$sv'"
  oport=$(free_port)
  export FOUNT_ORIGIN_LISTEN=127.0.0.1:$oport
  big_title_demo "$sv"
  unset FOUNT_ORIGIN_LISTEN
  svpid=$demopid title=$big
  read -r file size < <(target/release/fount-server track list --title "$title" --json --data "$sv/server" 2>/dev/null |
    python3 -c 'import json,sys; t=json.load(sys.stdin)[0]; print(t["file"], t["sealed_length"])')
  # nginx's workers run as an unprivileged user: they must read the assets folder.
  chmod o+rx "$sv" "$sv/server" "$sv/server/assets"
  nport=$(free_port)
  {
    echo "daemon off; worker_processes auto; pid $sv/nginx.pid; error_log $sv/nginx.log warn;"
    echo "events { worker_connections 4096; }"
    # sendfile without tcp_nopush: with it (as Debian's default nginx.conf has), ranges wait on the
    # corked tail of each response and nginx serves 6,400 of them a second instead of 36,000.
    echo "http { access_log off; sendfile on; keepalive_requests 1000000; open_file_cache max=64;"
    echo "  client_body_temp_path $sv/t1; proxy_temp_path $sv/t2; fastcgi_temp_path $sv/t3; uwsgi_temp_path $sv/t4; scgi_temp_path $sv/t5;"
    echo "  server { listen 127.0.0.1:$nport; root $sv/server/assets; location / { } } }"
  } >"$sv/nginx.conf"
  nginx -p "$sv" -c "$sv/nginx.conf" &
  ngpid=$!
  on_exit "kill $ngpid 2>/dev/null"
  for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$nport/$file" && break; sleep 0.1; done
  clk=$(getconf CLK_TCK)
  serve_run() { # server kind path pid
    local server=$1 kind=$2 url=$3 pid=$4 conns=64 before after out pids
    [ "$kind" = whole ] && conns=8
    pids=("$pid")
    # nginx's workers are the master's children.
    [ "$server" = nginx ] && mapfile -t -O 1 pids < <(pgrep -P "$pid")
    if [ "$kind" = ranges ]; then export FOUNT_BENCH_SIZE=$size; else unset FOUNT_BENCH_SIZE; fi
    export FOUNT_BENCH_PATH=$url
    wrk -t2 -c$conns -d2s -s scripts/bench/ranges.lua "http://127.0.0.1:$5" >/dev/null
    before=$(cpu_ticks "${pids[@]}")
    out=$(wrk -t2 -c$conns -d10s -s scripts/bench/ranges.lua "http://127.0.0.1:$5")
    after=$(cpu_ticks "${pids[@]}")
    echo "$out" | python3 -c '
import json, re, sys
server, kind, conns, ticks, clk = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
text = sys.stdin.read()
requests = int(re.search(r"(\d+) requests in", text).group(1))
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
m = re.search(r"Transfer/sec:\s+([\d.]+)(B|KB|MB|GB)", text)
mb = float(m.group(1)) * {"B": 1e-6, "KB": 1024 / 1e6, "MB": 1024**2 / 1e6, "GB": 1024**3 / 1e6}[m.group(2)]
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(json.dumps({"bench": "serving", "server": server, "kind": kind, "connections": conns, "requests": requests,
                  "requests_per_s": round(rps), "mb_per_s": round(mb), "cpu_ms_per_request": round(ticks * 1000 / clk / max(requests, 1), 4),
                  "non_2xx": int(bad.group(1)) if bad else 0}))
' "$server" "$kind" "$conns" "$((after - before))" "$clk" | tee -a "$results"
  }
  for round in 1 2; do
    for kind in ranges whole; do
      serve_run nginx "$kind" "/$file" "$ngpid" "$nport"
      serve_run origin "$kind" "/$file" "$svpid" "$oport"
      serve_run api "$kind" "/pub/$title/tracks/$file" "$svpid" "$port"
    done
  done
  kill $ngpid $svpid 2>/dev/null || true
fi

if [[ $what == *downloads* ]]; then
  echo "==> downloads: the native SDK against curl"
  cargo build -q --release --locked -p fount-server --bin fount-server --example download_bench
  dl=$(mktemp -d)
  on_exit "rm -rf '$dl'"
  big_title_demo "$dl"
  target/release/examples/download_bench "$dl/server/demo.json" "$big" "$dl/work" 9 | tee -a "$results"
  kill $demopid 2>/dev/null || true
fi

if [[ $what == *events* ]]; then
  echo "==> the cost of the event log on the issuing path"
  cargo build -q --release -p fount-server --bin fount-server --example issuance_bench
  # The reference: the same server just before the event log, built once in .cache.
  ref_commit=f95c8c3
  if [ ! -x "$CACHE/bench-ref/target/release/fount-server" ] || [ "$(cat "$CACHE/bench-ref/commit" 2>/dev/null)" != $ref_commit ]; then
    rm -rf "$CACHE/bench-ref/src"
    git worktree prune
    git worktree add --detach "$CACHE/bench-ref/src" $ref_commit >/dev/null
    (cd "$CACHE/bench-ref/src" && CARGO_TARGET_DIR="$CACHE/bench-ref/target" cargo build -q --release -p fount-server --bin fount-server --example issuance_bench)
    echo $ref_commit > "$CACHE/bench-ref/commit"
    git worktree remove --force "$CACHE/bench-ref/src"
  fi
  pge=$(mktemp -d)
  on_exit "scripts/postgres.sh stop '$pge/pg'; rm -rf '$pge'"
  pgurl=$(FOUNT_PG_FSYNC=on scripts/postgres.sh start "$pge/pg")
  fresh_pg() { reset_pg "$pgurl"; echo "$pgurl"; }
  # Pairs, in turn each build first (ABBA): a machine that drifts during a pair then favours
  # neither. The summary's ratio is the median of the pairs' ratios.
  for round in 1 2 3 4 5 6; do
    for db in sqlite postgres; do
      url=""
      if (( round % 2 )); then order="reference events"; else order="events reference"; fi
      for build in $order; do
        [ $db = postgres ] && url=$(fresh_pg)
        if [ $build = reference ]; then dir=$CACHE/bench-ref/target/release; else dir=target/release; fi
        run_issuance $db "$url" "$dir" $build
      done
    done
  done
fi

if [[ $what == *widget* ]]; then
  echo "==> widget: click to playing, and what it loads"
  start_widget_demo
  (cd widget && NODE_PATH="$ROOT/tools/node_modules" node bench/play-latency.js) | tee -a "$results"
fi

if [[ $what == *soak* ]]; then
  echo "==> the soak: issuance at 80% of its peak, with webhooks and a feed"
  cargo build -q --release -p fount-server --bin fount-server --example issuance_bench
  python3 scripts/bench/soak.py target/release/fount-server target/release/examples/issuance_bench "${FOUNT_SOAK_SECONDS:-600}" | tee -a "$results"
fi

echo "==> summary"
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
by = lambda **kw: next((r for r in rows if all(r.get(k) == v for k, v in kw.items())), None)
ossl = by(bench="openssl_decrypt")
for mode in ("in_place", "read"):
    r = by(bench="sdk_decrypt", mode=mode)
    if r and ossl:
        print(f"decrypt {mode:8s} {r['mb_per_s']:8.0f} MB/s  openssl {ossl['mb_per_s']:.0f} MB/s  ratio {r['mb_per_s'] / ossl['mb_per_s']:.2f} (target >= 0.8)")
ceiling = max((r for r in rows if r["bench"] == "crypto_ceiling"), key=lambda r: r["threads"], default=None)
for db in ("sqlite", "postgres"):
    r = by(bench="license_issuance", database=db)
    if r:
        share = f"  {r['licenses_per_s'] / ceiling['licenses_per_s']:.2f} of the crypto ceiling ({ceiling['licenses_per_s']}/s)" if ceiling else ""
        wal = f"  WAL max {r['wal_max_mb']} MB, {r['wal_end_mb']} MB at the end" if db == "sqlite" and "wal_max_mb" in r else ""
        print(f"issuance {db:8s} {r['licenses_per_s']:6d} licenses/s  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  non-2xx {r['non_2xx']}{share}{wal}")
native, size = by(bench="native_read"), by(bench="wasm_size")
for runtime in ("node", "chromium"):
    for aes in ("webcrypto", "wasm"):
        wasm = by(bench="wasm_read", runtime=runtime, aes=aes)
        if wasm and native:
            print(f"read     JS SDK in {runtime}, AES in {aes} {wasm['mb_per_s']} MB/s  native {native['mb_per_s']} MB/s  ratio {wasm['mb_per_s'] / native['mb_per_s']:.2f} ({wasm['bytes']} bytes)"
                  + ("  (target >= 0.5)" if aes == "webcrypto" else ""))
if size:
    print(f"package  wasm {size['wasm_gzip']} bytes gzipped (budget 212992), JS glue {size['js_gzip']} bytes gzipped (budget 17408)")
for play in (r for r in rows if r["bench"] == "widget_click_to_playing"):
    link = play.get("link", "loopback")
    link = link if isinstance(link, str) else f"a {link['mbit']} Mbit/s link, {link['rtt']} ms RTT"
    print(f"widget   click to playing ({play['mode']}, {link}): widget {play['widget_median_ms']} ms, plain <audio> {play['plain_median_ms']} ms (medians of {play['rounds']}), ratio {play['ratio']} (target <= 1.3)")
lists = by(bench="list_memory")
if lists:
    print(f"lists    {lists['entitlements']} entitlements listed {lists['walks']} times ({lists['pages_per_walk']} pages of at most {lists['largest_page_bytes']} bytes): "
          f"RSS {lists['rss_after_first_walk_mb']} MB after the first walk, {lists['rss_after_last_walk_mb']} MB after the last ({lists['growth_after_first_walk']:+.1%})")
for db in ("sqlite", "postgres"):
    ref = by(bench="commit_reference", database=db)
    for r in (r for r in rows if r["bench"] == "queue_jobs" and r["database"] == db):
        against = f"  {r['jobs_per_s'] / ref['commits_per_s']:.2f} jobs per single-row commit ({ref['commits_per_s']}/s)" if ref else ""
        print(f"queue    {db:8s} {r['workers']} worker(s) x {r['slots']}: {r['jobs_per_s']:6d} jobs/s ({r['jobs']} in {r['seconds']} s){against}")
recv = by(bench="receiver_reference")
for r in (r for r in rows if r["bench"] == "webhook_deliveries"):
    against = f"  {r['deliveries_per_s'] / recv['requests_per_s']:.2f} of wrk's {recv['requests_per_s']} requests/s to the same receiver" if recv else ""
    print(f"webhooks {r['database']:8s} {r['deliveries_per_s']:6d} deliveries/s ({r['deliveries']} in {r['seconds']} s){against}")
for db in ("sqlite", "postgres"):
    def runs(build):
        return [r["licenses_per_s"] for r in rows if r["bench"] == "license_issuance" and r["database"] == db and r.get("build") == build]
    ref, ev = runs("reference"), runs("events")
    if ref and ev:
        ratios = sorted(e / r for e, r in zip(ev, ref))
        median = (ratios[(len(ratios) - 1) // 2] + ratios[len(ratios) // 2]) / 2
        print(f"events   {db:8s} issuance with the event log {sum(ev) / len(ev):.0f} licenses/s, before it {sum(ref) / len(ref):.0f}/s "
              f"(means of {len(ev)}): ratio, median of the pairs, {median:.2f} (target >= 0.95; pairs {ratios[0]:.2f} to {ratios[-1]:.2f})")
imp, mem, poll = by(bench="feed_import"), by(bench="feed_memory"), by(bench="feed_polling")
if imp:
    print(f"feeds    first import of {imp['items']} items: {imp['items_per_s']} items/s, {imp['reference_items_per_s']}/s packaged from disk "
          f"(ratio {imp['items_per_s'] / imp['reference_items_per_s']:.2f}); fetch {imp['fetch_share']:.0%}, probe {imp['probe_share']:.0%}, seal {imp['seal_share']:.0%}")
if mem:
    print(f"feeds    a {mem['enclosure_bytes']}-byte enclosure imported in {mem['seconds']} s: RSS {mem['rss_before_mb']} MB before, peak {mem['rss_peak_mb']} MB")
if poll:
    print(f"feeds    {poll['feeds']} unchanged feeds polled: {poll['requests']} requests {poll['statuses']}, rows written {poll['rows_written']}, "
          f"server CPU {poll['server_cpu_s']} s, a plain loop {poll['reference_cpu_s']} s (ratio {poll['cpu_ratio']})")
dl, refetch = by(bench="download_throughput"), by(bench="download_refetch")
if dl:
    print(f"download {dl['bytes']} sealed bytes, {dl['parallel']} in flight: SDK {dl['sdk_mb_per_s']} MB/s, curl {dl['curl_mb_per_s']} MB/s "
          f"(ratio {dl['ratio']}, the median of {dl['rounds']} alternating pairs; target >= 0.9)")
if refetch:
    print(f"download cut off at {refetch['cut_at_bytes']} bytes and resumed: {refetch['blocks_fetched_twice']} blocks "
          f"({refetch['bytes_fetched_twice']} bytes) fetched twice, at most {refetch['parallel']} allowed (one per request in flight)")
serving = [r for r in rows if r["bench"] == "serving"]
mean = lambda rs, k: sum(r[k] for r in rs) / len(rs)
for kind, unit in (("ranges", "requests_per_s"), ("whole", "mb_per_s")):
    n = [r for r in serving if r["kind"] == kind and r["server"] == "nginx"]
    for server, label in (("origin", "fount's origin"), ("api", "fount's API route")):
        f = [r for r in serving if r["kind"] == kind and r["server"] == server]
        if f and n:
            print(f"serving  {kind}: {label} {mean(f, unit):.0f} {unit}, nginx (sendfile) {mean(n, unit):.0f} (ratio {mean(f, unit) / mean(n, unit):.2f}, target >= 1); "
                  f"CPU per request {mean(f, 'cpu_ms_per_request'):.4f} ms, nginx {mean(n, 'cpu_ms_per_request'):.4f} ms "
                  f"(ratio {mean(f, 'cpu_ms_per_request') / mean(n, 'cpu_ms_per_request'):.2f}, target <= 2)")
soak = by(bench="soak")
if soak:
    print(f"soak     {soak['seconds']} s at {soak['licenses_per_s']} licenses/s (80% of a {soak['peak_per_s']}/s peak; p99 {soak['p99_ms']} ms), "
          f"{soak['grants']} grants, {soak['webhook_deliveries']} webhook deliveries, {soak['feed_items_published']} feed items: "
          f"{soak['error_count']} errors {soak['errors']}; RSS {soak['rss_after_warmup_mb']} MB after warm-up, {soak['rss_end_mb']} MB at the end "
          f"({soak['rss_growth_pct']:+}%, target < 10%); WAL max {soak['wal_max_mb']} MB, {soak['wal_end_mb']} MB at the end")
stream = by(bench="widget_stream")
if stream:
    against = f", ratio {stream['mb_per_s'] / native['mb_per_s']:.2f} of the native core's {native['mb_per_s']} MB/s (target >= 0.5)" if native else ""
    print(f"widget   service worker streams a {stream['bytes']}-byte track decrypted at {stream['mb_per_s']} MB/s (best of 10){against}")
loads = by(bench="widget_size")
if loads:
    print(f"widget   first visit, bytes on the wire in {len(loads['files'])} files: {loads['total_chromium']} to Chromium (Brotli), "
          f"{loads['total_gzip']} to a gzip-only client, {loads['total_none']} uncompressed (target <= 150000)")
PY
rm -f "$results"
