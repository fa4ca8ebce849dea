"""Link splits: the train/validation/test protocol of Kipf & Welling (2016)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from graphae.errors import InputError
from graphae.graph import Graph
from graphae.pairs import pairs_of
from graphae.sampling import RandomState, as_generator, sample_non_edges


@dataclass(frozen=True)
class LinkSplit:
    """Held-out positive and negative node pairs plus the training graph.

    Every pair set is stored once, as sorted pair keys (:mod:`graphae.pairs`: ``i * N + j``,
    with ``i < j`` on an undirected graph, ordered on a directed one); the ``[2, k]``
    coordinate views are derived from them.

    Attributes:
        train: The graph with validation and test edges removed (same nodes,
            features, labels and label split).
        val_pos_keys, val_neg_keys, test_pos_keys, test_neg_keys: int64 keys.
    """

    train: Graph
    val_pos_keys: np.ndarray
    val_neg_keys: np.ndarray
    test_pos_keys: np.ndarray
    test_neg_keys: np.ndarray

    @property
    def num_nodes(self) -> int:
        return self.train.num_nodes

    @property
    def directed(self) -> bool:
        return self.train.directed

    def _pairs(self, keys: np.ndarray) -> np.ndarray:
        return pairs_of(keys, self.num_nodes)

    @property
    def val_pos(self) -> np.ndarray:
        """Validation edges, ``[2, k]`` int64."""
        return self._pairs(self.val_pos_keys)

    @property
    def val_neg(self) -> np.ndarray:
        """Validation non-edges, ``[2, k]`` int64."""
        return self._pairs(self.val_neg_keys)

    @property
    def test_pos(self) -> np.ndarray:
        """Test edges, ``[2, k]`` int64."""
        return self._pairs(self.test_pos_keys)

    @property
    def test_neg(self) -> np.ndarray:
        """Test non-edges, ``[2, k]`` int64."""
        return self._pairs(self.test_neg_keys)


def split_edges(
    graph: Graph,
    val_ratio: float = 0.05,
    test_ratio: float = 0.10,
    random_state: RandomState = None,
) -> LinkSplit:
    """Hold out edges and as many non-edges for validation and test.

    Follows the reference protocol (``mask_test_edges`` in tkipf/gae): of the
    edges ``floor(E * test_ratio)`` go to test and ``floor(E * val_ratio)`` to
    validation, the rest stay in the training graph. Negatives are node pairs
    ``i != j`` that are not edges of the *full* graph; validation and test negatives
    are disjoint. On a directed graph the held-out edges are directed and the
    negatives are ordered pairs ``i -> j`` that are not edges (the reverse of an edge
    may be one), as in the general directed task of Salha et al. (2019).

    Args:
        graph: The full graph.
        val_ratio: Fraction of edges held out for validation, in ``[0, 1)``.
        test_ratio: Fraction of edges held out for test, in ``(0, 1)``.
        random_state: Seed or ``numpy.random.Generator``.

    Returns:
        A :class:`LinkSplit`.

    Raises:
        InputError: On ratios outside their range, or a graph with too few edges
            (or too few non-edges) to fill the splits.
    """
    if not 0 < test_ratio < 1:
        raise InputError(f"The 'test_ratio' parameter must be in (0, 1). Got {test_ratio!r}.")
    if not 0 <= val_ratio < 1 or val_ratio + test_ratio >= 1:
        raise InputError(
            f"The 'val_ratio' parameter must be in [0, 1) with val_ratio + test_ratio < 1. Got {val_ratio!r}."
        )
    rng = as_generator(random_state)
    n = graph.num_nodes
    edge_keys = graph.edge_keys()
    num_test = int(np.floor(len(edge_keys) * test_ratio))
    num_val = int(np.floor(len(edge_keys) * val_ratio))
    if num_test < 1 or (val_ratio > 0 and num_val < 1) or num_test + num_val >= len(edge_keys):
        raise InputError(
            f"Graph {graph.name!r} has too few edges to split: {len(edge_keys)} edges give "
            f"{num_test} test and {num_val} validation edges; at least "
            f"{int(np.ceil(1 / min(test_ratio, val_ratio or 1)))} edges are needed."
        )
    perm = rng.permutation(edge_keys)
    test_pos, val_pos, train_keys = np.split(perm, [num_test, num_test + num_val])
    negatives = sample_non_edges(edge_keys, n, num_test + num_val, rng, directed=graph.directed)
    test_neg, val_neg = np.split(negatives, [num_test])
    # The kept keys are edges of the graph (distinct, no self loops): the training graph is
    # built from them directly, without a round trip through [2, E] pairs.
    train_keys.sort()  # a view of perm, ours: sorted in place
    train = Graph._from_edge_keys(
        train_keys,
        n,
        directed=graph.directed,
        x=graph.x,
        y=graph.y,
        name=graph.name,
        node_ids=graph.node_ids,
        label_split=graph.label_split,
    )
    return LinkSplit(
        train=train,
        val_pos_keys=np.sort(val_pos),
        val_neg_keys=np.sort(val_neg),
        test_pos_keys=np.sort(test_pos),
        test_neg_keys=np.sort(test_neg),
    )
