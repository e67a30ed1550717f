#!/usr/bin/env bash
# Builds the npm package's wasm: cargo (opt-level z, LTO) → wasm-bindgen (the exact version in
# Cargo.lock) → binaryen's wasm-opt from npm (Debian's old one breaks the externref table).
# Output: bindings/wasm/js/pkg (the npm package's module) and bindings/wasm/js/pkg-player (the
# widget's player's, with only the exports it calls, and the widget's scripts minified; the
# server embeds it). Checks the size
# budgets, gzipped: the SDK's .wasm at most 208 KB, its JavaScript at most 17 KB (16 KB until the
# streamed read, 2026-11-24, docs/benchmarks.md), the player's
# .wasm at most 144 KB; prints them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
need_apt clang
need_rust
need_tools

version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock)
bindgen="$CACHE/cargo-tools/bin/wasm-bindgen"
if [ "$("$bindgen" --version 2>/dev/null | awk '{print $2}')" != "$version" ]; then
  echo "    installing wasm-bindgen-cli $version (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$version" --root "$CACHE/cargo-tools"
fi

# Paths of this machine stay out of the published module.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$HOME=~ --remap-path-prefix=$ROOT=fount"
# package NAME PKG [CARGO ARGS…]: builds the module with those features into PKG (wasm-bindgen,
# then wasm-opt), unless PKG already holds that build.
package() {
  local name=$1 pkg=$2 raw
  shift 2
  echo "    building the wasm $name (minutes the first time, seconds after)"
  cargo build --locked -p fount-wasm --target wasm32-unknown-unknown --profile wasm-release "$@"
  # Cargo links each feature set's module in place of the other's; the copy keeps its time.
  raw=target/wasm32-unknown-unknown/wasm-release/fount_wasm-$name.wasm
  cp -p target/wasm32-unknown-unknown/wasm-release/fount_wasm.wasm "$raw"
  # Unchanged since the last run: keep the package as it is, so that what embeds it (the
  # server's widget) is not rebuilt for nothing.
  if [ ! -f "$pkg/fount_wasm_bg.wasm" ] || [ ! -f "$pkg/fount_wasm.js" ] || [ "$raw" -nt "$pkg/fount_wasm_bg.wasm" ] \
    || [ "${BASH_SOURCE[0]}" -nt "$pkg/fount_wasm_bg.wasm" ]; then
    rm -rf "$pkg"
    "$bindgen" --target web --out-dir "$pkg" --out-name fount_wasm "$raw"
    "$ROOT/tools/node_modules/binaryen/bin/wasm-opt" -Oz --converge --strip-debug --strip-producers \
      --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
      --enable-reference-types --enable-multivalue -o "$pkg/fount_wasm_bg.wasm" "$pkg/fount_wasm_bg.wasm"
    rm -f "$pkg/.gitignore" "$pkg/package.json"
    # The declarations mention Symbol.dispose, which only TypeScript's esnext library knows; the
    # package's own classes wrap these anyway.
    sed -i '/\[Symbol.dispose\]/d' "$pkg/fount_wasm.d.ts"
  fi
}

# The SDK's module (the npm package), and the widget's player's: the same core with only the
# exports the player calls, so the linker leaves out what it never uses.
pkg=bindings/wasm/js/pkg
player=bindings/wasm/js/pkg-player
package SDK "$pkg"
package player "$player" --no-default-features

# The player's package also holds, minified, everything else the widget serves: its own
# scripts and styles (widget/), and the SDK (sdk/): index.js bundled with the modules it
# imports and the player's glue into one file (one request where there were four in a chain,
# and one gzip stream: 679 bytes fewer on the wire on a first visit, measured), and stream.js, which only
# the service worker loads. The server serves these when they are here (license-server/build.rs).
# A file is rewritten only when its content changes, so the server is rebuilt only then.
esbuild="$ROOT/tools/node_modules/.bin/esbuild"
# minify FROM TO [ESBUILD OPTION…]
minify() {
  local from=$1 to=$2 tmp
  shift 2
  tmp=$(mktemp)
  case $from in
    *.js | *.css) "$esbuild" --minify --charset=utf8 --log-level=warning "$@" "$from" >"$tmp" ;;
    *) cp "$from" "$tmp" ;;
  esac
  if cmp -s "$tmp" "$to"; then rm -f "$tmp"; else mv "$tmp" "$to" && chmod 644 "$to"; fi
}
keep_only() { local dir=$1 f; shift; for f in "$dir"/*; do [[ " $* " == *" ${f##*/} "* ]] || rm -f "$f"; done; }
mkdir -p "$player/widget" "$player/sdk"
for f in widget/src/*; do minify "$f" "$player/widget/${f##*/}"; done
keep_only "$player/widget" $(cd widget/src && echo *)
# The bundle reads the SDK's sources beside the player's glue, as the package lays them out.
stage=$(mktemp -d)
on_exit "rm -rf '$stage'"
cp -r bindings/wasm/js/src "$stage/src"
mkdir "$stage/pkg" && cp "$player/fount_wasm.js" "$stage/pkg/"
minify "$stage/src/index.js" "$player/sdk/index.js" --bundle --format=esm --external:node:fs/promises
minify bindings/wasm/js/src/stream.js "$player/sdk/stream.js"
keep_only "$player/sdk" index.js stream.js
rm -f "$player/fount_wasm.min.js"

gz() { gzip -9 -c "$@" | wc -c; }
wasm=$(gz "$pkg/fount_wasm_bg.wasm")
glue=$(cat "$pkg/fount_wasm.js" bindings/wasm/js/src/*.js | gzip -9 | wc -c)
player_wasm=$(gz "$player/fount_wasm_bg.wasm")
echo "    SDK wasm $(stat -c %s "$pkg/fount_wasm_bg.wasm") bytes, $wasm gzipped (budget 212992)"
echo "    JS glue (wasm-bindgen's and the package's) $glue bytes gzipped (budget 17408)"
echo "    player wasm $(stat -c %s "$player/fount_wasm_bg.wasm") bytes, $player_wasm gzipped (budget 147456)"
sizes="{\"wasm_gzip\":$wasm,\"js_gzip\":$glue,\"player_wasm_gzip\":$player_wasm}"
# Rewritten only when it changes: nothing that watches the package should see a new file.
[ "$(cat "$pkg/sizes.json" 2>/dev/null)" = "$sizes" ] || echo "$sizes" > "$pkg/sizes.json"
[ "$wasm" -le 212992 ] || { echo "the wasm is over its 208 KB budget" >&2; exit 1; }
[ "$glue" -le 17408 ] || { echo "the JS glue is over its 17 KB budget" >&2; exit 1; }
[ "$player_wasm" -le 147456 ] || { echo "the player's wasm is over its 144 KB budget" >&2; exit 1; }
