#!/usr/bin/env bash
# The whole test suite: installs the pinned peer clients, then runs every Rust test
# (unit, property, integration and interop tests against the real server binary).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-deps.sh
export BBS_TEST_HOME="${BBS_TEST_HOME:-$HOME/.cache/bbs-test}"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace --release --no-fail-fast -- --test-threads 2
