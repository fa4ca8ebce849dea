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

from graphae.errors import InputError
from graphae.params import Integer
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
        try:
            yield
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

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

    def recommend(self, nodes: Any, k: int = 10, exclude_edges: bool = True) -> list:
        """The ``k`` most likely new neighbours (out-neighbours when directed) of each node.

        Args:
            nodes: One node id or a sequence of ids.
            k: Number of neighbours per node.
            exclude_edges: Leave out the existing neighbours (the node itself is never listed).

        Returns:
            For one id, a list of ``(neighbour id, probability)``, best first (equal
            scores: the lower node index first); for a sequence, one such list per id.
            The probability is ``sigmoid`` of the logit (a heuristic's normalised score).

        Raises:
            InputError: On an unknown id or ``k < 1``.
        """
        self._check_fitted()
        if not Integer(1).accepts(k):
            raise InputError(f"The 'k' parameter of recommend must be an int >= 1. Got {k!r}.")
        single = np.ndim(nodes) == 0
        index = self._index_of([nodes] if single else list(nodes))
        adj = self.graph_.adj
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
                top = _top_k(scores, np.flatnonzero(~excluded), int(k))
                probs = expit(scores[top].astype(np.float64))
                out.append([(_key(self.node_ids_[t]), float(p)) for t, p in zip(top, probs, strict=True)])
        return out[0] if single else out

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
