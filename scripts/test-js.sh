#!/usr/bin/env bash
# The JavaScript SDK's tests: builds the npm package (checking its size budget), type-checks
# its declarations, then runs its tests in Node (node --test) and in headless Chromium
# (playwright-core), each against a live `fount-server demo`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bash scripts/build-wasm.sh
export FOUNT_SAMPLE="$ROOT/examples/media/sample.mp3"
start_demo
(cd bindings/wasm/js && node --test test/)
