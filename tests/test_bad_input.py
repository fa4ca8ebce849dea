"""Bad graphs and feature files: each class of docs/errors.md ("Reading graphs and features").

Non-finite features, edge-list columns by name, and read errors that name the file,
through the Python API and the CLI (one line on stderr, exit status 2).
"""

import gzip
import pickle
import re
from collections import defaultdict
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp

from cli_helpers import user_error
from graphae import GAE
from graphae.cli import main
from graphae.data import GraphFileError, as_graph, load_graph, load_planetoid, read_edgelist, read_features
from graphae.errors import InputError, InputTypeError
from graphae.graph import Graph
from planetoid_helpers import tiny_planetoid

FAST = ["train", "--epochs", "1", "--device", "cpu", "--quiet"]


def _at(path: Path, where: str = "") -> str:
    """Regex for the start of a message about ``path`` (``where``: ``":3"`` or ``": row 2"``)."""
    return "^" + re.escape(f"{path}{where}:")


def _ring(n: int = 30, sep: str = ",") -> str:
    return "".join(f"n{i}{sep}n{(i + 1) % n}\n" for i in range(n))


def _parquet(path: Path, columns: dict) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table(columns), path)
    return path


# Non-finite features ------------------------------------------------------------------
NAN_AT_1_2 = np.ones((3, 3), dtype=np.float32)
NAN_AT_1_2[1, 2] = np.nan


@pytest.mark.parametrize(
    ("x", "shown"),
    [
        (NAN_AT_1_2, r"x\[1, 2\] = nan"),
        (sp.csr_matrix(np.where(np.eye(3) > 0, np.inf, 0).astype(np.float32)), r"x\[0, 0\] = inf"),
        (
            sp.csr_matrix((np.array([1, -np.inf, np.nan], np.float32), ([2, 2, 1], [2, 0, 1])), shape=(3, 3)),
            r"x\[1, 1\] = nan",
        ),
    ],
    ids=["dense-nan", "csr-inf", "csr-row-major"],
)
def test_graph_refuses_non_finite_features(x, shown) -> None:
    with pytest.raises(InputError, match=r"^Graph\.x \(the node features\) must be finite\. Got " + shown):
        Graph.from_edges([[0, 1], [1, 2]], x=x)


def test_graph_names_float32_overflow() -> None:
    with np.errstate(over="ignore"):  # float64 1e39 becomes inf in float32, as in a user's conversion
        x = np.array([[1.0], [1e39], [0.0]]).astype(np.float32)
    with pytest.raises(InputError, match=r"x\[1, 0\] = inf \(float32 features hold magnitudes up to 3\.4e38"):
        Graph.from_edges([[0, 1], [1, 2]], x=x)


def test_as_graph_and_fit_refuse_non_finite_features() -> None:
    g = nx.path_graph(3)
    for node in g:
        g.nodes[node]["x"] = [1.0, float("nan") if node == 2 else 0.0]
    with pytest.raises(InputError, match=r"x\[2, 1\] = nan"):
        as_graph(g)
    with pytest.raises(InputError, match=r"x\[2, 1\] = nan"):
        GAE(epochs=1).fit(g)
    torch_geometric = pytest.importorskip("torch_geometric")
    import torch

    data = torch_geometric.data.Data(
        x=torch.tensor([[0.0], [float("inf")]]), edge_index=torch.tensor([[0, 1], [1, 0]])
    )
    with pytest.raises(InputError, match=r"x\[1, 0\] = inf"):
        as_graph(data)


def test_in_memory_features_given_to_load_graph(tmp_path) -> None:
    edges = tmp_path / "e.csv"
    edges.write_text("a,b\nb,c\n")
    with pytest.raises(InputError, match=r"x\[1, 2\] = nan"):
        load_graph(edges, features=NAN_AT_1_2)


def test_feature_files_name_the_non_finite_cell(tmp_path) -> None:
    x = np.zeros((3, 4))
    x[2, 1] = np.nan
    np.save(tmp_path / "f.npy", x)
    with pytest.raises(
        GraphFileError,
        match=_at(tmp_path / "f.npy", ": row 3") + r" the array has a non-finite value \(nan\) in column 2$",
    ):
        read_features(tmp_path / "f.npy")
    sp.save_npz(tmp_path / "s.npz", sp.csr_matrix(np.where(x == x, x, np.inf)))
    with pytest.raises(
        GraphFileError,
        match=_at(tmp_path / "s.npz", ": row 3") + r" the array has a non-finite value \(inf\) in column 2",
    ):
        read_features(tmp_path / "s.npz")


