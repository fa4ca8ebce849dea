#!/bin/bash
# One device call for issue 21: refined_gae on ogbl-ddi at the reference settings on a GPU,
# sized to a device budget (DEADLINE seconds for the whole command, default 540):
#   1. seconds per epoch at the reference settings, float32 then bf16-mixed (EPOCHS1 epochs each,
#      one process at a time, nothing else on the GPU): what the 10-seed row costs;
#   2. seeds 0..K-1 side by side on the one GPU in bf16-mixed (K, default 2), each
#      `graphae train --dataset ogbl-ddi --model refined_gae --precision bf16-mixed --eval-every 10
#      --select-best --runs 1 --seed S`, for the reference's 500 epochs if they fit in the time left
#      at step 1's rate, else for as many (a multiple of 10) as fit: a shortened run, its learning
#      rate decayed over those epochs, and said so in the summary;
#   3. $OUT/ddi.json: each part's command, seconds per epoch, and each seed's epochs, validation and
#      test Hits@20; $OUT/ddi_logs.tgz: the logs and each run's history.json and metrics.json.
# Run from the repository root with ogbl-ddi under $GRAPHAE_DATA/ogb (default .devdata/ogb:
# `mkdir -p .devdata/ogb && cp -r ../shared/data/ogb/ogbl_ddi .devdata/ogb/`, carry .devdata).
# DDI_SMOKE=1: the same flow on the CPU in a few minutes (width 16, a 2-layer decoder, validation
# every epoch).
export PYTHONPATH=$PWD/src GRAPHAE_DATA=${GRAPHAE_DATA:-$PWD/.devdata} PYTHONUNBUFFERED=1
PY=${PY:-python3}
OUT=${OUT:-/tmp/ddi_out}
LOGS=${LOGS:-/tmp/ddi_logs}
K=${K:-2}
EPOCHS1=${EPOCHS1:-2}
DEADLINE=${DEADLINE:-540}
mkdir -p "$OUT" "$LOGS"
T0=$(date +%s)
el() { echo "[$(($(date +%s) - T0))s] $*"; }
if [ -n "$DDI_SMOKE" ]; then
  DEV=cpu
  SIZE=(--hidden 16 --latent 16 --decoder-layers 2 --threads 2)
  FULL=${FULL:-4}
  EVERY=1
else
  DEV=cuda
  SIZE=()
  FULL=${FULL:-500}
  EVERY=10
  nvidia-smi -L
  $PY -c "import torch; print(torch.__version__, torch.cuda.get_device_name())"
fi
BASE=(-m graphae train --dataset ogbl-ddi --data-dir "$GRAPHAE_DATA/ogb" --model refined_gae --device $DEV --quiet "${SIZE[@]}")
pack() { tar czf "$OUT/ddi_logs.tgz" -C "$(dirname "$LOGS")" "$(basename "$LOGS")"; }

# 1. Seconds per epoch (training only: metrics.json's train_seconds over the epochs).
for prec in 32 bf16-mixed; do
  el "one process, $EPOCHS1 epochs, precision $prec"
  CMD=("${BASE[@]}" --epochs $EPOCHS1 --eval-every $EPOCHS1 --runs 1 --seed 0 --precision $prec --out "$LOGS/rate_$prec")
  echo "graphae ${CMD[*]:2}" > "$LOGS/rate_$prec.cmd"
  timeout -k 5 $((DEADLINE / 4)) $PY "${CMD[@]}" > "$LOGS/rate_$prec.log" 2>&1
  el "rc $?"
  tail -2 "$LOGS/rate_$prec.log"
done
pack
RATE=$($PY -c "
import json, sys
try:
    m = json.load(open('$LOGS/rate_bf16-mixed/metrics.json'))
    print(max(m['train_seconds']['mean'] / $EPOCHS1, 1e-3))
except Exception as e:
    print('none')")
LEFT=$((DEADLINE - ($(date +%s) - T0) - 45))
EPOCHS=$($PY -c "
r = '$RATE'
print(0 if r == 'none' else min($FULL, int($LEFT / (float(r) * $K)) // $EVERY * $EVERY))")
el "bf16-mixed: $RATE s per epoch; $LEFT s left: $K seeds side by side for $EPOCHS epochs (the reference: $FULL)"

# 2. Seeds side by side.
if [ "$EPOCHS" -ge $EVERY ] && [ "$EPOCHS" -gt 0 ]; then
  for s in $(seq 0 $((K - 1))); do
    CMD=("${BASE[@]}" --epochs $EPOCHS --eval-every $EVERY --select-best --runs 1 --seed $s --precision bf16-mixed \
      --out "$LOGS/seed_$s")
    echo "graphae ${CMD[*]:2}" > "$LOGS/seed_$s.cmd"
    timeout -k 5 $((LEFT + 20)) $PY "${CMD[@]}" > "$LOGS/seed_$s.log" 2>&1 &
  done
  wait
  el "seeds done"
fi

# 3. The summary; the run folders' large files (embeddings, model) stay behind.
$PY - "$LOGS" "$OUT/ddi.json" "$EPOCHS1" "$EPOCHS" "$FULL" <<'EOF'
import json, sys
from pathlib import Path

logs, out, epochs1, epochs, full = Path(sys.argv[1]), Path(sys.argv[2]), *map(int, sys.argv[3:])


def read(folder):
    try:
        command = folder.with_suffix(".cmd").read_text().strip()
        m = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return {
        "command": command,
        "valid_hits@20": m.get("valid_hits@20", {}).get("mean"),
        "test_hits@20": m.get("test_hits@20", {}).get("mean"),
        "train_seconds": m.get("train_seconds", {}).get("mean"),
    }


rates = {}
for prec in ("32", "bf16-mixed"):
    row = read(logs / f"rate_{prec}")
    if row is not None:
        row["seconds_per_epoch"] = row["train_seconds"] / epochs1
    rates[prec] = row
seeds = {p.name: read(p) for p in sorted(logs.glob("seed_*")) if p.is_dir()}
summary = {"epochs": epochs, "reference_epochs": full, "shortened": epochs < full, "rates": rates, "seeds": seeds}
out.write_text(json.dumps(summary, indent=1))
print(json.dumps(summary, indent=1))
EOF
for f in "$LOGS"/*/; do rm -f "$f"embeddings.npy "$f"model.pt "$f"*.npz "$f"*.npy; done
pack
el "packed"; ls -la "$OUT"
