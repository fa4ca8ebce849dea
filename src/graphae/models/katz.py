r"""The Katz index, a link-prediction heuristic that counts damped walks (see :mod:`graphae.models.heuristics`)."""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from graphae.models.heuristics import _BLOCK, HeuristicLinkPredictor, Structure
from graphae.params import Integer, Param, PositiveFloat

__all__ = ["Katz", "spectral_radius"]


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

    params: ClassVar[dict[str, Any]] = {
        "beta": Param(0.005, PositiveFloat()),
        "max_length": Param(5, Integer(1)),
    }

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
