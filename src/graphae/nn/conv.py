"""Graph convolution (Kipf & Welling, 2017) over a precomputed normalized adjacency."""

from __future__ import annotations

import torch
from torch import nn

from graphae.nn.functional import SparseOperator


class GCNConv(nn.Module):
    r"""One graph convolution without bias, as in the GAE reference code.

    .. math::
        H' = \hat A \, X W

    ``X`` may be dense, a :class:`SparseOperator`, or ``None`` for identity features, in which case
    ``X W = W`` is used directly and no ``N x N`` identity is built.

    Args:
        in_channels: Input feature width (``N`` for identity features).
        out_channels: Output width.
        generator: Optional ``torch.Generator`` for the Glorot initialisation.

    Shapes:
        x: ``[N, in_channels]`` or ``None``; adj: ``[N, N]`` sparse;
        returns ``[N, out_channels]``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels))
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Glorot-uniform weights, range ``sqrt(6 / (in + out))``."""
        nn.init.xavier_uniform_(self.weight, generator=generator)

    def transform(self, x: torch.Tensor | SparseOperator | None) -> torch.Tensor:
        """The feature transform ``X W`` before propagation."""
        return self.weight if x is None else x @ self.weight

    def forward(
        self,
        x: torch.Tensor | SparseOperator | None,
        adj: torch.Tensor | SparseOperator,
    ) -> torch.Tensor:
        if isinstance(adj, SparseOperator):
            ax = adj.propagated(x)  # A X computed once per fit: see SparseOperator.share_features
            if ax is not None:
                return ax @ self.weight
        return adj @ self.transform(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {self.out_channels})"
