#!/usr/bin/env bash
# Fount's benchmarks. Each compares against a reference measured in the same run, because
# these machines are shared and noisy; docs/benchmarks.md records the results.
#
#   scripts/bench.sh [decrypt] [issuance] [wasm] [widget] [lists]     (default: all five)
#
# decrypt:  SDK decryption throughput vs `openssl speed -evp aes-256-gcm -decrypt`, 64 KiB.
# issuance: licenses/s and latency over HTTP, 64 connections (wrk), on SQLite and on
#           PostgreSQL, beside the crypto ceiling (sign + wrap per license, in process).
# wasm:     the JavaScript SDK's decryption throughput in Node (wasm) vs the native core, the
#           same downloaded title read offline with the same key; and the package's sizes.
# widget:   click on Play to `playing` in the widget vs a plain <audio> element with the same
#           file unencrypted, in headless Chromium; and the gzipped bytes the widget loads.
# lists:    the server's memory while a store of 42,000 entitlements is listed page by page,
#           twenty times over (reference: its memory after the first walk).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
what=${*:-decrypt issuance wasm widget lists}
need_apt openssl wrk postgresql curl
results=$(mktemp)

if [[ $what == *decrypt* ]]; then
  echo "==> decryption throughput"
  cargo bench -q -p fount-sdk --bench decrypt | tee -a "$results"
  openssl_kbs=$(openssl speed -evp aes-256-gcm -decrypt -bytes 65536 -seconds 3 2>/dev/null | awk '/^AES-256-GCM/ {sub("k","",$2); print $2}')
  echo "{\"bench\":\"openssl_decrypt\",\"chunk_bytes\":65536,\"mb_per_s\":$(awk "BEGIN {printf \"%.1f\", $openssl_kbs / 1000}")}" | tee -a "$results"
fi

run_issuance() { # backend database_url
  local backend=$1 url=$2 data port pid
  data=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  export FOUNT_DATA=$data FOUNT_LOG=warn
  if [ -n "$url" ]; then export FOUNT_DATABASE_URL=$url; else unset FOUNT_DATABASE_URL; fi
  local bin=target/release/fount-server
  $bin init >/dev/null
  store=$($bin store create --name Bench --device-limit 5 | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  key=$($bin apikey create --store "$store" 2>/dev/null)
  title=$($bin package --store "$store" --new-title Bench examples/media/sample.mp3 2>/dev/null)
  $bin serve --listen "127.0.0.1:$port" >"$data/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
  target/release/examples/issuance_bench setup "http://127.0.0.1:$port" "$key" "$title" 256 "$data/clients"
  # Warm up, then measure.
  FOUNT_BENCH_CLIENTS=$data/clients wrk -t2 -c64 -d3s -s scripts/bench/acquire.lua "http://127.0.0.1:$port" >/dev/null
  FOUNT_BENCH_CLIENTS=$data/clients wrk -t2 -c64 -d15s --latency -s scripts/bench/acquire.lua "http://127.0.0.1:$port" | tee "$data/wrk"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  python3 - "$backend" "$data/wrk" <<'PY' | tee -a "$results"
import json, re, sys
backend, text = sys.argv[1], open(sys.argv[2]).read()
def ms(label):
    m = re.search(r"^\s*%s\s+([\d.]+)(us|ms|s)\s*$" % label, text, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return round(value * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(json.dumps({"bench": "license_issuance", "database": backend, "connections": 64,
                  "licenses_per_s": round(rps), "p50_ms": ms("50%"), "p99_ms": ms("99%"),
                  "non_2xx": int(errors.group(1)) if errors else 0}))
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
  api -H 'content-type: audio/wav' --data-binary "@$work/long.wav" "$DEMO_URL/v1/titles/$title/tracks?filename=long.wav" >/dev/null
  (cd bindings/wasm/js && FOUNT_BENCH_TITLE=$title node bench/decrypt.mjs prepare "$work/snapshot.json")
  (cd bindings/wasm/js && node bench/decrypt.mjs run "$work/snapshot.json") | tee -a "$results"
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

if [[ $what == *widget* ]]; then
  echo "==> widget: click to playing, and what it loads"
  start_widget_demo
  (cd widget && NODE_PATH="$ROOT/tools/node_modules" node bench/play-latency.js) | tee -a "$results"
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
        print(f"issuance {db:8s} {r['licenses_per_s']:6d} licenses/s  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms  non-2xx {r['non_2xx']}{share}")
wasm, native, size = by(bench="wasm_read"), by(bench="native_read"), by(bench="wasm_size")
if wasm and native:
    print(f"read     wasm {wasm['mb_per_s']} MB/s  native {native['mb_per_s']} MB/s  ratio {wasm['mb_per_s'] / native['mb_per_s']:.2f} ({wasm['bytes']} bytes)")
if size:
    print(f"package  wasm {size['wasm_gzip']} bytes gzipped (budget 153600), JS glue {size['js_gzip']} bytes gzipped (budget 15360)")
for mode in ("warm", "cold"):
    play = by(bench="widget_click_to_playing", mode=mode)
    if play:
        print(f"widget   click to playing ({mode}): widget {play['widget_median_ms']} ms, plain <audio> {play['plain_median_ms']} ms (medians of {play['rounds']}), ratio {play['ratio']} (target <= 2)")
lists = by(bench="list_memory")
if lists:
    print(f"lists    {lists['entitlements']} entitlements listed {lists['walks']} times ({lists['pages_per_walk']} pages of at most {lists['largest_page_bytes']} bytes): "
          f"RSS {lists['rss_after_first_walk_mb']} MB after the first walk, {lists['rss_after_last_walk_mb']} MB after the last ({lists['growth_after_first_walk']:+.1%})")
loads = by(bench="widget_size")
if loads:
    print(f"widget   first visit loads {loads['total_gzip']} bytes gzipped ({loads['total_bytes']} raw) in {len(loads['files'])} files")
PY
rm -f "$results"
