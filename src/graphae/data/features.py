"""Node-feature tables: reading them, aligning them to a graph's node ids, attaching them.

Feature rows are matched to node ids by their text (``str(id)``), so integer ids in a
Parquet table match ``"7"`` in a text edge list. Nodes that only the feature table
has are appended after the graph's nodes (isolated nodes); a graph node without a
feature row is an error: features are never zero-filled.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphae.data.npz import Matrix, read_array_features
from graphae.data.parquet import PARQUET_SUFFIXES, column, id_column, pyarrow, read_table
from graphae.data.text import (
    GraphFileError,
    PathLike,
    check_id_text,
    default_delimiter,
    feature_header_rule,
    is_number,
    object_array,
    preview,
    split_header,
    suffix,
    text_rows,
    typed_ids,
)
from graphae.errors import InputError
from graphae.finite import OVERFLOW_HINT, non_finite_entry
from graphae.graph import Graph

__all__ = ["align", "attach_features", "feature_source", "read_features"]

_ID_COLUMNS = ("id", "node", "node_id")


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
      :func:`~graphae.data.edgelist.read_edgelist`); the first row is a header when
      one of its value fields is not a number, or when they number the columns as
      pandas does (``id,0,1,2``; see :func:`~graphae.data.text.feature_header_rule`),
      or as ``header`` says. Values become
      dense ``float32``. Ids are typed as in edge lists: all ``int64`` when every id
      is a canonical integer, else strings.
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
        delimiter: Text only; as in :func:`~graphae.data.edgelist.read_edgelist`.
        header: Text only; ``None`` applies the rule above.
        comment: Text only; prefix of the comment lines that may start the file
            (before the header or first row; a later line is a row).

    Returns:
        ``(ids, matrix)``: ids as a numpy array (``None`` for a matrix without ids,
        unless ``node_ids`` is given), and ``float32`` features, dense or CSR.

    Raises:
        MissingFileError: If ``path`` does not exist.
        GraphFileError: On a non-numeric or non-finite value, a row with another field
            count than the first, a repeated id, an empty table, an array that needs
            pickle, or (with ``node_ids``) nodes without a feature row or a matrix
            without ids whose row count differs from the number of nodes.
        MissingDependencyError: For Parquet without pyarrow.
    """
    ids, x = read_feature_table(path, delimiter=delimiter, header=header, comment=comment)
    if node_ids is None:
        return (None if ids is None else typed_ids(ids) if _is_text(path) else ids), x
    return align(np.asarray(node_ids), ids, x, os.fspath(path))


def read_feature_table(
    path: PathLike, *, delimiter: str | None = None, header: bool | None = None, comment: str | None = "#"
) -> tuple[np.ndarray | None, Matrix]:
    """``(ids, matrix)`` of a feature file, ids untyped (text ids stay strings)."""
    kind = suffix(path)
    if kind not in (*PARQUET_SUFFIXES, ".npy", ".npz"):
        return _read_text_features(path, default_delimiter(path, delimiter), header, comment)
    ids, x = _read_parquet_features(path) if kind in PARQUET_SUFFIXES else read_array_features(path)
    if ids is not None:
        _check_table_ids(ids, path)
    return ids, x


def _check_table_ids(ids: np.ndarray, path: PathLike) -> None:
    """Ids of a Parquet or array feature table: printable and unique (as text, as they are matched)."""
    keys = [str(v) for v in ids.tolist()]
    check_id_text(keys, path, lambda bad: keys.index(bad) + 1, unit="row")
    if len(set(keys)) != len(keys):
        first: dict[str, int] = {}
        for row, key in enumerate(keys, 1):
            if key in first:
                raise GraphFileError(path, f"node id {key!r} has two feature rows ({first[key]} and {row})")
            first[key] = row


