"""Property-based fuzzing of the file readers: each input gives a valid graph or graphae's own error.

Random bytes, random rows, truncations and random headers for edge lists (text, gzip,
Parquet), the same for feature tables (text, .npy, .npz), and damaged Planetoid files.
Whatever the input, a reader either returns a valid result or raises a
:class:`~graphae.errors.GraphaeError` with a message: never another exception (which
the CLI would show as a traceback), never a hang (each example has a deadline).
Examples are bounded so that the file runs in well under a minute.
"""

import gzip
import io
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from graphae.data import load_graph, load_planetoid, read_edgelist, read_features
from graphae.errors import GraphaeError
from graphae.graph import Graph
from planetoid_helpers import tiny_planetoid

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# A hang shows as a deadline error; the deadline is generous because the test machine may be loaded.
# GRAPHAE_FUZZ_EXAMPLES=1000 fuzzes longer than CI does. Under CI the examples are derandomized,
# so a red run is reproducible and a green one does not turn red by chance on the next commit.
FUZZ = settings(
    max_examples=int(os.environ.get("GRAPHAE_FUZZ_EXAMPLES", "60")),
    derandomize=bool(os.environ.get("CI")),
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow],
)

# Fields chosen to reach the readers' edge cases: ids, numbers of every kind, endpoint
# and weight names, quoting, control characters, non-ASCII text.
FIELDS = st.sampled_from(
    [
        "a",
        "b",
        "c",
        "0",
        "1",
        "2",
        "7",
        "007",
        "-1",
        "1.5",
        "0.0",
        "1e400",
        "-1e400",
        "nan",
        "inf",
        "",
        " ",
        "source",
        "target",
        "src",
        "dst",
        "u",
        "v",
        "weight",
        "w",
        "edge_id",
        "id",
        '"',
        '"q,x"',
        "a\tb",
        "x\x00y",
        "é",
        "\u2028",
        "99999999999999999999",
    ]  # fmt: skip
)
HEADER_NAMES = st.sampled_from(
    [
        "source",
        "target",
        "SRC",
        "Dst",
        "from",
        "to",
        "u",
        "v",
        "head",
        "tail",
        "node1",
        "node2",
        "weight",
        "w",
        "edge_id",
        "node_a",
        "node_b",
        "id",
        "time",
        "x",
        "source id",
        "",
    ]  # fmt: skip
)


