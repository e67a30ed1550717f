#!/usr/bin/env bash
# The Python binding's tests: `pip install` of bindings/python into a fresh venv (which builds
# the library and generates the module), then pytest against a live `fount-server demo`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
venv="$CACHE/venv-python-binding"
rm -rf "$venv"
python3 -m venv "$venv"
FOUNT_CARGO_PROFILE=dev "$venv/bin/pip" install -q --disable-pip-version-check pytest==8.* ./bindings/python
export FOUNT_SAMPLE="$ROOT/examples/media/sample.mp3"
start_demo
start_download_fixture
# Run from the tests folder so the installed package, not the source tree, is imported.
(cd bindings/python/tests && "$venv/bin/python" -m pytest -q -p no:cacheprovider .)
