"""Embedding nodes a fitted model has not seen: from their edges and features, weights unchanged."""

from pathlib import Path

import numpy as np
import pytest

import graphae
from cli_helpers import user_error
from graphae import GAE, VGAE
from graphae.cli import main
from graphae.data import make_communities
from graphae.errors import InputError
from graphae.models.maskgae import MaskGAE


@pytest.fixture(scope="module")
def graph():
    return make_communities(num_nodes=120, num_features=12, random_state=0)


@pytest.fixture(scope="module")
def model(graph):
    return GAE(epochs=10, random_state=0).fit(graph)


def _copy_of(graph, nodes, first_id=1000):
    """New nodes that copy ``nodes``: the same features and the same neighbours."""
    pairs = [(first_id + k, int(j)) for k, i in enumerate(nodes) for j in graph.adj[i].indices]
    ids = [first_id + k for k in range(len(nodes))]
    return pairs, (ids, graph.x[nodes])


def test_a_copy_of_a_node_gets_its_code(graph, model):
    # A new node with the features and neighbours of node i: the GCN gives it the code of i,
    # except for the degree normalisation of the neighbours, which now have one more edge.
    nodes = [3, 40]
    pairs, features = _copy_of(graph, nodes)
    ids, z = model.embed_new_nodes(pairs, features=features)
    assert ids.tolist() == [1000, 1001] and z.shape == (2, 16)
    before = model.embedding_[nodes]
    cosine = (z * before).sum(1) / np.linalg.norm(z, axis=1) / np.linalg.norm(before, axis=1)
    assert cosine.min() > 0.95
    swapped = model.embedding_[nodes[::-1]]  # and not the code of another node
    cross = (z * swapped).sum(1) / np.linalg.norm(z, axis=1) / np.linalg.norm(swapped, axis=1)
    assert cross.max() < cosine.min()
    np.testing.assert_array_equal(model.embedding_, model.transform())  # the model is unchanged


def test_the_new_node_depends_on_its_edges(graph, model):
    pairs, features = _copy_of(graph, [3])
    _, with_edges = model.embed_new_nodes(pairs, features=features)
    _, isolated = model.embed_new_nodes([], features=features)  # features alone: an isolated node
    assert np.abs(with_edges - isolated).max() > 1e-3


def test_all_nodes_come_back_with_include_fitted():
    # A ring: a new node beside node 0 moves the codes of the nodes near it only.
    n = 40
    edges = [(i, (i + 1) % n) for i in range(n)]
    x = np.random.default_rng(0).normal(size=(n, 6)).astype(np.float32)
    ring = graphae.Graph.from_edges(np.array(edges), num_nodes=n, x=x)
    model = GAE(epochs=5, random_state=0).fit(ring)
    pairs, features = [(1000, 0)], ([1000], x[:1])
    ids, z = model.embed_new_nodes(pairs, features=features, include_fitted=True)
    assert ids.tolist() == [*range(n), 1000]
    np.testing.assert_allclose(z[-1:], model.embed_new_nodes(pairs, features=features)[1], atol=1e-6)
    # A 2-layer GCN: the new edge changes node 0's degree, which moves the codes of nodes up
    # to 3 hops from node 0 (normalisation, then two propagations); the others keep theirs.
    hops = np.minimum(np.arange(n), n - np.arange(n))
    np.testing.assert_allclose(z[:n][hops > 3], model.embedding_[hops > 3], atol=1e-5)
    assert np.abs(z[:n][hops <= 1] - model.embedding_[hops <= 1]).max() > 1e-4


def test_save_and_load_keep_what_new_nodes_need(graph, model, tmp_path):
    model.save(tmp_path / "m")
    loaded = graphae.load(tmp_path / "m")
    pairs, features = _copy_of(graph, [3, 40])
    np.testing.assert_allclose(
        loaded.embed_new_nodes(pairs, features=features)[1],
        model.embed_new_nodes(pairs, features=features)[1],
        atol=1e-6,
    )


def test_a_featureless_model_refuses_and_says_why(graph):
    model = GAE(epochs=2, use_features=False, random_state=0).fit(graph)
    with pytest.raises(InputError, match="was trained without node features, so it has no input for a node"):
        model.embed_new_nodes([(1000, 0)], features=([1000], graph.x[:1]))


