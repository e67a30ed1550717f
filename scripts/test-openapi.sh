#!/usr/bin/env bash
# The API description against the API: /openapi.json validated by an independent OpenAPI 3.1
# validator, then schemathesis (every check it has: status codes, content types, headers and
# bodies as documented, schema-invalid input refused, unsupported methods answered 405 with
# Allow, credentials not ignored) against a live server, as a store (store and public
# operations) and as a customer (customer operations), on SQLite and on PostgreSQL. What the
# description cannot carry is in tests/openapi/schemathesis.toml, with why.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
python_env schemathesis==4.32.* openapi-spec-validator==0.9.*
venv="$CACHE/venv/bin"

check() {
  local what=$1 key token
  # Each pass keeps schemathesis's cache (.schemathesis/) in a folder of its own.
  mkdir -p "$CACHE/schemathesis-$what" && cd "$CACHE/schemathesis-$what"
  echo "    $what: validating /openapi.json"
  curl -sf --max-time 10 "$DEMO_URL/openapi.json" | "$venv/openapi-spec-validator" --schema 3.1 -
  key=$(demo_field api_key)
  token=$(curl -sf --max-time 10 -X POST -H "Authorization: Bearer $key" "$DEMO_URL/v1/customers/schemathesis/tokens" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  local st=(env PYTHONPATH="$ROOT/tests/openapi" SCHEMATHESIS_HOOKS=hooks "$venv/schemathesis"
    --config-file "$ROOT/tests/openapi/schemathesis.toml" run "$DEMO_URL/openapi.json" --no-color)
  echo "    $what: schemathesis as a store"
  "${st[@]}" -H "Authorization: Bearer $key" --include-tag store --include-tag public > "$CACHE/schemathesis-$what-store.log" 2>&1 \
    || { cat "$CACHE/schemathesis-$what-store.log"; return 1; }
  grep -E "generated, " "$CACHE/schemathesis-$what-store.log"
  echo "    $what: schemathesis as a customer"
  "${st[@]}" -H "Authorization: Bearer $token" --include-tag customer > "$CACHE/schemathesis-$what-customer.log" 2>&1 \
    || { cat "$CACHE/schemathesis-$what-customer.log"; return 1; }
  grep -E "generated, " "$CACHE/schemathesis-$what-customer.log"
}

# The two databases' passes run side by side, each with a demo of its own: each is one
# Python process and a mostly idle server, so together they take about the time of one.
: "${FOUNT_TEST_POSTGRES_URL:?FOUNT_TEST_POSTGRES_URL is not set: run scripts/test.sh}"
cargo build -q -p fount-server --locked
db="openapi_$RANDOM$RANDOM"
psql -q "$FOUNT_TEST_POSTGRES_URL" -c "CREATE DATABASE $db"
(start_demo; check sqlite) > "$CACHE/openapi-sqlite.out" 2>&1 &
sqlite=$!
(FOUNT_DATABASE_URL="${FOUNT_TEST_POSTGRES_URL%/*}/$db" start_demo; check postgres) > "$CACHE/openapi-postgres.out" 2>&1 &
postgres=$!
status=0
wait $sqlite || status=1
cat "$CACHE/openapi-sqlite.out"
wait $postgres || status=1
cat "$CACHE/openapi-postgres.out"
exit $status