def feature_source(features: Any) -> tuple[np.ndarray | None, Matrix, str]:
    """``(ids, matrix, where)`` from a path, an ``(ids, matrix)`` pair or a matrix.

    Raises:
        InputError: If an in-memory dense matrix is not 2-D.
    """
    if isinstance(features, str | os.PathLike):
        ids, x = read_feature_table(features)
        return ids, x, os.fspath(features)
    if isinstance(features, tuple) and len(features) == 2:
        ids, x = features
        ids = None if ids is None else np.asarray(ids)
    else:
        ids, x = None, features
    if not sp.issparse(x):
        x = np.asarray(x)
    if np.iscomplexobj(x):
        raise InputError(
            f"features must hold real numbers. Got dtype {x.dtype} (its imaginary parts would be lost)."
        )
    if sp.issparse(x):
        x = sp.csr_matrix(x, dtype=np.float32)
    else:
        x = np.asarray(x)
        if x.ndim != 2:
            raise InputError(f"features must be a 2-D matrix (nodes x features). Got shape {x.shape}.")
        x = np.ascontiguousarray(x, dtype=np.float32)
    return ids, x, "features"


def align(
    node_ids: np.ndarray, feat_ids: np.ndarray | None, x: Matrix, where: str
) -> tuple[np.ndarray, Matrix]:
    """Feature rows reordered to ``node_ids``; ids only the table has are appended.

    Args:
        node_ids: The graph's node ids in row order.
        feat_ids: The table's ids, one per row of ``x``, or ``None`` for a matrix
            whose rows already follow ``node_ids``.
        x: The feature matrix.
        where: The feature file (or ``"features"``), for error messages.

    Returns:
        ``(ids, matrix)`` with row ``i`` of ``matrix`` belonging to ``ids[i]``.

    Raises:
        GraphFileError: On a row count that does not fit, a repeated id or a node
            without a feature row.
    """
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


def attach_features(graph: Graph, features: Any) -> Graph:
    """``graph`` with aligned features; feature-only nodes become isolated nodes (label ``-1``)."""
    feat_ids, x, where = feature_source(features)
    base = graph.node_ids if graph.node_ids is not None else np.arange(graph.num_nodes)
    ids, x = align(base, feat_ids, x, where)
    n, extra = len(ids), len(ids) - graph.num_nodes
    if not extra:
        return graph.replace(x=x)
    adj = graph.adj
    indptr = np.concatenate([adj.indptr, np.full(extra, adj.indptr[-1], dtype=adj.indptr.dtype)])
    adj = sp.csr_matrix((adj.data, adj.indices, indptr), shape=(n, n))
    y = None if graph.y is None else np.concatenate([graph.y, np.full(extra, -1, dtype=graph.y.dtype)])
    return graph.replace(adj=adj, x=x, y=y, node_ids=ids)


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
        return object_array(base.tolist() + values)
    if all(isinstance(v, str) for v in base.tolist()):
        values = [str(v) for v in values]
    return object_array(base.tolist() + values)


def _is_text(path: PathLike) -> bool:
    return suffix(path) not in (*PARQUET_SUFFIXES, ".npy", ".npz")


# Readers by format -----------------------------------------------------------------
def _read_text_features(
    path: PathLike, delimiter: str | None, header: bool | None, comment: str | None
) -> tuple[np.ndarray, np.ndarray]:
    seen: dict[str, int] = {}
    values: list[np.ndarray] = []
    with text_rows(path, delimiter, comment) as all_rows:
        head, rows = split_header(all_rows, header, feature_header_rule)
        width = None if head is None else len(head[1])
        first_line = None if head is None else head[0]
        for lineno, fields in rows:
            if width is None:
                first_line, width = lineno, len(fields)
            if width < 2:
                raise GraphFileError(
                    path, f"expected a node id and feature values, got {preview(fields)}", lineno
                )
            if len(fields) != width:
                raise GraphFileError(
                    path,
                    f"expected {width} fields like line {first_line}, got {len(fields)}: {preview(fields)}",
                    lineno,
                )
            node = fields[0].strip()
            if not node:
                raise GraphFileError(path, f"empty node id: {preview(fields)}", lineno)
            if node in seen:
                raise GraphFileError(
                    path, f"node id {node!r} already has a feature row on line {seen[node]}", lineno
                )
            seen[node] = lineno
            values.append(_parse_values(path, fields, lineno, None if head is None else head[1]))
    if not values:
        raise GraphFileError(path, "no feature rows found")
    check_id_text(list(seen), path, seen.get)
    return object_array(list(seen)), np.stack(values)


