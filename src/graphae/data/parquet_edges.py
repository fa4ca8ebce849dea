"""Parquet edge lists: the endpoint columns of a table, and their ids encoded.

Internal to :mod:`graphae.data`; :func:`~graphae.data.edgelist.read_edgelist` calls
:func:`read_parquet_edges` for ``.parquet``/``.pq`` files. The columns are chosen by
name (:mod:`graphae.data.columns`); ids keep their Arrow type (integers, finite floats
or strings) and are numbered in order of first appearance.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from graphae.data.arrow_ids import encode_endpoints
from graphae.data.columns import ColumnChoice, resolve_columns
from graphae.data.parquet import column, id_column, pyarrow, read_table
from graphae.data.text import GraphFileError, PathLike, check_id_text
from graphae.weights import WEIGHT_RULE, bad_weights

__all__ = ["read_parquet_edges"]

# Parquet ---------------------------------------------------------------------------
# Columns pandas adds for a non-default index: never endpoints.
_PANDAS_INDEX = re.compile(r"__index_level_\d+__")


def read_parquet_edges(path: PathLike, choice: ColumnChoice) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ids in their Arrow type, in order of first appearance, source rows, target rows)``."""
    table = read_table(path)
    names = [n for n in table.column_names if not _PANDAS_INDEX.fullmatch(n)]
    if len(names) < 2:
        raise GraphFileError(path, f"needs two columns (source, target). Got {names}")
    cols = resolve_columns(names, choice, path)
    pair = (names[cols.source], names[cols.target])
    if table.num_rows == 0:
        raise GraphFileError(path, "no edges found")
    s, d = (id_column(table, c, path) for c in pair)
    if cols.weight is not None:
        _check_weight_column(table, names[cols.weight], path)
    encoded = _encode_arrow_ids(s, d)
    if encoded is None:
        return _encode_numpy_ids(s.to_numpy(), d.to_numpy(), table, pair, path)
    dictionary, src, dst = encoded
    ids = dictionary.to_numpy(zero_copy_only=False)
    if ids.dtype == object:
        check_id_text(ids.tolist(), path, lambda bad: _first_row(ids, src, dst, bad), unit="row")
    return ids, src, dst


def _encode_arrow_ids(s: Any, d: Any) -> tuple[Any, np.ndarray, np.ndarray] | None:
    """:func:`encode_endpoints` for two string columns or two integer columns of one type, else ``None``.

    Floats, and mixed types, go through numpy, whose ``np.unique`` defines their
    equality (``-0.0 == 0.0``) and the common type (``int32`` with ``int64``).
    String and large_string count as one type.
    """
    pa, _ = pyarrow()
    text = (pa.types.is_string, pa.types.is_large_string)
    both_text = any(f(s.type) for f in text) and any(f(d.type) for f in text)
    if not both_text and not (pa.types.is_integer(s.type) and s.type == d.type):
        return None
    try:
        return encode_endpoints(s, d)
    except pa.ArrowException:
        return None


def _first_row(ids: np.ndarray, src: np.ndarray, dst: np.ndarray, node: Any) -> int:
    k = int(np.flatnonzero(ids == node)[0])
    return int(np.flatnonzero((src == k) | (dst == k))[0]) + 1


def _encode_numpy_ids(
    s: np.ndarray, d: np.ndarray, table: Any, pair: tuple[str, str], path: PathLike
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ids in order of first appearance and the rows of each endpoint, by sorting."""
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
    ids = uniq[order]
    if ids.dtype == object:
        check_id_text(
            ids.tolist(), path, lambda bad: int(np.flatnonzero(both == bad)[0]) // 2 + 1, unit="row"
        )
    return ids, idx[0::2].astype(np.int64), idx[1::2].astype(np.int64)


def _check_weight_column(table: Any, name: str, path: PathLike) -> None:
    w = column(table, name, path)
    if not (np.issubdtype(w.dtype, np.number) and not np.issubdtype(w.dtype, np.complexfloating)):
        raise GraphFileError(path, f"column {name!r} must hold numbers. Got {table.schema.field(name).type}")
    bad = np.flatnonzero(bad_weights(w))
    if len(bad):
        raise GraphFileError(
            path, f"weight must be {WEIGHT_RULE}, got {w[bad[0]]!r}", int(bad[0]) + 1, unit="row"
        )
