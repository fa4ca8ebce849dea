#!/bin/bash
# One device call for issue 9 (MaskGAE on Cora and Citeseer), under 540 s in all:
#   1. the wide validation-only search in K shards side by side on the one GPU (timeout ST s),
#   2. merge the shards (maskgae_search.json, the search section),
#   3. the 10-seed table, MaskGAE with the configuration of best mean validation AUC per data
#      set (MaskGAE rows first, then the GAE baselines; timeout TT s),
# packing $OUT/results.tgz (benchmarks/results, BENCHMARKS.md, the logs) after every part.
# Run from the repository root with the Planetoid files under $GRAPHAE_DATA/planetoid
# (default: .devdata/planetoid).
# MG_SMOKE=1: the same flow on the CPU in a minute (1 seed, 5 epochs, 2 shards, 4 configurations,
# 2 table runs); restore BENCHMARKS.md and benchmarks/results afterwards.
export PYTHONPATH=$PWD/src GRAPHAE_DATA=${GRAPHAE_DATA:-$PWD/.devdata} PYTHONUNBUFFERED=1
PY=${PY:-python3}
R=$PWD
OUT=${OUT:-/tmp/mg_out}
LOGS=${LOGS:-/tmp/mg_logs}
mkdir -p "$OUT" "$LOGS"
if [ -n "$MG_SMOKE" ]; then
  K=${K:-2}; DEV=cpu; THREADS=${OMP_NUM_THREADS:-1}; ST=${ST:-150}; TT=${TT:-150}
  SEARCH=(--seeds 1 --epochs 5 --max-configs 4); TABLE=(--seeds 2 --epochs 5)
else
  K=${K:-8}; DEV=cuda; THREADS=${THREADS:-2}; ST=${ST:-235}; TT=${TT:-240}
  SEARCH=(--seeds "${SEEDS:-4}"); TABLE=()
fi
T0=$(date +%s)
el() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
pack() { tar czf "$OUT/results.tgz" -C "$R" benchmarks/results BENCHMARKS.md -C "$(dirname "$LOGS")" "$(basename "$LOGS")"; }

if [ -z "$MG_SMOKE" ]; then
  nvidia-smi -L
  $PY -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"
fi
rm -f "$R"/benchmarks/results/maskgae_search_shard*.json

el "search: grid wide, $K shards, ${ST}s"
for i in $(seq 0 $((K - 1))); do
  OMP_NUM_THREADS=$THREADS timeout -k 5 "$ST" $PY benchmarks/maskgae.py search --grid wide --shard "$i/$K" \
    --device $DEV "${SEARCH[@]}" > "$LOGS/search_$i.log" 2>&1 &
done
wait
el "search done"
for i in $(seq 0 $((K - 1))); do echo "shard $i: $(grep -c '"val_auc"' "$LOGS/search_$i.log") rows; $(tail -1 "$LOGS/search_$i.log" | cut -c1-160)"; done
pack

el "merge"
timeout 60 $PY benchmarks/maskgae.py merge 2>&1 | tee "$LOGS/merge.log"
pack

FROM=()
[ -f benchmarks/results/maskgae_search.json ] && FROM=(--params-from benchmarks/results/maskgae_search.json)
el "table (${TT}s) ${FROM[*]}"
timeout -k 5 "$TT" $PY benchmarks/maskgae.py table --device $DEV "${FROM[@]}" "${TABLE[@]}" > "$LOGS/table.log" 2>&1
el "table rc $?"
cut -c1-220 "$LOGS/table.log" | tail -44
pack
el "packed"; ls -la "$OUT"
