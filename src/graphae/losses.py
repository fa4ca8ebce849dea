"""Reconstruction and regularisation losses of graph autoencoders, on logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from graphae.errors import InputError
from graphae.nn.functional import pair_logits

# Elements per block of the all-pairs sum: bounds its working memory (1 MiB in float32, cache-sized).
DEFAULT_BLOCK_ELEMENTS = 1 << 18


# Sigmoids of |x| lie in [0.5, 1]: a product of 32 of them stays far from underflow,
# so one log serves 32 elements.
_LOG_GROUP = 32


def softplus_sum(x: torch.Tensor) -> torch.Tensor:
    r"""``sum(softplus(x))`` of a contiguous tensor, faster than ``F.softplus(x).sum()``.

    Uses :math:`\mathrm{softplus}(x) = \mathrm{relu}(x) - \log \sigma(|x|)` with
    :math:`\sum \mathrm{relu}(x) = (\sum x + \sum |x|) / 2`, and takes the logarithm of
    products of 32 sigmoids (each in ``[0.5, 1]``) instead of 32 logarithms: sigmoid
    and products vectorise well on CPUs, ``log1p``/``softplus`` do not. Overwrites
    nothing; precision is that of the element-wise formula (relative ``1e-6`` in float32).
    """
    a = x.abs()
    relu_sum = (x.sum() + a.sum()) / 2
    q = torch.sigmoid(a, out=a).view(-1)
    whole = q.numel() // _LOG_GROUP * _LOG_GROUP
    log_sum = q[:whole].view(-1, _LOG_GROUP).prod(dim=1).log().sum() + q[whole:].log().sum()
    return relu_sum - log_sum


class _AllPairsSoftplus(torch.autograd.Function):
    """``sum_{i,j} softplus(z_i . z_j)`` over all ordered pairs, in row blocks.

    The logit matrix is symmetric, so only blocks on and above the diagonal are
    computed. The gradient ``2 sum_j sigmoid(z_i . z_j) z_j`` is accumulated in the
    same pass, so backward stores nothing of size ``N x N`` and recomputes nothing.
    """

    @staticmethod
    def forward(ctx, z: torch.Tensor, block_elements: int) -> torch.Tensor:  # type: ignore[override]
        n = z.shape[0]
        want_grad = ctx.needs_input_grad[0]
        grad = torch.zeros_like(z) if want_grad else None
        rows = max(1, min(n, block_elements // max(n, 1)))
        total = torch.zeros((), dtype=torch.float64, device=z.device)
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            size = stop - start
            zi, zr = z[start:stop], z[start:]
            logits = zi @ zr.t()
            # Every pair of the block counts twice (i, j and j, i) except those of the
            # square diagonal block, which holds both orders already.
            square = F.softplus(logits[:, :size]).sum()
            total += 2 * softplus_sum(logits).double() - square.double()
            if grad is not None:
                sig = torch.sigmoid(logits, out=logits)
                grad[start:stop].addmm_(sig, zr, alpha=2)
                grad[stop:].addmm_(sig[:, size:].t(), zi, alpha=2)
        ctx.save_for_backward(grad)
        return total.to(z.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (grad,) = ctx.saved_tensors
        return grad_out * grad, None


def all_pairs_softplus(z: torch.Tensor, block_elements: int = DEFAULT_BLOCK_ELEMENTS) -> torch.Tensor:
    r"""The sum over all ordered pairs (self pairs included) of ``softplus(z_i . z_j)``.

    Memory is ``O(N d + block_elements)``: no ``N x N`` tensor is built.

    Shapes:
        z: ``[N, d]``; returns a scalar.
    """
    return _AllPairsSoftplus.apply(z, block_elements)


def reconstruction_weights(num_nodes: int, num_edges: int, directed: bool = False) -> tuple[float, float]:
    """``pos_weight`` and ``norm`` of the reference exact loss.

    With ``P`` nonzeros of the loop-free training adjacency (``2 * num_edges`` when
    undirected, ``num_edges`` when directed) and ``N^2`` pairs:
    ``pos_weight = (N^2 - P) / P`` and ``norm = N^2 / (2 (N^2 - P))``, as in tkipf/gae.

    Raises:
        InputError: If the graph has no edges.
    """
    if num_edges < 1:
        raise InputError("The exact reconstruction loss needs at least one training edge. Got 0.")
    pairs = float(num_nodes) ** 2
    positives = (1.0 if directed else 2.0) * num_edges
    return (pairs - positives) / positives, pairs / (2.0 * (pairs - positives))


def exact_reconstruction_loss(
    z: torch.Tensor,
    pos_edge_index: torch.Tensor,
    block_elements: int = DEFAULT_BLOCK_ELEMENTS,
    *,
    directed: bool = False,
) -> torch.Tensor:
    r"""The paper's weighted cross-entropy over all ``N^2`` pairs, for inner-product logits.

    .. math::
        L = \frac{\text{norm}}{N^2} \sum_{i,j} \Big[ w\, Y_{ij} \,\mathrm{softplus}(-x_{ij})
            + (1 - Y_{ij})\, \mathrm{softplus}(x_{ij}) \Big],
        \quad x_{ij} = z_i \cdot z_j,\ Y = A + I,

    with ``w = pos_weight`` and ``norm`` from :func:`reconstruction_weights`. It
    equals ``norm * mean(weighted_cross_entropy_with_logits(...))`` of tkipf/gae,
    but is computed as an all-pairs term plus an ``O(E + N)`` correction on the
    positives, never materialising an ``N x N`` tensor. On a directed graph ``A`` is
    the (asymmetric) adjacency; the logits stay symmetric.

    Args:
        z: Latent codes.
        pos_edge_index: Training edges, each once (undirected: one orientation).
        block_elements: Working-memory bound of the all-pairs term, in elements.
        directed: Whether ``pos_edge_index`` holds directed edges.

    Shapes:
        z: ``[N, d]``; pos_edge_index: ``[2, E]``; returns a scalar.
    """
    n = z.shape[0]
    pos_weight, norm = reconstruction_weights(n, pos_edge_index.shape[1], directed)
    edge_logits = pair_logits(z, pos_edge_index)
    self_logits = (z * z).sum(-1)
    # For a positive, w*softplus(-x) replaces the softplus(x) counted in the all-pairs sum.
    edge_term = pos_weight * F.softplus(-edge_logits) - F.softplus(edge_logits)
    self_term = pos_weight * F.softplus(-self_logits) - F.softplus(self_logits)
    # An undirected edge stands for its two ordered pairs. (The all-pairs term comes first:
    # the order in which autograd accumulates gradients into z keeps results bit-stable.)
    total = (
        all_pairs_softplus(z, block_elements)
        + (edge_term.sum() if directed else 2 * edge_term.sum())
        + self_term.sum()
    )
    return total * (norm / float(n) ** 2)


def negative_sampling_loss(pos_logits: torch.Tensor, neg_logits: torch.Tensor) -> torch.Tensor:
    r"""Binary cross-entropy on the logits of positive pairs and sampled negative pairs.

    .. math::
        L = \mathrm{mean}_{(i,j) \in E^+} \mathrm{softplus}(-x_{ij})
          + \mathrm{mean}_{(i,j) \in E^-} \mathrm{softplus}(x_{ij})

    The objective of PyTorch Geometric's ``GAE.recon_loss``, but on logits, without
    its ``log(sigmoid + eps)``.

    Shapes:
        pos_logits: ``[E]``; neg_logits: ``[K]``; returns a scalar.
    """
    return F.softplus(-pos_logits).mean() + F.softplus(neg_logits).mean()


def kl_divergence(mu: torch.Tensor, logstd: torch.Tensor) -> torch.Tensor:
    r"""Mean over nodes of ``KL(N(mu, sigma^2) || N(0, I))``.

    .. math::
        \mathrm{KL} = -\tfrac12 \frac1N \sum_i \sum_k
            \left(1 + 2\log\sigma_{ik} - \mu_{ik}^2 - \sigma_{ik}^2\right)

    The VGAE objective adds this divided by ``N`` again, as tkipf/gae does
    (``0.5 / N * mean(...)``); see :func:`vgae_kl_term`.

    Shapes:
        mu, logstd: ``[N, d]``; returns a scalar.
    """
    return -0.5 * torch.mean(torch.sum(1 + 2 * logstd - mu**2 - torch.exp(2 * logstd), dim=1))


def vgae_kl_term(mu: torch.Tensor, logstd: torch.Tensor) -> torch.Tensor:
    """The KL regulariser as weighted in the reference: ``kl_divergence / N``."""
    return kl_divergence(mu, logstd) / mu.shape[0]
