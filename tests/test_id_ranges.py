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
from graphae.errors import InputError
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
