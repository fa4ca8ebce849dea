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
