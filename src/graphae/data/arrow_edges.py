"""The fast path of text edge lists: pyarrow's CSV reader, and node ids mapped by hashing.

Internal to :mod:`graphae.data`. :func:`~graphae.data.edgelist.read_edgelist` first
asks :func:`fast_text_edges`; it returns ``None`` (declines) whenever it cannot promise
the result of the Python reader (:func:`~graphae.data.text.text_rows`), and the Python
reader then runs, so every error message, with its file and line, stays the Python
reader's own. It declines without pyarrow, and for files with:

- anything that is not a clean edge (a row of another width, an empty id, a weight
  that is not a finite number > 0, an id with a control character, a third column
  that looks like ids): the Python reader names the line;
- with a delimiter, a double quote anywhere but in the header, or a field longer than
  ``csv.field_size_limit()``: the Python reader honours quoting and the csv module's
  limit (comment lines only start a file, so pyarrow, which starts at the first data
  row, sees none);
- control characters, a carriage return that ends no line, text that is not UTF-8, or
  whitespace other than spaces, tabs and line ends: the Python reader splits and strips
  on all of Python's whitespace;
- without a delimiter (runs of whitespace), both tabs and spaces, or two separators in a
  row, or one at the start or end of a line.

The header, the column choice and the first data row are always read by the Python
reader's own functions, so their rules are shared rather than copied; pyarrow reads
from the first data row on.
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from graphae.data.arrow_ids import encode_endpoints
from graphae.data.columns import ColumnChoice, EdgeColumns, check_not_ids, resolve_columns
from graphae.data.text import (
    GraphFileError,
    PathLike,
    check_id_text,
    edge_header_rule,
    split_header,
    text_rows,
)
from graphae.weights import bad_weights

__all__ = ["arrow", "csv_read_options", "fast_text_edges"]

_BOM = b"\xef\xbb\xbf"
# Bytes that need no second look: printable ASCII, tab and line ends.
_PLAIN_BYTES = bytes(range(0x20, 0x7F)) + b"\t\n\r"
_HIGH_BYTES = bytes(range(0x80, 0x100))
# Non-ASCII characters for which str.isspace() is true: str.split() and str.strip() cut there.
_UNICODE_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")


def arrow() -> tuple[Any, Any, Any] | None:
    """``(pyarrow, pyarrow.compute, pyarrow.csv)``, or ``None`` without pyarrow."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    return pa, pc, pacsv


def csv_read_options(pacsv: Any, names: list[str]) -> Any:
    """pyarrow's ``ReadOptions`` for an edge list: the given column names, parsed on this thread.

    ``use_threads=False``: the threaded CSV reader leaves work on Arrow's thread pools
    after it returns, and with torch in the process an exit that follows aborts the
    interpreter now and then (``terminate called without an active exception``, exit 134;
    apache/arrow#34314). The parse stays pyarrow's; the id hashing after it still uses
    Arrow's threads. ``benchmarks/abort_check.py`` counts the aborts.
    """
    return pacsv.ReadOptions(column_names=names, use_threads=False)


