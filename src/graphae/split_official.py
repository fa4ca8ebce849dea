"""A data set's own link split (OGB's): fixed training edges, validation and test pairs, a metric.

A leaf beside :mod:`graphae.graph` (numpy only), so that a graph can carry it; the metrics
themselves are computed in :mod:`graphae.metrics_ogb`.

Graphs read by :func:`graphae.data.load_ogbl` carry one as ``Graph.official_split``;
:func:`graphae.experiment.run_link_prediction` then trains on its training edges only,
selects on its validation metric and scores its test pairs once, never re-splitting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphae.errors import InputError

__all__ = ["HITS_PATTERN", "MetricPairs", "OfficialSplit", "check_metric"]

HITS_PATTERN = re.compile(r"hits@([1-9][0-9]*)")


def check_metric(metric: str) -> str:
    """``metric`` itself if it is ``"mrr"`` or ``"hits@K"``.

    Raises:
        InputError: Otherwise.
    """
    if metric != "mrr" and HITS_PATTERN.fullmatch(metric) is None:
        raise InputError(f"Unknown metric {metric!r}: expected 'hits@K' or 'mrr'.")
    return metric


class MetricPairs(tuple):
    """Validation pairs ``(pos, neg)`` that also name the metric to select a model on.

    A 2-tuple, so that it goes wherever ``val_pairs`` go; ``metric`` is ``"hits@K"``
    (``neg`` one shared set ``[2, M]``) or ``"mrr"`` (``neg`` holds ``K`` pairs per
    positive, positive by positive: ``[2, P * K]``).
    """

    metric: str

    def __new__(cls, pos: np.ndarray, neg: np.ndarray, metric: str) -> MetricPairs:
        pairs = super().__new__(cls, (pos, neg))
        pairs.metric = check_metric(metric)
        return pairs

    def __reduce__(self) -> Any:
        return (MetricPairs, (self[0], self[1], self.metric))


@dataclass(frozen=True, eq=False)
class OfficialSplit:
    """The fixed split of a link-prediction benchmark, as node-index pairs.

    Attributes:
        name: The data set (``"ogbl-ddi"``).
        metric: Its official metric: ``"hits@K"`` (every positive ranked against the shared
            negatives) or ``"mrr"`` (each positive against its own ``K`` negatives).
        train: Training edges ``[2, E]`` (row 0 sources, row 1 targets), as the data set
            lists them (repeats included, e.g. collab's yearly collaborations).
        valid_pos, test_pos: Positive pairs ``[2, P]``.
        valid_neg, test_neg: Negative pairs ``[2, M]``; for ``"mrr"``, ``K`` per positive,
            positive by positive (``M = P * K``, pair ``i * K + k`` belongs to positive ``i``).
        train_weight, train_year: Per training edge ``[E]``, where the data set has them
            (ogbl-collab); else ``None``.
    """

    name: str
    metric: str
    train: np.ndarray
    valid_pos: np.ndarray
    valid_neg: np.ndarray
    test_pos: np.ndarray
    test_neg: np.ndarray
    train_weight: np.ndarray | None = None
    train_year: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_metric(self.metric)
        for part in ("train", "valid_pos", "valid_neg", "test_pos", "test_neg"):
            arr = getattr(self, part)
            if (
                not isinstance(arr, np.ndarray)
                or arr.ndim != 2
                or arr.shape[0] != 2
                or arr.dtype.kind not in "iu"
            ):
                got = getattr(arr, "shape", type(arr).__name__)
                raise InputError(f"OfficialSplit.{part} must be a [2, k] integer array. Got {got}.")
        for part in ("train_weight", "train_year"):
            arr = getattr(self, part)
            if arr is not None and (not isinstance(arr, np.ndarray) or arr.shape != (self.train.shape[1],)):
                raise InputError(f"OfficialSplit.{part} must have one entry per training edge.")
        if self.metric == "mrr":
            for stage in ("valid", "test"):
                pos, neg = getattr(self, f"{stage}_pos"), getattr(self, f"{stage}_neg")
                if pos.shape[1] == 0 or neg.shape[1] % pos.shape[1]:
                    raise InputError(
                        f"OfficialSplit.{stage}_neg must hold the same number of negatives for each of "
                        f"the {pos.shape[1]} positives (MRR)."
                    )

    def negatives_per_positive(self, stage: str = "test") -> int:
        """``K`` of ``"mrr"`` (negatives of each positive); 0 for a shared set (Hits@K)."""
        if self.metric != "mrr":
            return 0
        return getattr(self, f"{stage}_neg").shape[1] // getattr(self, f"{stage}_pos").shape[1]

    def check_nodes(self, num_nodes: int) -> None:
        """Raise :class:`InputError` unless every pair is of node indices in ``[0, num_nodes)``."""
        for part in ("train", "valid_pos", "valid_neg", "test_pos", "test_neg"):
            arr = getattr(self, part)
            if arr.size and (arr.min() < 0 or arr.max() >= num_nodes):
                bad = arr.min() if arr.min() < 0 else arr.max()
                raise InputError(
                    f"OfficialSplit.{part} holds node index {int(bad)}, outside [0, {num_nodes})."
                )

    def val_pairs(self) -> MetricPairs:
        """The validation pairs, naming the metric to select on."""
        return MetricPairs(self.valid_pos, self.valid_neg, self.metric)
