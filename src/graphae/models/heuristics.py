r"""Classic link-prediction heuristics: non-learned models that score pairs from the graph alone.

Each is a registered model (``graphae train --model adamic_adar``) with the estimator
API of the autoencoders: ``fit`` stores the training graph (nothing is learned), and
``decision_function``, ``predict_proba``, ``recommend``, ``save`` and
:func:`graphae.load` work as for any model. They have no node embedding: ``transform``
raises an :class:`~graphae.errors.InputError`.

For a pair ``(s, t)`` on the fitted graph's adjacency ``A`` (features are ignored):

====================  =====================================================================
common neighbours     :math:`|N(s) \cap N(t)| = (A A)_{st}`
Adamic–Adar           :math:`\sum_{w \in N(s) \cap N(t)} 1 / \log \deg w`
resource allocation   :math:`\sum_{w \in N(s) \cap N(t)} 1 / \deg w`
pref. attachment      :math:`\deg s \cdot \deg t`
Katz                  :math:`\sum_{l=1}^{L} \beta^l (A^l)_{st}` (walks of length ``<= L``; :mod:`graphae.models.katz`)
====================  =====================================================================

Directed graphs: ``N(s)`` are the out-neighbours of ``s`` and ``N(t)`` the in-neighbours of
``t`` (the middle nodes of paths ``s -> w -> t``), preferential attachment is
``out-degree(s) * in-degree(t)`` and Katz counts directed walks. ``deg w`` in the
Adamic–Adar and resource-allocation weights is w's degree with directions dropped
(neighbours in either direction, counted once), so every middle node of a path between
two distinct nodes has ``deg w >= 2``; a node of degree ``<= 1`` weighs 0.

Scores are not probabilities. ``decision_function`` returns the score ``s >= 0`` itself;
``pair_logits`` returns ``log s`` (``-inf`` for 0) and ``predict_proba`` the normalised
score ``s / (1 + s) = sigmoid(log s)``: in ``[0, 1)``, increasing in ``s``, so AUC, AP
and rankings equal those of the score, but it is not calibrated.

Example:
    >>> from graphae.data import make_communities
    >>> from graphae.models.heuristics import AdamicAdar
    >>> model = AdamicAdar().fit(make_communities(num_nodes=100, random_state=0))
    >>> model.decision_function([(0, 1)]).shape
    (1,)
"""

from __future__ import annotations

import os
import time
from typing import Any, ClassVar, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from graphae.errors import InputError
from graphae.linkpred import LinkPredictionMixin
from graphae.modelnames import RegisteredName
from graphae.params import SEED_MAX, Declared, Integer, NoneOr, Param, validate_params

__all__ = [
    "AdamicAdar",
    "CommonNeighbors",
    "HeuristicLinkPredictor",
    "PreferentialAttachment",
    "ResourceAllocation",
]

_BLOCK = 1 << 22  # entries of a dense block held at once (Katz), pairs scored at once
_PAIR_BLOCK = 1 << 16


class Structure(NamedTuple):
    """What the scores are computed from, derived from the fitted adjacency.

    Attributes:
        adj: ``A`` as CSR float64, ``[N, N]``.
        adj_t: ``A^T`` as CSR float64 (in-neighbours by row).
        out_degree, in_degree: Row and column sums of ``A``, ``[N]``.
        degree: Neighbours in either direction, counted once, ``[N]``.
    """

    adj: sp.csr_matrix
    adj_t: sp.csr_matrix
    out_degree: np.ndarray
    in_degree: np.ndarray
    degree: np.ndarray


