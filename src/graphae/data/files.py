"""Read user graphs from files: edge lists, feature tables and GNN-benchmark ``.npz``.

Edge lists are text (``.csv``, ``.tsv``, whitespace-separated ``.txt``/``.edges``/...,
optionally ``.gz``-compressed) or Parquet. Each row is ``source target [weight]``.
Weights are checked (a number > 0) and then dropped: a :class:`~graphae.graph.Graph` is
binary. Self loops are dropped and duplicates merged.

Node ids and order, the rules every reader here follows:

- Rows of the graph follow the order in which ids first appear in the edge list
  (reading each row source first), followed by nodes found only in the feature table,
  in that table's order (isolated nodes).
- In text files an id is a string, unless *every* id (edge list and feature table)
  is an integer written canonically (``str(int(s)) == s``): then all ids are
  ``int64``. So ``"007"`` or ``"+7"`` keep every id a string. String ids are stored
  as an object array of ``str``.
- Parquet ids keep their Arrow type (``int32`` stays ``int32``).
- Feature rows are matched to edge-list ids by their text (``str(id)``), so integer
  ids in a Parquet table match ``"7"`` in a text edge list.

Errors in a file raise :class:`GraphFileError` (a ``ValueError``) whose message starts
with ``FILE:LINE:`` (text, 1-based physical line), ``FILE: row K:`` (Parquet, 1-based
row) or ``FILE:``. Arrays are always loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import IO, Any

import numpy as np
import scipy.sparse as sp

from graphae.graph import Graph

__all__ = ["GraphFileError", "load_graph", "load_npz_graph", "read_edgelist", "read_features", "read_pairs"]

PathLike = str | os.PathLike[str]
Matrix = np.ndarray | sp.csr_matrix

_PARQUET = (".parquet", ".pq")
_DELIMITERS = {".csv": ",", ".tsv": "\t"}
# Column pairs that name the endpoints of a Parquet edge table, in order of preference.
_ENDPOINT_COLUMNS = (("source", "target"), ("src", "dst"))
# First-row words that mark an edge-list header even when ids are strings.
_HEADER_WORDS = frozenset("source target src dst from to node1 node2 head tail source_id target_id".split())
_ID_COLUMNS = ("id", "node", "node_id")
_NPZ_ADJ = ("adj_data", "adj_indices", "adj_indptr", "adj_shape")
_NPZ_ATTR = ("attr_data", "attr_indices", "attr_indptr", "attr_shape")
_NPZ_LABELS = ("labels_data", "labels_indices", "labels_indptr", "labels_shape")
_SCIPY_NPZ = frozenset({"data", "indices", "indptr", "shape", "format"})
_PYARROW_HINT = 'reading Parquet needs pyarrow: pip install "graphae[parquet]"'


class GraphFileError(ValueError):
    """A graph or feature file that cannot be read, with where it went wrong.

    The message reads ``FILE:LINE: what`` for text, ``FILE: row K: what`` for tables
    and arrays, and ``FILE: what`` when no single place is to blame.

    Attributes:
        path: The file as given (or ``"features"`` for an in-memory feature matrix).
        message: What is wrong, without the location.
        line: 1-based line (text) or row (Parquet, arrays) of the problem, or ``None``.
        unit: ``"line"`` or ``"row"``.
    """

    def __init__(self, path: PathLike, message: str, line: int | None = None, unit: str = "line") -> None:
        self.path = os.fspath(path)
        self.line = line
        self.message = message
        self.unit = unit
        if line is None:
            where = self.path
        elif unit == "line":
            where = f"{self.path}:{line}"
        else:
            where = f"{self.path}: {unit} {line}"
        super().__init__(f"{where}: {message}")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.path, self.message, self.line, self.unit)


# Public API ----------------------------------------------------------------------
def load_graph(
    path: PathLike,
    features: Any = None,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    comment: str | None = "#",
) -> Graph:
    """Load a graph file, choosing the reader by extension.

    ``.npz`` files with an ``adj_data`` array go to :func:`load_npz_graph`; every other
    file (``.csv``, ``.tsv``, ``.txt``, ``.edges``, ``.el``, ``.parquet``, ``.pq``, ...)
    is an edge list for :func:`read_edgelist`. The graph is named after the file stem.

    Args:
        path: The graph file.
        features: Optional node features, as for :func:`read_edgelist`.
        delimiter: Text edge lists only; see :func:`read_edgelist`.
        header: Text edge lists only; see :func:`read_edgelist`.
        comment: Text edge lists only; see :func:`read_edgelist`.

    Returns:
        A new :class:`~graphae.graph.Graph`.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        GraphFileError: If the file (or the feature table) is malformed.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "tri.csv"
        >>> _ = p.write_text("a,b\\nb,c\\nc,a\\n")
        >>> load_graph(p)
        Graph(name='tri', num_nodes=3, num_edges=3, features=none)
    """
    suffix = _suffix(path)
    if suffix == ".npz":
        if "adj_data" not in _npz_keys(path):
            raise GraphFileError(
                path,
                "is an .npz without an 'adj_data' array, so not a GNN-benchmark graph; "
                "a feature .npz goes in the features argument",
            )
        graph = load_npz_graph(path)
        return graph if features is None else _attach_features(graph, features)
    if suffix == ".npy":
        raise GraphFileError(path, "a .npy array holds no graph; pass an edge list or a GNN-benchmark .npz")
    return read_edgelist(path, delimiter=delimiter, header=header, comment=comment, features=features)


def read_edgelist(
    path: PathLike,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    comment: str | None = "#",
    features: Any = None,
    name: str | None = None,
) -> Graph:
    """Read an edge list (text or Parquet) into an undirected graph.

    Text rows are ``source<sep>target`` or ``source<sep>target<sep>weight``; every row
    must have as many fields as the first. Blank lines and lines starting with
    ``comment`` are skipped. Node ids and node order follow the rules in the module
    docstring. A list in which at least 1% but not all of the pairs also appear
    reversed looks directed and triggers a warning; a list of each edge once, or of
    every edge both ways, is read silently.

    Parquet tables use the columns ``source``/``target`` (or ``src``/``dst``, any
    case) when present, else the first two columns, and a ``weight`` column if present;
    other columns are ignored. Reading Parquet needs ``pyarrow``.

    Header rule for text (``header=None``): the first non-comment row is a header if
    (a) it has a third field that is not a number (``weight``), or (b) its first two
    fields are both endpoint names such as ``source,target``, ``src,dst`` or
    ``from,to``, or (c) its first two fields are both non-numeric while the second
    row's are both numeric. ``header=True``/``False`` overrides the rule.

    Args:
        path: The edge-list file; ``.gz`` text is decompressed.
        delimiter: Field separator. ``None`` picks ``","`` for ``.csv``, tab for
            ``.tsv`` and runs of whitespace otherwise (fields are then plain words:
            no quoting).
        header: Whether the first non-comment row names the columns (see above).
        comment: Prefix of comment lines, or ``None`` for none.
        features: Node features: a feature file for :func:`read_features`, an
            ``(ids, matrix)`` pair as it returns, or a matrix whose rows follow the
            edge list's node order. Nodes with features but no edges are added as
            isolated nodes; an edge-list node without a feature row is an error.
        name: Graph name; defaults to the file stem.

    Returns:
        A new :class:`~graphae.graph.Graph` with ``node_ids`` set.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        GraphFileError: On a row with fewer than 2 or more than 3 fields (or another
            count than the first row), an empty id, a weight that is not a number
            > 0, a file without edges (``FILE: no edges found``), text that is not
            UTF-8, or features that do not align.
        ImportError: For Parquet without pyarrow.

    Warns:
        UserWarning: When a directed-looking edge list is made undirected.
    """
    if _suffix(path) in _PARQUET:
        ids, src, dst = _read_parquet_edges(path)
        from_text = False
    else:
        ids, src, dst = _read_text_edges(path, delimiter, header, comment)
        from_text = True
    x = None
    if features is not None:
        feat_ids, x, where = _feature_source(features)
        ids, x = _align(ids, feat_ids, x, where)
    if from_text:
        ids = _typed_ids(ids)
    if _looks_directed(src, dst, len(ids)):
        warnings.warn(
            f"{os.fspath(path)}: the edge list looks directed (some edges are listed both ways, "
            "others one way only); it was made undirected.",
            UserWarning,
            stacklevel=2,
        )
    return Graph.from_edges(
        np.stack([src, dst], axis=1), num_nodes=len(ids), x=x, name=name or _stem(path), node_ids=ids
    )


def read_features(
    path: PathLike,
    node_ids: Any = None,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    comment: str | None = "#",
) -> tuple[np.ndarray | None, Matrix]:
    """Read a node-feature table, optionally aligned to a graph's node ids.

    Formats by extension:

    - ``.csv``/``.tsv``/other text: ``id v1 v2 ...`` per row (delimiter as in
      :func:`read_edgelist`); the first row is a header when one of its value fields
      is not a number (or as ``header`` says). Values become dense ``float32``.
    - ``.parquet``/``.pq``: the id column is the first column named ``id``, ``node``
      or ``node_id``, else the first column; the other columns are numeric features
      (or a single list column of vectors).
    - ``.npy``: a dense 2-D array with no ids; rows follow the graph's node order.
    - ``.npz``: a ``scipy.sparse.save_npz`` matrix (float32 CSR, no ids), or arrays
      ``x`` and optionally ``ids``.

    Args:
        path: The feature file.
        node_ids: The graph's node ids in row order. When given, the result is aligned
            to them: ``ids`` is ``node_ids`` followed by ids that only the table has,
            and matrix row ``i`` belongs to ``ids[i]``.
        delimiter: Text only; as in :func:`read_edgelist`.
        header: Text only; ``None`` applies the rule above.
        comment: Text only; prefix of comment lines.

    Returns:
        ``(ids, matrix)``: ids as a numpy array (``None`` for a matrix without ids,
        unless ``node_ids`` is given), and ``float32`` features, dense or CSR.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        GraphFileError: On a non-numeric or non-finite value, a row with another field
            count than the first, a repeated id, an empty table, an array that needs
            pickle, or (with ``node_ids``) nodes without a feature row or a matrix
            without ids whose row count differs from the number of nodes.
        ImportError: For Parquet without pyarrow.
    """
    ids, x = _read_feature_table(path, delimiter=delimiter, header=header, comment=comment)
    if node_ids is None:
        return (None if ids is None else _typed_ids(ids) if _is_text(path) else ids), x
    return _align(np.asarray(node_ids), ids, x, os.fspath(path))


def read_pairs(
    path: PathLike, *, delimiter: str | None = None, header: bool | None = None, comment: str | None = "#"
) -> list[tuple[str, str, int]]:
    """Node-id pairs of a text file, for link prediction queries.

    The file follows the edge-list rules of :func:`read_edgelist` (delimiter by
    extension, optional header, comment lines); only the first two fields count.

    Returns:
        ``(source id, target id, line number)`` per row, ids as text.

    Raises:
        FileNotFoundError: If the file does not exist.
        GraphFileError: On a row with fewer than two fields or an empty id, or a file
            without any pair; the message names the file and line.
    """
    _check_exists(path)
    if delimiter is None:
        delimiter = _DELIMITERS.get(_suffix(path))
    pairs: list[tuple[str, str, int]] = []
    with _text_rows(path, delimiter, comment) as all_rows:
        _, rows = _split_header(all_rows, header, _edge_header_rule)
        for lineno, fields in rows:
            if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
                raise GraphFileError(path, f"expected two node ids, got {_preview(fields)}", lineno)
            pairs.append((fields[0].strip(), fields[1].strip(), lineno))
    if not pairs:
        raise GraphFileError(path, "no node pairs found")
    return pairs


def load_npz_graph(path: PathLike) -> Graph:
    """Load a graph in the GNN-benchmark ``.npz`` layout (Shchur et al., 2018).

    Reads the CSR adjacency ``adj_data``/``adj_indices``/``adj_indptr``/``adj_shape``;
    features from ``attr_data``/``attr_indices``/``attr_indptr``/``attr_shape`` (CSR) or
    ``attr_matrix`` (dense); labels from ``labels`` (one per node, or one-hot rows) or
    ``labels_data``/... (sparse one-hot; a row without a label gives ``-1``); and
    ``node_names`` as ``node_ids`` when it is a plain string or integer array of
    unique names (pickled arrays such as ``attr_names`` are never loaded). A directed
    adjacency is made undirected with a warning.

    Args:
        path: The ``.npz`` file.

    Returns:
        A new :class:`~graphae.graph.Graph` named after the file stem.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        GraphFileError: If the file is not an ``.npz``, a needed array is missing or
            inconsistent (the message names the file and the key).

    Warns:
        UserWarning: When the adjacency is not symmetric.
    """
    with _open_npz(path) as z:
        keys = set(z.files)
        adj = _npz_csr(z, path, _NPZ_ADJ)
        n = adj.shape[0]
        x: Matrix | None = None
        if "attr_data" in keys:
            x = _npz_csr(z, path, _NPZ_ATTR).astype(np.float32)
        elif "attr_matrix" in keys:
            x = _dense_features(_npz_array(z, path, "attr_matrix"), path, key="attr_matrix")
        y = _npz_labels(z, path, keys)
        ids = _npz_node_names(z, path, n) if "node_names" in keys else None
    if adj.shape[0] != adj.shape[1]:
        raise GraphFileError(path, f"'adj_shape' must be square. Got {tuple(adj.shape)}")
    for key, arr in (("attributes", x), ("labels", y)):
        if arr is not None and arr.shape[0] != n:
            raise GraphFileError(path, f"has {arr.shape[0]} rows of {key} for {n} nodes")
    pattern = sp.csr_matrix(adj != 0)
    if (pattern != pattern.T).nnz:
        warnings.warn(
            f"{os.fspath(path)}: the adjacency is directed; it was made undirected.",
            UserWarning,
            stacklevel=2,
        )
    return Graph.from_adjacency(pattern, x=x, y=y, name=_stem(path), node_ids=ids)


# Paths and text --------------------------------------------------------------------
def _suffix(path: PathLike) -> str:
    p = Path(path)
    if p.suffix.lower() == ".gz":
        p = p.with_suffix("")
    return p.suffix.lower()


def _stem(path: PathLike) -> str:
    p = Path(path)
    if p.suffix.lower() == ".gz":
        p = p.with_suffix("")
    return p.stem


def _is_text(path: PathLike) -> bool:
    return _suffix(path) not in (*_PARQUET, ".npy", ".npz")


def _check_exists(path: PathLike) -> None:
    if not Path(path).exists():
        raise FileNotFoundError(f"No such file: {os.fspath(path)!r}.")


def _open_text(path: PathLike) -> IO[str]:
    _check_exists(path)
    # utf-8-sig drops the byte-order mark that spreadsheet exports put first.
    if Path(path).suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


@contextmanager
def _text_rows(
    path: PathLike, delimiter: str | None, comment: str | None
) -> Iterator[Iterator[tuple[int, list[str]]]]:
    """Non-blank, non-comment rows of a text file as ``(line number, fields)``, streamed.

    Decoding and CSV errors raised while the caller iterates become
    :class:`GraphFileError` with the line number.
    """
    with _open_text(path) as f:
        current = [0]
        if delimiter is None:
            rows: Iterator[tuple[int, list[str]]] = (
                (number, fields)
                for number, line in enumerate(f, 1)
                if (fields := line.split()) and not (comment and fields[0].startswith(comment))
            )
        else:

            def lines() -> Iterator[str]:
                for number, line in enumerate(f, 1):
                    # Kept outside so that each record is paired with its last physical line.
                    current[0] = number
                    stripped = line.strip()
                    if stripped and not (comment and stripped.startswith(comment)):
                        yield line

            reader = csv.reader(lines(), delimiter=delimiter, skipinitialspace=True)
            rows = ((current[0], fields) for fields in reader)
        try:
            yield rows
        except UnicodeDecodeError as err:
            raise GraphFileError(path, f"is not UTF-8 text ({err.reason})", _undecodable_line(path)) from None
        except csv.Error as err:
            raise GraphFileError(path, f"cannot be parsed as delimited text: {err}", current[0]) from None


def _undecodable_line(path: PathLike) -> int | None:
    """1-based number of the first line that is not UTF-8 (the slow path of an error)."""
    opener = gzip.open if Path(path).suffix.lower() == ".gz" else open
    with opener(path, "rb") as f:
        for number, raw in enumerate(f, 1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return None


def _split_header(
    rows: Iterator[tuple[int, list[str]]],
    header: bool | None,
    rule: Callable[[list[str], list[str] | None], bool],
) -> tuple[tuple[int, list[str]] | None, Iterator[tuple[int, list[str]]]]:
    """Take the header row off ``rows`` when ``header`` (or ``rule``) says so."""
    first = next(rows, None)
    if first is None:
        return None, rows
    second = next(rows, None)
    ahead = [first] if second is None else [first, second]
    if header is None:
        header = rule(first[1], None if second is None else second[1])
    if header:
        return first, chain(ahead[1:], rows)
    return None, chain(ahead, rows)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _edge_header_rule(first: list[str], second: list[str] | None) -> bool:
    if len(first) >= 3 and not _is_number(first[2]):
        return True
    if len(first) < 2:
        return False
    a, b = first[0].strip().lower(), first[1].strip().lower()
    if a in _HEADER_WORDS and b in _HEADER_WORDS:
        return True
    return (
        second is not None
        and len(second) >= 2
        and not _is_number(a)
        and not _is_number(b)
        and _is_number(second[0])
        and _is_number(second[1])
    )


def _feature_header_rule(first: list[str], second: list[str] | None) -> bool:
    return not all(_is_number(v) for v in first[1:])


def _preview(fields: list[str]) -> str:
    text = repr(fields)
    return text if len(text) <= 80 else text[:77] + "..."


def _object_array(values: list[Any]) -> np.ndarray:
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _typed_ids(ids: np.ndarray) -> np.ndarray:
    """Text ids as ``int64`` when every one is a canonical integer, else ``str`` objects."""
    texts = [str(v) for v in ids.tolist()]
    try:
        ints = [int(t) for t in texts]
        if all(str(i) == t for i, t in zip(ints, texts, strict=True)):
            return np.array(ints, dtype=np.int64)
    except (ValueError, OverflowError):
        pass
    return _object_array(texts)


# Edge lists ----------------------------------------------------------------------
def _read_text_edges(
    path: PathLike, delimiter: str | None, header: bool | None, comment: str | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if delimiter is None:
        delimiter = _DELIMITERS.get(_suffix(path))
    index: dict[str, int] = {}
    src: list[int] = []
    dst: list[int] = []
    with _text_rows(path, delimiter, comment) as all_rows:
        head, rows = _split_header(all_rows, header, _edge_header_rule)
        width = first_line = None
        if head is not None:
            first_line, width = head[0], _edge_width(path, *head)
        for lineno, fields in rows:
            if width is None:
                first_line, width = lineno, _edge_width(path, lineno, fields)
            elif len(fields) != width:
                _edge_width(path, lineno, fields)
                raise GraphFileError(
                    path,
                    f"expected {width} fields like line {first_line}, got {len(fields)}: {_preview(fields)}",
                    lineno,
                )
            u = fields[0].strip()
            v = fields[1].strip()
            if not u or not v:
                raise GraphFileError(path, f"empty node id: {_preview(fields)}", lineno)
            i = index.get(u)
            if i is None:
                i = index[u] = len(index)
            j = index.get(v)
            if j is None:
                j = index[v] = len(index)
            src.append(i)
            dst.append(j)
            if width == 3:
                _check_weight(path, fields[2], lineno)
    if not src:
        raise GraphFileError(path, "no edges found")
    return _object_array(list(index)), np.array(src, dtype=np.int64), np.array(dst, dtype=np.int64)


def _edge_width(path: PathLike, lineno: int, fields: list[str]) -> int:
    if len(fields) < 2:
        raise GraphFileError(
            path, f"expected 2 fields (source, target), got {len(fields)}: {_preview(fields)}", lineno
        )
    if len(fields) > 3:
        raise GraphFileError(
            path,
            f"expected at most 3 fields (source, target, weight), got {len(fields)}: {_preview(fields)}",
            lineno,
        )
    return len(fields)


def _check_weight(path: PathLike, text: str, lineno: int) -> None:
    try:
        w = float(text)
    except ValueError:
        w = math.nan
    if not (math.isfinite(w) and w > 0):
        raise GraphFileError(path, f"weight must be a number > 0, got {text!r}", lineno)


def _looks_directed(src: np.ndarray, dst: np.ndarray, n: int) -> bool:
    """At least 1% but not all of the listed pairs also listed reversed: a directed list.

    A list of each edge once (reversed duplicates by chance stay under 1%) or of every
    edge both ways is the usual encoding of an undirected graph and passes silently.
    """
    keep = src != dst
    ones = np.ones(np.count_nonzero(keep), dtype=np.float32)
    listed = sp.csr_matrix((ones, (src[keep], dst[keep])), shape=(n, n))  # duplicates summed
    both = listed.multiply(listed.T).nnz
    return 0.01 * listed.nnz <= both < listed.nnz and both > 0


# Parquet ---------------------------------------------------------------------------
def _pyarrow() -> tuple[Any, Any]:
    """``(pyarrow, pyarrow.parquet)``, imported on first use."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as err:
        raise ImportError(_PYARROW_HINT) from err
    return pa, pq


