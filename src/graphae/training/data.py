"""The torch side of a graph: what training reads, built once per fit, and its batches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
import torch

from graphae.errors import InputError
from graphae.graph import Graph
from graphae.nn.functional import SparseOperator, gcn_norm, to_csr


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"`` or ``None`` means CUDA when present, else the CPU.

    Raises:
        InputError: If CUDA is asked for and absent, or the name is unknown.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise InputError(
            f"The 'device' parameter must be 'auto', 'cpu' or 'cuda[:i]'. Got {device!r}."
        ) from err
    if resolved.type not in ("cpu", "cuda"):
        raise InputError(f"The 'device' parameter must be 'auto', 'cpu' or 'cuda[:i]'. Got {device!r}.")
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"The 'device' parameter is {device!r} but CUDA is not available here.")
    if resolved.type == "cpu" and resolved.index not in (None, 0):
        raise InputError(f"The 'device' parameter must be 'auto', 'cpu' or 'cuda[:i]'. Got {device!r}.")
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        known = "cuda:0" if count == 1 else f"cuda:0 to cuda:{count - 1}"
        raise InputError(
            f"The 'device' parameter is {device!r}, but this machine has {count} CUDA "
            f"device{'s' if count != 1 else ''} ({known})."
        )
    return resolved


@dataclass
class GraphTensors:
    """A graph on the device: the inputs of the encoder and the pairs to reconstruct.

    It is also the unit a training step works on (a *batch*): the one full batch of the
    training graph or, when training on ``world_size`` processes, a rank's shard of it
    (:meth:`sharded`); a mini-batch would be a sampled sub-graph of this type.

    Attributes:
        x: Features (dense, a :class:`SparseOperator` over sparse CSR, or ``None`` for
            identity features).
        adj: Normalized adjacency (see :func:`~graphae.nn.gcn_norm`), ``[N, N]``.
        edge_index: The edges to reconstruct, each once (``i < j`` when undirected), ``[2, E]``.
        num_nodes: ``N``.
        directed: Whether the edges have a direction.
        rank, world_size: This process's rank among ``world_size`` training together;
            its batches hold its shard of ``edge_index`` (see :meth:`sharded`).
    """

    x: torch.Tensor | SparseOperator | None
    adj: SparseOperator
    edge_index: torch.Tensor
    num_nodes: int
    directed: bool = False
    rank: int = 0
    world_size: int = 1

    @classmethod
    def from_graph(
        cls, graph: Graph, device: torch.device | str = "cpu", features: bool = True
    ) -> GraphTensors:
        """Convert a :class:`Graph`; ``features=False`` uses identity features."""
        edges = torch.from_numpy(graph.edges()).to(device)
        if graph.directed:
            adj = SparseOperator(gcn_norm(edges, graph.num_nodes, directed=True))
        else:
            adj = SparseOperator(gcn_norm(edges, graph.num_nodes, add_reverse=True), symmetric=True)
        x = features_to_tensor(graph.x, device) if features else None
        if x is not None and x.layout != torch.strided:
            x = SparseOperator(x)
        elif x is not None:
            adj.share_features(x)  # a first GCN layer reuses A X (see SparseOperator.share_features)
        return cls(x=x, adj=adj, edge_index=edges, num_nodes=graph.num_nodes, directed=graph.directed)

    @property
    def in_channels(self) -> int:
        return self.num_nodes if self.x is None else self.x.shape[1]

    def sharded(self, rank: int, world_size: int) -> GraphTensors:
        """This graph as rank ``rank`` of ``world_size`` processes trains on it.

        Everything but the batches is unchanged (every rank encodes the whole graph and
        samples negatives against all its edges); the one batch of an epoch reconstructs
        the rank's shard of the edges: ``edge_index[:, rank::world_size]``. The shards of
        the ranks partition the edges, and their sizes differ by at most one.

        Raises:
            InputError: Unless ``0 <= rank < world_size``.
        """
        if not 0 <= rank < world_size:
            raise InputError(
                f"The rank must be in [0, world_size). Got rank {rank}, world_size {world_size}."
            )
        return replace(self, rank=rank, world_size=world_size)

    def batches(self) -> Iterable[GraphTensors]:
        """The batches of one epoch: the full graph once, or this rank's shard of its edges once.

        Shapes:
            A batch's ``edge_index``: ``[2, E]``, or ``[2, ceil((E - rank) / world_size)]`` for a shard.
        """
        if self.world_size == 1:
            return (self,)
        shard = self.edge_index[:, self.rank :: self.world_size]
        return (replace(self, edge_index=shard, rank=0, world_size=1),)


class cpu_threads:
    """Temporarily set torch's CPU thread count (``None`` leaves it alone)."""

    def __init__(self, threads: int | None) -> None:
        self.threads = threads
        self.before = torch.get_num_threads()

    def __enter__(self) -> None:
        if self.threads is not None:
            torch.set_num_threads(int(self.threads))

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.before)


def features_to_tensor(
    x: np.ndarray | sp.csr_matrix | None, device: torch.device | str
) -> torch.Tensor | None:
    """Host features to a dense or sparse-CSR float32 tensor."""
    if x is None:
        return None
    if sp.issparse(x):
        coo = sp.coo_matrix(x, dtype=np.float32)
        indices = torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64))
        tensor = torch.sparse_coo_tensor(
            indices, torch.from_numpy(coo.data), coo.shape, check_invariants=False
        )
        return to_csr(tensor.to(device))
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)
