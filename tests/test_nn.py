import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphae.graph import Graph
from graphae.nn import (
    Decoder,
    GCNConv,
    GCNEncoder,
    GraphAutoencoder,
    InnerProductDecoder,
    SparseOperator,
    VariationalGCNEncoder,
    gcn_norm,
)
from graphae.nn.functional import spmm
from graphae.training import GraphTensors


def path_graph(n=4):
    return Graph.from_edges(np.array([[i, i + 1] for i in range(n - 1)]), num_nodes=n)


def test_gcn_norm_matches_dense_formula():
    g = Graph.from_edges(np.array([[0, 1], [1, 2], [2, 0], [2, 3]]), num_nodes=5)
    a = g.adj.toarray() + np.eye(5)
    d = np.diag(1 / np.sqrt(a.sum(1)))
    expected = d @ a @ d
    edges = torch.from_numpy(g.edges())
    got = gcn_norm(torch.cat([edges, edges.flip(0)], 1), 5).to_dense().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # Node 4 is isolated: only its self loop, weight 1.
    assert got[4, 4] == pytest.approx(1.0)


def test_gcn_norm_by_hand_on_an_edge():
    # Two nodes, one edge: degrees 2, every entry 1/2.
    got = gcn_norm(torch.tensor([[0, 1], [1, 0]]), 2).to_dense()
    torch.testing.assert_close(got, torch.full((2, 2), 0.5))


def test_spmm_gradient_matches_dense():
    a = torch.tensor([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]])
    h = torch.randn(3, 2, requires_grad=True, generator=torch.Generator().manual_seed(1))
    h_ref = h.detach().clone().requires_grad_()
    op = SparseOperator(a.to_sparse_csr())
    out = op @ h
    (out * torch.arange(4.0).view(2, 2)).sum().backward()
    (a @ h_ref * torch.arange(4.0).view(2, 2)).sum().backward()
    torch.testing.assert_close(out, a @ h_ref)
    torch.testing.assert_close(h.grad, h_ref.grad)


def test_spmm_symmetric_uses_a_itself():
    a = torch.tensor([[0.0, 1.0], [1.0, 0.0]]).to_sparse_csr()
    h = torch.randn(2, 3, requires_grad=True, generator=torch.Generator().manual_seed(2))
    spmm(a, h).sum().backward()
    torch.testing.assert_close(h.grad, torch.ones(2, 3))


def test_gcnconv_repr_and_glorot_range():
    gen = torch.Generator().manual_seed(0)
    conv = GCNConv(1433, 32, gen)
    assert repr(conv) == "GCNConv(1433, 32)"
    bound = np.sqrt(6 / (1433 + 32))
    assert conv.weight.abs().max().item() <= bound
    assert conv.weight.abs().max().item() > 0.9 * bound


def test_featureless_conv_equals_identity_features():
    g = path_graph(4)
    data = GraphTensors.from_graph(g, features=False)
    conv = GCNConv(4, 3, torch.Generator().manual_seed(1))
    torch.testing.assert_close(conv(None, data.adj), conv(torch.eye(4), data.adj))


def test_sparse_and_dense_features_agree():
    x = sp.random(4, 6, density=0.5, format="csr", dtype=np.float32, random_state=0)
    g_sparse = path_graph(4).replace(x=x)
    g_dense = path_graph(4).replace(x=x.toarray())
    sparse_data = GraphTensors.from_graph(g_sparse)
    dense_data = GraphTensors.from_graph(g_dense)
    assert isinstance(sparse_data.x, SparseOperator)
    conv = GCNConv(6, 2, torch.Generator().manual_seed(2))
    torch.testing.assert_close(conv(sparse_data.x, sparse_data.adj), conv(dense_data.x, dense_data.adj))


def test_inner_product_decoder():
    z = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]])
    dec = InnerProductDecoder()
    torch.testing.assert_close(dec(z, torch.tensor([[0, 1], [1, 2]])), torch.tensor([1.0, 1.0]))
    torch.testing.assert_close(dec.forward_all(z), z @ z.T)


