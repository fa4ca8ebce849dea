"""Linear GAE and VGAE (Salha et al., 2020): encoders checked by hand, the KL term, training."""

import numpy as np
import pytest
import torch

from graphae import load
from graphae.data import make_communities
from graphae.experiment import make_estimator, run_link_prediction
from graphae.graph import Graph
from graphae.losses import exact_reconstruction_loss
from graphae.models.linear import LinearGAE, LinearVGAE
from graphae.nn import GraphAutoencoder
from graphae.nn.encoders import LinearEncoder, VariationalLinearEncoder
from graphae.training import GraphTensors, ReconstructionObjective


@pytest.fixture(scope="module")
def tiny():
    """Five nodes: a triangle 0-1-2, a tail 2-3, an isolated node 4; three features."""
    x = np.array([[1, 0, 2], [0, 1, 0], [1, 1, 0], [0, 0, 3], [2, 0, 1]], dtype=np.float32)
    return Graph.from_edges(np.array([[0, 1], [1, 2], [2, 0], [2, 3]]), num_nodes=5).replace(x=x)


def normalized_adjacency(graph):
    """D^-1/2 (A + I) D^-1/2 by hand."""
    a = graph.adj.toarray().astype(np.float64) + np.eye(graph.num_nodes)
    d = np.diag(1 / np.sqrt(a.sum(1)))
    return d @ a @ d


@pytest.fixture(scope="module")
def small():
    return make_communities(num_nodes=300, num_communities=3, random_state=0)


@pytest.mark.parametrize("features", [True, False])
def test_linear_encoder_is_one_normalized_hop(tiny, features):
    data = GraphTensors.from_graph(tiny, features=features)
    encoder = LinearEncoder(data.in_channels, 2, torch.Generator().manual_seed(0))
    out = encoder(data.x, data.adj)
    w = encoder.conv.weight.detach().double().numpy()
    x = tiny.x.astype(np.float64) if features else np.eye(5)
    expected = normalized_adjacency(tiny) @ x @ w  # featureless: Â W
    np.testing.assert_allclose(out.z.detach().numpy(), expected, rtol=1e-5, atol=1e-6)
    assert out.mu is out.z and out.logstd is None
    # The isolated node only sees itself: its code is its own row of X W.
    np.testing.assert_allclose(out.z[4].detach().numpy(), (x @ w)[4], rtol=1e-5)


@pytest.mark.parametrize("features", [True, False])
def test_variational_linear_encoder_heads_and_sampling(tiny, features):
    data = GraphTensors.from_graph(tiny, features=features)
    encoder = VariationalLinearEncoder(data.in_channels, 2, torch.Generator().manual_seed(0))
    a_hat = normalized_adjacency(tiny)
    x = tiny.x.astype(np.float64) if features else np.eye(5)
    mu = a_hat @ x @ encoder.conv_mu.weight.detach().double().numpy()
    logstd = a_hat @ x @ encoder.conv_logstd.weight.detach().double().numpy()
    encoder.eval()
    out = encoder(data.x, data.adj)
    np.testing.assert_allclose(out.mu.detach().numpy(), mu, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.logstd.detach().numpy(), logstd, rtol=1e-5, atol=1e-6)
    assert out.z is out.mu
    encoder.train()
    sample = encoder(data.x, data.adj, torch.Generator().manual_seed(3)).z.detach().numpy()
    eps = torch.randn((5, 2), generator=torch.Generator().manual_seed(3)).double().numpy()
    np.testing.assert_allclose(sample, mu + eps * np.exp(logstd), rtol=1e-5, atol=1e-6)


def test_linear_vgae_loss_is_reconstruction_plus_kl_over_n(tiny):
    data = GraphTensors.from_graph(tiny)
    module = LinearVGAE(out_channels=2).build_module(data.in_channels, torch.Generator().manual_seed(0))
    objective = ReconstructionObjective("exact")
    objective.setup(module, data)
    module.train()
    got = objective.compute_loss(module, data, torch.Generator().manual_seed(7)).item()
    out = module(data.x, data.adj, torch.Generator().manual_seed(7))
    mu, logstd = out.mu.detach().double().numpy(), out.logstd.detach().double().numpy()
    n = tiny.num_nodes
    kl = -0.5 / n * np.mean(np.sum(1 + 2 * logstd - mu**2 - np.exp(2 * logstd), axis=1))  # tkipf/gae
    rec = exact_reconstruction_loss(out.z.detach(), data.edge_index).item()
    assert got == pytest.approx(rec + kl, rel=1e-5)
    assert kl > 0


def test_the_estimators_build_linear_modules():
    gae = LinearGAE(out_channels=8).build_module(20)
    vgae = LinearVGAE(out_channels=8).build_module(20)
    assert isinstance(gae, GraphAutoencoder) and isinstance(gae.encoder, LinearEncoder)
    assert not gae.variational and vgae.variational
    assert sum(p.numel() for p in gae.parameters()) == 20 * 8  # W only: no hidden layer, no bias
    assert sum(p.numel() for p in vgae.parameters()) == 2 * 20 * 8
    assert LinearGAE().get_params()["lr"] == 0.01 and LinearGAE().out_channels == 16
    assert LinearGAE().epochs == 200


@pytest.mark.parametrize("model", ["linear_gae", "linear_vgae"])
@pytest.mark.parametrize("loss", ["exact", "sampled"])
@pytest.mark.parametrize("features", [True, False])
def test_training_beats_chance(small, model, loss, features):
    est = make_estimator(model, loss=loss, use_features=features, epochs=60, device="cpu", threads=1)
    result = run_link_prediction(small, est, seed=0)
    losses = [r["loss"] for r in result.history]
    assert losses[-1] < losses[0]
    # Untrained (epochs=1, lr=1e-12, same split and seed): AUC 0.653 with features, 0.542
    # without; AP 0.628, 0.517. Trained: AUC 0.766-0.856, AP 0.787-0.857.
    assert result.test_auc > 0.75 and result.test_ap > 0.75
    assert result.estimator.features_used_ is features
    assert result.embedding.shape == (300, 16)


@pytest.mark.parametrize("cls", [LinearGAE, LinearVGAE])
def test_deterministic_and_saved_loaded_exactly(small, cls, tmp_path):
    a = cls(epochs=15, random_state=3, device="cpu", threads=1).fit(small)
    b = cls(epochs=15, random_state=3, device="cpu", threads=1).fit(small)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert a.history_ == b.history_
    a.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert type(again) is cls and again.get_params() == a.get_params()
    np.testing.assert_array_equal(again.embedding_, a.embedding_)
    np.testing.assert_allclose(again.transform(small), a.embedding_, rtol=1e-5, atol=1e-6)
    pairs = np.array([[0, 1, 2], [5, 7, 9]])
    np.testing.assert_array_equal(again.pair_logits(pairs), a.pair_logits(pairs))
