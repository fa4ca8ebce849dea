"""Plumbing shared by the file readers: paths, text rows, header rules, id types, errors.

Internal to :mod:`graphae.data`: the readers built on it are
:func:`~graphae.data.edgelist.read_edgelist`, :func:`~graphae.data.features.read_features`,
:func:`~graphae.data.npz.load_npz_graph` and :func:`~graphae.data.files.load_graph`.
Only :class:`GraphFileError` is public (as ``graphae.data.GraphFileError``).
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain
from pathlib import Path
from typing import IO, Any

import numpy as np

from graphae.errors import InputError, MissingFileError

__all__ = [
    "MAX_LINE",
    "GraphFileError",
    "PathLike",
    "Row",
    "as_text",
    "check_exists",
    "check_id_text",
    "default_delimiter",
    "edge_header_rule",
    "exact_id",
    "feature_header_rule",
    "is_number",
    "object_array",
    "preview",
    "split_header",
    "stem",
    "suffix",
    "text_rows",
    "typed_ids",
]

PathLike = str | os.PathLike[str]
# A non-blank, non-comment row of a text file: (1-based line number, fields).
Row = tuple[int, list[str]]

_DELIMITERS = {".csv": ",", ".tsv": "\t"}
# The longest line read: beyond it a file without line breaks (/dev/zero, a binary file)
# would be held in memory whole before any row could be refused.
MAX_LINE = 64 * 2**20
# First-row words that mark an edge-list header even when ids are strings.
_HEADER_WORDS = frozenset("source target src dst from to node1 node2 head tail source_id target_id".split())


class GraphFileError(InputError):
    """A graph or feature file that cannot be read, with where it went wrong.

    The message reads ``FILE:LINE: what`` for text, ``FILE: row K: what`` for tables
    and arrays, and ``FILE: what`` when no single place is to blame. An
    :class:`~graphae.errors.InputError`, hence a ``ValueError``.

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


# Paths ---------------------------------------------------------------------------
def suffix(path: PathLike) -> str:
    """Lower-case extension, looking through a final ``.gz`` (``e.csv.gz`` gives ``.csv``)."""
    p = Path(path)
    if p.suffix.lower() == ".gz":
        p = p.with_suffix("")
    return p.suffix.lower()


def stem(path: PathLike) -> str:
    """File name without its extension (and without a final ``.gz``)."""
    p = Path(path)
    if p.suffix.lower() == ".gz":
        p = p.with_suffix("")
    return p.stem


def check_exists(path: PathLike) -> None:
    """Raise :class:`~graphae.errors.MissingFileError` naming ``path`` when it does not exist."""
    if not Path(path).exists():
        raise MissingFileError(f"No such file: {os.fspath(path)!r}.")


def default_delimiter(path: PathLike, delimiter: str | None) -> str | None:
    """``delimiter``, or the one the extension implies (``None``: runs of whitespace)."""
    return _DELIMITERS.get(suffix(path)) if delimiter is None else delimiter


# Text rows -----------------------------------------------------------------------
def _open_text(path: PathLike) -> IO[str]:
    check_exists(path)
    # utf-8-sig drops the byte-order mark that spreadsheet exports put first.
    if Path(path).suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