@pytest.mark.parametrize("name", ["gae", "vgae"])
def test_encoder_shapes_and_modes(name):
    g = path_graph(6)
    data = GraphTensors.from_graph(g, features=False)
    model = build_model(name, data.in_channels, 8, 4, torch.Generator().manual_seed(0))
    model.train()
    out = model(data.x, data.adj, torch.Generator().manual_seed(0))
    assert out.z.shape == out.mu.shape == (6, 4)
    if name == "vgae":
        assert out.logstd.shape == (6, 4)
        assert not torch.equal(out.z, out.mu)
    else:
        assert out.logstd is None and out.z is out.mu
    model.eval()
    evaluated = model(data.x, data.adj)
    assert torch.equal(evaluated.z, evaluated.mu)


def test_vgae_reparameterization_lets_gradients_reach_both_heads():
    data = GraphTensors.from_graph(path_graph(5), features=False)
    model = build_model("vgae", 5, 4, 2, torch.Generator().manual_seed(0))
    out = model(data.x, data.adj, torch.Generator().manual_seed(1))
    out.z.pow(2).sum().backward()
    enc = model.encoder
    assert enc.conv_mu.weight.grad.abs().sum() > 0
    assert enc.conv_logstd.weight.grad.abs().sum() > 0


def test_vgae_heads_equal_separate_convolutions():
    data = GraphTensors.from_graph(path_graph(5), features=False)
    model = build_model("vgae", 5, 4, 2, torch.Generator().manual_seed(0)).eval()
    enc = model.encoder
    out = model(data.x, data.adj)
    h = torch.relu(enc.conv1(None, data.adj))
    torch.testing.assert_close(out.mu, enc.conv_mu(h, data.adj))
    torch.testing.assert_close(out.logstd, enc.conv_logstd(h, data.adj))


def build_model(name, in_channels, hidden=32, out=16, generator=None):
    encoder = {"gae": GCNEncoder, "vgae": VariationalGCNEncoder}[name](in_channels, hidden, out, generator)
    return GraphAutoencoder(encoder)


def test_same_generator_seed_gives_same_init():
    a = build_model("vgae", 10, generator=torch.Generator().manual_seed(3))
    b = build_model("vgae", 10, generator=torch.Generator().manual_seed(3))
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_directed_gcn_norm_is_the_out_degree_normalization():
    # Salha et al. (2019): D_out^-1 (A + I); row i averages node i and its out-neighbours.
    g = Graph.from_edges(np.array([[0, 1], [0, 2], [2, 0]]), num_nodes=4, directed=True)
    got = gcn_norm(torch.from_numpy(g.edges()), 4, directed=True).to_dense().numpy()
    a = g.adj.toarray() + np.eye(4)
    np.testing.assert_allclose(got, a / a.sum(1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(got.sum(1), 1.0, rtol=1e-6)


def test_directed_graph_tensors_use_the_asymmetric_operator():
    g = Graph.from_edges(np.array([[0, 1], [1, 2]]), directed=True)
    data = GraphTensors.from_graph(g, features=False)
    assert data.directed and data.edge_index.shape == (2, 2)
    h = torch.eye(3, requires_grad=True)
    (data.adj @ h).sum().backward()
    dense = gcn_norm(data.edge_index, 3, directed=True).to_dense()
    torch.testing.assert_close(h.grad, dense.T @ torch.ones(3, 3))


def test_decoder_scores_rows_like_pairs():
    z = torch.randn(5, 3, generator=torch.Generator().manual_seed(0))
    rows = torch.tensor([4, 0])
    dense = InnerProductDecoder().score_rows(z, rows)
    generic = Decoder.score_rows(InnerProductDecoder(), z, rows)  # the base class's pair-by-pair path
    torch.testing.assert_close(dense, z[rows] @ z.T)
    torch.testing.assert_close(generic, dense)
    assert InnerProductDecoder.symmetric and InnerProductDecoder.has_exact_loss
    assert not Decoder.has_exact_loss
    with pytest.raises(NotImplementedError, match="has no exact all-pairs loss"):
        Decoder().exact_loss(z, torch.tensor([[0], [1]]), directed=False)
