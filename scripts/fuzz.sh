#!/usr/bin/env bash
# Fuzzes cvxcnn's file readers and setting parsers (the cargo-fuzz targets in fuzz/) for a
# bounded time, on the stable toolchain:
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      (default: 10 seconds, every target)
#
# From nothing (no cargo-fuzz, no fuzz/target) on the 2-core CI machine this takes about
# 4.5 minutes: installing cargo-fuzz ~20 s, building ~3.6 min, running ~4 × SECONDS_PER_TARGET
# (8 targets, 2 at a time) plus a few seconds. Later runs rebuild only what changed.
#
# 1. Installs cargo-fuzz (pinned) when it is missing.
# 2. Builds every target with `cargo fuzz build --dev -s none`: no sanitizer (its runtime needs
#    nightly), debug assertions and overflow checks on; RUSTC_BOOTSTRAP=1 lets cargo-fuzz use
#    stable rustc. The dev profile (fuzz/Cargo.toml) builds in about half the time of --release.
# 3. Runs each target (as many at once as there are cores) on a copy of its seed corpus
#    fuzz/corpus/TARGET in a temporary directory, so the committed corpus never grows, with
#    libFuzzer's -max_total_time=SECONDS -rss_limit_mb=2048 -timeout=10. A single allocation
#    above 2 GiB aborts too (fuzz/src/lib.rs).
#
# Exits non-zero when a target finds a crash, a panic, an out-of-memory or a timeout; the
# input is then in fuzz/artifacts/TARGET/ (path printed). Reproduce one with
#   cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --dev -s none TARGET artifacts/TARGET/crash-…
# (or run the built binary fuzz/target/HOST/debug/TARGET with that file as its argument).
set -euo pipefail

CARGO_FUZZ_VERSION=0.13.2
seconds="${1:-10}"
shift || true
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2
  exit 2
fi

root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/fuzz"
cd "$fuzz"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUSTC_BOOTSTRAP=1
# Our own target directory, whatever CARGO_TARGET_DIR the caller has.
unset CARGO_TARGET_DIR
host="$(rustc -vV | sed -n 's/^host: //p')"
build_flags=(--dev --sanitizer none --target "$host" --target-dir "$fuzz/target")
bin_dir="$fuzz/target/$host/debug"

now() { date +%s; }
t0=$(now)

# --- 1. cargo-fuzz ------------------------------------------------------------------------------
if [ "$(cargo fuzz --version 2>/dev/null || true)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
  echo "fuzz.sh: installing cargo-fuzz $CARGO_FUZZ_VERSION"
  # --debug: half the compile time of a release build; cargo-fuzz only drives cargo.
  cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --debug
fi
t1=$(now)

# --- 2. build -----------------------------------------------------------------------------------
echo "fuzz.sh: building the fuzz targets"
cargo fuzz build "${build_flags[@]}"
t2=$(now)

# --- 3. run -------------------------------------------------------------------------------------
if [ "$#" -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list)
fi
work="$(mktemp -d "${TMPDIR:-/tmp}/cvxcnn-fuzz.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tmp" "$fuzz/artifacts"
jobs="$(nproc 2>/dev/null || echo 2)"

run_one() {
  local t="$1"
  mkdir -p "$work/corpus/$t" "$fuzz/artifacts/$t"
  if [ -d "$fuzz/corpus/$t" ]; then
    cp -R "$fuzz/corpus/$t/." "$work/corpus/$t/"
  fi
  # The binary that `cargo fuzz run` would run (built above, so nothing is rebuilt here).
  # The readers that take paths write the input to $TMPDIR/cvxcnn-fuzz-PID/ (removed with
  # $work); one thread each, since as many targets run at once as there are cores.
  # libFuzzer stops itself after $seconds; `timeout` is the backstop should it hang outside
  # an input (the 10 s limit of -timeout covers each input).
  TMPDIR="$work/tmp" RAYON_NUM_THREADS=1 RUST_BACKTRACE=1 \
    timeout -k 10 $((seconds + 120)) \
    "$bin_dir/$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$fuzz/artifacts/$t/" "$work/corpus/$t" \
    >"$work/$t.log" 2>&1
}

declare -A status
pending=("${targets[@]}")
while [ "${#pending[@]}" -gt 0 ]; do
  batch=("${pending[@]:0:$jobs}")
  pending=("${pending[@]:$jobs}")
  declare -A pids=()
  for t in "${batch[@]}"; do
    run_one "$t" &
    pids[$t]=$!
  done
  for t in "${batch[@]}"; do
    if wait "${pids[$t]}"; then status[$t]=0; else status[$t]=$?; fi
  done
  unset pids
done
t3=$(now)

failed=0
for t in "${targets[@]}"; do
  log="$work/$t.log"
  stats="$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)"
  if [ "${status[$t]}" = 0 ]; then
    echo "fuzz.sh: $t: ok (${seconds}s) ${stats}"
  else
    failed=1
    echo "fuzz.sh: $t: FAILED (exit ${status[$t]})"
    tail -n 60 "$log" | sed "s/^/  $t| /"
    artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)"
    if [ -n "$artifact" ]; then
      echo "fuzz.sh: $t: the input is in $artifact"
      echo "fuzz.sh: reproduce: cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --dev -s none $t $artifact"
    fi
  fi
done
echo "fuzz.sh: install $((t1 - t0))s, build $((t2 - t1))s, run $((t3 - t2))s (${#targets[@]} targets, $jobs at a time)"
if [ "$failed" != 0 ]; then
  echo "fuzz.sh: a fuzz target failed (see above)" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} passed, 0 failed"
