#!/usr/bin/env bash
# Issue 14 on an independent engine: bbs-server front servers over Tansu (crates.io `tansu`,
# PostgreSQL storage), several stateless Tansu brokers sharing one PostgreSQL from Debian.
# Not in CI: building Tansu takes 17-25 minutes on a 2-core machine (once, into
# ~/.cache/bbs-tansu, as scripts/interop-tansu.sh does).
#
#   scripts/scaleout-tansu.sh                 # everything; a verdict at the end
#   TANSU_BROKERS=2 scripts/scaleout-tansu.sh # two Tansu brokers instead of three
#   KEEP=DIR scripts/scaleout-tansu.sh        # keep every log in DIR (default: a temp dir,
#                                             # kept only when something failed)
#   ONLY_KILL=1 scripts/scaleout-tansu.sh     # step 2 only
#   TEST_FILES=front_bbs NO_KILL=1 scripts/scaleout-tansu.sh  # the BBS scenarios only
#   TEST_FILTER=WORD scripts/scaleout-tansu.sh  # only the tests whose name contains WORD
#   TANSU_LOG=info scripts/scaleout-tansu.sh  # Tansu's own log level (default: warn)
#   PGBIN=DIR scripts/scaleout-tansu.sh       # another PostgreSQL's bin directory (initdb,
#                                             # pg_ctl, postgres; psql from PATH)
#
# 1. tests/front_server.rs (transport) and tests/front_bbs.rs (the BBS through two fronts),
#    or the files TEST_FILES names, with BBS_FRONT_UPSTREAM set to the Tansu brokers
#    (tests/support/upstream.rs): each test gets a fresh PostgreSQL database and fresh
#    Tansu brokers over it (each test expects an empty cluster), with SASL SCRAM-SHA-256
#    for the fronts' service account; a test that failed runs once more with the topics
#    the tests' own clients produce to created first (Tansu 0.6.0 creates none on demand;
#    the BBS's topics the sequencer creates itself). The fronts' logs of each test are
#    kept next to its output (BBS_FRONT_LOGS).
# 2. Killing mid-run: confluent-kafka (idempotent, acks=all) produces through front A;
#    one Tansu broker is SIGKILLed, then front A; the produce must go on after the first
#    kill, and every record the producer saw acknowledged must be read back through front
#    B (up throughout) and through a front started after the kills.
# Results and what failed on Tansu, and why: docs/scale-out.md.
#
# Tansu's PostgreSQL schema is not in the crate; it is etc/initdb.d/010-schema.sql of the
# Tansu repository at the tag v$TANSU_VERSION, downloaded once next to the binary (or give
# its path in TANSU_SCHEMA). PostgreSQL runs as the user `postgres` when this runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."

TANSU_VERSION=0.6.0
TANSU_ROOT="${TANSU_ROOT:-$HOME/.cache/bbs-tansu}"
TANSU="$TANSU_ROOT/bin/tansu"
SCHEMA="${TANSU_SCHEMA:-$TANSU_ROOT/schema-$TANSU_VERSION.sql}"
BROKERS="${TANSU_BROKERS:-3}"
export BBS_TEST_HOME="${BBS_TEST_HOME:-$HOME/.cache/bbs-test}"
PY="$BBS_TEST_HOME/venv/bin/python"
SVC=bbs-front
SVC_PASSWORD=scaleout-tansu-svc-pw

if [ ! -x "$TANSU" ]; then
  echo "== building tansu $TANSU_VERSION with PostgreSQL storage (25+ minutes, once)"
  cargo install tansu --version "$TANSU_VERSION" --locked \
    --features "dynostore postgres" --root "$TANSU_ROOT"
fi
if [ ! -s "$SCHEMA" ]; then
  echo "== downloading Tansu's PostgreSQL schema (v$TANSU_VERSION)"
  curl -fsSL -o "$SCHEMA" \
    "https://raw.githubusercontent.com/tansu-io/tansu/v$TANSU_VERSION/etc/initdb.d/010-schema.sql" || {
    echo "no schema: put etc/initdb.d/010-schema.sql of tansu v$TANSU_VERSION in $SCHEMA"
    exit 2
  }
fi
PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)}
if [ -z "$PGBIN" ]; then
  echo "== installing PostgreSQL (Debian)"
  apt-get install -y postgresql >/dev/null
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi
[ -x "$PY" ] || scripts/test-deps.sh
TEST_FILES="${TEST_FILES:-front_server front_bbs}"
cargo build --release --bin bbs-server
for f in $TEST_FILES; do cargo test --release --test "$f" --no-run; done
SERVER=target/release/bbs-server

WORK="${KEEP:-$(mktemp -d)}"
mkdir -p "$WORK"
PIDS=()
PGDIR=$(mktemp -d) # PostgreSQL's own, owned by the user it runs as
PGDATA="$PGDIR/data"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m immediate stop >/dev/null 2>&1
  cp "$PGDIR/postgres.log" "$WORK/" 2>/dev/null || true
  rm -rf "$PGDIR"
  if [ -z "${KEEP:-}" ] && [ "${FAILED:-1}" = 0 ]; then rm -rf "$WORK"; else echo "logs kept in $WORK"; fi
}
trap cleanup EXIT

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { # port: up to 30 s
  for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "nothing listens on $1"; return 1
}

