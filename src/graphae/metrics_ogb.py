"""The Open Graph Benchmark's link-prediction metrics, computed as OGB's ``Evaluator`` does.

- **Hits@K** (ogbl-ddi K=20, ogbl-collab K=50, ogbl-ppa K=100): every positive is ranked
  against one shared set of negatives; it counts when its score is *strictly above* the
  K-th highest negative score (1.0 for all when there are fewer than K negatives).
- **MRR** (ogbl-citation2): each positive has its own negatives ``[P, K]``; its rank is the
  mean of the optimistic rank (negatives scoring strictly higher, plus one) and the
  pessimistic rank (negatives scoring at least as high, plus one), so ties cost half.

:class:`~graphae.split_official.MetricPairs` carries validation pairs together with the
metric to select on; the training loop and the heuristics score them with
:func:`validation_scores`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from graphae.errors import InputError
from graphae.metrics import auc_ap
from graphae.split_official import HITS_PATTERN, MetricPairs, check_metric

__all__ = ["MetricPairs", "check_metric", "hits_at_k", "mrr", "official_score", "validation_scores"]


def hits_at_k(pos: np.ndarray, neg: np.ndarray, k: int) -> float:
    """OGB's Hits@K: the fraction of ``pos`` scores strictly above the K-th best of ``neg``.

    Shapes:
        pos: ``[P]``; neg: ``[M]`` (shared by every positive).
    """
    pos, neg = np.asarray(pos).ravel(), np.asarray(neg).ravel()
    if len(neg) < k:
        return 1.0
    kth = np.partition(neg, len(neg) - k)[len(neg) - k]
    return float(np.count_nonzero(pos > kth)) / len(pos)


def mrr(pos: np.ndarray, neg: np.ndarray) -> float:
    """OGB's MRR: mean of ``1 / rank``, rank the average of optimistic and pessimistic ranks.

    Shapes:
        pos: ``[P]``; neg: ``[P, K]``, row ``i`` the negatives of positive ``i``.
    """
    pos = np.asarray(pos).reshape(-1, 1)
    neg = np.asarray(neg)
    optimistic = np.count_nonzero(neg > pos, axis=1)
    pessimistic = np.count_nonzero(neg >= pos, axis=1)
    rank = 0.5 * (optimistic + pessimistic) + 1
    return float(np.mean(1.0 / rank))


def official_score(metric: str, pos: np.ndarray, neg: np.ndarray) -> float:
    """``metric`` (``"hits@K"`` or ``"mrr"``) of positive scores against negative scores.

    For ``"mrr"``, ``neg`` holds ``K`` negatives per positive, ``[P * K]`` positive by
    positive or ``[P, K]``; for Hits@K it is one shared set.

    Raises:
        InputError: On an unknown metric, or negatives that do not fit the positives.
    """
    if metric == "mrr":
        pos = np.asarray(pos).ravel()
        neg = np.asarray(neg)
        if len(pos) == 0 or neg.size % len(pos):
            raise InputError(f"MRR needs the same number of negatives for each of the {len(pos)} positives.")
        return mrr(pos, neg.reshape(len(pos), -1))
    match = HITS_PATTERN.fullmatch(metric)
    if match is None:
        raise InputError(f"Unknown metric {metric!r}: expected 'hits@K' or 'mrr'.")
    return hits_at_k(pos, neg, int(match.group(1)))


def validation_scores(pos: np.ndarray, neg: np.ndarray, val_pairs: Any) -> tuple[dict[str, float], str]:
    """Validation record of the logits ``pos``, ``neg`` of ``val_pairs`` and the key to select on.

    AUC and AP come from :func:`graphae.metrics.auc_ap` on the logits, as the test's do
    (:func:`graphae.evaluation.evaluate`): a model is selected on the figure it reports.

    Always ``val_auc`` and ``val_ap``; for :class:`MetricPairs` also ``val_<metric>``
    (``val_hits@20``), which is then the key. Otherwise the key is ``val_auc``.
    """
    auc, ap = auc_ap(pos, neg)
    record = {"val_auc": auc, "val_ap": ap}
    metric = getattr(val_pairs, "metric", None)
    if metric is None:
        return record, "val_auc"
    key = f"val_{metric}"
    record[key] = official_score(metric, pos, neg)
    return record, key
