"""Link splits of the three directed tasks of Salha et al. (2019), section 4.1.

- ``general``: general directed link prediction. Held-out directed edges against ordered
  non-edges ``i -> j`` (the reverse of an edge may be one): :func:`graphae.split.split_edges`.
- ``biased``: biased negative samples. Held-out *unidirectional* edges ``i -> j`` (``j -> i``
  is not an edge) against their reverses ``j -> i``: a model must tell the direction of a
  link it knows exists. A symmetric decoder scores both alike (AUC 50).
- ``bidirectional``: bidirectionality prediction. Of each pair linked both ways, the edge
  ``i -> j`` (``i < j``) is removed from training and held out, against as many pairs
  ``i -> j`` (``i < j``) whose reverse ``j -> i`` is a unidirectional edge: given that
  ``j -> i`` exists, does ``i -> j``?

The constructions follow ``mask_test_edges_general_link_prediction``,
``mask_test_edges_biased_negative_samples`` and
``mask_test_edges_bidirectional_link_prediction`` of deezer/gravity_graph_autoencoders;
that code holds out no validation pairs in the last two tasks (pass ``val_ratio=0`` to
match it), so validation pairs here are built as the test pairs are. Every function
returns a :class:`~graphae.split.LinkSplit` keyed by :mod:`graphae.pairs`.
"""

from __future__ import annotations

import numpy as np

from graphae.errors import InputError
from graphae.graph import Graph
from graphae.pairs import pair_keys, pairs_of
from graphae.sampling import RandomState, as_generator
from graphae.split import LinkSplit, split_edges

__all__ = ["TASKS", "split_biased", "split_bidirectional", "split_for_task"]

TASKS = ("general", "biased", "bidirectional")


def split_for_task(
    graph: Graph,
    task: str = "general",
    val_ratio: float = 0.05,
    test_ratio: float = 0.10,
    random_state: RandomState = None,
) -> LinkSplit:
    """The split of ``task`` (see the module docstring); ``general`` also splits undirected graphs.

    Args:
        graph: The full graph.
        task: One of :data:`TASKS`.
        val_ratio, test_ratio: Fractions held out (``bidirectional`` holds out every
            pair linked both ways and ignores ``test_ratio``).
        random_state: Seed or ``numpy.random.Generator``.

    Raises:
        InputError: On an unknown task, a ``biased`` or ``bidirectional`` task on an
            undirected graph, or a graph that cannot fill the split.
    """
    if task not in TASKS:
        raise InputError(f"The 'task' parameter must be one of {list(TASKS)}. Got {task!r}.")
    if task == "general":
        return split_edges(graph, val_ratio=val_ratio, test_ratio=test_ratio, random_state=random_state)
    if not graph.directed:
        raise InputError(
            f"The {task!r} task needs a directed graph; graph {graph.name!r} is undirected "
            "(load it with directed=True)."
        )
    if task == "biased":
        return split_biased(graph, val_ratio=val_ratio, test_ratio=test_ratio, random_state=random_state)
    return split_bidirectional(graph, val_ratio=val_ratio, random_state=random_state)


def split_biased(
    graph: Graph,
    val_ratio: float = 0.05,
    test_ratio: float = 0.10,
    random_state: RandomState = None,
    *,
    train_bidirectional: bool = False,
) -> LinkSplit:
    """Biased negative samples: unidirectional edges against their reverses.

    Of the ``U`` unidirectional edges ``i -> j`` (``j -> i`` is not an edge),
    ``floor(U * test_ratio)`` go to test and ``floor(U * val_ratio)`` to validation; the
    negatives of each set are the reverses ``j -> i`` of its positives, so they are
    non-edges. The training graph holds the remaining unidirectional edges.

    Args:
        graph: A directed graph.
        val_ratio: Fraction of unidirectional edges for validation, in ``[0, 1)``.
        test_ratio: Fraction for test, in ``(0, 1)``.
        random_state: Seed or ``numpy.random.Generator``.
        train_bidirectional: Also train on the edges of pairs linked both ways. The
            paper's code leaves them out of the training graph (``False``).

    Raises:
        InputError: On ratios outside their range, an undirected graph, or too few
            unidirectional edges to fill the split.
    """
    _check_ratios(val_ratio, test_ratio)
    n = graph.num_nodes
    uni, both = _unidirectional_and_mutual(_directed(graph, "split_biased"))
    num_test = int(np.floor(len(uni) * test_ratio))
    num_val = int(np.floor(len(uni) * val_ratio))
    if num_test < 1 or (val_ratio > 0 and num_val < 1) or num_test + num_val >= len(uni):
        raise InputError(
            f"Graph {graph.name!r} has too few unidirectional edges to split: {len(uni)} give "
            f"{num_test} test and {num_val} validation edges."
        )
    test_pos, val_pos, train = np.split(
        as_generator(random_state).permutation(uni), [num_test, num_test + num_val]
    )
    if train_bidirectional:
        train = np.concatenate([train, both])
    return _link_split(graph, train, val_pos, _reverse(val_pos, n), test_pos, _reverse(test_pos, n))


