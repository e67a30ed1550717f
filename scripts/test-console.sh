#!/usr/bin/env bash
# The console's tests: headless Chromium (playwright-core, axe-core) against a live
# `fount-server demo`, with console accounts made by the CLI as an operator does. Screenshots
# go to artifacts/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
need_tools
# The tests' webhook receiver and feed are on loopback.
export FOUNT_ALLOW_PRIVATE_URLS=1
start_demo
export FOUNT_SERVER_BIN="$ROOT/target/debug/fount-server"
(cd license-server/tests/console && NODE_PATH="$ROOT/tools/node_modules" node --test --test-concurrency=1 --test-timeout=180000 console.test.js)
