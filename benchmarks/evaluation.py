"""The evaluation table: every metric of graphae's evaluation for the autoencoders and the heuristics.

For Cora and Citeseer (with features) and Pubmed (structure only), each model runs the
paper's protocol (``run_link_prediction``, seeds 0..R-1: split 85/5/10, fit on the training
edges, the test split scored once) and reports AUC, AP, Hits@20/50/100 and MRR (each test
edge against its own 100 sampled negatives), Hits@50 against the shared test negatives,
and, on the embedding, k-means clustering (ACC, NMI, ARI) and a logistic-regression probe
on the Planetoid split. Usage::

    GRAPHAE_DATA=../shared/data python benchmarks/evaluation.py [--runs 10] [--pubmed-runs 2] [--pubmed-models all|heuristics]

The table in BENCHMARKS.md is rewritten between its markers; the raw values go to
``benchmarks/results/evaluation.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import torch

from _common import machine, replace_section
from graphae.data import load_dataset
from graphae.experiment import make_estimator, run_link_prediction

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "evaluation.json"
BEGIN, END = "<!-- evaluation:begin -->", "<!-- evaluation:end -->"
AUTOENCODERS = ("gae", "vgae")
HEURISTICS = ("common_neighbors", "adamic_adar", "resource_allocation", "preferential_attachment", "katz")
COLUMNS = (
    ("test_auc", "AUC"),
    ("test_ap", "AP"),
    ("test_hits_at_20", "Hits@20"),
    ("test_hits_at_50", "Hits@50"),
    ("test_hits_at_100", "Hits@100"),
    ("test_mrr", "MRR"),
    ("test_hits_at_50_shared", "Hits@50 shared"),
    ("cluster_acc", "ACC"),
    ("cluster_nmi", "NMI"),
    ("cluster_ari", "ARI"),
    ("probe_accuracy", "probe"),
)
DATASETS = (("cora", True), ("citeseer", True), ("pubmed", False))


def run_rows(name: str, features: bool, runs: int, models: tuple[str, ...]) -> list[dict]:
    graph = load_dataset(name, features=features)
    rows = []
    for model in models:
        params = {"use_features": features, "device": "cpu", "threads": 2} if model in AUTOENCODERS else {}
        scores = []
        for seed in range(runs):
            result = run_link_prediction(graph, make_estimator(model, **params), seed=seed)
            scores.append(result.scores)
        label = model.upper() + ("" if features else "*") if model in AUTOENCODERS else model
        row = {"dataset": name, "model": label, "runs": runs, "scores": scores}
        print(json.dumps({k: v for k, v in row.items() if k != "scores"}), _cells(scores)[:3], flush=True)
        rows.append(row)
    return rows


def _cells(scores: list[dict]) -> list[str]:
    cells = []
    for key, _ in COLUMNS:
        values = [s[key] for s in scores]
        if any(v is None for v in values):
            cells.append("–")
        else:
            arr = 100 * np.asarray(values)
            cells.append(f"{arr.mean():.1f} ± {arr.std():.1f}")
    return cells


def render(rows: list[dict], meta: dict) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']}, torch {meta['torch']}. Command: "
        f"`GRAPHAE_DATA=../shared/data python benchmarks/evaluation.py --runs {meta['runs']} "
        f"--pubmed-runs {meta['pubmed_runs']} --pubmed-models {meta['pubmed_models']}`. Each row: `run_link_prediction` with seeds 0..R-1 "
        "(the paper's 85/5/10 split, the test split scored once; GAE/VGAE with the paper's settings and "
        "exact loss, 200 epochs). Percent, mean ± std over runs. Hits@K and MRR rank each test edge "
        "against its own 100 sampled non-edges (OGB style); 'Hits@50 shared' ranks it against the "
        "shared test non-edges. ACC/NMI/ARI: k-means on the embedding (k = number of classes); probe: "
        "logistic regression on the embedding, Planetoid split. '–': no embedding (heuristics).",
        "",
        "| data set | model | runs | " + " | ".join(label for _, label in COLUMNS) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in COLUMNS) + " |",
    ]
    for row in rows:
        lines.append(
            f"| {row['dataset']} | {row['model']} | {row['runs']} | "
            + " | ".join(_cells(row["scores"]))
            + " |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs per row on Cora and Citeseer")
    parser.add_argument(
        "--pubmed-runs", type=int, default=2, help="runs per row on Pubmed (about 4 min each)"
    )
    parser.add_argument(
        "--pubmed-models",
        default="all",
        choices=("all", "heuristics"),
        help="heuristics: leave out the autoencoders on Pubmed (each run trains the exact loss, ~4 min)",
    )
    args = parser.parse_args(argv)
    rows = []
    for name, features in DATASETS:
        models = (*AUTOENCODERS, *HEURISTICS)
        if name == "pubmed" and args.pubmed_models == "heuristics":
            models = HEURISTICS
        rows += run_rows(name, features, args.pubmed_runs if name == "pubmed" else args.runs, models)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(rows, indent=1))
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "torch": torch.__version__,
        "runs": args.runs,
        "pubmed_runs": args.pubmed_runs,
        "pubmed_models": args.pubmed_models,
    }
    replace_section(BEGIN, END, render(rows, meta), "Evaluation beyond balanced AUC")
    return 0


if __name__ == "__main__":
    sys.exit(main())
