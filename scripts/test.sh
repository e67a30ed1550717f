#!/usr/bin/env bash
# Runs every test of Fount: format, lints, the wasm build of the core, the Rust tests on
# SQLite and on a throwaway PostgreSQL, an independent check of the format test vectors, and
# the SDK bindings' tests in their languages (Kotlin on the JVM, Python, the Swift API check,
# JavaScript in Node and in headless Chromium), each against a live server; and the widget in
# headless Chromium.
# On a fresh machine it first installs what it needs (Debian packages, the wasm target, npm
# tools in tools/node_modules, Python venvs and wasm-bindgen in .cache/, and Garage, an
# S3-compatible server for the object storage tests, once per machine outside the workspace).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
started=$SECONDS

install() {
  need_apt clang postgresql openssl curl nginx libjna-java default-jre-headless chromium fonts-liberation prometheus systemd
  need_rust
  # An S3-compatible object store (Garage), built once per machine outside the workspace. (Built
  # beside clippy instead, both took 670 s against about 520 one after the other.)
  scripts/garage.sh install >/dev/null
  need_tools
  python_env cryptography==50.* jwcrypto==1.6.* standardwebhooks==1.* prometheus-client==0.*
}
step "install what the tests need" install
# The webhook tests' receiver verifies with the Standard Webhooks reference library; the
# metrics test parses /metrics with the Prometheus client library's parser.
export FOUNT_TEST_PYTHON="$PYTHON"

step "format" cargo fmt --all --check
step "clippy (warnings are errors)" cargo clippy --workspace --all-targets --locked -- -D warnings
step "fount-sdk builds for wasm32-unknown-unknown" cargo build -p fount-sdk --target wasm32-unknown-unknown --locked
step "the wasm binding and the core without software keys pass clippy on wasm32 (the player's build)" \
  cargo clippy --locked --target wasm32-unknown-unknown -p fount-wasm -p fount-sdk --no-default-features -- -D warnings
step "the wasm binding passes clippy on wasm32 (the SDK's build)" \
  cargo clippy --locked --target wasm32-unknown-unknown -p fount-wasm -- -D warnings

# Before anything builds fount-server: the widget's player embeds the wasm package.
step "the wasm package (size budget)" bash scripts/build-wasm.sh

pg_dir=$(mktemp -d)
trap 'scripts/postgres.sh stop "$pg_dir/pg"; scripts/garage.sh stop "$pg_dir/garage"; rm -rf "$pg_dir"' EXIT
FOUNT_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir/pg")
export FOUNT_TEST_POSTGRES_URL
echo "    throwaway PostgreSQL at $FOUNT_TEST_POSTGRES_URL"
# The object storage tests' bucket: AWS_* and FOUNT_TEST_S3_* (scripts/garage.sh).
garage_env=$(scripts/garage.sh start "$pg_dir/garage")
eval "$garage_env"
echo "    throwaway Garage (S3) at $AWS_ENDPOINT"

step "Rust tests (SQLite and PostgreSQL)" cargo test --workspace --locked
step "the API description (OpenAPI 3.1 validator; schemathesis on SQLite and PostgreSQL)" bash scripts/test-openapi.sh
step "the Prometheus examples (promtool: config, rules, rule tests)" bash -c \
  'cd examples/prometheus && promtool check config --syntax-only prometheus.yml && promtool check rules fount-alerts.yml && promtool test rules fount-alerts.test.yml'
step "the systemd units (systemd-analyze verify)" bash scripts/check-systemd.sh
step "test vectors, independent Python implementation" "$PYTHON" tests/vectors/check_vectors.py
step "Kotlin binding (JVM, JNA)" bash scripts/test-kotlin.sh
step "Python binding (pip install, pytest)" bash scripts/test-python.sh
step "Swift binding (generation, API against Kotlin's)" bash scripts/test-swift.sh
step "JavaScript package (types, Node, Chromium)" bash scripts/test-js.sh
step "the widget (Chromium, against a live server)" bash scripts/test-widget.sh
step "the console (Chromium, axe-core, against a live server)" bash scripts/test-console.sh

echo "all tests passed in $((SECONDS - started)) s"
