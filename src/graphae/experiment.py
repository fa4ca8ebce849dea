"""One link-prediction run: split, fit an estimator, score the test split once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import clone

from graphae.estimator import GraphAutoencoderEstimator
from graphae.graph import Graph
from graphae.metrics import auc_ap
from graphae.registry import get_model, model_names
from graphae.split import LinkSplit, split_edges
from graphae.training import Callback, resolve_device

__all__ = ["RunResult", "make_estimator", "model_names", "resolve_device", "run_link_prediction"]


def make_estimator(model: str = "gae", **params: Any) -> GraphAutoencoderEstimator:
    """An estimator of a registered model, by name (see ``graphae models``).

    Raises:
        InputError: On an unknown model name.
        ValueError: On an unknown parameter.
    """
    return get_model(model).estimator().set_params(**params)


@dataclass
class RunResult:
    """Outcome of :func:`run_link_prediction`.

    Attributes:
        seed: The run's seed.
        test_auc, test_ap: Scores of the test split, as fractions.
        estimator: The estimator fitted on the training edges.
        split: The split it was trained and scored on.
        test_pos_scores, test_neg_scores: Probabilities of the test pairs.
    """

    seed: int
    test_auc: float
    test_ap: float
    estimator: GraphAutoencoderEstimator
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
    estimator: GraphAutoencoderEstimator | None = None,
    *,
    seed: int = 0,
    val_ratio: float = 0.05,
    test_ratio: float = 0.10,
    callback: Callback | None = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
) -> RunResult:
    """Split ``graph``, fit a clone of ``estimator`` on the training edges, score the test split.

    The paper's protocol: validation scores are tracked during training (and used
    for model selection only with ``select_best`` or ``patience``); the test split is
    scored once, at the end, on ``mu``, through the model's decoder. The seed drives
    the split and the estimator's ``random_state``; global random state is left alone.

    Args:
        graph: The full graph (directed or not).
        estimator: Settings to use (a :class:`~graphae.GAE` with paper defaults when ``None``).
        seed: Seed of this run.
        val_ratio, test_ratio: Fractions of edges held out.
        callback: Called with each epoch's history record.
        checkpoint, checkpoint_every, resume: As for the estimator's ``fit``.

    Raises:
        InputError: If the graph cannot be split or a parameter is invalid.
    """
    from graphae.models.gae import GAE

    est = clone(estimator if estimator is not None else GAE()).set_params(random_state=seed)
    split = split_edges(graph, val_ratio=val_ratio, test_ratio=test_ratio, random_state=seed)
    val = (split.val_pos, split.val_neg) if len(split.val_pos_keys) else None
    est.fit(
        split.train,
        val_pairs=val,
        callback=callback,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        resume=resume,
    )
    pos = expit(est.pair_logits(split.test_pos).astype(np.float64))
    neg = expit(est.pair_logits(split.test_neg).astype(np.float64))
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
