"""Decoders: they turn latent codes into edge logits, and own every score of a node pair.

Every score graphae computes (training losses, validation and test scores,
``predict_proba``, ``recommend``) goes through a model's decoder. A decoder says what it
supports:

- ``symmetric``: whether ``score(i, j) == score(j, i)`` (an inner product is; a decoder
  for directed graphs is not);
- ``has_exact_loss``: whether it can compute the paper's exact loss over all ``N^2``
  pairs (:meth:`Decoder.exact_loss`). Asking for the exact loss with a decoder that has
  none is an error at fit time.
- ``inner_product``: whether the logit is exactly ``z_i . z_j`` (what lets ``recommend``
  search an inner-product index for candidates; see :mod:`graphae.topk`);
- ``has_pair_loss_grad``: whether it computes the cross-entropy of a set of pairs together
  with its gradient of ``z`` in closed form (:meth:`Decoder.pair_loss_grad`), which the
  chunked sampled loss (:mod:`graphae.training.chunks`) uses instead of autograd. A
  subclass that overrides ``forward`` without it loses the flag, so the two never disagree.

Decoders return logits, not probabilities, so that losses use stable log-sigmoid forms.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from graphae.losses import exact_reconstruction_loss
from graphae.nn.functional import pair_logits

# Pairs scored at once by the generic row scorer: bounds its working memory.
_ROW_CHUNK = 1 << 20
# Pairs per piece of the inner product's closed-form gradient (as graphae.nn.functional's chunks).
_PIECE = 1 << 16


class Decoder(nn.Module):
    """Base class of decoders: logits of node pairs from latent codes.

    Subclasses implement :meth:`forward`; they may override :meth:`score_rows` with a
    faster dense form, and set ``has_exact_loss`` and implement :meth:`exact_loss`.
    """

    symmetric: bool = False
    has_exact_loss: bool = False
    inner_product: bool = False
    has_pair_loss_grad: bool = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__ and "pair_loss_grad" not in cls.__dict__:
            cls.has_pair_loss_grad = False  # a new forward: the inherited gradient is not its own

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Logits of the pairs ``pairs[0] -> pairs[1]``.

        Shapes:
            z: ``[N, d]``; pairs: ``[2, k]`` int64; returns ``[k]``.
        """
        raise NotImplementedError

    def score_rows(self, z: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Logits of every pair ``(i, j)`` for ``i`` in ``rows`` and all ``j``.

        Shapes:
            z: ``[N, d]``; rows: ``[r]`` int64; returns ``[r, N]``.
        """
        n = z.shape[0]
        out = torch.empty(len(rows), n, dtype=z.dtype, device=z.device)
        per_chunk = max(1, _ROW_CHUNK // max(n, 1))
        cols = torch.arange(n, device=z.device)
        for start in range(0, len(rows), per_chunk):
            block = rows[start : start + per_chunk]
            src = block.repeat_interleave(n)
            dst = cols.repeat(len(block))
            out[start : start + len(block)] = self(z, torch.stack([src, dst])).view(len(block), n)
        return out

    def exact_loss(self, z: torch.Tensor, pos_edge_index: torch.Tensor, directed: bool) -> torch.Tensor:
        """The weighted cross-entropy over all ``N^2`` pairs (see :mod:`graphae.losses`).

        Raises:
            NotImplementedError: If the decoder has no exact loss (``has_exact_loss`` is False).
        """
        raise NotImplementedError(f"{type(self).__name__} has no exact all-pairs loss.")

    def pair_loss_grad(
        self, z: torch.Tensor, pairs: torch.Tensor, positive: bool, weight: float, grad: torch.Tensor
    ) -> torch.Tensor:
        r"""``weight * sum softplus(-x)`` (edges, ``positive``) or ``weight * sum softplus(x)`` (non-edges)
        over the logits ``x`` of ``pairs``; adds its gradient of ``z`` into ``grad``, without autograd.

        Shapes:
            z, grad: ``[N, d]``; pairs: ``[2, k]`` int64; returns a scalar.

        Raises:
            NotImplementedError: If the decoder has none (``has_pair_loss_grad`` is False).
        """
        raise NotImplementedError(f"{type(self).__name__} has no closed-form gradient of its pair loss.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class InnerProductDecoder(Decoder):
    r"""Edge logits ``z_i . z_j``; the edge probability is ``sigmoid(z_i . z_j)``.

    The decoder of the GAE and VGAE (Kipf & Welling, 2016). It is symmetric and has an
    exact all-pairs loss computed blockwise, without any ``N x N`` tensor.
    """

    symmetric = True
    has_exact_loss = True
    inner_product = True
    has_pair_loss_grad = True

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        return pair_logits(z, pairs)

    def score_rows(self, z: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        return z.index_select(0, rows) @ z.t()

    def forward_all(self, z: torch.Tensor) -> torch.Tensor:
        """Dense logits of all pairs, ``z @ z.T`` (``[N, N]``: small graphs only)."""
        return z @ z.t()

    def exact_loss(self, z: torch.Tensor, pos_edge_index: torch.Tensor, directed: bool) -> torch.Tensor:
        return exact_reconstruction_loss(z, pos_edge_index, directed=directed)

    def pair_loss_grad(
        self, z: torch.Tensor, pairs: torch.Tensor, positive: bool, weight: float, grad: torch.Tensor
    ) -> torch.Tensor:
        """See :meth:`Decoder.pair_loss_grad`: with ``x = z_i . z_j``, d/dx softplus(-x) = sigmoid(x) - 1
        and d/dx softplus(x) = sigmoid(x), and dx/dz_i = z_j.

        Each pair's two rows are gathered once, where autograd gathers them again in backward
        and fills a fresh ``[N, d]`` buffer; pairs are taken ``_PIECE`` at a time, so that their
        ``[piece, d]`` gathers stay in cache.
        """
        total = torch.zeros((), dtype=z.dtype, device=z.device)
        for start in range(0, pairs.shape[1], _PIECE):
            src, dst = pairs[0, start : start + _PIECE], pairs[1, start : start + _PIECE]
            zs, zd = z.index_select(0, src), z.index_select(0, dst)
            x = (zs * zd).sum(-1)
            total += F.softplus(-x if positive else x).sum()
            g = torch.sigmoid(x)
            if positive:
                g -= 1.0
            g = g.mul_(weight).unsqueeze(1)
            grad.index_add_(0, src, g * zd)
            grad.index_add_(0, dst, g * zs)
        return total * weight
