import gzip
import pickle
import re
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from graphae.data import GraphFileError, load_graph, load_npz_graph, read_edgelist, read_features
from graphae.data.edgelist import _count_pairs, _looks_directed, read_pairs
from graphae.errors import InputError, MissingDependencyError, MissingFileError
from graphae.pairs import distinct_pair_keys

# The path a-b-c-d: every edge-list variant below encodes it.
PATH = np.array(
    [
        [0, 1, 0, 0],
        [1, 0, 1, 0],
        [0, 1, 0, 1],
        [0, 0, 1, 0],
    ],
    dtype=np.float32,
)
ABCD = ["a", "b", "c", "d"]


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _at(path: Path, line: int | None = None) -> str:
    """Regex for the start of an error message about ``path`` (and ``line``)."""
    return "^" + re.escape(f"{path}:{line}:" if line is not None else f"{path}:")


@contextmanager
def _no_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# Text edge lists ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "text", "kwargs"),
    [
        ("plain.txt", "a b\nb c\nc d\n", {}),
        ("spaced.edges", "# a comment\n\n  a \t b\nb    c\n\nc d  \n", {}),
        ("tabs.tsv", "a\tb\nb\tc\nc\td\n", {}),
        ("named.tsv", "source\ttarget\na\tb\nb\tc\nc\td\n", {}),
        ("plain.csv", "a,b\nb,c\nc,d\n", {}),
        ("weighted.csv", "src,dst,weight\na,b,1\nb,c,0.5\nc,d,2e3\n", {}),
        ("weighted.txt", "a b 1\nb c 2\nc d 3\n", {}),
        ("from-to.csv", "From,To\na,b\nb,c\nc,d\n", {}),
        ("quoted.csv", '"a","b"\n"b", "c"\nc , d\n', {}),
        ("semicolon.txt", "a;b\nb;c\nc;d\n", {"delimiter": ";"}),
        ("percent.el", "% KONECT style\na b\nb c\nc d\n", {"comment": "%"}),
        ("header.txt", "left right\na b\nb c\nc d\n", {"header": True}),
        ("crlf.csv", "a,b\r\nb,c\r\nc,d\r\n", {}),
        ("bom.csv", "\ufeffa,b\nb,c\nc,d\n", {}),
    ],
)
def test_text_edge_lists(tmp_path, name, text, kwargs) -> None:
    path = _write(tmp_path, name, text)
    with _no_warnings():
        graph = read_edgelist(path, **kwargs)
    np.testing.assert_array_equal(graph.adj.toarray(), PATH)
    assert graph.node_ids.dtype == object
    assert graph.node_ids.tolist() == ABCD
    assert graph.name == Path(name).stem
    assert graph.x is None


def test_gzipped_edge_list(tmp_path) -> None:
    path = tmp_path / "edges.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("source,target\na,b\nb,c\nc,d\n")
    graph = load_graph(path)
    np.testing.assert_array_equal(graph.adj.toarray(), PATH)
    assert graph.name == "edges"


def test_header_false_keeps_the_first_row_as_an_edge(tmp_path) -> None:
    graph = read_edgelist(_write(tmp_path, "e.csv", "source,target\na,b\n"), header=False)
    assert graph.node_ids.tolist() == ["source", "target", "a", "b"]
    assert graph.num_edges == 2


def test_header_true_drops_a_numeric_first_row(tmp_path) -> None:
    graph = read_edgelist(_write(tmp_path, "e.txt", "1 2\n2 3\n3 4\n"), header=True)
    assert graph.node_ids.tolist() == [2, 3, 4]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("u v\n1 2\n2 3\n", [1, 2, 3]),  # non-numeric row before numeric rows: a header
        ("x y\ny z\n", ["x", "y", "z"]),  # string ids throughout: no header
        ("a 1\n2 3\n", ["a", 1, 2, 3]),  # only one non-numeric field: data
        ("node1 node2\nx y\n", ["x", "y"]),  # known column names
        ("a b weight\nc d 1\n", ["c", "d"]),  # a non-numeric third field
    ],
)
def test_header_auto_detection(tmp_path, text, ids) -> None:
    graph = read_edgelist(_write(tmp_path, "e.txt", text))
    assert [str(v) for v in graph.node_ids.tolist()] == [str(v) for v in ids]


@pytest.mark.parametrize(
    ("text", "ids", "dtype"),
    [
        ("1 2\n2 3\n10 1\n", [1, 2, 3, 10], np.int64),
        ("-3 0\n0 5\n", [-3, 0, 5], np.int64),
        ("007 1\n1 2\n", ["007", "1", "2"], object),
        ("+7 1\n", ["+7", "1"], object),
        ("1.0 2\n", ["1.0", "2"], object),
        ("1 99999999999999999999\n", ["1", "99999999999999999999"], object),
        ("1 2\n2 x\n", ["1", "2", "x"], object),
    ],
    ids=["ints", "negative", "leading-zero", "plus", "float", "too-big", "one-string"],
)
def test_ids_are_ints_only_if_every_id_round_trips(tmp_path, text, ids, dtype) -> None:
    graph = read_edgelist(_write(tmp_path, "e.txt", text))
    assert graph.node_ids.dtype == dtype
    assert graph.node_ids.tolist() == ids


