"""Hard ranking negatives by HeaRT (Li et al., NeurIPS 2023, arXiv 2306.10453).

Random negatives ``(s, t')`` rarely share a neighbour with ``s``: a model that only learns
"nodes close in the graph link" ranks them low and looks better than it is. HeaRT gives each
test edge ``(s, t)`` its own ``K`` negatives that share one endpoint with it and are close
to that endpoint by the usual heuristics:

- ``K - K // 2`` negatives ``(s, t')`` (the tail corrupted) and ``K // 2`` negatives
  ``(s', t)`` (the head corrupted); on a directed graph each keeps the edge's direction;
- for the kept endpoint ``u`` every other node ``v`` is scored by heuristics computed on the
  *training* graph (seen undirected): resource allocation (HeaRT's default; common
  neighbours on request), personalized PageRank from ``u`` (teleport probability
  ``alpha = 0.15``) and, when there are node features, their cosine similarity;
- each heuristic turns its scores into ranks, HeaRT's way (:func:`heart_ranks`): nodes
  with a positive score ranked from the largest, nodes scored 0 after them, nodes scored
  below 0 (or filtered) last; the ranks are aggregated by their minimum, so a node near the
  top of any one heuristic is near the top. Nodes tied on the aggregated rank are many on a
  sparse graph (every node with no resource-allocation score ties at its worst rank + 1);
  HeaRT takes any of them (``torch.topk``), graphae prefers one with some positive score,
  then draws;
- scores are compared to 12 decimals (float noise does not split a tie);
- the best ``K/2`` nodes by aggregated rank are taken (ties go first to a node with some
  positive score, then by a seeded draw), never ``u`` itself, the other endpoint, or a
  node that would make an edge of the *whole* graph (a non-edge is an ordered pair on a
  directed graph).

Validation edges get their own negatives the same way
(:func:`heart_validation_pairs`), so that a model is selected on the
metric it is tested on, as HeaRT does.

HeaRT's code (github.com/Juanhui28/HeaRT, ``heart_negatives/``) computes PPR by Andersen's
push with a small tolerance; here it is power iteration from the needed sources only, a
sparse matrix times a dense ``[N, B]`` block, to the same tolerance. Memory stays bounded by
working on blocks of test edges (``[B, N]`` dense scores at a time).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from graphae.errors import InputError
from graphae.graph import Graph
from graphae.split import LinkSplit
from graphae.split_official import MetricPairs

__all__ = [
    "HEART_HEURISTICS",
    "HEART_NUM_NEGATIVES",
    "heart_negatives",
    "heart_ranks",
    "personalized_pagerank",
]

HEART_NUM_NEGATIVES = 500  # HeaRT's --num-samples default, used for Cora, Citeseer and Pubmed
HEART_HEURISTICS = ("ra", "ppr", "feature")  # HeaRT's default --cn-metric RA, PPR, cosine
_HEURISTICS = ("cn", "ra", "ppr", "feature")
_DECIMALS = 12  # heuristic scores are compared to this many decimals
_BLOCK_CELLS = 1 << 22  # dense score cells per heuristic and block (32 MiB of float64)


def heart_negatives(
    train_adj: sp.spmatrix,
    full_adj: sp.spmatrix,
    pos: np.ndarray,
    num_negatives: int = HEART_NUM_NEGATIVES,
    *,
    x: np.ndarray | sp.spmatrix | None = None,
    heuristics: Sequence[str] = HEART_HEURISTICS,
    alpha: float = 0.15,
    tol: float = 1e-7,
    random_state: int | np.random.Generator | None = 0,
    node_ids: np.ndarray | None = None,
    role: str = "test",
) -> tuple[np.ndarray, np.ndarray]:
    """HeaRT's ``num_negatives`` hard negatives of each test edge (see the module docstring).

    Args:
        train_adj: Adjacency ``[N, N]`` of the training graph (the heuristics read it,
            ignoring direction).
        full_adj: Adjacency ``[N, N]`` of the whole graph: no negative is one of its edges
            (``full_adj[a, b] != 0`` for the pair ``(a, b)``).
        pos: Test edges ``[2, P]`` (sources, targets).
        num_negatives: ``K >= 2`` negatives per test edge.
        x: Node features ``[N, F]`` (dense or sparse) for the cosine heuristic, or ``None``.
        heuristics: Any of ``"cn"``, ``"ra"``, ``"ppr"``, ``"feature"`` (ignored without ``x``).
        alpha: Teleport probability of the personalized PageRank.
        tol: The PageRank iteration stops when no column changes by more than ``tol`` (L1).
        random_state: Seed of the tie-breaking draws.
        node_ids: The user's node ids, to name a test edge in an error (indices if ``None``).
        role: What ``pos`` are, in an error message: ``"test"`` or ``"validation"`` edges.

    Returns:
        ``(heads, tails)``, each ``[P, K]``: negative ``j`` of test edge ``p`` is the pair
        ``(heads[p, j], tails[p, j])``. Its first ``K - K // 2`` columns are ``(s, t')``,
        the others ``(s', t)``.

    Raises:
        InputError: On ``K < 2``, bad shapes or indices, an unknown heuristic, or a test
            edge with fewer candidate nodes than the negatives it needs.
    """
    full = sp.csr_matrix(full_adj)
    n = full.shape[0]
    pos = _check(train_adj, full, pos, num_negatives, heuristics, node_ids, role)
    rng = np.random.default_rng(random_state)
    adj = sp.csr_matrix(train_adj, dtype=np.float64)
    adj = ((adj + adj.T) != 0).astype(np.float64)  # the undirected view of the training graph
    adj.setdiag(0)
    adj.eliminate_zeros()
    used = [h for h in _HEURISTICS if h in heuristics and (h != "feature" or x is not None)]
    ctx = _Context(adj, x, used, alpha, tol)
    k_tail = num_negatives - num_negatives // 2
    k_head = num_negatives // 2
    heads = np.empty((pos.shape[1], num_negatives), dtype=np.int64)
    tails = np.empty_like(heads)
    full_t = full.T.tocsr()
    block = max(1, _BLOCK_CELLS // max(n, 1))
    for lo in range(0, pos.shape[1], block):
        src, dst = pos[0, lo : lo + block], pos[1, lo : lo + block]
        tail_side = _choose(ctx, src, dst, full, k_tail, rng)  # (s, t'): t' not an out-neighbour of s
        head_side = _choose(ctx, dst, src, full_t, k_head, rng)  # (s', t): s' not an in-neighbour of t
        heads[lo : lo + block, :k_tail] = src[:, None]
        tails[lo : lo + block, :k_tail] = tail_side
        heads[lo : lo + block, k_tail:] = head_side
        tails[lo : lo + block, k_tail:] = dst[:, None]
    return heads, tails


def heart_ranks(scores: np.ndarray) -> np.ndarray:
    """HeaRT's rank of every entry of each row of ``scores`` ``[B, N]``, 1 the best.

    HeaRT's rule, kept exactly: an entry ``v > 0`` ranks ``1 + #{w in its row : v <= w < m}``
    with ``m`` the row's largest score (without ties, the usual rank from the largest; ties
    share the worse rank, except that the entries equal to ``m`` count as one); with ``R``
    the worst rank of a positive entry, a 0 ranks ``R + 1`` and a negative ``R + 2``.
    """
    scores = np.asarray(scores, dtype=np.float64)
    b, n = scores.shape
    order = np.argsort(-scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)
    last = np.full((b, n), n - 1, dtype=np.int64)  # last position of each run of equal scores
    ends = ordered[:, :-1] != ordered[:, 1:]
    last[:, :-1] = np.where(ends, np.arange(n - 1), n - 1)
    last = np.minimum.accumulate(last[:, ::-1], axis=1)[:, ::-1]
    at_top = (ordered == ordered[:, :1]).sum(axis=1, keepdims=True)  # entries equal to the maximum
    ranks = np.empty((b, n), dtype=np.int64)
    np.put_along_axis(ranks, order, last - at_top + 2, axis=1)
    positive = (scores > 0).sum(axis=1, keepdims=True)
    worst = np.where(positive > 0, positive - at_top + 1, 0)
    ranks = np.where(scores == 0, worst + 1, ranks)
    return np.where(scores < 0, worst + 2, ranks)


def personalized_pagerank(
    adj: sp.spmatrix, sources: np.ndarray, *, alpha: float = 0.15, tol: float = 1e-7, max_iter: int = 1000
) -> np.ndarray:
    """Personalized PageRank vectors ``[len(sources), N]`` of the random walk on ``adj``.

    Row ``i`` solves ``p = alpha e_s + (1 - alpha) p D^-1 A`` for ``s = sources[i]``: the
    walk restarts at ``s`` with probability ``alpha``; a node without neighbours keeps what
    it holds (as Andersen's push does). Power iteration on a dense ``[N, B]`` block.
    """
    adj = sp.csr_matrix(adj, dtype=np.float64)
    deg = np.asarray(adj.sum(axis=1)).ravel()
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    walk_t = (sp.diags(inv) @ adj).T.tocsr()  # column-stochastic where there are neighbours
    start = np.zeros((adj.shape[0], len(sources)))
    start[np.asarray(sources), np.arange(len(sources))] = alpha
    p = start.copy()
    for _ in range(max_iter):
        nxt = start + (1 - alpha) * (walk_t @ p)
        change = np.abs(nxt - p).sum(axis=0).max(initial=0.0)
        p = nxt
        if change <= tol:
            break
    return p.T


class _Context:
    """The training graph's pieces every block of sources reuses."""

    def __init__(self, adj: sp.csr_matrix, x, used: list[str], alpha: float, tol: float) -> None:
        self.adj, self.used, self.alpha, self.tol = adj, used, alpha, tol
        deg = np.asarray(adj.sum(axis=0)).ravel()
        inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
        self.ra_right = (adj @ sp.diags(inv)).tocsr()  # sum_k A_uk A_kv / d_k = (A (A D^-1))_uv
        self.unit = None
        if "feature" in used:
            feats = sp.csr_matrix(x, dtype=np.float64) if sp.issparse(x) else np.asarray(x, dtype=np.float64)
            norms = np.sqrt(
                np.asarray(feats.multiply(feats).sum(axis=1)).ravel()
                if sp.issparse(feats)
                else (feats * feats).sum(axis=1)
            )
            scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
            self.unit = sp.diags(scale) @ feats if sp.issparse(feats) else feats * scale[:, None]

    def scores(self, rows: np.ndarray) -> list[np.ndarray]:
        """Each heuristic's dense scores ``[B, N]`` of ``rows`` against every node."""
        out = []
        for name in self.used:
            if name == "cn":
                out.append((self.adj[rows] @ self.adj).toarray())
            elif name == "ra":
                out.append((self.adj[rows] @ self.ra_right).toarray())
            elif name == "ppr":
                out.append(personalized_pagerank(self.adj, rows, alpha=self.alpha, tol=self.tol))
            else:
                sim = self.unit[rows] @ self.unit.T
                out.append(sim.toarray() if sp.issparse(sim) else np.asarray(sim))
        return out


def _choose(
    ctx: _Context,
    keep: np.ndarray,
    other: np.ndarray,
    forbidden: sp.csr_matrix,
    k: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The ``k`` best partners ``v`` of each node ``keep[i]`` (``[B, k]``), HeaRT's way.

    ``v`` is never ``keep[i]``, ``other[i]`` or a column of row ``keep[i]`` of ``forbidden``.
    """
    b, n = len(keep), ctx.adj.shape[0]
    if k == 0:
        return np.empty((b, 0), dtype=np.int64)
    masked = forbidden[keep].toarray() != 0
    masked[np.arange(b), keep] = True
    masked[np.arange(b), other] = True
    all_zero = np.ones((b, n), dtype=bool)
    best = np.full((b, n), np.iinfo(np.int64).max)
    for scores in ctx.scores(keep):
        scores = np.round(scores, _DECIMALS)  # ties of exact arithmetic stay ties
        scores[masked] = -1.0  # HeaRT's filter: ranked last by every heuristic
        all_zero &= scores == 0
        best = np.minimum(best, heart_ranks(scores))
    if not ctx.used:
        best[:] = 0
    # One float key: aggregated rank, then a node with some positive score, then a seeded draw.
    key = 2.0 * best + all_zero + 0.5 * rng.random((b, n))
    key[masked] = np.inf
    top = np.argpartition(key, k - 1, axis=1)[:, :k]
    return np.take_along_axis(top, np.argsort(np.take_along_axis(key, top, axis=1), axis=1), axis=1)


def _check(train_adj, full: sp.csr_matrix, pos, num_negatives, heuristics, node_ids, role) -> np.ndarray:
    n = full.shape[0]
    if (
        isinstance(num_negatives, bool)
        or not isinstance(num_negatives, (int, np.integer))
        or num_negatives < 2
    ):
        raise InputError(
            f"HeaRT negatives need K >= 2 per test edge (half share its source, half its target). "
            f"Got ranking_negatives (--ranking-negatives) = {num_negatives!r}."
        )
    if full.shape != (n, n) or getattr(train_adj, "shape", None) != (n, n):
        raise InputError(
            f"heart_negatives needs square adjacency matrices of one size. "
            f"Got {getattr(train_adj, 'shape', None)} and {full.shape}."
        )
    unknown = sorted(set(heuristics) - set(_HEURISTICS))
    if unknown or isinstance(heuristics, str):
        raise InputError(
            f"The 'heuristics' parameter of heart_negatives takes names from {_HEURISTICS}. Got {heuristics!r}."
        )
    arr = np.asarray(pos)
    if (
        arr.ndim != 2
        or arr.shape[0] != 2
        or arr.dtype.kind not in "iu"
        or (arr.size and (arr.min() < 0 or arr.max() >= n))
    ):
        raise InputError(f"The 'pos' parameter of heart_negatives must be [2, P] node indices in [0, {n}).")
    arr = arr.astype(np.int64)
    # Candidates of a kept endpoint u: every node but u, the other endpoint and u's neighbours.
    out_deg = np.diff(full.indptr)
    in_deg = np.bincount(full.indices, minlength=n)
    for side, deg, need in (
        (0, out_deg, num_negatives - num_negatives // 2),
        (1, in_deg, num_negatives // 2),
    ):
        u, v = arr[side], arr[1 - side]
        room = n - 1 - (u != v) - deg[u] + _is_edge(full, u, v, side) + _is_edge(full, u, u, 0)
        if len(room) and room.min() < need:
            i = int(np.argmin(room))
            end = "source" if side == 0 else "target"
            a, b = (arr[0, i], arr[1, i]) if node_ids is None else (node_ids[arr[0, i]], node_ids[arr[1, i]])
            raise InputError(
                f"The graph has too few nodes for {num_negatives} HeaRT negatives per {role} edge: {role} edge "
                f"({a}, {b}) has {int(room[i])} candidate nodes sharing its {end}, "
                f"{need} needed. Lower ranking_negatives (--ranking-negatives)."
            )
    return arr


def _is_edge(full: sp.csr_matrix, u: np.ndarray, v: np.ndarray, side: int) -> np.ndarray:
    """Whether each ``(u, v)`` (``side`` 0) or ``(v, u)`` (``side`` 1) is an edge of ``full``, as 0/1."""
    rows, cols = (u, v) if side == 0 else (v, u)
    return (np.asarray(full[rows, cols]).ravel() != 0).astype(np.int64)


def heart_validation_pairs(graph: Graph, split: LinkSplit, *, seed: int, num_negatives: int) -> MetricPairs:
    """The validation edges of ``split``, each with its own HeaRT negatives, to select on MRR.

    HeaRT scores validation as it scores test (``heart_valid_samples``): each validation edge
    ``(s, t)`` against ``num_negatives`` hard pairs ``(s, t')`` and ``(s', t)``, ranked by the
    same heuristics on ``split.train``, so a model chosen on validation MRR is chosen on the
    metric it is tested on. Unlike the test negatives, they avoid only the training and
    validation edges (HeaRT avoids the training edges): nothing about the test edges reaches
    model selection. The draws depend on ``seed`` alone, a stream apart from the test's.

    Raises:
        InputError: If a validation edge has too few candidate nodes (``num_negatives`` too large).
    """
    pos = split.val_pos
    known = sp.csr_matrix((np.ones(pos.shape[1]), (pos[0], pos[1])), shape=split.train.adj.shape)
    if not graph.directed:
        known = known + known.T
    known = (sp.csr_matrix(split.train.adj) + known).tocsr()
    heads, tails = heart_negatives(
        split.train.adj,
        known,
        pos,
        num_negatives,
        x=graph.x,
        random_state=np.random.default_rng([seed, 0x5EED, 0xBA1]),
        node_ids=graph.node_ids,
        role="validation",
    )
    return MetricPairs(pos, np.stack([heads.ravel(), tails.ravel()]), "mrr")