def test_benchmark_npz_attributes_must_be_finite(tmp_path) -> None:
    adj = sp.csr_matrix(np.ones((2, 2)) - np.eye(2))
    attr = sp.csr_matrix(np.array([[1.0, 0.0], [0.0, np.nan]]))
    path = tmp_path / "g.npz"
    parts = ("data", "indices", "indptr", "shape")
    arrays = {f"{name}_{k}": getattr(m, k) for name, m in (("adj", adj), ("attr", attr)) for k in parts}
    np.savez(path, **arrays)
    with pytest.raises(
        GraphFileError,
        match=_at(path, ": row 2") + r" array 'attr_data' has a non-finite value \(nan\) in column 2",
    ):
        load_graph(path)


def test_planetoid_features_must_be_finite(tmp_path) -> None:
    tiny_planetoid(tmp_path)
    allx = np.arange(9, dtype=np.float32).reshape(3, 3)
    allx[1, 2] = np.inf
    (tmp_path / "ind.cora.allx").write_bytes(pickle.dumps(sp.csr_matrix(allx)))
    with pytest.raises(
        InputError, match=r"ind\.cora\.allx must hold finite features\. Got inf in row 1, column 2\.$"
    ):
        load_planetoid("cora", tmp_path)


def test_cli_non_finite_feature_file_is_one_line(tmp_path, capsys) -> None:
    (tmp_path / "e.csv").write_text(_ring())
    rows = "".join(f"n{i},1,{'nan' if i == 4 else 0}\n" for i in range(30))
    (tmp_path / "f.csv").write_text("id,f1,f2\n" + rows)
    line = user_error(
        capsys, [*FAST, "--edges", str(tmp_path / "e.csv"), "--features", str(tmp_path / "f.csv")]
    )
    assert (
        line
        == f"graphae: error: {tmp_path / 'f.csv'}:6: feature value 'nan' in column 3 ('f2') is not finite"
    )


# Columns by name -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "source", "target"),
    [
        ("edge_id,source,target", 1, 2),
        ("Source ID,Target ID,weight", 0, 1),
        ("head,relation,tail", 0, 2),
        ("u,v,weight", 0, 1),
        ("w,DST,Src", 2, 1),
        ("from,to,time,src_ip", 0, 1),
    ],
)
def test_endpoints_come_from_recognised_column_names(tmp_path, header, source, target) -> None:
    width = len(header.split(","))
    rows = []
    for k, (a, b) in enumerate([("a", "b"), ("b", "c"), ("c", "d")]):
        row = [str(k + 1)] * width
        row[source], row[target] = a, b
        rows.append(",".join(row))
    path = tmp_path / "e.csv"
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    graph = read_edgelist(path)
    assert graph.node_ids.tolist() == ["a", "b", "c", "d"]
    assert graph.num_edges == 3


