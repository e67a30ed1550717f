#!/usr/bin/env bash
# The widget's tests: headless Chromium (playwright-core) on a store page served from one
# origin, against a live `fount-server demo` that allows that origin. Screenshots go to
# artifacts/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
need_tools
start_widget_demo
# The tests also make a store that is not a demo store, with the CLI, as an operator does.
export FOUNT_SERVER_BIN="$ROOT/target/debug/fount-server"
(cd widget && NODE_PATH="$ROOT/tools/node_modules" node --test --test-concurrency=1 --test-timeout=180000 test/*.test.js)
