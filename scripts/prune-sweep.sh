#!/usr/bin/env bash
# ADMM against SLR (and one-shot magnitude pruning as the baseline) on one trained LeNet-5, at
# every rate and seed, two runs at a time; then `canao compare-pruning` tabulates them.
#   scripts/prune-sweep.sh OUT [STRUCTURE] [TRAIN_LIMIT]
# Rates, seeds and phase lengths can be overridden with RATES, SEEDS, EPOCHS, RETRAIN; the
# methods with METHODS, the model with MODEL (lenet5 or minilm), runs at a time with PARALLEL,
# and PRUNE_ARGS adds flags to every run (e.g. "--lambda 1e-3 --every 1"). A dense model already
# in OUT/dense (a `canao train` run folder) is pruned as it is. With STRUCTURE circulant the
# rates are block sizes (circulant:B compresses B times).
set -euo pipefail
out=${1:?usage: scripts/prune-sweep.sh OUT [STRUCTURE] [TRAIN_LIMIT]}
structure=${2:-irregular}
limit=${3:-6000}
rates=${RATES:-4 8 16 32 64}
seeds=${SEEDS:-0 1 2}
methods=${METHODS:-slr admm magnitude}
model=${MODEL:-lenet5}
canao=${CANAO:-target/release/canao}
mkdir -p "$out"
if [ ! -f "$out/dense/weights.safetensors" ]; then
  case "$model" in
    lenet5) "$canao" train --model lenet5 --task fashion-mnist --train-limit 12000 --out "$out/dense" ;;
    minilm) "$canao" train --model minilm --checkpoint-every 100 --out "$out/dense" ;;
    *) echo "MODEL must be lenet5 or minilm, got $model" >&2; exit 2 ;;
  esac
fi
jobs=()
for rate in $rates; do
  for seed in $seeds; do
    for method in $methods; do
      jobs+=("$method $rate $seed")
    done
  done
done
run_one() {
  read -r method rate seed <<<"$1"
  dir="$out/$method-${structure//:/}-${rate}x-seed$seed"
  [ -f "$dir/report.json" ] && return 0
  if [ "$structure" = circulant ]; then shape=(--structure "circulant:$rate"); else shape=(--structure "$structure" --rate "$rate"); fi
  # shellcheck disable=SC2206  # PRUNE_ARGS is a list of flags
  args=(prune --model "$model" --method "$method" "${shape[@]}" --seed "$seed"
        --from "$out/dense" --train-limit "$limit" --epochs "${EPOCHS:-3}" --retrain-epochs "${RETRAIN:-3}"
        ${PRUNE_ARGS:-})
  if [ -f "$dir/prune.json" ]; then args=(prune --resume "$dir"); else args+=(--out "$dir"); fi
  "$canao" "${args[@]}" > "$dir.log" 2>&1 || echo "failed: $1 (see $dir.log)"
}
export -f run_one
export out structure limit canao model
printf '%s\n' "${jobs[@]}" | xargs -P "${PARALLEL:-2}" -I{} bash -c 'run_one "$@"' _ {}
"$canao" compare-pruning --runs "$out"
