"""Scoring a fitted model beyond balanced AUC: ranking metrics, node clustering, a probe.

The paper's AUC/AP pit each held-out edge against one non-edge, which flatters every
model. :func:`evaluate` adds, on the same test split, scored once:

- **Ranking** (as OGB does): each test edge ``(s, t)`` is ranked against its own
  ``num_negatives`` corrupted pairs ``(s, t')`` (never an edge of the full graph), giving
  ``test_hits_at_K`` and ``test_mrr``; and against all the shared test non-edges, giving
  ``test_hits_at_K_shared`` and ``test_mrr_shared``. With ``negatives="heart"`` the own
  negatives are HeaRT's hard ones instead (:mod:`graphae.heart`: pairs ``(s, t')`` and
  ``(s', t)`` chosen by heuristics), and ``test_hits_at_1`` and ``test_hits_at_3`` are added.
  A Hits@K whose K is not below the number of negatives is ``None``: it would be 1.0 for
  almost any model.
- **Node clustering** when the graph has labels: k-means on the embedding with one
  cluster per class, scored by ACC (best matching of clusters to classes), NMI and ARI.
- **Classification probe** when the graph has labels: logistic regression on the frozen
  embedding, trained on the graph's own label split (Planetoid's for the citation
  graphs) or on a seeded stratified 10% of the labelled nodes, accuracy on the rest.

Models without an embedding (the heuristics) get ``None`` for the node metrics, as do
graphs without labels. :class:`EvaluationSplit` holds everything the scores need, so a
saved run can be evaluated again (``graphae evaluate``) with exactly the same pairs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import expit

from graphae.errors import InputError, describe
from graphae.graph import Graph
from graphae.metrics import auc_ap, clustering_scores, probe_accuracy, probe_split, ranking_metrics
from graphae.metrics_ogb import official_score
from graphae.params import Integer
from graphae.sampling import sample_ranking_negatives
from graphae.sizing import check_ranking_size
from graphae.split import LinkSplit
from graphae.split_official import MetricPairs

RANKING_KS = (10, 20, 50, 100)
HEART_KS = (1, 3, *RANKING_KS)  # HeaRT reports Hits@1 and @3 too
NUM_RANKING_NEGATIVES = 100
NEGATIVES = ("random", "heart")
HEART_METRICS = ("test_hits_at_1", "test_hits_at_3")  # added to METRICS under HeaRT negatives
NODE_METRICS = ("cluster_acc", "cluster_nmi", "cluster_ari", "probe_accuracy")
METRICS = (
    "test_auc",
    "test_ap",
    *(f"test_hits_at_{k}" for k in RANKING_KS),
    "test_mrr",
    *(f"test_hits_at_{k}_shared" for k in RANKING_KS),
    "test_mrr_shared",
    *NODE_METRICS,
)
_CHUNK = 1 << 20  # pairs scored at once
SEED = Integer(0, 2**32 - 1)  # the seeds numpy, torch and scikit-learn all take


def check_seed(value: Any, name: str, func: str) -> int:
    """``value`` if it is a seed (see :data:`SEED`), the one rule of every seed graphae reads.

    Raises:
        InputError: Naming the parameter ``name`` of ``func``.
    """
    if not SEED.accepts(value):
        raise InputError(
            f"The '{name}' parameter of {func} must be {SEED.description}. Got {describe(value)}."
        )
    return int(value)


@dataclass(frozen=True)
class EvaluationSplit:
    """The pairs and labels a run is scored on (node indices of the fitted graph).

    Attributes:
        test_pos: Test edges ``[2, P]``.
        test_neg: Shared test non-edges ``[2, M]``.
        ranking_neg: Targets ``t'`` of each test edge's own negatives ``(s, t')``, ``[P, K]``
            (``K = 0``: no ranking against own negatives).
        labels: Node labels ``[N]`` (``-1``: unlabelled), or ``None``.
        probe_train, probe_test: Node indices of the probe's split, or ``None``.
        ranking_src: Sources of the own negatives ``[P, K]`` when they are not the test
            edge's source (HeaRT's ``(s', t)``), or ``None``: every one is ``(s, t')``.
    """

    test_pos: np.ndarray
    test_neg: np.ndarray
    ranking_neg: np.ndarray
    labels: np.ndarray | None = None
    probe_train: np.ndarray | None = None
    probe_test: np.ndarray | None = None
    ranking_src: np.ndarray | None = None

    @classmethod
    def from_split(
        cls,
        graph: Graph,
        split: LinkSplit,
        *,
        seed: int,
        num_negatives: int = NUM_RANKING_NEGATIVES,
        negatives: str = "random",
    ) -> EvaluationSplit:
        """The test pairs of ``split``, ranking negatives drawn from the non-edges of ``graph``.

        ``negatives="random"``: uniform pairs ``(s, t')``; ``"heart"``: HeaRT's hard pairs,
        ranked by heuristics on ``split.train`` (:func:`graphae.heart.heart_negatives`).
        The draws depend on ``seed`` alone (a stream of their own, apart from the split's).
        """
        rng = np.random.default_rng([seed, 0x5EED])
        pos = split.test_pos
        heads = None
        if negatives == "heart":
            from graphae.heart import heart_negatives

            heads, ranking = heart_negatives(
                split.train.adj,
                graph.adj,
                pos,
                num_negatives,
                x=graph.x,
                random_state=rng,
                node_ids=graph.node_ids,
            )
        elif num_negatives > 0:
            check_ranking_size(pos.shape[1], num_negatives)
            pos = _sources_with_negatives(graph, pos)
            ranking = sample_ranking_negatives(graph.adj, pos, num_negatives, random_state=rng)
        else:
            ranking = np.empty((pos.shape[1], 0), dtype=np.int64)
        labels = train = test = None
        if graph.y is not None and np.any(np.asarray(graph.y) >= 0):
            labels = np.asarray(graph.y, dtype=np.int64)
            try:
                train, test = probe_split(labels, graph.label_split, random_state=seed)
            except InputError:
                train = test = None  # too few labels per class for a probe: probe_accuracy is None
        return cls(pos, split.test_neg, ranking, labels, train, test, heads)

    def save(self, path: str | os.PathLike) -> None:
        """Write the split as an ``.npz`` (atomically)."""
        from graphae.io import atomic_write

        arrays = {"test_pos": self.test_pos, "test_neg": self.test_neg, "ranking_neg": self.ranking_neg}
        for name in ("labels", "probe_train", "probe_test", "ranking_src"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        atomic_write(path, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, path: str | os.PathLike, num_nodes: int) -> EvaluationSplit:
        """Read a split written by :meth:`save`, checking it against a graph of ``num_nodes``.

        Raises:
            InputError: If the file is damaged or does not fit the graph.
        """
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {name: np.asarray(data[name]) for name in data.files}
        except (OSError, ValueError, KeyError) as err:
            raise InputError(f"{path}: not a readable graphae split file ({err}).") from None
        missing = {"test_pos", "test_neg", "ranking_neg"} - arrays.keys()
        if missing:
            raise InputError(f"{path}: damaged split file, missing {sorted(missing)}.")
        for name, value in arrays.items():
            if value.dtype.kind not in "iu" or (
                value.size and (value.min() < -1 or value.max() >= num_nodes)
            ):
                raise InputError(f"{path}: {name} holds values that are not node indices of this model.")
        pos, neg, ranking = arrays["test_pos"], arrays["test_neg"], arrays["ranking_neg"]
        if pos.ndim != 2 or pos.shape[0] != 2 or neg.ndim != 2 or neg.shape[0] != 2:
            raise InputError(f"{path}: test_pos and test_neg must be [2, k] arrays.")
        if ranking.ndim != 2 or ranking.shape[0] != pos.shape[1]:
            raise InputError(f"{path}: ranking_neg must have one row per test edge.")
        src = arrays.get("ranking_src")
        if src is not None and src.shape != ranking.shape:
            raise InputError(f"{path}: ranking_src must have the shape of ranking_neg.")
        return cls(
            pos, neg, ranking, arrays.get("labels"), arrays.get("probe_train"), arrays.get("probe_test"), src
        )

    def ranking_pairs(self) -> np.ndarray:
        """Each test edge's own negatives as pairs ``[2, P * K]``, row-major by test edge."""
        num_pos, k = self.ranking_neg.shape
        src = np.repeat(self.test_pos[0], k) if self.ranking_src is None else self.ranking_src.ravel()
        return np.stack([src, self.ranking_neg.ravel()])


def heart_validation_pairs(graph: Graph, split: LinkSplit, *, seed: int, num_negatives: int) -> MetricPairs:
    """The validation edges of ``split``, each with its own HeaRT negatives, to select on MRR.

    HeaRT scores validation as it scores test (``heart_valid_samples``): each validation edge
    ``(s, t)`` against ``num_negatives`` hard pairs ``(s, t')`` and ``(s', t)``, ranked by the
    same heuristics on ``split.train``, so a model chosen on validation MRR is chosen on the
    metric it is tested on. Unlike the test negatives, they avoid only the training and
    validation edges (HeaRT avoids the training edges): nothing about the test edges reaches
    model selection. The draws depend on ``seed`` alone, a stream apart from the test's.

    Raises:
        InputError: If a validation edge has too few candidate nodes (``num_negatives`` too large).
    """
    from graphae.heart import heart_negatives

    pos = split.val_pos
    known = sp.csr_matrix((np.ones(pos.shape[1]), (pos[0], pos[1])), shape=split.train.adj.shape)
    if not graph.directed:
        known = known + known.T
    known = (sp.csr_matrix(split.train.adj) + known).tocsr()
    heads, tails = heart_negatives(
        split.train.adj,
        known,
        pos,
        num_negatives,
        x=graph.x,
        random_state=np.random.default_rng([seed, 0x5EED, 0xBA1]),
        node_ids=graph.node_ids,
        role="validation",
    )
    return MetricPairs(pos, np.stack([heads.ravel(), tails.ravel()]), "mrr")


def _sources_with_negatives(graph: Graph, pos: np.ndarray) -> np.ndarray:
    """Test edges ``[2, P]`` whose sources each have a non-neighbour to rank against.

    A node joined to every other node has no negative target. An undirected test edge
    is ranked from its other end instead, so the result does not depend on which end
    the split lists first (which follows the order of the input rows).

    Raises:
        InputError: If both ends (the source, when directed) are joined to every node.
    """
    n = graph.num_nodes
    full = np.diff(graph.adj.indptr) >= n - 1
    if not full[pos[0]].any():
        return pos
    if not graph.directed:
        turn = full[pos[0]] & ~full[pos[1]]
        pos = pos.copy()
        pos[:, turn] = pos[::-1, turn]
    stuck = full[pos[0]]
    if not stuck.any():
        return pos
    node = int(pos[0, stuck][0])
    ends = "" if graph.directed else f" (and so is node {_show(graph, int(pos[1, stuck][0]))}, its other end)"
    raise InputError(
        f"Cannot rank the test edges of node {_show(graph, node)} against non-edges: it is joined to every "
        f"other node{ends}, so it has none. Pass ranking_negatives=0 (CLI: --ranking-negatives 0) "
        "to rank test edges only against the shared test non-edges."
    )


def _show(graph: Graph, node: int) -> str:
    return repr(node if graph.node_ids is None else np.asarray(graph.node_ids)[node].item())


def evaluate(estimator: Any, split: EvaluationSplit, *, random_state: int = 0) -> dict[str, float | None]:
    """Every score of a fitted model on ``split``: see the module docstring for their meaning.

    Args:
        estimator: A fitted graphae model (anything with ``pair_logits``; the node
            metrics also need ``embedding_``).
        split: The pairs and labels to score.
        random_state: Seed of k-means and the probe.

    Returns:
        The values of :data:`METRICS`, as fractions; ``None`` where a metric does not apply
        or cannot tell models apart (a Hits@K with K >= the negatives, a clustering score
        on a single class or one class per node). HeaRT negatives (``split.ranking_src``
        set) add ``test_hits_at_1`` and ``test_hits_at_3``.
    """
    check_seed(random_state, "random_state", "evaluate")
    pos = _logits(estimator, split.test_pos)
    neg = _logits(estimator, split.test_neg)
    out: dict[str, float | None] = dict.fromkeys(METRICS)
    # float64 probabilities, as the paper's evaluation: float32 sigmoids would tie large logits.
    out["test_auc"], out["test_ap"] = auc_ap(expit(pos), expit(neg))
    num_pos, k = split.ranking_neg.shape
    own = _logits(estimator, split.ranking_pairs()).reshape(num_pos, k) if k else None
    ks = RANKING_KS if split.ranking_src is None else HEART_KS
    for name, value in _informative(ranking_metrics(pos, own, neg, ks=ks), k, len(neg)).items():
        if name not in ("hits_at_1_shared", "hits_at_3_shared"):
            out[f"test_{name}"] = value
    embedding = getattr(estimator, "embedding_", None)
    if split.labels is not None and embedding is not None:
        out.update(clustering_scores(embedding, split.labels, random_state=random_state))
        if split.probe_train is not None and split.probe_test is not None:
            out["probe_accuracy"] = probe_accuracy(
                embedding, split.labels, split.probe_train, split.probe_test, random_state=random_state
            )
    return out


def official_score_of(estimator: Any, pos: np.ndarray, neg: np.ndarray, metric: str) -> float:
    """An official metric (:func:`graphae.metrics_ogb.official_score`: ``"hits@K"``, ``"mrr"``)
    of a fitted model on positive ``[2, P]`` and negative ``[2, M]`` pairs, on its logits."""
    return official_score(metric, _logits(estimator, pos), _logits(estimator, neg))


def evaluate_official(estimator: Any, split: EvaluationSplit, metric: str) -> float:
    """``metric`` on the test pairs of ``split``: the shared negatives for Hits@K, each
    positive's own (``ranking_neg``) for MRR."""
    if metric != "mrr":
        return official_score_of(estimator, split.test_pos, split.test_neg, metric)
    return official_score_of(estimator, split.test_pos, split.ranking_pairs(), metric)


def evaluate_pairs(estimator: Any, pairs: np.ndarray, labels: np.ndarray) -> dict[str, float | None]:
    """AUC, AP and the shared-negative ranking metrics of labelled node-index pairs.

    Args:
        pairs: ``[2, k]`` node indices.
        labels: ``[k]``, 1 for an edge and 0 for a non-edge.

    Raises:
        InputError: Unless both labels occur.
    """
    labels = np.asarray(labels)
    if not (np.any(labels == 1) and np.any(labels == 0)):
        raise InputError("Scoring labelled pairs needs at least one pair labelled 1 and one labelled 0.")
    scores = _logits(estimator, pairs)
    pos, neg = scores[labels == 1], scores[labels == 0]
    auc, ap = auc_ap(expit(pos), expit(neg))
    out: dict[str, float | None] = {
        "auc": auc,
        "ap": ap,
        "num_pairs": int(len(labels)),
        "num_positive": int(len(pos)),
    }
    for name, value in _informative(ranking_metrics(pos, None, neg, ks=RANKING_KS), 0, len(neg)).items():
        out[name.removesuffix("_shared")] = value
    return out


def _informative(scores: dict[str, float], own: int, shared: int) -> dict[str, float | None]:
    """``scores`` with ``None`` for each Hits@K whose K is not below the number of negatives.

    A positive ranked against ``n`` negatives misses the top ``K >= n`` only when it
    scores below all of them (never, for ``K > n``): such a Hits@K is 1.0 for almost any
    model, so it is left out rather than reported.
    """
    out: dict[str, float | None] = dict(scores)
    for k in RANKING_KS:
        if k >= own and f"hits_at_{k}" in out:
            out[f"hits_at_{k}"] = None
        if k >= shared and f"hits_at_{k}_shared" in out:
            out[f"hits_at_{k}_shared"] = None
    return out


def _logits(estimator: Any, pairs: np.ndarray) -> np.ndarray:
    """Scores of ``[2, k]`` pairs in chunks, as float64."""
    parts = [
        np.asarray(estimator.pair_logits(pairs[:, i : i + _CHUNK]), dtype=np.float64)
        for i in range(0, pairs.shape[1], _CHUNK)
    ]
    return np.concatenate(parts) if parts else np.empty(0)
