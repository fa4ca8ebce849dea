"""Why Citeseer GAE varies from seed to seed: dead first-layer ReLUs.

For seeds 0..9 it trains the paper's GAE on Citeseer (the split and initialisation of seed
``s``, as ``graphae train --seed s``) with raw features, as the paper's code does, and with
L1-normalised feature rows (``normalize_features=True``), and reports per seed: how many of
the 32 first-layer units are dead (zero on every node) after 1, 10 and 200 epochs, the final
training loss, and the validation and test AUC. Usage::

    GRAPHAE_DATA=../shared/data python benchmarks/citeseer_gae.py [--seeds 10]

The table in BENCHMARKS.md is rewritten between its markers. Any choice between the two
settings is made on the validation AUC; the test AUC is shown for the record.
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
from graphae import GAE
from graphae.data import load_dataset
from graphae.metrics import auc_ap
from graphae.split import split_edges
from graphae.training import GraphTensors

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "citeseer_gae.json"
BEGIN, END = "<!-- citeseer:begin -->", "<!-- citeseer:end -->"
CHECKPOINTS = (1, 10, 200)


def dead_units(module: torch.nn.Module, data: GraphTensors) -> int:
    """First-layer units whose ReLU output is zero on every node."""
    with torch.no_grad():
        h = torch.relu(module.encoder.conv1(data.x, data.adj))
    return int((h.amax(dim=0) <= 0).sum())


def run(graph, seed: int, normalize: bool) -> dict:
    split = split_edges(graph, random_state=seed)
    est = GAE(random_state=seed, normalize_features=normalize, device="cpu", threads=2)
    train = split.train.normalize_features() if normalize else split.train
    data = GraphTensors.from_graph(train)
    modules: list[torch.nn.Module] = []
    build = est.build_module

    def keep(in_channels, generator=None):
        modules.append(build(in_channels, generator))
        return modules[-1]

    est.build_module = keep  # to look at the first layer while it trains
    dead: dict[int, int] = {}

    def watch(record: dict) -> None:
        if record["epoch"] in CHECKPOINTS:
            dead[record["epoch"]] = dead_units(modules[-1], data)

    est.fit(split.train, val_pairs=(split.val_pos, split.val_neg), callback=watch)
    test_auc, _ = auc_ap(est.pair_logits(split.test_pos), est.pair_logits(split.test_neg))
    last = est.history_[-1]
    return {
        "seed": seed,
        "dead": dead,
        "loss": last["loss"],
        "val_auc": last["val_auc"],
        "test_auc": test_auc,
    }


def render(results: dict, meta: dict) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']}, torch {meta['torch']}, 2 threads. Command: "
        "`GRAPHAE_DATA=../shared/data python benchmarks/citeseer_gae.py`. GAE with the paper's settings "
        "(GCN 32-16, Adam lr 0.01, 200 epochs, exact loss); seed s gives the split and initialisation "
        "of `graphae train --seed s`. Dead units: first-layer ReLUs (of 32) that are zero on every node.",
        "",
        "| seed | raw: dead units at epoch 1 / 10 / 200 | raw: loss | raw: val AUC | raw: test AUC "
        "| normalised: dead at 200 | normalised: val AUC | normalised: test AUC |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    raw, norm = results["raw"], results["normalized"]
    for r, n in zip(raw, norm, strict=True):
        d = r["dead"]
        lines.append(
            f"| {r['seed']} | {' / '.join(str(d[str(e)]) for e in CHECKPOINTS)} | {r['loss']:.3f} | "
            f"{100 * r['val_auc']:.1f} | {100 * r['test_auc']:.1f} | {n['dead'][str(CHECKPOINTS[-1])]} | "
            f"{100 * n['val_auc']:.1f} | {100 * n['test_auc']:.1f} |"
        )

    def mean_std(rows: list[dict], key: str) -> str:
        values = 100 * np.array([row[key] for row in rows])
        return f"{values.mean():.1f} ± {values.std():.1f}"

    lines.append(
        f"| mean ± std | | | {mean_std(raw, 'val_auc')} | {mean_std(raw, 'test_auc')} | | "
        f"{mean_std(norm, 'val_auc')} | {mean_std(norm, 'test_auc')} |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args(argv)
    graph = load_dataset("citeseer")
    results: dict[str, list[dict]] = {"raw": [], "normalized": []}
    for seed in range(args.seeds):
        for name, normalize in (("raw", False), ("normalized", True)):
            row = run(graph, seed, normalize)
            row["dead"] = {str(k): v for k, v in row["dead"].items()}
            results[name].append(row)
            print(name, json.dumps(row), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    meta = {"date": dt.date.today().isoformat(), "machine": machine(), "torch": torch.__version__}
    replace_section(BEGIN, END, render(results, meta), "Citeseer GAE: where its spread comes from")
    return 0


if __name__ == "__main__":
    sys.exit(main())
