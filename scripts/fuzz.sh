#!/usr/bin/env bash
# Fuzzes every parser of untrusted input (fuzz/fuzz_targets) with cargo-fuzz (libFuzzer),
# each for a while, starting from a seed corpus made from the format test vectors. Not part
# of the test command: run it by hand, and record what it found in docs/fuzzing.md.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET…]    (default 60 s, every target)
# A crash leaves its input in fuzz/artifacts/<target>/: turn it into a regression test.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
seconds=${1:-60}
shift || true
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
fuzz="$CACHE/cargo-tools/bin/cargo-fuzz"
[ -x "$fuzz" ] || { echo "    installing cargo-fuzz (minutes, once)"; cargo install cargo-fuzz --root "$CACHE/cargo-tools"; }

targets=("$@")
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(cd fuzz && RUSTUP_TOOLCHAIN=nightly "$fuzz" list)

# Seeds: the test vectors, cut into the inputs each target reads.
corpus="$CACHE/fuzz-corpus"
python3 - "$corpus" <<'PY'
import json, os, pathlib, sys
out = pathlib.Path(sys.argv[1]); vec = pathlib.Path("docs/test-vectors")
def seed(target, name, data):
    d = out / target; d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())
lic = json.loads((vec / "license.json").read_text())
for i, l in enumerate(lic["licenses"].values() if isinstance(lic["licenses"], dict) else lic["licenses"]):
    seed("jws", f"license-{i}", l if isinstance(l, str) else json.dumps(l))
for name in ("jwe-ecdh-es", "jwe-rsa-oaep-256"):
    v = json.loads((vec / f"{name}.json").read_text())
    seed("jwe", name, v["jwe"]); seed("jwk", name, json.dumps(v["private_jwk"]))
seed("jwk", "jwks", json.dumps(lic["jwks"]))
for i, c in enumerate(json.loads((vec / "device-id.json").read_text())["cases"]):
    seed("jwk", f"device-{i}", json.dumps(c.get("jwk", c)))
s = json.loads((vec / "sealed-asset.json").read_text())
seed("sealed", "asset", bytes.fromhex(s["sealed_hex"]))
seed("manifest", "manifest", json.dumps(json.loads((vec / "manifest.json").read_text())["manifest"]))
seed("status", "active", json.dumps({"id": "l1", "status": "active", "message": "The license is active.",
     "updated": {"license": 1800000000, "status": 1800000000}, "renew_by": 1800604800,
     "links": [{"rel": "renew", "href": "https://x/renew"}]}))
seed("stripe_signature", "header", b"t=1800000000,v1=" + b"0" * 64 + b"\0{\"id\":\"evt_1\"}")
seed("problem", "problem", b"\x01\x93" + json.dumps({"type": "/problems/not-entitled", "title": "Not entitled",
     "status": 403, "detail": "no entitlement"}).encode())
seed("problem", "html", b"\x01\xf6<html>bad gateway</html>")
PY

mkdir -p "$ROOT/artifacts"
summary="$ROOT/artifacts/fuzz-summary.txt"
: > "$summary"
for t in "${targets[@]}"; do
  echo "==> fuzzing $t for $seconds s"
  mkdir -p "$corpus/$t"
  log="$CACHE/fuzz-$t.log"
  status=0
  (cd fuzz && RUSTUP_TOOLCHAIN=nightly "$fuzz" run "$t" "$corpus/$t" -- -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10) > "$log" 2>&1 || status=$?
  runs=$(grep -oE '^#[0-9]+' "$log" | tail -n 1 | tr -d '#')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
  if [ "$status" -eq 0 ]; then result="no crash"; else result="CRASH (see $log and fuzz/artifacts/$t)"; fi
  echo "$t: $seconds s, ${runs:-?} runs, ${cov:-cov: ?}, $result" | tee -a "$summary"
done
echo "summary in $summary"