def test_node_order_is_first_appearance(tmp_path) -> None:
    graph = read_edgelist(_write(tmp_path, "e.txt", "c a\nb a\nd c\n"))
    assert graph.node_ids.tolist() == ["c", "a", "b", "d"]
    np.testing.assert_array_equal(graph.edges(), [[0, 0, 1], [1, 3, 2]])


def test_self_loops_and_duplicates_are_dropped(tmp_path) -> None:
    with _no_warnings():
        graph = read_edgelist(_write(tmp_path, "e.txt", "a b\nb a\na a\na b\nc c\n"))
    assert graph.node_ids.tolist() == ["a", "b", "c"]
    assert graph.num_edges == 1
    assert not graph.adj.diagonal().any()


def test_directed_looking_edge_list_gets_a_notice(tmp_path) -> None:
    path = _write(tmp_path, "e.txt", "a b\nb a\nb c\nc d\n")
    with pytest.warns(UserWarning, match=re.escape(str(path)) + ".*made undirected"):
        graph = read_edgelist(path)
    np.testing.assert_array_equal(graph.adj.toarray(), PATH)


def _looks_directed_by_sparse_product(pairs: np.ndarray, n: int) -> bool:
    """The rule as first written: listed pairs whose reverse is listed, by ``A * A.T``."""
    off = pairs[:, pairs[0] != pairs[1]]
    listed = sp.csr_matrix((np.ones(off.shape[1]), tuple(off)), shape=(n, n))
    both = listed.multiply(listed.T).nnz
    return 0.01 * listed.nnz <= both < listed.nnz and both > 0


@pytest.mark.parametrize("seed", range(30))
def test_looks_directed_counts_pairs_as_the_sparse_product_does(seed) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    pairs = rng.integers(0, n, (2, int(rng.integers(1, 4 * n))))
    mirrored = pairs[:, rng.random(pairs.shape[1]) < rng.choice([0.0, 0.005, 0.3, 1.0])]
    pairs = np.concatenate([pairs, mirrored[::-1], pairs[:, : int(rng.integers(0, 3))]], axis=1)
    expected = _looks_directed_by_sparse_product(pairs, n)
    keys = distinct_pair_keys(pairs, n, directed=False)
    assert _looks_directed(len(distinct_pair_keys(pairs, n, directed=True)), len(keys)) == expected
    assert _looks_directed(*_count_pairs(pairs)) == expected


@pytest.mark.parametrize("text", ["a b\nb a\nb c\nc d\na a\n", "a b\nb a\nc b\nb c\n", "1 2\n2 3\n2 3\n"])
def test_edge_list_reads_alike_without_int64_pair_keys(tmp_path, monkeypatch, text) -> None:
    # Past 3e9 nodes there are no int64 pair keys: pairs are counted by rows instead.
    path = _write(tmp_path, "e.txt", text)
    with warnings.catch_warnings(record=True) as fast:
        warnings.simplefilter("always")
        expected = read_edgelist(path)
    monkeypatch.setattr("graphae.data.edgelist.keys_fit", lambda n: False)
    monkeypatch.setattr("graphae.graph.keys_fit", lambda n: False)
    with warnings.catch_warnings(record=True) as slow:
        warnings.simplefilter("always")
        graph = read_edgelist(path)
    assert [str(w.message) for w in slow] == [str(w.message) for w in fast]
    assert graph.node_ids.tolist() == expected.node_ids.tolist()
    np.testing.assert_array_equal(graph.edges(), expected.edges())


def test_name_argument(tmp_path) -> None:
    assert read_edgelist(_write(tmp_path, "e.txt", "a b\n"), name="mine").name == "mine"


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("a b\nc\n", 2, r"expected 2 fields \(source, target\), got 1"),
        ("a b\nc d e f\n", 2, r"expected at most 3 fields \(source, target, weight\), got 4"),
        ("1 2 3 4\n", 1, r"expected at most 3 fields"),
        ("a b\nc d 1\n", 2, r"expected 2 fields like line 1, got 3"),
        ("a b 1\nc d\n", 2, r"expected 3 fields like line 1, got 2"),
        ("# header comment\n\na b\n# note\n\nc\n", 6, r"expected 2 fields"),
        ("a b 1\nb c -1\n", 2, r"weight must be a number > 0, got '-1'"),
        ("a b 1\nb c 0\n", 2, r"weight must be a number > 0, got '0'"),
        ("a b 1\nb c nan\n", 2, r"weight must be a number > 0, got 'nan'"),
        ("a b 1\nb c heavy\n", 2, r"weight must be a number > 0, got 'heavy'"),
        ("source target weight\na b 2\nb c x\n", 3, r"weight must be a number > 0, got 'x'"),
    ],
)
def test_malformed_rows_name_file_and_line(tmp_path, text, line, match) -> None:
    path = _write(tmp_path, "bad.txt", text)
    with pytest.raises(GraphFileError, match=_at(path, line) + " " + match) as info:
        read_edgelist(path)
    assert info.value.line == line and info.value.path == str(path)


def test_empty_id_in_csv(tmp_path) -> None:
    path = _write(tmp_path, "bad.csv", "a,b\n,c\n")
    with pytest.raises(GraphFileError, match=_at(path, 2) + " empty node id"):
        read_edgelist(path)


