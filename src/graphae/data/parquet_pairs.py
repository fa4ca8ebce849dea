"""Node-id pairs of a Parquet file, for ``graphae predict --pairs`` (text files: ``read_pairs``).

The endpoint columns are chosen as for a Parquet edge list
(:func:`~graphae.data.columns.resolve_columns`: recognised names such as ``source,target``,
or the two columns of a two-column table), and the ids are checked as its ids are
(:func:`~graphae.data.parquet.id_column`).
"""

from __future__ import annotations

from graphae.data.columns import ColumnChoice, resolve_columns
from graphae.data.parquet import id_column, read_table
from graphae.data.text import GraphFileError, PathLike

__all__ = ["read_parquet_pairs"]


def read_parquet_pairs(path: PathLike) -> list[tuple[str, str, int]]:
    """``(source id, target id, row)`` per row of a Parquet table, ids as text, rows 1-based.

    Raises:
        MissingFileError: If the file does not exist.
        MissingDependencyError: Without pyarrow.
        GraphFileError: If the columns do not say which are the endpoints, an id is
            null or not an id, or the table has no row.
    """
    table = read_table(path)
    cols = resolve_columns(list(table.column_names), ColumnChoice(), path)
    names = table.column_names
    source = id_column(table, names[cols.source], path).to_pylist()
    target = id_column(table, names[cols.target], path).to_pylist()
    if not source:
        raise GraphFileError(path, "holds no pair of node ids")
    return [(str(a), str(b), row) for row, (a, b) in enumerate(zip(source, target, strict=True), start=1)]
