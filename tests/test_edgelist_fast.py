"""The pyarrow path of text edge lists gives the Python reader's graph, or declines to its errors.

Each file is read twice, through ``read_edgelist`` as it is and with the fast path
turned off, and both outcomes must be equal: node ids (values and type), edges,
direction, warnings, or the same error message. Files with comments, quoting, odd
whitespace or an error must be declined (the Python reader names the line); clean
files must not fall back to the Python reader.
"""

import gzip
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import graphae.data.edgelist as edgelist
import graphae.data.parquet_edges as parquet_edges
from graphae.data import GraphFileError, read_edgelist
from graphae.data.arrow_edges import _UNICODE_SPACE, fast_text_edges
from graphae.data.columns import ColumnChoice
from graphae.data.text import default_delimiter, object_array, typed_ids
from graphae.errors import GraphaeError

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    data = text.encode("utf-8") if isinstance(text, str) else text
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    return path


def _outcome(path: Path, **kwargs: Any) -> tuple:
    """What ``read_edgelist`` gives: the graph's parts and warnings, or graphae's error."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            graph = read_edgelist(path, **kwargs)
        except GraphaeError as err:
            return ("error", type(err).__name__, str(err))
    return (
        graph.node_ids.dtype,
        graph.node_ids.tolist(),
        graph.edges().tolist(),
        graph.directed,
        [str(w.message) for w in caught],
    )


def _slow_outcome(path: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> tuple:
    with monkeypatch.context() as m:
        m.setattr(edgelist, "fast_text_edges", lambda *args: None)
        return _outcome(path, **kwargs)


def _fast(path: Path, **kwargs: Any) -> Any:
    """``fast_text_edges`` with ``read_edgelist``'s defaults."""
    choice = ColumnChoice(kwargs.get("source_col"), kwargs.get("target_col"), kwargs.get("weight_col"))
    header = True if choice.given else kwargs.get("header")
    delimiter = default_delimiter(path, kwargs.get("delimiter"))
    return fast_text_edges(path, delimiter, header, kwargs.get("comment", "#"), choice)


# Files the fast path reads --------------------------------------------------------------
FAST_FILES = [
    ("strings.csv", "a,b\nb,c\nc,d\n", {}),
    ("strings.txt", "user_1 user_2\nuser_2 user_3\nuser_9 user_1\n", {}),
    ("ints.tsv", "10\t2\n2\t3\n3\t10\n", {}),
    ("not-canonical.txt", "007 1\n1 2\n", {}),
    ("big-int.txt", "1 99999999999999999999\n2 1\n", {}),
    ("negative.csv", "-3,0\n0,5\n", {}),
    ("header.csv", "source,target\na,b\nb,c\n", {}),
    ("named-header.tsv", "Src\tDst\tweight\na\tb\t1\nb\tc\t2.5\n", {}),
    ("weights.txt", "a b 1\nb c 0.5\nc d 2e3\n", {}),
    ("spaced.csv", "source, target, weight\n1, 2, 1.5 \n2 , 3,2\n", {}),
    ("gz.csv.gz", "source,target\nx,y\ny,z\n", {}),
    ("gz.txt.gz", "1 2\n2 3\n", {}),
    ("crlf.csv", "a,b\r\nb,c\r\n\r\nc,d\r\n", {}),
    ("bom.csv", "\ufeffa,b\nb,c\n", {}),
    ("bom-header.csv", "\ufeffsource,target\na,b\n", {}),
    ("snap.txt", "# Directed graph\n# Nodes: 4 Edges: 3\n1\t2\n2\t3\n3\t4\n", {}),
    ("konect.el", "% sym\n%\n1 2\n2 3\n", {"comment": "%"}),
    ("comment-none.csv", "a,#b\n#b,c\n", {"comment": None}),
    ("hash-in-id.csv", "a,b#1\nb,c\n", {}),
    ("hashtags.csv", "source,target\n#a,#b\n#b,c\n", {}),
    ("blank-lines.csv", "\n\na,b\n\nb,c\n\n", {}),
    ("no-final-newline.csv", "a,b\nb,c", {}),
    ("unicode.csv", "é,ü\nü,日本\n", {}),
    ("loops-dupes.txt", "a b\nb a\na a\na b\nc c\n", {}),
    ("looks-directed.txt", "a b\nb a\nb c\nc d\n", {}),
    ("directed.txt", "a b\nb a\nb c\n", {"directed": True}),
    ("reverse.tsv", "a\tb\nb\tc\n", {"directed": True, "reverse": True}),
    ("semicolon.txt", "a;b\nb;c\n", {"delimiter": ";"}),
    ("header-true.txt", "1 2\n2 3\n3 4\n", {"header": True}),
    ("header-false.csv", "source,target\na,b\n", {"header": False}),
    ("quoted-header.csv", '"source","target","weight"\nuser_1,user_2,0.5\nuser_2,user_3,3\n', {}),
    ("quoted-header-lines.csv", '"source","tar\nget"\n\na,b\n', {"source_col": "source", "target_col": "tar\nget"}),
    ("chosen.csv", "id,node_a,node_b,strength\n1,a,b,2\n2,b,c,3\n", {"source_col": "node_a", "target_col": "NODE_B", "weight_col": "strength"}),
    ("extra-columns.csv", "edge_id,src,dst,time\n7,a,b,100\n8,b,c,200\n", {}),
    ("quotes-whitespace.txt", 'a "b\n"b c"\n', {}),
    ("timestamps.txt", "".join(f"{i} {i + 1} {1_600_000_000 + i}\n" for i in range(40)), {}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "kwargs"), FAST_FILES, ids=[f[0] for f in FAST_FILES])
