"""``graphae evaluate``: every score of a saved model, on its run's test split or on labelled pairs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from graphae import runfolder
from graphae.cli.common import (
    UserError,
    add_legacy_option,
    add_model_option,
    check_out_file,
    check_seeds,
    load_model,
    parse_id,
    seed,
)
from graphae.errors import InputError


def add_command(sub: Any) -> None:
    evaluate = sub.add_parser(
        "evaluate",
        help="score a saved model: AUC/AP, Hits@K, MRR, clustering and a probe, as JSON",
        description="Scores the model saved in DIR on the test split of its run (the same pairs "
        "`graphae train` scored), or on a file of labelled pairs, and prints the scores as JSON.",
    )
    add_model_option(evaluate)
    evaluate.add_argument(
        "--pairs",
        metavar="FILE",
        help="labelled pairs `source,target,label` (label 1: an edge, 0: a non-edge) instead of the run's split",
    )
    evaluate.add_argument("--out", metavar="FILE", help="also write the JSON to FILE")
    evaluate.add_argument(
        "--seed", type=seed, default=None, help="seed of k-means and the probe (default: the run's)"
    )
    add_legacy_option(evaluate)
    evaluate.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from graphae.evaluation import EvaluationSplit, evaluate, evaluate_official, evaluate_pairs

    check_out_file(args.out)
    model = load_model(args.model, args.legacy)
    folder = Path(args.model)
    if args.pairs is not None:
        scores: dict[str, Any] = {"pairs": str(args.pairs), **_score_file(model, args.pairs, evaluate_pairs)}
    else:
        path = folder / runfolder.SPLIT
        if not path.is_file():
            raise UserError(
                f"{path} not found: only run folders of `graphae train --out` (graphae 0.3 or later) hold "
                "their test split; give labelled pairs with --pairs FILE"
            )
        runfolder.verify_run_files(folder, (runfolder.SPLIT, runfolder.METRICS), args.legacy)
        split = EvaluationSplit.load(path, len(model.node_ids_))
        random_state = args.seed if args.seed is not None else _run_seed(folder)
        scores = {"model": model.model_name, **evaluate(model, split, random_state=random_state)}
        metric = _official_metric(folder)
        if metric is not None:  # an OGB run: its official metric, as `graphae train` scored it
            scores["official_metric"] = metric
            scores[f"test_{metric}"] = evaluate_official(model, split, metric)
    text = json.dumps(scores, indent=1)
    if args.out is not None:  # first: a failure to write prints no scores
        from graphae.io import write_text

        write_text(Path(args.out), text + "\n")
    print(text, flush=True)
    return 0


def _score_file(model: Any, path: str, evaluate_pairs: Any) -> dict[str, Any]:
    from graphae.data.files import read_labelled_pairs
    from graphae.data.parquet import PARQUET_SUFFIXES
    from graphae.data.parquet_pairs import read_parquet_labelled_pairs

    if Path(path).suffix.lower() in PARQUET_SUFFIXES:
        rows, at = read_parquet_labelled_pairs(path), f"{path}: row "
    else:
        rows, at = read_labelled_pairs(path), f"{path}:"
    ids, lookup = model.node_ids_, model.id_index()
    index = np.empty((2, len(rows)), dtype=np.int64)
    for k, (a, b, _, line) in enumerate(rows):
        for side, text in enumerate((a, b)):
            node = parse_id(ids, text, f"{at}{line}")
            if node not in lookup:
                raise UserError(f"{at}{line}: unknown node id {node!r}")
            index[side, k] = lookup[node]
    labels = np.array([label for _, _, label, _ in rows])
    try:
        return evaluate_pairs(model, index, labels)
    except InputError as err:
        raise UserError(f"{path}: {err}") from None


def _official_metric(folder: Path) -> str | None:
    """The official metric of the run's data set (``hits@20``...), ``None`` if it had none."""
    from graphae.metrics_ogb import check_metric

    metrics = runfolder.read_json(folder / runfolder.METRICS)
    metric = metrics.get("official_metric") if isinstance(metrics, dict) else None
    if metric is None:
        return None
    try:
        return check_metric(metric)
    except InputError as err:
        raise UserError(f"{folder / runfolder.METRICS}: official_metric: {err}") from None


def _run_seed(folder: Path) -> int:
    """The seed of the run's first run (k-means and the probe use it), 0 if unknown."""
    path = folder / runfolder.METRICS
    if path.is_file():
        metrics = runfolder.read_json(path)
        if isinstance(metrics, dict) and metrics.get("seed") is not None:
            return check_seeds(metrics["seed"], 1, f"{path}: 'seed'")
    print(f"graphae: notice: {path} gives no seed; k-means and the probe use seed 0", file=sys.stderr)
    return 0
