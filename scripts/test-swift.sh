#!/usr/bin/env bash
# The Swift binding, as far as these (Linux) machines allow: no Swift compiler exists here.
# Generates the Swift sources, header and modulemap from the library, and checks the Swift API
# name for name against the Kotlin one (and the hand-written Apple defaults against the
# protocols they implement). macOS builds run bindings/swift/build-xcframework.sh.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
cargo build -q --locked -p fount-uniffi -p uniffi-bindgen
out="$CACHE/swift-check"
rm -rf "$out"
for lang in swift kotlin; do
  target/debug/uniffi-bindgen generate --library target/debug/libfount_uniffi.so --language "$lang" --no-format --out-dir "$out/$lang" >/dev/null
done
for f in Fount.swift FountSdk.swift fountFFI.h fount_sdkFFI.h fountFFI.modulemap fount_sdkFFI.modulemap; do
  [ -s "$out/swift/$f" ] || { echo "uniffi did not generate $f" >&2; exit 1; }
done
python3 bindings/swift/check_api.py "$out/kotlin" "$out/swift"
