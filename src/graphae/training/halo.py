r"""Rows of a node-sharded tensor fetched from their owners, and their gradients sent back.

Every rank owns the rows of its nodes (features, hidden layers, embeddings). A rank that
needs rows owned elsewhere (its halo, the far end of a negative pair) *requests* them once
(:meth:`ExchangePlan.request`: which rows of each owner, in owner order), then *fetches*
them as often as it needs (:func:`fetch`), forward and backward:

.. math::
    \text{forward: } H_{\text{recv}} = \big[\,H^{(s)}[\text{rows}_{s \to r}]\,\big]_{s}, \qquad
    \text{backward: } \nabla H^{(s)} \mathrel{+}= \text{scatter}(\nabla H_{\text{recv}})

Both directions are one ``torch.distributed.all_to_all_single`` with uneven split sizes:
gloo (torch 2.13) supports it, while its list form ``all_to_all`` needs tensors of equal
shape; nccl supports both. :class:`Traffic` counts the bytes each rank sends to the others.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.distributed as dist


@dataclass
class Traffic:
    """Bytes this rank sent to the other ranks (its own rows, which stay, are not counted)."""

    exchange_bytes: int = 0
    reduce_bytes: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return self.exchange_bytes + self.reduce_bytes

    def reset(self) -> None:
        self.exchange_bytes = self.reduce_bytes = 0


def _group() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def all_to_all(
    out: torch.Tensor, inp: torch.Tensor, out_counts: list[int], in_counts: list[int], traffic: Traffic | None
) -> None:
    """``all_to_all_single`` with uneven splits (a copy when alone), counting the bytes sent away."""
    rank, size = _group()
    if traffic is not None:
        row = math.prod(inp.shape[1:]) * inp.element_size()
        traffic.exchange_bytes += (sum(in_counts) - in_counts[rank]) * row
    if size == 1:
        out.copy_(inp)
        return
    dist.all_to_all_single(out, inp.contiguous(), out_counts, in_counts)


@dataclass(frozen=True)
class ExchangePlan:
    """Who sends which rows to whom; built by :meth:`request` on every rank at once.

    Attributes:
        send_rows: ``[S]`` int64, this rank's rows that the others asked for, grouped by
            the asking rank in rank order.
        send_counts: Rows sent to each rank, ``[P]``.
        recv_counts: Rows received from each rank, ``[P]`` (the request's counts).
    """

    send_rows: torch.Tensor
    send_counts: list[int]
    recv_counts: list[int]

    @classmethod
    def request(cls, rows: torch.Tensor, counts: list[int], traffic: Traffic | None = None) -> ExchangePlan:
        """Ask rank ``s`` for its rows ``rows[sum(counts[:s]) : sum(counts[:s + 1])]``, every rank at once.

        A collective: every rank calls it, with its own request.
        """
        _, size = _group()
        if len(counts) != size:
            raise RuntimeError(f"ExchangePlan.request: {len(counts)} counts for {size} ranks.")
        asked = torch.empty(size, dtype=torch.int64, device=rows.device)
        ones = [1] * size
        all_to_all(asked, torch.tensor(counts, dtype=torch.int64, device=rows.device), ones, ones, traffic)
        send_counts = asked.tolist()
        send_rows = torch.empty(sum(send_counts), dtype=torch.int64, device=rows.device)
        all_to_all(send_rows, rows.to(torch.int64), send_counts, list(counts), traffic)
        return cls(send_rows, send_counts, list(counts))


class _Fetch(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h: torch.Tensor, plan: ExchangePlan, traffic: Traffic | None) -> torch.Tensor:  # type: ignore[override]
        ctx.plan, ctx.traffic, ctx.rows = plan, traffic, h.shape[0]
        out = h.new_empty((sum(plan.recv_counts), *h.shape[1:]))
        all_to_all(out, h.index_select(0, plan.send_rows), plan.recv_counts, plan.send_counts, traffic)
        return out

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        out = grad.new_zeros((ctx.rows, *grad.shape[1:]))
        return send_back(grad, ctx.plan, out, ctx.traffic), None, None


def fetch(h: torch.Tensor, plan: ExchangePlan, traffic: Traffic | None = None) -> torch.Tensor:
    """The rows ``plan`` requested, from their owners' ``h``; the gradient flows back to the owners.

    A collective: every rank calls it with its own ``h`` (``[n_own, C]``) and the plan of
    one :meth:`ExchangePlan.request`.

    Shapes:
        h: ``[n_own, C]``; returns ``[sum(plan.recv_counts), C]``.
    """
    return _Fetch.apply(h, plan, traffic)


def send_back(
    grad: torch.Tensor, plan: ExchangePlan, into: torch.Tensor, traffic: Traffic | None = None
) -> torch.Tensor:
    """Add ``grad``, the gradient of the rows :func:`fetch` got with ``plan``, to their owners'
    rows of ``into`` (``[n_own, C]``, in place), and return ``into``: :func:`fetch`'s backward.

    A collective: every rank calls it with a gradient for the rows of its own request.
    """
    back = grad.new_empty((sum(plan.send_counts), *grad.shape[1:]))
    all_to_all(back, grad.contiguous(), plan.send_counts, plan.recv_counts, traffic)
    return into.index_add_(0, plan.send_rows, back)


def all_reduce_gradients(params: list[torch.nn.Parameter], traffic: Traffic | None = None) -> None:
    """Sum each parameter's gradient over the ranks (one flat ``all_reduce``); nothing when alone."""
    _, size = _group()
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    if size == 1 or not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    if traffic is not None:  # a ring all-reduce sends 2 (P - 1) / P of the buffer
        traffic.reduce_bytes += int(2 * (size - 1) / size * flat.numel() * flat.element_size())
    dist.all_reduce(flat)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n
