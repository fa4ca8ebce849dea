"""Seeded synthetic attributed graphs with planted communities."""

from __future__ import annotations

import numbers

import numpy as np
import scipy.sparse as sp

from graphae.errors import InputError
from graphae.graph import Graph
from graphae.pairs import pairs_of

# Shape of the Pareto tail of the degree propensities; 2.5 keeps the variance
# finite while giving a few hubs, as in citation graphs.
_DEGREE_TAIL = 2.5
# Rounds of re-drawing that replace duplicate pairs and self loops.
_MAX_TOP_UP_ROUNDS = 50


def make_communities(
    num_nodes: int = 2000,
    num_communities: int = 8,
    avg_degree: float = 8.0,
    in_out_ratio: float = 30.0,
    num_features: int = 500,
    features_per_node: float = 10.0,
    feature_noise: float = 0.5,
    degree_corrected: bool = True,
    random_state: int | np.random.Generator | None = 0,
    name: str = "synthetic",
) -> Graph:
    """Sample an attributed graph with planted communities.

    Structure: a (degree-corrected) stochastic block model. Nodes are split into
    ``num_communities`` communities of equal size (up to one node). A pair inside
    a community is ``in_out_ratio`` times as likely to be linked as a pair across
    communities. With ``degree_corrected`` each node gets a Pareto-tailed
    propensity ``theta_i`` and endpoints within a community are drawn in
    proportion to it (Karrer & Newman, 2011), so degrees are heavy-tailed.
    ``round(avg_degree * num_nodes / 2)`` distinct edges are sampled block by
    block, never materialising an ``N x N`` matrix (fewer only when the blocks
    are nearly full); each node left isolated is then linked to one member of
    its community, so no node is isolated and the count can exceed the target
    by a few edges.

    Features: the columns are split into one block of "topic" columns per
    community. Each node draws ``Poisson(features_per_node)`` words (at least
    one); a word comes from the node's topic columns with probability
    ``1 - feature_noise`` and from all columns otherwise. Repeated words
    collapse, so rows are binary.

    Args:
        num_nodes: Number of nodes ``N``, at least 2.
        num_communities: Number of communities ``K``, in ``[1, N // 2]`` so
            every community has two members.
        avg_degree: Target mean degree, in ``(0, (N - 1) / 2]``.
        in_out_ratio: Ratio of the within-community to the between-community
            edge probability, ``>= 1``. The expected fraction of edges inside
            communities is about ``r / (r + K - 1)``: 0.81 for the defaults.
        num_features: Number of feature columns ``F``, at least ``K``.
        features_per_node: Mean number of words drawn per node, ``> 0``.
        feature_noise: Probability in ``[0, 1]`` that a word ignores the topic.
        degree_corrected: Heavy-tailed degrees if ``True``, a plain stochastic
            block model if ``False``.
        random_state: Seed or ``numpy.random.Generator``; a generator is
            consumed, global random state is never touched.
        name: Name of the returned graph.

    Returns:
        A :class:`~graphae.graph.Graph` with binary ``float32`` CSR features
        ``x`` of shape ``[N, F]`` and community labels ``y`` (int64, ``[N]``).

    Raises:
        InputError: If an argument is of the wrong type or out of range.

    Example:
        >>> g = make_communities(num_nodes=200, num_communities=4, random_state=0)
        >>> g.num_nodes, g.x.shape, int(g.y.max())
        (200, (200, 500), 3)
    """
    _check_params(
        num_nodes,
        num_communities,
        avg_degree,
        in_out_ratio,
        num_features,
        features_per_node,
        feature_noise,
        random_state,
    )
    rng = np.random.default_rng(random_state)
    y = rng.permutation(np.arange(num_nodes) % num_communities).astype(np.int64)
    if degree_corrected:
        theta = 1.0 + rng.pareto(_DEGREE_TAIL, size=num_nodes)
    else:
        theta = np.ones(num_nodes)
    sampler = _EndpointSampler(y, theta, num_communities)
    num_edges = round(avg_degree * num_nodes / 2)
    keys = _sample_edge_keys(sampler, num_edges, in_out_ratio, rng)
    keys = _link_isolated(keys, sampler, num_nodes, rng)
    x = _sample_features(y, num_features, features_per_node, feature_noise, rng)
    return Graph.from_edge_index(pairs_of(keys, num_nodes), num_nodes, x=x, y=y, name=name)


