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
from graphae.evaluation import (
    NEGATIVES,
    NUM_RANKING_NEGATIVES,
    EvaluationSplit,
    check_seed,
    evaluate,
    evaluate_official,
    official_score_of,
)
from graphae.graph import Graph
from graphae.heart import HEART_NUM_NEGATIVES, heart_validation_pairs
from graphae.params import Integer
from graphae.phases import Phases
from graphae.registry import get_model, model_names
from graphae.split import LinkSplit
from graphae.split_directed import split_for_task
from graphae.split_official import OfficialSplit
from graphae.training import Callback, distributed, resolve_device

__all__ = [
    "RunResult",
    "make_estimator",
    "model_names",
    "official_keys",
    "resolve_device",
    "run_link_prediction",
]


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
            With an official split they also hold its metric on the validation and
            test pairs (``valid_hits@20``, ``test_hits@20``: :func:`official_keys`).
        evaluation: The pairs and labels the scores come from
            (``evaluation.describe()``: how many test edges were ranked, the node samples).
        estimator: The estimator fitted on the training edges.
        split: The split it was trained and scored on: a random :class:`LinkSplit`, or
            the graph's :class:`~graphae.split_official.OfficialSplit`.
        test_pos_scores, test_neg_scores: Probabilities of the test pairs (float64
            ``sigmoid`` of the logits; the scores come from the logits, as validation's).
        phases: Wall seconds and peak RSS of each phase (:class:`~graphae.phases.Phases`:
            ``split``, ``ranking negatives``, ``training``, ``evaluation``).
    """

    seed: int
    test_auc: float
    test_ap: float
    estimator: GraphAutoencoderEstimator
    split: LinkSplit | OfficialSplit
    test_pos_scores: np.ndarray
    test_neg_scores: np.ndarray
    scores: dict[str, float | None]
    evaluation: EvaluationSplit
    phases: list[dict[str, Any]] | None = None

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

    @property
    def num_parameters(self) -> int:
        """Learned parameters of the fitted model (0 for a heuristic)."""
        module = getattr(self.estimator, "module_", None)
        return 0 if module is None else sum(p.numel() for p in module.parameters())


def official_keys(metric: str) -> tuple[str, str]:
    """Keys of an official metric in :attr:`RunResult.scores`: ``("valid_hits@20", "test_hits@20")``."""
    return f"valid_{metric}", f"test_{metric}"


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
    ranking_negatives: int | None = None,
    task: str = "general",
    negatives: str = "random",
    ranking_sample: int | None = None,
    phases: Phases | None = None,
) -> RunResult:
    """Split ``graph``, fit a clone of ``estimator`` on the training edges, score the test split.

    A graph with an official split (``graph.official_split``, OGB's) is never split:
    the model trains on its training edges only, is validated (and, with ``select_best``
    or ``patience``, selected) on its official metric, and its test pairs are scored
    once; ``val_ratio``, ``test_ratio``, ``ranking_negatives`` and ``task`` do not apply.

    Otherwise, the paper's protocol: validation scores are tracked during training (and used
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
            the shared test non-edges only; ``None``: 100 random ones, or HeaRT's 500).
        task: The split (:mod:`graphae.split_directed`): ``"general"`` (held-out edges
            against non-edges, any graph), or on a directed graph ``"biased"`` (held-out
            edges against their reverses) or ``"bidirectional"`` (pairs linked both ways
            against pairs linked one way), the tasks of Salha et al. (2019).
        negatives: The test edges' own negatives: ``"random"`` pairs ``(s, t')`` (OGB
            style), or ``"heart"``, the hard pairs ``(s, t')`` and ``(s', t)`` of HeaRT
            (:mod:`graphae.heart`), which also adds Hits@1 and Hits@3 to the scores;
            the validation edges then get their own HeaRT negatives too, and the model is
            validated (and selected) on their MRR, ``val_mrr``
            (:func:`graphae.heart.heart_validation_pairs`).
        ranking_sample: Test edges ranked against their own negatives: ``None`` ranks
            all up to :data:`~graphae.evaluation.RANKING_SAMPLE_SIZE` and a seeded sample
            of that many above it, ``0`` ranks all, ``S`` a sample of ``S`` when there
            are more (``RunResult.evaluation.describe()`` says how many were ranked).
        phases: Records the phases (and, if verbose, shows them on stderr); by default a
            silent one. Either way ``RunResult.phases`` holds this run's records.

    Raises:
        InputError: If the graph cannot be split or a parameter is invalid.
    """
    from graphae.models.gae import GAE

    check_seed(seed, "seed", "run_link_prediction")
    if negatives not in NEGATIVES:
        raise InputError(f"The 'negatives' parameter must be one of {NEGATIVES}. Got {negatives!r}.")
    if ranking_negatives is None:
        ranking_negatives = HEART_NUM_NEGATIVES if negatives == "heart" else NUM_RANKING_NEGATIVES
    if not Integer(0).accepts(ranking_negatives):
        raise InputError(f"The 'ranking_negatives' parameter must be an int >= 0. Got {ranking_negatives!r}.")
    if ranking_sample is not None and not Integer(0).accepts(ranking_sample):
        raise InputError(
            f"The 'ranking_sample' parameter must be None or an int >= 0 (0: every test edge). Got {ranking_sample!r}."
        )
    est = clone(estimator if estimator is not None else GAE()).set_params(random_state=seed)
    phases = Phases() if phases is None else phases
    first = len(phases.records)
    if graph.official_split is not None:
        if task != "general":
            raise InputError(f"{graph.name} has an official split: task must be 'general'. Got {task!r}.")
        if negatives != "random":
            raise InputError(
                f"{graph.name} has an official split with its own negatives: negatives must be 'random'. Got {negatives!r}."
            )
        fit = {"callback": callback, "checkpoint": checkpoint, "checkpoint_every": checkpoint_every}
        return _run_official(graph, est, seed, resume=resume, **fit)
    with phases("split", f"splitting {graph.num_edges:,} edges"):
        split = split_for_task(graph, task, val_ratio=val_ratio, test_ratio=test_ratio, random_state=seed)
    # Drawn before training: a graph that cannot give them fails now, not after the fit.
    with phases("ranking negatives", "drawing the test edges' ranking negatives"):
        evaluation = EvaluationSplit.from_split(
            graph,
            split,
            seed=seed,
            num_negatives=ranking_negatives,
            negatives=negatives,
            ranking_sample=ranking_sample,
        )
    val = (split.val_pos, split.val_neg) if len(split.val_pos_keys) else None
    if val is not None and negatives == "heart":  # validated (and selected) on HeaRT's MRR, as tested
        val = heart_validation_pairs(graph, split, seed=seed, num_negatives=ranking_negatives)
    with phases("training", "training (tensors, epochs and validation)"):
        est.fit(
            split.train,
            val_pairs=val,
            callback=callback,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            resume=resume,
        )
    phases.records[-1]["steps_seconds"] = round(float(getattr(est, "train_seconds_", 0.0)), 3)
    with phases("evaluation", _evaluating(evaluation)):
        result = _scored(est, seed, split, evaluation, (split.test_pos, split.test_neg))
    result.phases = phases.records[first:]
    return result


def _evaluating(evaluation: EvaluationSplit) -> str:
    """The start line of the evaluation: what it scores, samples included."""
    info = evaluation.describe()
    ranking = info["ranking"]
    text = f"scoring {ranking['test_edges']:,} test edges"
    if ranking["ranked_test_edges"]:
        text += f", {ranking['ranked_test_edges']:,} of them ranked against {ranking['negatives_per_edge']} negatives"
    if "clustering" in info:
        text += f"; k-means on {info['clustering']['fit_nodes']:,} nodes"
    return text


def _scored(
    est: Any,
    seed: int,
    split: Any,
    evaluation: EvaluationSplit,
    test: tuple[np.ndarray, np.ndarray],
    official: Any = None,
) -> RunResult:
    """Score a fitted model once on the test pairs (rank 0 under torchrun, then shared).

    ``test``: the positive and negative pairs whose probabilities the run keeps;
    ``official``: an :class:`~graphae.split_official.OfficialSplit` whose metric is
    scored too, on validation and test.
    """
    group = distributed.current()  # initialised by the fit of a learned model under torchrun
    scores = None
    if group is None or group.is_main:
        scores = evaluate(est, evaluation, random_state=seed)
        if official is not None:
            valid_key, test_key = official_keys(official.metric)
            scores[valid_key] = official_score_of(
                est, official.valid_pos, official.valid_neg, official.metric
            )
            scores[test_key] = evaluate_official(
                est, evaluation, official.metric
            )  # as `graphae evaluate` does
    if group is not None:
        scores = group.broadcast(scores)
    return RunResult(
        seed=seed,
        test_auc=scores["test_auc"],
        test_ap=scores["test_ap"],
        estimator=est,
        split=split,
        test_pos_scores=expit(est.pair_logits(test[0]).astype(np.float64)),
        test_neg_scores=expit(est.pair_logits(test[1]).astype(np.float64)),
        scores=scores,
        evaluation=evaluation,
    )


def _run_official(
    graph: Graph, est: GraphAutoencoderEstimator, seed: int, *, resume: bool, **fit: Any
) -> RunResult:
    """OGB's protocol: train on the official training edges, select on validation, test once."""
    official = graph.official_split
    train = Graph.from_edge_index(
        official.train,
        graph.num_nodes,
        directed=graph.directed,
        x=graph.x,
        y=graph.y,
        name=graph.name,
        node_ids=graph.node_ids,
        label_split=graph.label_split,
    )
    k = official.negatives_per_positive("test")
    if k:  # MRR: each positive's own negatives; its first one stands in the shared set of AUC/AP
        ranking = official.test_neg[1].reshape(-1, k)
        shared = np.stack([official.test_pos[0], ranking[:, 0]])
    else:
        ranking, shared = np.empty((official.test_pos.shape[1], 0), dtype=np.int64), official.test_neg
    evaluation = EvaluationSplit(official.test_pos, shared, ranking)
    est.fit(train, val_pairs=official.val_pairs(), resume=resume, **fit)
    return _scored(est, seed, official, evaluation, (evaluation.test_pos, evaluation.test_neg), official)
