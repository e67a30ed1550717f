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
# kotlinx-coroutines (SuspendingFountClient) ships with the compiler.
COROUTINES="$KLIB/kotlinx-coroutines-core-jvm.jar"
"$KOTLIN_HOME/bin/kotlinc-jvm" -nowarn -jvm-target 17 -cp "$JNA:$KLIB/kotlin-test.jar:$COROUTINES" -d "$out/classes" \
  "$out/generated" bindings/kotlin/src/main/kotlin bindings/kotlin/src/test/kotlin examples/kotlin-player/Player.kt

start_demo
start_download_fixture
run() { java -Djna.library.path="$ROOT/target/debug" -cp "$out/classes:$KLIB/kotlin-stdlib.jar:$KLIB/kotlin-test.jar:$COROUTINES:$JNA" "$@"; }
run dev.fount.ClientTestKt

# The example player: online once, then again with no server at all (offline).
token=$(demo_customer "kotlin-player-$RANDOM$RANDOM")
play="$out/player"
run PlayerKt "$DEMO_URL" "$token" "$(demo_field title_id)" "$play/online" "$play/data"
cmp "$play/online/01.mp3" "$FOUNT_SAMPLE"
run PlayerKt "http://127.0.0.1:9" "$token" "$(demo_field title_id)" "$play/offline" "$play/data"
cmp "$play/offline/01.mp3" "$FOUNT_SAMPLE"
echo "ok      the example player wrote the original audio, online and offline"
