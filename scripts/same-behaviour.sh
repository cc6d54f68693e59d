#!/bin/bash
# Compares two canao binaries on the same inputs, for a change that must not alter behaviour:
# latency predictions (byte for byte), two short searches (record for record), the latency
# validation's predictions, and `bench model` medians in turns.
# Usage: scripts/same-behaviour.sh OLD_BINARY NEW_BINARY   (run from the repository root;
# needs the MiniLM and Rotten Tomatoes assets, which `canao assets fetch` brings).
set -u
OLD=$1; NEW=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/dense3.ron" <<'RON'
(layers: [(teacher: 0, heads: 12, ffn: 1536), (teacher: 4, heads: 12, ffn: 1536), (teacher: 5, heads: 12, ffn: 1536)])
RON
cat >"$work/sparse3.ron" <<'RON'
(layers: [
  (teacher: 0, heads: 12, ffn: 1536, density: 0.1, block: Some((1, 1))),
  (teacher: 2, heads: 8, ffn: 1024, density: 0.25, block: Some((4, 4))),
  (teacher: 5, heads: 12, ffn: 768, density: 0.5, block: Some((8, 8))),
])
RON
bin() { if [ "$1" == old ]; then echo "$OLD"; else echo "$NEW"; fi; }

same=0; differ=0
for arch in archs/minilm-student.ron archs/bert-base.ron "$work/dense3.ron" "$work/sparse3.ron"; do
  for dev in host-amd-epyc-zen3-2c snapdragon-855 rt3-reference; do
    for seq in 128 37; do
      args=(predict --device "$dev" --arch "$arch" --seq "$seq" --json --other-host)
      if [ "$("$OLD" "${args[@]}" 2>&1)" == "$("$NEW" "${args[@]}" 2>&1)" ]; then
        same=$((same + 1))
      else
        differ=$((differ + 1)); echo "differs: $arch on $dev at $seq tokens"
      fi
    done
  done
done
echo "predict --json: $same identical, $differ different"

# Records by index without their times (with several threads the log lists them as they finish).
records() { python3 -c "
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for r in rows: r.pop('elapsed_s', None)
for r in sorted(rows, key=lambda r: r['index']): print(json.dumps(r, sort_keys=True))" "$1"; }
for v in old new; do
  "$(bin $v)" search --space bert-base --device snapdragon-855 --budget 30 --seed 0 --strategy evolution \
    --distill-top 0 --out "$work/bert-base-$v" >/dev/null 2>&1
  "$(bin $v)" search --device snapdragon-855 --budget 8 --train 100 --test 50 --seed 0 --strategy random \
    --distill-top 0 --out "$work/minilm-$v" >/dev/null 2>&1
done
for s in bert-base minilm; do
  if cmp -s <(records "$work/$s-old/log.jsonl") <(records "$work/$s-new/log.jsonl"); then
    echo "search $s: $(wc -l <"$work/$s-new/log.jsonl") records, identical but for elapsed_s"
  else
    echo "search $s: records differ"
  fi
done

for v in old new; do
  echo "validation, $v binary:"
  "$(bin $v)" predict --validate --device host-amd-epyc-zen3-2c --other-host --samples 8 --seed 1 --rounds 3 \
    --passes 2 --out "$work/validation-$v" 2>/dev/null | head -2
done
if cmp -s <(cut -d, -f1-6 "$work"/validation-old/*.csv) <(cut -d, -f1-6 "$work"/validation-new/*.csv); then
  echo "validation: predicted_ms identical"
else
  echo "validation: predictions differ"
fi

for r in 1 2 3; do
  for v in old new; do
    "$(bin $v)" bench model --runs 30 --json 2>/dev/null |
      python3 -c "import json, sys; d = json.load(sys.stdin); print('bench model run $r, $v: median %.1f ms, p10 %.1f ms, %s' % (d['median_ms'], d['p10_ms'], d['isa']))"
  done
done
