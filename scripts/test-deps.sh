#!/usr/bin/env bash
# Installs what the interop tests need, pinned: kcat and redis-server (the fan-out peer of
# `bbs-bench suite`) from Debian, kafka-python and
# confluent-kafka (PyPI, in a venv), kafkajs (npm). Idempotent; safe to run every time.
# Everything goes under $BBS_TEST_HOME (default ~/.cache/bbs-test) so every checkout shares it.
set -euo pipefail
home="${BBS_TEST_HOME:-$HOME/.cache/bbs-test}"
mkdir -p "$home"

if ! command -v kcat >/dev/null 2>&1 || ! command -v tmux >/dev/null 2>&1 || ! command -v nc >/dev/null 2>&1 || ! command -v redis-server >/dev/null 2>&1 || ! command -v ss >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq kcat tmux netcat-openbsd redis-server iproute2 >/dev/null
fi

if [ ! -x "$home/venv/bin/python" ]; then
  python3 -m venv "$home/venv"
fi
# lz4, zstandard and python-snappy give kafka-python its optional codecs (interop tests).
want_py="kafka-python==3.0.12 confluent-kafka==2.16.1 lz4==4.4.5 zstandard==0.25.0 python-snappy==0.7.3"
if ! "$home/venv/bin/python" -c 'import kafka, confluent_kafka; assert kafka.__version__ == "3.0.12"; assert confluent_kafka.version()[0] == "2.16.1"; from kafka.codec import has_snappy, has_lz4, has_zstd; assert has_snappy() and has_lz4() and has_zstd()' 2>/dev/null; then
  "$home/venv/bin/pip" install -q --disable-pip-version-check $want_py
fi

if [ ! -f "$home/node/node_modules/kafkajs/package.json" ] || ! grep -q '"version": "2.2.4"' "$home/node/node_modules/kafkajs/package.json"; then
  mkdir -p "$home/node"
  (cd "$home/node" && [ -f package.json ] || echo '{"name":"bbs-interop","private":true}' > package.json)
  (cd "$home/node" && npm install --silent --no-audit --no-fund kafkajs@2.2.4 >/dev/null)
fi
echo "test dependencies ready in $home"
