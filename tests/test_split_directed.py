"""The three directed link-prediction tasks, ``--task``, and reversed edge lists."""

import json

import numpy as np
import pytest
import scipy.sparse as sp

from cli_helpers import user_error
from graphae.cli import main
from graphae.data.files import load_graph, read_edgelist
from graphae.errors import InputError
from graphae.experiment import run_link_prediction
from graphae.graph import Graph
from graphae.pairs import pair_keys
from graphae.split import split_edges
from graphae.split_directed import TASKS, split_biased, split_bidirectional, split_for_task


def random_directed(n=60, p=0.08, mutual=0.15, seed=0):
    """A random directed graph in which a fraction ``mutual`` of the edges also go back."""
    rng = np.random.default_rng(seed)
    adj = sp.random(n, n, density=p, random_state=seed, format="coo")
    back = rng.random(adj.nnz) < mutual
    rows = np.concatenate([adj.row, adj.col[back]])
    cols = np.concatenate([adj.col, adj.row[back]])
    return Graph.from_edges(np.stack([rows, cols], 1), num_nodes=n, directed=True, name="random")


@pytest.fixture(params=[0, 1, 2])
def graph(request):
    return random_directed(seed=request.param)


def edge_set(g):
    return set(g.edge_keys().tolist())


def reverse(keys, n):
    return set((keys % n * n + keys // n).tolist())


def test_the_tasks():
    assert TASKS == ("general", "biased", "bidirectional")


# general -----------------------------------------------------------------------------
def test_general_is_the_directed_split_of_split_edges(graph):
    a = split_for_task(graph, "general", random_state=3)
    b = split_edges(graph, random_state=3)
    for name in ("val_pos_keys", "val_neg_keys", "test_pos_keys", "test_neg_keys"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.train.directed and edge_set(a.train) == edge_set(b.train)


# biased negatives ------------------------------------------------------------------
def test_biased_negatives_are_the_reverses_of_unidirectional_test_edges(graph):
    n, full = graph.num_nodes, edge_set(graph)
    split = split_biased(graph, val_ratio=0.05, test_ratio=0.1, random_state=0)
    uni = {k for k in full if (k % n) * n + k // n not in full}
    for pos, neg in ((split.test_pos_keys, split.test_neg_keys), (split.val_pos_keys, split.val_neg_keys)):
        assert set(pos.tolist()) <= uni  # unidirectional edges of the full graph
        assert set(neg.tolist()) == reverse(pos, n)  # their reverses ...
        assert not set(neg.tolist()) & full  # ... which are not edges
    assert len(split.test_pos_keys) == int(len(uni) * 0.1) and len(split.val_pos_keys) == int(len(uni) * 0.05)
    assert not set(split.test_pos_keys.tolist()) & set(split.val_pos_keys.tolist())
    train = edge_set(split.train)
    assert not train & set(split.test_pos_keys.tolist()) and not train & set(split.val_pos_keys.tolist())
    # As the paper's code: the training graph holds the other unidirectional edges only.
    assert train == uni - set(split.test_pos_keys.tolist()) - set(split.val_pos_keys.tolist())
    assert split.train.directed and split.train.num_nodes == n


def test_biased_can_train_on_the_pairs_linked_both_ways(graph):
    full = edge_set(graph)
    plain = split_biased(graph, random_state=0)
    both = split_biased(graph, random_state=0, train_bidirectional=True)
    mutual = {k for k in full if (k % graph.num_nodes) * graph.num_nodes + k // graph.num_nodes in full}
    assert mutual and edge_set(both.train) == edge_set(plain.train) | mutual
    np.testing.assert_array_equal(both.test_pos_keys, plain.test_pos_keys)


def test_biased_without_validation_holds_out_only_test_pairs(graph):
    split = split_biased(graph, val_ratio=0, random_state=0)
    assert len(split.val_pos_keys) == len(split.val_neg_keys) == 0


# bidirectionality ------------------------------------------------------------------
def test_bidirectional_positives_are_pairs_linked_both_ways_with_one_way_removed(graph):
    n, full = graph.num_nodes, edge_set(graph)
    split = split_bidirectional(graph, val_ratio=0.1, random_state=0)
    train = edge_set(split.train)
    pos = np.concatenate([split.val_pos_keys, split.test_pos_keys])
    mutual = {k for k in full if (k % n) * n + k // n in full and k // n < k % n}
    assert set(pos.tolist()) == mutual  # every pair linked both ways, as i -> j with i < j
    assert not train & mutual and reverse(pos, n) <= train  # i -> j removed, j -> i kept
    assert train == full - mutual
    assert len(split.val_pos_keys) == int(len(mutual) * 0.1)


def test_bidirectional_negatives_are_reverses_of_one_way_edges(graph):
    n, full = graph.num_nodes, edge_set(graph)
    split = split_bidirectional(graph, val_ratio=0.1, random_state=0)
    for pos, neg in ((split.test_pos_keys, split.test_neg_keys), (split.val_pos_keys, split.val_neg_keys)):
        assert len(neg) == len(pos)
        assert not set(neg.tolist()) & full  # non-edges ...
        assert reverse(neg, n) <= edge_set(split.train)  # ... whose reverse is a training edge
        assert np.all(neg // n < neg % n)  # written i -> j with i < j, as the positives
    assert not set(split.test_neg_keys.tolist()) & set(split.val_neg_keys.tolist())


@pytest.mark.parametrize("task", TASKS)
def test_the_same_seed_gives_the_same_split(graph, task):
    a, b = (split_for_task(graph, task, random_state=7) for _ in range(2))
    for name in ("val_pos_keys", "val_neg_keys", "test_pos_keys", "test_neg_keys"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert np.all(a.test_pos_keys // graph.num_nodes != a.test_pos_keys % graph.num_nodes)  # no self loops


# errors ------------------------------------------------------------------------------
@pytest.mark.parametrize("task", ["biased", "bidirectional"])
def test_the_directed_tasks_need_a_directed_graph(task):
    graph = Graph.from_edges([[0, 1], [1, 2], [2, 3]], name="path")
    with pytest.raises(
        InputError, match=f"The '{task}' task needs a directed graph; graph 'path' is undirected"
    ):
        split_for_task(graph, task)
    with pytest.raises(InputError, match="needs a directed graph"):
        run_link_prediction(graph, task=task)


def test_an_unknown_task_is_named():
    with pytest.raises(
        InputError,
        match=r"The 'task' parameter must be one of \['general', 'biased', 'bidirectional'\]. Got 'x'",
    ):
        split_for_task(random_directed(), "x")


def test_a_graph_without_pairs_linked_both_ways_has_no_bidirectional_task():
    graph = Graph.from_edges([[0, 1], [1, 2], [2, 3], [3, 0]], directed=True, name="cycle")
    with pytest.raises(InputError, match="has 0 pairs linked both ways"):
        split_bidirectional(graph)


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"test_ratio": 0}, "'test_ratio'"), ({"val_ratio": 1}, "'val_ratio'")]
)
def test_biased_ratios_are_checked(kwargs, message):
    with pytest.raises(InputError, match=message):
        split_biased(random_directed(), **kwargs)


# reversed edge lists ----------------------------------------------------------------
def test_reverse_reads_rows_as_target_source(tmp_path):
    path = tmp_path / "cites.tsv"
    path.write_text("a\tb\nc\tb\nb\td\n")
    plain = read_edgelist(path, directed=True)
    flipped = read_edgelist(path, directed=True, reverse=True)
    assert list(flipped.node_ids) == list(plain.node_ids) == ["a", "b", "c", "d"]
    np.testing.assert_array_equal(flipped.adj.toarray(), plain.adj.toarray().T)
    assert load_graph(path, directed=True, reverse=True).adj[1, 0] == 1  # b -> a


def test_reverse_transposes_an_npz_adjacency(tmp_path):
    adj = sp.csr_matrix(np.array([[0, 1, 1], [0, 0, 1], [0, 0, 0]], dtype=np.float32))
    path = tmp_path / "g.npz"
    np.savez(path, adj_data=adj.data, adj_indices=adj.indices, adj_indptr=adj.indptr, adj_shape=adj.shape)
    graph = load_graph(path, directed=True, reverse=True)
    np.testing.assert_array_equal(graph.adj.toarray(), adj.toarray().T)


def test_cora_cites_reversed_points_from_citing_to_cited(data_root):
    graph = load_graph(data_root / "directed" / "cora.cites", directed=True, reverse=True)
    ids = {v: i for i, v in enumerate(graph.node_ids.tolist())}
    # The first row, "35<TAB>1033": paper 1033 cites paper 35.
    assert graph.adj[ids[1033], ids[35]] == 1 and graph.adj[ids[35], ids[1033]] == 0
    assert (graph.num_nodes, graph.num_edges) == (2708, 5429)
    both = pair_keys(np.stack(graph.adj.multiply(graph.adj.T).nonzero()), graph.num_nodes, directed=False)
    assert len(np.unique(both)) == 151  # pairs citing each other


# the command line --------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--task", "biased"], "--task needs a directed graph (--directed)"),
        (["--task", "general"], "--task needs a directed graph (--directed)"),
        (["--reverse-edges", "--directed"], "--reverse-edges needs --edges FILE"),
    ],
)
def test_cli_direction_options_are_checked(capsys, args, message):
    assert message in user_error(capsys, ["train", "--epochs", "1", "--device", "cpu", *args])


def test_cli_reverse_edges_needs_directed(capsys, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("a,b\nb,c\n")
    line = user_error(capsys, ["train", "--edges", str(path), "--reverse-edges", "--epochs", "1"])
    assert "--reverse-edges needs --directed" in line


def test_cli_trains_a_directed_task_and_records_it(data_root, tmp_path):
    cites = data_root / "directed" / "cora.cites"
    out = tmp_path / "run"
    argv = ["train", "--edges", str(cites), "--directed", "--reverse-edges", "--task", "biased"]
    argv += ["--model", "gae", "--epochs", "2", "--device", "cpu", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["task"] == "biased" and metrics["directed"] is True and metrics["model"] == "gae"
    split = np.load(out / "split.npz")
    pos, neg = split["test_pos"], split["test_neg"]
    assert sorted(map(tuple, pos.T.tolist())) == sorted(map(tuple, neg[::-1].T.tolist()))
