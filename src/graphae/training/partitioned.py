r"""Training a GAE on a partitioned graph: each rank holds its part, never the whole graph.

Rank ``r`` of ``P`` holds the nodes it owns (``n_r`` of ``N``), their training rows, their
features and its halo (neighbours owned elsewhere). A GCN layer

.. math::
    H' = \hat A\, H W, \qquad \hat A_{ij} = \frac{[j \in N(i) \cup \{i\}]}{\sqrt{d_i d_j}},
    \quad d_i = 1 + \deg(i)

computes ``H W`` for its own rows, fetches the halo's rows of ``H W`` from their owners
(:func:`graphae.training.halo.fetch`, one ``all_to_all_single``; the gradient goes back the
same way) and multiplies by its ``[n_r, n_r + h_r]`` block of ``Â``, normalised with the
global degrees stored in the part. The sampled loss

.. math::
    L = \frac{1}{E}\sum_{(i,j) \in E^+} \mathrm{softplus}(-z_i^\top z_j)
      + \frac{1}{K}\sum_{(i,j) \in E^-} \mathrm{softplus}(z_i^\top z_j)

is a sum over ranks: rank ``r`` scores the training edges ``(i, j)``, ``i < j``, whose ``i``
it owns, and one negative ``(i, v)`` per edge with ``v`` uniform over all ``N`` nodes (an
owner drawn by part size, then a row there), ``z_v`` fetched from its owner. Its share
divides by the global counts, so the shares add up to the one-process loss and the
gradients of the shared weights are summed (:func:`graphae.training.halo.all_reduce_gradients`).
Featureless graphs learn one embedding row per node, sharded with its owner (never reduced).
"""

from __future__ import annotations

import math
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from graphae.nn.functional import spmm
from graphae.training.distributed import OWNED_ROWS_STREAM, fit_seeds, stream_seed
from graphae.training.distributed import all_gather as all_gather  # re-exported (the CLI's)
from graphae.training.halo import ExchangePlan, Traffic, all_reduce_gradients, fetch, send_back
from graphae.training.partitioned_eval import PairScorer
from graphae.training.partitioned_eval import gather_at_rank0 as gather_at_rank0
from graphae.training.row_blocks import RowBlocks

if TYPE_CHECKING:
    from graphae.training.partitioned_checkpoint import PartitionedCheckpointer


@dataclass(frozen=True)
class LocalPart:
    """One rank's part of a partitioned graph (see :mod:`graphae.partition.files` for the arrays)."""

    rank: int
    part_nodes: tuple[int, ...]
    num_nodes: int
    nodes: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    halo: np.ndarray
    features: np.ndarray | None
    val: np.ndarray
    test: np.ndarray

    @property
    def parts(self) -> int:
        return len(self.part_nodes)


