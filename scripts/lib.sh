# Shared by the scripts: install what is missing, run named steps, keep a Python venv.
# Everything here is idempotent: a second run on the same machine installs nothing.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE="$ROOT/.cache"
mkdir -p "$CACHE"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# need_apt PACKAGE…: installs the Debian packages not installed yet.
need_apt() {
  local missing=() p
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "    installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# need_rust: the wasm target and the components the checks use.
need_rust() {
  rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  rustup component list --installed | grep -q '^clippy' || rustup component add clippy
  rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
}

# python_env PACKAGE…: these PyPI packages in the venv .cache/venv (which scripts share;
# each set is installed once); sets PYTHON; prints nothing.
python_env() {
  local venv="$CACHE/venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  local stamp="$venv/.packages-$(echo "$*" | sha1sum | cut -c1-12)"
  if [ ! -f "$stamp" ]; then
    "$venv/bin/pip" install -q --disable-pip-version-check "$@"
    touch "$stamp"
  fi
  PYTHON="$venv/bin/python"
}

STEP_FAILED=0
# step NAME COMMAND…: runs a command, timing it.
step() {
  local name=$1; shift
  local start=$SECONDS
  echo "==> $name"
  "$@"
  echo "    ok: $name ($((SECONDS - start)) s)"
}

# free_port: an unused TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# on_exit COMMAND: runs COMMAND when the script exits (several may be registered).
ON_EXIT=()
on_exit() {
  ON_EXIT+=("$1")
  trap 'for c in "${ON_EXIT[@]}"; do eval "$c" || true; done' EXIT
}

# need_tools: the npm tools (Kotlin compiler, binaryen, playwright-core) in tools/node_modules.
need_tools() {
  if [ ! -d "$ROOT/tools/node_modules/kotlin-compiler" ] || [ "$ROOT/tools/package-lock.json" -nt "$ROOT/tools/node_modules/.package-lock.json" ]; then
    (cd "$ROOT/tools" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  KOTLIN_HOME="$ROOT/tools/node_modules/kotlin-compiler"
}

# start_demo [DEMO OPTION…]: runs `fount-server demo` (FOUNT_DEMO_PROFILE's build) on a free port in a fresh
# folder and waits until it answers. Sets DEMO_URL and exports FOUNT_DEMO_JSON; stops the
# server on exit.
start_demo() {
  # Tests use the debug build they already have; benchmarks set FOUNT_DEMO_PROFILE=release, so
  # a figure never includes the debug build's slowness.
  local profile=${FOUNT_DEMO_PROFILE:-debug}
  if [ "$profile" = release ]; then cargo build -q --release -p fount-server --locked; else cargo build -q -p fount-server --locked; fi
  local dir port
  dir=$(mktemp -d)
  port=$(free_port)
  FOUNT_LOG=warn "$ROOT/target/$profile/fount-server" demo --listen "127.0.0.1:$port" --data "$dir" "$@" >"$dir/server.log" 2>&1 &
  local pid=$!
  on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf '$dir'"
  DEMO_URL="http://127.0.0.1:$port"
  for _ in $(seq 200); do
    curl -sf "$DEMO_URL/health" >/dev/null 2>&1 && [ -f "$dir/demo.json" ] && break
    sleep 0.1
  done
  curl -sf "$DEMO_URL/health" >/dev/null || { cat "$dir/server.log"; echo "the demo server did not start" >&2; return 1; }
  export FOUNT_DEMO_JSON="$dir/demo.json"
}

# demo_field NAME: a field of the running demo's demo.json.
demo_field() {
  python3 -c 'import json,os,sys; print(json.load(open(os.environ["FOUNT_DEMO_JSON"]))[sys.argv[1]])' "$1"
}

# demo_store METHOD PATH [JSON]: calls the demo store's API with its API key; prints the body.
demo_store() {
  curl -sf -X "$1" -H "Authorization: Bearer $(demo_field api_key)" -H 'content-type: application/json' \
    -d "${3:-{\}}" "$DEMO_URL$2"
}

# demo_customer ID: grants the demo title to customer ID and prints a token for it.
demo_customer() {
  demo_store POST /v1/entitlements "{\"customer\":\"$1\",\"title\":\"$(demo_field title_id)\",\"kind\":\"purchase\"}" >/dev/null
  demo_store POST "/v1/customers/$1/tokens" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
}

# start_widget_demo: the wasm SDK built (the server embeds it for the widget's player), then
# the demo, letting pages on http://localhost:$FOUNT_STORE_PORT (a free port, exported) embed
# its widget.
start_widget_demo() {
  need_apt chromium fonts-liberation
  bash "$ROOT/scripts/build-wasm.sh"
  FOUNT_STORE_PORT=$(free_port)
  export FOUNT_STORE_PORT
  start_demo --allow-origin "http://localhost:$FOUNT_STORE_PORT"
}

# start_download_fixture [m4a]: on the running demo, a title of 100 MB of MP3 (its id exported
# as FOUNT_BIG_TITLE) and, with `m4a`, one of 20 minutes of M4A (FOUNT_M4A_TITLE); and the test
# proxy before the demo (FOUNT_PROXY_URL, exported), for the SDK's download and playback tests.
start_download_fixture() {
  local dir pid ids
  dir=$(mktemp -d)
  on_exit "rm -rf '$dir'"
  [ "${1:-}" != m4a ] || need_apt ffmpeg
  ids=$(python3 "$ROOT/scripts/download-fixture.py" "$FOUNT_DEMO_JSON" "$ROOT/examples/media/sample.mp3" "$dir" "$@")
  FOUNT_BIG_TITLE=$(sed -n 1p <<<"$ids")
  FOUNT_M4A_TITLE=$(sed -n 2p <<<"$ids")
  export FOUNT_BIG_TITLE FOUNT_M4A_TITLE
  rm -f "$dir/long.mp3" "$dir/tone.m4a"
  python3 "$ROOT/scripts/test-proxy.py" "$DEMO_URL" "$dir/port" &
  pid=$!
  on_exit "kill $pid 2>/dev/null"
  for _ in $(seq 100); do [ -s "$dir/port" ] && break; sleep 0.05; done
  FOUNT_PROXY_URL="http://127.0.0.1:$(cat "$dir/port")"
  export FOUNT_PROXY_URL
}
