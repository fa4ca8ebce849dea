"""The sampled loss of a large graph, scored in chunks of edges: memory of one chunk, not all.

A sampled-loss step scores every training edge and as many negatives: on 10M nodes /
100M edges that is 170M pairs, whose indices, logits and sampling buffers take several
GiB beside the graph. :func:`chunked_sampled_loss` scores the edges ``batch_size`` at a
time (negatives drawn per chunk) and computes each chunk's gradient at once, keeping
only the running sums: the gradient of ``z`` (``[N, d]``) and of the decoder's
parameters. Its value and gradient are those of the whole batch's loss (up to the draw
of the negatives), so an epoch is still one optimizer step on all the edges.

Why not mini-batches with sampled neighbourhoods (PyG's ``LinkNeighborLoader``)? The
encoder of a GAE costs ``O(nnz)`` for all ``N`` nodes at once: on 1M nodes / 10M edges its
forward takes 0.6 s on 2 CPU threads (``benchmarks/scale.py --profile``, 2026-11-26), about
70 ns per training edge. A mini-batch of edges must encode its endpoints' two-hop
neighbourhoods: with PyG's fan-out of 10 per hop that is about 4 x (1 + 10 + 100) = 444
node rows per edge (two endpoints, and one negative pair), hundreds of times the work per
edge, paid again at every one of an epoch's many steps. Chunking keeps the full-batch
cost and the full-batch result; what it bounds is the memory of the loss (10M nodes /
100M edges train in 14 GiB on the CPU, BENCHMARKS.md "Scale").
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from graphae.errors import ParameterError
from graphae.losses import negative_sampling_loss
from graphae.nn.decoders import Decoder
from graphae.sampling import NegativeSampler

# batch_size="auto" scores the edges in chunks once a step has more than this many
# training edges (the 1M-node / 10M-edge graph of the scale benchmark has 8.5M).
AUTO_CHUNK_MIN_EDGES = 1 << 23
# Edges per chunk under "auto": at least 4M (fewer calls), and at least N so that the
# dense [N, d] gradient each chunk adds to the running sum stays a small part of its cost.
AUTO_CHUNK_EDGES = 1 << 22


def resolve_batch_size(batch_size: int | str | None, num_edges: int, num_nodes: int) -> int | None:
    """Edges per chunk of the sampled loss (``None``: the whole batch at once).

    ``"auto"`` chunks batches of more than ``AUTO_CHUNK_MIN_EDGES`` edges, in chunks of
    ``max(AUTO_CHUNK_EDGES, num_nodes)`` edges; an int is the chunk size; ``None`` never
    chunks. A chunk as large as the batch is no chunk.

    Example:
        >>> resolve_batch_size("auto", 10_556, 2708), resolve_batch_size("auto", 85_000_000, 10**7)
        (None, 10000000)
        >>> resolve_batch_size(4096, 10_556, 2708)
        4096
    """
    if batch_size is None:
        return None
    if batch_size == "auto":
        if num_edges <= AUTO_CHUNK_MIN_EDGES:
            return None
        batch_size = max(AUTO_CHUNK_EDGES, num_nodes)
    size = int(batch_size)
    return size if size < num_edges else None


class _ChunkedLoss(torch.autograd.Function):
    """The loss summed over chunks, its gradient computed chunk by chunk during forward.

    Inputs after the three plain arguments are ``z`` and the decoder's parameters; backward
    returns the gradients summed in forward, scaled by the incoming gradient. With
    ``analytic`` (a decoder with a closed-form gradient, :meth:`~graphae.nn.Decoder.pair_loss_grad`,
    such as the inner product) each chunk adds its gradient of ``z`` into one buffer, with
    no autograd graph.
    """

    @staticmethod
    def forward(ctx, chunk_loss, num_chunks, analytic, z, *params):  # type: ignore[override]
        z_leaf = z.detach()
        total = torch.zeros((), dtype=z.dtype, device=z.device)
        if analytic is not None:
            grad = torch.zeros_like(z_leaf)
            for i in range(num_chunks):
                total += analytic(z_leaf, grad, i)
            ctx.sums = [grad, *(torch.zeros_like(p) for p in params)]
            return total
        z_leaf.requires_grad_()
        inputs = [z_leaf, *params]
        sums: list[torch.Tensor | None] = [None] * len(inputs)
        with torch.enable_grad():
            for i in range(num_chunks):
                part = chunk_loss(z_leaf, i)
                grads = torch.autograd.grad(part, inputs, allow_unused=True)
                for k, g in enumerate(grads):
                    if g is not None:
                        sums[k] = g if sums[k] is None else sums[k].add_(g)
                total += part.detach()
        ctx.sums = [torch.zeros_like(t) if s is None else s for s, t in zip(sums, inputs, strict=True)]
        return total

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        sums, ctx.sums = ctx.sums, None
        return (None, None, None, *(s * grad for s in sums))


def decode(
    decoder: Decoder, z: torch.Tensor, pairs: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    """Logits of ``pairs``; a decoder that draws its dropout (``takes_generator``) gets ``generator``."""
    return decoder(z, pairs, generator) if getattr(decoder, "takes_generator", False) else decoder(z, pairs)


def sampled_loss(
    decoder: Decoder,
    z: torch.Tensor,
    pos: torch.Tensor,
    sampler: NegativeSampler,
    chunk_size: int | None,
    generator: torch.Generator | None = None,
    on_chunk: Callable[[int], None] | None = None,
    num_negatives: int = 1,
) -> torch.Tensor:
    """The sampled loss of the edges ``pos``: the training objectives' one entry point.

    :func:`~graphae.losses.negative_sampling_loss` of ``pos`` against ``num_negatives``
    fresh non-edges per edge, scored at once, or by :func:`chunked_sampled_loss` when
    ``chunk_size`` (see :func:`resolve_batch_size`) is smaller than the number of edges.
    """
    if chunk_size is not None and chunk_size < pos.shape[1]:
        return chunked_sampled_loss(decoder, z, pos, sampler, chunk_size, generator, on_chunk, num_negatives)
    neg = sampler.sample(pos.shape[1] * num_negatives, generator)
    # One decoder call for both sets: half the gathers (and scatters in backward).
    logits = decode(decoder, z, torch.cat([pos, neg], dim=1), generator).float()  # bfloat16 under autocast
    pos_logits, neg_logits = logits.split([pos.shape[1], neg.shape[1]])
    return negative_sampling_loss(pos_logits, neg_logits)


def chunked_sampled_loss(
    decoder: Decoder,
    z: torch.Tensor,
    pos: torch.Tensor,
    sampler: NegativeSampler,
    batch_size: int,
    generator: torch.Generator | None = None,
    on_chunk: Callable[[int], None] | None = None,
    num_negatives: int = 1,
) -> torch.Tensor:
    r"""The sampled loss of all ``pos`` edges, scored ``batch_size`` edges at a time.

    .. math::
        L = \frac1E \sum_{c} \Big( \sum_{(i,j) \in E^+_c} \mathrm{softplus}(-x_{ij})
          + \sum_{(i,j) \in E^-_c} \mathrm{softplus}(x_{ij}) \Big)

    with ``|E^-_c| = |E^+_c|`` fresh negatives per chunk ``c``: the value of
    :func:`~graphae.losses.negative_sampling_loss` on all the edges. Memory beyond the
    model: one chunk's pairs, plus the running gradient of ``z`` and the decoder.

    Args:
        decoder: Scores pairs of ``z``.
        z: Codes ``[N, d]`` (with their autograd graph).
        pos: Edges ``[2, E]``.
        sampler: Draws the negatives.
        batch_size: Edges per chunk.
        generator: Randomness of the negatives (and of the decoder's dropout).
        on_chunk: Called with the number of edges of each chunk scored (progress).
        num_negatives: Negatives per edge ``m``.

    Returns:
        A scalar whose backward gives ``z`` and the decoder their gradients.

    Raises:
        ParameterError: If ``batch_size`` is below 1.
    """
    if batch_size < 1:
        raise ParameterError(f"The 'batch_size' parameter must be an int >= 1 or None. Got {batch_size}.")
    num_edges = pos.shape[1]
    starts = range(0, num_edges, batch_size)

    def chunk_loss(z_leaf: torch.Tensor, i: int) -> torch.Tensor:
        edges = pos[:, starts[i] : starts[i] + batch_size]
        k = edges.shape[1]
        pairs = torch.cat([edges, sampler.sample(k * num_negatives, generator)], dim=1)
        logits = decode(decoder, z_leaf, pairs, generator)
        pos_logits, neg_logits = logits.split([k, k * num_negatives])
        value = F.softplus(-pos_logits).sum() / num_edges + F.softplus(neg_logits).sum() / (
            num_edges * num_negatives
        )
        if on_chunk is not None:
            on_chunk(k)
        return value

    def analytic(z_leaf: torch.Tensor, grad: torch.Tensor, i: int) -> torch.Tensor:
        edges = pos[:, starts[i] : starts[i] + batch_size]
        k = edges.shape[1]
        neg = sampler.sample(k * num_negatives, generator)
        value = decoder.pair_loss_grad(z_leaf, edges, True, 1.0 / num_edges, grad)
        value = value + decoder.pair_loss_grad(z_leaf, neg, False, 1.0 / (num_edges * num_negatives), grad)
        if on_chunk is not None:
            on_chunk(k)
        return value

    params = [p for p in decoder.parameters() if p.requires_grad]
    closed_form = decoder.has_pair_loss_grad and not params  # the decoder's own gradient, else autograd
    return _ChunkedLoss.apply(chunk_loss, len(starts), analytic if closed_form else None, z, *params)
