"""Â with edges hidden, recounted instead of rebuilt: the same matrix as the rebuilt one, entry for entry."""

import pytest
import torch

from graphae.nn.models import GraphAutoencoder
from graphae.nn.refined import LinearResidualEncoder, ResidualHadamardDecoder
from graphae.training import GraphTensors
from graphae.training.edge_batches import EdgeBatchObjective
from graphae.training.hidden_edges import RECOUNT_AT_MOST, HiddenEdgeAdjacency, visible_adjacency


def _edges(n: int, m: int, seed: int, directed: bool, duplicates: bool) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    src, dst = torch.randint(n, (2, m), generator=g)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    if not directed:
        src, dst = torch.minimum(src, dst), torch.maximum(src, dst)
    edges = torch.stack([src, dst])
    if not duplicates:
        edges = torch.unique(edges, dim=1)
    return edges


@pytest.mark.parametrize("directed", [False, True])
@pytest.mark.parametrize("duplicates", [False, True])
def test_hiding_edges_gives_the_rebuilt_normalised_adjacency_of_the_others(directed, duplicates):
    edges = _edges(40, 300, 1, directed, duplicates)
    adj = HiddenEdgeAdjacency(edges, 40, directed)
    g = torch.Generator().manual_seed(2)
    for size in (1, 17, edges.shape[1] // 2, edges.shape[1]):
        index = torch.randperm(edges.shape[1], generator=g)[:size]
        keep = torch.ones(edges.shape[1], dtype=torch.bool)
        keep[index] = False
        rebuilt = visible_adjacency(edges[:, keep], 40, directed)
        hidden = adj.hiding(index)
        recounted = size <= RECOUNT_AT_MOST * edges.shape[1]  # else rebuilt: fewer entries to multiply
        assert (hidden.a.values().numel() == adj.full.a.values().numel()) == recounted
        assert torch.equal(hidden.a.to_dense(), rebuilt.a.to_dense())
        assert torch.equal(hidden.a_t.to_dense(), rebuilt.a.to_dense().t())
        assert torch.equal(adj.hiding(~keep).a.to_dense(), rebuilt.a.to_dense())  # a mask, the same
        h = torch.randn(40, 5, generator=g, requires_grad=True)
        (grad,) = torch.autograd.grad((hidden @ h).square().sum(), h)
        (expected,) = torch.autograd.grad((rebuilt @ h).square().sum(), h)
        assert torch.allclose(grad, expected, atol=1e-6)


def test_hiding_nothing_is_the_whole_graph_and_the_counts_are_not_consumed():
    edges = _edges(30, 200, 3, False, False)
    adj = HiddenEdgeAdjacency(edges, 30, directed=False)
    whole = visible_adjacency(edges, 30, directed=False).a.to_dense()
    adj.hiding(torch.arange(10))
    assert torch.equal(adj.hiding(torch.tensor([], dtype=torch.long)).a.to_dense(), whole)


def test_the_refined_objective_builds_it_once_per_graph_and_hides_each_batch():
    edges = _edges(50, 400, 4, False, False)
    data = GraphTensors(None, visible_adjacency(edges, 50, False), edges, 50, False)
    model = GraphAutoencoder(
        LinearResidualEncoder(None, 8, num_nodes=50), ResidualHadamardDecoder(8, num_layers=2)
    )
    objective = EdgeBatchObjective(batch_size=64)
    objective.setup(model, data)
    objective.step(model, data, objective.configure_optimizers(model), torch.Generator().manual_seed(0))
    built = objective.hidden
    assert built is not None and built.edge_index is data.edge_index
    objective.step(model, data, objective.configure_optimizers(model), torch.Generator().manual_seed(1))
    assert objective.hidden is built  # the same graph: not rebuilt
    shard = edges[:, :200].clone()
    objective.batch_loss(model, GraphTensors(None, data.adj, shard, 50, False), torch.arange(5), None)
    assert objective.hidden is not built and objective.hidden.edge_index is shard  # another graph: its own
