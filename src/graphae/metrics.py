"""Link-prediction scores: AUC, AP and ranking metrics (Hits@K, MRR).

Ranks follow OGB's link-prediction evaluator: a positive's rank among negatives is
``1 + (number of negatives scored above it) + (number scored equal to it) / 2``, the mean
of its optimistic and pessimistic ranks, so ties neither help nor hurt on average.

The node-level scores (:func:`clustering_scores`, :func:`probe_accuracy`,
:func:`probe_split`, :func:`kmeans_labels`, :func:`cluster_accuracy`) live in
:mod:`graphae.metrics_nodes` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

from graphae.errors import InputError, describe
from graphae.metrics_nodes import (
    cluster_accuracy,
    clustering_scores,
    kmeans_labels,
    probe_accuracy,
    probe_split,
)

__all__ = [
    "auc_ap",
    "cluster_accuracy",
    "clustering_scores",
    "hits_at_k",
    "kmeans_labels",
    "mean_reciprocal_rank",
    "probe_accuracy",
    "probe_split",
    "ranking_metrics",
]


def _labels_scores(pos: np.ndarray, neg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pos, neg = np.asarray(pos, dtype=np.float64), np.asarray(neg, dtype=np.float64)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError(
            f"Scoring needs at least one positive and one negative pair. Got {len(pos)} and {len(neg)}."
        )
    labels = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    return labels, np.concatenate([pos, neg])


def auc_ap(pos_scores: np.ndarray, neg_scores: np.ndarray) -> tuple[float, float]:
    """Area under the ROC curve and average precision, from scikit-learn.

    Both metrics depend only on the order of the scores and their ties, so graphae scores
    logits (validation and test alike): a probability ``sigmoid(logit)`` in float64 is 1.0
    for every logit above about 37, which would tie pairs the logits tell apart. A logit of
    ``-inf`` (a heuristic's score 0) ranks below every finite one.

    Returns:
        ``(auc, ap)`` as fractions in ``[0, 1]``.
    """
    labels, scores = _labels_scores(pos_scores, neg_scores)
    if np.isinf(scores).any() and not np.isnan(scores).any():  # NaN: scikit-learn's ValueError
        # scikit-learn refuses infinities: dense ranks keep the order and the ties.
        scores = np.unique(scores, return_inverse=True)[1].astype(np.float64)
    return float(roc_auc_score(labels, scores)), float(average_precision_score(labels, scores))


def hits_at_k(pos_scores: np.ndarray, neg_scores: np.ndarray, k: int = 50) -> float:
    """Fraction of positives scored above the ``k``-th best negative (OGB's Hits@K).

    Raises:
        ValueError: If ``k`` is not a positive int.
    """
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"The 'k' parameter of hits_at_k must be an int >= 1. Got {k!r}.")
    _labels_scores(pos_scores, neg_scores)
    neg = np.sort(np.asarray(neg_scores, dtype=np.float64))[::-1]
    if len(neg) < k:
        return 1.0
    return float(np.mean(np.asarray(pos_scores) > neg[k - 1]))


def mean_reciprocal_rank(pos_scores: np.ndarray, neg_scores: np.ndarray) -> float:
    """Mean over positives of ``1 / rank`` among all the negatives.

    ``rank = 1 + #{neg > pos} + #{neg == pos} / 2`` (OGB's mean of the optimistic and
    pessimistic ranks).
    """
    _labels_scores(pos_scores, neg_scores)
    pos = np.asarray(pos_scores, dtype=np.float64)
    return float(np.mean(1.0 / _shared_ranks(pos, np.asarray(neg_scores, dtype=np.float64))))


def ranking_metrics(
    pos_scores: np.ndarray,
    own_neg_scores: np.ndarray | None,
    shared_neg_scores: np.ndarray | None,
    ks: Sequence[int] = (10, 20, 50, 100),
) -> dict[str, float]:
    """Hits@K and MRR of positives against their own negatives and against shared ones.

    - **Own negatives** (OGB ogbl-citation2): positive ``p`` is ranked among its own
      ``K`` negatives ``own_neg_scores[p]``; ``hits_at_{k}`` is the fraction with
      ``rank <= k`` and ``mrr`` the mean of ``1 / rank``.
    - **Shared negatives** (OGB ogbl-collab/ddi): ``hits_at_{k}_shared`` is the fraction
      of positives scored strictly above the ``k``-th best negative (1.0 when there are
      fewer than ``k`` negatives), as :func:`hits_at_k`; ``mrr_shared`` ranks each positive
      among all the shared negatives.

    Ranks count ties half: ``rank = 1 + #{neg > pos} + #{neg == pos} / 2``.

    Args:
        pos_scores: Scores of the positives.
        own_neg_scores: Scores of each positive's own negatives, or ``None`` to skip them.
        shared_neg_scores: Scores of the shared negatives, or ``None`` to skip them.
        ks: The cut-offs ``k``, ints ``>= 1``.

    Shapes:
        pos_scores ``[P]``, own_neg_scores ``[P, K]`` with ``K >= 1``, shared_neg_scores
        ``[M]`` with ``M >= 1``.

    Returns:
        ``hits_at_{k}`` (each ``k``) and ``mrr`` when ``own_neg_scores`` is given,
        ``hits_at_{k}_shared`` and ``mrr_shared`` when ``shared_neg_scores`` is given;
        fractions in ``[0, 1]``.

    Raises:
        InputError: On shapes other than these, NaN scores, both negatives ``None`` or
            a bad ``ks``.

    Example:
        >>> out = ranking_metrics(np.array([3.0]), np.array([[4.0, 3.0, 1.0]]), np.array([2.0]), ks=(1, 2))
        >>> out["mrr"], out["hits_at_2"], out["hits_at_1_shared"]  # own rank 1 + 1 + 1/2
        (0.4, 0.0, 1.0)
    """
    ks = _check_ks(ks)
    pos = _scores("pos_scores", pos_scores, "[P]")
    if len(pos) == 0:
        raise InputError("The 'pos_scores' parameter of ranking_metrics must hold at least one score. Got 0.")
    if own_neg_scores is None and shared_neg_scores is None:
        raise InputError(
            "ranking_metrics needs own_neg_scores, shared_neg_scores or both. Got None for both."
        )
    out: dict[str, float] = {}
    if own_neg_scores is not None:
        own = _scores("own_neg_scores", own_neg_scores, "[P, K]")
        if own.shape[0] != len(pos) or own.shape[1] < 1:
            raise InputError(
                f"The 'own_neg_scores' parameter of ranking_metrics must have shape [P, K] = [{len(pos)}, K] "
                f"with K >= 1 (one row per positive). Got {own.shape}."
            )
        ranks = 1.0 + (own > pos[:, None]).sum(axis=1) + 0.5 * (own == pos[:, None]).sum(axis=1)
        out.update({f"hits_at_{k}": float(np.mean(ranks <= k)) for k in ks})
        out["mrr"] = float(np.mean(1.0 / ranks))
    if shared_neg_scores is not None:
        shared = _scores("shared_neg_scores", shared_neg_scores, "[M]")
        if len(shared) == 0:
            raise InputError(
                "The 'shared_neg_scores' parameter of ranking_metrics must hold at least one score. Got 0."
            )
        out.update({f"hits_at_{k}_shared": hits_at_k(pos, shared, k) for k in ks})
        out["mrr_shared"] = float(np.mean(1.0 / _shared_ranks(pos, shared)))
    return out


def _shared_ranks(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """``1 + #{neg > pos} + #{neg == pos} / 2`` for each positive, by binary search."""
    neg = np.sort(neg)
    below = np.searchsorted(neg, pos, side="left")
    not_above = np.searchsorted(neg, pos, side="right")
    return 1.0 + (len(neg) - not_above) + 0.5 * (not_above - below)


def _scores(name: str, values: Any, shape: str) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != shape.count(",") + 1:
        raise InputError(
            f"The '{name}' parameter of ranking_metrics must have shape {shape}. Got {arr.shape}."
        )
    if np.isnan(arr).any():
        raise InputError(f"The '{name}' parameter of ranking_metrics holds NaN; was training diverging?")
    return arr


def _check_ks(ks: Any) -> tuple[int, ...]:
    values = tuple(ks) if isinstance(ks, (list, tuple)) else None
    if not values or any(
        isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1 for k in values
    ):
        raise InputError(
            "The 'ks' parameter of ranking_metrics must be a non-empty list or tuple of ints >= 1. "
            f"Got {describe(ks)}."
        )
    return tuple(int(k) for k in values)