def test_column_options_choose_endpoints_and_weight(tmp_path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("edge_id,node_a,node_b,strength\n0,x,y,2\n1,y,z,0.5\n")
    graph = load_graph(path, source_col="node_a", target_col="NODE_B", weight_col="strength")
    assert graph.node_ids.tolist() == ["x", "y", "z"]
    path.write_text("edge_id,node_a,node_b,strength\n0,x,y,2\n1,y,z,-1\n")
    with pytest.raises(GraphFileError, match=_at(path, ":3") + " weight must be a number > 0, got '-1'"):
        load_graph(path, source_col="node_a", target_col="node_b", weight_col="strength")
    pq_path = _parquet(tmp_path / "e.parquet", {"edge_id": [0, 1], "node_a": [5, 6], "node_b": [6, 7]})
    graph = load_graph(pq_path, source_col="node_a", target_col="node_b")
    assert graph.node_ids.tolist() == [5, 6, 7]


NO_ENDPOINTS = (
    r"the columns \['edge_id', 'node_a', 'node_b'\] do not say which are the endpoints: name them "
    r"source,target, src,dst, from,to, u,v, head,tail, node1,node2 \(any case\), or pass source_col and "
    r"target_col \(CLI: --source-col, --target-col\); a third column is read as a weight only when named "
    r"'weight' or given as weight_col \(CLI: --weight-col\)$"
)


def test_header_without_endpoint_names_is_an_error(tmp_path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("edge_id,node_a,node_b\n" + "".join(f"{i},{i % 7},{(i * 3) % 11}\n" for i in range(30)))
    with pytest.raises(GraphFileError, match=_at(path, ":1") + " " + NO_ENDPOINTS):
        read_edgelist(path)
    pq_path = _parquet(tmp_path / "e.parquet", {"edge_id": [0, 1], "node_a": [5, 6], "node_b": [6, 7]})
    with pytest.raises(GraphFileError, match=_at(pq_path) + " " + NO_ENDPOINTS):
        read_edgelist(pq_path)


def test_two_named_columns_are_the_endpoints_whatever_their_names(tmp_path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("user,item\n1,2\n2,3\n")
    assert read_edgelist(path).node_ids.tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"source_col": "a", "target_col": "nope"},
            GraphFileError,
            r":1: target_col='nope' is not one of its columns \['a', 'b', 'weight'\]$",
        ),
        (
            {"source_col": "a"},
            InputError,
            r"^source_col and target_col go together \(CLI: --source-col, --target-col\)\. Got source_col='a', target_col=None\.$",
        ),
        (
            {"source_col": "a", "target_col": "A"},
            GraphFileError,
            r":1: source_col and target_col both name column 'a'$",
        ),
        (
            {"source_col": "a", "target_col": "b", "weight_col": "b"},
            GraphFileError,
            r":1: weight_col names the endpoint column 'b'$",
        ),
        (
            {"source_col": "a", "target_col": "b", "header": False},
            InputError,
            r"cannot be used with header=False\.$",
        ),
        (
            {"source_col": 1, "target_col": "b"},
            InputTypeError,
            r"^source_col must be a column name \(str\)\. Got 1\.$",
        ),
    ],
    ids=["missing", "only-source", "same", "weight-is-endpoint", "header-false", "not-a-string"],
)
def test_column_option_errors(tmp_path, kwargs, error, match) -> None:
    path = tmp_path / "e.csv"
    path.write_text("a,b,weight\nx,y,1\n")
    with pytest.raises(error, match=match):
        read_edgelist(path, **kwargs)


def test_repeated_endpoint_column_is_an_error(tmp_path) -> None:
    path = tmp_path / "e.csv"
    path.write_text("source,target,source\nx,y,z\n")
    with pytest.raises(
        GraphFileError, match=r":1: column 'source' appears twice in \['source', 'target', 'source'\]$"
    ):
        read_edgelist(path)


def test_headerless_third_column_of_node_ids_is_refused(tmp_path) -> None:
    path = tmp_path / "e.txt"
    path.write_text("".join(f"{i} {(i * 7) % 40} {(i * 3) % 40 + 1}\n" for i in range(1, 41)))
    with pytest.raises(
        GraphFileError,
        match=_at(path)
        + r" the third column looks like node ids, not weights \(40 distinct integers, 40 of them ids of the first two columns\); add a header row",
    ):
        read_edgelist(path)


@pytest.mark.parametrize("third", ["count", "timestamp", "float"])
def test_headerless_integer_weights_and_timestamps_pass(tmp_path, third) -> None:
    rows = []
    for i in range(60):
        w = {"count": 1 + i % 5, "timestamp": 1_600_000_000 + 17 * i, "float": 0.5 + i}[third]
        rows.append(f"{i},{(i + 1) % 60},{w}\n")
    path = tmp_path / "e.csv"
    path.write_text("".join(rows))
    assert read_edgelist(path).num_edges == 60


@pytest.mark.parametrize(
    ("column", "match"),
    [
        (
            [[1], [2]],
            r": column 'source' must hold integer, float or string node ids\. Got list<.*: int64>$",
        ),
        ([1.0, float("nan")], r": row 2: column 'source' holds a non-finite node id \(nan\)$"),
        (
            [{"a": 1}, {"a": 2}],
            r": column 'source' must hold integer, float or string node ids\. Got struct<a: int64>$",
        ),
    ],
    ids=["list", "nan", "struct"],
)
def test_parquet_id_columns_must_hold_ids(tmp_path, column, match) -> None:
    path = _parquet(
        tmp_path / "e.parquet", {"source": column, "target": [1.0, 2.0] if column[0] == 1.0 else [3, 4]}
    )
    with pytest.raises(GraphFileError, match=_at(path)[:-1] + match):
        read_edgelist(path)


