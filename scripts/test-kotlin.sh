#!/usr/bin/env bash
# The Kotlin binding's tests: builds the library, generates the Kotlin bindings, compiles them
# with the defaults and the tests (kotlinc), and runs the tests on the JVM with JNA against a
# live `fount-server demo`.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
need_apt libjna-java default-jre-headless
need_tools
export FOUNT_SAMPLE="$ROOT/examples/media/sample.mp3"

cargo build -q --locked -p fount-uniffi -p uniffi-bindgen
out="$CACHE/kotlin"
rm -rf "$out" && mkdir -p "$out"
target/debug/uniffi-bindgen generate --library target/debug/libfount_uniffi.so --language kotlin --no-format --out-dir "$out/generated" >/dev/null
JNA=/usr/share/java/jna.jar
KLIB="$KOTLIN_HOME/lib"
"$KOTLIN_HOME/bin/kotlinc-jvm" -nowarn -jvm-target 17 -cp "$JNA:$KLIB/kotlin-test.jar" -d "$out/classes" \
  "$out/generated" bindings/kotlin/src/main/kotlin bindings/kotlin/src/test/kotlin

start_demo
java -Djna.library.path="$ROOT/target/debug" -cp "$out/classes:$KLIB/kotlin-stdlib.jar:$KLIB/kotlin-test.jar:$JNA" dev.fount.ClientTestKt
