"""Reproduce Table 1 (link prediction) of Kipf & Welling (2016) with `graphae train`.

Each row runs the CLI exactly as a user would, ``--runs 10`` with seeds 0..9, and
the table in BENCHMARKS.md is rewritten between its markers. Usage::

    GRAPHAE_DATA=../shared/data python benchmarks/reproduce.py [--rows cora-gae ...] [--runs 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import torch

from _common import machine, replace_section, run_graphae

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "reproduce.json"
BEGIN, END = "<!-- reproduce:begin -->", "<!-- reproduce:end -->"

# (dataset, model, features) -> paper (AUC, AP), Table 1 of arXiv 1611.07308.
PAPER = {
    ("cora", "gae", True): (91.0, 92.0),
    ("cora", "vgae", True): (91.4, 92.6),
    ("cora", "gae", False): (84.3, 88.1),
    ("cora", "vgae", False): (84.0, 87.7),
    ("citeseer", "gae", True): (89.5, 89.9),
    ("citeseer", "vgae", True): (90.8, 92.0),
    ("citeseer", "gae", False): (78.7, 84.1),
    ("citeseer", "vgae", False): (78.9, 84.1),
    ("pubmed", "gae", False): (82.2, 87.4),
    ("pubmed", "vgae", False): (82.7, 87.5),
}


def row_name(dataset: str, model: str, features: bool) -> str:
    return f"{dataset}-{model}{'' if features else '-star'}"


def run_row(dataset: str, model: str, features: bool, runs: int, loss: str) -> dict:
    cmd = ["graphae", "train", "--dataset", dataset, "--model", model, "--loss", loss]
    cmd += ["--runs", str(runs), "--seed", "0", "--quiet", "--device", "cpu"]
    if not features:
        cmd.append("--no-features")
    metrics, _, wall = run_graphae(cmd)
    metrics["wall_seconds"] = wall
    metrics["command"] = " ".join(cmd)
    return metrics


def render(results: dict[str, dict]) -> str:
    lines = [
        "| Model | Data set | AUC | AP | Paper AUC | Paper AP | Δ AUC | Δ AP | train s/run | runs |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (dataset, model, features), (p_auc, p_ap) in PAPER.items():
        m = results.get(row_name(dataset, model, features))
        if m is None:
            continue
        auc, ap = 100 * m["test_auc"]["mean"], 100 * m["test_ap"]["mean"]
        auc_sd, ap_sd = 100 * m["test_auc"]["std"], 100 * m["test_ap"]["std"]
        label = model.upper() + ("" if features else "*")
        lines.append(
            f"| {label} | {dataset} | {auc:.1f} ± {auc_sd:.1f} | {ap:.1f} ± {ap_sd:.1f} | {p_auc:.1f} | "
            f"{p_ap:.1f} | {auc - p_auc:+.1f} | {ap - p_ap:+.1f} | {m['train_seconds']['mean']:.2f} | "
            f"{m['runs']} |"
        )
    return "\n".join(lines)


def write_benchmarks(results: dict[str, dict], meta: dict) -> None:
    body = "\n".join(
        [
            f"Measured {meta['date']} on {meta['machine']}, torch {meta['torch']}, {meta['threads']} threads, "
            f"`--loss {meta['loss']}`, 200 epochs, seeds 0..{meta['runs'] - 1}.",
            "Command: `GRAPHAE_DATA=../shared/data python benchmarks/reproduce.py`; each row ran",
            "`graphae train --dataset D --model M [--no-features] --runs 10 --seed 0 --device cpu`.",
            "Mean ± standard deviation over runs; scores in percent; 'train s/run' is the training loop alone.",
            "",
            render(results),
        ]
    )
    replace_section(BEGIN, END, body, "Reproduction of Table 1 (link prediction)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", nargs="*", help="row names such as cora-gae, pubmed-vgae-star (default: all)"
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--loss", default="exact", choices=["exact", "sampled"])
    args = parser.parse_args(argv)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for dataset, model, features in PAPER:
        name = row_name(dataset, model, features)
        if args.rows and name not in args.rows:
            continue
        results[name] = run_row(dataset, model, features, args.runs, args.loss)
        m = results[name]
        print(
            f"{name}: AUC {100 * m['test_auc']['mean']:.1f} AP {100 * m['test_ap']['mean']:.1f}", flush=True
        )
        RESULTS.write_text(json.dumps(results, indent=1))
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "loss": args.loss,
        "runs": args.runs,
    }
    write_benchmarks(results, meta)
    return 0


if __name__ == "__main__":
    sys.exit(main())