@contextmanager
def text_rows(path: PathLike, delimiter: str | None, comment: str | None) -> Iterator[Iterator[Row]]:
    """Non-blank rows of a text file as ``(line number, fields)``, streamed, after its leading comments.

    Comment lines are those that start the file (blank lines aside), before its first
    row (a header or data): a later line that starts with ``comment`` is a row like
    any other, so ids such as ``#tag`` are never dropped.

    Args:
        path: A text file, ``.gz``-compressed or plain, UTF-8.
        delimiter: Field separator for :mod:`csv`, or ``None`` to split on runs of
            whitespace (no quoting).
        comment: Prefix of the leading comment lines, or ``None``.

    Raises:
        MissingFileError: If ``path`` does not exist.
        GraphFileError: For text that is not UTF-8 or not parseable as delimited
            text, or a line longer than :data:`MAX_LINE` characters, raised while the
            caller iterates and naming the line.
    """
    with _open_text(path) as f:
        current = [0]

        def lines() -> Iterator[tuple[int, str]]:
            """Non-blank lines after the leading comments, each with its number."""
            in_preamble = bool(comment)
            for number, line in enumerate(_bounded_lines(f, path), 1):
                # Kept outside so that each csv record is paired with its last physical line.
                current[0] = number
                stripped = line.strip()
                if not stripped:
                    continue
                if in_preamble and stripped.startswith(comment):
                    continue
                in_preamble = False
                yield number, line

        if delimiter is None:
            rows: Iterator[Row] = ((number, line.split()) for number, line in lines())
        else:
            reader = csv.reader((line for _, line in lines()), delimiter=delimiter, skipinitialspace=True)
            rows = ((current[0], fields) for fields in reader)
        try:
            yield rows
        except UnicodeDecodeError as err:
            raise GraphFileError(path, f"is not UTF-8 text ({err.reason})", _undecodable_line(path)) from None
        except csv.Error as err:
            raise GraphFileError(path, f"cannot be parsed as delimited text: {err}", current[0]) from None
        except (EOFError, zlib.error, gzip.BadGzipFile) as err:
            # Only gzip raises these while rows are read: a truncated or damaged archive.
            raise GraphFileError(path, f"is truncated or not a readable gzip file ({err})") from None


