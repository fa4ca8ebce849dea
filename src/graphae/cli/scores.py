"""The scores of ``graphae train``'s runs: their summaries in metrics.json and the lines it prints."""

from __future__ import annotations

from typing import Any

import numpy as np

from graphae.evaluation import METRICS


def summary(values: list[float | None]) -> dict[str, Any] | None:
    """``{mean, std, values}`` of one metric over the runs; ``None`` where it does not apply."""
    if not values or any(v is None for v in values):
        return None
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "values": [float(v) for v in values],
    }


def mean_scores(completed: list[dict[str, Any]], official: tuple[str, ...] = ()) -> dict[str, float | None]:
    means: dict[str, float | None] = {}
    for name in (*METRICS, *official):
        over_runs = summary([r.get(name) for r in completed])
        means[name] = None if over_runs is None else over_runs["mean"]
    return means


# The metrics the command line prints, in order: (key, label).
HEADLINE = (
    ("test_auc", "AUC"),
    ("test_ap", "AP"),
    ("test_hits_at_50", "Hits@50"),
    ("test_mrr", "MRR"),
    ("cluster_acc", "cluster ACC"),
    ("probe_accuracy", "probe acc"),
)


def headline(
    scores: dict[str, float | None],
    official: tuple[str, ...] = (),
    spread: list[dict[str, Any]] | None = None,
) -> str:
    """``test AUC 91.2 ± 0.8  AP ...``: the headline metrics in percent (± over runs when given).

    The official metric (``official``: its test key, then its validation key) comes first.
    """
    parts = []
    first = []
    for key in official[::-1]:
        stage, metric = key.split("_", 1)
        name = metric.replace("hits@", "Hits@").replace("mrr", "MRR")
        first.append((key, name if stage == "test" else f"valid {name}"))
    for key, label in [*first, *(item for item in HEADLINE if item[0] not in official)]:
        value = scores.get(key)
        if value is None:
            continue
        text = f"{label} {100 * value:.1f}"
        if spread is not None:
            text += f" ± {100 * np.std([r[key] for r in spread]):.1f}"
        parts.append(text)
    return "test " + "  ".join(parts)
