"""Link prediction with a fitted model: scores of node-id pairs and recommendations.

Two hooks score node *indices*: :meth:`~LinkPredictionMixin.pair_logits` (pairs
``[2, k]``) and :meth:`~LinkPredictionMixin._score_rows` (every target of some sources,
``[len(index), N]``). Their default implementations, used by the autoencoders, go through
the fitted model's decoder (``module_.decoder``) on the stored embedding; nothing here
writes ``z_i . z_j`` itself. A model without an embedding (the heuristics of
:mod:`graphae.models.heuristics`) overrides both; probabilities are ``sigmoid(logit)``
for every model.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import torch
from scipy.special import expit
from sklearn.exceptions import NotFittedError

from graphae import topk
from graphae.errors import InputError, InputTypeError, MissingFileError
from graphae.params import Integer
from graphae.topk import InnerProductIndex
from graphae.training import decode_pairs

# Scores held at once by recommend (rows x nodes).
_ROW_BLOCK = 1 << 22


class LinkPredictionMixin:
    """Scoring methods of a fitted estimator (``graph_``, ``node_ids_`` and the scoring hooks).

    Attributes:
        learned: Whether ``fit`` learns parameters (weights and an embedding); ``False``
            for the non-learned heuristics.
    """

    learned: ClassVar[bool] = True
    # The attribute that exists once the estimator is fitted.
    _fitted_attribute: ClassVar[str] = "embedding_"

    def _check_fitted(self) -> None:
        if not hasattr(self, self._fitted_attribute):
            raise NotFittedError(  # scikit-learn's, so `except NotFittedError` works
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with a graph first."
            )

    @contextmanager
    def _fitting(self) -> Iterator[None]:
        """The body of ``fit``: if it raises, every attribute is restored as it was before.

        A failed fit (or refit) thus leaves the estimator unfitted or with its previous fit
        whole, never a mix of the two (an old ``module_`` with a new ``in_channels_``).
        """
        before = dict(vars(self))
        vars(self).pop("_known_edges", None)  # what set_known_edges gave belongs to the last fit
        try:
            yield
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    def set_known_edges(self, graph: Any) -> Any:
        """Have ``recommend`` also leave out the edges of ``graph``, which ``fit`` did not see.

        ``graph`` is the whole graph of which the model was fitted on a part (the training
        edges of a split), on the fitted nodes in their order: its held-out edges are
        links a user already has, not ones to recommend. Nothing else changes: ``graph_``
        stays the graph fitted on, which scores, ``transform`` and new-node embeddings
        use. ``save`` keeps both (``adjacency.npz`` and ``fitted_adjacency.npz``).

        Returns:
            ``self``.

        Raises:
            InputError: If ``graph`` has other nodes than the fitted graph.
        """
        from graphae.data.convert import as_graph

        self._check_fitted()
        graph = as_graph(graph)
        same = graph.num_nodes == self.graph_.num_nodes and (
            graph.node_ids is None or np.array_equal(graph.node_ids, self.node_ids_)
        )
        if not same or graph.directed != self.graph_.directed:
            raise InputError(
                f"set_known_edges needs a graph on the {self.graph_.num_nodes} fitted nodes, in their order and "
                f"{'directed' if self.graph_.directed else 'undirected'} like them. Got {graph!r}."
            )
        self._known_edges = graph.adj
        return self

    def known_adjacency(self) -> Any:
        """The CSR adjacency ``recommend`` leaves out: what :meth:`set_known_edges` gave
        since the last fit, else the fitted graph's."""
        self._check_fitted()
        known = getattr(self, "_known_edges", None)
        return self.graph_.adj if known is None else known

    def decision_function(self, pairs: Any) -> np.ndarray:
        """Logits of node-id pairs, ``[k, 2]`` (a sequence of ``(source, target)``), ``[k]``."""
        return self.pair_logits(self._pair_index(pairs))

    def predict_proba(self, pairs: Any) -> np.ndarray:
        """Link probabilities of node-id pairs (``[k, 2]``), ``[k]``.

        Raises:
            NotFittedError: Before ``fit``.
            InputError: On an unknown id or a badly shaped ``pairs``.
        """
        return expit(self.pair_logits(self._pair_index(pairs)).astype(np.float64))

    @torch.no_grad()
    def pair_logits(self, index_pairs: np.ndarray) -> np.ndarray:
        """Decoder logits of node-*index* pairs ``[2, k]`` on the fitted embedding, ``[k]``."""
        self._check_fitted()
        return decode_pairs(self.module_.decoder, torch.from_numpy(self.embedding_), index_pairs).numpy()

    @torch.no_grad()
    def _score_rows(self, index: np.ndarray) -> np.ndarray:
        """Logits of every pair ``(s, t)``, ``s`` in ``index``: ``[len(index), N]`` (the decoder's)."""
        return self.module_.decoder.score_rows(
            torch.from_numpy(self.embedding_), torch.from_numpy(index)
        ).numpy()

    def _pair_index(self, pairs: Any) -> np.ndarray:
        """Node-index pairs ``[2, k]`` of node-id pairs ``[k, 2]``."""
        self._check_fitted()
        arr = np.asarray(pairs, dtype=object)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise InputError(f"pairs must have shape [k, 2] (one (source, target) per row). Got {arr.shape}.")
        return np.stack([self._index_of(arr[:, 0]), self._index_of(arr[:, 1])])

    def recommend(
        self, nodes: Any, k: int = 10, exclude_edges: bool = True, exact: bool | None = None
    ) -> list:
        """The ``k`` most likely new neighbours (out-neighbours when directed) of each node.

        Exact scoring rates every node for each query. With a decoder that is an inner
        product (GAE, VGAE, ARGA, linear; see :mod:`graphae.topk`), a top-k index proposes
        candidates instead, which are scored again with the decoder: the probabilities are
        the exact ones, and only a candidate the index missed can be absent (recall@10
        against exact scoring: BENCHMARKS.md). Other decoders (MLP, gravity,
        source/target) and the heuristics always score exactly.

        Args:
            nodes: One node id or a sequence of ids.
            k: Number of neighbours per node.
            exclude_edges: Leave out the existing neighbours (the node itself is never listed).
            exact: ``True``: score every node. ``False``: use the index (built on first
                use, or read from the model folder). ``None``: the index from
                :data:`graphae.topk.EXACT_BELOW` nodes on, when faiss is installed and
                the decoder is an inner product; exact scoring otherwise.

        Returns:
            For one id, a list of ``(neighbour id, probability)``, best first (equal
            scores: the lower node index first); for a sequence, one such list per id.
            The probability is ``sigmoid`` of the logit (a heuristic's normalised score).

        Raises:
            InputError: On an unknown id, ``k < 1``, or ``exact=False`` for a model whose
                scores are no inner product; also if its saved index file is damaged.
            MissingDependencyError: On ``exact=False`` without faiss.
        """
        self._check_fitted()
        if not Integer(1).accepts(k):
            raise InputError(f"The 'k' parameter of recommend must be an int >= 1. Got {k!r}.")
        if exact is not None and not isinstance(exact, (bool, np.bool_)):
            raise InputTypeError(
                f"The 'exact' parameter of recommend must be True, False or None. Got {exact!r}."
            )
        single = np.ndim(nodes) == 0
        index = self._index_of([nodes] if single else list(nodes))
        ann = None if exact else self._index_for_recommend(required=exact is not None)
        if ann is None:
            out = self._recommend_exact(index, int(k), exclude_edges)
        else:
            out = [self._recommend_indexed(ann, int(i), int(k), exclude_edges) for i in index]
        return out[0] if single else out

    def _recommend_exact(self, index: np.ndarray, k: int, exclude_edges: bool) -> list:
        adj = self.known_adjacency()
        n = adj.shape[0]
        block = max(1, _ROW_BLOCK // max(n, 1))  # rows scored at once: bounds the memory
        out = []
        for start in range(0, len(index), block):
            rows = self._score_rows(index[start : start + block])
            for i, scores in zip(index[start : start + block], rows, strict=True):
                excluded = np.zeros(n, dtype=bool)
                excluded[i] = True
                if exclude_edges:
                    excluded[adj.indices[adj.indptr[i] : adj.indptr[i + 1]]] = True
                top = _top_k(scores, np.flatnonzero(~excluded), k)
                out.append(self._entries(top, scores[top]))
        return out

    def _recommend_indexed(self, ann: InnerProductIndex, i: int, k: int, exclude_edges: bool) -> list:
        """Candidates from ``ann`` (:meth:`InnerProductIndex.candidates`: the excluded ones
        dropped), scored by the decoder; every node scored when the index would need too many."""
        adj = self.known_adjacency()
        neighbours = adj.indices[adj.indptr[i] : adj.indptr[i + 1]] if exclude_edges else np.empty(0, int)
        keep = ann.candidates(self.embedding_, i, neighbours, k)
        if keep is None:
            return self._recommend_exact(np.array([i]), k, exclude_edges)[0]
        logits = self.pair_logits(np.stack([np.full(len(keep), i), keep]))
        order = np.lexsort((keep, -logits))[:k]  # best first; ties: the lower index
        return self._entries(keep[order], logits[order])

    def _entries(self, top: np.ndarray, logits: np.ndarray) -> list:
        probs = expit(np.asarray(logits, dtype=np.float64))
        return [(_key(self.node_ids_[t]), float(p)) for t, p in zip(top, probs, strict=True)]

    # The top-k index ----------------------------------------------------------------------
    def _exact_only(self) -> str | None:
        """Why this model has no top-k index (its scores are no inner product), or ``None``."""
        decoder = getattr(getattr(self, "module_", None), "decoder", None)
        if decoder is None:
            return (
                f"{type(self).__name__} scores pairs without an embedding, so it has no top-k index: "
                "recommend scores every node exactly (exact=None or True)."
            )
        if not getattr(decoder, "inner_product", False):
            return (
                f"The decoder of this {type(self).__name__} ({type(decoder).__name__}) is not an inner "
                "product, so it has no top-k index: recommend scores every node exactly (exact=None or True)."
            )
        return None

    def recommend_index(self) -> InnerProductIndex | None:
        """The index ``recommend(exact=None)`` uses, read or built now; ``None`` if it scores exactly.

        A service calls it at start-up, so that a damaged ``index.faiss`` is refused before
        the first request and that request does not wait for the index.
        """
        self._check_fitted()
        return self._index_for_recommend(required=False)

    def _index_for_recommend(self, required: bool) -> InnerProductIndex | None:
        """The index ``recommend`` uses: always when ``required``, else above the size threshold."""
        if not required and (
            self._exact_only() is not None or self.graph_.num_nodes < topk.EXACT_BELOW or not topk.available()
        ):
            return None
        return self.topk_index()

    def topk_index(self, target_recall: float | None = None) -> InnerProductIndex:
        """The top-k index over the embedding: read from the model folder or built, once.

        The index of a loaded model is read (checked against its checksum in
        ``metadata.json`` first) on first use; one that is absent is built, its search
        width calibrated to a recall@10 of ``target_recall`` against exact scoring, the
        existing neighbours left out (:meth:`InnerProductIndex.calibrate`; what it measured:
        the index's ``calibration``, kept in ``metadata.json`` by ``save``). It is kept
        until the embedding changes (a refit).

        Args:
            target_recall: ``None``: the index as it is (one built now:
                :data:`graphae.topk.TARGET_RECALL`). A number in ``(0, 1]``: an index
                calibrated to it; one calibrated to another target (or never) is
                calibrated again, without being rebuilt.

        Raises:
            InputError: If the model's scores are no inner product, ``target_recall`` is no
                number in ``(0, 1]``, or the saved index file is missing or damaged (naming
                the file).
            MissingDependencyError: Without faiss (``pip install "graphae[index]"``).
        """
        self._check_fitted()
        if target_recall is not None:
            target_recall = topk.check_target_recall(target_recall, "topk_index")
        reason = self._exact_only()
        if reason is not None:
            raise InputError(reason)
        cache = getattr(self, "_topk_cache", None)
        if cache is not None and cache[0] is self.embedding_:
            ann = cache[1]
        else:
            n, d = self.embedding_.shape
            saved = self._saved_index_file()
            if saved is not None:
                ann = InnerProductIndex.from_bytes(saved.read(), n, d, str(saved.path), saved.record)
            else:
                target = topk.TARGET_RECALL if target_recall is None else target_recall
                ann = InnerProductIndex.build(self.embedding_, self.known_adjacency(), target)
            self._topk_cache = (self.embedding_, ann)
        if target_recall is not None and (ann.calibration or {}).get("target_recall") != target_recall:
            ann.calibrate(self.embedding_, self.known_adjacency(), target_recall)
        return ann

    def _saved_index_file(self) -> Any:
        """The ``index.faiss`` this model was loaded with, while it still has that embedding."""
        source = getattr(self, "_topk_file", None)
        return source[1] if source is not None and source[0] is self.embedding_ else None

    def _index_record(self) -> dict[str, Any] | None:
        """What ``metadata.json`` keeps of the index :meth:`_index_to_save` gave (its search width
        and calibration), or ``None`` (no index, or one read from a folder saved without it)."""
        cache = getattr(self, "_topk_cache", None)
        if cache is not None and cache[0] is self.embedding_:
            return cache[1].record()
        saved = self._saved_index_file()
        return saved.record if saved is not None else None

    def _index_to_save(self) -> bytes | None:
        """The index bytes ``save`` writes: the index in use or read, else none.

        ``save`` builds no index of its own (call :meth:`topk_index` first, or
        ``graphae train --index``). A damaged or missing index file of the folder this
        model came from is rebuilt here, so saving the model again repairs the folder.
        """
        if self._exact_only() is not None:
            return None
        cache = getattr(self, "_topk_cache", None)
        if cache is not None and cache[0] is self.embedding_:
            return cache[1].to_bytes()
        saved = self._saved_index_file()
        if saved is not None:
            try:
                return saved.read()
            except (InputError, MissingFileError):
                self._topk_file = None  # damaged or missing: rebuilt below
            return self.topk_index().to_bytes() if topk.available() else None
        return None  # never built here: at 10M nodes the build takes longer than the training

    def _index_of(self, ids: Any, what: str = "node") -> np.ndarray:
        lookup = self.id_index()
        ids = np.asarray(ids, dtype=object).ravel()
        out = np.empty(len(ids), dtype=np.int64)
        for k, node in enumerate(ids):
            try:
                out[k] = lookup[_lookup_key(node)]
            except (KeyError, TypeError):
                raise InputError(
                    f"Unknown {what} id {node!r}: it is not a node of the fitted graph."
                ) from None
        return out

    def id_index(self) -> dict[Any, int]:
        """Row index of every node id of the fitted graph (built once per fit or load).

        A ``bool`` id is keyed as ``(bool, id)``: ``True == 1`` in Python, yet ``True``
        is not the node ``1``.
        """
        self._check_fitted()
        cache = getattr(self, "_id_cache", None)
        if cache is None or cache[0] is not self.node_ids_:
            cache = (self.node_ids_, {_lookup_key(v): i for i, v in enumerate(self.node_ids_.tolist())})
            self._id_cache = cache
        return cache[1]


def _top_k(scores: np.ndarray, candidates: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` best ``candidates`` (ascending node indices) by score; ties go to the lower index."""
    neg = -scores[candidates]
    if k < len(candidates):
        kth = np.partition(neg, k - 1)[k - 1]
        keep = np.flatnonzero(neg <= kth)  # every tie of the k-th score, so the order is exact
        candidates, neg = candidates[keep], neg[keep]
    return candidates[np.lexsort((candidates, neg))[:k]]


def _key(value: Any) -> Any:
    """A node id as a plain Python value (numpy scalars unwrapped), for lookups and results."""
    return value.item() if isinstance(value, np.generic) else value


def _lookup_key(value: Any) -> Any:
    """The key of a node id in :meth:`LinkPredictionMixin.id_index`: bools apart from ``0``/``1``."""
    value = _key(value)
    return (bool, value) if isinstance(value, bool) else value
