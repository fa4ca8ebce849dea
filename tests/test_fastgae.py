"""FastGAE (loss="fastgae"): degree sampling, the induced-subgraph loss, and training with it."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from graphae import GAE, VGAE, load
from graphae.cli import main
from graphae.data import make_communities
from graphae.experiment import run_link_prediction
from graphae.graph import Graph
from graphae.losses import exact_reconstruction_loss
from graphae.nn import Decoder, GCNEncoder, GraphAutoencoder, InnerProductDecoder
from graphae.training import GraphTensors, ReconstructionObjective
from graphae.training.fastgae import (
    SubgraphSampler,
    degree_weights,
    induced_edges,
    sample_nodes,
    subgraph_exact_loss,
)

# A tiny graph with degrees 1, 3, 2, 2, 2, 0 (node 5 is isolated).
EDGES = [(0, 1), (1, 2), (1, 3), (2, 4), (3, 4)]
DEGREES = np.array([1, 3, 2, 2, 2, 0], dtype=np.float64)
FAST = {"epochs": 12, "random_state": 0, "device": "cpu", "threads": 1}


def tiny(directed=False):
    return Graph.from_edges(np.array(EDGES), num_nodes=6, directed=directed)


def edge_index(graph):
    return torch.from_numpy(graph.edges())


def tolerance(p, draws):
    """Five standard deviations of a frequency of probability ``p`` over ``draws`` draws."""
    return 5 * np.sqrt(p * (1 - p) / draws)


# Sampling ------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0, 0.5])
def test_degree_weights_are_degree_to_the_alpha(alpha):
    weights = degree_weights(edge_index(tiny()), 6, alpha)
    expected = np.where(DEGREES > 0, DEGREES**alpha, 1.0 if alpha == 0 else 0.0)
    np.testing.assert_allclose(weights.numpy(), expected)


@pytest.mark.parametrize("alpha", [0.0, 1.0, 2.0])
def test_a_single_draw_has_probabilities_proportional_to_degree_to_the_alpha(alpha):
    weights = degree_weights(edge_index(tiny()), 6, alpha)
    generator = torch.Generator().manual_seed(0)
    draws = 6000
    counts = np.bincount([int(sample_nodes(weights, 1, generator)) for _ in range(draws)], minlength=6)
    p = (weights / weights.sum()).numpy()
    assert np.all(np.abs(counts / draws - p) <= tolerance(p, draws))
    if alpha > 0:
        assert counts[5] == 0  # an isolated node has weight 0


def test_a_sample_is_drawn_successively_without_replacement():
    # Two draws without replacement: P(i in S) = p_i + sum_{j != i} p_j p_i / (1 - p_j).
    weights = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    p = (weights / weights.sum()).numpy()
    inclusion = p + np.array([sum(p[j] * p[i] / (1 - p[j]) for j in range(4) if j != i) for i in range(4)])
    generator = torch.Generator().manual_seed(1)
    draws = 6000
    samples = [sample_nodes(weights, 2, generator) for _ in range(draws)]
    assert all(len(s) == 2 and s[0] < s[1] for s in samples)  # distinct and sorted
    counts = np.bincount(torch.cat(samples).numpy(), minlength=4)
    assert np.all(np.abs(counts / draws - inclusion) <= tolerance(inclusion, draws))


def test_zero_weight_nodes_are_drawn_only_when_the_others_run_out():
    weights = torch.tensor([0.0, 2.0, 0.0, 0.0, 4.0, 1.0], dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        assert sample_nodes(weights, 3, generator).tolist() == [1, 4, 5]
        four = sample_nodes(weights, 4, generator).tolist()
        assert len(set(four)) == 4 and {1, 4, 5} <= set(four)
    assert sample_nodes(weights, 6, generator).tolist() == list(range(6))
    assert sample_nodes(weights, 60, generator).tolist() == list(range(6))


def test_sampling_is_seeded():
    weights = degree_weights(edge_index(tiny()), 6, 1.0)

    def draw(seed):
        generator = torch.Generator().manual_seed(seed)
        return [sample_nodes(weights, 3, generator).tolist() for _ in range(20)]

    assert draw(3) == draw(3)
    assert draw(3) != draw(4)


# The subgraph loss ---------------------------------------------------------------------
def test_induced_edges_keep_the_edges_inside_renumbered():
    nodes = torch.tensor([1, 2, 4])
    sub = induced_edges(edge_index(tiny()), nodes, 6)
    # (1, 2) and (2, 4) lie inside; 1 -> 0, 2 -> 1, 4 -> 2.
    assert sub.tolist() == [[0, 1], [1, 2]]


def dense_reference_loss(z, adj):
    """tkipf/gae: norm * mean(weighted_cross_entropy_with_logits(A+I, zz^T, pos_weight))."""
    n = adj.shape[0]
    pos_weight = (n * n - adj.sum()) / adj.sum()
    norm = n * n / (2 * (n * n - adj.sum()))
    labels = adj + torch.eye(n, dtype=torch.float64)
    logits = z @ z.T
    per_pair = pos_weight * labels * F.softplus(-logits) + (1 - labels) * F.softplus(logits)
    return norm * per_pair.mean()


@pytest.mark.parametrize("directed", [False, True])
def test_the_subgraph_loss_is_the_reference_loss_of_the_induced_subgraph(directed):
    graph = tiny(directed)
    nodes = torch.tensor([0, 1, 3, 4])
    z = torch.randn(6, 3, dtype=torch.float64, requires_grad=True, generator=torch.Generator().manual_seed(1))
    z_ref = z.detach().clone().requires_grad_()
    value = subgraph_exact_loss(InnerProductDecoder(), z, edge_index(graph), nodes, directed)
    adj = torch.from_numpy(graph.adj.toarray()).double()[nodes][:, nodes]
    assert adj.sum() == (3 if directed else 6)  # (0, 1), (1, 3), (3, 4)
    expected = dense_reference_loss(z_ref[nodes], adj)
    value.backward()
    expected.backward()
    torch.testing.assert_close(value, expected)
    torch.testing.assert_close(z.grad, z_ref.grad)
    assert (z.grad[[2, 5]] == 0).all()  # nodes outside the subgraph get no gradient


def test_every_node_in_the_subgraph_is_the_exact_loss():
    z = torch.randn(6, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    value = subgraph_exact_loss(InnerProductDecoder(), z, edge_index(tiny()), torch.arange(6), False)
    torch.testing.assert_close(value, exact_reconstruction_loss(z, edge_index(tiny())))


def test_a_subgraph_without_edges_contributes_nothing():
    z = torch.randn(6, 3, requires_grad=True, generator=torch.Generator().manual_seed(3))
    value = subgraph_exact_loss(InnerProductDecoder(), z, edge_index(tiny()), torch.tensor([0, 4, 5]), False)
    value.backward()
    assert value.item() == 0 and (z.grad == 0).all()


def test_fastgae_nodes_at_least_n_is_the_exact_loss():
    graph = tiny()
    data = GraphTensors.from_graph(graph, features=False)
    model = GraphAutoencoder(GCNEncoder(6, 4, 2, torch.Generator().manual_seed(0)), InnerProductDecoder())
    z = model(data.x, data.adj).z
    exact = ReconstructionObjective("exact")
    exact.setup(model, data)
    for nodes in (6, 7, 1000):
        fast = ReconstructionObjective("fastgae", fastgae_nodes=nodes)
        fast.setup(model, data)
        value = fast.reconstruction_loss(model, z, data, torch.Generator().manual_seed(0))
        assert value.item() == exact.reconstruction_loss(model, z, data, None).item()


def test_a_fit_with_fastgae_nodes_at_least_n_is_the_exact_fit():
    graph = make_communities(num_nodes=60, num_communities=3, random_state=0)
    exact = GAE(loss="exact", **FAST).fit(graph)
    fast = GAE(loss="fastgae", fastgae_nodes=60, **FAST).fit(graph)
    np.testing.assert_array_equal(fast.embedding_, exact.embedding_)


# Training --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def graph():
    return make_communities(num_nodes=120, num_communities=3, random_state=0)


@pytest.mark.parametrize("cls", [GAE, VGAE])
def test_fits_are_seeded(cls, graph):
    params = {"loss": "fastgae", "fastgae_nodes": 40, **FAST}
    first = cls(**params).fit(graph)
    assert first.history_[0]["loss"] != first.history_[1]["loss"]
    np.testing.assert_array_equal(cls(**params).fit(graph).embedding_, first.embedding_)
    other = cls(**{**params, "random_state": 1}).fit(graph)
    assert not np.array_equal(other.embedding_, first.embedding_)


class _Crash(Exception):
    """Stands for a process killed during training."""


@pytest.mark.parametrize("cls", [GAE, VGAE])
def test_an_interrupted_fastgae_fit_resumes_bit_for_bit(cls, graph, tmp_path):
    params = {"loss": "fastgae", "fastgae_nodes": 40, "fastgae_alpha": 2.0, **FAST}
    uninterrupted = cls(**params).fit(graph)
    ckpt = tmp_path / "fit.ckpt"

    def crash(record):
        if record["epoch"] == 8:
            raise _Crash

    with pytest.raises(_Crash):
        cls(**params).fit(graph, callback=crash, checkpoint=ckpt, checkpoint_every=3)
    resumed = cls(**params).fit(graph, checkpoint=ckpt, checkpoint_every=3, resume=True)
    np.testing.assert_array_equal(resumed.embedding_, uninterrupted.embedding_)
    assert resumed.history_ == uninterrupted.history_


def test_fastgae_learns_the_communities():
    # Subgraphs of a quarter of the nodes: 1/16 of the pairs per step.
    graph = make_communities(num_nodes=600, num_communities=4, random_state=0)
    settings = {"epochs": 100, "device": "cpu", "threads": 1}
    fast = run_link_prediction(graph, GAE(loss="fastgae", fastgae_nodes=150, **settings), seed=0)
    exact = run_link_prediction(graph, GAE(loss="exact", **settings), seed=0)
    # Untrained (epochs=1, lr=1e-12, same split and seed): 0.643. Trained: 0.829 (exact: 0.808).
    assert fast.test_auc > 0.75
    assert fast.test_auc > exact.test_auc - 0.05


# Errors and the command line -------------------------------------------------------------
class _PairDecoder(Decoder):
    """Inner products, but without an exact all-pairs loss."""

    def forward(self, z, pairs):
        return (z[pairs[0]] * z[pairs[1]]).sum(-1)


class _NoExactGAE(GAE):
    def build_module(self, in_channels, generator=None):
        encoder = GCNEncoder(in_channels, self.hidden_channels, self.out_channels, generator)
        return GraphAutoencoder(encoder, _PairDecoder())


def test_fastgae_needs_a_decoder_with_an_exact_loss(graph):
    with pytest.raises(
        ValueError,
        match="'loss' parameter of _NoExactGAE is 'fastgae', but its decoder _PairDecoder has no exact",
    ):
        _NoExactGAE(loss="fastgae", epochs=2).fit(graph)


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        ("fastgae_nodes", 1, "an int >= 2"),
        ("fastgae_nodes", 10.0, "an int >= 2"),
        ("fastgae_alpha", -0.5, "a float >= 0"),
        ("fastgae_alpha", float("nan"), "a float >= 0"),
        ("fastgae_alpha", True, "a float >= 0"),
    ],
)
def test_invalid_fastgae_parameters_are_named(param, value, expected, graph):
    with pytest.raises(ValueError, match=f"The '{param}' parameter of GAE must be {expected}. Got"):
        GAE(loss="fastgae", **{param: value}, epochs=1).fit(graph)


def test_alpha_zero_is_accepted_and_draws_otherwise_than_alpha_one(graph):
    params = {**FAST, "loss": "fastgae", "fastgae_nodes": 30, "epochs": 2}
    zero = GAE(**params, fastgae_alpha=0).fit(graph)
    assert zero.loss_ == "fastgae" and zero.fastgae_alpha == 0
    assert len(zero.history_) == 2 and all(np.isfinite(record["loss"]) for record in zero.history_)
    one = GAE(**params, fastgae_alpha=1.0).fit(graph)
    assert not np.array_equal(zero.embedding_, one.embedding_)  # uniform draws, not by degree


def test_the_command_line_trains_with_fastgae(tmp_path):
    argv = ["train", "--dataset", "synthetic", "--loss", "fastgae", "--fastgae-nodes", "500"]
    argv += ["--fastgae-alpha", "0.5", "--epochs", "3", "--quiet", "--out", str(tmp_path / "run")]
    assert main(argv) == 0
    params = load(tmp_path / "run").get_params()
    assert (params["loss"], params["fastgae_nodes"], params["fastgae_alpha"]) == ("fastgae", 500, 0.5)


@pytest.mark.parametrize(
    ("option", "value"), [("--fastgae-nodes", "1"), ("--fastgae-alpha", "-1"), ("--fastgae-alpha", "inf")]
)
def test_the_command_line_rejects_bad_fastgae_options(option, value, capsys):
    with pytest.raises(SystemExit):
        main(["train", "--loss", "fastgae", option, value])
    assert option in capsys.readouterr().err


def test_the_sampler_sees_the_training_graph():
    sampler = SubgraphSampler(edge_index(tiny()), 6, count=3, alpha=1.0)
    np.testing.assert_allclose(sampler.weights.numpy(), DEGREES)
    assert not sampler.whole_graph and SubgraphSampler(edge_index(tiny()), 6, 6, 1.0).whole_graph