def _read_parquet(path: PathLike) -> Any:
    _, pq = _pyarrow()
    _check_exists(path)
    try:
        return pq.read_table(path)
    except Exception as err:  # pyarrow raises its own ArrowInvalid/OSError family
        raise GraphFileError(path, f"is not a readable Parquet file ({err})") from None


def _column(table: Any, name: str, path: PathLike) -> np.ndarray:
    col = table.column(name)
    if col.null_count:
        first = int(np.flatnonzero(col.is_null().to_numpy(zero_copy_only=False))[0])
        raise GraphFileError(path, f"column {name!r} is empty (null)", first + 1, unit="row")
    return col.to_numpy()


def _read_parquet_edges(path: PathLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = _read_parquet(path)
    names = table.column_names
    lower = {n.lower(): n for n in reversed(names)}
    pair = next(((lower[a], lower[b]) for a, b in _ENDPOINT_COLUMNS if a in lower and b in lower), None)
    if pair is None:
        if len(names) < 2:
            raise GraphFileError(path, f"needs two columns (source, target). Got {names}")
        pair = (names[0], names[1])
    if table.num_rows == 0:
        raise GraphFileError(path, "no edges found")
    s, d = (_column(table, c, path) for c in pair)
    if "weight" in lower:
        _check_weight_column(table, lower["weight"], path)
    both = np.empty(2 * len(s), dtype=np.result_type(s.dtype, d.dtype))
    both[0::2], both[1::2] = s, d
    try:
        uniq, first, inverse = np.unique(both, return_index=True, return_inverse=True)
    except TypeError:
        raise GraphFileError(
            path,
            f"columns {pair[0]!r} and {pair[1]!r} must hold ids of one type. "
            f"Got {table.schema.field(pair[0]).type} and {table.schema.field(pair[1]).type}",
        ) from None
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    idx = rank[inverse.ravel()]
    return uniq[order], idx[0::2].astype(np.int64), idx[1::2].astype(np.int64)


def _check_weight_column(table: Any, name: str, path: PathLike) -> None:
    w = _column(table, name, path)
    if not (np.issubdtype(w.dtype, np.number) and not np.issubdtype(w.dtype, np.complexfloating)):
        raise GraphFileError(path, f"column {name!r} must hold numbers. Got {table.schema.field(name).type}")
    bad = np.flatnonzero(~(np.isfinite(w) & (w > 0)))
    if len(bad):
        raise GraphFileError(
            path, f"weight must be a number > 0, got {w[bad[0]]!r}", int(bad[0]) + 1, unit="row"
        )


def _read_parquet_features(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    pa, _ = _pyarrow()
    table = _read_parquet(path)
    names = table.column_names
    id_col = next((n for key in _ID_COLUMNS for n in names if n.lower() == key), names[0] if names else None)
    value_cols = [n for n in names if n != id_col]
    if id_col is None or not value_cols:
        raise GraphFileError(path, f"needs an id column and at least one feature column. Got {names}")
    if table.num_rows == 0:
        raise GraphFileError(path, "no feature rows found")
    ids = _column(table, id_col, path)
    types = [table.schema.field(n).type for n in value_cols]
    if len(value_cols) == 1 and (
        pa.types.is_list(types[0])
        or pa.types.is_large_list(types[0])
        or pa.types.is_fixed_size_list(types[0])
    ):
        _column(table, value_cols[0], path)  # null check
        try:
            x = np.array(table.column(value_cols[0]).to_pylist(), dtype=np.float32)
        except (ValueError, TypeError):
            raise GraphFileError(
                path, f"column {value_cols[0]!r} must hold numeric vectors of one length"
            ) from None
        if x.ndim != 2:
            raise GraphFileError(path, f"column {value_cols[0]!r} must hold numeric vectors of one length")
    else:
        for n, t in zip(value_cols, types, strict=True):
            if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
                raise GraphFileError(path, f"feature column {n!r} must be numeric. Got {t}")
        x = np.stack([_column(table, n, path).astype(np.float32) for n in value_cols], axis=1)
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        row, col = bad[0]
        raise GraphFileError(path, f"feature value is not finite ({x[row, col]})", int(row) + 1, unit="row")
    return ids, np.ascontiguousarray(x)


# Features --------------------------------------------------------------------------
def _read_feature_table(
    path: PathLike, *, delimiter: str | None = None, header: bool | None = None, comment: str | None = "#"
) -> tuple[np.ndarray | None, Matrix]:
    suffix = _suffix(path)
    if suffix in _PARQUET:
        return _read_parquet_features(path)
    if suffix in (".npy", ".npz"):
        return _read_array_features(path)
    return _read_text_features(path, delimiter, header, comment)


def _read_text_features(
    path: PathLike, delimiter: str | None, header: bool | None, comment: str | None
) -> tuple[np.ndarray, np.ndarray]:
    if delimiter is None:
        delimiter = _DELIMITERS.get(_suffix(path))
    seen: dict[str, int] = {}
    values: list[np.ndarray] = []
    with _text_rows(path, delimiter, comment) as all_rows:
        head, rows = _split_header(all_rows, header, _feature_header_rule)
        width = None if head is None else len(head[1])
        first_line = None if head is None else head[0]
        for lineno, fields in rows:
            if width is None:
                first_line, width = lineno, len(fields)
            if width < 2:
                raise GraphFileError(
                    path, f"expected a node id and feature values, got {_preview(fields)}", lineno
                )
            if len(fields) != width:
                raise GraphFileError(
                    path,
                    f"expected {width} fields like line {first_line}, got {len(fields)}: {_preview(fields)}",
                    lineno,
                )
            node = fields[0].strip()
            if not node:
                raise GraphFileError(path, f"empty node id: {_preview(fields)}", lineno)
            if node in seen:
                raise GraphFileError(
                    path, f"node id {node!r} already has a feature row on line {seen[node]}", lineno
                )
            seen[node] = lineno
            values.append(_parse_values(path, fields, lineno))
    if not values:
        raise GraphFileError(path, "no feature rows found")
    return _object_array(list(seen)), np.stack(values)


def _parse_values(path: PathLike, fields: list[str], lineno: int) -> np.ndarray:
    try:
        row = np.array(fields[1:], dtype=np.float32)
    except ValueError:
        bad = next(v for v in fields[1:] if not _is_number(v))
        raise GraphFileError(path, f"feature value {bad!r} is not a number", lineno) from None
    if not np.isfinite(row).all():
        bad = fields[1 + int(np.flatnonzero(~np.isfinite(row))[0])]
        raise GraphFileError(path, f"feature value {bad!r} is not finite", lineno)
    return row


def _read_array_features(path: PathLike) -> tuple[np.ndarray | None, Matrix]:
    if _suffix(path) == ".npy":
        _check_exists(path)
        try:
            arr = np.load(path, allow_pickle=False)
        except ValueError as err:
            raise GraphFileError(path, f"cannot be loaded without pickle ({err})") from None
        return None, _dense_features(arr, path)
    with _open_npz(path) as z:
        keys = set(z.files)
        if _SCIPY_NPZ <= keys:
            return None, sp.csr_matrix(sp.load_npz(path), dtype=np.float32)
        if "x" not in keys:
            raise GraphFileError(
                path,
                f"holds arrays {sorted(keys)}; expected a scipy.sparse.save_npz matrix or an array 'x' (and 'ids')",
            )
        x = _dense_features(_npz_array(z, path, "x"), path, key="x")
        ids = _npz_array(z, path, "ids") if "ids" in keys else None
    if ids is not None:
        if ids.ndim != 1 or len(ids) != x.shape[0]:
            raise GraphFileError(
                path, f"'ids' must have one entry per row of 'x' ({x.shape[0]}). Got shape {ids.shape}"
            )
        if ids.dtype.kind in "US":
            ids = _object_array([_text(v) for v in ids.tolist()])
    return ids, x


def _dense_features(arr: np.ndarray, path: PathLike, key: str | None = None) -> np.ndarray:
    what = "the array" if key is None else f"array {key!r}"
    if arr.ndim != 2:
        raise GraphFileError(path, f"{what} must be 2-D (nodes x features). Got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise GraphFileError(path, f"{what} must be numeric. Got dtype {arr.dtype}")
    x = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(x).all():
        row = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
        raise GraphFileError(path, f"{what} has a non-finite value", row + 1, unit="row")
    return x


def _feature_source(features: Any) -> tuple[np.ndarray | None, Matrix, str]:
    """``(ids, matrix, where)`` from a path, an ``(ids, matrix)`` pair or a matrix."""
    if isinstance(features, str | os.PathLike):
        ids, x = _read_feature_table(features)
        return ids, x, os.fspath(features)
    if isinstance(features, tuple) and len(features) == 2:
        ids, x = features
        ids = None if ids is None else np.asarray(ids)
    else:
        ids, x = None, features
    if sp.issparse(x):
        x = sp.csr_matrix(x, dtype=np.float32)
    else:
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"features must be a 2-D matrix (nodes x features). Got shape {x.shape}.")
        x = np.ascontiguousarray(x, dtype=np.float32)
    return ids, x, "features"


def _align(
    node_ids: np.ndarray, feat_ids: np.ndarray | None, x: Matrix, where: str
) -> tuple[np.ndarray, Matrix]:
    """Feature rows reordered to ``node_ids``; ids only the table has are appended."""
    n = len(node_ids)
    if feat_ids is None:
        if x.shape[0] != n:
            raise GraphFileError(
                where,
                f"has {x.shape[0]} feature rows but the graph has {n} nodes; a matrix without ids needs "
                "exactly one row per node, in the graph's node order (first appearance in the edge list)",
            )
        return node_ids, x
    if len(feat_ids) != x.shape[0]:
        raise GraphFileError(where, f"has {len(feat_ids)} ids for {x.shape[0]} feature rows")
    position: dict[str, int] = {}
    for row, node in enumerate(feat_ids.tolist()):
        key = str(node)
        if key in position:
            raise GraphFileError(
                where, f"node id {node!r} has two feature rows ({position[key] + 1} and {row + 1})"
            )
        position[key] = row
    order = np.empty(n, dtype=np.int64)
    missing = []
    for i, node in enumerate(node_ids.tolist()):
        row = position.pop(str(node), None)
        if row is None:
            missing.append(node)
        else:
            order[i] = row
    if missing:
        shown = ", ".join(repr(m) for m in missing[:5])
        raise GraphFileError(
            where,
            f"no feature row for {len(missing)} of the {n} nodes of the graph (e.g. {shown}); "
            "every node needs one, features are never zero-filled",
        )
    extra = np.fromiter(position.values(), dtype=np.int64, count=len(position))
    return _merge_ids(node_ids, feat_ids[extra]), x[np.concatenate([order, extra])]


def _merge_ids(base: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """``base`` followed by ``extra``, in ``base``'s kind where the values allow."""
    if not len(extra):
        return base
    values = extra.tolist()
    if np.issubdtype(base.dtype, np.integer):
        texts = [str(v) for v in values]
        try:
            ints = [int(t) for t in texts]
        except ValueError:
            ints = None
        if ints is not None and all(str(i) == t for i, t in zip(ints, texts, strict=True)):
            return np.concatenate([base, np.array(ints, dtype=np.result_type(base.dtype, np.int64))])
        return _object_array(base.tolist() + values)
    if all(isinstance(v, str) for v in base.tolist()):
        values = [str(v) for v in values]
    return _object_array(base.tolist() + values)


def _attach_features(graph: Graph, features: Any) -> Graph:
    """``graph`` with aligned features; feature-only nodes become isolated nodes."""
    feat_ids, x, where = _feature_source(features)
    base = graph.node_ids if graph.node_ids is not None else np.arange(graph.num_nodes)
    ids, x = _align(base, feat_ids, x, where)
    n, extra = len(ids), len(ids) - graph.num_nodes
    if not extra:
        return graph.replace(x=x)
    adj = graph.adj
    indptr = np.concatenate([adj.indptr, np.full(extra, adj.indptr[-1], dtype=adj.indptr.dtype)])
    adj = sp.csr_matrix((adj.data, adj.indices, indptr), shape=(n, n))
    y = None if graph.y is None else np.concatenate([graph.y, np.full(extra, -1, dtype=graph.y.dtype)])
    return Graph(adj=adj, x=x, y=y, name=graph.name, node_ids=ids)


# GNN-benchmark .npz ----------------------------------------------------------------
def _open_npz(path: PathLike) -> Any:
    _check_exists(path)
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError) as err:
        raise GraphFileError(path, f"is not a NumPy .npz archive ({err})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise GraphFileError(path, "is a single .npy array, not an .npz archive")
    return z


def _npz_keys(path: PathLike) -> set[str]:
    with _open_npz(path) as z:
        return set(z.files)


def _npz_array(z: Any, path: PathLike, key: str) -> np.ndarray:
    if key not in z.files:
        raise GraphFileError(path, f"has no {key!r} array")
    try:
        return z[key]
    except ValueError as err:
        raise GraphFileError(path, f"array {key!r} cannot be loaded without pickle ({err})") from None


def _npz_csr(z: Any, path: PathLike, keys: tuple[str, str, str, str]) -> sp.csr_matrix:
    data, indices, indptr, shape = (_npz_array(z, path, k) for k in keys)
    try:
        mat = sp.csr_matrix((data, indices, indptr), shape=tuple(int(s) for s in shape))
        # A full check: scipy trusts index arrays, and out-of-range indices crash later.
        mat.check_format(full_check=True)
    except (ValueError, TypeError) as err:
        raise GraphFileError(path, f"arrays {', '.join(keys)} do not form a CSR matrix ({err})") from None
    return mat


def _npz_labels(z: Any, path: PathLike, keys: set[str]) -> np.ndarray | None:
    if "labels" in keys:
        labels: Any = _npz_array(z, path, "labels")
    elif "labels_data" in keys:
        labels = _npz_csr(z, path, _NPZ_LABELS)
    else:
        return None
    if sp.issparse(labels) or labels.ndim == 2:
        dense = labels.toarray() if sp.issparse(labels) else labels
        return np.where(dense.any(axis=1), dense.argmax(axis=1), -1).astype(np.int64)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise GraphFileError(
            path, f"'labels' must be integers, one per node. Got {labels.dtype} {labels.shape}"
        )
    return labels.astype(np.int64)


def _npz_node_names(z: Any, path: PathLike, n: int) -> np.ndarray | None:
    """Plain string or integer ``node_names`` of length ``n`` and unique, else ``None``."""
    try:
        names = z["node_names"]
    except ValueError:  # a pickled object array: never unpickled
        return None
    if names.ndim != 1 or len(names) != n or names.dtype.kind not in "USiu" or len(np.unique(names)) != n:
        return None
    return (
        _object_array([_text(v) for v in names.tolist()])
        if names.dtype.kind in "US"
        else names.astype(np.int64)
    )


def _text(value: str | bytes) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
