"""One link-prediction run: split, fit an estimator, score the test split once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import clone

from graphae.errors import InputError
from graphae.estimator import GraphAutoencoderEstimator
from graphae.evaluation import NUM_RANKING_NEGATIVES, EvaluationSplit, check_seed, evaluate
from graphae.graph import Graph
from graphae.params import Integer
from graphae.registry import get_model, model_names
from graphae.split import LinkSplit
from graphae.split_directed import split_for_task
from graphae.training import Callback, distributed, resolve_device

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
        scores: Every score of :func:`graphae.evaluation.evaluate` (``test_auc``,
            ``test_hits_at_50``, ``test_mrr``, ``cluster_acc``, ``probe_accuracy``, ...;
            ``None`` where one does not apply).
        evaluation: The pairs and labels the scores come from.
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
    scores: dict[str, float | None]
    evaluation: EvaluationSplit

    @property
    def train_seconds(self) -> float:
        return self.estimator.train_seconds_

    @property
    def history(self) -> list[dict[str, float]]:
        return self.estimator.history_

    @property
    def embedding(self) -> np.ndarray | None:
        """The fitted node embedding ``[N, d]``; ``None`` for a heuristic, which learns none."""
        from graphae.models.heuristics import HeuristicLinkPredictor

        if isinstance(self.estimator, HeuristicLinkPredictor):
            return None
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
    ranking_negatives: int = NUM_RANKING_NEGATIVES,
    task: str = "general",
) -> RunResult:
    """Split ``graph``, fit a clone of ``estimator`` on the training edges, score the test split.

    The paper's protocol: validation scores are tracked during training (and used
    for model selection only with ``select_best`` or ``patience``); the test split is
    scored once, at the end, on ``mu``, through the model's decoder: AUC/AP, ranking
    metrics and, when the graph has labels, clustering and a probe (see
    :mod:`graphae.evaluation`). The seed drives
    the split and the estimator's ``random_state``; global random state is left alone.

    Under ``torchrun`` every process calls it alike: they train one model together (see
    the estimator's ``fit``), rank 0 alone computes the scores, and every rank returns them.

    Args:
        graph: The full graph (directed or not).
        estimator: Settings to use (a :class:`~graphae.GAE` with paper defaults when ``None``).
        seed: Seed of this run.
        val_ratio, test_ratio: Fractions of edges held out.
        callback: Called with each epoch's history record.
        checkpoint, checkpoint_every, resume: As for the estimator's ``fit``.
        ranking_negatives: Negatives per test edge for Hits@K and MRR (0: rank against
            the shared test non-edges only).
        task: The split (:mod:`graphae.split_directed`): ``"general"`` (held-out edges
            against non-edges, any graph), or on a directed graph ``"biased"`` (held-out
            edges against their reverses) or ``"bidirectional"`` (pairs linked both ways
            against pairs linked one way), the tasks of Salha et al. (2019).

    Raises:
        InputError: If the graph cannot be split or a parameter is invalid.
    """
    from graphae.models.gae import GAE

    check_seed(seed, "seed", "run_link_prediction")
    if not Integer(0).accepts(ranking_negatives):
        raise InputError(f"The 'ranking_negatives' parameter must be an int >= 0. Got {ranking_negatives!r}.")
    est = clone(estimator if estimator is not None else GAE()).set_params(random_state=seed)
    split = split_for_task(graph, task, val_ratio=val_ratio, test_ratio=test_ratio, random_state=seed)
    # Drawn before training: a graph that cannot give them fails now, not after the fit.
    evaluation = EvaluationSplit.from_split(graph, split, seed=seed, num_negatives=ranking_negatives)
    val = (split.val_pos, split.val_neg) if len(split.val_pos_keys) else None
    est.fit(
        split.train,
        val_pairs=val,
        callback=callback,
        checkpoint=checkpoint,
        checkpoint_every=checkpoint_every,
        resume=resume,
    )
    group = distributed.current()  # initialised by the fit of a learned model under torchrun
    scores = evaluate(est, evaluation, random_state=seed) if group is None or group.is_main else None
    if group is not None:
        scores = group.broadcast(scores)
    return RunResult(
        seed=seed,
        test_auc=scores["test_auc"],
        test_ap=scores["test_ap"],
        estimator=est,
        split=split,
        test_pos_scores=expit(est.pair_logits(split.test_pos).astype(np.float64)),
        test_neg_scores=expit(est.pair_logits(split.test_neg).astype(np.float64)),
        scores=scores,
        evaluation=evaluation,
    )
