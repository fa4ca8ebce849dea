"""MaskGAE (Li et al., KDD 2023) under graphae's leak-free protocol: search, table, ablation, power law.

Four parts, each writing its section of BENCHMARKS.md (between its markers) and its JSON
under ``benchmarks/results/``:

- ``search``: a small grid on *validation* AUC (seeds 0..2 by default) on Cora and
  Citeseer; the defaults of :class:`graphae.models.maskgae.MaskGAE` come from it. Test
  pairs are not scored.
- ``table``: ``run_link_prediction`` (85/5/10 split, fit on the training edges, the best
  validation epoch kept, test scored once) for 10 seeds, MaskGAE beside the paper's GAE,
  on Cora and Citeseer with features and, with ``--pubmed-runs N``, structure-only Pubmed.
- ``ablation``: what each ingredient adds, on Cora and Citeseer: no masking, an
  inner-product decoder, no degree decoder, a narrow encoder, and on the featureless
  graphs identity features instead of learned embeddings.
- ``powerlaw``: on seeded power-law graphs (:func:`graphae.data.make_powerlaw`), featureless
  MaskGAE against preferential attachment, Adamic–Adar, common neighbours and GAE*.

Usage::

    GRAPHAE_DATA=../shared/data python benchmarks/maskgae.py [search|table|ablation|powerlaw|all]
        [--seeds N] [--epochs E] [--datasets cora,citeseer] [--pubmed-runs N] [--device auto|cpu|cuda]

The defaults are the real protocol (10 runs, the model's epochs); ``--seeds 1 --epochs 50``
is a smoke run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from _common import machine, replace_section
from graphae.data import load_dataset, make_powerlaw
from graphae.experiment import make_estimator, run_link_prediction
from graphae.graph import Graph
from graphae.registry import get_model
from graphae.split import split_edges

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"

# Validation keeps the best epoch, scored every 10, as in the reference code.
SELECT = {"select_best": True, "eval_every": 10}
GRID = {
    "mask": ["edge", "path"],
    "mask_ratio": [0.3, 0.5, 0.7],
    "alpha": [0.0, 0.1],
}
# The path mask's ratio is a start probability: ~1 - exp(-2 p L) of the edges are hidden.
PATH_RATIOS = {0.3: 0.1, 0.5: 0.2, 0.7: 0.35}
ABLATIONS: dict[str, dict[str, Any]] = {
    "MaskGAE (defaults)": {},
    "no masking": {"mask": "none"},
    "inner-product decoder": {"decoder_layers": 0},
    "no degree decoder": {"alpha": 0.0},
    "path masking": {"mask": "path", "mask_ratio": 0.2},
    "narrow encoder (32-16, as the GAE)": {"num_layers": 2, "hidden_channels": 32, "out_channels": 16},
}
FEATURELESS_ABLATIONS: dict[str, dict[str, Any]] = {
    "MaskGAE*, learned embeddings": {"use_features": False},
    "MaskGAE*, identity features": {"use_features": False, "embedding_channels": 0},
}


def stamp(command: str, device: str) -> str:
    return (
        f"Measured {dt.date.today().isoformat()} on {machine()} ({device}), torch {torch.__version__}. "
        f"Command: `{command}`."
    )


def mean_std(values: list[float]) -> str:
    arr = 100 * np.asarray(values, dtype=float)
    return f"{arr.mean():.2f} ± {arr.std():.2f}"


def validation_auc(graph: Graph, params: dict[str, Any], seed: int, device: str) -> float:
    """Best validation AUC of MaskGAE with ``params`` on the split of ``seed`` (no test pairs scored)."""
    split = split_edges(graph, random_state=seed)
    est = make_estimator("maskgae", **{**SELECT, **params, "random_state": seed, "device": device})
    est.fit(split.train, val_pairs=(split.val_pos, split.val_neg))
    return max(r["val_auc"] for r in est.history_ if "val_auc" in r)


def grid() -> list[dict[str, Any]]:
    configs = []
    for mask, ratio, alpha in itertools.product(GRID["mask"], GRID["mask_ratio"], GRID["alpha"]):
        p = PATH_RATIOS[ratio] if mask == "path" else ratio
        configs.append({"mask": mask, "mask_ratio": p, "alpha": alpha})
    return configs


def search(args: argparse.Namespace, graphs: dict[str, Graph]) -> None:
    rows = []
    for name, graph in graphs.items():
        for params in grid():
            params = {**params, **args.extra}
            scores = [validation_auc(graph, params, s, args.device) for s in range(args.seeds)]
            rows.append({"dataset": name, "params": params, "val_auc": scores})
            print(json.dumps(rows[-1]), flush=True)
    write_json("maskgae_search.json", rows)
    lines = [
        stamp(args.command, args.device),
        f"Validation AUC (best epoch, scored every 10) of MaskGAE, mean ± std over seeds 0..{args.seeds - 1}; "
        "other parameters at their defaults. No test pair was scored. The path mask's ratio is the "
        "probability of starting a walk at an edge orientation.",
        "",
        "| data set | mask | mask ratio | alpha | val AUC |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name in graphs:
        mine = sorted((r for r in rows if r["dataset"] == name), key=lambda r: -np.mean(r["val_auc"]))
        for i, r in enumerate(mine):
            p = r["params"]
            best = " (best)" if i == 0 else ""
            lines.append(
                f"| {name} | {p['mask']} | {p['mask_ratio']:g} | {p['alpha']:g} | {mean_std(r['val_auc'])}{best} |"
            )
    replace_section(
        "<!-- maskgae-search:begin -->",
        "<!-- maskgae-search:end -->",
        "\n".join(lines),
        "MaskGAE: hyperparameter search on validation",
    )


def link_prediction(graph: Graph, model: str, params: dict[str, Any], args: argparse.Namespace) -> dict:
    """``args.seeds`` runs of ``run_link_prediction``; learned models get ``args.device`` and ``args.epochs``."""
    aucs, aps, secs, vals = [], [], [], []
    if get_model(model).learned:
        params = {**params, "device": args.device, **args.extra}
    for seed in range(args.seeds):
        est = make_estimator(model, **params)
        tick = time.perf_counter()
        result = run_link_prediction(graph, est, seed=seed, ranking_negatives=0)
        wall = time.perf_counter() - tick
        aucs.append(result.test_auc)
        aps.append(result.test_ap)
        secs.append(result.train_seconds)
        history = result.estimator.history_
        vals.append(max((r["val_auc"] for r in history if "val_auc" in r), default=float("nan")))
        print(
            json.dumps(
                {
                    "model": model,
                    "seed": seed,
                    "test_auc": aucs[-1],
                    "val_auc": vals[-1],
                    "train_s": secs[-1],
                    "wall_s": wall,
                }
            ),
            flush=True,
        )
    return {"test_auc": aucs, "test_ap": aps, "train_seconds": secs, "val_auc": vals}


def table(args: argparse.Namespace, graphs: dict[str, Graph]) -> None:
    rows = []
    plan = [(name, graph, args.seeds) for name, graph in graphs.items()]
    if args.pubmed_runs:
        plan.append(("pubmed (structure only)", load_dataset("pubmed", features=False), args.pubmed_runs))
    seeds = args.seeds
    for name, graph, args.seeds in plan:
        star = "" if graph.x is not None else "*"
        for label, model, params in (("MaskGAE" + star, "maskgae", SELECT), ("GAE" + star, "gae", {})):
            result = link_prediction(graph, model, params, args)
            rows.append({"dataset": name, "model": label, "params": params, **result})
    args.seeds = seeds
    write_json("maskgae_table.json", rows)
    lines = [
        stamp(args.command, args.device),
        "`run_link_prediction`: 85/5/10 split of seed s, fit on the training edges, MaskGAE keeps its best "
        "validation epoch (scored every 10), the test split is scored once. GAE: the paper's settings. "
        "Mean ± std over runs, in percent; 'train s/run' is the training loop alone.",
        "",
        "| data set | model | test AUC | test AP | val AUC | train s/run | runs |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['model']} | {mean_std(r['test_auc'])} | {mean_std(r['test_ap'])} | "
            f"{mean_std(r['val_auc']) if r['model'].startswith('MaskGAE') else '–'} | "
            f"{np.mean(r['train_seconds']):.1f} | {len(r['test_auc'])} |"
        )
    replace_section(
        "<!-- maskgae-table:begin -->",
        "<!-- maskgae-table:end -->",
        "\n".join(lines),
        "MaskGAE: link prediction, 10 runs",
    )


def ablation(args: argparse.Namespace, graphs: dict[str, Graph]) -> None:
    rows = []
    for name, graph in graphs.items():
        for label, change in {**ABLATIONS, **FEATURELESS_ABLATIONS}.items():
            params = {**SELECT, **change}
            result = link_prediction(graph, "maskgae", params, args)
            rows.append({"dataset": name, "variant": label, "params": params, **result})
    write_json("maskgae_ablation.json", rows)
    lines = [
        stamp(args.command, args.device),
        "Each row changes one thing of the MaskGAE defaults (same protocol as the table). Validation "
        "AUC is what a choice may be made on; test AUC is shown for the record.",
        "",
        "| data set | variant | val AUC | test AUC | test AP | train s/run |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['variant']} | {mean_std(r['val_auc'])} | {mean_std(r['test_auc'])} | "
            f"{mean_std(r['test_ap'])} | {np.mean(r['train_seconds']):.1f} |"
        )
    replace_section(
        "<!-- maskgae-ablation:begin -->",
        "<!-- maskgae-ablation:end -->",
        "\n".join(lines),
        "MaskGAE: ablation",
    )


POWERLAW_GRAPHS = {
    "power law, gamma 2.3, 2000 nodes, mean degree 6": {
        "num_nodes": 2000,
        "avg_degree": 6.0,
        "exponent": 2.3,
    },
    "power law, gamma 2.1, 5000 nodes, mean degree 4": {
        "num_nodes": 5000,
        "avg_degree": 4.0,
        "exponent": 2.1,
    },
}
POWERLAW_MODELS = {
    "MaskGAE* (learned embeddings)": ("maskgae", {**SELECT, "use_features": False}),
    "GAE*": ("gae", {"use_features": False}),
    "preferential attachment": ("preferential_attachment", {}),
    "Adamic–Adar": ("adamic_adar", {}),
    "common neighbours": ("common_neighbors", {}),
}


def powerlaw(args: argparse.Namespace) -> None:
    rows = []
    for name, spec in POWERLAW_GRAPHS.items():
        graph = make_powerlaw(**spec, random_state=0)
        for label, (model, params) in POWERLAW_MODELS.items():
            result = link_prediction(graph, model, params, args)
            rows.append({"graph": name, "model": label, **result})
    write_json("maskgae_powerlaw.json", rows)
    lines = [
        stamp(args.command, args.device),
        "Seeded `make_powerlaw` graphs (random_state=0; no features), the same split per seed for every "
        "model; test AUC and AP, mean ± std over seeds.",
        "",
        "| graph | model | test AUC | test AP |",
        "| --- | --- | --- | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['graph']} | {r['model']} | {mean_std(r['test_auc'])} | {mean_std(r['test_ap'])} |"
        )
    replace_section(
        "<!-- maskgae-powerlaw:begin -->",
        "<!-- maskgae-powerlaw:end -->",
        "\n".join(lines),
        "MaskGAE on power-law graphs, against the heuristics",
    )


def write_json(name: str, rows: list[dict]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / name).write_text(json.dumps(rows, indent=1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "part", nargs="?", default="all", choices=["search", "table", "ablation", "powerlaw", "all"]
    )
    parser.add_argument("--seeds", type=int, help="runs per row (default: 3 for search, 10 otherwise)")
    parser.add_argument("--epochs", type=int, help="epochs of MaskGAE and GAE (default: each model's)")
    parser.add_argument("--datasets", default="cora,citeseer", help="comma-separated, with features")
    parser.add_argument(
        "--pubmed-runs", type=int, default=0, help="table: also structure-only Pubmed, N runs"
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu or cuda")
    args = parser.parse_args(argv)
    args.command = "python benchmarks/maskgae.py " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    args.extra = {} if args.epochs is None else {"epochs": args.epochs}
    parts = ["search", "table", "ablation", "powerlaw"] if args.part == "all" else [args.part]
    graphs = {name: load_dataset(name) for name in args.datasets.split(",") if name}
    seeds = args.seeds
    for part in parts:
        args.seeds = seeds if seeds is not None else (3 if part == "search" else 10)
        if part == "powerlaw":
            powerlaw(args)
        else:
            {"search": search, "table": table, "ablation": ablation}[part](args, graphs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
