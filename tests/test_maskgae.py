"""MaskGAE (Li et al., 2023): masking, the visible graph, the MLP decoders, the degree target, the estimator."""

import numpy as np
import pytest
import torch
from torch import nn

from graphae import load
from graphae.data import make_communities
from graphae.errors import ParameterError
from graphae.graph import Graph
from graphae.metrics import auc_ap
from graphae.models.maskgae import MaskGAE
from graphae.nn import EncoderOutput, InnerProductDecoder, SparseOperator
from graphae.nn.deep_encoder import DeepGCNEncoder, MaskedGraphAutoencoder
from graphae.nn.mlp_decoder import DegreeDecoder, HadamardMLPDecoder, dropout
from graphae.split import split_edges
from graphae.training import GraphTensors
from graphae.training.data import features_to_tensor
from graphae.training.hidden_edges import visible_adjacency
from graphae.training.masking import MaskedEdgeObjective, PathMasker, degree_target, mask_edges

FAST = {"epochs": 8, "random_state": 0, "device": "cpu", "threads": 1}


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


@pytest.fixture(scope="module")
def small():
    return make_communities(num_nodes=150, num_communities=3, random_state=0)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# Masking -------------------------------------------------------------------------------
def test_mask_edges_hides_about_p_and_follows_the_generator():
    edges = torch.zeros(2, 20000, dtype=torch.long)
    hidden = mask_edges(edges, 0.3, gen(1))
    assert hidden.shape == (20000,) and hidden.dtype == torch.bool
    assert abs(hidden.float().mean().item() - 0.3) < 0.02
    assert torch.equal(hidden, mask_edges(edges, 0.3, gen(1)))
    assert not torch.equal(hidden, mask_edges(edges, 0.3, gen(2)))


def test_path_masking_hides_the_expected_share_of_edges(small):
    # Walks start in proportion to degree (the walk's stationary law), so each step crosses
    # each edge 2p times on average: about 1 - exp(-2 p L) of the edges are hidden.
    masker = PathMasker(torch.from_numpy(small.edges()), small.num_nodes)
    for p, length in ((0.1, 1), (0.2, 1), (0.1, 2)):
        share = torch.stack([masker(p, length, gen(s)) for s in range(20)]).float().mean().item()
        assert share == pytest.approx(1 - np.exp(-2 * p * length), abs=0.04)
    assert not masker(0.0, 2, gen(0)).any()


def test_path_masking_walks_the_adjacency_lists():
    # A path 0-1-2-3-4: the lists of both orientations give degrees 1, 2, 2, 2, 1; walks
    # started from (nearly) every orientation cross every edge; none started, none hidden.
    edges = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    masker = PathMasker(edges, 5)
    assert masker.degree.tolist() == [1, 2, 2, 2, 1]
    assert masker.rowptr.tolist() == [0, 1, 3, 5, 7]
    # Each adjacency entry keeps its edge's id: entry k joins src[k] and dst[k].
    for k in range(8):
        e = int(masker.eid[k])
        assert {int(masker.src[k]), int(masker.dst[k])} == {e, e + 1}
    assert masker(0.999, 2, gen(0)).all()
    assert not masker(0.0, 2, gen(0)).any()


def test_path_masking_on_a_directed_graph_follows_directions():
    edges = torch.tensor([[0, 1], [1, 2]])  # 0 -> 1 -> 2; node 2 has no out-edge
    masker = PathMasker(edges, 3, directed=True)
    assert masker.degree.tolist() == [1, 1, 0]
    assert masker(0.999, 5, gen(0)).tolist() == [True, True]


