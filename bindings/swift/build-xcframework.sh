#!/usr/bin/env bash
# Builds FountFFI.xcframework (the Rust library for iOS devices, the iOS simulator and macOS,
# with the C headers of both uniffi namespaces) and generates the Swift sources of this
# package. macOS only: it needs Xcode's `xcodebuild` and Apple targets of Rust.
set -euo pipefail
cd "$(dirname "$0")"
repo=$(cd ../.. && pwd)
[ "$(uname)" = Darwin ] || { echo "build-xcframework.sh needs macOS and Xcode" >&2; exit 1; }

targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios aarch64-apple-darwin x86_64-apple-darwin)
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
  (cd "$repo" && cargo build --release --locked -p fount-uniffi --target "$t")
done

work=$(mktemp -d)
(cd "$repo" && cargo run --release --locked -p uniffi-bindgen -- generate \
  --library "target/aarch64-apple-darwin/release/libfount_uniffi.dylib" --language swift --out-dir "$work")
mkdir -p Sources/Fount/Generated
mv "$work/Fount.swift" "$work/FountSdk.swift" Sources/Fount/Generated/
mkdir -p "$work/include"
cp "$work"/*.h "$work/include/"
cat "$work"/*.modulemap > "$work/include/module.modulemap"

lib() { echo "$repo/target/$1/release/libfount_uniffi.a"; }
mkdir -p "$work/sim" "$work/mac"
lipo -create "$(lib aarch64-apple-ios-sim)" "$(lib x86_64-apple-ios)" -output "$work/sim/libfount_uniffi.a"
lipo -create "$(lib aarch64-apple-darwin)" "$(lib x86_64-apple-darwin)" -output "$work/mac/libfount_uniffi.a"
rm -rf FountFFI.xcframework
xcodebuild -create-xcframework \
  -library "$(lib aarch64-apple-ios)" -headers "$work/include" \
  -library "$work/sim/libfount_uniffi.a" -headers "$work/include" \
  -library "$work/mac/libfount_uniffi.a" -headers "$work/include" \
  -output FountFFI.xcframework
rm -rf "$work"
echo "built FountFFI.xcframework; the package is ready: swift build"
