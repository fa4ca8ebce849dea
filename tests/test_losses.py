import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graphae.graph import Graph
from graphae.losses import (  # noqa: I001
    all_pairs_softplus,
    exact_reconstruction_loss,
    kl_divergence,
    negative_sampling_loss,
    reconstruction_weights,
    vgae_kl_term,
)


def dense_reference_loss(z, adj):
    """tkipf/gae: norm * mean(weighted_cross_entropy_with_logits(A+I, zz^T, pos_weight))."""
    n = adj.shape[0]
    pos_weight = (n * n - adj.sum()) / adj.sum()
    norm = n * n / (2 * (n * n - adj.sum()))
    labels = adj + torch.eye(n, dtype=torch.float64)
    logits = z @ z.T
    per_pair = pos_weight * labels * F.softplus(-logits) + (1 - labels) * F.softplus(logits)
    return norm * per_pair.mean()


def tiny_graph(n=7, seed=0):
    rng = np.random.default_rng(seed)
    edges = [(i, (i + 1) % n) for i in range(n)] + [tuple(rng.choice(n, 2, replace=False)) for _ in range(3)]
    return Graph.from_edges(np.array(edges), num_nodes=n)


@pytest.mark.parametrize("block_elements", [1, 5, 13, 1 << 20])
def test_all_pairs_softplus_matches_dense(block_elements):
    z = torch.randn(9, 3, dtype=torch.float64, requires_grad=True, generator=torch.Generator().manual_seed(1))
    z_ref = z.detach().clone().requires_grad_()
    value = all_pairs_softplus(z, block_elements)
    expected = F.softplus(z_ref @ z_ref.T).sum()
    value.backward()
    expected.backward()
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(z.grad, z_ref.grad)


def test_all_pairs_softplus_without_grad():
    z = torch.randn(6, 2, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        value = all_pairs_softplus(z, 4)
    torch.testing.assert_close(value, F.softplus(z @ z.T).sum())


@pytest.mark.parametrize("n", [5, 7, 12])
def test_exact_loss_matches_reference_value_and_gradient(n):
    graph = tiny_graph(n)
    edges = torch.from_numpy(graph.edges())
    adj = torch.from_numpy(graph.adj.toarray()).double()
    z = torch.randn(n, 4, dtype=torch.float64, requires_grad=True, generator=torch.Generator().manual_seed(3))
    z_ref = z.detach().clone().requires_grad_()
    value = exact_reconstruction_loss(z, edges, block_elements=8)
    expected = dense_reference_loss(z_ref, adj)
    value.backward()
    expected.backward()
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(z.grad, z_ref.grad)


def test_exact_loss_by_hand_two_nodes():
    # One edge between two nodes: every pair is a positive (A + I is all ones),
    # P = 2, pos_weight = (4 - 2) / 2 = 1, norm = 4 / (2 * 2) = 1.
    z = torch.tensor([[1.0], [2.0]])
    logits = torch.tensor([1.0, 2.0, 2.0, 4.0])
    expected = torch.log1p(torch.exp(-logits)).mean()
    value = exact_reconstruction_loss(z, torch.tensor([[0], [1]]))
    torch.testing.assert_close(value, expected)


def test_reconstruction_weights():
    assert reconstruction_weights(10, 5) == pytest.approx(((100 - 10) / 10, 100 / (2 * 90)))
    with pytest.raises(ValueError, match="at least one training edge"):
        reconstruction_weights(10, 0)


def test_negative_sampling_loss_by_hand():
    pos = torch.tensor([1.0])
    neg = torch.tensor([0.0, 2.0])
    expected = np.log1p(np.exp(-1.0)) + (np.log(2.0) + np.log1p(np.exp(2.0))) / 2
    assert negative_sampling_loss(pos, neg).item() == pytest.approx(expected, rel=1e-6)


def test_negative_sampling_loss_is_stable_for_large_logits():
    logits = torch.tensor([900.0, 900.0], requires_grad=True)
    loss = negative_sampling_loss(logits[:1], logits[1:])
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    assert loss.item() == pytest.approx(900.0, rel=1e-4)


def dense_directed_reference_loss(z, adj):
    """The reference formula with an asymmetric A (gravity_graph_autoencoders' Task 1 setting)."""
    n = adj.shape[0]
    pos_weight = (n * n - adj.sum()) / adj.sum()
    norm = n * n / (2 * (n * n - adj.sum()))
    labels = adj + torch.eye(n, dtype=torch.float64)
    logits = z @ z.T
    return norm * (pos_weight * labels * F.softplus(-logits) + (1 - labels) * F.softplus(logits)).mean()


def test_exact_loss_on_a_directed_graph_matches_the_dense_formula():
    rng = np.random.default_rng(1)
    graph = Graph.from_edges(rng.integers(0, 9, size=(20, 2)), num_nodes=9, directed=True)
    edges = torch.from_numpy(graph.edges())
    adj = torch.from_numpy(graph.adj.toarray()).double()
    assert (adj != adj.T).any()
    z = torch.randn(9, 3, dtype=torch.float64, requires_grad=True, generator=torch.Generator().manual_seed(4))
    z_ref = z.detach().clone().requires_grad_()
    value = exact_reconstruction_loss(z, edges, block_elements=10, directed=True)
    expected = dense_directed_reference_loss(z_ref, adj)
    value.backward()
    expected.backward()
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(z.grad, z_ref.grad)


def test_reconstruction_weights_of_a_directed_graph():
    # 5 directed edges: P = 5, not 10.
    assert reconstruction_weights(10, 5, directed=True) == pytest.approx(((100 - 5) / 5, 100 / (2 * 95)))


def test_kl_divergence_formula():
    mu = torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    logstd = torch.tensor([[0.0, np.log(2.0)], [0.0, 0.0]], dtype=torch.float32)
    # Per node KL = 0.5 * sum(mu^2 + sigma^2 - 1 - 2 log sigma)
    node0 = 0.5 * ((0 + 1 - 1 - 0) + (1 + 4 - 1 - 2 * np.log(2.0)))
    node1 = 0.5 * ((4 + 1 - 1 - 0) + (0 + 1 - 1 - 0))
    assert kl_divergence(mu, logstd).item() == pytest.approx((node0 + node1) / 2, rel=1e-6)
    assert vgae_kl_term(mu, logstd).item() == pytest.approx((node0 + node1) / 4, rel=1e-6)
    assert kl_divergence(torch.zeros(3, 2), torch.zeros(3, 2)).item() == 0.0
