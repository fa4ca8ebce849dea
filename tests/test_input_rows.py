"""Rows of text inputs are never dropped or invented: comments, headers, line length.

Issue 19, items 4, 5, 6 and 15: ids that begin with ``#`` are data after the first row;
a header with unknown names over string ids is refused rather than read as an edge; a
feature header ``id,0,1,...`` is a header; a file without line breaks is refused.
"""

import re
from pathlib import Path

import pytest

from graphae.data import GraphFileError, read_edgelist, read_features
from graphae.data.edgelist import read_pairs


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _edges(graph) -> set[frozenset]:
    ids = graph.node_ids.tolist()
    coo = graph.adj.tocoo()
    return {frozenset((ids[i], ids[j])) for i, j in zip(coo.row, coo.col, strict=True)}


# Item 4: '#' starts a comment only at the start of a file ------------------------------
@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("tags.csv", "source,target\n#a,#b\n#b,c\nc,#a\n"),
        ("tags-noheader.csv", "x,#a\n#a,#b\n#b,x\n"),
        ("tags.txt", "x #a\n#a #b\n#b x\n"),
        ("tags-spaced.csv", "source,target\n #a, #b\n#b,x\nx,#a\n"),
        ("tags.tsv", "# exported by a tool\nsource\ttarget\n#a\t#b\n#b\tx\nx\t#a\n"),
    ],
)
def test_ids_beginning_with_a_hash_are_rows(tmp_path, monkeypatch, name, text) -> None:
    path = _write(tmp_path, name, text)
    graph = read_edgelist(path)
    assert graph.num_edges == 3
    assert "#a" in graph.node_ids.tolist() and "#b" in graph.node_ids.tolist()
    # The Python reader (the fast path's reference) reads the same rows.
    from graphae.data import edgelist

    monkeypatch.setattr(edgelist, "fast_text_edges", lambda *args: None)
    assert _edges(read_edgelist(path)) == _edges(graph)


def test_leading_comments_are_still_skipped(tmp_path) -> None:
    path = _write(tmp_path, "snap.txt", "# Directed graph\n\n# Nodes: 3\n1\t2\n2\t3\n")
    assert read_edgelist(path).num_edges == 2


def test_feature_rows_of_hash_ids_are_kept(tmp_path) -> None:
    path = _write(tmp_path, "f.csv", "id,f0\nx,1\n#a,2\n#b,3\n")
    ids, x = read_features(path)
    assert ids.tolist() == ["x", "#a", "#b"]
    assert x[:, 0].tolist() == [1.0, 2.0, 3.0]


def test_query_pairs_of_hash_ids_are_kept(tmp_path) -> None:
    path = _write(tmp_path, "pairs.csv", "# my queries\nsource,target\n#a,#b\n#b,x\n")
    assert read_pairs(path) == [("#a", "#b", 3), ("#b", "x", 4)]


# Item 15: a line is bounded ------------------------------------------------------------
@pytest.mark.parametrize("reader", [read_edgelist, read_features, read_pairs])
def test_a_file_without_line_breaks_is_refused(tmp_path, monkeypatch, reader) -> None:
    from graphae.data import text

    monkeypatch.setattr(text, "MAX_LINE", 1000)
    path = _write(tmp_path, "one-line.csv", "a,b\n" + "x" * 5000)
    with pytest.raises(
        GraphFileError, match="^" + re.escape(f"{path}:2: has no line break within 1000 characters")
    ):
        reader(path)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_cli_edges_from_dev_zero_is_one_line(tmp_path, capsys) -> None:
    from cli_helpers import user_error

    line = user_error(capsys, ["train", "--edges", "/dev/zero", "--out", str(tmp_path / "run"), "--quiet"])
    assert line == (
        "graphae: error: /dev/zero:1: has no line break within 67108864 characters; a text edge list, "
        "pair list or feature table has one row per line"
    )


# Item 5: a header that names no endpoints is refused, also over string ids ------------
def _people(sep: str) -> str:
    return "".join(f"p{i}{sep}p{(i + 1) % 30}\n" for i in range(30))


@pytest.mark.parametrize(
    ("name", "head", "sep"),
    [("people.csv", "person,friend", ","), ("people.txt", "user item", " "), ("people.tsv", "a\tb", "\t")],
)
def test_an_unrecognised_header_over_string_ids_is_refused(tmp_path, name, head, sep) -> None:
    path = _write(tmp_path, name, head + "\n" + _people(sep))
    fields = head.split(sep)
    with pytest.raises(
        GraphFileError, match="^" + re.escape(f"{path}:1: the first row {fields!r} looks like a header")
    ):
        read_edgelist(path)


