"""ogbl-ddi with OGB's protocol: each model's official Hits@20 over seeds, through `graphae train`.

Each row runs the CLI as a user would: ``graphae train --dataset ogbl-ddi --data-dir DIR
--model M --runs R --seed 0``, the model's default settings (no tuning), OGB's fixed
split, selection on the official validation metric where the model validates, the test
set scored once. Rows merge into ``benchmarks/results/ogb_ddi.json``; the table in
BENCHMARKS.md is rewritten between its markers. Usage::

    GRAPHAE_DATA=../shared/data python benchmarks/ogb_ddi.py [--models gae vgae ...] [--runs 3]
        [--shared-machine] [--device cpu|cuda]

``--shared-machine`` marks the rows it runs as timed beside other jobs: their time cells
read "–" (the scores stand). ``refined_gae`` and ``maskgae`` are in the table's list but
not in the default run: their defaults take hours per run on 2 CPU cores; run them on a
GPU (``--models refined_gae maskgae --runs 10 --device cuda``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

import torch

from _common import machine, replace_section, run_graphae

RESULTS = Path(__file__).resolve().parent / "results" / "ogb_ddi.json"
BEGIN, END = "<!-- ogb-ddi:begin -->", "<!-- ogb-ddi:end -->"
MODELS = [
    "gae",
    "vgae",
    "linear_gae",
    "linear_vgae",
    "arga",
    "arvga",
    "maskgae",
    "refined_gae",
    "common_neighbors",
    "adamic_adar",
    "resource_allocation",
    "preferential_attachment",
    "katz",
]
GPU_MODELS = ("maskgae", "refined_gae")  # hours per run on 2 CPU cores at their defaults


def run_row(model: str, runs: int, data_dir: str, *, device: str = "cpu", shared: bool = False) -> dict:
    cmd = ["graphae", "train", "--dataset", "ogbl-ddi", "--data-dir", data_dir, "--model", model]
    cmd += ["--runs", str(runs), "--seed", "0", "--device", device, "--quiet"]
    metrics, _, wall = run_graphae(cmd)
    metrics["wall_seconds_per_run"] = wall / runs
    metrics["date"] = dt.date.today().isoformat()
    metrics["machine"] = machine()
    metrics["torch"] = torch.__version__
    metrics["shared_machine"] = shared
    return metrics


def _pct(summary: dict | None) -> str:
    if summary is None:
        return "–"
    return f"{100 * summary['mean']:.2f} ± {100 * summary['std']:.2f}"


def render(results: dict[str, dict]) -> str:
    lines = [
        "| Model | test Hits@20 | valid Hits@20 | test AUC | parameters | train s/run | wall s/run | runs | date, machine |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for model in MODELS:
        m = results.get(model)
        if m is None:
            continue
        shared = m.get("shared_machine", False)  # timed beside other jobs: no time shown
        train = "–" if shared else f"{m['train_seconds']['mean']:.1f}"
        wall = "–" if shared else f"{m['wall_seconds_per_run']:.1f}"
        where = f"{m['date']}, {m['machine']}" + (", shared" if shared else "")
        lines.append(
            f"| {model} | {_pct(m.get('test_hits@20'))} | {_pct(m.get('valid_hits@20'))} | "
            f"{_pct(m.get('test_auc'))} | {m.get('num_parameters', 0):,} | {train} | "
            f"{wall} | {m['runs']} | {where} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=[m for m in MODELS if m not in GPU_MODELS])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--shared-machine", action="store_true", help="times not comparable: shown as '–'")
    parser.add_argument("--render-only", action="store_true", help="rewrite the table from the JSON")
    default_dir = str(Path(os.environ.get("GRAPHAE_DATA", "../shared/data")) / "ogb")
    parser.add_argument("--data-dir", default=default_dir)
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for model in [] if args.render_only else args.models:
        results[model] = run_row(
            model, args.runs, args.data_dir, device=args.device, shared=args.shared_machine
        )
        RESULTS.write_text(json.dumps(results, indent=1))
        print(f"{model}: test Hits@20 {_pct(results[model].get('test_hits@20'))}", flush=True)
    body = "\n".join(
        [
            "Command: `GRAPHAE_DATA=../shared/data python benchmarks/ogb_ddi.py --runs 3`; each row ran",
            "`graphae train --dataset ogbl-ddi --data-dir ../shared/data/ogb --model M --runs 3 --seed 0 --device cpu`",
            "with 2 threads, each model's default settings (nothing tuned), alone on the machine except the rows",
            "marked 'shared' (`--shared-machine`: run beside other jobs, so their times are not comparable and",
            "read '–'). Hits@20 as OGB's `Evaluator` computes it (a test checks graphae's figure against it), in",
            "percent, mean ± std over seeds 0..R-1; 'train s/run' is the training loop, 'wall s/run' the whole",
            "command (loading, training, scoring, writing) divided by the runs. A heuristic learns nothing: its",
            "seeds agree.",
            "",
            render(results),
        ]
    )
    replace_section(BEGIN, END, body, "ogbl-ddi (OGB's protocol): every model at its defaults")
    return 0


if __name__ == "__main__":
    sys.exit(main())
