"""Node-id pairs of a Parquet file, for ``graphae predict --pairs`` and ``graphae evaluate --pairs``.

The Parquet counterparts of ``read_pairs`` and ``read_labelled_pairs`` (text files).

The endpoint columns are chosen as for a Parquet edge list
(:func:`~graphae.data.columns.resolve_columns`: recognised names such as ``source,target``,
or the two columns of a two-column table), and the ids are checked as its ids are
(:func:`~graphae.data.parquet.id_column`).
"""

from __future__ import annotations

import numpy as np

from graphae.data.columns import ColumnChoice, resolve_columns
from graphae.data.parquet import id_column, read_table
from graphae.data.text import GraphFileError, PathLike

__all__ = ["read_parquet_labelled_pairs", "read_parquet_pairs"]


def read_parquet_pairs(path: PathLike, *, skip: str | None = None) -> list[tuple[str, str, int]]:
    """``(source id, target id, row)`` per row of a Parquet table, ids as text, rows 1-based.

    Args:
        path: The file.
        skip: A column that is no endpoint (``label``), left out when choosing them.

    Raises:
        MissingFileError: If the file does not exist.
        MissingDependencyError: Without pyarrow.
        GraphFileError: If the columns do not say which are the endpoints, an id is
            null or not an id, or the table has no row.
    """
    table = read_table(path)
    names = [n for n in table.column_names if n != skip]
    cols = resolve_columns(names, ColumnChoice(), path)
    source = id_column(table, names[cols.source], path).to_pylist()
    target = id_column(table, names[cols.target], path).to_pylist()
    if not source:
        raise GraphFileError(path, "holds no pair of node ids")
    return [(str(a), str(b), row) for row, (a, b) in enumerate(zip(source, target, strict=True), start=1)]


def read_parquet_labelled_pairs(path: PathLike) -> list[tuple[str, str, int, int]]:
    """``(source id, target id, label, row)`` per row: the pairs above and a column ``label`` of 0 and 1.

    Raises:
        GraphFileError: As :func:`read_parquet_pairs`, and if there is no column
            ``label`` or it holds anything but 0 and 1.
    """
    table = read_table(path)
    names = list(table.column_names)
    if "label" not in names:
        raise GraphFileError(
            path, f"expected a column 'label' (1: an edge, 0: a non-edge) beside the ids; got {names}"
        )
    labels = np.asarray(table.column("label").to_pylist(), dtype=object)
    bad = np.flatnonzero([not (isinstance(v, (int, float)) and v in (0, 1)) for v in labels])
    if len(bad):
        row = int(bad[0])
        raise GraphFileError(path, f"label must be 0 or 1, got {labels[row]!r}", row + 1, unit="row")
    pairs = read_parquet_pairs(path, skip="label")
    return [(a, b, int(label), row) for (a, b, row), label in zip(pairs, labels, strict=True)]