def test_path_orientations_are_the_crossed_entries_and_agree_with_the_edges(small):
    edges = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    masker = PathMasker(edges, 5)
    # Entry k runs src[k] -> dst[k]; its orientation id is e (as given) or E + e (reversed).
    for k in range(8):
        o = int(masker.oid[k])
        e, rev = o % 4, o >= 4
        assert (int(masker.src[k]), int(masker.dst[k])) == (edges[int(rev), e], edges[1 - int(rev), e])
    assert masker.orientations(0.999, 2, gen(0)).shape == (2, 4)
    big = PathMasker(torch.from_numpy(small.edges()), small.num_nodes)
    for seed in range(3):
        both = big.orientations(0.2, 2, gen(seed))
        assert torch.equal(both.any(dim=0), big(0.2, 2, gen(seed)))  # same draws, same edges
        assert (both[0] != both[1]).any()  # orientations are crossed on their own
    assert PathMasker(edges, 5, directed=True).orientations(0.5, 2, gen(0)).shape == (1, 4)


def test_degree_target_by_hand():
    hidden = torch.tensor([[0, 0, 1], [1, 2, 2]])
    expected = torch.log1p(torch.tensor([2.0, 2.0, 2.0, 0.0]))
    torch.testing.assert_close(degree_target(hidden, 4), expected)
    assert degree_target(hidden, 4).dtype == torch.float32
    targets = torch.log1p(torch.tensor([0.0, 1.0, 2.0, 0.0]))
    torch.testing.assert_close(degree_target(hidden, 4, both_ends=False), targets)


def test_visible_adjacency_is_the_gcn_normalisation_of_the_visible_edges():
    adj = visible_adjacency(torch.tensor([[0], [1]]), 3, directed=False).a.to_dense()
    expected = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    torch.testing.assert_close(adj, expected)


class _SpyEncoder(nn.Module):
    """Records the adjacency it is given; codes are a parameter."""

    variational = False

    def __init__(self, n, d=4):
        super().__init__()
        self.z = nn.Parameter(torch.randn(n, d, generator=gen(0)))
        self.seen = []

    def forward(self, x, adj, generator=None):
        self.seen.append(adj.a.to_dense())
        return EncoderOutput(z=self.z, mu=self.z)


class _SpyDecoder(HadamardMLPDecoder):
    def __init__(self, d):
        super().__init__(d, 8, 2, 0.0, gen(0))
        self.pairs = []

    def forward(self, z, pairs, generator=None):
        self.pairs.append(pairs)
        return super().forward(z, pairs, generator)


@pytest.mark.parametrize("mask", ["edge", "path"])
def test_hidden_edges_are_never_visible_to_the_encoder_in_their_step(small, mask):
    data = GraphTensors.from_graph(small, features=False)
    encoder, decoder = _SpyEncoder(data.num_nodes), _SpyDecoder(4)
    model = MaskedGraphAutoencoder(encoder, decoder, DegreeDecoder(4, 8, 2, 0.0, gen(0)))
    objective = MaskedEdgeObjective(mask=mask, mask_ratio=0.3, walk_length=2, num_negatives=2, alpha=0.5)
    objective.setup(model, data)
    optimizers = objective.configure_optimizers(model)
    for step in range(3):
        logs = objective.step(model, data, optimizers, gen(step))
        assert set(logs) == {"loss", "edge", "degree"} and logs["degree"] > 0
        adj, pairs = encoder.seen[-1], decoder.pairs[-1]
        num_pos = pairs.shape[1] // 3  # the hidden edges, then 2 negatives each
        assert pairs.shape[1] == 3 * num_pos and 0 < num_pos < data.edge_index.shape[1]
        pos = pairs[:, :num_pos]
        assert (adj[pos[0], pos[1]] == 0).all() and (adj[pos[1], pos[0]] == 0).all()
        keys = set((pos[0] * data.num_nodes + pos[1]).tolist())
        edges = data.edge_index
        shown = torch.tensor([int(k) not in keys for k in (edges[0] * data.num_nodes + edges[1]).tolist()])
        visible = edges[:, shown]
        assert (adj[visible[0], visible[1]] > 0).all()  # everything else is shown
        assert len(keys) + visible.shape[1] == edges.shape[1]


