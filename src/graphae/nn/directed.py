r"""Asymmetric decoders for directed graphs (Salha et al., *Gravity-Inspired Graph
Autoencoders for Directed Link Prediction*, CIKM 2019).

- :class:`GravityDecoder`: the last latent dimension is a mass :math:`\tilde m`, the
  others a position; ``i -> j`` is likely when ``j`` is heavy and close to ``i``.
- :class:`SourceTargetDecoder`: the first half of a code is a node's source role, the
  second half its target role.

Both have the paper's exact loss over all ``N^2`` ordered pairs, computed in row blocks
with the gradient accumulated in the same pass, so no ``N x N`` tensor is built.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from graphae.losses import DEFAULT_BLOCK_ELEMENTS, reconstruction_weights, softplus_sum
from graphae.nn.decoders import Decoder

# kernel(inputs, start, stop, grads) -> sum of softplus(logits) of rows [start, stop);
# adds the gradient of that sum into ``grads`` (one per input) when they are given.
BlockKernel = Callable[[Sequence[torch.Tensor], int, int, "list[torch.Tensor] | None"], torch.Tensor]


class _AllPairsSoftplus(torch.autograd.Function):
    """``sum_{i,j} softplus(x_ij)`` over every ordered pair, one block of rows at a time."""

    @staticmethod
    def forward(ctx, kernel: BlockKernel, block_elements: int, *inputs: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        n = inputs[0].shape[0]
        grads = [torch.zeros_like(t) for t in inputs] if any(ctx.needs_input_grad[2:]) else None
        rows = max(1, min(n, block_elements // max(n, 1)))
        total = torch.zeros((), dtype=torch.float64, device=inputs[0].device)
        for start in range(0, n, rows):
            total += kernel(inputs, start, min(n, start + rows), grads).double()
        ctx.save_for_backward(*(grads or ()))
        return total.to(inputs[0].dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        return (None, None, *(grad_out * g for g in ctx.saved_tensors))


def asymmetric_exact_loss(
    decoder: Decoder, z: torch.Tensor, pos_edge_index: torch.Tensor, directed: bool, all_pairs: torch.Tensor
) -> torch.Tensor:
    r"""The weighted cross-entropy of tkipf/gae over all ``N^2`` ordered pairs, labels ``A + I``.

    .. math::
        L = \frac{\text{norm}}{N^2} \Big[ \sum_{i,j} \mathrm{softplus}(x_{ij})
            + \sum_{(i,j) \in A + I} \big( w\,\mathrm{softplus}(-x_{ij}) - \mathrm{softplus}(x_{ij}) \big) \Big]

    with ``w = pos_weight`` and ``norm`` of :func:`~graphae.losses.reconstruction_weights`:
    the loss of the gravity paper's code (``OptimizerAE``). ``all_pairs`` is the first sum;
    the positives (each edge, both orientations when undirected, and the self pairs) are
    scored by ``decoder``.

    Shapes:
        z: ``[N, d]``; pos_edge_index: ``[2, E]``; returns a scalar.
    """
    n = z.shape[0]
    pos_weight, norm = reconstruction_weights(n, pos_edge_index.shape[1], directed)
    loops = torch.arange(n, device=z.device).repeat(2, 1)
    pos = pos_edge_index if directed else torch.cat([pos_edge_index, pos_edge_index.flip(0)], dim=1)
    logits = decoder(z, torch.cat([pos, loops], dim=1))
    correction = (pos_weight * F.softplus(-logits) - F.softplus(logits)).sum()
    return (all_pairs + correction) * (norm / float(n) ** 2)


class GravityDecoder(Decoder):
    r"""Gravity-inspired logits: the mass of the target minus ``lambda`` log the squared distance.

    .. math::
        x_{ij} = \tilde m_j - \lambda \log\big(\lVert z_i - z_j \rVert_2^2 + \epsilon\big),
        \qquad p(i \to j) = \sigma(x_{ij})

    where a code ``[N, d + 1]`` holds the position ``z_i`` (its first ``d`` dimensions,
    optionally scaled to unit norm) and the mass ``\tilde m_i`` (its last dimension). As
    the ``GravityInspiredDecoder`` of deezer/gravity_graph_autoencoders (section 3 of the paper).

    Args:
        lambda_: Weight ``lambda`` of the distance term (paper: 1; 0.05 for biased negatives).
        epsilon: Added to squared distances before the logarithm (paper's code: 0.01).
        normalize: Scale positions to unit L2 norm first (paper's code: off, except the
            gravity AE on biased negatives).

    Shapes:
        z: ``[N, d + 1]``, ``d >= 1``.
    """

    symmetric = False
    has_exact_loss = True
    block_elements = DEFAULT_BLOCK_ELEMENTS  # working memory of the all-pairs sum, in elements

    def __init__(self, lambda_: float = 1.0, epsilon: float = 0.01, normalize: bool = False) -> None:
        super().__init__()
        self.lambda_, self.epsilon, self.normalize = float(lambda_), float(epsilon), bool(normalize)

    def split(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(positions [N, d], masses [N])`` of codes ``[N, d + 1]``."""
        if z.shape[-1] < 2:
            raise ValueError(
                f"GravityDecoder needs codes of at least 2 dimensions (position, mass). Got {z.shape[-1]}."
            )
        # Contiguous copies: scores must not depend on the strides of the codes given
        # (a VGAE's means are a strided view), as matrix products round by layout.
        pos = z[:, :-1].contiguous()
        return (F.normalize(pos, dim=1) if self.normalize else pos), z[:, -1].contiguous()

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        pos, mass = self.split(z)
        diff = pos.index_select(0, pairs[0]) - pos.index_select(0, pairs[1])
        return mass.index_select(0, pairs[1]) - self.lambda_ * torch.log((diff * diff).sum(-1) + self.epsilon)

    def score_rows(self, z: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        pos, mass = self.split(z)
        return torch.add(mass, torch.log(self._sq_dist(pos, pos.index_select(0, rows))), alpha=-self.lambda_)

    def _sq_dist(self, pos: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """``||rows_a - pos_b||^2 + epsilon``, ``[r, N]``, from inner products.

        Distances are clamped at 0 first: rounding may leave them slightly negative.
        """
        d2 = torch.addmm((pos * pos).sum(1)[None, :], rows, pos.t(), alpha=-2)
        return d2.add_((rows * rows).sum(1)[:, None]).clamp_(min=0).add_(self.epsilon)

    def _kernel(
        self, inputs: Sequence[torch.Tensor], start: int, stop: int, grads: list[torch.Tensor] | None
    ):
        pos, mass = inputs
        block = pos[start:stop]
        d2 = self._sq_dist(pos, block)
        logits = torch.add(mass[None, :], torch.log(d2), alpha=-self.lambda_)
        total = softplus_sum(logits)
        if grads is not None:
            # d softplus(x_ij) = sigmoid(x_ij) dx_ij; dx_ij/dm_j = 1 and
            # dx_ij/dz_i = -dx_ij/dz_j = -2 lambda (z_i - z_j) / (||z_i - z_j||^2 + eps).
            sig = torch.sigmoid(logits, out=logits)
            grads[1] += sig.sum(0)
            w = sig.div_(d2)
            scale = 2 * self.lambda_
            grads[0][start:stop] += (w @ pos - w.sum(1)[:, None] * block).mul_(scale)
            grads[0] += (w.t() @ block - w.sum(0)[:, None] * pos).mul_(scale)
        return total

    def exact_loss(self, z: torch.Tensor, pos_edge_index: torch.Tensor, directed: bool) -> torch.Tensor:
        pos, mass = self.split(z)
        all_pairs = _AllPairsSoftplus.apply(self._kernel, self.block_elements, pos, mass)
        return asymmetric_exact_loss(self, z, pos_edge_index, directed, all_pairs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(lambda_={self.lambda_}, epsilon={self.epsilon}, normalize={self.normalize})"


class SourceTargetDecoder(Decoder):
    r"""Source/target logits: the source half of ``i``'s code against the target half of ``j``'s.

    .. math::
        x_{ij} = z_i^{(s)} \cdot z_j^{(t)}, \qquad z_i = [z_i^{(s)}, z_i^{(t)}]

    As the ``SourceTargetInnerProductDecoder`` of deezer/gravity_graph_autoencoders
    (section 2.6 of the paper).

    Shapes:
        z: ``[N, 2k]``, an even width.
    """

    symmetric = False
    has_exact_loss = True
    block_elements = DEFAULT_BLOCK_ELEMENTS  # working memory of the all-pairs sum, in elements

    @staticmethod
    def split(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(source half, target half)`` of codes ``[N, 2k]``, each ``[N, k]``."""
        width = z.shape[-1]
        if width % 2 or width == 0:
            raise ValueError(f"SourceTargetDecoder needs codes of an even width. Got {width}.")
        # Contiguous, as GravityDecoder.split.
        return z[:, : width // 2].contiguous(), z[:, width // 2 :].contiguous()

    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        source, target = self.split(z)
        return (source.index_select(0, pairs[0]) * target.index_select(0, pairs[1])).sum(-1)

    def score_rows(self, z: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        source, target = self.split(z)
        return source.index_select(0, rows) @ target.t()

    @staticmethod
    def _kernel(inputs: Sequence[torch.Tensor], start: int, stop: int, grads: list[torch.Tensor] | None):
        source, target = inputs
        block = source[start:stop]
        logits = block @ target.t()
        total = softplus_sum(logits)
        if grads is not None:
            sig = torch.sigmoid(logits, out=logits)
            grads[0][start:stop] += sig @ target
            grads[1] += sig.t() @ block
        return total

    def exact_loss(self, z: torch.Tensor, pos_edge_index: torch.Tensor, directed: bool) -> torch.Tensor:
        source, target = self.split(z)
        all_pairs = _AllPairsSoftplus.apply(self._kernel, self.block_elements, source, target)
        return asymmetric_exact_loss(self, z, pos_edge_index, directed, all_pairs)
