"""Edge lists, text or Parquet: :func:`read_edgelist` and :func:`read_pairs`.

Each row is ``source target [weight]``. Weights are checked (a number > 0) and then
dropped: a :class:`~graphae.graph.Graph` is binary. Self loops are dropped and
duplicates merged. Node ids and order follow the rules in :mod:`graphae.data.files`.
"""

from __future__ import annotations

import os
import warnings
from typing import Any

import numpy as np

from graphae.data.arrow_edges import fast_text_edges
from graphae.data.columns import (
    ColumnChoice,
    EdgeColumns,
    check_not_ids,
    check_unnamed_header,
    parse_weights,
    resolve_columns,
)
from graphae.data.features import align, feature_source
from graphae.data.parquet import PARQUET_SUFFIXES
from graphae.data.parquet_edges import read_parquet_edges
from graphae.data.text import (
    GraphFileError,
    PathLike,
    check_exists,
    check_id_text,
    default_delimiter,
    edge_header_rule,
    object_array,
    preview,
    split_header,
    stem,
    suffix,
    text_rows,
    typed_ids,
)
from graphae.errors import InputError
from graphae.graph import Graph
from graphae.pairs import keys_fit, unordered_keys_and_ordered_count

__all__ = ["read_edgelist", "read_labelled_pairs", "read_pairs"]


def read_edgelist(
    path: PathLike,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    comment: str | None = "#",
    features: Any = None,
    name: str | None = None,
    directed: bool = False,
    reverse: bool = False,
    source_col: str | None = None,
    target_col: str | None = None,
    weight_col: str | None = None,
) -> Graph:
    """Read an edge list (text or Parquet) into a graph.

    Text rows are ``source<sep>target`` or ``source<sep>target<sep>weight``; every row
    must have as many fields as the first. Blank lines are skipped, and so are lines
    starting with ``comment`` at the start of the file, before the header or first
    row; a later line starting with it is a row (ids such as ``#tag`` are kept). Node ids and node order follow the rules in
    :mod:`graphae.data.files`. Unless ``directed``, the graph is undirected, and a
    list in which at least 1% but not all of the pairs also appear reversed looks
    directed and triggers a warning; a list of each edge once, or of every edge both
    ways, is read silently.

    Columns by name: when the file names its columns (a text header row, or any
    Parquet table) the endpoints are ``source_col``/``target_col`` if given, else a
    recognised pair of names (``source,target``, ``src,dst``, ``from,to``, ``u,v``,
    ``head,tail``, ``node1,node2``, ``source_id,target_id``, ...; any case), else the
    two columns of a two-column file, or the first two of ``a,b,weight``. Any other
    header is an error that lists the columns and these options: taking the first
    two columns of ``edge_id,node_a,node_b`` would silently build another graph. The
    weight is ``weight_col`` or a column named ``weight``; other columns are ignored.
    In a file without names, a third column of integers that are nearly all node ids
    of the first two columns is refused as not a plausible weight. Reading Parquet
    needs ``pyarrow``; its id columns must hold integers, finite floats or strings.

    Header rule for text (``header=None``): the first non-comment row is a header if
    (a) it has a third field that is not a number (``weight``), or (b) its first two
    fields are both endpoint names such as ``source,target``, ``src,dst`` or
    ``from,to``, or (c) its first two fields are both non-numeric while the second
    row's are both numeric. A first row read as data whose two words appear in no
    other row (``person,friend`` over string ids) is refused as a header that names no
    endpoints. ``header=True``/``False`` overrides the rule; giving
    ``source_col``/``target_col``/``weight_col`` means ``header=True``.

    Speed: with pyarrow installed, text is read by its CSV reader and ids are mapped
    by hashing, with no Python per edge, whenever that gives the same graph (no
    quoting, one kind of separator); other files, and
    every file with an error, are read row by row, so the messages stay the same.

    Args:
        path: The edge-list file; ``.gz`` text is decompressed.
        delimiter: Field separator. ``None`` picks ``","`` for ``.csv``, tab for
            ``.tsv`` and runs of whitespace otherwise (fields are then plain words:
            no quoting).
        header: Whether the first non-comment row names the columns (see above).
        comment: Prefix of the comment lines that may start the file, or ``None``.
        features: Node features: a feature file for
            :func:`~graphae.data.features.read_features`, an ``(ids, matrix)`` pair as
            it returns, or a matrix whose rows follow the edge list's node order. Nodes
            with features but no edges are added as isolated nodes; an edge-list node
            without a feature row is an error.
        name: Graph name; defaults to the file stem.
        directed: Keep the direction of each row, ``source -> target``, and return a
            directed graph (a pair listed both ways gives two edges). Duplicates and
            self loops are still dropped.
        reverse: Each row is ``target, source``: edges point from the second column to
            the first (Cora's ``cora.cites`` is ``cited<TAB>citing``; reversed, a paper
            points to the papers it cites). Node order is unchanged. Only matters when
            ``directed``.
        source_col: Name of the source column (with ``target_col``); see above.
        target_col: Name of the target column (with ``source_col``).
        weight_col: Name of the weight column, checked and dropped.

    Returns:
        A new :class:`~graphae.graph.Graph` with ``node_ids`` set.

    Raises:
        MissingFileError: If ``path`` does not exist.
        GraphFileError: On a row with fewer than 2 or more than 3 fields (or another
            count than the first row), an empty id, an id holding a line break or
            another control character, a weight that is not a number > 0, a header
            that does not say which columns are the endpoints, a third column that
            looks like node ids, a file without edges (``FILE: no edges found``),
            text that is not UTF-8, a truncated or damaged ``.gz``, or features that
            do not align.
        InputError: If column names are given with ``header=False``, or only one of
            ``source_col`` and ``target_col``.
        MissingDependencyError: For Parquet without pyarrow.

    Warns:
        UserWarning: When a directed-looking edge list is made undirected.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "cites.tsv"
        >>> _ = p.write_text("a\\tb\\nb\\ta\\nb\\tc\\n")
        >>> read_edgelist(p, directed=True)
        Graph(name='cites', num_nodes=3, num_edges=3, features=none, directed=True)
    """
    choice = ColumnChoice(source_col, target_col, weight_col)
    if suffix(path) in PARQUET_SUFFIXES:
        ids, src, dst = read_parquet_edges(path, choice)
        from_text = False
    else:
        ids, src, dst = _read_text_edges(path, default_delimiter(path, delimiter), header, comment, choice)
        from_text = True
    x = None
    if features is not None:
        feat_ids, x, where = feature_source(features)
        ids, x = align(ids, feat_ids, x, where)
    if from_text:
        ids = typed_ids(ids)
    edge_index = np.stack([dst, src] if reverse else [src, dst])
    fields = {"x": x, "name": name or stem(path), "node_ids": ids}
    if directed:
        return Graph.from_edge_index(edge_index, len(ids), directed=True, **fields)
    keys, listed, edges = _undirected_keys(edge_index, len(ids))
    if _looks_directed(listed, edges):
        warnings.warn(
            f"{os.fspath(path)}: the edge list looks directed (some edges are listed both ways, "
            "others one way only); it was made undirected.",
            UserWarning,
            stacklevel=2,
        )
    if keys is None:  # no int64 pair keys
        return Graph.from_edge_index(edge_index, len(ids), **fields)
    return Graph._from_edge_keys(keys, len(ids), **fields)