@pytest.mark.parametrize("mask", ["edge", "path"])
def test_masked_orientations_are_reconstructed_and_edges_hidden_only_both_ways(small, mask):
    data = GraphTensors.from_graph(small, features=False)
    n, edges = data.num_nodes, data.edge_index
    encoder, decoder = _SpyEncoder(n), _SpyDecoder(4)
    model = MaskedGraphAutoencoder(encoder, decoder)
    ratio = 0.5 if mask == "edge" else 0.2
    objective = MaskedEdgeObjective(mask=mask, mask_ratio=ratio, walk_length=2, orientations=True)
    objective.setup(model, data)
    optimizers = objective.configure_optimizers(model)
    for step in range(3):
        objective.step(model, data, optimizers, gen(step))
        adj, pairs = encoder.seen[-1], decoder.pairs[-1]
        pos = pairs[:, : pairs.shape[1] // 2]  # one negative per positive
        keys = (pos[0] * n + pos[1]).tolist()
        assert len(set(keys)) == len(keys)  # an orientation is a positive at most once
        hidden = set(keys)
        both = [(u * n + v in hidden) and (v * n + u in hidden) for u, v in edges.t().tolist()]
        one = [(u * n + v in hidden) != (v * n + u in hidden) for u, v in edges.t().tolist()]
        assert any(both) and any(one)  # a share of the edges is half hidden
        shown = adj[edges[0], edges[1]] > 0
        assert torch.equal(shown, ~torch.tensor(both))  # invisible exactly when both are hidden
    # Per orientation, an edge mask hides about p of them: 2 p E positives.
    if mask == "edge":
        assert pos.shape[1] == pytest.approx(2 * ratio * edges.shape[1], rel=0.15)


def test_orientations_change_nothing_on_a_directed_graph():
    graph = Graph.from_edges(np.array([[i, (i + 1) % 30] for i in range(30)]), num_nodes=30, directed=True)
    data = GraphTensors.from_graph(graph, features=False)
    runs = []
    for orientations in (False, True):
        encoder, decoder = _SpyEncoder(data.num_nodes), _SpyDecoder(4)
        objective = MaskedEdgeObjective(mask_ratio=0.5, orientations=orientations)
        model = MaskedGraphAutoencoder(encoder, decoder)
        objective.setup(model, data)
        objective.step(model, data, objective.configure_optimizers(model), gen(0))
        runs.append(decoder.pairs[-1])
    assert torch.equal(runs[0], runs[1])


def test_no_masking_reconstructs_every_edge_on_the_whole_graph(small):
    data = GraphTensors.from_graph(small, features=False)
    encoder, decoder = _SpyEncoder(data.num_nodes), _SpyDecoder(4)
    model = MaskedGraphAutoencoder(encoder, decoder)
    objective = MaskedEdgeObjective(mask="none", num_negatives=1)
    objective.setup(model, data)
    objective.step(model, data, objective.configure_optimizers(model), gen(0))
    torch.testing.assert_close(encoder.seen[-1], data.adj.a.to_dense())
    assert torch.equal(decoder.pairs[-1][:, : data.edge_index.shape[1]], data.edge_index)


def test_a_degree_loss_needs_a_degree_decoder(small):
    data = GraphTensors.from_graph(small, features=False)
    model = MaskedGraphAutoencoder(_SpyEncoder(data.num_nodes), _SpyDecoder(4))
    with pytest.raises(
        ParameterError, match=r"weighs a degree loss \(alpha=0.1\) but its model has no degree"
    ):
        MaskedEdgeObjective(alpha=0.1, owner="MaskGAE").setup(model, data)


def test_an_unknown_mask_is_named():
    with pytest.raises(
        ParameterError, match=r"The 'mask' parameter of MaskGAE must be one of \['path', 'edge', 'none'\]"
    ):
        MaskedEdgeObjective(mask="nodes", owner="MaskGAE")


# Decoders and encoder ------------------------------------------------------------------
def test_dropout_keeps_or_scales_and_is_off_in_evaluation():
    x = torch.ones(1000)
    out = dropout(x, 0.25, True, gen(0))
    assert torch.isin(out, torch.tensor([0.0, 4 / 3])).all()
    assert abs((out == 0).float().mean().item() - 0.25) < 0.05
    assert torch.equal(out, dropout(x, 0.25, True, gen(0)))
    assert dropout(x, 0.25, False, gen(0)) is x and dropout(x, 0.0, True, gen(0)) is x


def test_hadamard_mlp_decoder_by_hand():
    dec = HadamardMLPDecoder(3, 2, num_layers=2, dropout=0.5, generator=gen(0)).eval()
    z = torch.tensor([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0], [3.0, 0.0, 1.0]])
    pairs = torch.tensor([[0, 1, 2], [1, 2, 0]])
    w1, b1 = dec.mlp.layers[0].weight, dec.mlp.layers[0].bias
    w2, b2 = dec.mlp.layers[1].weight, dec.mlp.layers[1].bias
    h = z[pairs[0]] * z[pairs[1]]
    expected = (torch.relu(h @ w1.T + b1) @ w2.T + b2).squeeze(-1)
    with torch.no_grad():
        torch.testing.assert_close(dec(z, pairs), expected)
        torch.testing.assert_close(dec(z, pairs), dec(z, pairs.flip(0)))  # symmetric
        assert dec.score_rows(z, torch.tensor([1])).shape == (1, 3)
        torch.testing.assert_close(dec.score_rows(z, torch.tensor([0]))[0, 1], dec(z, pairs)[0])
    assert dec.symmetric and not dec.has_exact_loss
    assert repr(dec) == "HadamardMLPDecoder(3, hidden=2, layers=2, dropout=0.5)"
    dec.train()
    a, b = dec(z, pairs, gen(3)), dec(z, pairs, gen(3))
    torch.testing.assert_close(a, b)  # training dropout follows the generator