class PartTensors:
    """The tensors of a :class:`LocalPart`: the local block of ``Â``, the halo plan, the pairs.

    Attributes:
        adj_own: ``[n, n]`` block of ``Â`` (own rows and columns: symmetric), as CSR row blocks.
        adj_halo: ``[n, h]`` block (own rows, halo columns); ``adj_halo_t`` its transpose.
        halo_plan: The :class:`ExchangePlan` of the halo rows.
        pos: ``[2, e]`` the training edges this rank scores (own row, column: own then halo).
        num_pos: ``E``, the training edges of all ranks.
    """

    def __init__(self, part: LocalPart, device: torch.device, traffic: Traffic) -> None:
        self.part, self.device, self.traffic = part, device, traffic
        n, halo = part.nodes.size, part.halo
        degree = np.diff(part.indptr)
        cols = _local_columns(part.nodes, halo[0], part.indices)
        shape = (n, n + halo.shape[1])
        a = sp.csr_matrix((np.ones(cols.size, np.float32), cols, part.indptr), shape=shape)
        a = (a + sp.eye(*shape, dtype=np.float32, format="csr")).tocsr()
        dinv = (1.0 / np.sqrt(np.concatenate([degree, halo[3]]) + 1.0)).astype(np.float32)
        a.data *= dinv[np.repeat(np.arange(n), np.diff(a.indptr))] * dinv[a.indices]
        # Own columns: a symmetric [n, n] block, its own transpose; halo columns: [n, h] and its transpose.
        self.adj_own = RowBlocks(a[:, :n].tocsr(), device)
        halo_block = a[:, n:].tocsr()
        del a
        self.adj_halo, self.adj_halo_t = (
            RowBlocks(halo_block, device),
            RowBlocks(halo_block.T.tocsr(), device),
        )
        del halo_block
        counts = np.bincount(halo[1], minlength=part.parts).tolist()
        self.halo_plan = ExchangePlan.request(torch.from_numpy(halo[2]).to(device), counts, traffic)
        rows = np.repeat(np.arange(n), degree)
        mine = part.nodes[rows] < part.indices
        kind = np.int32 if shape[1] < 2**31 else np.int64
        self.pos = torch.from_numpy(np.stack([rows[mine], cols[mine]]).astype(kind)).to(device)
        del rows, cols, mine
        # Built: the rows, the halo and the held-out pairs are not kept (fit_partitioned's scorers
        # take the pairs from the part it was given).
        self.part = part = replace(
            part,
            indptr=part.indptr[:1],
            indices=part.indices[:0],
            halo=halo[:, :0],
            val=part.val[:, :0],
            test=part.test[:, :0],
        )
        self.num_pos = int(_all_sum(torch.tensor(float(self.pos.shape[1]))).item())
        self.x = None if part.features is None else torch.from_numpy(part.features).to(device)
        self.offsets = np.concatenate([[0], np.cumsum(part.part_nodes)])

    def propagate(self, h: torch.Tensor) -> torch.Tensor:
        """``Â h`` for the own rows, ``[n, C]``: the own block times ``h``, plus the halo block
        times the halo's rows of ``h``, fetched from their owners (every rank at once)."""
        out = spmm(self.adj_own, h)
        far = fetch(h, self.halo_plan, self.traffic)
        return out + spmm(self.adj_halo, far, self.adj_halo_t) if far.shape[0] else out

    def pair_plan(self, owner: np.ndarray, row: np.ndarray) -> tuple[ExchangePlan, torch.Tensor]:
        """The plan fetching rows ``row`` of ranks ``owner``, and the permutation back to their order."""
        order = np.argsort(owner, kind="stable")
        counts = np.bincount(owner, minlength=self.part.parts).tolist()
        plan = ExchangePlan.request(torch.from_numpy(row[order]).to(self.device), counts, self.traffic)
        return plan, torch.from_numpy(np.argsort(order)).to(self.device)

    def sample_negatives(self, generator: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """Owner and row of ``count`` nodes drawn uniformly from all ``N``."""
        g = generator.integers(0, self.part.num_nodes, size=count)
        owner = np.searchsorted(self.offsets, g, side="right") - 1
        return owner, g - self.offsets[owner]


class PartitionedGCN(nn.Module):
    """The GAE's two-layer GCN encoder over one rank's part.

    Attributes:
        weight0: ``[F, hidden]`` shared (features), or ``[n, hidden]`` own embedding rows.
        weight1: ``[hidden, latent]`` shared.
    """

    def __init__(self, data: PartTensors, hidden: int, latent: int, seed: int) -> None:
        super().__init__()
        self.data = data
        part = data.part
        init, _ = fit_seeds(seed, part.rank)
        generator = torch.Generator().manual_seed(init or 0)
        if part.features is None:  # rows of an [N, hidden] Glorot matrix, drawn by their owner
            bound = math.sqrt(6.0 / (part.num_nodes + hidden))
            own = torch.Generator().manual_seed(stream_seed(seed, OWNED_ROWS_STREAM, part.rank))
            w0 = (torch.rand(part.nodes.size, hidden, generator=own) * 2 - 1) * bound
        else:
            w0 = nn.init.xavier_uniform_(torch.empty(part.features.shape[1], hidden), generator=generator)
        self.weight0 = nn.Parameter(w0.to(data.device))
        self.weight1 = nn.Parameter(
            nn.init.xavier_uniform_(torch.empty(hidden, latent), generator=generator).to(data.device)
        )

    def shared_parameters(self) -> list[nn.Parameter]:
        """The parameters every rank holds whole (their gradients are summed over ranks)."""
        return [self.weight1] if self.data.x is None else [self.weight0, self.weight1]

    def forward(self) -> torch.Tensor:
        """``z`` of the own nodes, ``[n, latent]``."""
        d = self.data
        h = self.weight0 if d.x is None else d.x @ self.weight0
        h = torch.relu(d.propagate(h))  # (x W0 is not kept meanwhile)
        return d.propagate(h @ self.weight1)


DEFAULT_CHUNK = 1 << 16  # training edges scored at a time: bounds a step's memory


def partitioned_step(
    model: PartitionedGCN,
    generator: np.random.Generator,
    chunk: int = DEFAULT_CHUNK,
    record: dict[str, Any] | None = None,
) -> torch.Tensor:
    """This rank's share of the sampled loss, with its gradients accumulated (the shares add up
    to the one-process loss).

    The encoder runs once; the edges are scored ``chunk`` at a time against ``z`` and the halo's
    rows, each chunk drawing and fetching its negatives and sending their gradients back, every
    rank doing as many chunks as the rank with the most edges. The loss's gradient with respect
    to ``[z, halo]`` is added chunk by chunk into one buffer (no autograd graph per chunk, so no
    chunk allocates a gradient the size of the graph); the halo's part goes to its owners, and
    one backward runs through the encoder (and its halo exchanges). Returns the detached share.
    """
    d = model.data
    z = model()
    n, edges = z.shape[0], d.pos.shape[1]
    share = z.new_zeros((), dtype=torch.float64)
    owners, rows = [], []
    with torch.no_grad():
        ext = torch.cat([z, fetch(z, d.halo_plan, d.traffic)])  # own rows, then the halo's: d.pos's columns
        grad = torch.zeros_like(ext)
        for start in range(0, _all_max(edges, chunk) * chunk, chunk):
            pos = d.pos[:, start : start + chunk].long()
            owner, row = d.sample_negatives(generator, pos.shape[1])
            plan, back = d.pair_plan(owner, row)
            far = fetch(z, plan, d.traffic)[back]  # the negatives' far ends, in pair order
            loss, far_grad = _score_chunk(ext, far, pos, grad, d.num_pos)
            share += loss.double()
            fetched_grad = torch.empty_like(far_grad)
            fetched_grad[back] = far_grad  # back to the fetch's (owner) order
            send_back(fetched_grad, plan, grad[:n], d.traffic)  # to the negatives' owners
            if record is not None:  # kept for the test alone: O(own edges) meanwhile
                owners.append(owner)
                rows.append(row)
        del ext
        own = grad[:n].clone()
        send_back(grad[n:], d.halo_plan, own, d.traffic)  # the halo rows' gradients, to their owners
        del grad
    z.backward(own)
    if record is not None:
        record.update(z=z.detach(), neg_owner=np.concatenate(owners), neg_row=np.concatenate(rows))
    return share


def _score_chunk(
    ext: torch.Tensor, far: torch.Tensor, pos: torch.Tensor, grad: torch.Tensor, total: int
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One chunk's loss and its gradient with respect to ``far``; its gradient with respect to
    ``ext`` is added to ``grad``.

    The pairs are ``(i, j)`` (``pos``, rows of ``ext``) and ``(i, far_k)``; the chunk's loss is
    :math:`\frac{1}{E}\big(\sum \mathrm{softplus}(-l^+) + \sum \mathrm{softplus}(l^-)\big)`,
    whose derivatives are :math:`-\sigma(-l^+)/E` and :math:`\sigma(l^-)/E`.
    """
    zi, zj = ext.index_select(0, pos[0]), ext.index_select(0, pos[1])
    pos_logits, neg_logits = (zi * zj).sum(1), (zi * far).sum(1)
    loss = F.softplus(-pos_logits).sum() + F.softplus(neg_logits).sum()
    g_pos = (torch.sigmoid(-pos_logits) / -total).unsqueeze(1)
    g_neg = (torch.sigmoid(neg_logits) / total).unsqueeze(1)
    grad.index_add_(0, pos[1], g_pos * zi)
    grad.index_add_(0, pos[0], g_pos * zj + g_neg * far)
    return loss / total, g_neg * zi


@dataclass
class PartitionedResult:
    """What a partitioned fit gives each rank (scores are on rank 0, ``None`` elsewhere)."""

    history: list[dict[str, float]] = field(default_factory=list)
    test_auc: float | None = None
    test_ap: float | None = None
    bytes_sent_per_epoch: float = 0.0
    train_seconds: float = 0.0
    peak_rss_bytes: int = 0
    held: dict[str, list[int]] = field(default_factory=dict)
    embedding: np.ndarray | None = None  # ``[n, latent]``: z of the own nodes, in the part's order


def fit_partitioned(
    part: LocalPart,
    *,
    hidden: int = 32,
    latent: int = 16,
    lr: float = 0.01,
    epochs: int = 200,
    seed: int = 0,
    eval_every: int = 1,
    chunk: int = DEFAULT_CHUNK,
    device: torch.device | str = "cpu",
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    checkpoint: PartitionedCheckpointer | None = None,
) -> PartitionedResult:
    """Train the GAE on ``part`` with every rank of the group at once (each calls this with its part).

    With ``checkpoint``, the fit starts from its last complete checkpoint, if any, and saves one
    every ``checkpoint.every`` epochs (:mod:`graphae.training.partitioned_checkpoint`).

    Returns:
        The history (loss, validation AUC/AP), the test scores, this rank's bytes sent per
        epoch, its peak RSS, the shapes of what it held (to check nothing is global) and the
        final ``z`` of its own nodes.
    """
    traffic = Traffic()
    data = PartTensors(part, torch.device(device), traffic)
    val, test = PairScorer(data, part.val), PairScorer(data, part.test)
    del part  # its rows are in data now
    model = PartitionedGCN(data, hidden, latent, seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    generator = np.random.default_rng(fit_seeds(seed, data.part.rank)[1])
    result = PartitionedResult(held=held_shapes(data, model))
    sent, start = 0, 0  # sent: training steps' bytes alone (validation's fetches are not counted)
    if checkpoint is not None:  # resumes from its last complete checkpoint, if it has one
        start, sent = checkpoint.resume(model, optimizer, generator, result)
    for epoch in range(start + 1, epochs + 1):
        before, tick = traffic.total, time.perf_counter()
        model.train()
        optimizer.zero_grad(set_to_none=True)
        loss = partitioned_step(model, generator, chunk)
        all_reduce_gradients(model.shared_parameters(), traffic)
        optimizer.step()
        record = {"epoch": epoch, "loss": float(_all_sum(loss.detach()).item())}
        sent += traffic.total - before
        result.train_seconds += time.perf_counter() - tick
        if epoch % eval_every == 0 or epoch == epochs:
            scores = val.score(_embed(model))
            if scores is not None:
                record.update(val_auc=scores[0], val_ap=scores[1])
        result.history.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if checkpoint is not None and checkpoint.due(epoch, epochs):
            checkpoint.save(epoch, model, optimizer, generator, result, sent)
    result.bytes_sent_per_epoch = sent / epochs
    z = _embed(model)
    del model, optimizer, data, val  # the test scores need z alone: the graph is freed before rank 0 ranks
    result.embedding = z.cpu().numpy()
    scores = test.score(z)
    if scores is not None:
        result.test_auc, result.test_ap = scores
    result.peak_rss_bytes = peak_rss()
    return result


@torch.no_grad()
def _embed(model: PartitionedGCN) -> torch.Tensor:
    """``z`` of the own nodes in evaluation mode (with every rank at once)."""
    model.eval()
    return model()


def held_shapes(data: PartTensors, model: PartitionedGCN) -> dict[str, list[int]]:
    """The shapes of the graph-sized tensors a rank holds (its block of ``Â``, nnz included)."""
    return {
        "adj": [data.adj_own.shape[0], sum(data.adj_halo.shape), data.adj_own.nnz + data.adj_halo.nnz],
        "x": [] if data.x is None else list(data.x.shape),
        "weight0": list(model.weight0.shape),
        "pos": list(data.pos.shape),
    }


def peak_rss() -> int:
    """This process's peak resident set size in bytes."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def _local_columns(nodes: np.ndarray, halo_ids: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Columns of the neighbours ``indices`` in ``[own nodes, halo]`` order."""
    out = np.searchsorted(nodes, indices).astype(np.int64, copy=False)  # an own node's row
    far = nodes.take(out, mode="clip") != indices
    order = np.argsort(halo_ids, kind="stable")
    out[far] = nodes.size + order[np.searchsorted(halo_ids[order], indices[far])]
    return out


def _all_sum(value: torch.Tensor) -> torch.Tensor:
    """The sum over the ranks of a scalar, in float64 (on the device the backend moves: nccl's CUDA)."""
    if dist.is_available() and dist.is_initialized():
        device = torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else "cpu"
        value = value.detach().to(device, torch.float64, copy=True)
        dist.all_reduce(value)
    return value.cpu()


def _all_max(edges: int, chunk: int) -> int:
    """The most chunks of ``chunk`` edges any rank has (at least 1)."""
    count = torch.tensor([max(1, -(-edges // chunk))], dtype=torch.int64)
    if dist.is_available() and dist.is_initialized():
        if dist.get_backend() == "nccl":
            count = count.cuda()
        dist.all_reduce(count, op=dist.ReduceOp.MAX)
    return int(count.item())
