"""The refined GAE (Ma et al., 2024): its encoder and decoder by hand, mini-batches of edges, the estimator."""

import numpy as np
import pytest
import torch

from graphae import load
from graphae.data import make_communities
from graphae.errors import InputError, ParameterError
from graphae.graph import Graph
from graphae.metrics import auc_ap
from graphae.models.refined import RefinedGAE
from graphae.nn import EncoderOutput
from graphae.nn.mlp_decoder import MLP
from graphae.nn.models import GraphAutoencoder
from graphae.nn.refined import LinearResidualEncoder, ResidualHadamardDecoder
from graphae.split import split_edges
from graphae.training import GraphTensors
from graphae.training.edge_batches import EdgeBatchObjective, edges_per_step

SMALL = {
    "hidden_channels": 16,
    "out_channels": 16,
    "decoder_layers": 2,
    "decoder_dropout": 0.2,
    "lr": 0.01,
    "epochs": 4,
    "random_state": 0,
    "device": "cpu",
    "threads": 1,
}


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


@pytest.fixture(scope="module")
def small():
    return make_communities(num_nodes=150, num_communities=3, random_state=0)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def path_graph():
    """0 - 1 - 2: degrees with self loops 2, 3, 2."""
    return Graph.from_edges(np.array([[0, 1], [1, 2]]), num_nodes=3)


def hand_adjacency():
    """D^-1/2 (A + I) D^-1/2 of the path 0 - 1 - 2, written out."""
    d = np.array([2.0, 3.0, 2.0])
    a = np.array([[1, 1, 0], [1, 1, 1], [0, 1, 1]], dtype=float)
    return a / np.sqrt(np.outer(d, d))


# Encoder -------------------------------------------------------------------------------
def test_the_embedding_table_starts_orthogonal():
    encoder = LinearResidualEncoder(None, 4, num_nodes=10, generator=gen(0))
    e = encoder.embedding.detach()
    assert e.shape == (10, 4)
    assert torch.allclose(e.T @ e, torch.eye(4), atol=1e-5)  # orthonormal columns (N >= d)


def test_linear_propagation_with_a_residual_by_hand():
    data = GraphTensors.from_graph(path_graph(), features=False)
    encoder = LinearResidualEncoder(None, 2, num_layers=2, residual=0.5, num_nodes=3)
    e = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with torch.no_grad():
        encoder.embedding.copy_(e)
        for layer in encoder.layers:
            layer.weight.copy_(2 * torch.eye(2))  # h W^T = 2 h
            layer.bias.copy_(torch.tensor([1.0, -1.0]))
    encoder.eval()
    z = encoder(None, data.adj).z.detach().numpy()
    a, h0, b = hand_adjacency(), e.numpy(), np.array([1.0, -1.0])
    h1 = a @ (2 * h0) + b + 0.5 * h0  # no nonlinearity between the hops
    h2 = a @ (2 * h1) + b + 0.5 * h0
    np.testing.assert_allclose(z, h2, rtol=1e-5)


def test_features_are_projected_and_added_to_the_embedding():
    x = torch.tensor([[1.0, 2.0], [0.0, 1.0], [3.0, 0.0]])
    encoder = LinearResidualEncoder(2, 4, num_nodes=3, generator=gen(0))
    expected = x @ encoder.project.weight.detach().T + encoder.embedding.detach()
    assert torch.allclose(encoder.inputs(x), expected)
    alone = LinearResidualEncoder(2, 4, num_nodes=3, embedding=False, generator=gen(0))
    assert alone.embedding is None and torch.allclose(alone.inputs(x), x @ alone.project.weight.detach().T)


def test_a_residual_needs_codes_as_wide_as_the_input():
    with pytest.raises(ValueError, match="out_channels == channels"):
        LinearResidualEncoder(None, 4, out_channels=3, num_nodes=3)
    assert LinearResidualEncoder(None, 4, out_channels=3, residual=0.0, num_nodes=3).out_channels == 3


# Decoder -------------------------------------------------------------------------------
def test_residual_hadamard_decoder_by_hand():
    decoder = ResidualHadamardDecoder(2, num_layers=2, dropout=0.0)
    with torch.no_grad():
        decoder.mlp.layers[0].weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -3.0]]))
        decoder.mlp.layers[0].bias.zero_()
        decoder.mlp.layers[1].weight.copy_(torch.tensor([[1.0, 10.0]]))
        decoder.mlp.layers[1].bias.fill_(0.5)
    z = torch.tensor([[1.0, 2.0], [3.0, 1.0]])
    # x = z_0 * z_1 = (3, 2); hidden = relu(W1 x + x) = relu((3 + 3, -6 + 2)) = (6, 0); logit = 6 + 0.5
    logits = decoder(z, torch.tensor([[0, 1], [1, 0]]))
    assert logits.tolist() == [6.5, 6.5]  # symmetric
    decoder.mlp.residual = False  # hidden = relu((3, -6)) = (3, 0)
    assert decoder(z, torch.tensor([[0], [1]])).tolist() == [3.5]


