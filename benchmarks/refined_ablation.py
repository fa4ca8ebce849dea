"""What each ingredient of refined_gae adds on ogbl-ddi, on the validation Hits@20 only.

The 10-seed row at the reference settings (1024 wide, 500 epochs) needs a GPU: one epoch takes
677 s on 2 CPU cores. This script runs the recipe at a budget 2 cores can afford and takes one
ingredient away at a time, each run through the command a user types::

    graphae train --dataset ogbl-ddi --data-dir DIR --model refined_gae --hidden W --latent W
        --decoder-layers D --epochs E --batch-size B --eval-every V --select-best
        --runs R --seed 0 [the variant's options]

The epoch is kept on the official validation metric; the table shows validation Hits@20 only
(the test figures stay in ``benchmarks/results/refined_ablation.json``, unread for any choice).
Usage::

    GRAPHAE_DATA=../shared/data python benchmarks/refined_ablation.py [--width 128]
        [--decoder-layers 4] [--epochs 20] [--batch-size 65536] [--runs 1] [--variants NAME ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from _common import machine, run_graphae, write_results

RESULTS = Path(__file__).resolve().parent / "results" / "refined_ablation.json"
BEGIN, END = "<!-- refined-ablation:begin -->", "<!-- refined-ablation:end -->"

# name -> (what it changes, its options): each takes one ingredient of the recipe away.
VARIANTS: dict[str, tuple[str, list[str]]] = {
    "recipe": ("the recipe at this budget", []),
    "no-residual": ("propagation without the residual from the input (`--residual 0`)", ["--residual", "0"]),
    "inner-decoder": (
        "a one-layer decoder on z_i ⊙ z_j, a weighted inner product (`--decoder-layers 1`)",
        ["--decoder-layers", "1"],
    ),
    "no-decoder-residual": (
        "the MLP decoder without its residuals (`--no-decoder-residual`)",
        ["--no-decoder-residual"],
    ),
    "no-mask": ("the batch's edges left in the encoder's graph (`--no-mask-input`)", ["--no-mask-input"]),
    "one-step": ("one propagation step instead of two (`--num-layers 1`)", ["--num-layers", "1"]),
    "3-negatives": ("3 negatives per positive instead of 1 (`--num-negatives 3`)", ["--num-negatives", "3"]),
    # Not an ingredient: the same recipe in bfloat16 mixed precision, to see that it costs no score.
    "bf16-mixed": (
        "the recipe with its steps in bfloat16 mixed precision (`--precision bf16-mixed`)",
        ["--precision", "bf16-mixed"],
    ),
}


def command(args: argparse.Namespace, extra: list[str]) -> list[str]:
    """The ``graphae train`` command of one row: the budget in ``args``, then ``extra`` options."""
    cmd = ["graphae", "train", "--dataset", "ogbl-ddi", "--data-dir", args.data_dir, "--model", "refined_gae"]
    cmd += ["--hidden", str(args.width), "--latent", str(args.width)]
    cmd += ["--decoder-layers", str(args.decoder_layers), "--epochs", str(args.epochs)]
    cmd += ["--batch-size", str(args.batch_size), "--eval-every", str(args.eval_every), "--select-best"]
    cmd += ["--runs", str(args.runs), "--seed", "0", "--device", "cpu", "--threads", "2", "--quiet"]
    return cmd + extra


def run(variant: str, args: argparse.Namespace) -> dict:
    cmd = command(args, VARIANTS[variant][1])
    metrics, _, wall = run_graphae(cmd)
    valid = metrics["valid_hits@20"]
    return {
        "variant": variant,
        "command": " ".join(cmd),
        "valid_hits@20": valid,
        "test_hits@20": metrics["test_hits@20"],  # kept, never read for a choice
        "num_parameters": metrics["num_parameters"],
        "train_seconds": metrics["train_seconds"],
        "wall_seconds": wall,
        "budget": _budget(args),
    }


def _budget(args: argparse.Namespace) -> dict:
    """What the rows of one table share: only rows of the same budget are compared."""
    keys = ("width", "decoder_layers", "epochs", "batch_size", "eval_every", "runs")
    return {k: getattr(args, k) for k in keys}


def _outputs(args: argparse.Namespace) -> tuple[Path, str, str]:
    """The results file and BENCHMARKS.md markers: one table for one seed, another per number of seeds."""
    if args.runs == 1:
        return RESULTS, BEGIN, END
    name = f"refined-ablation-{args.runs}seeds"
    return (
        RESULTS.with_name(f"refined_ablation_{args.runs}seeds.json"),
        f"<!-- {name}:begin -->",
        f"<!-- {name}:end -->",
    )


def render(rows: list[dict], args: argparse.Namespace) -> str:
    recipe = next((r for r in rows if r["variant"] == "recipe"), None)
    lines = [
        f"Command ({time.strftime('%Y-%m-%d')}, {machine()}; scores only, so it may share the machine): "
        f"`GRAPHAE_DATA=../shared/data python benchmarks/refined_ablation.py --width {args.width} "
        f"--decoder-layers {args.decoder_layers} --epochs {args.epochs} --batch-size {args.batch_size} "
        f"--eval-every {args.eval_every} --runs {args.runs}`. Each row is one `graphae train --dataset ogbl-ddi "
        f"--model refined_gae` run per seed (seeds 0..{args.runs - 1}) at this budget, the epoch kept on "
        "the validation Hits@20; the table shows validation only (the test figures, which `graphae train` "
        f"also prints, are in `benchmarks/results/{_outputs(args)[0].name}`, used for no choice).",
        "",
        "| Variant | valid Hits@20 | change vs the recipe | parameters |"
        + (" per seed |" if args.runs > 1 else ""),
        "| --- | --- | --- | --- |" + (" --- |" if args.runs > 1 else ""),
    ]
    for r in rows:
        v = r["valid_hits@20"]
        change = (
            "–"
            if recipe is None or r is recipe
            else f"{100 * (v['mean'] - recipe['valid_hits@20']['mean']):+.2f}"
        )
        seeds = " " + ", ".join(f"{100 * x:.2f}" for x in v["values"]) + " |" if args.runs > 1 else ""
        lines.append(
            f"| {VARIANTS[r['variant']][0]} | {100 * v['mean']:.2f} ± {100 * v['std']:.2f} | {change} | "
            f"{r['num_parameters']:,} |{seeds}"
        )
    return "\n".join(lines)


def budget_parser(description: str, epochs: int, batch_size: int, eval_every: int) -> argparse.ArgumentParser:
    """The options of a budget (width, decoder depth, epochs, batch, validation interval) and --data-dir."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--decoder-layers", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--batch-size", type=int, default=batch_size)
    parser.add_argument("--eval-every", type=int, default=eval_every)
    default_dir = str(Path(os.environ.get("GRAPHAE_DATA", "../shared/data")) / "ogb")
    parser.add_argument("--data-dir", default=default_dir)
    return parser


def main() -> int:
    parser = budget_parser(__doc__.splitlines()[0], epochs=20, batch_size=65536, eval_every=5)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument(
        "--merge", action="store_true", help="keep the saved rows of the variants not run now"
    )
    args = parser.parse_args()
    rows = []
    results, begin, end = _outputs(args)
    if args.merge and results.exists():  # rows of an earlier invocation at the same budget
        saved = json.loads(results.read_text())["rows"]
        rows = [r for r in saved if r["variant"] not in args.variants and r.get("budget") == _budget(args)]
    for variant in args.variants:
        rows.append(run(variant, args))
        rows.sort(key=lambda r: list(VARIANTS).index(r["variant"]))
        v = next(r for r in rows if r["variant"] == variant)["valid_hits@20"]
        print(f"{variant}: valid Hits@20 {100 * v['mean']:.2f} ± {100 * v['std']:.2f}", flush=True)
        body = render(rows, args)
        heading = f"ogbl-ddi: what each ingredient of refined_gae adds (validation, {args.runs} seeds)"
        write_results(results, rows, body, begin, end, heading)
    return 0


if __name__ == "__main__":
    sys.exit(main())
