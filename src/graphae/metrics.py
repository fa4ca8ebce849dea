"""Link-prediction scores: AUC, AP and ranking metrics."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


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

    Scores may be logits or probabilities: both metrics depend only on the order.

    Returns:
        ``(auc, ap)`` as fractions in ``[0, 1]``.
    """
    labels, scores = _labels_scores(pos_scores, neg_scores)
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
    """Mean over positives of ``1 / rank`` among the negatives (ties count against)."""
    _labels_scores(pos_scores, neg_scores)
    neg = np.sort(np.asarray(neg_scores, dtype=np.float64))
    above = len(neg) - np.searchsorted(neg, np.asarray(pos_scores, dtype=np.float64), side="left")
    return float(np.mean(1.0 / (1.0 + above)))