def test_parquet_dictionary_ids_and_pandas_index(tmp_path) -> None:
    pa = pytest.importorskip("pyarrow")
    path = _parquet(
        tmp_path / "e.parquet",
        {
            "__index_level_0__": [10, 11],
            "x": pa.array(["a", "b"]).dictionary_encode(),
            "y": pa.array(["b", "c"]).dictionary_encode(),
        },
    )
    assert read_edgelist(path).node_ids.tolist() == ["a", "b", "c"]


def test_cli_columns_by_name(tmp_path, capsys) -> None:
    path = tmp_path / "e.csv"
    path.write_text("edge_id,node_a,node_b\n" + "".join(f"{j},n{j},n{(j + 1) % 30}\n" for j in range(30)))
    line = user_error(capsys, [*FAST, "--edges", str(path)])
    assert line.startswith(
        f"graphae: error: {path}:1: the columns ['edge_id', 'node_a', 'node_b'] do not say"
    )
    out = tmp_path / "run"
    argv = [
        *FAST,
        "--edges",
        str(path),
        "--source-col",
        "node_a",
        "--target-col",
        "node_b",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert (out / "node_ids.txt").read_text().split()[:2] == ["n0", "n1"]
    line = user_error(capsys, [*FAST, "--source-col", "a", "--target-col", "b"])
    assert (
        line
        == "graphae: error: --source-col, --target-col needs --edges FILE (the columns of your edge list)"
    )


# Read errors name the file ----------------------------------------------------------------
def test_damaged_gzip_names_the_file(tmp_path) -> None:
    raw = gzip.compress(_ring(200).encode())
    truncated = tmp_path / "t.csv.gz"
    truncated.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(
        GraphFileError,
        match=_at(truncated)
        + r" is truncated or not a readable gzip file \(Compressed file ended before the end-of-stream marker was reached\)$",
    ):
        read_edgelist(truncated)
    not_gzip = tmp_path / "b.csv.gz"
    not_gzip.write_bytes(b"plain text")
    with pytest.raises(
        GraphFileError,
        match=_at(not_gzip) + r" is truncated or not a readable gzip file \(Not a gzipped file \(b'pl'\)\)$",
    ):
        read_edgelist(not_gzip)


def test_node_id_with_a_line_break_names_file_and_line(tmp_path) -> None:
    edges = tmp_path / "e.csv"
    edges.write_text('a,b\nb,"c\nd"\n')
    message = r" node id 'c\\nd' holds a line break or another control character; ids must be printable text \(they are written one per line with a fitted model\)$"
    with pytest.raises(GraphFileError, match=_at(edges, ":3") + message):
        read_edgelist(edges)
    feats = tmp_path / "f.csv"
    feats.write_text('a,1\n"c\nd",2\n')
    with pytest.raises(GraphFileError, match=_at(feats, ":3") + message):
        read_features(feats)
    pq_edges = _parquet(tmp_path / "e.parquet", {"source": ["a", "b"], "target": ["b", "c\rd"]})
    with pytest.raises(
        GraphFileError, match=_at(pq_edges, ": row 2") + r" node id 'c\\rd' holds a line break"
    ):
        read_edgelist(pq_edges)


def test_feature_table_ids_are_unique_and_printable(tmp_path) -> None:
    path = _parquet(tmp_path / "f.parquet", {"id": ["a", "b", "a"], "f": [1.0, 2.0, 3.0]})
    with pytest.raises(GraphFileError, match=_at(path) + r" node id 'a' has two feature rows \(1 and 3\)$"):
        read_features(path)
    np.savez(tmp_path / "f.npz", x=np.ones((2, 1)), ids=np.array(["a", "b\x01c"]))
    with pytest.raises(
        GraphFileError, match=_at(tmp_path / "f.npz", ": row 2") + r" node id 'b\\x01c' holds"
    ):
        read_features(tmp_path / "f.npz")


@pytest.mark.parametrize(
    ("name", "raw", "match"),
    [
        (
            "f.npy",
            b"\x93NUMPY\x01\x00v\x00{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }"
            + b" " * 50
            + b"\n"
            + b"\0" * 8,
            r" is not a NumPy \.npy array, or cannot be loaded without pickle",
        ),
        ("f.npz", b"PK\x03\x04 truncated zip", r" is not a NumPy \.npz archive"),
        ("f.npy", None, r" is an \.npz archive, not a \.npy array; name it \.npz$"),
    ],
    ids=["truncated-npy", "bad-zip", "npz-named-npy"],
)
def test_damaged_arrays_name_the_file(tmp_path, name, raw, match) -> None:
    path = tmp_path / name
    if raw is None:
        np.savez(path.with_suffix(".npz"), x=np.ones((2, 2)))
        path.write_bytes(path.with_suffix(".npz").read_bytes())
    else:
        path.write_bytes(raw)
    with pytest.raises(GraphFileError, match=_at(path)[:-1] + ":" + match):
        read_features(path)


class _Sneaky:
    """Stands in for collections.defaultdict in a pickled instance dict (pickled by reference)."""


@pytest.mark.parametrize(
    ("part", "raw", "match"),
    [
        (
            "test.index",
            b"4\n99999999999999999999999\n",
            r"ind\.cora\.test\.index must hold one integer per line \(a node id\): Python int too large",
        ),
        (
            "test.index",
            b"3\n900000000\n",
            r"ind\.cora\.test\.index must list most ids from 3 to its largest: it has 2 ids up to 900000000, which leaves 899999996 gaps\.$",
        ),
        (
            "test.index",
            b"\xff\xfe4\n",
            r"ind\.cora\.test\.index must hold one integer per line \(a node id\): 'ascii' codec can't decode",
        ),
        (
            "ally",
            pickle.dumps(np.zeros((3, 0), np.int32)),
            r"ind\.cora\.ally must hold finite one-hot labels, at least one class",
        ),
        (
            "graph",
            pickle.dumps(defaultdict(list, {0: [2**70]})),
            r"ind\.cora\.graph must map integer node ids to lists of integer node ids",
        ),
        (
            "tx",
            b"\x80\x04\x95",
            r"^Could not unpickle .*ind\.cora\.tx: UnpicklingError: pickle data was truncated$",
        ),
    ],
    ids=["index-overflow", "index-gaps", "index-bytes", "labels-no-class", "graph-overflow", "truncated"],
)
def test_damaged_planetoid_files_are_input_errors(tmp_path, part, raw, match) -> None:
    tiny_planetoid(tmp_path)
    (tmp_path / f"ind.cora.{part}").write_bytes(raw)
    with pytest.raises(InputError, match=match):
        load_planetoid("cora", tmp_path)


def test_planetoid_csr_is_rebuilt_not_trusted(tmp_path) -> None:
    tiny_planetoid(tmp_path)
    bad = sp.csr_matrix(np.eye(3, dtype=np.float32))
    bad.indices[0] = 1000  # out of range
    bad.check_format = defaultdict  # an allowed global that accepts full_check=True and returns quietly
    (tmp_path / "ind.cora.allx").write_bytes(pickle.dumps(bad, protocol=4))
    with pytest.raises(
        InputError, match=r"ind\.cora\.allx holds a malformed sparse matrix: indices must be < 3$"
    ):
        load_planetoid("cora", tmp_path)


@pytest.mark.parametrize("case", ["truncated-gz", "hostile-planetoid", "id-line-break"])
def test_cli_read_errors_are_one_line(tmp_path, capsys, case) -> None:
    if case == "truncated-gz":
        raw = gzip.compress(_ring(200).encode())
        (tmp_path / "e.csv.gz").write_bytes(raw[: len(raw) // 2])
        argv, expected = ["--edges", str(tmp_path / "e.csv.gz")], f"{tmp_path / 'e.csv.gz'}: is truncated"
    elif case == "hostile-planetoid":
        tiny_planetoid(tmp_path)
        marker = tmp_path / "pwned"
        payload = b"cposix\nsystem\n(V" + f"touch {marker}".encode() + b"\ntR."
        (tmp_path / "ind.cora.graph").write_bytes(payload)
        argv = ["--dataset", "cora", "--data-dir", str(tmp_path)]
        expected = f"Refusing to load {tmp_path / 'ind.cora.graph'}: it asks for posix.system"
    else:
        (tmp_path / "e.csv").write_text(_ring() + '"x\ny",n0\n')
        argv, expected = ["--edges", str(tmp_path / "e.csv")], f"{tmp_path / 'e.csv'}:32: node id 'x\\ny'"
    line = user_error(capsys, [*FAST, *argv])
    assert line.startswith(f"graphae: error: {expected}")
    assert not (tmp_path / "pwned").exists()
