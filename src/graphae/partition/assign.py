"""Which part owns each node (METIS or a hash), and the cut statistics of an assignment."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from graphae.errors import InputError, MissingDependencyError

METHODS = ("metis", "hash")

# splitmix64's multiplier: spreads consecutive ids over the parts.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def hash_owners(num_nodes: int, parts: int) -> np.ndarray:
    """Owner of node ``i``: a 64-bit multiplicative hash of ``i``, modulo ``parts``.

    Needs no dependency and O(N) memory, for graphs METIS cannot hold. Returns ``[N]`` int32.
    """
    ids = np.arange(num_nodes, dtype=np.uint64)
    with np.errstate(over="ignore"):
        mixed = (ids * _GOLDEN) >> np.uint64(32)
    return (mixed % np.uint64(parts)).astype(np.int32)


def metis_owners(adj: sp.csr_matrix, parts: int, seed: int = 0) -> np.ndarray:
    """Owner of each node from METIS's k-way partition of the symmetric ``adj``, ``[N]`` int32.

    Raises:
        MissingDependencyError: If pymetis is not installed.
    """
    try:
        import pymetis
    except ImportError:
        raise MissingDependencyError(
            "--method metis needs pymetis: pip install 'graphae[partition]' (or use --method hash)"
        ) from None
    if parts == 1:
        return np.zeros(adj.shape[0], dtype=np.int32)
    options = pymetis.Options(seed=int(seed))
    graph = pymetis.CSRAdjacency(adj.indptr.astype(np.int64), adj.indices.astype(np.int64))
    _, membership = pymetis.part_graph(parts, graph, options=options)
    return np.asarray(membership, dtype=np.int32)


def owners(adj: sp.csr_matrix, parts: int, method: str, seed: int = 0) -> np.ndarray:
    """The owner of every node by ``method`` (``metis`` or ``hash``)."""
    if method not in METHODS:
        raise InputError(f"The 'method' parameter must be one of {', '.join(METHODS)}. Got {method!r}.")
    if not isinstance(parts, int | np.integer) or isinstance(parts, bool) or parts < 1:
        raise InputError(f"The 'parts' parameter must be an integer >= 1. Got {parts!r}.")
    if parts > adj.shape[0]:
        raise InputError(
            f"The 'parts' parameter must be at most the number of nodes ({adj.shape[0]}). Got {parts}."
        )
    if method == "hash":
        return hash_owners(adj.shape[0], int(parts))
    return metis_owners(adj, int(parts), seed)


def halo_of(adj: sp.csr_matrix, owner: np.ndarray, part: int) -> np.ndarray:
    """Sorted ids of the nodes owned elsewhere that neighbour a node of ``part``."""
    rows = np.flatnonzero(owner == part)
    sub = adj[rows]
    neighbours = np.unique(sub.indices)
    return neighbours[owner[neighbours] != part]


def cut_statistics(adj: sp.csr_matrix, owner: np.ndarray, parts: int) -> dict[str, Any]:
    """Edge cut, halo fraction and balance of an assignment of a symmetric graph.

    - ``edge_cut``: undirected edges whose ends have different owners; ``edge_cut_fraction``
      that count over all undirected edges.
    - ``halo_nodes``: per part, the nodes owned elsewhere that neighbour one of its nodes;
      ``halo_fraction``: their sum over the number of nodes (the rows fetched per layer,
      relative to the graph).
    - ``balance``: the largest part's node count over the mean; ``edge_balance`` the same
      for the adjacency entries of each part's rows.
    """
    nodes = np.bincount(owner, minlength=parts)
    entries = np.zeros(parts, dtype=np.int64)
    halos, crossing = [], 0
    for p in range(parts):  # one part's rows at a time: O(E / P) beside the graph
        neighbours = adj[np.flatnonzero(owner == p)].indices
        entries[p] = neighbours.size
        remote = owner[neighbours] != p
        crossing += int(np.count_nonzero(remote))
        halos.append(int(np.unique(neighbours[remote]).size))
    cut, edges = crossing // 2, adj.nnz // 2  # each cut edge is seen from both ends
    n = max(1, adj.shape[0])
    return {
        "edge_cut": cut,
        "edge_cut_fraction": cut / edges if edges else 0.0,
        "halo_nodes": halos,
        "halo_fraction": sum(halos) / n,
        "part_nodes": nodes.tolist(),
        "part_entries": entries.tolist(),
        "balance": float(nodes.max() / nodes.mean()),
        "edge_balance": float(entries.max() / entries.mean()) if entries.sum() else 1.0,
    }