def _parse_values(path: PathLike, fields: list[str], lineno: int, names: list[str] | None) -> np.ndarray:
    try:
        with np.errstate(over="ignore"):  # an overflow to inf is reported below
            row = np.array(fields[1:], dtype=np.float32)
    except (ValueError, OverflowError):
        bad = next((i for i, v in enumerate(fields[1:], 1) if not is_number(v)), None)
        if bad is not None:
            raise GraphFileError(
                path, f"feature value {fields[bad]!r} in {_column(bad, names)} is not a number", lineno
            ) from None
        with np.errstate(over="ignore"):
            row = np.array([float(v) for v in fields[1:]], dtype=np.float32)  # numpy is stricter than float
    if not np.isfinite(row).all():
        col = 1 + int(np.flatnonzero(~np.isfinite(row))[0])
        value = fields[col]
        hint = OVERFLOW_HINT if is_number(value) and math.isfinite(float(value)) else ""
        raise GraphFileError(
            path, f"feature value {value!r} in {_column(col, names)} is not finite{hint}", lineno
        )
    return row


def _column(col: int, names: list[str] | None) -> str:
    """Field ``col`` (0-based) for a message: its 1-based column number and header name."""
    return f"column {col + 1}" + (f" ({names[col]!r})" if names is not None and col < len(names) else "")


def _read_parquet_features(path: PathLike) -> tuple[np.ndarray, np.ndarray]:
    pa, _ = pyarrow()
    table = read_table(path)
    names = table.column_names
    id_col = next((n for key in _ID_COLUMNS for n in names if n.lower() == key), names[0] if names else None)
    value_cols = [n for n in names if n != id_col]
    if id_col is None or not value_cols:
        raise GraphFileError(path, f"needs an id column and at least one feature column. Got {names}")
    if table.num_rows == 0:
        raise GraphFileError(path, "no feature rows found")
    ids = id_column(table, id_col, path).to_numpy()
    types = [table.schema.field(n).type for n in value_cols]
    if len(value_cols) == 1 and (
        pa.types.is_list(types[0])
        or pa.types.is_large_list(types[0])
        or pa.types.is_fixed_size_list(types[0])
    ):
        column(table, value_cols[0], path)  # null check
        try:
            x = np.array(table.column(value_cols[0]).to_pylist(), dtype=np.float32)
        except (ValueError, TypeError):
            raise GraphFileError(
                path, f"column {value_cols[0]!r} must hold numeric vectors of one length"
            ) from None
        if x.ndim != 2 or x.shape[1] == 0:
            raise GraphFileError(
                path, f"column {value_cols[0]!r} must hold numeric vectors of one length, at least 1"
            )
    else:
        for n, t in zip(value_cols, types, strict=True):
            if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)):
                raise GraphFileError(path, f"feature column {n!r} must be numeric. Got {t}")
        # Filled column by column: a list of float32 columns and their stack would hold the
        # features twice beside the table (2.6 GB each at 10M nodes and 64 features).
        x = np.empty((table.num_rows, len(value_cols)), dtype=np.float32)
        for j, n in enumerate(value_cols):
            x[:, j] = column(table, n, path)
    bad = non_finite_entry(x)
    if bad is not None:
        row, col, value = bad
        where = (
            f"vector entry {col + 1} of column {value_cols[0]!r}"
            if x.shape[1] != len(value_cols)
            else f"column {value_cols[col]!r}"
        )
        raise GraphFileError(path, f"feature value {value} in {where} is not finite", row + 1, unit="row")
    return ids, np.ascontiguousarray(x)