def test_input_dropout_drops_the_product_before_the_first_layer():
    dec = HadamardMLPDecoder(3, 2, num_layers=2, dropout=0.0, generator=gen(0), input_dropout=0.5)
    z = torch.tensor([[1.0, 2.0, -1.0], [0.5, -1.0, 2.0], [3.0, 0.0, 1.0]])
    pairs = torch.tensor([[0, 1, 2], [1, 2, 0]])
    w1, b1 = dec.mlp.layers[0].weight, dec.mlp.layers[0].bias
    w2, b2 = dec.mlp.layers[1].weight, dec.mlp.layers[1].bias
    h = z[pairs[0]] * z[pairs[1]]
    with torch.no_grad():
        dropped = dropout(h, 0.5, True, gen(7))  # the draws the decoder makes with gen(7)
        expected = (torch.relu(dropped @ w1.T + b1) @ w2.T + b2).squeeze(-1)
        torch.testing.assert_close(dec(z, pairs, gen(7)), expected)
        dec.eval()
        torch.testing.assert_close(dec(z, pairs), (torch.relu(h @ w1.T + b1) @ w2.T + b2).squeeze(-1))
    assert repr(dec) == "HadamardMLPDecoder(3, hidden=2, layers=2, dropout=0, input_dropout=0.5)"


def test_degree_decoder_shape():
    deg = DegreeDecoder(8, 16, num_layers=2, generator=gen(0))
    assert deg(torch.randn(5, 8, generator=gen(1))).shape == (5,)


def test_sparse_operator_with_values_matches_dense_products():
    dense = torch.tensor([[1.0, 0.0, 2.0], [0.0, 3.0, 0.0], [4.0, 5.0, 0.0], [0.0, 0.0, 6.0]])
    op = SparseOperator(dense.to_sparse_csr())
    values = torch.tensor([10.0, 20.0, 30.0, 40.0, 50.0, 60.0])
    new = op.with_values(values)
    expected = torch.tensor([[10.0, 0.0, 20.0], [0.0, 30.0, 0.0], [40.0, 50.0, 0.0], [0.0, 0.0, 60.0]])
    torch.testing.assert_close(new.a.to_dense(), expected)
    torch.testing.assert_close(new.a_t.to_dense(), expected.T)
    w = torch.randn(3, 2, generator=gen(0), requires_grad=True)
    (new @ w).sum().backward()
    torch.testing.assert_close(w.grad, expected.T @ torch.ones(4, 2))


