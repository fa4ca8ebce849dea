"""One link-prediction run: split, fit an estimator, score the test split once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from graphae.estimator import GAE, VGAE, _GraphAutoencoderEstimator, clone
from graphae.graph import Graph
from graphae.split import LinkSplit, split_edges
from graphae.training import Callback, resolve_device

__all__ = ["MODELS", "RunResult", "make_estimator", "resolve_device", "run_link_prediction"]

MODELS: dict[str, type[_GraphAutoencoderEstimator]] = {"gae": GAE, "vgae": VGAE}


def make_estimator(model: str = "gae", **params: Any) -> _GraphAutoencoderEstimator:
    """A :class:`~graphae.GAE` or :class:`~graphae.VGAE` by name.

    Raises:
        ValueError: On an unknown model name or parameter.
    """
    if model not in MODELS:
        raise ValueError(f"The 'model' parameter must be one of {sorted(MODELS)}. Got {model!r}.")
    return MODELS[model]().set_params(**params)


@dataclass
class RunResult:
    """Outcome of :func:`run_link_prediction`.

    Attributes:
        estimator: The estimator fitted on the training edges.
        split: The split it was trained and scored on.
        test_pos_scores, test_neg_scores: Probabilities of the test pairs.
    """

    seed: int
    test_auc: float
    test_ap: float
    estimator: _GraphAutoencoderEstimator
    split: LinkSplit
    test_pos_scores: np.ndarray
    test_neg_scores: np.ndarray

    @property
    def train_seconds(self) -> float:
        return self.estimator.train_seconds_

    @property
    def history(self) -> list[dict[str, float]]:
        return self.estimator.history_

    @property
    def embedding(self) -> np.ndarray:
        return self.estimator.embedding_


def run_link_prediction(
    graph: Graph,
    estimator: _GraphAutoencoderEstimator | None = None,
    *,
    seed: int = 0,
    val_ratio: float = 0.05,
    test_ratio: float = 0.10,
    callback: Callback | None = None,
) -> RunResult:
    """Split ``graph``, fit a clone of ``estimator`` on the training edges, score the test split.

    The paper's protocol: validation scores are tracked during training (and used
    for model selection only when the estimator has ``select_best=True``); the test
    split is scored once, at the end, on ``mu``. The seed drives the split and the
    estimator's ``random_state``; global random state is left alone.

    Args:
        graph: The full graph.
        estimator: Settings to use (a :class:`~graphae.GAE` with paper defaults when ``None``).
        seed: Seed of this run.
        val_ratio, test_ratio: Fractions of edges held out.
        callback: Called with each epoch's history record.

    Raises:
        ValueError: If the graph cannot be split or a parameter is invalid.
    """
    from graphae.metrics import auc_ap

    est = clone(estimator if estimator is not None else GAE()).set_params(random_state=seed)
    split = split_edges(graph, val_ratio=val_ratio, test_ratio=test_ratio, random_state=seed)
    val = (split.val_pos, split.val_neg) if len(split.val_pos_keys) else None
    est.fit(split.train, val_pairs=val, callback=callback)
    z = est.embedding_

    def probabilities(pairs: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.einsum("kd,kd->k", z[pairs[0]], z[pairs[1]])))

    pos, neg = probabilities(split.test_pos), probabilities(split.test_neg)
    test_auc, test_ap = auc_ap(pos, neg)
    return RunResult(
        seed=seed,
        test_auc=test_auc,
        test_ap=test_ap,
        estimator=est,
        split=split,
        test_pos_scores=pos,
        test_neg_scores=neg,
    )
