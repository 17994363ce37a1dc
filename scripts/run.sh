#!/usr/bin/env bash
# Builds and runs bbs-server on the embedded defaults (127.0.0.1:9092) in the background and
# a bbs-client in the foreground; stops the server when the client exits.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin bbs-server --bin bbs-client
log="${TMPDIR:-/tmp}/bbs-server.log"
target/release/bbs-server "$@" 2>"$log" &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null' EXIT
sleep 0.5
echo "bbs-server running (pid $server, log $log)" >&2
target/release/bbs-client
