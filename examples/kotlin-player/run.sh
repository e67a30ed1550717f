#!/usr/bin/env bash
# Builds and runs the player on the JVM: the native library, the generated Kotlin binding, the
# defaults and Player.kt, compiled with kotlinc. Arguments are the player's.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
need_apt libjna-java default-jre-headless
need_tools
(cd "$ROOT" && cargo build -q --release --locked -p fount-uniffi -p uniffi-bindgen)
out="$CACHE/kotlin-player"
if [ ! -d "$out/classes" ] || [ -n "$(find "$ROOT/examples/kotlin-player" "$ROOT/bindings/kotlin/src/main" "$ROOT/target/release/libfount_uniffi.so" -newer "$out/classes" -print -quit)" ]; then
  rm -rf "$out"
  "$ROOT/target/release/uniffi-bindgen" generate --library "$ROOT/target/release/libfount_uniffi.so" --language kotlin --no-format --out-dir "$out/generated" >/dev/null
  "$KOTLIN_HOME/bin/kotlinc-jvm" -nowarn -jvm-target 17 -cp /usr/share/java/jna.jar -d "$out/classes" \
    "$out/generated" "$ROOT/bindings/kotlin/src/main/kotlin" "$ROOT/examples/kotlin-player/Player.kt"
fi
exec java -Djna.library.path="$ROOT/target/release" -cp "$out/classes:$KOTLIN_HOME/lib/kotlin-stdlib.jar:/usr/share/java/jna.jar" PlayerKt "$@"