def test_input_dropout_on_sparse_features_drops_stored_entries():
    x = features_to_tensor(make_communities(num_nodes=40, num_communities=2, random_state=0).x, "cpu")
    enc = DeepGCNEncoder(x.shape[1], 8, 4, num_layers=1, dropout=0.5, batch_norm=False, generator=gen(0))
    op = SparseOperator(x)
    dense_w = enc._first_transform(x.to_dense(), None)  # evaluation: no dropout
    enc.eval()
    torch.testing.assert_close(enc._first_transform(op, None), enc._first_transform(x.to_dense(), None))
    enc.train()
    dropped = enc._first_transform(op, gen(0))
    assert dropped.shape == dense_w.shape and not torch.allclose(dropped, dense_w)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_encoder_shapes_and_evaluation_is_deterministic(layers, small):
    data = GraphTensors.from_graph(small)
    enc = DeepGCNEncoder(data.in_channels, 16, 8, num_layers=layers, dropout=0.5, generator=gen(0))
    assert len(enc.convs) == layers and enc.embedding is None
    out = enc(data.x, data.adj, gen(0))
    assert out.z.shape == (small.num_nodes, 8) and out.mu is out.z
    enc.eval()
    torch.testing.assert_close(enc(data.x, data.adj).z, enc(data.x, data.adj).z)


def test_learned_embeddings_replace_identity_features(small):
    data = GraphTensors.from_graph(small, features=False)
    enc = DeepGCNEncoder(data.in_channels, 16, 8, embedding_channels=12, generator=gen(0))
    assert enc.embedding.shape == (small.num_nodes, 12) and enc.convs[0].weight.shape == (12, 8)
    assert enc(None, data.adj, gen(0)).z.shape == (small.num_nodes, 8)
    with pytest.raises(ValueError, match="takes no features"):
        enc(torch.ones(small.num_nodes, 3), data.adj)


# The estimator ---------------------------------------------------------------------------
def test_featureless_fits_learn_an_embedding_table_and_reload(small, tmp_path):
    featureless = small.replace(x=None)
    est = MaskGAE(**FAST, embedding_channels=24, out_channels=16).fit(featureless)
    assert est.module_.encoder.embedding.shape == (small.num_nodes, 24)
    assert len(est.module_.encoder.convs) == 2  # num_layers=None: 2 on learned embeddings
    assert est.embedding_.shape == (small.num_nodes, 16)
    est.save(tmp_path / "m")
    again = load(tmp_path / "m")
    np.testing.assert_array_equal(again.predict_proba([(0, 1), (2, 3)]), est.predict_proba([(0, 1), (2, 3)]))
    with_features = MaskGAE(**FAST, embedding_channels=24).fit(small)
    assert with_features.module_.encoder.embedding is None and len(with_features.module_.encoder.convs) == 1
    identity = MaskGAE(**FAST, embedding_channels=0).fit(featureless)
    assert identity.module_.encoder.embedding is None


def test_decoder_choices_build_the_right_modules(small):
    mlp = MaskGAE(**FAST, alpha=0.5).fit(small).module_
    assert isinstance(mlp.decoder, HadamardMLPDecoder) and isinstance(mlp.degree_decoder, DegreeDecoder)
    assert mlp.decoder.mlp.input_dropout == 0.0
    reference = MaskGAE(**FAST, decoder_dropout=0.0, decoder_input_dropout=0.2).fit(small).module_
    assert (reference.decoder.mlp.input_dropout, reference.decoder.mlp.dropout) == (0.2, 0.0)
    inner = MaskGAE(**FAST, alpha=0.5, decoder_layers=0).fit(small).module_
    assert isinstance(inner.decoder, InnerProductDecoder) and inner.degree_decoder is None
    assert MaskGAE(**FAST, alpha=0.0).fit(small).module_.degree_decoder is None


