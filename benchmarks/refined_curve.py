"""How refined_gae's validation Hits@20 on ogbl-ddi grows with epochs, at a CPU budget.

The reference settings (1024 wide, 500 epochs) need a GPU. This script runs the recipe for
longer at the width of the ablation (``refined_ablation.py``) and keeps the validation
Hits@20 of every evaluated epoch from ``history.json``: where the curve stands when it
stops says more about the distance to the target than one 20-epoch point. Usage::

    GRAPHAE_DATA=../shared/data python benchmarks/refined_curve.py [--width 128]
        [--decoder-layers 4] [--epochs 100] [--eval-every 10] [--batch-size 8192]

The run is ``graphae train --dataset ogbl-ddi --model refined_gae ... --runs 1 --seed 0``; the
table shows validation only (the test figures stay in ``benchmarks/results/refined_curve.json``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from _common import machine, run_graphae, write_results
from refined_ablation import budget_parser, command

RESULTS = Path(__file__).resolve().parent / "results" / "refined_curve.json"
BEGIN, END = "<!-- refined-curve:begin -->", "<!-- refined-curve:end -->"


def render(row: dict, args: argparse.Namespace) -> str:
    lines = [
        f"Command ({time.strftime('%Y-%m-%d')}, {machine()}): "
        f"`GRAPHAE_DATA=../shared/data python benchmarks/refined_curve.py --width {args.width} "
        f"--decoder-layers {args.decoder_layers} --epochs {args.epochs} --eval-every {args.eval_every} "
        f"--batch-size {args.batch_size}`, which runs `{row['command']}`. One run, seed 0; "
        f"{row['num_parameters']:,} parameters; {row['train_seconds']:.0f} s of training "
        f"({row['train_seconds'] / args.epochs:.1f} s per epoch with its validations).",
        "",
        "| epoch | valid Hits@20 | training loss |",
        "| --- | --- | --- |",
    ]
    for point in row["curve"]:
        lines.append(f"| {point['epoch']} | {100 * point['valid_hits@20']:.2f} | {point['loss']:.4f} |")
    return "\n".join(lines)


def main() -> int:
    args = budget_parser(__doc__.splitlines()[0], epochs=100, batch_size=8192, eval_every=10).parse_args()
    args.runs = 1
    cmd = command(args, [])
    metrics, history, wall = run_graphae(cmd)
    curve = [
        {"epoch": h["epoch"], "valid_hits@20": h["val_hits@20"], "loss": h["loss"]}
        for h in history
        if "val_hits@20" in h
    ]
    row = {
        "command": " ".join(cmd),
        "curve": curve,
        "valid_hits@20": metrics["valid_hits@20"],  # of the epoch kept (--select-best)
        "test_hits@20": metrics["test_hits@20"],  # kept, never read for a choice
        "num_parameters": metrics["num_parameters"],
        "train_seconds": metrics["train_seconds"]["mean"],
        "wall_seconds": wall,
    }
    body = render(row, args)
    write_results(RESULTS, [row], body, BEGIN, END, "ogbl-ddi: refined_gae's validation Hits@20 by epoch")
    return 0


if __name__ == "__main__":
    sys.exit(main())
