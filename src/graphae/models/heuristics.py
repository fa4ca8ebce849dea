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
Katz                  :math:`\sum_{l=1}^{L} \beta^l (A^l)_{st}` (walks of length ``<= L``)
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
import warnings
from typing import Any, ClassVar, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from graphae.errors import InputError
from graphae.linkpred import LinkPredictionMixin
from graphae.params import Constraint, Integer, NoneOr, PositiveFloat, validate_params

__all__ = [
    "AdamicAdar",
    "CommonNeighbors",
    "HeuristicLinkPredictor",
    "Katz",
    "PreferentialAttachment",
    "ResourceAllocation",
]

_SEED_MAX = 2**32 - 1
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


class HeuristicLinkPredictor(LinkPredictionMixin, BaseEstimator):
    """Base class of the non-learned link predictors: a score of node pairs from the graph alone.

    A subclass implements :meth:`_pair_scores` and :meth:`_row_scores`, both vectorised
    over node indices.

    Args:
        random_state: Accepted so that runs can seed every model alike; unused (the
            scores are deterministic).
    """

    learned: ClassVar[bool] = False
    model_name: ClassVar[str] = ""
    _fitted_attribute: ClassVar[str] = "adjacency_"
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {"random_state": NoneOr(Integer(0, _SEED_MAX))}

    def __init__(self, *, random_state: int | None = None) -> None:
        self.random_state = random_state

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
                (``{"epoch": 0, "val_auc", "val_ap"}``; without them ``history_`` is empty).

        Returns:
            ``self``, with ``adjacency_`` (the CSR adjacency scored on), ``graph_``,
            ``node_ids_``, ``history_`` and ``train_seconds_`` (the precomputation) set.

        Raises:
            ParameterError: On invalid parameters.
            InputError: On a graph without edges.
        """
        from graphae.data.convert import as_graph
        from graphae.metrics import auc_ap

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
            val_auc, val_ap = auc_ap(self.pair_scores(val_pairs[0]), self.pair_scores(val_pairs[1]))
            self.history_.append({"epoch": 0, "val_auc": val_auc, "val_ap": val_ap})
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
            InputError: Always.
        """
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
    def load(cls, path: str | os.PathLike) -> HeuristicLinkPredictor:
        """Load a model folder written by :meth:`save`."""
        from graphae import runfolder
        from graphae.persistence import from_saved

        return from_saved(runfolder.read_model(path), path, expected=cls)

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


class Katz(HeuristicLinkPredictor):
    r"""Katz index: walks of up to max_length steps, each step damped by beta (heuristic, not trained).

    .. math:: \mathrm{Katz}(s, t) = \sum_{l=1}^{L} \beta^l (A^l)_{st}
        \;\xrightarrow{L \to \infty}\; \big((I - \beta A)^{-1} - I\big)_{st}

    (Katz, 1953; Liben-Nowell & Kleinberg, 2007.) The series converges when
    ``beta < 1 / lambda_max(A)``; ``fit`` warns when it does not. It is truncated after
    ``L = max_length`` terms: for an undirected graph with ``x = beta * lambda_max < 1``
    each score is then low by at most ``x^(L+1) / (1 - x)`` (every neglected term is at
    most ``x^l``); with the defaults and ``lambda_max = 20`` that is about ``1.1e-6``,
    against ``0.005`` for one direct edge. Directed graphs count directed walks.

    Scores are computed by ``L`` sparse products with a dense ``[N, c]`` block of the
    unit vectors of the distinct sources (or targets), ``c`` bounded so that a block
    holds at most 4M numbers: ``O(L * E * m)`` work for ``m`` distinct nodes.

    Args:
        beta: Damping per step, > 0 (default 0.005).
        max_length: Longest walk counted, ``L >= 1`` (default 5).
        random_state: Unused.
    """

    _parameter_constraints: ClassVar[dict[str, Constraint]] = {
        **HeuristicLinkPredictor._parameter_constraints,
        "beta": PositiveFloat(),
        "max_length": Integer(1),
    }

    def __init__(self, *, beta: float = 0.005, max_length: int = 5, random_state: int | None = None) -> None:
        super().__init__(random_state=random_state)
        self.beta = beta
        self.max_length = max_length

    def _check_structure(self, st: Structure) -> None:
        radius = spectral_radius(st.adj)
        if self.beta * radius >= 1:
            warnings.warn(
                f"The 'beta' parameter of Katz is {self.beta!r}, but this graph's largest eigenvalue is "
                f"about {radius:.4g}: the Katz series diverges for beta >= 1/{radius:.4g} = {1 / radius:.3g}, "
                f"and the sum truncated at max_length={self.max_length} ranks pairs by their longest walks. "
                "Choose a smaller beta.",
                UserWarning,
                stacklevel=3,
            )

    def _pair_scores(self, st: Structure, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        sources, src_at = np.unique(src, return_inverse=True)
        targets, dst_at = np.unique(dst, return_inverse=True)
        # Walk from the side with fewer distinct nodes: columns of A^l for targets, rows for sources.
        if len(targets) <= len(sources):
            matrix, starts, start_at, end = st.adj, targets, dst_at, src
        else:
            matrix, starts, start_at, end = st.adj_t, sources, src_at, dst
        out = np.empty(len(src), dtype=np.float64)
        width = max(1, _BLOCK // max(st.adj.shape[0], 1))
        for lo in range(0, len(starts), width):
            block = self._walks(matrix, starts[lo : lo + width])
            mine = (start_at >= lo) & (start_at < lo + width)
            out[mine] = block[end[mine], start_at[mine] - lo]
        return out

    def _row_scores(self, st: Structure, index: np.ndarray) -> np.ndarray:
        width = max(1, _BLOCK // max(st.adj.shape[0], 1))
        return np.concatenate(
            [self._walks(st.adj_t, index[lo : lo + width]).T for lo in range(0, len(index), width)]
        )

    def _walks(self, matrix: sp.csr_matrix, starts: np.ndarray) -> np.ndarray:
        r"""``sum_l beta^l M^l [:, starts]``, dense ``[N, len(starts)]``."""
        block = np.zeros((matrix.shape[0], len(starts)))
        block[starts, np.arange(len(starts))] = 1.0
        total = np.zeros_like(block)
        for _ in range(int(self.max_length)):
            block = self.beta * (matrix @ block)
            total += block
        return total


def spectral_radius(adj: sp.spmatrix, iterations: int = 100, rtol: float = 1e-6) -> float:
    r"""An estimate of the largest eigenvalue of a non-negative sparse matrix.

    Power iteration on ``A + I`` from the all-ones vector (the shift makes the Perron root
    the one eigenvalue of largest modulus, also for bipartite graphs); returns the
    quotient ``x^T A x / x^T x`` of the last iterate. For a symmetric ``A`` (an undirected
    graph) that is a lower bound of ``lambda_max``, so a divergence warning based on it is
    never wrong.
    """
    x = np.ones(adj.shape[0])
    estimate = 0.0
    for _ in range(iterations):
        ax = adj @ x
        previous, estimate = estimate, float(x @ ax) / float(x @ x)
        if abs(estimate - previous) <= rtol * max(estimate, 1e-300):
            break
        x = ax + x
        x /= np.abs(x).max()
    return estimate


def _log(scores: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(scores)
