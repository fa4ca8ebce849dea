"""Ids and sizes a saved model could not hold are refused before training (issue 19, items 8 and 17).

Parquet ``uint64`` ids of 2**63 or more used to train and leave a run folder that no
command could load (``node_ids.txt`` is read back as int64).
"""

import re

import networkx as nx
import numpy as np
import pytest

from cli_helpers import user_error
from graphae.data import GraphFileError, as_graph, read_edgelist
from graphae.errors import InputError, InputTypeError
from graphae.graph import Graph

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

BIG = 2**63


def _ring_parquet(path, source, target):
    pq.write_table(pa.table({"source": source, "target": target}), path)
    return path


def test_uint64_ids_beyond_int64_are_refused_naming_column_and_row(tmp_path) -> None:
    ids = np.arange(30, dtype=np.uint64) + np.uint64(BIG - 5)
    path = _ring_parquet(tmp_path / "e.parquet", pa.array(ids), pa.array(np.roll(ids, 1)))
    with pytest.raises(
        GraphFileError,
        match="^"
        + re.escape(
            f"{path}: row 6: column 'source' holds the node id {BIG}, above {BIG - 1}, the largest id a saved "
            "model reads back (a signed 64-bit integer); store the ids as strings"
        )
        + "$",
    ):
        read_edgelist(path)


def test_cli_uint64_ids_fail_before_training(tmp_path, capsys) -> None:
    ids = np.arange(30, dtype=np.uint64) + np.uint64(BIG)
    path = _ring_parquet(tmp_path / "e.parquet", pa.array(ids), pa.array(np.roll(ids, 1)))
    run = tmp_path / "run"
    line = user_error(capsys, ["train", "--edges", str(path), "--out", str(run), "--quiet", "--epochs", "1"])
    assert line.startswith(f"graphae: error: {path}: row 1: column 'source' holds the node id {BIG}, above")
    assert not run.exists()


def test_small_uint64_ids_stay_exact_integers(tmp_path) -> None:
    big = np.arange(30, dtype=np.uint64) + np.uint64(
        2**60 + 1
    )  # beyond float64's 2**53: floats would merge ids
    path = _ring_parquet(
        tmp_path / "e.parquet", pa.array(big), pa.array(np.roll(big, 1).astype(np.int64), pa.int64())
    )
    graph = read_edgelist(path)
    assert graph.node_ids.dtype == np.int64
    assert sorted(graph.node_ids.tolist()) == sorted(int(v) for v in big)
    assert graph.num_edges == 30


def test_graph_and_networkx_refuse_ids_beyond_int64() -> None:
    with pytest.raises(InputError, match=re.escape(f"Graph.node_ids: the id {2**64 - 1} is above {BIG - 1}")):
        Graph.from_edges(np.array([[0, 1]]), num_nodes=2, node_ids=np.array([2**64 - 1, 5], dtype=np.uint64))
    with pytest.raises(InputError, match=f"^networkx node {BIG} is beyond a signed 64-bit integer"):
        as_graph(nx.path_graph([BIG, BIG + 1]))


# Item 17: indices and sizes from Python --------------------------------------------------
def _ring_graph(n: int = 12) -> Graph:
    return Graph.from_edges(
        np.array([(i, (i + 1) % n) for i in range(n)] + [(i, (i + 5) % n) for i in range(n)])
    )


GOOD = np.array([[0, 1], [1, 2]])