# -- PostgreSQL: a private cluster on its own port, trust on loopback.
PGPORT=$(free_port)
[ "$(id -u)" = 0 ] && chown postgres "$PGDIR"
as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust >"$WORK/initdb.log"
as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDIR/postgres.log" -w \
  -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k $PGDATA" start >/dev/null
PSQL=$(command -v psql || echo "$PGBIN/psql")
psql_() { "$PSQL" -q -h 127.0.0.1 -p "$PGPORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
echo "== PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"

# -- Tansu: BROKERS brokers over database $1, logs in $2, SASL required unless $3 is
# "open"; sets TANSU_PIDS and UPSTREAM (the bootstrap list).
TANSU_PIDS=()
tansu_start() {
  local db=$1 logs=$2 auth=--authentication url i port ports=()
  [ "${3:-}" = open ] && auth=""
  url="postgres://postgres@127.0.0.1:$PGPORT/$db"
  TANSU_PIDS=()
  for i in $(seq "$BROKERS"); do
    port=$(free_port)
    ports+=("$port")
    RUST_LOG=${TANSU_LOG:-warn} "$TANSU" broker --cluster-id bbs-scaleout \
      --listener-url "tcp://127.0.0.1:$port" --advertised-listener-url "tcp://127.0.0.1:$port" \
      --storage-engine "$url" --silent $auth >"$logs/tansu-$i.log" 2>&1 &
    TANSU_PIDS+=($!)
    PIDS+=($!)
  done
  UPSTREAM=""
  for port in "${ports[@]}"; do
    wait_port "$port"
    UPSTREAM="${UPSTREAM:+$UPSTREAM,}127.0.0.1:$port"
  done
}
tansu_stop() { for p in "${TANSU_PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done; }
fresh_cluster() { # db name, log dir, topics to create: a database with Tansu's schema, the
  local db=$1 logs=$2 topics=${3:-} t # service account, the topics, the brokers
  mkdir -p "$logs"
  psql_ -d postgres -c "create database $db" >/dev/null
  psql_ -d "$db" -f "$SCHEMA" >/dev/null
  # The service account (and topics), made through one broker before SASL is required.
  BROKERS=1 tansu_start "$db" "$logs" open
  "$TANSU" user create --broker "tcp://${UPSTREAM}" --mechanism scram256 "$SVC" "$SVC_PASSWORD" \
    >"$logs/setup.log" 2>&1
  for t in $topics; do
    "$TANSU" topic create --broker "tcp://${UPSTREAM}" --partitions 1 "$t" >>"$logs/setup.log" 2>&1
  done
  tansu_stop
  tansu_start "$db" "$logs"
}
PROPS="$WORK/front.properties"
cat >"$PROPS" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-256
sasl.username=$SVC
sasl.password=$SVC_PASSWORD
EOF

declare -A RESULT
ORDER=()
record() { RESULT[$1]=$2; ORDER+=("$1"); echo "   $2"; }

# -- 1. The test files over Tansu, one fresh cluster per test. Tansu 0.6.0 creates no topic
# on demand (its Metadata ignores allow_auto_topic_creation), so a test that failed is run
# again on a cluster where the topics the tests' own clients produce to already exist.
declare -A PRECREATE=(
  [front_server]="exchange lines survive held epochs gadmin marks"
  [front_bbs]="ledger" # sec_idem.py's topic (tests/support/raw_produce.rs)
)
n=0
run_test() { # file, test, label suffix, topics to create first
  n=$((n + 1))
  local logs="$WORK/test-$n"
  echo "== $1::$2 over $BROKERS Tansu brokers$3"
  fresh_cluster "t$n" "$logs" "$4"
  if BBS_FRONT_UPSTREAM="$UPSTREAM" BBS_FRONT_UPSTREAM_CONFIG="$PROPS" BBS_FRONT_LOGS="$logs" \
    timeout 900 cargo test -q --release --test "$1" -- --exact "$2" --nocapture \
    >"$logs/test.log" 2>&1; then
    if grep -q "^skipped" "$logs/test.log"; then # the test said what it could not check
      record "$1::$2$3" "ok ($(grep -m1 "^skipped" "$logs/test.log"))"
    else
      record "$1::$2$3" ok
    fi
  else
    record "$1::$2$3" "FAILED ($logs/test.log)"
    grep -E -A3 "panicked" "$logs/test.log" | head -8 | sed 's/^/     /'
  fi
  tansu_stop
}
[ -n "${ONLY_KILL:-}" ] && TEST_FILES=""
for file in $TEST_FILES; do
  for t in $(cargo test --release --test "$file" -- --list ${TEST_FILTER:-} 2>/dev/null | sed -n 's/: test$//p'); do
    run_test "$file" "$t" "" ""
    case ${RESULT[$file::$t]} in
    ok*) ;;
    *) run_test "$file" "$t" " (topics created first)" "${PRECREATE[$file]}" ;;
    esac
  done
done

