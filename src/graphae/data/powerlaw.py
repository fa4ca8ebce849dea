"""A seeded graph with power-law degrees and planted communities, without features.

Heavy-tailed degrees are where the classic heuristics are strong (preferential attachment
scores ``deg s * deg t``) and where an inner-product autoencoder on identity features is
weak; communities give the graph structure beyond its degrees, as the real networks of
that kind have (the internet's autonomous systems, citation and collaboration graphs).
"""

from __future__ import annotations

import numpy as np

from graphae.data.synthetic import (
    _check_float,
    _check_int,
    _EndpointSampler,
    _link_isolated,
    _sample_edge_keys,
)
from graphae.errors import InputError
from graphae.graph import Graph
from graphae.pairs import pairs_of


def make_powerlaw(
    num_nodes: int = 2000,
    avg_degree: float = 6.0,
    exponent: float = 2.3,
    num_communities: int = 10,
    in_out_ratio: float = 30.0,
    random_state: int | np.random.Generator | None = 0,
    name: str = "powerlaw",
) -> Graph:
    r"""Sample a degree-corrected block model whose expected degrees follow a power law.

    Node ``i`` of ``N`` gets the weight :math:`w_i \propto (i + i_0)^{-1/(\gamma - 1)}`
    (Chung & Lu, 2002: expected degrees with a power-law tail ``P(d) ~ d^{-gamma}``), in a
    random order, and a community uniformly at random. ``round(avg_degree * N / 2)`` distinct
    edges are drawn as in :func:`~graphae.data.make_communities`: a block pair in
    proportion to its pairs (``in_out_ratio`` times more within a community), then each
    endpoint within its community in proportion to ``w``. Nodes left isolated are linked to
    one member of their community. Vectorised: no ``N x N`` matrix is built.

    Args:
        num_nodes: ``N``, at least 2.
        avg_degree: Target mean degree, in ``(0, (N - 1) / 2]``.
        exponent: ``gamma``, the exponent of the degree distribution's tail, ``> 2``
            (2 to 3 for most real networks; smaller means heavier tails).
        num_communities: ``K``, in ``[1, N // 2]``.
        in_out_ratio: How much likelier a pair inside a community is to be linked, ``>= 1``.
            About ``r / (r + K - 1)`` of the edges fall inside communities: 0.77 for the
            defaults, close to :func:`~graphae.data.make_communities`' 0.81.
        random_state: Seed or ``numpy.random.Generator``; global random state is untouched.
        name: Name of the returned graph.

    Returns:
        An undirected :class:`~graphae.graph.Graph` without features (``x=None``), with
        the communities as labels ``y``.

    Raises:
        InputError: If an argument is of the wrong type or out of range.

    Example:
        >>> g = make_powerlaw(num_nodes=1000, random_state=0)
        >>> g.num_nodes, g.x is None
        (1000, True)
    """
    owner = "make_powerlaw"
    _check_int("num_nodes", num_nodes, 2, None, owner)
    _check_int("num_communities", num_communities, 1, num_nodes // 2, owner)
    _check_float("avg_degree", avg_degree, 0.0, (num_nodes - 1) / 2, low_open=True, owner=owner)
    _check_float("in_out_ratio", in_out_ratio, 1.0, None, owner=owner)
    _check_float("exponent", exponent, 2.0, None, low_open=True, owner=owner)
    ok_seed = random_state is None or isinstance(random_state, np.random.Generator)
    if not ok_seed and not (isinstance(random_state, (int, np.integer)) and random_state >= 0):
        raise InputError(
            "The 'random_state' parameter of make_powerlaw must be an int >= 0, "
            f"a numpy.random.Generator or None. Got {random_state!r}."
        )
    rng = np.random.default_rng(random_state)
    y = rng.permutation(np.arange(num_nodes) % num_communities).astype(np.int64)
    # i_0 = 1 makes the largest expected degree about N^(1/(gamma-1)) times the smallest.
    weights = (np.arange(num_nodes) + 1.0) ** (-1.0 / (exponent - 1.0))
    theta = rng.permutation(weights)
    sampler = _EndpointSampler(y, theta, num_communities)
    keys = _sample_edge_keys(sampler, round(avg_degree * num_nodes / 2), in_out_ratio, rng)
    keys = _link_isolated(keys, sampler, num_nodes, rng)
    return Graph.from_edge_index(pairs_of(keys, num_nodes), num_nodes, y=y, name=name)