@pytest.mark.parametrize(
    ("val_pairs", "error", "match"),
    [
        (
            (np.array([[0, 1], [1, 99]]), GOOD),
            InputError,
            r"val_pairs\[0\] \(the positive pairs\) must hold node indices in \[0, 12\) of the graph\. Got values in \[0, 99\]\.$",
        ),
        (
            (GOOD, np.array([[0, -1], [1, 2]])),
            InputError,
            r"val_pairs\[1\] \(the negative pairs\) must hold node indices in \[0, 12\) of the graph\. Got values in \[-1, 2\]\.$",
        ),
        (
            (GOOD.astype(float), GOOD),
            InputTypeError,
            r"val_pairs\[0\] \(the positive pairs\) must hold integer node indices\. Got dtype float64\.$",
        ),
        (
            (GOOD, GOOD.astype(bool)),
            InputTypeError,
            r"val_pairs\[1\] .* must hold integer node indices\. Got dtype bool\.$",
        ),
        (
            (np.zeros((3, 2), dtype=np.int64), GOOD),
            InputError,
            r"val_pairs\[0\] .* must have shape \[2, k\] with k >= 1\. Got \[3, 2\]\.$",
        ),
        (
            (GOOD[:, :0], GOOD),
            InputError,
            r"val_pairs\[0\] .* must have shape \[2, k\] with k >= 1\. Got \[2, 0\]\.$",
        ),
        (GOOD, InputTypeError, r"^val_pairs must be a tuple \(pos, neg\)"),
    ],
    ids=["out-of-range", "negative", "float", "bool", "three-rows", "empty", "not-a-pair"],
)
def test_fit_checks_val_pairs_before_training(val_pairs, error, match) -> None:
    from graphae import GAE

    seen = []
    with pytest.raises(error, match=match):
        GAE(epochs=2, random_state=0).fit(_ring_graph(), val_pairs=val_pairs, callback=seen.append)
    assert seen == []  # no epoch ran


def test_fit_accepts_good_val_pairs_of_any_integer_type() -> None:
    from graphae import GAE

    torch = pytest.importorskip("torch")
    model = GAE(epochs=2, random_state=0).fit(
        _ring_graph(), val_pairs=(GOOD.astype(np.int32), torch.tensor([[0, 3], [6, 9]]))
    )
    assert [sorted(r) for r in model.history_] == [["epoch", "loss", "val_ap", "val_auc"]] * 2


@pytest.mark.parametrize(
    "make",
    [
        lambda: as_graph(__import__("torch").tensor([[0, 1, 10**10], [1, 2, 0]])),
        lambda: as_graph(__import__("torch").tensor([[0, 1], [1, 2]]), num_nodes=10**12),
        lambda: Graph.from_edges(np.array([[0, 1], [1, 10**10]])),
        lambda: Graph.from_edges(np.array([[0, 1]]), num_nodes=10**12),
        lambda: as_graph(
            __import__("scipy.sparse", fromlist=["x"]).coo_matrix(([1.0], ([0], [1])), shape=(10**12, 10**12))
        ),
    ],
    ids=[
        "edge_index-huge-id",
        "edge_index-num_nodes",
        "from_edges-huge-id",
        "from_edges-num_nodes",
        "sparse-shape",
    ],
)
def test_a_huge_node_count_is_refused_before_allocating(make) -> None:
    pytest.importorskip("torch")
    with pytest.raises(
        InputError,
        match=r"a graph of \d+ nodes needs at least [\d.]+ GiB \(8 bytes per node\), and this machine has",
    ):
        make()


def test_node_count_message_names_the_index(tmp_path) -> None:
    torch = pytest.importorskip("torch")
    with pytest.raises(
        InputError, match=r"^the largest index \+ 1 is 10000000001: a graph of 10000000001 nodes"
    ):
        as_graph(torch.tensor([[0, 1, 10**10], [1, 2, 0]]))


def test_parquet_feature_ids_follow_the_same_rule(tmp_path) -> None:
    path = tmp_path / "f.parquet"
    pq.write_table(
        pa.table({"id": pa.array(np.array([0, 1, BIG], dtype=np.uint64)), "f": [1.0, 2.0, 3.0]}), path
    )
    from graphae.data import read_features

    with pytest.raises(
        GraphFileError, match="^" + re.escape(f"{path}: row 3: column 'id' holds the node id {BIG}")
    ):
        read_features(path)