@pytest.mark.parametrize(
    ("mask", "ratio", "orientations"),
    [
        ("edge", 0.5, False),
        ("path", 0.3, False),
        ("none", 0.5, False),
        ("edge", 0.7, True),
        ("path", 0.3, True),
    ],
)
def test_every_mask_trains_deterministically_under_a_seed(small, mask, ratio, orientations):
    settings = {"mask": mask, "mask_ratio": ratio, "alpha": 0.1, "mask_orientations": orientations}
    a = MaskGAE(**FAST, **settings, decoder_input_dropout=0.2).fit(small)
    b = MaskGAE(**FAST, **settings, decoder_input_dropout=0.2).fit(small)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert a.history_ == b.history_ and set(a.history_[0]) == {"epoch", "loss", "edge", "degree"}
    c = MaskGAE(**{**FAST, "random_state": 1}, **settings).fit(small)
    assert not np.array_equal(a.embedding_, c.embedding_)


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        ("mask_ratio", 1.0, r"a float in \[0, 1\)"),
        ("encoder_dropout", -0.1, r"a float in \[0, 1\)"),
        ("alpha", -1.0, "a float >= 0"),
        ("num_negatives", 0, "an int >= 1"),
        ("mask", "nodes", r"one of \['path', 'edge', 'none'\]"),
        ("walk_length", 0, "None or an int >= 1"),
        ("decoder_input_dropout", 1.0, r"a float in \[0, 1\)"),
        ("mask_orientations", "yes", "a bool"),
    ],
)
def test_invalid_maskgae_params_are_named(small, param, value, expected):
    with pytest.raises(ValueError, match=f"The '{param}' parameter of MaskGAE must be {expected}. Got"):
        MaskGAE(**FAST, **{param: value}).fit(small)


def test_the_loss_must_be_sampled(small):
    with pytest.raises(
        ParameterError, match=r"The 'loss' parameter of MaskGAE must be 'sampled'.*Got 'exact'"
    ):
        MaskGAE(**FAST, loss="exact").fit(small)


def test_a_graph_with_one_edge_still_trains():
    graph = Graph.from_edges(np.array([[0, 1]]), num_nodes=3)
    est = MaskGAE(**FAST, mask_ratio=0.0, out_channels=4, batch_norm=False).fit(graph)
    assert np.isfinite(est.embedding_).all()


def test_validation_scores_use_the_decoder_without_dropout(small):
    """The loop scores validation pairs between training steps: the MLP decoder must not drop then."""
    split = split_edges(small, random_state=0)
    est = MaskGAE(**{**FAST, "epochs": 2}, eval_every=1, decoder_dropout=0.5)
    est.fit(split.train, val_pairs=(split.val_pos, split.val_neg))
    expected = auc_ap(est.pair_logits(split.val_pos), est.pair_logits(split.val_neg))[0]
    assert est.history_[-1]["val_auc"] == pytest.approx(expected, abs=1e-12)


def test_it_learns_clearly_more_than_an_untrained_model(small):
    """A few epochs on the small graph lift test AUC far above what the untrained model scores."""
    split = split_edges(small, random_state=0)
    sizes = {"hidden_channels": 32, "out_channels": 16, "decoder_channels": 16, "embedding_channels": 32}

    def test_auc(**params):
        est = MaskGAE(**{**FAST, **sizes, **params}).fit(split.train)
        return auc_ap(est.pair_logits(split.test_pos), est.pair_logits(split.test_neg))[0]

    untrained = test_auc(epochs=1, lr=1e-12)  # 0.422
    trained = test_auc(epochs=20)  # 0.844
    assert untrained < 0.6 and trained > 0.75