def test_csv_quoting_line_numbers_stay_exact(tmp_path) -> None:
    path = _write(tmp_path, "bad.csv", '"a, x",b\n\n"b",c,2\n')
    with pytest.raises(GraphFileError, match=_at(path, 3) + " expected 2 fields like line 1"):
        read_edgelist(path)


@pytest.mark.parametrize(
    "text",
    ["", "\n\n", "# only comments\n# here\n", "source,target\n"],
    ids=["empty", "blank", "comments", "header"],
)
def test_no_edges_is_an_error(tmp_path, text) -> None:
    path = _write(tmp_path, "empty.csv", text)
    with pytest.raises(GraphFileError, match=f"^{re.escape(str(path))}: no edges found$"):
        read_edgelist(path)


def test_not_utf8_names_the_line(tmp_path) -> None:
    path = _write(tmp_path, "latin.txt", b"a b\nb c\n\xff\xfe d\n")
    with pytest.raises(GraphFileError, match=_at(path, 3) + " is not UTF-8 text"):
        read_edgelist(path)


@pytest.mark.parametrize(
    ("reader", "name"),
    [
        (read_edgelist, "missing.csv"),
        (read_edgelist, "missing.parquet"),
        (load_graph, "missing.txt"),
        (load_graph, "missing.parquet"),
        (load_graph, "missing.npz"),
        (load_npz_graph, "missing.npz"),
        (read_features, "missing.csv"),
        (read_features, "missing.parquet"),
        (read_features, "missing.npy"),
        (read_features, "missing.npz"),
    ],
)
def test_missing_file(tmp_path, reader, name) -> None:
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    path = tmp_path / name
    with pytest.raises(MissingFileError, match=re.escape(str(path))):
        reader(path)


# Parquet ---------------------------------------------------------------------------
def _parquet(tmp_path: Path, name: str, columns: dict) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    path = tmp_path / name
    pq.write_table(pa.table(columns), path)
    return path


def test_parquet_string_ids(tmp_path) -> None:
    path = _parquet(
        tmp_path, "e.parquet", {"source": ["a", "b", "c"], "target": ["b", "c", "d"], "t": [1, 2, 3]}
    )
    with _no_warnings():
        graph = load_graph(path)
    np.testing.assert_array_equal(graph.adj.toarray(), PATH)
    assert graph.node_ids.tolist() == ABCD
    assert graph.name == "e"


def test_parquet_ids_keep_the_arrow_type_and_first_columns_are_used(tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    path = _parquet(
        tmp_path,
        "e.pq",
        {
            "u": pa.array([30, 10, 20], pa.int32()),
            "v": pa.array([10, 20, 40], pa.int32()),
            "extra": ["x", "y", "z"],
        },
    )
    graph = read_edgelist(path)
    assert graph.node_ids.dtype == np.int32
    assert graph.node_ids.tolist() == [30, 10, 20, 40]
    assert graph.num_edges == 3


def test_parquet_named_columns_win_over_position(tmp_path) -> None:
    path = _parquet(
        tmp_path, "e.parquet", {"weight": [1.0, 2.0, 3.0], "DST": ["b", "c", "d"], "Src": ["a", "b", "c"]}
    )
    graph = read_edgelist(path)
    assert graph.node_ids.tolist() == ABCD
    np.testing.assert_array_equal(graph.adj.toarray(), PATH)


@pytest.mark.parametrize(
    ("columns", "match"),
    [
        (
            {"source": ["a", "b"], "target": ["b", "c"], "weight": [1.0, -2.0]},
            r": row 2: weight must be a number > 0",
        ),
        (
            {"source": ["a", "b"], "target": ["b", "c"], "weight": ["x", "y"]},
            r": column 'weight' must hold numbers",
        ),
        (
            {"source": ["a", None, "c"], "target": ["b", "c", "d"]},
            r": row 2: column 'source' is empty \(null\)",
        ),
        (
            {"source": [1, 2], "target": ["b", "c"]},
            r": columns 'source' and 'target' must hold ids of one type",
        ),
        ({"only": [1, 2]}, r": needs two columns \(source, target\)"),
        ({"source": [], "target": []}, r": no edges found$"),
    ],
    ids=["weight", "weight-type", "null", "mixed-types", "one-column", "empty"],
)
def test_parquet_errors(tmp_path, columns, match) -> None:
    pa = pytest.importorskip("pyarrow")
    if not columns.get("source", [0]):
        columns = {"source": pa.array([], pa.string()), "target": pa.array([], pa.string())}
    path = _parquet(tmp_path, "bad.parquet", columns)
    with pytest.raises(GraphFileError, match="^" + re.escape(str(path)) + match):
        read_edgelist(path)


def test_not_a_parquet_file(tmp_path) -> None:
    pytest.importorskip("pyarrow")
    path = _write(tmp_path, "fake.parquet", "a,b\n")
    with pytest.raises(GraphFileError, match=_at(path) + " is not a readable Parquet file"):
        read_edgelist(path)


@pytest.mark.parametrize("reader", [read_edgelist, read_features])
def test_parquet_without_pyarrow(tmp_path, monkeypatch, reader) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(
        MissingDependencyError,
        match=re.escape('reading Parquet needs pyarrow: pip install "graphae[parquet]"'),
    ):
        reader(tmp_path / "e.parquet")


# Features --------------------------------------------------------------------------
EDGES = "a b\nb c\nc d\n"


def test_csv_features_are_aligned_and_extra_nodes_kept_isolated(tmp_path) -> None:
    edges = _write(tmp_path, "e.txt", EDGES)
    feats = _write(tmp_path, "f.csv", "id,f1,f2\nd,4,40\ne,5,50\nb,2,20\nc,3,30\na,1,10\n")
    graph = read_edgelist(edges, features=feats)
    assert graph.node_ids.tolist() == [*ABCD, "e"]
    assert graph.x.dtype == np.float32
    np.testing.assert_array_equal(graph.x, [[1, 10], [2, 20], [3, 30], [4, 40], [5, 50]])
    np.testing.assert_array_equal(graph.adj.toarray()[:4, :4], PATH)
    assert graph.adj[4].nnz == 0


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("f.txt", "# features\n1 0.5 1\n2 1.5 2\n3 2.5 3\n"),
        ("f.tsv", "node\tx0\tx1\n3\t2.5\t3\n2\t1.5\t2\n1\t0.5\t1\n"),
        ("f.csv", "1, 0.5, 1\n2, 1.5, 2\n3, 2.5, 3\n"),
    ],
)
def test_text_feature_formats_with_int_ids(tmp_path, name, text) -> None:
    edges = _write(tmp_path, "e.csv", "1,2\n2,3\n")
    graph = load_graph(edges, features=_write(tmp_path, name, text))
    assert graph.node_ids.dtype == np.int64
    assert graph.node_ids.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(graph.x, [[0.5, 1], [1.5, 2], [2.5, 3]])