def test_a_model_with_a_node_table_refuses(graph):
    model = MaskGAE(epochs=2, use_features=False, random_state=0).fit(graph)
    with pytest.raises(InputError, match="cannot embed new nodes"):
        model.embed_new_nodes([(1000, 0)], features=([1000], graph.x[:1]))


@pytest.mark.parametrize(
    ("pairs", "features", "message"),
    [
        ([(1000, 0)], None, r"give the features of the 1 new node\(s\)"),
        ([(1000, 0)], ([1001], np.ones((1, 12))), r"no feature row for 1 of the 1 nodes"),
        ([(1000, 0)], ([1000], np.ones((1, 5))), r"5 feature columns; the model was trained on 12"),
        ([(1000, 0)], ([1000, 0], np.ones((2, 12))), r"node 0 is a node the model was trained on"),
        (
            [("a", 0)],
            (["a"], np.ones((1, 12))),
            r"New node id 'a' is text, but this model's node ids are integers",
        ),
        ([(1000, 0, 1)], None, r"edges must be pairs of node ids, shape \[k, 2\]"),
    ],
    ids=["no-features", "missing-row", "width", "known-node", "id-type", "shape"],
)
def test_bad_new_nodes_are_clear_errors(model, pairs, features, message):
    with pytest.raises(InputError, match=message):
        model.embed_new_nodes(pairs, features=features)


def test_vgae_embeds_new_nodes_with_mu(graph):
    model = VGAE(epochs=5, random_state=0).fit(graph)
    pairs, features = _copy_of(graph, [3])
    _, z1 = model.embed_new_nodes(pairs, features=features)
    _, z2 = model.embed_new_nodes(pairs, features=features)
    np.testing.assert_array_equal(z1, z2)  # mu: no sampling


# the command line ------------------------------------------------------------------------
def _files(tmp_path: Path, graph) -> tuple[Path, Path, Path, Path]:
    x = graph.x.toarray() if hasattr(graph.x, "toarray") else graph.x
    edges = tmp_path / "edges.csv"
    rows = graph.adj.tocoo()
    edges.write_text(
        "source,target\n" + "".join(f"n{a},n{b}\n" for a, b in zip(rows.row, rows.col, strict=True) if a < b)
    )
    head = "id," + ",".join(f"f{j}" for j in range(x.shape[1])) + "\n"
    feats = tmp_path / "feats.csv"
    feats.write_text(
        head + "".join(f"n{i}," + ",".join(map(repr, x[i].tolist())) + "\n" for i in range(len(x)))
    )
    new_edges = tmp_path / "new.csv"
    new_edges.write_text("source,target\nnew1,n3\nnew1,n4\nnew2,new1\n")
    new_feats = tmp_path / "new_feats.csv"
    new_feats.write_text(
        head
        + "".join(f"{n}," + ",".join(map(repr, x[i].tolist())) + "\n" for n, i in (("new1", 3), ("new2", 5)))
    )
    return edges, feats, new_edges, new_feats


def test_cli_embed_new_nodes(graph, tmp_path, capsys):
    edges, feats, new_edges, new_feats = _files(tmp_path, graph)
    run = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--edges",
                str(edges),
                "--features",
                str(feats),
                "--epochs",
                "5",
                "--quiet",
                "--out",
                str(run),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["embed", "--model", str(run), "--edges", str(new_edges), "--features", str(new_feats)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("id,z0,") and [line.split(",")[0] for line in lines[1:]] == ["new1", "new2"]
    model = graphae.load(run)
    _, z = model.embed_new_nodes([("new1", "n3"), ("new1", "n4"), ("new2", "new1")], features=str(new_feats))
    np.testing.assert_allclose(
        np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]]), z, rtol=1e-6
    )
    assert (
        main(["embed", "--model", str(run), "--edges", str(new_edges), "--features", str(new_feats), "--all"])
        == 0
    )
    assert len(capsys.readouterr().out.splitlines()) == 1 + graph.num_nodes + 2
    line = user_error(capsys, ["embed", "--model", str(run), "--features", str(new_feats)])
    assert "--features needs --edges FILE" in line
    line = user_error(capsys, ["embed", "--model", str(run), "--edges", str(new_edges)])
    assert "give the features of the 2 new node(s)" in line