class HeuristicLinkPredictor(Declared, LinkPredictionMixin, BaseEstimator):
    """Base class of the non-learned link predictors: a score of node pairs from the graph alone.

    A subclass implements :meth:`_pair_scores` and :meth:`_row_scores`, both vectorised
    over node indices.

    Args:
        random_state: Accepted so that runs can seed every model alike; unused (the
            scores are deterministic).
    """

    learned: ClassVar[bool] = False
    model_name = RegisteredName()  # the name it is registered under, "" if none
    _fitted_attribute: ClassVar[str] = "adjacency_"
    params: ClassVar[dict[str, Any]] = {"random_state": Param(None, NoneOr(Integer(0, SEED_MAX)))}

    def fit(
        self,
        graph: Any,
        y: Any = None,
        *,
        val_pairs: tuple[np.ndarray, np.ndarray] | None = None,
        callback: Any = None,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int | None = None,
        resume: bool = False,
    ) -> HeuristicLinkPredictor:
        """Store ``graph`` and precompute its degrees; nothing is learned.

        Takes the call of :meth:`graphae.estimator.GraphAutoencoderEstimator.fit`, so that
        :func:`graphae.experiment.run_link_prediction` runs heuristics like any model:
        ``callback`` is never called (there are no epochs), and ``checkpoint``,
        ``checkpoint_every`` and ``resume`` are ignored (there is no training state).

        Args:
            graph: A :class:`~graphae.graph.Graph` or anything :func:`graphae.data.as_graph` accepts.
            y: Ignored.
            val_pairs: Optional validation ``(pos, neg)`` node-index pairs, each ``[2, k]``:
                their AUC and AP become the one record of ``history_``
                (``{"epoch": 0, "val_auc", "val_ap"}``, and ``val_<metric>`` for
                :class:`~graphae.split_official.MetricPairs`; without them ``history_`` is empty).

        Returns:
            ``self``, with ``adjacency_`` (the CSR adjacency scored on), ``graph_``,
            ``node_ids_``, ``history_`` and ``train_seconds_`` (the precomputation) set.

        Raises:
            ParameterError: On invalid parameters.
            InputError: On a graph without edges.
        """
        from graphae.data.convert import as_graph
        from graphae.metrics_ogb import validation_scores

        with self._fitting():
            validate_params(type(self).__name__, self.get_params(deep=False), self._parameter_constraints)
            graph = as_graph(graph)
            if graph.num_edges == 0:
                raise InputError(f"Graph {graph.name!r} has no edges to score pairs with.")
            start = time.perf_counter()
            self.adjacency_ = graph.adj
            self._check_structure(self._structure())
            self.train_seconds_ = time.perf_counter() - start
            self.graph_ = graph
            self.node_ids_ = graph.node_ids if graph.node_ids is not None else np.arange(graph.num_nodes)
            self.history_: list[dict[str, Any]] = []
            if val_pairs is not None:
                pos, neg = (self.pair_logits(pairs) for pairs in val_pairs)  # as the test's
                self.history_.append({"epoch": 0, **validation_scores(pos, neg, val_pairs)[0]})
            return self

    # Scores ------------------------------------------------------------------------
    def pair_scores(self, index_pairs: np.ndarray) -> np.ndarray:
        """The heuristic's scores of node-*index* pairs ``[2, k]``, ``[k]`` float64, ``>= 0``."""
        self._check_fitted()
        pairs = np.asarray(index_pairs, dtype=np.int64)
        if pairs.ndim != 2 or pairs.shape[0] != 2:
            raise InputError(f"index_pairs must have shape [2, k]. Got {pairs.shape}.")
        return self._pair_scores(self._structure(), pairs[0], pairs[1])

    def decision_function(self, pairs: Any) -> np.ndarray:
        """The scores of node-id pairs ``[k, 2]`` (a sequence of ``(source, target)``), ``[k]``."""
        return self.pair_scores(self._pair_index(pairs))

    def pair_logits(self, index_pairs: np.ndarray) -> np.ndarray:
        """``log`` of :meth:`pair_scores` (``-inf`` for 0): the logit of ``s / (1 + s)``, ``[k]``."""
        return _log(self.pair_scores(index_pairs))

    def _score_rows(self, index: np.ndarray) -> np.ndarray:
        return _log(self._row_scores(self._structure(), np.asarray(index, dtype=np.int64)))

    def transform(self, graph: Any = None) -> np.ndarray:
        """Heuristics have no node embedding.

        Raises:
            NotFittedError: Before ``fit``, as every method used after fitting.
            InputError: Always after ``fit``.
        """
        self._check_fitted()
        raise InputError(
            f"{type(self).__name__} is a link-prediction heuristic: it scores node pairs and has no "
            "node embedding to transform into; use decision_function, predict_proba or recommend."
        )

    # What a heuristic provides --------------------------------------------------------
    def _pair_scores(self, st: Structure, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """Scores of the pairs ``(src[i], dst[i])``, ``[k]``."""
        raise NotImplementedError

    def _row_scores(self, st: Structure, index: np.ndarray) -> np.ndarray:
        """Scores of every pair ``(s, t)``, ``s`` in ``index``: dense ``[len(index), N]``."""
        raise NotImplementedError

    def _check_structure(self, st: Structure) -> None:
        """Checks of the parameters against the fitted graph (a warning at most)."""

    # Persistence ---------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Save to a model folder (see :mod:`graphae.runfolder`): no weights, the graph it scores on."""
        from graphae import runfolder
        from graphae.persistence import to_saved

        self._check_fitted()
        runfolder.write_model(path, to_saved(self))

    @classmethod
    def load(cls, path: str | os.PathLike, legacy: bool = False) -> HeuristicLinkPredictor:
        """Load a model folder written by :meth:`save` (``legacy``: see :func:`graphae.load`)."""
        from graphae import runfolder
        from graphae.persistence import from_saved

        return from_saved(runfolder.read_model(path, legacy), path, expected=cls)

    def _structure(self) -> Structure:
        """The degrees and matrices of ``adjacency_``, computed once per fit or load."""
        cache = getattr(self, "_structure_cache", None)
        if cache is None or cache[0] is not self.adjacency_:
            adj = sp.csr_matrix(self.adjacency_, dtype=np.float64)
            adj_t = adj.T.tocsr()
            either = (adj + adj_t).tocsr()
            st = Structure(
                adj=adj,
                adj_t=adj_t,
                out_degree=np.asarray(adj.sum(axis=1), dtype=np.float64).ravel(),
                in_degree=np.asarray(adj.sum(axis=0), dtype=np.float64).ravel(),
                degree=np.diff(either.indptr).astype(np.float64),
            )
            cache = (self.adjacency_, st)
            self._structure_cache = cache
        return cache[1]


class _SharedNeighbours(HeuristicLinkPredictor):
    r"""Scores :math:`\sum_{w} A_{sw}\, c_w\, A_{wt} = (A C A)_{st}` with a weight ``c_w`` per middle node."""

    def _weights(self, st: Structure) -> np.ndarray:
        raise NotImplementedError

    def _pair_scores(self, st: Structure, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        weights = self._weights(st)
        out = np.empty(len(src), dtype=np.float64)
        for lo in range(0, len(src), _PAIR_BLOCK):
            hi = lo + _PAIR_BLOCK
            # Row i: out-neighbours of src[i] times in-neighbours of dst[i], elementwise.
            out[lo:hi] = st.adj[src[lo:hi]].multiply(st.adj_t[dst[lo:hi]]) @ weights
        return out

    def _row_scores(self, st: Structure, index: np.ndarray) -> np.ndarray:
        return (st.adj[index] @ sp.diags(self._weights(st)) @ st.adj).toarray()


class CommonNeighbors(_SharedNeighbours):
    r"""Common neighbours: how many neighbours s and t share (heuristic, not trained).

    .. math:: \mathrm{CN}(s, t) = |N(s) \cap N(t)| = (A^2)_{st}

    Directed: the number of paths ``s -> w -> t``. See :mod:`graphae.models.heuristics`.
    """

    def _weights(self, st: Structure) -> np.ndarray:
        return np.ones(len(st.degree))


class AdamicAdar(_SharedNeighbours):
    r"""Adamic-Adar index: shared neighbours weighted by 1 / log(degree) (heuristic, not trained).

    .. math:: \mathrm{AA}(s, t) = \sum_{w \in N(s) \cap N(t)} \frac{1}{\log \deg w}

    (Adamic & Adar, 2003; as ``networkx.adamic_adar_index``.) Nodes of degree ``<= 1``
    weigh 0. See :mod:`graphae.models.heuristics` for directed graphs.
    """

    def _weights(self, st: Structure) -> np.ndarray:
        out = np.zeros(len(st.degree))
        many = st.degree > 1
        out[many] = 1.0 / np.log(st.degree[many])
        return out


class ResourceAllocation(_SharedNeighbours):
    r"""Resource allocation index: shared neighbours weighted by 1 / degree (heuristic, not trained).

    .. math:: \mathrm{RA}(s, t) = \sum_{w \in N(s) \cap N(t)} \frac{1}{\deg w}

    (Zhou, Lü & Zhang, 2009; as ``networkx.resource_allocation_index``.) Nodes of
    degree ``<= 1`` weigh 0. See :mod:`graphae.models.heuristics` for directed graphs.
    """

    def _weights(self, st: Structure) -> np.ndarray:
        out = np.zeros(len(st.degree))
        many = st.degree > 1
        out[many] = 1.0 / st.degree[many]
        return out


class PreferentialAttachment(HeuristicLinkPredictor):
    r"""Preferential attachment: the product of the degrees of s and t (heuristic, not trained).

    .. math:: \mathrm{PA}(s, t) = \deg s \cdot \deg t

    Directed: ``out-degree(s) * in-degree(t)``. As ``networkx.preferential_attachment``.
    """

    def _pair_scores(self, st: Structure, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        return st.out_degree[src] * st.in_degree[dst]

    def _row_scores(self, st: Structure, index: np.ndarray) -> np.ndarray:
        return np.outer(st.out_degree[index], st.in_degree)


def _log(scores: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(scores)
