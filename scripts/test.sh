#!/usr/bin/env bash
# Runs every test of Fount: format, lints, the wasm build of the core, the Rust tests on
# SQLite and on a throwaway PostgreSQL, and an independent check of the format test vectors.
# On a fresh machine it first installs what it needs (Debian packages, the wasm target, a
# Python venv in .cache/).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
started=$SECONDS

install() {
  need_apt clang postgresql openssl
  need_rust
  python_env cryptography==50.* jwcrypto==1.6.*
}
step "install what the tests need" install

step "format" cargo fmt --all --check
step "clippy (warnings are errors)" cargo clippy --workspace --all-targets --locked -- -D warnings
step "fount-sdk builds for wasm32-unknown-unknown" cargo build -p fount-sdk --target wasm32-unknown-unknown --locked

pg_dir=$(mktemp -d)
trap 'scripts/postgres.sh stop "$pg_dir/pg"; rm -rf "$pg_dir"' EXIT
FOUNT_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$pg_dir/pg")
export FOUNT_TEST_POSTGRES_URL
echo "    throwaway PostgreSQL at $FOUNT_TEST_POSTGRES_URL"

step "Rust tests (SQLite and PostgreSQL)" cargo test --workspace --locked
step "test vectors, independent Python implementation" "$PYTHON" tests/vectors/check_vectors.py

echo "all tests passed in $((SECONDS - started)) s"
