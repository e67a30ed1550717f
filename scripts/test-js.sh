#!/usr/bin/env bash
# The JavaScript SDK's tests: builds the npm package (checking its size budget), type-checks
# its declarations, then runs its tests in Node (node --test) and in headless Chromium
# (playwright-core), each against a live `fount-server demo`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
need_apt chromium fonts-liberation
bash scripts/build-wasm.sh
step "TypeScript declarations (tsc --strict)" "$ROOT/tools/node_modules/.bin/tsc" -p bindings/wasm/js/test/tsconfig.json
export FOUNT_SAMPLE="$ROOT/examples/media/sample.mp3"
start_demo
start_download_fixture m4a
# Node resolves playwright-core from tools/node_modules.
(cd bindings/wasm/js && NODE_PATH="$ROOT/tools/node_modules" node --test --test-timeout=180000 test/*.test.js)