def split_bidirectional(graph: Graph, val_ratio: float = 0.05, random_state: RandomState = None) -> LinkSplit:
    """Bidirectionality prediction: pairs linked both ways against pairs linked one way.

    Each of the ``B`` pairs ``{i, j}`` with edges both ways gives a positive ``i -> j``
    (``i < j``, node indices), removed from the training graph (``j -> i`` stays). As
    many negatives are drawn without replacement among the pairs ``i -> j`` (``i < j``)
    whose reverse ``j -> i`` is an edge and which are not edges themselves. Every
    positive is held out: ``floor(B * val_ratio)`` for validation, the rest for test.

    Args:
        graph: A directed graph.
        val_ratio: Fraction of the pairs linked both ways for validation, in ``[0, 1)``.
        random_state: Seed or ``numpy.random.Generator``.

    Raises:
        InputError: On an undirected graph, ``val_ratio`` outside ``[0, 1)``, a graph
            without pairs linked both ways, or with fewer negatives than positives.
    """
    if not 0 <= val_ratio < 1:
        raise InputError(f"The 'val_ratio' parameter must be in [0, 1). Got {val_ratio!r}.")
    n = graph.num_nodes
    uni, both = _unidirectional_and_mutual(_directed(graph, "split_bidirectional"))
    src, dst = pairs_of(both, n)
    positives = both[src < dst]
    src, dst = pairs_of(uni, n)
    candidates = np.sort(pair_keys(np.stack([dst, src])[:, src > dst], n, directed=True))
    num_val = int(np.floor(len(positives) * val_ratio))
    if len(positives) == 0 or len(positives) - num_val < 1 or (val_ratio > 0 and num_val < 1):
        raise InputError(
            f"Graph {graph.name!r} has {len(positives)} pairs linked both ways: too few for "
            f"bidirectionality prediction with val_ratio={val_ratio!r}."
        )
    if len(candidates) < len(positives):
        raise InputError(
            f"Graph {graph.name!r} has {len(positives)} pairs linked both ways but only "
            f"{len(candidates)} candidate negatives (pairs i < j linked j -> i only)."
        )
    rng = as_generator(random_state)
    pos = rng.permutation(positives)
    neg = rng.choice(candidates, size=len(positives), replace=False)
    train = np.setdiff1d(graph.edge_keys(), positives, assume_unique=True)
    return _link_split(graph, train, pos[:num_val], neg[:num_val], pos[num_val:], neg[num_val:])


# Helpers ------------------------------------------------------------------------------
def _check_ratios(val_ratio: float, test_ratio: float) -> None:
    if not 0 < test_ratio < 1:
        raise InputError(f"The 'test_ratio' parameter must be in (0, 1). Got {test_ratio!r}.")
    if not 0 <= val_ratio < 1 or val_ratio + test_ratio >= 1:
        raise InputError(
            f"The 'val_ratio' parameter must be in [0, 1) with val_ratio + test_ratio < 1. Got {val_ratio!r}."
        )


def _directed(graph: Graph, caller: str) -> Graph:
    if not graph.directed:
        raise InputError(f"{caller} needs a directed graph; graph {graph.name!r} is undirected.")
    return graph


def _unidirectional_and_mutual(graph: Graph) -> tuple[np.ndarray, np.ndarray]:
    """Sorted keys of the edges whose reverse is not an edge, and of those whose reverse is."""
    keys = graph.edge_keys()
    mutual = np.isin(_reverse(keys, graph.num_nodes), keys, assume_unique=True)
    return keys[~mutual], keys[mutual]


def _reverse(keys: np.ndarray, num_nodes: int) -> np.ndarray:
    """Keys of the reversed pairs ``j -> i``."""
    return pair_keys(pairs_of(keys, num_nodes)[::-1], num_nodes, directed=True)


def _link_split(
    graph: Graph,
    train: np.ndarray,
    val_pos: np.ndarray,
    val_neg: np.ndarray,
    test_pos: np.ndarray,
    test_neg: np.ndarray,
) -> LinkSplit:
    n = graph.num_nodes
    train_graph = Graph.from_edge_index(
        pairs_of(np.sort(train), n),
        num_nodes=n,
        directed=True,
        x=graph.x,
        y=graph.y,
        name=graph.name,
        node_ids=graph.node_ids,
        label_split=graph.label_split,
    )
    return LinkSplit(
        train=train_graph,
        val_pos_keys=np.sort(val_pos),
        val_neg_keys=np.sort(val_neg),
        test_pos_keys=np.sort(test_pos),
        test_neg_keys=np.sort(test_neg),
    )