def read_pairs(
    path: PathLike, *, delimiter: str | None = None, header: bool | None = None, comment: str | None = "#"
) -> list[tuple[str, str, int]]:
    """Node-id pairs of a text file, for link prediction queries.

    The file follows the edge-list rules of :func:`read_edgelist` (delimiter by
    extension, optional header, leading comment lines); only the first two fields count.

    Returns:
        ``(source id, target id, line number)`` per row, ids as text.

    Raises:
        MissingFileError: If the file does not exist.
        GraphFileError: On a row with fewer than two fields or an empty id, or a file
            without any pair; the message names the file and line.
    """
    return [(a, b, n) for a, b, _, n in _pair_rows(path, delimiter, header, comment, labelled=False)]


def read_labelled_pairs(
    path: PathLike, *, delimiter: str | None = None, header: bool | None = None, comment: str | None = "#"
) -> list[tuple[str, str, int, int]]:
    """Node-id pairs with a label, ``source,target,label`` (1: an edge, 0: a non-edge).

    The file follows the rules of :func:`read_pairs`; the third field must be 0 or 1.

    Returns:
        ``(source id, target id, label, line number)`` per row.

    Raises:
        MissingFileError: If the file does not exist.
        GraphFileError: On a row without three fields, a label other than 0 or 1, or a
            file without any pair; the message names the file and line.
    """
    return list(_pair_rows(path, delimiter, header, comment, labelled=True))


def _pair_rows(
    path: PathLike, delimiter: str | None, header: bool | None, comment: str | None, *, labelled: bool
) -> list[tuple[str, str, int, int]]:
    check_exists(path)
    pairs: list[tuple[str, str, int, int]] = []
    with text_rows(path, default_delimiter(path, delimiter), comment) as all_rows:
        _, rows = split_header(all_rows, header, edge_header_rule)
        for lineno, fields in rows:
            if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
                raise GraphFileError(path, f"expected two node ids, got {preview(fields)}", lineno)
            label = 1
            if labelled:
                text = fields[2].strip() if len(fields) > 2 else ""
                if text not in ("0", "1"):
                    raise GraphFileError(
                        path, f"expected source,target,label with label 0 or 1, got {preview(fields)}", lineno
                    )
                label = int(text)
            pairs.append((fields[0].strip(), fields[1].strip(), label, lineno))
    if not pairs:
        raise GraphFileError(path, "no node pairs found")
    return pairs


def _looks_directed(listed: int, edges: int) -> bool:
    """At least 1% but not all of the listed pairs also listed reversed: a directed list.

    A list of each edge once (reversed duplicates by chance stay under 1%) or of every
    edge both ways is the usual encoding of an undirected graph and passes silently.

    Args:
        listed: Distinct ordered pairs of distinct nodes in the list.
        edges: Distinct unordered pairs among them: a pair listed both ways is one edge.
    """
    both = 2 * (listed - edges)  # listed pairs whose reverse is listed too
    return 0.01 * listed <= both < listed and both > 0


