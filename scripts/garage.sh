#!/usr/bin/env bash
# A throwaway S3-compatible object store for the tests and benchmarks: Garage
# (https://garagehq.deuxfleurs.fr), a real distributed S3 server, run as one node.
#
#   scripts/garage.sh install      builds it once per machine (cargo install, under 5 minutes
#                                  on two cores) outside the workspace, and prints its path
#   scripts/garage.sh start DIR    starts it in DIR; prints the environment to use it, as
#                                  `export` lines: AWS_* for the S3 API (path-style, plain
#                                  HTTP on 127.0.0.1), FOUNT_TEST_S3_BUCKET, and
#                                  FOUNT_TEST_S3_WEB, the bucket's website endpoint (public
#                                  reads by URL, as a CDN in front of a bucket would serve)
#   scripts/garage.sh stop DIR
#
# Garage is AGPL: a test service here, never linked into Fount.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
GARAGE_VERSION=2.5.0
tools=${FOUNT_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/fount-tools}
bin="$tools/garage-$GARAGE_VERSION/bin/garage"
cmd=${1:?install|start|stop}

install_garage() {
  if [ ! -x "$bin" ]; then
    echo "    building Garage $GARAGE_VERSION (once per machine) into $tools" >&2
    # A test service's build, cut to what the tests use: the SQLite metadata engine only, the
    # C libraries Debian already has, light optimisation (4m40s on two cores, against about
    # 7 minutes for the default build; its speed is not what the tests measure).
    need_apt pkg-config libsodium-dev libzstd-dev libsqlite3-dev >&2
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_STRIP=true \
      cargo install garage --version "$GARAGE_VERSION" --locked --quiet \
      --no-default-features --features system-libs,sqlite \
      --root "$tools/garage-$GARAGE_VERSION" --target-dir "$tools/garage-build" >&2
    rm -rf "$tools/garage-build"
  fi
}

case "$cmd" in
  install)
    install_garage
    echo "$bin"
    ;;
  start)
    dir=${2:?data folder}
    install_garage
    mkdir -p "$dir"
    rpc=$(free_port); s3=$(free_port); web=$(free_port); admin=$(free_port)
    cat >"$dir/garage.toml" <<EOF
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(openssl rand -hex 32)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"

[s3_web]
bind_addr = "127.0.0.1:$web"
root_domain = ".web.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$admin"
EOF
    chmod 600 "$dir/garage.toml"
    g() { "$bin" -c "$dir/garage.toml" "$@"; }
    RUST_LOG=warn nohup "$bin" -c "$dir/garage.toml" server >"$dir/log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
      g status >/dev/null 2>&1 && break
      sleep 0.1
    done
    node=$(g node id -q 2>/dev/null | cut -d@ -f1)
    [ -n "$node" ] || { echo "Garage did not start; its log:" >&2; cat "$dir/log" >&2; exit 1; }
    g layout assign -z test -c 1G "$node" >/dev/null
    g layout apply --version 1 >/dev/null
    # A key of our own choosing (Garage's format: GK and 24 hex digits; 64 hex digits).
    key_id="GK$(openssl rand -hex 12)"
    secret=$(openssl rand -hex 32)
    g key import --yes -n fount-test "$key_id" "$secret" >/dev/null
    # The bucket is also reachable by the name "localhost", so its website endpoint answers
    # http://localhost:<port>/<object> (Garage picks the bucket from the Host header).
    g bucket create fount >/dev/null
    g bucket alias fount localhost >/dev/null
    g bucket allow --read --write --owner fount --key fount-test >/dev/null
    g bucket website --allow fount >/dev/null
    cat <<EOF
export AWS_ENDPOINT=http://127.0.0.1:$s3
export AWS_ALLOW_HTTP=true
export AWS_REGION=garage
export AWS_ACCESS_KEY_ID=$key_id
export AWS_SECRET_ACCESS_KEY=$secret
export FOUNT_TEST_S3_BUCKET=fount
export FOUNT_TEST_S3_WEB=http://localhost:$web
EOF
    ;;
  stop)
    dir=${2:?data folder}
    if [ -f "$dir/pid" ]; then kill "$(cat "$dir/pid")" 2>/dev/null || true; fi
    ;;
  *) echo "usage: $0 install|start DIR|stop DIR" >&2; exit 2 ;;
esac