def test_cli_embed_new_nodes_of_a_featureless_model(graph, tmp_path, capsys):
    edges, _, new_edges, new_feats = _files(tmp_path, graph)
    run = tmp_path / "run"
    assert main(["train", "--edges", str(edges), "--epochs", "2", "--quiet", "--out", str(run)]) == 0
    line = user_error(
        capsys, ["embed", "--model", str(run), "--edges", str(new_edges), "--features", str(new_feats)]
    )
    assert "was trained without node features, so it has no input for a node it has not seen" in line


def test_cli_embed_new_nodes_of_a_model_with_integer_ids(graph, tmp_path, capsys):
    # A feature file's ids are read as text; a model of integer ids types them as the edge
    # readers do ("2000" is 2000), and a new id that is no integer is refused naming the file.
    run = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--seed", "0", "--quiet", "--out", str(run)]) == 0
    model = graphae.load(run)
    width = model.graph_.x.shape[1]
    new_edges = tmp_path / "new.csv"
    new_edges.write_text("source,target\n2000,3\n2000,4\n2001,2000\n")
    row = ",".join(["0"] * (width - 1) + ["1"])
    new_feats = tmp_path / "new_feats.csv"
    new_feats.write_text("id," + ",".join(f"f{j}" for j in range(width)) + f"\n2000,{row}\n2001,{row}\n")
    capsys.readouterr()
    assert main(["embed", "--model", str(run), "--edges", str(new_edges), "--features", str(new_feats)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines[1:]] == ["2000", "2001"]
    x = np.zeros((2, width), dtype=np.float32)
    x[:, -1] = 1
    _, z = model.embed_new_nodes([(2000, 3), (2000, 4), (2001, 2000)], features=([2000, 2001], x))
    got = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    np.testing.assert_allclose(got, z, rtol=1e-6)
    new_feats.write_text("id," + ",".join(f"f{j}" for j in range(width)) + f"\n2000,{row}\n02001,{row}\n")
    line = user_error(
        capsys, ["embed", "--model", str(run), "--edges", str(new_edges), "--features", str(new_feats)]
    )
    assert line == (
        f"graphae: error: {new_feats}: node id '02001' is text, but this model's node ids are integers; "
        "give ids of the same kind."
    )


def test_recommend_new_nodes(graph, model):
    pairs, features = _copy_of(graph, [3, 40])
    pairs.append((1000, 1001))
    before = model.embedding_.copy()
    recs = model.recommend_new_nodes([1000, 1001, 7], pairs, features=features, k=5)
    assert len(recs) == 3 and all(len(r) == 5 for r in recs)
    ids, z = model.embed_new_nodes(pairs, features=features, include_fitted=True)
    # Exact scoring of the new node 1000 against every node of the enlarged graph.
    logits = z @ z[len(ids) - 2]
    excluded = {1000, 1001} | {b for a, b in pairs if a == 1000}
    order = [i for i in np.lexsort((np.arange(len(ids)), -logits)) if ids[i] not in excluded][:5]
    assert [other for other, _ in recs[0]] == ids[order].tolist()
    np.testing.assert_allclose([p for _, p in recs[0]], 1 / (1 + np.exp(-logits[order])), rtol=1e-6)
    single = model.recommend_new_nodes(1001, pairs, features=features, k=5, exclude_edges=False)
    logits = z @ z[len(ids) - 1]  # node 1001: every node but itself is a candidate
    order = [i for i in np.lexsort((np.arange(len(ids)), -logits)) if ids[i] != 1001][:5]
    assert [other for other, _ in single] == ids[order].tolist()
    np.testing.assert_array_equal(model.embedding_, before)  # the model is unchanged
    assert model.recommend(7, k=5) == model.recommend(7, k=5, exact=True)
    with pytest.raises(
        InputError, match="Unknown node id 1002: neither a node of the fitted graph nor a new"
    ):
        model.recommend_new_nodes(1002, pairs, features=features)


def test_cli_recommend_new_nodes_errors(graph, tmp_path, capsys):
    edges, feats, new_edges, new_feats = _files(tmp_path, graph)
    run = tmp_path / "run"
    assert main(["train", "--edges", str(edges), "--epochs", "2", "--quiet", "--out", str(run)]) == 0
    line = user_error(capsys, ["recommend", "--model", str(run), "--node", "new1", "--edges", str(new_edges)])
    assert "was trained without node features, so it has no input for a node it has not seen" in line
    line = user_error(
        capsys, ["recommend", "--model", str(run), "--node", "n1", "--features", str(new_feats)]
    )
    assert line == "graphae: error: --features needs --edges FILE (the new nodes to recommend for)"