# -- 2. One Tansu broker and one front killed while confluent-kafka produces through front A.
kill_run() {
  echo "== kill a Tansu broker, then front A, during an acknowledged produce"
  logs="$WORK/kill"
  fresh_cluster kill "$logs" ""
  start_front() { # name: a front over all the Tansu brokers; sets NEW_PID and NEW_ADDR
    local port
    port=$(free_port)
    mkdir -p "$logs/front-$1"
    "$SERVER" --kafka "$UPSTREAM" --kafka-config "$PROPS" --listen "127.0.0.1:$port" \
      --data-dir "$logs/front-$1" >"$logs/front-$1.log" 2>&1 &
    NEW_PID=$!
    PIDS+=($!)
    NEW_ADDR="127.0.0.1:$port"
    wait_port "$port"
  }
  FRONT_PIDS=()
  FRONT_ADDR=()
  for f in a b; do
    start_front $f
    FRONT_PIDS+=("$NEW_PID")
    FRONT_ADDR+=("$NEW_ADDR")
  done
  acked() { wc -l <"$logs/acked.txt"; }
  wait_acks() { # at least $1 acknowledged within $2 s
    for _ in $(seq $(($2 * 10))); do [ "$(acked)" -ge "$1" ] && return 0; sleep 0.1; done
    return 1
  }
  "$PY" tests/interop/create_topic.py "${FRONT_ADDR[0]}" survive 1 >"$logs/create.log" 2>&1 ||
    echo "   creating the topic through front A failed: $(tail -2 "$logs/create.log")"
  mkfifo "$logs/stop"
  "$PY" tests/interop/crash_producer.py "${FRONT_ADDR[0]}" survive 1 <"$logs/stop" \
    >"$logs/acked.txt" 2>"$logs/producer.log" &
  PRODUCER=$!
  PIDS+=($PRODUCER)
  exec 9>"$logs/stop"
  read_back() { # front address, name: the topic read from the beginning through that front
    timeout 90 kcat -b "$1" -C -t survive -o beginning -e -q -m 30 -f '%s\n' \
      >"$logs/read-$2.txt" 2>"$logs/read-$2.log" ||
      echo "   reading through front $2 failed: $(tail -1 "$logs/read-$2.log")"
    grep -x '[0-9]*' "$logs/read-$2.txt" | sort -u >"$logs/read-$2.sorted" || true
    local missing
    missing=$(comm -23 "$logs/acked.sorted" "$logs/read-$2.sorted" | wc -l)
    echo "   front $2 read $(wc -l <"$logs/read-$2.txt") records ($(wc -l <"$logs/read-$2.sorted") distinct values): $missing of $(acked) acknowledged missing"
    [ "$missing" = 0 ] && [ "$(acked)" -gt 0 ]
  }
  GOES_ON=FAILED
  if wait_acks 2000 120; then
    at=$(acked)
    kill -9 "${TANSU_PIDS[0]}"
    wait "${TANSU_PIDS[0]}" 2>/dev/null || true
    echo "   SIGKILLed Tansu broker 1 after $at acknowledged records"
    if wait_acks $((at + 2000)) 60; then
      echo "   the produce went on through front A: $(acked) acknowledged"
      GOES_ON=ok
    else
      echo "   the produce stalled through front A: $(acked) acknowledged 60 s after the kill"
      GOES_ON="FAILED (stalled at $(acked) acknowledged; $logs/front-a.log)"
    fi
    at=$(acked)
    kill -9 "${FRONT_PIDS[0]}"
    wait "${FRONT_PIDS[0]}" 2>/dev/null || true
    echo "   SIGKILLed front A after $at acknowledged records"
  else
    echo "   the producer never reached 2000 acknowledged records ($(acked))"
  fi
  sleep 2
  exec 9>&-
  kill -9 "$PRODUCER" 2>/dev/null || true
  wait "$PRODUCER" 2>/dev/null || true
  sort -u "$logs/acked.txt" >"$logs/acked.sorted"
  record "kill: the produce goes on through front A after a Tansu broker is SIGKILLed" "$GOES_ON"
  if read_back "${FRONT_ADDR[1]}" b; then
    record "kill: front B (running through both kills) reads every acknowledged record" ok
  else
    record "kill: front B (running through both kills) reads every acknowledged record" \
      "FAILED ($logs/front-b.log)"
  fi
  start_front c
  if read_back "$NEW_ADDR" c; then
    record "kill: a front started after the kills reads every acknowledged record" ok
  else
    record "kill: a front started after the kills reads every acknowledged record" \
      "FAILED ($logs/front-c.log)"
  fi
  tansu_stop
}
if [ -z "${NO_KILL:-}" ]; then kill_run; fi

echo
echo "bbs-server fronts over $BROKERS Tansu $TANSU_VERSION brokers (PostgreSQL storage):"
FAILED=0
for k in "${ORDER[@]}"; do
  printf '  %-76s %s\n' "$k" "${RESULT[$k]}"
  case ${RESULT[$k]} in ok*) ;; *) FAILED=1 ;; esac
done
[ $FAILED = 0 ] && echo "  all passed"
exit $FAILED
