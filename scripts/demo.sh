#!/usr/bin/env bash
# Runs the demo: builds the widget's decryption module (the wasm SDK, which the server embeds),
# then `fount-server demo` in release mode. Installs what it needs on a fresh machine first.
# Options go to `fount-server demo`: --listen ADDR, --data DIR, --allow-origin ORIGIN.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
step "build the widget's decryption module" bash scripts/build-wasm.sh
step "build fount-server (release: minutes the first time, seconds after)" cargo build --release --locked -p fount-server
echo "==> start the demo"
exec "$ROOT/target/release/fount-server" demo "$@"