def test_a_string_id_in_the_feature_table_makes_every_id_a_string(tmp_path) -> None:
    edges = _write(tmp_path, "e.txt", "1 2\n")
    graph = read_edgelist(edges, features=_write(tmp_path, "f.txt", "1 0\n2 0\nx 1\n"))
    assert graph.node_ids.tolist() == ["1", "2", "x"]


def test_int_extras_stay_ints(tmp_path) -> None:
    edges = _write(tmp_path, "e.txt", "1 2\n")
    graph = read_edgelist(edges, features=_write(tmp_path, "f.txt", "1 0\n2 0\n9 1\n"))
    assert graph.node_ids.dtype == np.int64
    assert graph.node_ids.tolist() == [1, 2, 9]
    assert graph.num_nodes == 3 and graph.num_edges == 1


def test_features_missing_for_some_nodes_is_an_error(tmp_path) -> None:
    edges = _write(tmp_path, "e.txt", EDGES)
    feats = _write(tmp_path, "f.csv", "a,1\nc,3\n")
    with pytest.raises(
        GraphFileError,
        match=_at(feats) + r" no feature row for 2 of the 4 nodes of the graph \(e\.g\. 'b', 'd'\)",
    ):
        read_edgelist(edges, features=feats)


@pytest.mark.parametrize(
    ("text", "line", "match"),
    [
        ("a,1,2\nb,1,x\n", 2, r"feature value 'x' in column 3 is not a number"),
        ("id,f\na,1\nb,inf\n", 3, r"feature value 'inf' in column 2 \('f'\) is not finite$"),
        ("id,f,g\na,1,2\nb,1,1e39\n", 3, r"feature value '1e39' in column 3 \('g'\) is not finite \(float32"),
        ("a,1,2\nb,1\n", 2, r"expected 3 fields like line 1, got 2"),
        ("a,1\nb,2\n\na,3\n", 4, r"node id 'a' already has a feature row on line 1"),
        ("a\nb\n", 1, r"expected a node id and feature values"),
        ("a,1\n,2\n", 2, r"empty node id"),
    ],
)
def test_feature_table_errors_name_file_and_line(tmp_path, text, line, match) -> None:
    feats = _write(tmp_path, "f.csv", text)
    with pytest.raises(GraphFileError, match=_at(feats, line) + " " + match):
        read_features(feats)


def test_empty_feature_table(tmp_path) -> None:
    feats = _write(tmp_path, "f.csv", "id,x\n")
    with pytest.raises(GraphFileError, match=_at(feats) + " no feature rows found"):
        read_features(feats)


def test_npy_features_follow_the_edge_list_order(tmp_path) -> None:
    np.save(tmp_path / "f.npy", np.arange(8, dtype=np.float64).reshape(4, 2))
    graph = read_edgelist(_write(tmp_path, "e.txt", EDGES), features=tmp_path / "f.npy")
    assert graph.x.dtype == np.float32
    np.testing.assert_array_equal(graph.x[:, 0], [0, 2, 4, 6])


def test_npy_features_need_one_row_per_node(tmp_path) -> None:
    np.save(tmp_path / "f.npy", np.zeros((3, 2)))
    with pytest.raises(
        GraphFileError, match=_at(tmp_path / "f.npy") + " has 3 feature rows but the graph has 4 nodes"
    ):
        read_edgelist(_write(tmp_path, "e.txt", EDGES), features=tmp_path / "f.npy")