def _bounded_lines(f: IO[str], path: PathLike) -> Iterator[str]:
    """The lines of ``f``, refusing one longer than :data:`MAX_LINE` before holding it whole."""
    number = 0
    while True:
        line = f.readline(MAX_LINE + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE and not line.endswith("\n"):
            raise GraphFileError(
                path,
                f"has no line break within {MAX_LINE} characters; a text edge list, pair list or "
                "feature table has one row per line",
                number,
            )
        yield line


def _undecodable_line(path: PathLike) -> int | None:
    """1-based number of the first line that is not UTF-8 (the slow path of an error)."""
    opener = gzip.open if Path(path).suffix.lower() == ".gz" else open
    try:
        with opener(path, "rb") as f:
            # Bounded like the text reader's lines: a file without line breaks is not held whole.
            for number, raw in enumerate(iter(lambda: f.readline(MAX_LINE + 1), b""), 1):
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    return number
    except (EOFError, zlib.error, gzip.BadGzipFile):
        pass  # the decoding error is the one to report
    return None


# Headers -------------------------------------------------------------------------
def split_header(
    rows: Iterator[Row],
    header: bool | None,
    rule: Callable[[list[str], list[str] | None], bool],
) -> tuple[Row | None, Iterator[Row]]:
    """Take the header row off ``rows`` when ``header`` (or, when it is ``None``, ``rule``) says so.

    Returns:
        ``(header row or None, the remaining rows)``.
    """
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


def is_number(text: str) -> bool:
    """Whether ``float(text)`` succeeds."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def edge_header_rule(first: list[str], second: list[str] | None) -> bool:
    """Whether the first row of an edge list is a header.

    It is when (a) it has a third field that is not a number, (b) its first two fields
    are both endpoint names (``source,target``, ``src,dst``, ``from,to``, ...), or
    (c) its first two fields are non-numeric while the second row's are numeric.
    """
    if len(first) >= 3 and not is_number(first[2]):
        return True
    if len(first) < 2:
        return False
    a, b = first[0].strip().lower(), first[1].strip().lower()
    if a in _HEADER_WORDS and b in _HEADER_WORDS:
        return True
    return (
        second is not None
        and len(second) >= 2
        and not is_number(a)
        and not is_number(b)
        and is_number(second[0])
        and is_number(second[1])
    )


# Names of a feature table's id column that mark its first row as a header.
_ID_NAMES = frozenset(("", "id", "ids", "node", "node_id", "nodes", "index", "name", "names"))


def feature_header_rule(first: list[str], second: list[str] | None) -> bool:
    """Whether the first row of a feature table is a header.

    It is when one of its values is not a number, or when its values number the
    columns (the names pandas gives a matrix's columns): ``0,1,2,...`` or
    ``1,2,3,...`` under an id column named like one (``id``, ``node``, empty,
    ``Unnamed: 0``, ...), or ``0,1,2,...`` of three values or more above a row that
    does not number them too.
    """
    values = first[1:]
    if not all(is_number(v) for v in values):
        return True
    name = first[0].strip().lower()
    if name in _ID_NAMES or name.startswith("unnamed"):
        return _numbers_columns(values, 0) or _numbers_columns(values, 1)
    return (
        len(values) >= 3
        and _numbers_columns(values, 0)
        and (second is None or not _numbers_columns(second[1:], 0))
    )


def _numbers_columns(values: list[str], start: int) -> bool:
    """Whether ``values`` read ``start, start + 1, ...`` as text."""
    return [v.strip() for v in values] == [str(start + i) for i in range(len(values))]


# Values and ids ------------------------------------------------------------------
# Characters an id cannot hold: controls (line breaks, tabs, NUL) and the Unicode line
# and paragraph separators, all of which break a file of one id per line.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def check_id_text(
    ids: list[Any], path: PathLike, line: Callable[[Any], int | None] | None = None, unit: str = "line"
) -> None:
    """Refuse string ids that hold a line break or another control character.

    One regular-expression scan of all ids joined; only a hit looks at ids one by one.

    Args:
        ids: Node ids; only ``str`` ones are checked.
        path: The file they come from, for the message.
        line: Maps the offending id to its line (or row) number, when known.
        unit: ``"line"`` (text) or ``"row"`` (tables), as in :class:`GraphFileError`.

    Raises:
        GraphFileError: Naming the first such id (and its line).
    """
    try:
        joined = "".join(ids)  # all text, the usual case: no filtering pass over a million ids
    except TypeError:
        joined = "".join(v for v in ids if isinstance(v, str))
    if not _UNPRINTABLE.search(joined):
        return
    bad = next(v for v in ids if isinstance(v, str) and _UNPRINTABLE.search(v))
    raise GraphFileError(
        path,
        f"node id {bad!r} holds a line break or another control character; ids must be printable "
        "text (they are written one per line with a fitted model)",
        None if line is None else line(bad),
        unit=unit,
    )


def preview(fields: list[str]) -> str:
    """A row for an error message, cut to 80 characters."""
    text = repr(fields)
    return text if len(text) <= 80 else text[:77] + "..."


def object_array(values: list[Any]) -> np.ndarray:
    """A 1-D object array holding ``values`` as they are (tuples stay elements)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def typed_ids(ids: np.ndarray) -> np.ndarray:
    """Text ids as ``int64`` when every one is a canonical integer, else ``str`` objects.

    Canonical means ``str(int(s)) == s``: ``"007"`` or ``"+7"`` keep every id a string.
    """
    texts = list(map(str, ids.tolist()))
    try:
        ints = np.array(texts, dtype=np.int64)  # Python's int() on each text, looped in C
    except (ValueError, OverflowError):
        return object_array(texts)
    if ints.astype(str).tolist() == texts:
        return ints
    return object_array(texts)


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def exact_id(text: str, kind: str) -> Any:
    """A typed id as the readers would have produced it from ``text``, or ``None``.

    ``kind`` ``"int"``: ``text`` must be the integer's decimal text (``str(int(text))``,
    the rule of :func:`typed_ids`): ``' 10 '``, ``'1_0'``, ``'+10'``, ``'010'`` and
    non-ASCII digits are not ``10``, although Python's ``int`` reads them so.
    ``"float"``: plain ASCII decimal notation (``0.5``, ``-2``, ``1e+20``).
    """
    if kind == "int":
        try:
            value = int(text)
        except (TypeError, ValueError):
            return None
        return value if str(value) == text else None
    if kind == "float":
        return float(text) if isinstance(text, str) and _DECIMAL.fullmatch(text) else None
    raise ValueError(f"kind must be 'int' or 'float'. Got {kind!r}.")


def as_text(value: str | bytes) -> str:
    """``value`` as ``str``, decoding bytes as UTF-8 (undecodable bytes replaced)."""
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