def _outcome(read: Any) -> Any:
    """Run ``read()``; return its result, or ``None`` after graphae's own error with a message."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # notices such as "looks directed"
        warnings.simplefilter("error", RuntimeWarning)  # numpy overflow/invalid: a reader bug
        try:
            return read()
        except GraphaeError as err:
            assert str(err).strip(), f"{type(err).__name__} without a message"
            return None


def _check_graph(graph: Any) -> None:
    if graph is None:
        return
    assert isinstance(graph, Graph)
    assert graph.node_ids is not None and len(graph.node_ids) == graph.num_nodes
    if graph.x is not None:
        assert np.isfinite(graph.x.data if sp.issparse(graph.x) else graph.x).all()


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# Edge lists -------------------------------------------------------------------------
@FUZZ
@given(
    data=st.binary(max_size=400), name=st.sampled_from(["e.csv", "e.tsv", "e.txt", "e.csv.gz", "e.parquet"])
)
def test_edge_list_of_random_bytes(folder, data, name) -> None:
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    path = folder / name
    path.write_bytes(data)
    _check_graph(_outcome(lambda: read_edgelist(path)))


@FUZZ
@given(
    rows=st.lists(st.lists(FIELDS, min_size=1, max_size=4), min_size=0, max_size=12),
    sep=st.sampled_from([",", "\t", " "]),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    gz=st.booleans(),
)
def test_edge_list_of_random_rows(folder, rows, sep, newline, gz) -> None:
    text = newline.join(sep.join(r) for r in rows)
    name = {",": "e.csv", "\t": "e.tsv", " ": "e.txt"}[sep] + (".gz" if gz else "")
    path = folder / name
    raw = text.encode("utf-8")
    path.write_bytes(gzip.compress(raw) if gz else raw)
    _check_graph(_outcome(lambda: read_edgelist(path)))


@FUZZ
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 30), st.integers(0, 30), st.integers(-2, 40)), min_size=1, max_size=40
    ),
    cut=st.floats(0, 1),
    gz=st.booleans(),
)
def test_truncated_edge_list(folder, rows, cut, gz) -> None:
    raw = "".join(f"{u},{v},{w}\n" for u, v, w in rows).encode()
    raw = gzip.compress(raw) if gz else raw
    path = folder / ("t.csv.gz" if gz else "t.csv")
    path.write_bytes(raw[: int(len(raw) * cut)])
    _check_graph(_outcome(lambda: read_edgelist(path)))


@FUZZ
@given(
    header=st.lists(HEADER_NAMES, min_size=1, max_size=5),
    rows=st.lists(st.lists(st.integers(0, 25), min_size=5, max_size=5), min_size=1, max_size=15),
    options=st.sampled_from(
        [
            {},
            {"source_col": "source", "target_col": "target"},
            {"source_col": "u", "target_col": "v", "weight_col": "w"},
        ]
    ),
    parquet=st.booleans(),
)
def test_edge_list_with_random_header(folder, header, rows, options, parquet) -> None:
    width = len(header)
    body = [r[:width] for r in rows]
    if parquet:
        pa = pytest.importorskip("pyarrow")
        pq = pytest.importorskip("pyarrow.parquet")
        names = [n or f"col{i}" for i, n in enumerate(header)]
        if len(set(names)) != len(names):
            return  # Arrow tables may repeat names, but pyarrow cannot select such columns by name
        path = folder / "h.parquet"
        pq.write_table(pa.table({n: [r[i] for r in body] for i, n in enumerate(names)}), path)
    else:
        path = folder / "h.csv"
        path.write_text("\n".join(",".join(map(str, r)) for r in [header, *body]) + "\n")
    graph = _outcome(lambda: load_graph(path, **options))
    _check_graph(graph)


# Feature tables ---------------------------------------------------------------------
@FUZZ
@given(data=st.binary(max_size=400), name=st.sampled_from(["f.csv", "f.txt", "f.npy", "f.npz", "f.parquet"]))
def test_features_of_random_bytes(folder, data, name) -> None:
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    path = folder / name
    path.write_bytes(data)
    _outcome(lambda: read_features(path, ["a", "b"]))


@FUZZ
@given(
    rows=st.lists(st.lists(FIELDS, min_size=1, max_size=4), min_size=0, max_size=10),
    sep=st.sampled_from([",", "\t"]),
)
def test_features_of_random_rows(folder, rows, sep) -> None:
    path = folder / ("f.csv" if sep == "," else "f.tsv")
    path.write_text("\n".join(sep.join(r) for r in rows), encoding="utf-8")
    edges = folder / "fe.csv"
    edges.write_text("a,b\nb,c\n")
    _check_graph(_outcome(lambda: read_edgelist(edges, features=path)))


@FUZZ
@given(
    values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=6, max_size=6),
    kind=st.sampled_from(["npy", "npz-x", "npz-sparse"]),
    cut=st.one_of(st.none(), st.integers(0, 400)),
)
def test_array_features_with_odd_values_or_truncated(folder, values, kind, cut) -> None:
    x = np.array(values).reshape(3, 2)
    buffer = io.BytesIO()
    if kind == "npy":
        np.save(buffer, x)
    elif kind == "npz-x":
        np.savez_compressed(buffer, x=x, ids=np.array(["a", "b", "c"]))
    else:
        sp.save_npz(buffer, sp.csr_matrix(x))
    raw = buffer.getvalue()
    path = folder / ("f.npy" if kind == "npy" else "f.npz")
    path.write_bytes(raw if cut is None else raw[:cut])
    edges = folder / "fa.csv"
    edges.write_text("a,b\nb,c\n")
    _check_graph(_outcome(lambda: read_edgelist(edges, features=path)))


# Planetoid --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def planetoid_files(folder: Path) -> tuple[Path, dict[str, bytes]]:
    root = folder / "planetoid"
    files = tiny_planetoid(root)
    assert load_planetoid("cora", root).num_nodes == 5  # the unfuzzed set is valid
    return root, files


PARTS = ["allx", "ally", "tx", "ty", "graph", "test.index", "y"]


@FUZZ
@given(
    part=st.sampled_from(PARTS),
    how=st.sampled_from(["random", "truncate", "flip"]),
    data=st.binary(max_size=200),
    where=st.floats(0, 1),
)
def test_damaged_planetoid_file(planetoid_files, part, how, data, where) -> None:
    root, files = planetoid_files
    original = files[part]
    k = int(len(original) * where)
    if how == "random":
        damaged = data
    elif how == "truncate":
        damaged = original[:k]
    else:  # overwrite bytes in the middle: opcodes, lengths, dtypes, shapes
        damaged = original[:k] + data[:8] + original[k + len(data[:8]) :]
    path = root / f"ind.cora.{part}"
    path.write_bytes(damaged)
    try:
        _check_graph_or_none(_outcome(lambda: load_planetoid("cora", root)))
    finally:
        path.write_bytes(original)


def _check_graph_or_none(graph: Any) -> None:
    if graph is not None:
        assert isinstance(graph, Graph)
        assert graph.y is not None and len(graph.y) == graph.num_nodes
