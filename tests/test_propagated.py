"""A first GCN layer on constant dense features reuses A X, computed once per fit."""

from __future__ import annotations

import pytest
import torch

from graphae.data import make_communities, make_planted_partition
from graphae.nn.conv import GCNConv
from graphae.nn.functional import SparseOperator, gcn_norm
from graphae.training.data import GraphTensors


def _operator(n: int = 30) -> SparseOperator:
    gen = torch.Generator().manual_seed(0)
    edges = torch.randint(0, n, (2, 80), generator=gen)
    edges = edges[:, edges[0] != edges[1]]
    return SparseOperator(gcn_norm(torch.cat([edges, edges.flip(0)], 1), n), symmetric=True)


def test_the_layer_on_shared_features_equals_the_plain_layer_and_its_gradient() -> None:
    adj, x = _operator(), torch.randn(30, 7, generator=torch.Generator().manual_seed(1))
    conv = GCNConv(7, 4, torch.Generator().manual_seed(2))
    plain = conv(x, adj)
    (grad_plain,) = torch.autograd.grad(plain.square().sum(), conv.weight)
    adj.share_features(x)
    shared = conv(x, adj)
    (grad_shared,) = torch.autograd.grad(shared.square().sum(), conv.weight)
    torch.testing.assert_close(shared, plain, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grad_shared, grad_plain, rtol=1e-5, atol=1e-6)
    assert adj.propagated(x) is adj.propagated(x)  # computed once


def test_only_the_shared_tensor_itself_is_propagated() -> None:
    adj, x = _operator(), torch.randn(30, 7, generator=torch.Generator().manual_seed(1))
    adj.share_features(x)
    assert adj.propagated(x.clone()) is None  # dropout's output, another graph's features...
    assert adj.propagated(None) is None
    assert adj.with_values(adj.a.values() * 2).propagated(x) is None  # other values, another matrix
    adj.share_features(None)
    assert adj.propagated(x) is None
    with pytest.raises(ValueError, match="constant dense tensor"):
        adj.share_features(torch.randn(30, 7, requires_grad=True, generator=torch.Generator().manual_seed(2)))


def test_training_data_shares_dense_features_with_its_adjacency() -> None:
    graph = make_planted_partition(200, 1000, random_state=0)  # dense features
    data = GraphTensors.from_graph(graph)
    assert isinstance(data.x, torch.Tensor) and data.adj.propagated(data.x) is not None
    assert GraphTensors.from_graph(graph, features=False).adj.propagated(None) is None
    sparse = GraphTensors.from_graph(make_communities(num_nodes=60, random_state=0))
    assert isinstance(sparse.x, SparseOperator)  # sparse features stay as they are: A X would be dense