@pytest.mark.parametrize(
    ("array", "match"),
    [
        (np.zeros(4), r"must be 2-D \(nodes x features\)\. Got shape \(4,\)"),
        (np.array([["a"], ["b"]]), r"must be numeric"),
        (np.array([[1.0], [np.nan]]), r": row 2: the array has a non-finite value"),
        (np.array([[{}]], dtype=object), r"cannot be loaded without pickle"),
    ],
)
def test_bad_npy_features(tmp_path, array, match) -> None:
    path = tmp_path / "f.npy"
    np.save(path, array)
    with pytest.raises(GraphFileError, match="^" + re.escape(str(path)) + ".*" + match):
        read_features(path)


def test_sparse_npz_features(tmp_path) -> None:
    x = sp.csr_matrix(np.array([[0, 1], [0, 0], [2, 0], [0, 3]], dtype=np.float64))
    sp.save_npz(tmp_path / "f.npz", x)
    ids, feats = read_features(tmp_path / "f.npz")
    assert ids is None
    assert sp.issparse(feats) and feats.format == "csr" and feats.dtype == np.float32
    graph = read_edgelist(_write(tmp_path, "e.txt", EDGES), features=tmp_path / "f.npz")
    np.testing.assert_array_equal(graph.x.toarray(), x.toarray())


@pytest.mark.parametrize(
    "ids",
    [np.array(["c", "a", "b", "d", "e"]), np.array(["c", "a", "b", "d", "e"], dtype="S")],
    ids=["str", "bytes"],
)
def test_npz_features_with_ids(tmp_path, ids) -> None:
    np.savez(tmp_path / "f.npz", ids=ids, x=np.array([[3.0], [1.0], [2.0], [4.0], [5.0]]))
    graph = read_edgelist(_write(tmp_path, "e.txt", EDGES), features=tmp_path / "f.npz")
    assert graph.node_ids.tolist() == [*ABCD, "e"]
    np.testing.assert_array_equal(graph.x.ravel(), [1, 2, 3, 4, 5])


def test_npz_features_with_int_ids(tmp_path) -> None:
    np.savez(tmp_path / "f.npz", ids=np.array([2, 1]), x=np.eye(2))
    ids, x = read_features(tmp_path / "f.npz")
    assert ids.tolist() == [2, 1]
    graph = read_edgelist(_write(tmp_path, "e.txt", "1 2\n"), features=tmp_path / "f.npz")
    np.testing.assert_array_equal(graph.x, [[0, 1], [1, 0]])


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        (
            {"ids": np.array(["a", "b"], dtype=object), "x": np.eye(2)},
            r"array 'ids' cannot be loaded without pickle",
        ),
        ({"features": np.eye(2)}, r"holds arrays \['features'\]; expected a scipy\.sparse\.save_npz matrix"),
        ({"ids": np.array(["a"]), "x": np.eye(2)}, r"'ids' must have one entry per row of 'x' \(2\)"),
        ({"ids": np.array(["a", "a"]), "x": np.eye(2)}, r"node id 'a' has two feature rows \(1 and 2\)"),
    ],
)
def test_bad_npz_features(tmp_path, arrays, match) -> None:
    path = tmp_path / "f.npz"
    np.savez(path, **arrays)
    with pytest.raises(GraphFileError, match=_at(path) + " " + match):
        read_edgelist(_write(tmp_path, "e.txt", "a b\n"), features=path)