class _EndpointSampler:
    """Draws nodes of a given community in proportion to their propensity.

    Nodes are ordered by community and the cumulative propensity of community
    ``c`` spans ``[c, c + 1)``, so one ``searchsorted`` serves all communities.
    """

    def __init__(self, y: np.ndarray, theta: np.ndarray, num_communities: int) -> None:
        self.order = np.argsort(y, kind="stable")
        self.sizes = np.bincount(y, minlength=num_communities)
        sorted_theta = theta[self.order]
        starts = np.concatenate([[0], np.cumsum(self.sizes)])
        cum = np.empty(len(y))
        for c in range(num_communities):
            part = sorted_theta[starts[c] : starts[c + 1]]
            cum[starts[c] : starts[c + 1]] = c + np.cumsum(part) / part.sum()
        self.cum = cum

    def draw(self, communities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        u = communities + rng.random(len(communities))
        pos = np.searchsorted(self.cum, u, side="right")
        # Guard against u landing on a float-rounded upper bound.
        pos = np.minimum(pos, len(self.cum) - 1)
        return self.order[pos]


def _sample_edge_keys(
    sampler: _EndpointSampler,
    num_edges: int,
    in_out_ratio: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Distinct canonical keys ``i * N + j`` (``i < j``) of ``num_edges`` edges."""
    sizes = sampler.sizes.astype(np.float64)
    num_nodes = int(sizes.sum())
    # Expected edges per block pair (k <= l): pairs times relative probability.
    pairs = np.triu(np.outer(sizes, sizes), k=1)
    np.fill_diagonal(pairs, sizes * (sizes - 1) / 2 * in_out_ratio)
    rows, cols = np.nonzero(pairs)
    weights = pairs[rows, cols] / pairs[rows, cols].sum()

    keys = np.empty(0, dtype=np.int64)
    for _ in range(_MAX_TOP_UP_ROUNDS):
        missing = num_edges - len(keys)
        if missing <= 0:
            break
        block = rng.choice(len(weights), size=missing, p=weights)
        u = sampler.draw(rows[block], rng)
        v = sampler.draw(cols[block], rng)
        lo, hi = np.minimum(u, v), np.maximum(u, v)
        new = lo[lo != hi] * num_nodes + hi[lo != hi]
        keys = np.union1d(keys, new)
    return keys


def _link_isolated(
    keys: np.ndarray,
    sampler: _EndpointSampler,
    num_nodes: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Add one edge from each isolated node to another member of its community."""
    degree = np.bincount(keys // num_nodes, minlength=num_nodes)
    degree += np.bincount(keys % num_nodes, minlength=num_nodes)
    isolated = np.flatnonzero(degree == 0)
    if len(isolated) == 0:
        return keys
    community = np.empty(num_nodes, dtype=np.int64)
    community[sampler.order] = np.repeat(np.arange(len(sampler.sizes)), sampler.sizes)
    partner = sampler.draw(community[isolated], rng)
    # A node can draw itself; every community has >= 2 members, so redrawing
    # those few terminates.
    while (clash := partner == isolated).any():
        partner[clash] = sampler.draw(community[isolated[clash]], rng)
    lo, hi = np.minimum(isolated, partner), np.maximum(isolated, partner)
    return np.union1d(keys, lo * num_nodes + hi)


def _sample_features(
    y: np.ndarray,
    num_features: int,
    features_per_node: float,
    feature_noise: float,
    rng: np.random.Generator,
) -> sp.csr_matrix:
    """Binary bag-of-words rows biased towards each community's topic columns."""
    num_nodes, num_communities = len(y), int(y.max()) + 1
    topic_size = num_features // num_communities
    topics = rng.permutation(num_features)[: topic_size * num_communities]
    topics = topics.reshape(num_communities, topic_size)

    counts = np.maximum(rng.poisson(features_per_node, size=num_nodes), 1)
    rows = np.repeat(np.arange(num_nodes), counts)
    on_topic = rng.random(len(rows)) >= feature_noise
    cols = rng.integers(0, num_features, size=len(rows))
    pick = rng.integers(0, topic_size, size=len(rows))
    cols[on_topic] = topics[y[rows[on_topic]], pick[on_topic]]

    x = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, cols)),
        shape=(num_nodes, num_features),
    )
    x.data[:] = 1.0  # duplicates were summed
    x.sort_indices()
    return x


def _check_params(
    num_nodes: object,
    num_communities: object,
    avg_degree: object,
    in_out_ratio: object,
    num_features: object,
    features_per_node: object,
    feature_noise: object,
    random_state: object,
) -> None:
    _check_int("num_nodes", num_nodes, 2, None)
    _check_int("num_communities", num_communities, 1, num_nodes // 2)
    _check_float("avg_degree", avg_degree, 0.0, (num_nodes - 1) / 2, low_open=True)
    _check_float("in_out_ratio", in_out_ratio, 1.0, None)
    _check_int("num_features", num_features, num_communities, None)
    _check_float("features_per_node", features_per_node, 0.0, None, low_open=True)
    _check_float("feature_noise", feature_noise, 0.0, 1.0)
    ok_seed = random_state is None or isinstance(random_state, np.random.Generator)
    if not ok_seed and not (_is_int(random_state) and random_state >= 0):
        raise InputError(
            "The 'random_state' parameter of make_communities must be an int >= 0, "
            f"a numpy.random.Generator or None. Got {random_state!r}."
        )


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_int(name: str, value: object, low: int, high: int | None, owner: str = "make_communities") -> None:
    if _is_int(value) and low <= value and (high is None or value <= high):
        return
    expected = f">= {low}" if high is None else f"in [{low}, {high}]"
    raise InputError(f"The '{name}' parameter of {owner} must be an int {expected}. Got {value!r}.")


def _check_float(
    name: str,
    value: object,
    low: float,
    high: float | None,
    *,
    low_open: bool = False,
    owner: str = "make_communities",
) -> None:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        above = value > low if low_open else value >= low
        if np.isfinite(value) and above and (high is None or value <= high):
            return
    if high is None:
        expected = f"{'>' if low_open else '>='} {low:g}"
    else:
        expected = f"in {'(' if low_open else '['}{low:g}, {high:g}]"
    raise InputError(f"The '{name}' parameter of {owner} must be a float {expected}. Got {value!r}.")