def test_fast_path_reads_the_python_readers_graph(tmp_path, monkeypatch, name, text, kwargs) -> None:
    path = _write(tmp_path, name, text)
    assert _fast(path, **kwargs) is not None, "declined a file it can read"
    fast = _outcome(path, **kwargs)
    assert fast[0] != "error"
    assert fast == _slow_outcome(path, monkeypatch, **kwargs)


def test_a_clean_file_never_reaches_the_python_reader(tmp_path, monkeypatch) -> None:
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, 300, size=(2000, 2))
    text = "source,target,weight\n" + "".join(
        f"user_{a},user_{b},{w}\n" for (a, b), w in zip(pairs, rng.random(2000) + 0.5, strict=True)
    )
    path = _write(tmp_path, "edges.csv", text)

    def refuse(*args: Any) -> None:
        raise AssertionError("the Python reader ran")

    slow = _slow_outcome(path, monkeypatch)
    monkeypatch.setattr(edgelist, "_read_text_rows", refuse)
    assert _outcome(path) == slow


# Files the fast path declines -----------------------------------------------------------
DECLINED = [
    ("comment-mid.csv", "a,b\n# note\nb,c\n", {}),
    ("quoted.csv", '"a","b"\n"b", "c"\n', {}),
    ("quoted-comma.csv", 'a,"b,1"\nb,c\n', {}),
    ("quote-spans-lines.csv", 'a,"\na,a\n', {}),  # one record, lines 1-2, whose line is 2
    ("quote-spans-after-header.csv", 'source,target\n\na,"\na,a\nb,c\n', {}),
    ("quote-in-comment.csv", 'source,target\n# "x"\na,b\n', {}),
    ("runs-of-spaces.txt", "a  b\nb c\n", {}),
    ("mixed-whitespace.txt", "a b\nb\tc\n", {}),
    ("leading-space.txt", "a b\n b c\n", {}),
    ("trailing-tab.tsv", "a\tb\nb\tc\t\n", {}),
    ("nbsp.csv", "a,b\u00a0\nb,c\n", {}),
    ("ideographic-space.txt", "a b\nb\u3000c d\n", {}),
    ("lone-cr.csv", "a,b\rb,c\n", {}),
    ("lone-cr-in-comment.csv", "# x\ry\na,b\n", {}),
    ("vertical-tab.txt", "a b\nb\x0bc\n", {}),
    ("nul.csv", "a,b\nb,x\x00y\n", {}),
    ("multi-char-delimiter.txt", "a::b\n", {"delimiter": "::"}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "kwargs"), DECLINED, ids=[f[0] for f in DECLINED])
def test_fast_path_declines_what_python_reads_differently(tmp_path, monkeypatch, name, text, kwargs) -> None:
    path = _write(tmp_path, name, text)
    assert _fast(path, **kwargs) is None
    if "delimiter" not in kwargs or len(kwargs["delimiter"]) == 1:
        assert _outcome(path, **kwargs) == _slow_outcome(path, monkeypatch, **kwargs)


ERRORS = [
    ("e.txt", "a b\nc d\ne\n", 3, r"expected 2 fields \(source, target\), got 1"),
    ("e.txt", "a b\nc d e f\n", 2, r"expected at most 3 fields"),
    ("e.txt", "a b\nc d 1\n", 2, r"expected 2 fields like line 1, got 3"),
    ("e.txt", "a b 1\nb c 0\n", 2, r"weight must be a number > 0, got '0'"),
    ("e.txt", "a b 1\nb c inf\n", 2, r"weight must be a number > 0, got 'inf'"),
    ("e.txt", "a b 1\nb c 1_0\nc d x\n", 3, r"weight must be a number > 0, got 'x'"),
    ("e.csv", "source,target\na,b\n,c\n", 3, r"empty node id"),
    ("e.tsv", "a\tb\n\t\nb\tc\n", None, None),  # a line of whitespace is blank to Python: no error
    ("e.csv", "a,b\nb,x\u2028y\n", 2, r"node id 'x\\u2028y' holds a line break"),
    ("e.csv", "a,b\nb,x\x85y\n", 2, r"node id 'x\\x85y' holds a line break"),
    ("e.txt", "".join(f"{i} {i + 1} {i + 1}\n" for i in range(30)), None, r"the third column looks like node ids"),
    ("e.txt", b"a b\nb c\n\xff d\n", 3, r"is not UTF-8 text"),
    ("e.csv", "source,target\n", None, r"no edges found$"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "text", "line", "match"), ERRORS)
