#!/usr/bin/env bash
# Our Kafka client against an independent Kafka-compatible broker: Tansu 0.6.0
# (crates.io `tansu`, in-memory storage). Not in CI: building Tansu takes about 25 minutes
# on a 2-core machine (it is built once, into ~/.cache/bbs-tansu).
#
#   scripts/interop-tansu.sh            # run everything, print a verdict
#   scripts/interop-tansu.sh --capture  # also re-record tests/fixtures/tansu-0.6.0/interop.cap
#
# Steps: `bbs-bench interop` (create a topic, produce with acks=all, read it back with a
# manually assigned consumer, a group consumer from the earliest offset and one from the
# latest offset, produce to a missing topic), kafka-python reading what our producer wrote,
# and `bbs-bench fanout`. With --capture the interop step runs through `bbs-bench capture`
# (Tansu advertises the proxy's address), and tests/client_replay.rs replays the file.
set -euo pipefail
cd "$(dirname "$0")/.."

TANSU_VERSION=0.6.0
TANSU_ROOT="${TANSU_ROOT:-$HOME/.cache/bbs-tansu}"
TANSU="$TANSU_ROOT/bin/tansu"
PY="${BBS_TEST_HOME:-$HOME/.cache/bbs-test}/venv/bin/python"
CAPTURE=0
[ "${1:-}" = "--capture" ] && CAPTURE=1

if [ ! -x "$TANSU" ]; then
  echo "== building tansu $TANSU_VERSION (about 25 minutes, once)"
  cargo install tansu --version "$TANSU_VERSION" --locked \
    --features "dynostore postgres" --root "$TANSU_ROOT"
fi
cargo build --release --bin bbs-bench
BENCH=target/release/bbs-bench
[ -x "$PY" ] || scripts/test-deps.sh

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK=$(mktemp -d)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

PORT=$(free_port)
ADVERTISED=$PORT
if [ $CAPTURE = 1 ]; then ADVERTISED=$(free_port); fi
"$TANSU" broker --listener-url "tcp://127.0.0.1:$PORT" \
  --advertised-listener-url "tcp://127.0.0.1:$ADVERTISED" \
  --storage-engine memory://tansu/ >"$WORK/tansu.log" 2>&1 &
PIDS+=($!)
BOOT="127.0.0.1:$ADVERTISED"
if [ $CAPTURE = 1 ]; then
  "$BENCH" capture --listen "$BOOT" --upstream "127.0.0.1:$PORT" --out "$WORK/interop.cap" &
  PIDS+=($!)
fi
for port in "$PORT" "$ADVERTISED"; do # Tansu first, so the proxy never dials too early
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
done

declare -A RESULT
step() { # name, command...
  local name=$1; shift
  echo "== $name"
  if "$@"; then RESULT[$name]=ok; else RESULT[$name]=FAILED; fi
}

step "our producer and consumer (bbs-bench interop)" \
  "$BENCH" interop --bootstrap "$BOOT" --topic interop --records 100 --run-id 4242
if [ $CAPTURE = 1 ]; then # the interop step's frames only
  sleep 1
  mkdir -p tests/fixtures/tansu-$TANSU_VERSION
  cp "$WORK/interop.cap" tests/fixtures/tansu-$TANSU_VERSION/interop.cap
  echo "== recorded tests/fixtures/tansu-$TANSU_VERSION/interop.cap ($(wc -l <"$WORK/interop.cap") lines)"
fi
step "kafka-python reads what our producer wrote" \
  bash -c "'$PY' tests/interop/client_read_all.py '$BOOT' interop 200 | wc -l | grep -qx 200"
step "fan-out, 20 consumers in their own groups (bbs-bench fanout)" \
  "$BENCH" fanout --bootstrap "$BOOT" --topic fanout --consumers 20 --rate 100 --seconds 5

echo
echo "tansu $TANSU_VERSION verdict:"
FAIL=0
for k in "${!RESULT[@]}"; do
  printf '  %-62s %s\n' "$k" "${RESULT[$k]}"
  [ "${RESULT[$k]}" = ok ] || FAIL=1
done
[ $FAIL = 0 ] && echo "  all steps passed" || { echo "  some steps FAILED (Tansu's log: kept below)"; tail -20 "$WORK/tansu.log"; }
exit $FAIL
