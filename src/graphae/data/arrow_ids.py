"""Node ids of two Arrow columns numbered by hash grouping, in order of first appearance.

Internal to :mod:`graphae.data`, shared by the fast path of text edge lists
(:mod:`graphae.data.arrow_edges`) and the Parquet reader. pyarrow is imported by the
callers, which hold it already.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["encode_endpoints"]

# Bytes of text past which 32-bit string offsets may overflow in the grouped ids: large_string.
_STRING_BYTES = 2**31 - 1


def encode_endpoints(source: Any, target: Any, *, threads: bool = True) -> tuple[Any, np.ndarray, np.ndarray]:
    """Node ids and row indices of two Arrow columns of one type, in order of first appearance.

    The order is that of ``source[0], target[0], source[1], target[1], ...``, as the
    Python reader numbers ids. Both columns, end to end, are grouped by id with
    pyarrow's hash grouping (a table ``group_by``, twice as fast as
    ``dictionary_encode`` and spread over Arrow's CPU threads), each id collecting
    the interleaved positions ``2 k`` (source row ``k``) and ``2 k + 1`` (target row
    ``k``) where it appears; numpy then numbers the ids by their first position and
    writes each number back to its positions. No Python per edge, and no interleaved
    copy of the columns.

    Args:
        source: ``pyarrow`` array or chunked array of ids, no nulls.
        target: The same, of the same type (or both text: string and large_string) and
            length.
        threads: Let Arrow group on its CPU thread pool (``pyarrow.cpu_count()`` threads).

    Returns:
        ``(ids as a pyarrow array, source rows, target rows)``, rows as ``int64``.
    """
    import pyarrow as pa

    n = len(source)
    if _is_text(source.type):
        # Arrow's fast grouping takes string keys; large_string ones go a path 4 times slower.
        small = source.nbytes + target.nbytes <= _STRING_BYTES
        text = pa.string() if small else pa.large_string()
        source, target = source.cast(text), target.cast(text)
    if n == 0:
        return pa.array([], source.type), np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    position = np.int32 if 2 * n <= np.iinfo(np.int32).max else np.int64  # halves the lists' memory
    at = np.arange(0, 2 * n, 2, dtype=position)
    table = pa.table(
        {
            "id": pa.chunked_array([*_chunks(source), *_chunks(target)], source.type),
            "at": pa.chunked_array([pa.array(at), pa.array(at + 1)]),
        }
    )
    grouped = table.group_by("id", use_threads=threads).aggregate([("at", "list")])
    lists = grouped.column("at_list").combine_chunks()
    offsets = lists.offsets.to_numpy()
    positions = lists.values.to_numpy()[: offsets[-1]]  # the buffer may run on: reduceat reads to its end
    # Groups come in no promised order, nor do positions within a group: both are sorted out here.
    order = np.argsort(np.minimum.reduceat(positions, offsets[:-1]))
    rank = np.empty(len(order), dtype=position)
    rank[order] = np.arange(len(order), dtype=position)
    rows = np.empty(2 * n, dtype=position)
    rows[positions[offsets[0] :]] = np.repeat(rank, np.diff(offsets))
    ids = grouped.column("id").take(pa.array(order)).combine_chunks()
    return ids, rows[0::2].astype(np.int64), rows[1::2].astype(np.int64)


def _is_text(kind: Any) -> bool:
    import pyarrow as pa

    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _chunks(column: Any) -> list[Any]:
    return list(column.chunks) if hasattr(column, "chunks") else [column]
