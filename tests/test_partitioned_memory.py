"""What a partitioned rank holds and allocates: sized by its part, never per chunk by its graph."""

import numpy as np
import scipy.sparse as sp
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from graphae.data import make_communities
from graphae.partition import partition_graph, read_part
from graphae.training.halo import Traffic
from graphae.training.partitioned import PartitionedGCN, PartTensors, partitioned_step
from graphae.training.row_blocks import RowBlocks


class _Sizes(TorchDispatchMode):
    """The element counts of the new tensors the operations under it return (not in-place
    results or views: those share an input's storage)."""

    def __init__(self) -> None:
        super().__init__()
        self.numels: list[int] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        inputs = [a for a in [*args, *(kwargs or {}).values()] if isinstance(a, torch.Tensor)]
        shared = {a.untyped_storage().data_ptr() for a in inputs if a.layout == torch.strided}
        for t in out if isinstance(out, (tuple, list)) else [out]:
            if isinstance(t, torch.Tensor) and t.layout == torch.strided:
                if t.untyped_storage().data_ptr() not in shared:
                    self.numels.append(t.numel())
        return out


def _part(tmp_path):
    root = tmp_path / "parts"
    if not root.exists():
        graph = make_communities(
            num_nodes=150, num_communities=3, avg_degree=6, num_features=5, random_state=0
        )
        partition_graph(graph, 1, "hash", root, seed=0)
    return read_part(root, 0)


def _graph_sized(tmp_path, chunk):
    """How many new tensors of a step hold at least as many elements as z (``[n, latent]``)."""
    data = PartTensors(_part(tmp_path), torch.device("cpu"), Traffic())
    model = PartitionedGCN(data, hidden=8, latent=4, seed=0)
    with _Sizes() as sizes:
        partitioned_step(model, np.random.default_rng(0), chunk=chunk)
    assert chunk * 4 < data.part.nodes.size * 4  # a chunk's own tensors are smaller
    return sum(k >= data.part.nodes.size * 4 for k in sizes.numels), data.pos.shape[1]


def test_a_step_allocates_no_graph_sized_tensor_per_chunk(tmp_path):
    # 35 chunks or 16: the same graph-sized tensors (the encoder's, one gradient buffer).
    # Before, every chunk's autograd made a table and two gradients the size of z and its halo.
    many, edges = _graph_sized(tmp_path, chunk=13)
    fewer, _ = _graph_sized(tmp_path, chunk=29)
    assert -(-edges // 13) > -(-edges // 29) + 10
    assert many == fewer


def test_a_built_part_keeps_no_rows_halo_or_pairs(tmp_path):
    part = _part(tmp_path)
    data = PartTensors(part, torch.device("cpu"), Traffic())
    kept = data.part
    assert kept.indices.size == 0 and kept.indptr.size == 1 and kept.halo.shape[1] == 0
    assert kept.val.shape[1] == 0 and kept.test.shape[1] == 0
    assert kept.nodes.size == part.nodes.size and data.pos.dtype == torch.int32


def test_row_blocks_multiply_as_the_whole_matrix():
    rng = np.random.default_rng(0)
    a = sp.random(50, 30, density=0.2, format="csr", dtype=np.float32, random_state=rng)
    h = torch.from_numpy(rng.standard_normal((30, 3)).astype(np.float32))
    blocks = RowBlocks(a, torch.device("cpu"), rows=7)
    assert len(blocks.blocks) == 8 and blocks.shape == (50, 30) and blocks.nnz == a.nnz
    torch.testing.assert_close(blocks @ h, torch.from_numpy(a.toarray()) @ h)
    assert (RowBlocks(a, torch.device("cpu")) @ h).shape == (50, 3)
