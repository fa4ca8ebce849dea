"""Array feature files that are empty, complex or not arrays at all (issue 19, items 7, 11, 18).

Zero-width features used to train to all-zero embeddings and an unloadable folder;
complex ones were cast to real with numpy's notice, which names no file; and a text
file or a pickle named ``.npy``/``.npz`` got numpy's advice to unpickle it.
"""

import pickle
import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

from cli_helpers import user_error
from graphae.data import GraphFileError, load_graph, read_edgelist, read_features
from graphae.errors import InputError
from graphae.graph import Graph


def _at(path) -> str:
    return "^" + re.escape(f"{path}: ")


# Item 7: zero-width features ------------------------------------------------------------
def test_a_zero_width_npy_is_refused(tmp_path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.ones((5, 0), dtype=np.float32))
    msg = "the array has no feature columns (shape (5, 0)); leave the features out for identity features"
    with pytest.raises(GraphFileError, match=_at(path) + re.escape(msg) + "$"):
        read_features(path)


def test_zero_width_npz_matrices_are_refused(tmp_path) -> None:
    path = tmp_path / "x.npz"
    sp.save_npz(path, sp.csr_matrix((5, 0), dtype=np.float32))
    with pytest.raises(GraphFileError, match=_at(path) + re.escape("the array has no feature columns")):
        read_features(path)
    np.savez(tmp_path / "y.npz", x=np.ones((5, 0)))
    with pytest.raises(GraphFileError, match=re.escape("array 'x' has no feature columns (shape (5, 0))")):
        read_features(tmp_path / "y.npz")


def test_a_graph_refuses_zero_width_features() -> None:
    with pytest.raises(
        InputError, match=re.escape("Graph.x has no feature columns (shape (3, 0)); pass x=None")
    ):
        Graph.from_edges(np.array([[0, 1], [1, 2]]), x=np.ones((3, 0), dtype=np.float32))


def test_cli_zero_width_features_fail_before_training(tmp_path, capsys) -> None:
    edges = tmp_path / "e.txt"
    edges.write_text("".join(f"{i} {(i + 1) % 20}\n" for i in range(20)))
    feats = tmp_path / "x.npy"
    np.save(feats, np.ones((20, 0), dtype=np.float32))
    run = tmp_path / "run"
    argv = ["train", "--edges", str(edges), "--features", str(feats), "--out", str(run), "--quiet"]
    line = user_error(capsys, argv)
    assert line == f"graphae: error: {feats}: the array has no feature columns (shape (20, 0)); " + (
        "leave the features out for identity features"
    )
    assert not run.exists()


# Item 11: complex features ------------------------------------------------------------
def test_complex_features_are_refused_naming_the_file(tmp_path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.ones((4, 2), dtype=complex))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(
            GraphFileError,
            match=_at(path)
            + re.escape("the array must hold real numbers. Got dtype complex128 (its imaginary"),
        ):
            read_features(path)
        sp.save_npz(tmp_path / "c.npz", sp.csr_matrix(np.ones((4, 2), dtype=complex)))
        with pytest.raises(GraphFileError, match=re.escape("the matrix must hold real numbers")):
            read_features(tmp_path / "c.npz")
        edges = tmp_path / "e.txt"
        edges.write_text("0 1\n1 2\n2 3\n")
        with pytest.raises(
            InputError, match=re.escape("features must hold real numbers. Got dtype complex128")
        ):
            read_edgelist(edges, features=np.ones((4, 2), dtype=complex))


def test_a_complex_benchmark_npz_is_refused(tmp_path) -> None:
    adj = sp.csr_matrix(np.roll(np.eye(4), 1, axis=1))
    path = tmp_path / "g.npz"
    np.savez(
        path,
        adj_data=adj.data.astype(complex),
        adj_indices=adj.indices,
        adj_indptr=adj.indptr,
        adj_shape=adj.shape,
    )
    with pytest.raises(
        GraphFileError, match=_at(path) + re.escape("array 'adj_data' must hold real numbers")
    ):
        load_graph(path, directed=True)


# Item 18: never numpy's advice to unpickle -------------------------------------------
def _text(path):
    path.write_text("a,b\nb,c\n")


def _pickle(path):
    path.write_bytes(pickle.dumps([1, 2]))


def _objects(path):
    with open(path, "wb") as f:
        np.save(f, np.array([{"a": 1}], dtype=object), allow_pickle=True)


@pytest.mark.parametrize(
    ("name", "make", "expected"),
    [
        ("t.npy", _text, "is not a NumPy .npy array: it looks like text (a CSV or edge list? give it a .csv"),
        ("t.npz", _text, "is not a NumPy .npz archive: it looks like text"),
        ("p.npy", _pickle, "is not a NumPy .npy array: it is a Python pickle, which graphae never loads"),
        ("p.npz", _pickle, "is not a NumPy .npz archive: it is a Python pickle, which graphae never loads"),
        ("o.npy", _objects, "(it holds Python objects, which graphae never unpickles)"),
        ("e.npy", lambda p: p.write_bytes(b""), "is not a NumPy .npy array: it is empty"),
    ],
)
def test_no_advice_to_unpickle(tmp_path, capsys, name, make, expected) -> None:
    path = tmp_path / name
    make(path)
    with pytest.raises(GraphFileError) as info:
        read_features(path)
    assert expected in str(info.value)
    assert "allow_pickle" not in str(info.value) and "pickle.load" not in str(info.value)
    if name.endswith(".npz"):
        with pytest.raises(GraphFileError) as info:
            load_graph(path)
        assert expected in str(info.value) and "allow_pickle" not in str(info.value)


def test_parquet_vectors_of_length_zero_are_refused(tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"id": ["a", "b"], "x": pa.array([[], []], pa.list_(pa.float32()))}), path)
    with pytest.raises(
        GraphFileError,
        match=_at(path) + re.escape("column 'x' must hold numeric vectors of one length, at least 1"),
    ):
        read_features(path)
