#!/usr/bin/env bash
# The widget's tests: headless Chromium (playwright-core) on a store page served from one
# origin, against a live `fount-server demo` that allows that origin. Screenshots go to
# artifacts/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
need_apt chromium fonts-liberation
need_tools
# The player's decryption module is built into the server: build it first.
bash scripts/build-wasm.sh
FOUNT_STORE_PORT=$(free_port)
export FOUNT_STORE_PORT
start_demo --allow-origin "http://localhost:$FOUNT_STORE_PORT"
# The tests also make a store that is not a demo store, with the CLI, as an operator does.
export FOUNT_SERVER_BIN="$ROOT/target/debug/fount-server"
(cd widget && NODE_PATH="$ROOT/tools/node_modules" node --test --test-concurrency=1 test/*.test.js)