def test_parquet_features(tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    path = _parquet(
        tmp_path,
        "f.parquet",
        {"f0": [3.0, 1.0, 5.0], "node_id": pa.array([3, 1, 5], pa.int64()), "f1": [30, 10, 50]},
    )
    ids, x = read_features(path)
    assert ids.tolist() == [3, 1, 5]
    graph = read_edgelist(_write(tmp_path, "e.txt", "1 3\n"), features=path)
    assert graph.node_ids.tolist() == [1, 3, 5]
    np.testing.assert_array_equal(graph.x, [[1, 10], [3, 30], [5, 50]])


def test_parquet_list_column_features_and_parquet_edges(tmp_path) -> None:
    edges = _parquet(tmp_path, "e.parquet", {"source": ["a", "b", "c"], "target": ["b", "c", "d"]})
    feats = _parquet(
        tmp_path,
        "f.parquet",
        {"id": ["d", "c", "b", "a"], "x": [[4.0, 0.0], [3.0, 0.0], [2.0, 0.0], [1.0, 0.0]]},
    )
    graph = load_graph(edges, features=feats)
    assert graph.node_ids.tolist() == ABCD
    np.testing.assert_array_equal(graph.x[:, 0], [1, 2, 3, 4])


@pytest.mark.parametrize(
    ("columns", "match"),
    [
        ({"id": ["a"], "name": ["x"]}, r": feature column 'name' must be numeric"),
        (
            {"id": ["a", "b"], "f": [1.0, float("inf")]},
            r": row 2: feature value inf in column 'f' is not finite",
        ),
        (
            {"id": ["a", "b"], "x": [[1.0, 2.0], [1.0, float("nan")]]},
            r": row 2: feature value nan in vector entry 2 of column 'x' is not finite",
        ),
        ({"id": ["a", "b"], "f": [1.0, None]}, r": row 2: column 'f' is empty \(null\)"),
        (
            {"id": ["a", "b"], "x": [[1.0], [1.0, 2.0]]},
            r": column 'x' must hold numeric vectors of one length",
        ),
        ({"id": ["a"]}, r": needs an id column and at least one feature column"),
    ],
)
def test_parquet_feature_errors(tmp_path, columns, match) -> None:
    path = _parquet(tmp_path, "f.parquet", columns)
    with pytest.raises(GraphFileError, match="^" + re.escape(str(path)) + match):
        read_features(path)


def test_in_memory_features(tmp_path) -> None:
    edges = _write(tmp_path, "e.txt", EDGES)
    graph = read_edgelist(edges, features=(["d", "c", "b", "a"], np.eye(4)))
    np.testing.assert_array_equal(graph.x, np.eye(4)[::-1])
    graph = read_edgelist(edges, features=sp.eye(4, format="csr"))
    assert sp.issparse(graph.x) and graph.x.dtype == np.float32
    with pytest.raises(GraphFileError, match=r"^features: has 2 feature rows but the graph has 4 nodes"):
        read_edgelist(edges, features=np.eye(2))
    with pytest.raises(InputError, match=r"features must be a 2-D matrix"):
        read_edgelist(edges, features=np.ones(4))


def test_read_features_types_ids_and_aligns(tmp_path) -> None:
    feats = _write(tmp_path, "f.csv", "2,0.5\n1,1.5\n7,2.5\n")
    ids, x = read_features(feats)
    assert ids.dtype == np.int64 and ids.tolist() == [2, 1, 7]
    ids, x = read_features(feats, node_ids=np.array([1, 2]))
    assert ids.tolist() == [1, 2, 7] and ids.dtype == np.int64
    np.testing.assert_array_equal(x.ravel(), [1.5, 0.5, 2.5])
    with pytest.raises(
        GraphFileError, match=_at(feats) + r" no feature row for 1 of the 3 nodes.*\(e\.g\. 3\)"
    ):
        read_features(feats, node_ids=[1, 2, 3])


def test_feature_header_rule(tmp_path) -> None:
    ids, x = read_features(_write(tmp_path, "f.txt", "node a b\nn1 1 2\n"))
    assert ids.tolist() == ["n1"] and x.shape == (1, 2)
    ids, x = read_features(_write(tmp_path, "f.txt", "n1 1 2\n"))
    assert ids.tolist() == ["n1"]
    with pytest.raises(GraphFileError, match="no feature rows found"):
        read_features(_write(tmp_path, "f.txt", "n1 1 2\n"), header=True)


# GNN-benchmark .npz -------------------------------------------------------------------
def _benchmark_npz(path: Path, *, adj=PATH, **extra) -> Path:
    a = sp.csr_matrix(adj)
    np.savez(
        path,
        adj_data=a.data,
        adj_indices=a.indices,
        adj_indptr=a.indptr,
        adj_shape=np.array(a.shape),
        **extra,
    )
    return path


def test_benchmark_npz_with_sparse_attributes(tmp_path) -> None:
    attr = sp.csr_matrix(np.array([[1, 0, 0], [0, 0, 2], [0, 3, 0], [0, 0, 0]], dtype=np.float64))
    path = _benchmark_npz(
        tmp_path / "cora_ml.npz",
        attr_data=attr.data,
        attr_indices=attr.indices,
        attr_indptr=attr.indptr,
        attr_shape=np.array(attr.shape),
        labels=np.array([0, 1, 1, 2]),
        node_names=np.array(["p1", "p2", "p3", "p4"]),
        attr_names=np.array([{"pickled": True}] * 3, dtype=object),  # never loaded
    )
    with _no_warnings():
        graph = load_graph(path)
    assert graph.name == "cora_ml"
    np.testing.assert_array_equal(graph.adj.toarray(), PATH)
    assert sp.issparse(graph.x) and graph.x.dtype == np.float32
    np.testing.assert_array_equal(graph.x.toarray(), attr.toarray())
    np.testing.assert_array_equal(graph.y, [0, 1, 1, 2])
    assert graph.node_ids.tolist() == ["p1", "p2", "p3", "p4"]


def test_benchmark_npz_with_dense_attributes_and_one_hot_labels(tmp_path) -> None:
    path = _benchmark_npz(
        tmp_path / "g.npz",
        attr_matrix=np.arange(8).reshape(4, 2),
        labels=np.array([[1, 0], [0, 1], [0, 0], [0, 1]]),
        node_names=np.array([{"x": 1}] * 4, dtype=object),  # pickled: ignored
    )
    graph = load_npz_graph(path)
    assert isinstance(graph.x, np.ndarray) and graph.x.dtype == np.float32
    np.testing.assert_array_equal(graph.x, np.arange(8).reshape(4, 2))
    np.testing.assert_array_equal(graph.y, [0, 1, -1, 1])
    assert graph.node_ids is None


def test_benchmark_npz_with_sparse_labels_and_int_names(tmp_path) -> None:
    labels = sp.csr_matrix(np.array([[0, 1], [1, 0], [0, 0], [1, 0]]))
    path = _benchmark_npz(
        tmp_path / "g.npz",
        labels_data=labels.data,
        labels_indices=labels.indices,
        labels_indptr=labels.indptr,
        labels_shape=np.array(labels.shape),
        node_names=np.array([10, 11, 12, 13]),
    )
    graph = load_npz_graph(path)
    np.testing.assert_array_equal(graph.y, [1, 0, -1, 0])
    assert graph.node_ids.dtype == np.int64 and graph.node_ids.tolist() == [10, 11, 12, 13]
    assert graph.x is None


def test_benchmark_npz_directed_adjacency_gets_a_notice(tmp_path) -> None:
    path = _benchmark_npz(tmp_path / "g.npz", adj=np.triu(PATH))
    with pytest.warns(UserWarning, match="made undirected"):
        graph = load_npz_graph(path)
    np.testing.assert_array_equal(graph.adj.toarray(), PATH)


@pytest.mark.parametrize("key", ["adj_data", "adj_indices", "adj_indptr", "adj_shape"])
def test_benchmark_npz_missing_key(tmp_path, key) -> None:
    a = sp.csr_matrix(PATH)
    arrays = {
        "adj_data": a.data,
        "adj_indices": a.indices,
        "adj_indptr": a.indptr,
        "adj_shape": np.array(a.shape),
    }
    del arrays[key]
    path = tmp_path / "g.npz"
    np.savez(path, **arrays)
    with pytest.raises(GraphFileError, match=_at(path) + f" has no '{key}' array"):
        load_npz_graph(path)


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"attr_data": np.ones(1)}, r"has no 'attr_indices' array"),
        ({"attr_matrix": np.ones((3, 2))}, r"has 3 rows of attributes for 4 nodes"),
        ({"labels": np.array([0, 1])}, r"has 2 rows of labels for 4 nodes"),
        ({"labels": np.array([0.5, 1, 1, 1])}, r"'labels' must be integers, one per node"),
    ],
)
def test_benchmark_npz_bad_parts(tmp_path, extra, match) -> None:
    path = _benchmark_npz(tmp_path / "g.npz", **extra)
    with pytest.raises(GraphFileError, match=_at(path) + " " + match):
        load_npz_graph(path)