def fast_text_edges(
    path: PathLike, delimiter: str | None, header: bool | None, comment: str | None, choice: ColumnChoice
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(ids as text in order of first appearance, source rows, target rows)``, or ``None``.

    The arguments and the result are those of the Python reader (``header`` already
    ``True`` when columns are chosen by name); ``None`` means "read it the slow way".

    Raises:
        MissingFileError: If ``path`` does not exist (as the Python reader would).
    """
    modules = arrow()
    if modules is None or not _usable_delimiter(delimiter):
        return None
    try:
        layout = _layout(path, delimiter, header, comment, choice)
    except GraphFileError:
        return None
    if layout is None:
        return None
    cols, width, head_line, first_line = layout
    rest = _rows_from(path, first_line, quotes_after=head_line if delimiter is not None else None)
    if rest is None:
        return None
    sep = _separator(rest, delimiter)
    if sep is None:
        return None
    try:
        return _parse(modules, path, rest, sep, width, cols, csv_module=delimiter is not None)
    except GraphFileError:
        return None
    except modules[0].ArrowException:
        return None


def _usable_delimiter(delimiter: str | None) -> bool:
    return delimiter is None or (len(delimiter) == 1 and delimiter.isascii() and delimiter not in '"\r\n')


def _layout(
    path: PathLike, delimiter: str | None, header: bool | None, comment: str | None, choice: ColumnChoice
) -> tuple[EdgeColumns, int, int, int] | None:
    """``(columns, fields per row, last line of the header or 0, line of the first data row)``.

    All as the Python reader sees them; a record's line is its last one.
    """
    with text_rows(path, delimiter, comment) as all_rows:
        head, rows = split_header(all_rows, header, edge_header_rule)
        first = next(rows, None)
    if first is None:
        return None
    if head is not None:
        width = len(head[1])
        if width < 2:
            return None
        cols = resolve_columns(head[1], choice, path, head[0])
    else:
        width = len(first[1])
        if not 2 <= width <= 3:
            return None
        cols = EdgeColumns.by_position(width)
    return (cols, width, 0 if head is None else head[0], first[0]) if len(first[1]) == width else None


def _rows_from(path: PathLike, line: int, *, quotes_after: int | None) -> bytes | None:
    """The file's bytes from the start of ``line`` (1-based), or ``None`` when that is not exact.

    With quoting (the csv module), the first data row may be a record that starts on an
    earlier line (a quoted field holding a line break) and ends on ``line``; it starts
    after line ``quotes_after`` (the header's last line), so a quote between the two
    leaves the file to the Python reader. A quoted header is fine.
    """
    try:
        if Path(path).suffix.lower() == ".gz":
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            data = Path(path).read_bytes()
    except (OSError, EOFError, zlib.error):
        return None
    start = quote_from = 0
    for number in range(1, line):
        start = data.find(b"\n", start) + 1
        if start == 0:
            return None
        if number == quotes_after:
            quote_from = start
    if data.count(b"\r", 0, start) != data.count(b"\r\n", 0, start):
        return None  # a lone carriage return ends a line for Python: line numbers would differ
    if quotes_after is not None and data.find(b'"', quote_from, start) >= 0:
        return None
    if start == 0 and data.startswith(_BOM):
        start = len(_BOM)
    return data[start:] if start else data


def _separator(rest: bytes, delimiter: str | None) -> str | None:
    """The one-byte field separator for pyarrow, or ``None`` when ``rest`` needs the Python reader."""
    if b"\r" in rest and rest.count(b"\r") != rest.count(b"\r\n"):  # one fast scan when there is none
        return None
    odd = rest.translate(None, _PLAIN_BYTES)
    if odd:
        if odd.translate(None, _HIGH_BYTES):
            return None  # control characters
        try:
            text = rest.decode("utf-8")
        except UnicodeDecodeError:
            return None
        if _UNICODE_SPACE.search(text):
            return None
    if delimiter is not None:
        return None if b'"' in rest else delimiter
    tab, space = b"\t" in rest, b" " in rest
    if tab == space:
        return None  # both (runs of mixed whitespace) or neither (one field per row)
    sep = b"\t" if tab else b" "
    if any(bad in rest for bad in (sep + sep, b"\n" + sep, sep + b"\n", sep + b"\r")):
        return None
    if rest.startswith(sep) or rest.endswith(sep):
        return None
    return sep.decode()


def _has_spaces(rest: bytes, sep: str) -> bool:
    """Whether fields may carry spaces or tabs, which the Python reader strips from ids."""
    return (sep != " " and b" " in rest) or (sep != "\t" and b"\t" in rest)


def _parse(
    modules: tuple[Any, Any, Any],
    path: PathLike,
    rest: bytes,
    sep: str,
    width: int,
    cols: EdgeColumns,
    *,
    csv_module: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The edges of ``rest`` read by pyarrow, or ``None`` where the Python reader would differ."""
    pa, pc, pacsv = modules
    names = [f"f{i}" for i in range(width)]
    wanted = [i for i in (cols.source, cols.target, cols.weight) if i is not None]
    # The csv module refuses fields over csv.field_size_limit(): every column is checked.
    converted = range(width) if csv_module else wanted
    trim = _has_spaces(rest, sep)
    table = pacsv.read_csv(
        pa.BufferReader(pa.py_buffer(rest)),
        read_options=csv_read_options(pacsv, names),
        parse_options=pacsv.ParseOptions(
            delimiter=sep, quote_char=False, escape_char=False, newlines_in_values=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={names[i]: pa.string() for i in converted},
            include_columns=[names[i] for i in converted],
            strings_can_be_null=False,
        ),
    )
    if table.num_rows == 0:
        return None
    if csv_module and any(
        pc.max(pc.binary_length(table.column(n))).as_py() > csv.field_size_limit() for n in names
    ):
        return None

    def field(i: int) -> Any:
        values = table.column(names[i])
        return pc.ascii_trim(values, characters=" \t") if trim else values

    source, target = field(cols.source), field(cols.target)
    if any(pc.any(pc.equal(pc.binary_length(v), 0)).as_py() for v in (source, target)):
        return None  # an empty id: the Python reader names its line
    dictionary, src, dst = encode_endpoints(source, target)
    ids = dictionary.to_numpy(zero_copy_only=False)
    check_id_text(ids.tolist(), path)
    if cols.weight is not None:
        w = pc.cast(field(cols.weight), pa.float64()).to_numpy(zero_copy_only=False)
        if bad_weights(w).any():
            return None
        if not cols.named:
            check_not_ids(w, ids, path)
    return ids, src, dst
