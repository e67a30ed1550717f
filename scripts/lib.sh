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

# python_env PACKAGE…: a venv in .cache/venv with these PyPI packages; prints nothing.
python_env() {
  local venv="$CACHE/venv"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  local want="$*" stamp="$venv/.packages"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$venv/bin/pip" install -q --disable-pip-version-check "$@"
    echo "$want" > "$stamp"
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