@pytest.mark.parametrize("gz", [False, True])
def test_errors_are_the_python_readers(tmp_path, monkeypatch, name, text, line, match, gz) -> None:
    path = _write(tmp_path, name + ".gz" if gz else name, text)
    outcome = _outcome(path)
    assert outcome == _slow_outcome(path, monkeypatch)
    if match is None:
        assert outcome[0] != "error"
        return
    where = f"{path}:{line}:" if line is not None else f"{path}:"
    assert outcome[0] == "error" and re.match(re.escape(where) + " " + match, outcome[2]), outcome


def test_a_field_over_the_csv_limit_is_left_to_python(tmp_path, monkeypatch) -> None:
    import csv

    path = _write(tmp_path, "e.csv", "a,b\nb," + "c" * 200 + "\n")
    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(100)
        assert _fast(path) is None
        with pytest.raises(GraphFileError, match=re.escape(f"{path}:2: cannot be parsed")):
            read_edgelist(path)
    finally:
        csv.field_size_limit(limit)
    assert _fast(path) is not None


def test_without_pyarrow_the_python_reader_runs(tmp_path, monkeypatch) -> None:
    path = _write(tmp_path, "e.csv.gz", "source,target,weight\nu1,u2,1\nu2,u3,2\n")
    expected = _outcome(path)
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.compute", None)
    monkeypatch.setitem(sys.modules, "pyarrow.csv", None)
    assert _fast(path) is None
    assert _outcome(path) == expected
    assert expected[1] == ["u1", "u2", "u3"]


# Parquet: ids hashed in Arrow, or through numpy for floats and mixed types ---------------
@pytest.mark.parametrize(
    ("source", "target"),
    [
        (["c", "a", "b"], ["a", "d", "c"]),
        (pa.array(["c", "a"], pa.large_string()), pa.array(["a", "d"], pa.string())),
        (pa.array([30, 10, 20], pa.int32()), pa.array([10, 20, 40], pa.int32())),
        (pa.array([3, 1], pa.int32()), pa.array([1, 4], pa.int64())),
        ([1.5, -0.0], [0.0, 2.5]),
        (pa.array(["x", "y"]).dictionary_encode(), pa.array(["y", "z"])),
    ],
    ids=["strings", "string-types", "int32", "mixed-ints", "floats", "dictionary"],
)
def test_parquet_arrow_and_numpy_ids_agree(tmp_path, monkeypatch, source, target) -> None:
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"source": source, "target": target}), path)
    arrow = _outcome(path)
    with monkeypatch.context() as m:
        m.setattr(parquet_edges, "_encode_arrow_ids", lambda s, d: None)
        numpy = _outcome(path)
    assert arrow == numpy
    assert arrow[0] != "error"


def test_parquet_control_character_names_its_row(tmp_path) -> None:
    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"source": ["a", "b", "c"], "target": ["b", "c", "x\ny"]}), path)
    with pytest.raises(GraphFileError, match=re.escape(f"{path}: row 3: node id 'x\\ny' holds a line break")):
        read_edgelist(path)


