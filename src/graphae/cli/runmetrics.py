"""Parts of ``metrics.json`` of ``graphae train`` that depend on the data set or the negatives."""

from __future__ import annotations

from typing import Any

from graphae.cli.scores import summary
from graphae.evaluation import HEART_METRICS
from graphae.graph import Graph


def heart_metrics(negatives: str, completed: list[dict[str, Any]]) -> dict[str, Any]:
    """For metrics.json under ``--negatives heart``: the kind, and Hits@1 and @3."""
    if negatives != "heart":
        return {}
    return {
        "negatives": "heart",
        **{name: summary([r.get(name) for r in completed]) for name in HEART_METRICS},
    }


def official_metrics(graph: Graph, estimator: Any) -> dict[str, Any]:
    """With an official split, its metric's name and the model's parameter count, for metrics.json."""
    if graph.official_split is None:
        return {}
    module = getattr(estimator, "module_", None)  # None: a heuristic
    return {
        "official_metric": graph.official_split.metric,
        "num_parameters": 0 if module is None else sum(p.numel() for p in module.parameters()),
    }