def _undirected_keys(edge_index: np.ndarray, n: int) -> tuple[np.ndarray | None, int, int]:
    """``(edge keys, distinct ordered pairs, distinct unordered pairs)`` of distinct nodes.

    The keys are ``None`` where ``n`` nodes have no int64 pair keys.
    """
    if not keys_fit(n):
        return None, *_count_pairs(edge_index)
    keys, ordered = unordered_keys_and_ordered_count(edge_index, n)
    return keys, ordered, len(keys)


def _count_pairs(edge_index: np.ndarray) -> tuple[int, int]:
    """``(distinct ordered pairs, distinct unordered pairs)`` of distinct nodes, without pair keys."""
    pairs = edge_index[:, edge_index[0] != edge_index[1]]
    return np.unique(pairs, axis=1).shape[1], np.unique(np.sort(pairs, axis=0), axis=1).shape[1]


# Text ------------------------------------------------------------------------------
def _read_text_edges(
    path: PathLike, delimiter: str | None, header: bool | None, comment: str | None, choice: ColumnChoice
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ids as text in order of first appearance, source rows, target rows)``.

    pyarrow reads the file when it can promise the same result (see
    :mod:`graphae.data.arrow_edges`); otherwise, and for every error, Python does.
    """
    if choice.given:
        if header is False:
            raise InputError(
                "source_col, target_col and weight_col name the columns of a header row; "
                "they cannot be used with header=False."
            )
        header = True
    fast = fast_text_edges(path, delimiter, header, comment, choice)
    ids, src, dst = fast if fast is not None else _read_text_rows(path, delimiter, header, comment, choice)
    if header is None:
        with text_rows(path, delimiter, comment) as all_rows:
            head, rows = split_header(all_rows, header, edge_header_rule)
            if head is None:
                check_unnamed_header(next(rows), src, dst, path)
    return ids, src, dst


def _read_text_rows(
    path: PathLike, delimiter: str | None, header: bool | None, comment: str | None, choice: ColumnChoice
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_read_text_edges` in Python, row by row: the reference, and every error's source."""
    index: dict[str, int] = {}
    src: list[int] = []
    dst: list[int] = []
    weights: list[str] = []
    weight_lines: list[int] = []
    with text_rows(path, delimiter, comment) as all_rows:
        head, rows = split_header(all_rows, header, edge_header_rule)
        width = first_line = cols = None
        if head is not None:
            first_line, width = head[0], len(head[1])
            if width < 2:
                _edge_width(path, *head)
            cols = resolve_columns(head[1], choice, path, head[0])
        for lineno, fields in rows:
            if width is None:
                first_line, width = lineno, _edge_width(path, lineno, fields)
                cols = EdgeColumns.by_position(width)
            elif len(fields) != width:
                if not cols.named:
                    _edge_width(path, lineno, fields)
                raise GraphFileError(
                    path,
                    f"expected {width} fields like line {first_line}, got {len(fields)}: {preview(fields)}",
                    lineno,
                )
            u = fields[cols.source].strip()
            v = fields[cols.target].strip()
            if not u or not v:
                raise GraphFileError(path, f"empty node id: {preview(fields)}", lineno)
            i = index.get(u)
            if i is None:
                i = index[u] = len(index)
            j = index.get(v)
            if j is None:
                j = index[v] = len(index)
            src.append(i)
            dst.append(j)
            if cols.weight is not None:
                weights.append(fields[cols.weight])
                weight_lines.append(lineno)
    if not src:
        raise GraphFileError(path, "no edges found")
    ids = object_array(list(index))
    check_id_text(index, path, lambda bad: _first_line_of(path, delimiter, comment, cols, bad))
    if weights:
        w = parse_weights(weights, weight_lines, path)
        if not cols.named:
            check_not_ids(w, ids, path)
    return ids, np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64)


def _first_line_of(
    path: PathLike, delimiter: str | None, comment: str | None, cols: EdgeColumns, node: str
) -> int | None:
    """Line of the first row with endpoint ``node`` (a second pass, for an error message)."""
    with text_rows(path, delimiter, comment) as rows:
        for lineno, fields in rows:
            if len(fields) > max(cols.source, cols.target) and node in (
                fields[cols.source].strip(),
                fields[cols.target].strip(),
            ):
                return lineno
    return None


def _edge_width(path: PathLike, lineno: int, fields: list[str]) -> int:
    if len(fields) < 2:
        raise GraphFileError(
            path, f"expected 2 fields (source, target), got {len(fields)}: {preview(fields)}", lineno
        )
    if len(fields) > 3:
        raise GraphFileError(
            path,
            f"expected at most 3 fields (source, target, weight), got {len(fields)}: {preview(fields)}; "
            "a file with more columns needs a header row naming them",
            lineno,
        )
    return len(fields)