def test_a_residual_mlp_needs_hidden_layers_as_wide_as_its_input():
    with pytest.raises(ValueError, match=r"hidden_channels == in_channels \(4\). Got 3"):
        MLP(4, 3, num_layers=2, residual=True)
    assert len(MLP(4, 3, num_layers=1, residual=True).layers) == 1  # no hidden layer: nothing to add to


def test_decoder_dropout_is_off_in_evaluation():
    decoder = ResidualHadamardDecoder(8, num_layers=3, dropout=0.3, generator=gen(0))
    z, pairs = torch.randn(5, 8, generator=gen(1)), torch.tensor([[0, 1, 2], [3, 4, 0]])
    decoder.eval()
    assert torch.equal(decoder(z, pairs, gen(2)), decoder(z, pairs, gen(3)))
    decoder.train()
    assert not torch.equal(decoder(z, pairs, gen(2)), decoder(z, pairs, gen(3)))


# Mini-batches of edges -------------------------------------------------------------------
def test_edges_per_step():
    assert edges_per_step("auto", 1_067_911) == 8192  # the reference's on ogbl-ddi
    assert edges_per_step("auto", 1000) == 250  # at least four steps per epoch
    assert edges_per_step(None, 1000) == 1000
    assert edges_per_step(300, 1000) == 300 and edges_per_step(5000, 1000) == 1000


class _SpyEncoder(LinearResidualEncoder):
    def __init__(self, num_nodes):
        super().__init__(None, 4, num_nodes=num_nodes, generator=gen(0))
        self.seen = []

    def forward(self, x, adj, generator=None) -> EncoderOutput:
        self.seen.append(adj.a.to_dense())
        return super().forward(x, adj, generator)


class _SpyDecoder(ResidualHadamardDecoder):
    def __init__(self):
        super().__init__(4, 2, 0.0, True, gen(0))
        self.pairs = []

    def forward(self, z, pairs, generator=None):
        self.pairs.append(pairs)
        return super().forward(z, pairs, generator)


def test_an_epoch_steps_on_every_edge_once_hiding_each_batch_from_its_encoder(small):
    data = GraphTensors.from_graph(small, features=False)
    encoder, decoder = _SpyEncoder(data.num_nodes), _SpyDecoder()
    model = GraphAutoencoder(encoder, decoder)
    objective = EdgeBatchObjective(lr=0.01, batch_size=256, num_negatives=3)
    objective.setup(model, data)
    logs = objective.step(model, data, objective.configure_optimizers(model), gen(0))
    num_edges, n = data.edge_index.shape[1], data.num_nodes  # 600 edges: steps of 256, 256, 88
    assert len(decoder.pairs) == 3 and set(logs) == {"loss"} and logs["loss"] > 0
    seen = []
    for adj, pairs in zip(encoder.seen, decoder.pairs, strict=True):
        k = pairs.shape[1] // 4  # the batch's edges, then 3 negatives each
        pos, neg = pairs[:, :k], pairs[:, k:]
        assert neg.shape[1] == 3 * k
        assert (adj[pos[0], pos[1]] == 0).all() and (adj[pos[1], pos[0]] == 0).all()
        assert (adj > 0).sum() == n + 2 * (num_edges - k)  # self loops and every other edge, both ways
        seen.extend((pos[0] * n + pos[1]).tolist())
    assert sorted(seen) == sorted((data.edge_index[0] * n + data.edge_index[1]).tolist())


def test_without_mask_input_the_encoder_sees_the_whole_graph(small):
    data = GraphTensors.from_graph(small, features=False)
    encoder = _SpyEncoder(data.num_nodes)
    model = GraphAutoencoder(encoder, _SpyDecoder())
    objective = EdgeBatchObjective(batch_size=300, mask_input=False)
    objective.setup(model, data)
    objective.step(model, data, objective.configure_optimizers(model), gen(0))
    whole = data.adj.a.to_dense()
    assert len(encoder.seen) == 2 and all(torch.equal(adj, whole) for adj in encoder.seen)


