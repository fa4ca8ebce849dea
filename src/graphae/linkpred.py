"""Link prediction with a fitted model: scores of node-id pairs and recommendations.

Every score goes through the fitted model's decoder (``module_.decoder``) on the stored
embedding; nothing here writes ``z_i . z_j`` itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from scipy.special import expit
from sklearn.exceptions import NotFittedError

from graphae.errors import InputError
from graphae.params import Integer
from graphae.training import decode_pairs


class LinkPredictionMixin:
    """Scoring methods of a fitted estimator (``module_``, ``embedding_``, ``graph_``, ``node_ids_``)."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "embedding_"):
            raise NotFittedError(  # scikit-learn's, so `except NotFittedError` works
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with a graph first."
            )

    def decision_function(self, pairs: Any) -> np.ndarray:
        """Logits of node-id pairs, ``[k, 2]`` (a sequence of ``(source, target)``), ``[k]``."""
        self._check_fitted()
        arr = np.asarray(pairs, dtype=object)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise InputError(f"pairs must have shape [k, 2] (one (source, target) per row). Got {arr.shape}.")
        index = np.stack([self._index_of(arr[:, 0]), self._index_of(arr[:, 1])])
        return self.pair_logits(index)

    def predict_proba(self, pairs: Any) -> np.ndarray:
        """Link probabilities of node-id pairs (``[k, 2]``), ``[k]``.

        Raises:
            NotFittedError: Before ``fit``.
            InputError: On an unknown id or a badly shaped ``pairs``.
        """
        return expit(self.decision_function(pairs).astype(np.float64))

    @torch.no_grad()
    def pair_logits(self, index_pairs: np.ndarray) -> np.ndarray:
        """Decoder logits of node-*index* pairs ``[2, k]`` on the fitted embedding, ``[k]``."""
        self._check_fitted()
        return decode_pairs(self.module_.decoder, torch.from_numpy(self.embedding_), index_pairs).numpy()

    def recommend(self, nodes: Any, k: int = 10, exclude_edges: bool = True) -> list:
        """The ``k`` most likely new neighbours (out-neighbours when directed) of each node.

        Args:
            nodes: One node id or a sequence of ids.
            k: Number of neighbours per node.
            exclude_edges: Leave out the existing neighbours (the node itself is never listed).

        Returns:
            For one id, a list of ``(neighbour id, probability)``, best first; for a
            sequence, one such list per id.

        Raises:
            InputError: On an unknown id or ``k < 1``.
        """
        self._check_fitted()
        if not Integer(1).accepts(k):
            raise InputError(f"The 'k' parameter of recommend must be an int >= 1. Got {k!r}.")
        single = np.ndim(nodes) == 0
        index = self._index_of([nodes] if single else list(nodes))
        adj = self.graph_.adj
        with torch.no_grad():
            rows = self.module_.decoder.score_rows(torch.from_numpy(self.embedding_), torch.from_numpy(index))
        out = []
        for i, scores in zip(index, rows.numpy(), strict=True):
            scores[i] = -np.inf
            if exclude_edges:
                scores[adj.indices[adj.indptr[i] : adj.indptr[i + 1]]] = -np.inf
            take = min(int(k), int(np.isfinite(scores).sum()))
            top = np.argpartition(-scores, take - 1)[:take] if take else np.empty(0, dtype=np.int64)
            top = top[np.argsort(-scores[top], kind="stable")]
            probs = expit(scores[top].astype(np.float64))
            out.append([(_key(self.node_ids_[t]), float(p)) for t, p in zip(top, probs, strict=True)])
        return out[0] if single else out

    def _index_of(self, ids: Any, what: str = "node") -> np.ndarray:
        lookup = self.id_index()
        ids = np.asarray(ids, dtype=object).ravel()
        out = np.empty(len(ids), dtype=np.int64)
        for k, node in enumerate(ids):
            try:
                out[k] = lookup[_key(node)]
            except (KeyError, TypeError):
                raise InputError(
                    f"Unknown {what} id {node!r}: it is not a node of the fitted graph."
                ) from None
        return out

    def id_index(self) -> dict[Any, int]:
        """Row index of every node id of the fitted graph (built once per fit or load)."""
        self._check_fitted()
        cache = getattr(self, "_id_cache", None)
        if cache is None or cache[0] is not self.node_ids_:
            cache = (self.node_ids_, {_key(v): i for i, v in enumerate(self.node_ids_.tolist())})
            self._id_cache = cache
        return cache[1]


def _key(value: Any) -> Any:
    """A node id as a plain Python value (numpy scalars unwrapped), for lookups and results."""
    return value.item() if isinstance(value, np.generic) else value
