"""Inner-product decoder."""

from __future__ import annotations

import torch
from torch import nn

from graphae.nn.functional import pair_logits


class InnerProductDecoder(nn.Module):
    r"""Edge logits ``z_i . z_j``; the edge probability is ``sigmoid(z_i . z_j)``.

    Returns logits, not probabilities, so losses can use stable log-sigmoid forms.
    """

    def forward(self, z: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Logits of the given pairs.

        Shapes:
            z: ``[N, d]``; edge_index: ``[2, k]``; returns ``[k]``.
        """
        return pair_logits(z, edge_index)

    def forward_all(self, z: torch.Tensor) -> torch.Tensor:
        """Dense logits of all pairs, ``z @ z.T`` (``[N, N]``: small graphs only)."""
        return z @ z.t()