# Helpers ---------------------------------------------------------------------------------
def _typed_ids_reference(ids: np.ndarray) -> np.ndarray:
    """The per-id rule: int64 when every text is a canonical integer."""
    texts = [str(v) for v in ids.tolist()]
    try:
        ints = [int(t) for t in texts]
        if all(str(i) == t for i, t in zip(ints, texts, strict=True)):
            return np.array(ints, dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    return object_array(texts)


@pytest.mark.parametrize(
    "texts",
    [
        [],
        ["1", "2", "-3", "0"],
        ["007"],
        ["+7"],
        [" 7"],
        ["7 "],
        ["1_0"],
        ["-0"],
        ["\u0663"],
        ["1.0"],
        ["9223372036854775807", "-9223372036854775808"],
        ["9223372036854775808"],
        ["1", "x"],
        ["1", ""],
        [" " * 100 + "7"],
    ],
)
def test_typed_ids_follows_the_per_id_rule(texts) -> None:
    ids = object_array(texts)
    got, want = typed_ids(ids), _typed_ids_reference(ids)
    assert got.dtype == want.dtype and got.tolist() == want.tolist()


def test_unicode_space_is_every_non_ascii_space_of_python() -> None:
    spaces = "".join(chr(c) for c in range(0x80, sys.maxunicode + 1) if chr(c).isspace())
    assert "".join(_UNICODE_SPACE.findall(spaces)) == spaces
    assert not _UNICODE_SPACE.search("".join(chr(c) for c in range(0x80, 0x4000) if not chr(c).isspace()))


# Fuzzing: random files, both readers ---------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# As in test_fuzz_readers: GRAPHAE_FUZZ_EXAMPLES=3000 fuzzes longer; CI runs are derandomized.
FUZZ = settings(
    max_examples=int(os.environ.get("GRAPHAE_FUZZ_EXAMPLES", "150")),
    derandomize=bool(os.environ.get("CI")),
    deadline=5000,
    suppress_health_check=[HealthCheck.too_slow],
)
FIELDS = st.sampled_from(
    ["a", "b", "c", "u_1", "0", "1", "2", "007", "-1", "1.5", "0", "1e400", "nan", "", " ", " a", "b ",
     "source", "target", "weight", '"', '"q"', "#", "a#", "é", "\xa0", "\u2028", "x\ty", "1_0", "+2"]
)  # fmt: skip
SEPARATORS = st.sampled_from([",", "\t", " ", "  ", ", "])
LINE_ENDS = st.sampled_from(["\n", "\n", "\r\n", "\n\n", "\r"])


@FUZZ
@given(
    width=st.integers(2, 3),
    cells=st.lists(FIELDS, min_size=2, max_size=24),
    sep=SEPARATORS,
    end=LINE_ENDS,
    name=st.sampled_from(["e.csv", "e.tsv", "e.txt", "e.csv.gz"]),
    header=st.sampled_from([None, True, False]),
    comment=st.sampled_from(["#", None]),
)
def test_fuzzed_files_read_alike_both_ways(
    tmp_path_factory, width, cells, sep, end, name, header, comment
) -> None:
    rows = [cells[i : i + width] for i in range(0, len(cells), width)]
    path = _write(tmp_path_factory.mktemp("fuzz"), name, end.join(sep.join(r) for r in rows) + end)
    kwargs = {"header": header, "comment": comment}
    with pytest.MonkeyPatch.context() as m:
        assert _outcome(path, **kwargs) == _slow_outcome(path, m, **kwargs)


# Fields that mostly keep the fast path going, to fuzz what it reads rather than what it declines.
PLAIN = st.sampled_from(["a", "b", "c", "d", "u_1", "0", "1", "2", "3", "é"])
CLEAN_FIELDS = st.one_of(
    PLAIN,
    PLAIN,
    PLAIN,
    PLAIN,
    st.sampled_from(["007", "-1", "1.5", "2e3", "0", "nan", "1_0", "+2", "source", "target", "weight",
                     "src", "dst", "a b", " c", "d "]),
)  # fmt: skip


@FUZZ
@given(
    width=st.sampled_from([2, 2, 3, 4]),
    cells=st.lists(CLEAN_FIELDS, min_size=2, max_size=30),
    sep=st.sampled_from([",", "\t", " ", ", "]),
    end=st.sampled_from(["\n", "\r\n", "\n\n"]),
    name=st.sampled_from(["e.csv", "e.tsv", "e.txt", "e.txt.gz"]),
    header=st.sampled_from([None, True, False]),
)
def test_fuzzed_clean_files_read_alike_both_ways(
    tmp_path_factory, width, cells, sep, end, name, header
) -> None:
    rows = [cells[i : i + width] for i in range(0, len(cells) - len(cells) % width or width, width)]
    path = _write(tmp_path_factory.mktemp("fuzz"), name, end.join(sep.join(r) for r in rows) + end)
    with pytest.MonkeyPatch.context() as m:
        assert _outcome(path, header=header) == _slow_outcome(path, m, header=header)


def test_load_graph_gives_back_arrows_pooled_memory(tmp_path, monkeypatch):
    # Arrow's allocator kept the freed memory of the tables: 0.3 GiB resident for the whole run
    # after a 10M-edge Parquet file with 64 feature columns (3 GiB at 100M edges).
    from graphae.data.files import load_graph

    path = tmp_path / "e.parquet"
    pq.write_table(pa.table({"source": [0, 1, 2], "target": [1, 2, 0]}), path)
    calls = []
    pool = pa.default_memory_pool()

    class Spy:
        def release_unused(self):
            calls.append(1)
            pool.release_unused()

    monkeypatch.setattr(pa, "default_memory_pool", lambda: Spy())
    assert load_graph(path).num_edges == 3
    assert calls == [1]