def test_benchmark_npz_inconsistent_csr(tmp_path) -> None:
    path = tmp_path / "g.npz"
    np.savez(
        path,
        adj_data=np.ones(2),
        adj_indices=np.array([0, 9]),
        adj_indptr=np.array([0, 1, 2]),
        adj_shape=np.array([2, 2]),
    )
    with pytest.raises(
        GraphFileError, match=_at(path) + " arrays adj_data, adj_indices, adj_indptr, adj_shape do not form"
    ):
        load_npz_graph(path)


def test_benchmark_npz_non_square_adjacency(tmp_path) -> None:
    path = _benchmark_npz(tmp_path / "g.npz", adj=np.ones((2, 3)))
    with pytest.raises(GraphFileError, match=_at(path) + r" 'adj_shape' must be square\. Got \(2, 3\)"):
        load_npz_graph(path)


def test_not_an_npz(tmp_path) -> None:
    path = _write(tmp_path, "g.npz", "a b\n")
    with pytest.raises(GraphFileError, match=_at(path) + " is not a NumPy .npz archive"):
        load_graph(path)


def test_load_graph_npz_with_features_adds_isolated_nodes(tmp_path) -> None:
    path = _benchmark_npz(tmp_path / "g.npz", labels=np.array([0, 1, 1, 0]), node_names=np.array(ABCD))
    feats = _write(tmp_path, "f.csv", "e,5\nd,4\nc,3\nb,2\na,1\n")
    graph = load_graph(path, features=feats)
    assert graph.node_ids.tolist() == [*ABCD, "e"]
    np.testing.assert_array_equal(graph.x.ravel(), [1, 2, 3, 4, 5])
    np.testing.assert_array_equal(graph.y, [0, 1, 1, 0, -1])
    np.testing.assert_array_equal(graph.adj.toarray()[:4, :4], PATH)
    assert graph.num_nodes == 5 and graph.num_edges == 3


def test_load_graph_npz_without_names_matches_row_numbers(tmp_path) -> None:
    path = _benchmark_npz(tmp_path / "g.npz")
    graph = load_graph(path, features=np.ones((4, 1)))
    assert graph.x.shape == (4, 1) and graph.node_ids is None


def test_load_graph_rejects_non_graph_arrays(tmp_path) -> None:
    np.savez(tmp_path / "f.npz", x=np.eye(2))
    with pytest.raises(
        GraphFileError, match=_at(tmp_path / "f.npz") + " is an .npz without an 'adj_data' array"
    ):
        load_graph(tmp_path / "f.npz")
    np.save(tmp_path / "f.npy", np.eye(2))
    with pytest.raises(GraphFileError, match=_at(tmp_path / "f.npy") + " a .npy array holds no graph"):
        load_graph(tmp_path / "f.npy")


def test_graph_file_error_is_an_input_error_and_pickles(tmp_path) -> None:
    with pytest.raises(InputError) as info:
        read_edgelist(_write(tmp_path, "e.txt", "a b\nc\n"))
    error = pickle.loads(pickle.dumps(info.value))
    assert isinstance(error, GraphFileError)
    assert (error.path, error.line, str(error)) == (info.value.path, 2, str(info.value))
    assert isinstance(error, ValueError)


def test_names_the_cli_imports_stay_in_files() -> None:
    from graphae.data import files

    assert files.load_graph is load_graph
    assert files.load_npz_graph is load_npz_graph
    assert files.read_pairs is read_pairs