def test_cli_unrecognised_header_is_one_line(tmp_path, capsys) -> None:
    from cli_helpers import user_error

    path = _write(tmp_path, "people.csv", "person,friend\n" + _people(","))
    line = user_error(capsys, ["train", "--edges", str(path), "--out", str(tmp_path / "run"), "--quiet"])
    assert line == (
        f"graphae: error: {path}:1: the first row ['person', 'friend'] looks like a header (its names "
        "appear in no other row) but does not say which columns are the endpoints: name them source,target, "
        "src,dst, from,to, u,v, head,tail, node1,node2 (any case), or pass source_col and target_col "
        "(CLI: --source-col, --target-col); a third column is read as a weight only when named 'weight' or "
        "given as weight_col (CLI: --weight-col); if it is an edge, add a header row such as source,target "
        "above it"
    )


@pytest.mark.parametrize(
    "text",
    [
        "source,target\n" + _people(","),  # a recognised header
        "x,y\n" + "".join(f"a{i},b{i}\n" for i in range(30)),  # every row an edge of its own
        "p0,zz\n" + _people(","),  # the first row shares a node
        "1,2\n" + "".join(f"{i},{i + 100}\n" for i in range(3, 30)),  # numbers
    ],
    ids=["recognised", "matching", "shared-node", "numbers"],
)
def test_first_rows_that_are_edges_still_read(tmp_path, text) -> None:
    graph = read_edgelist(_write(tmp_path, "e.csv", text))
    assert graph.num_edges == len(text.splitlines()) - text.startswith("source")


def test_header_false_and_column_options_skip_the_check(tmp_path) -> None:
    path = _write(tmp_path, "people.csv", "person,friend\n" + _people(","))
    assert read_edgelist(path, header=False).num_edges == 31
    assert read_edgelist(path, source_col="person", target_col="friend").num_edges == 30


# Item 6: a feature header that numbers the columns is a header -------------------------
@pytest.mark.parametrize(
    "head",
    ["id,0,1,2", ",0,1,2", "node,1,2,3", "Unnamed: 0,0,1,2", "id,0", "key,0,1,2"],
    ids=["id", "pandas-index", "from-one", "unnamed", "one-column", "other-name"],
)
def test_a_feature_header_of_column_numbers_is_a_header(tmp_path, head) -> None:
    width = len(head.split(",")) - 1
    rows = "".join(f"n{i}," + ",".join(f"{0.5 * (i + k)}" for k in range(width)) + "\n" for i in range(4))
    ids, x = read_features(_write(tmp_path, "f.csv", head + "\n" + rows))
    assert ids.tolist() == ["n0", "n1", "n2", "n3"]
    assert x.shape == (4, width)


@pytest.mark.parametrize(
    "text",
    ["a,0,1,2\nb,0,1,2\n", "a,0\nb,1\n", "a,2,3\nb,0.5,1\n", "a,1,2\nb,1,3\n", "a,0,1\n"],
    ids=["same-rows", "one-column-data", "not-from-zero-or-one", "two-values", "one-row"],
)
def test_feature_rows_that_count_are_still_data(tmp_path, text) -> None:
    ids, _ = read_features(_write(tmp_path, "f.csv", text))
    assert ids[0] == "a"


def test_cli_pandas_feature_header_adds_no_node(tmp_path, capsys) -> None:
    from graphae.cli import main

    edges = _write(tmp_path, "e.csv", "".join(f"n{i},n{(i + 1) % 40}\n" for i in range(40)))
    feats = _write(tmp_path, "f.csv", "id,0,1\n" + "".join(f"n{i},{i % 3}.5,{i % 5}.25\n" for i in range(40)))
    run = tmp_path / "run"
    argv = ["train", "--edges", str(edges), "--features", str(feats), "--out", str(run), "--epochs", "1"]
    assert main([*argv, "--quiet", "--device", "cpu"]) == 0
    ids = (run / "node_ids.txt").read_text().split()
    assert len(ids) == 40 and "id" not in ids


def test_a_long_line_that_is_not_utf8_is_found_without_holding_the_file(tmp_path, monkeypatch) -> None:
    from graphae.data import text

    monkeypatch.setattr(text, "MAX_LINE", 1000)
    path = tmp_path / "bin.txt"
    path.write_bytes(b"a b\n" + b"x" * 500 + b"\xff" + b"y" * 5000)
    with pytest.raises(GraphFileError, match="^" + re.escape(f"{path}:2: is not UTF-8 text")):
        read_edgelist(path)
