#!/usr/bin/env bash
# Regenerates src/bin/bbs-client.order, the functions a line-mode session runs, which the
# linker places next to each other at the start of bbs-client's code (build.rs writes a
# linker script from it). The kernel
# maps a binary's pages in 64 KiB blocks around each one touched, so a session whose code
# is spread over the whole binary keeps nearly all of it resident (docs/performance.md).
# Runs one scripted line session under valgrind's callgrind against a fresh server and
# keeps the names of the client's functions that ran. Needs valgrind. Rerun it after a
# toolchain or dependency update (symbol names change); tests/client_footprint.rs fails
# when the session's RSS goes over budget.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 1; }
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-1}"
# Without the current layout: valgrind names only the functions in `.text`.
BBS_CLIENT_LAYOUT=0 cargo build --release --bin bbs-server --bin bbs-client
tmp=$(mktemp -d)
server=
cleanup() {
    [ -n "$server" ] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null
    [ -n "${KEEP:-}" ] || rm -rf "$tmp"; [ -z "${KEEP:-}" ] || echo "kept $tmp" >&2
}
trap cleanup EXIT
target/release/bbs-server --listen 127.0.0.1:0 --data-dir "$tmp/data" 2>"$tmp/server.log" &
server=$!
addr=
for _ in $(seq 100); do
    addr=$(grep -o 'listen=[^ ]*' "$tmp/server.log" | head -1 | cut -d= -f2) || true
    [ -n "$addr" ] && break
    sleep 0.1
done
[ -n "$addr" ] || { echo "the server did not start:" >&2; cat "$tmp/server.log" >&2; exit 1; }
mkdir -p "$tmp/home"
session() {
    # Enough boards, posts and mails that lists are sorted and tables grow past their
    # first allocation, as in a real session.
    echo "register ana ana@example.com pw-ana"
    echo "register bob bob@example.com pw-bob"
    echo "login ana pw-ana"
    echo "whoami"
    for i in $(seq 30); do echo "create-board board$i"; done
    for i in $(seq 30); do echo "create-post board1 --title hello $i --content post<br>$i"; done
    echo "list-board"
    echo "list-board ##board2"
    echo "list-post board1"
    echo "list-post board1 ##hello 2"
    echo "read 1"
    echo "comment 1 nice"
    echo "read 1"
    echo "update-post 1 --title hello again"
    echo "update-post 1 --content new<br>text"
    echo "subscribe --board board1 --keyword news"
    echo "subscribe --author bob --keyword news"
    echo "list-sub"
    for i in $(seq 25); do echo "mail-to bob --subject hi $i --content hello bob"; done
    echo "logout"
    echo "login bob pw-bob"
    echo "list-mail"
    echo "retr-mail 1"
    echo "delete-mail 1"
    echo "create-post board1 --title news today --content text"
    echo "delete-post 31"
    echo "unsubscribe --board board1"
    echo "list-board"
    echo "list-post board1"
    echo "exit"
}
# One line at a time, so the session waits for input and for events as a typing user's does.
session | while IFS= read -r l; do printf '%s\n' "$l"; sleep 0.2; done | HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/config" XDG_DATA_HOME="$tmp/home/data" \
    XDG_STATE_HOME="$tmp/home/state" valgrind -q --tool=callgrind --demangle=no \
    --callgrind-out-file="$tmp/cg.out" target/release/bbs-client --line --server "$addr" \
    >"$tmp/session.txt"
grep -q "Welcome, bob." "$tmp/session.txt" || { cat "$tmp/session.txt" >&2; exit 1; }
# Function names of the client's own object, in the order callgrind lists them.
awk '
    /^c?ob=/ {
        id = $1; sub(/^c?ob=/, "", id)
        if (NF > 1) ob[id] = $2
        if ($1 ~ /^ob=/) cur = ob[id]
        next
    }
    /^c?fn=/ {
        kind = substr($1, 1, index($1, "=") - 1); id = $1; sub(/^c?fn=/, "", id)
        if (NF > 1) name[id] = $2
        # callgrind marks a recursive call by a quote and a depth after the name.
        if (kind == "fn" && cur ~ /bbs-client$/) {
            n = name[id]; q = index(n, sprintf("%c", 39)); if (q) n = substr(n, 1, q - 1)
            if (!(n in seen)) { seen[n] = 1; print n }
        }
    }
' "$tmp/cg.out" |
    # LLVM's suffix on a promoted local (`.llvm.<n>`) changes with any edit of the code
    # around it; build.rs matches the name with any suffix.
    sed -E 's/[.]llvm[.][0-9]+$//' |
    grep -E '^[A-Za-z0-9_$.]+$' | awk '!seen[$0]++' >src/bin/bbs-client.order
echo "src/bin/bbs-client.order: $(wc -l <src/bin/bbs-client.order) functions" >&2
cargo build --release --bin bbs-server --bin bbs-client