# Query pairs ---------------------------------------------------------------------------
def test_read_pairs_keeps_text_ids_and_line_numbers(tmp_path) -> None:
    path = _write(tmp_path, "q.csv", "# note\nsource,target\n007,b\nc , d,extra\n")
    assert read_pairs(path) == [("007", "b", 3), ("c", "d", 4)]


@pytest.mark.parametrize(
    ("text", "match"),
    [("a b\nc\n", ":2: expected two node ids"), ("# nothing\n", ": no node pairs found$")],
)
def test_read_pairs_errors(tmp_path, text, match) -> None:
    path = _write(tmp_path, "q.txt", text)
    with pytest.raises(GraphFileError, match="^" + re.escape(str(path)) + match):
        read_pairs(path)


# Directed graphs -------------------------------------------------------------------
# a -> b, b -> a, b -> c, c -> d; ids in order a, b, c, d.
DIRECTED = np.array(
    [
        [0, 1, 0, 0],
        [1, 0, 1, 0],
        [0, 0, 0, 1],
        [0, 0, 0, 0],
    ],
    dtype=np.float32,
)


@pytest.mark.parametrize("reader", [read_edgelist, load_graph])
def test_directed_edge_list_keeps_each_row_direction(tmp_path, reader) -> None:
    # A duplicate row and a self loop are dropped; a pair listed both ways is two edges.
    path = _write(tmp_path, "e.txt", "a b\nb a\nb c\nc d\nb c\nc c\n")
    with _no_warnings():
        graph = reader(path, directed=True)
    assert graph.directed
    assert graph.node_ids.tolist() == ABCD
    np.testing.assert_array_equal(graph.adj.toarray(), DIRECTED)
    assert graph.num_edges == 4


def test_directed_parquet_edge_list(tmp_path) -> None:
    path = _parquet(tmp_path, "e.parquet", {"source": ["a", "b", "b", "c"], "target": ["b", "a", "c", "d"]})
    with _no_warnings():
        graph = load_graph(path, directed=True)
    assert graph.directed
    np.testing.assert_array_equal(graph.adj.toarray(), DIRECTED)


def test_directed_edge_list_with_features(tmp_path) -> None:
    edges = _write(tmp_path, "e.csv", "a,b\nb,a\nb,c\nc,d\n")
    feats = _write(tmp_path, "f.csv", "e,5\nd,4\nc,3\nb,2\na,1\n")
    graph = read_edgelist(edges, features=feats, directed=True)
    assert graph.directed and graph.node_ids.tolist() == [*ABCD, "e"]
    np.testing.assert_array_equal(graph.adj.toarray()[:4, :4], DIRECTED)
    np.testing.assert_array_equal(graph.x.ravel(), [1, 2, 3, 4, 5])


def test_undirected_is_the_default(tmp_path) -> None:
    graph = read_edgelist(_write(tmp_path, "e.txt", EDGES))
    assert not graph.directed


def test_benchmark_npz_directed_keeps_the_adjacency(tmp_path) -> None:
    path = _benchmark_npz(tmp_path / "g.npz", adj=DIRECTED + np.eye(4))  # the loops are dropped
    with _no_warnings():
        graph = load_npz_graph(path, directed=True)
    assert graph.directed
    np.testing.assert_array_equal(graph.adj.toarray(), DIRECTED)


def test_load_graph_directed_npz_with_features_adds_isolated_nodes(tmp_path) -> None:
    path = _benchmark_npz(tmp_path / "g.npz", adj=DIRECTED, node_names=np.array(ABCD))
    graph = load_graph(path, features=_write(tmp_path, "f.csv", "e,5\nd,4\nc,3\nb,2\na,1\n"), directed=True)
    assert graph.directed and graph.num_nodes == 5 and graph.num_edges == 4
    np.testing.assert_array_equal(graph.adj.toarray()[:4, :4], DIRECTED)


# Real data: Cora's citations, "cited<TAB>citing" per line.
CORA_CITES_ROWS = 5429  # all distinct, no self loops
CORA_CITES_MUTUAL = 151  # pairs that cite each other
CORA_CITES_NODES = 2708


def test_real_cora_cites_directed(data_root) -> None:
    path = data_root / "directed" / "cora.cites"
    rows = [tuple(line.split()) for line in path.read_text().splitlines() if line.strip()]
    distinct = {(u, v) for u, v in rows if u != v}
    assert (len(rows), len(distinct)) == (CORA_CITES_ROWS, CORA_CITES_ROWS)
    with _no_warnings():
        graph = read_edgelist(path, directed=True)
    assert graph.directed
    assert graph.num_nodes == CORA_CITES_NODES
    assert graph.num_edges == len(distinct)
    # Each row is an edge cited -> citing, as written.
    index = {str(node): i for i, node in enumerate(graph.node_ids.tolist())}
    u, v = rows[0]
    assert graph.adj[index[u], index[v]] == 1
    assert graph.adj.multiply(graph.adj.T).nnz == 2 * CORA_CITES_MUTUAL


def test_real_cora_cites_undirected_gets_a_notice(data_root) -> None:
    path = data_root / "directed" / "cora.cites"
    with pytest.warns(UserWarning, match="looks directed.*made undirected"):
        graph = load_graph(path)
    assert not graph.directed
    assert graph.num_nodes == CORA_CITES_NODES
    assert graph.num_edges == CORA_CITES_ROWS - CORA_CITES_MUTUAL
