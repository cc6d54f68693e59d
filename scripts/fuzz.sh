#!/usr/bin/env bash
# Fuzzes every parser of user input with libFuzzer (cargo-fuzz, nightly toolchain): seeds each
# corpus (shipped files, generated inputs), runs each target for SECONDS (default 600), two at a
# time, minimises the corpora, and keeps each run's libFuzzer log under results/fuzzing/.
# Crashes land in fuzz/artifacts/<target>/; copy each into fuzz/regressions/<target>/ once fixed
# (the tests replay corpora and regressions on stable: crates/canao-fuzz/tests/corpora.rs).
#
#   [SEED=0] scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(space profile arch ir_text safetensors bundle search_log gnn)
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal

# SEED=0 skips seeding (the corpora are committed; seeding needs release builds).
if [ "${SEED:-1}" != 0 ]; then
    seed() { mkdir -p "fuzz/corpus/$1"; cp "${@:2}" "fuzz/corpus/$1/"; }
    seed space search-spaces/*.ron
    seed profile device-profiles/*.ron
    seed arch archs/*.ron
    mkdir -p fuzz/corpus/ir_text
    cargo run --quiet --release -p canao-cli -- inspect --model lenet5 --text --passes none >fuzz/corpus/ir_text/seed-lenet5
    cargo run --quiet --release -p canao-cli -- inspect --model minilm --seq 8 --text >fuzz/corpus/ir_text/seed-minilm-kernels
    mkdir -p fuzz/corpus/search_log
    log=$(ls results/search-*/log.jsonl | head -1)
    head -3 "$log" >fuzz/corpus/search_log/seed-three-records
    cargo run --quiet --release -p canao-fuzz --example seeds
fi

mkdir -p results/fuzzing
cd fuzz
# Debug assertions and overflow checks on, as in the tests: an arithmetic overflow is a finding.
cargo +nightly fuzz build --release --debug-assertions
run() {
    local t=$1 log="target/$1.log"
    # -rss_limit_mb: a parser must not need more than this for any input of up to -max_len bytes.
    cargo +nightly fuzz run --release --debug-assertions "$t" -- -max_total_time="$seconds" -max_len=16384 \
        -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1 || echo "$t: FOUND A CRASH (see results/fuzzing/$t.log)"
    cargo +nightly fuzz cmin --release --debug-assertions "$t" >/dev/null 2>&1 || true
    # The whole log is megabytes of progress lines: its end (final stats, or the crash) is kept.
    tail -n 80 "$log" >"../results/fuzzing/$t.log"
    echo "$t: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') executions"
}
for ((i = 0; i < ${#targets[@]}; i += 2)); do
    run "${targets[i]}" &
    if [ $((i + 1)) -lt ${#targets[@]} ]; then run "${targets[i + 1]}" & fi
    wait
done