def test_the_learning_rate_decays_in_steps_as_the_reference_and_survives_a_resume(small):
    data = GraphTensors.from_graph(small, features=False)
    model = GraphAutoencoder(LinearResidualEncoder(None, 4, num_nodes=data.num_nodes), _SpyDecoder())
    objective = EdgeBatchObjective(lr=0.1, batch_size=300, epochs=10, lr_decay_every=4)
    objective.setup(model, data)
    optimizers = objective.configure_optimizers(model)
    rates = []
    for epoch in range(6):
        objective.step(model, data, optimizers, gen(epoch))
        rates.append(optimizers["model"].param_groups[0]["lr"])
    # after epoch e + 1, e = 0, 4: lr * (1 - e / 10)
    assert rates == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.06, 0.06])
    again = EdgeBatchObjective(lr=0.1, batch_size=300, epochs=10, lr_decay_every=4)
    again.setup(model, data)
    again.load_state_dict(objective.state_dict())
    assert again.epoch == 6


def test_a_resumed_fit_equals_an_uninterrupted_one_across_a_decay(small, tmp_path):
    params = {**SMALL, "epochs": 6, "lr_decay_every": 2}
    whole = RefinedGAE(**params).fit(small)
    ckpt = tmp_path / "ckpt.pt"

    def crash(record):
        if record["epoch"] == 5:
            raise _Crash

    with pytest.raises(_Crash):
        RefinedGAE(**params).fit(small, callback=crash, checkpoint=ckpt, checkpoint_every=3)
    # Resumed after epoch 3; the decay after epoch 5 needs the epoch count restored.
    resumed = RefinedGAE(**params).fit(small, checkpoint=ckpt, checkpoint_every=3, resume=True)
    np.testing.assert_array_equal(resumed.embedding_, whole.embedding_)
    assert resumed.history_ == whole.history_


class _Crash(Exception):
    pass


# The estimator -------------------------------------------------------------------------
def test_it_learns_clearly_more_than_an_untrained_model(small):
    split = split_edges(small, random_state=0)

    def test_auc(**params):
        est = RefinedGAE(
            **{**SMALL, "use_features": False, "hidden_channels": 32, "out_channels": 32, **params}
        )
        est.fit(split.train)
        return auc_ap(est.pair_logits(split.test_pos), est.pair_logits(split.test_neg))[0]

    untrained = test_auc(epochs=1, lr=1e-12)  # 0.648 (propagating a random table already helps a bit)
    trained = test_auc(epochs=20)  # 0.836
    assert untrained < 0.7 and trained > 0.78


def test_fits_are_deterministic_under_a_seed_with_features(small):
    a = RefinedGAE(**SMALL).fit(small)
    b = RefinedGAE(**SMALL).fit(small)
    assert np.array_equal(a.embedding_, b.embedding_)
    assert [h["loss"] for h in a.history_] == [h["loss"] for h in b.history_]
    c = RefinedGAE(**{**SMALL, "random_state": 1}).fit(small)
    assert not np.array_equal(a.embedding_, c.embedding_)


def test_a_fit_with_features_learns_an_embedding_per_node_and_reloads(small, tmp_path):
    est = RefinedGAE(**SMALL).fit(small)
    assert est.module_.encoder.embedding.shape == (small.num_nodes, 16)
    assert est.module_.encoder.project.weight.shape == (16, small.x.shape[1])
    est.save(tmp_path / "m")
    again = load(tmp_path / "m")
    pairs = np.array([[0, 1, 2], [5, 6, 7]])
    np.testing.assert_array_equal(again.pair_logits(pairs), est.pair_logits(pairs))
    np.testing.assert_allclose(again.transform(small), est.embedding_, rtol=1e-5, atol=1e-6)


def test_without_node_embedding_the_features_alone_are_the_input(small):
    est = RefinedGAE(**{**SMALL, "node_embedding": False}).fit(small)
    assert est.module_.encoder.embedding is None


def test_transform_refuses_a_graph_of_other_nodes_when_it_learned_an_embedding(small):
    est = RefinedGAE(**SMALL).fit(small)
    other = make_communities(num_nodes=90, num_communities=3, random_state=1)
    with pytest.raises(InputError, match="learned an embedding per node of its 150 nodes.*Got 90"):
        est.transform(other)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"loss": "exact"}, "The 'loss' parameter of RefinedGAE must be 'sampled' or 'auto'"),
        (
            {"out_channels": 8},
            "The 'out_channels' parameter of RefinedGAE must equal 'hidden_channels' \\(16\\)",
        ),
        ({"decoder_layers": 0}, "The 'decoder_layers' parameter of RefinedGAE must be"),
        ({"residual": -0.1}, "The 'residual' parameter of RefinedGAE must be"),
        ({"num_negatives": 0}, "The 'num_negatives' parameter of RefinedGAE must be"),
    ],
)
def test_invalid_params_are_named(small, params, expected):
    with pytest.raises(ParameterError, match=expected):
        RefinedGAE(**{**SMALL, **params}).fit(small)


def test_other_code_widths_need_no_residual(small):
    est = RefinedGAE(**{**SMALL, "out_channels": 8, "residual": 0.0}).fit(small)
    assert est.embedding_.shape == (small.num_nodes, 8)
