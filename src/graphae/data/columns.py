"""Which columns of an edge list are the endpoints and which the weight.

Internal to :mod:`graphae.data`; the rules are those of
:func:`~graphae.data.edgelist.read_edgelist`:

- A file with column names (a text header row, or a Parquet table) takes its endpoints
  from ``source_col``/``target_col`` when given, else from a recognised pair of names
  (:data:`ENDPOINT_NAMES`, any case; spaces and hyphens count as ``_``). Without either,
  two columns are the endpoints whatever their names, and three are
  ``source, target, weight`` only when the third is named like a weight; anything else
  is an error that lists the columns and the options, since taking the first two
  columns of ``edge_id,node_a,node_b`` would silently build another graph.
- The weight is ``weight_col``, else a column named like a weight (:data:`WEIGHT_NAMES`);
  other columns are ignored.
- A file without names has rows ``source target [weight]``. Its third column must be a
  plausible weight: integers that are nearly all node ids of the first two columns are
  refused (see :func:`check_not_ids`). Its first row must not look like a header that
  was not recognised (``person,friend`` over string ids, see :func:`check_unnamed_header`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from graphae.data.text import GraphFileError, PathLike, Row, is_number, typed_ids
from graphae.errors import InputError, InputTypeError
from graphae.weights import WEIGHT_RULE, bad_weights

__all__ = [
    "ENDPOINT_NAMES",
    "WEIGHT_NAMES",
    "ColumnChoice",
    "EdgeColumns",
    "check_not_ids",
    "check_unnamed_header",
    "parse_weights",
    "resolve_columns",
]

# Recognised endpoint column names, in order of preference.
ENDPOINT_NAMES = (
    ("source", "target"),
    ("src", "dst"),
    ("from", "to"),
    ("u", "v"),
    ("head", "tail"),
    ("node1", "node2"),
    ("node_1", "node_2"),
    ("source_id", "target_id"),
    ("src_id", "dst_id"),
    ("from_id", "to_id"),
    ("source_node", "target_node"),
)
WEIGHT_NAMES = ("weight", "weights", "w")
_SHOWN_PAIRS = ", ".join(f"{a},{b}" for a, b in ENDPOINT_NAMES[:6])
_OPTIONS = (
    "pass source_col and target_col (CLI: --source-col, --target-col); a third column is read as a "
    "weight only when named 'weight' or given as weight_col (CLI: --weight-col)"
)
# A headerless third column of integers is judged only with this many distinct values.
_MIN_DISTINCT = 20


@dataclass(frozen=True)
class ColumnChoice:
    """The column names a user gave: ``source_col``, ``target_col``, ``weight_col``.

    Raises:
        InputTypeError: If a name is not a string.
        InputError: If a name is empty, or only one of source and target is given.
    """

    source: str | None = None
    target: str | None = None
    weight: str | None = None

    def __post_init__(self) -> None:
        for option, value in self.options():
            if value is None:
                continue
            if not isinstance(value, str):
                raise InputTypeError(f"{option} must be a column name (str). Got {value!r}.")
            if not value.strip():
                raise InputError(f"{option} must be a column name. Got an empty string.")
        if (self.source is None) != (self.target is None):
            raise InputError(
                "source_col and target_col go together (CLI: --source-col, --target-col). "
                f"Got source_col={self.source!r}, target_col={self.target!r}."
            )

    def options(self) -> tuple[tuple[str, str | None], ...]:
        return (("source_col", self.source), ("target_col", self.target), ("weight_col", self.weight))

    @property
    def given(self) -> bool:
        return any(value is not None for _, value in self.options())


@dataclass(frozen=True)
class EdgeColumns:
    """Positions of the endpoint and weight columns in a row.

    Attributes:
        source: Column of the source ids.
        target: Column of the target ids.
        weight: Column of the weights, or ``None``.
        named: Whether the columns have names (a header), so no weight heuristic applies.
    """

    source: int
    target: int
    weight: int | None = None
    named: bool = False

    @classmethod
    def by_position(cls, width: int) -> EdgeColumns:
        """``source target [weight]`` of a file without names."""
        return cls(0, 1, 2 if width == 3 else None)


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def resolve_columns(
    names: list[str], choice: ColumnChoice, path: PathLike, line: int | None = None
) -> EdgeColumns:
    """The endpoint and weight columns of a table with column ``names``.

    Args:
        names: The column names (a header row, or a Parquet table's columns).
        choice: The names the user gave, if any.
        path: The file, for messages.
        line: The header's line, for messages (``None`` for Parquet).

    Raises:
        GraphFileError: If a given name is not a column, the names do not say which
            columns are the endpoints, or a chosen name appears twice.
    """
    keys = [_key(str(n)) for n in names]
    if choice.source is not None:
        s = _find(names, keys, choice.source, "source_col", path, line)
        t = _find(names, keys, choice.target, "target_col", path, line)
        if s == t:
            raise GraphFileError(path, f"source_col and target_col both name column {names[s]!r}", line)
    else:
        pair = next(
            ((keys.index(a), keys.index(b)) for a, b in ENDPOINT_NAMES if a in keys and b in keys), None
        )
        if pair is None and (len(keys) == 2 or (len(keys) == 3 and keys[2] in WEIGHT_NAMES)):
            pair = (0, 1)
        if pair is None:
            raise GraphFileError(
                path,
                f"the columns {list(names)} do not say which are the endpoints: name them "
                f"{_SHOWN_PAIRS} (any case), or {_OPTIONS}",
                line,
            )
        s, t = pair
        for i in pair:
            if keys.count(keys[i]) > 1:
                raise GraphFileError(path, f"column {names[i]!r} appears twice in {list(names)}", line)
    if choice.weight is not None:
        w: int | None = _find(names, keys, choice.weight, "weight_col", path, line)
        if w in (s, t):
            raise GraphFileError(path, f"weight_col names the endpoint column {names[w]!r}", line)
    else:
        w = next((i for i, k in enumerate(keys) if k in WEIGHT_NAMES and i not in (s, t)), None)
    return EdgeColumns(s, t, w, named=True)


def _find(
    names: list[str], keys: list[str], wanted: str, option: str, path: PathLike, line: int | None
) -> int:
    """Index of column ``wanted``: an exact match, else the one equal up to case and spacing."""
    if wanted in names:
        return names.index(wanted)
    matches = [i for i, k in enumerate(keys) if k == _key(wanted)]
    if len(matches) != 1:
        raise GraphFileError(path, f"{option}={wanted!r} is not one of its columns {list(names)}", line)
    return matches[0]


def parse_weights(texts: list[str], lines: list[int], path: PathLike) -> np.ndarray:
    """Weights of text rows as float64, each a finite number > 0.

    One vectorised conversion; only an error goes back to the values one by one.

    Args:
        texts: The weight fields.
        lines: Their line numbers, for messages.
        path: The file.

    Raises:
        GraphFileError: Naming the line of the first weight that is not a number > 0.
    """
    try:
        w = np.array(texts, dtype=np.float64)
    except (ValueError, OverflowError):
        w = np.array([_float_or_nan(t) for t in texts], dtype=np.float64)
    bad = np.flatnonzero(bad_weights(w))
    if len(bad):
        k = int(bad[0])
        raise GraphFileError(path, f"weight must be {WEIGHT_RULE}, got {texts[k]!r}", lines[k])
    return w


def _float_or_nan(text: str) -> float:
    try:
        return float(text)
    except (ValueError, OverflowError):
        return math.nan


def check_not_ids(weights: np.ndarray, ids: np.ndarray, path: PathLike) -> None:
    """Refuse a headerless third column that looks like node ids rather than weights.

    It does when its values are integers, at least 20 distinct, nearly all (90%) of
    them ids of the first two columns, and they cover at least a tenth of those ids:
    the target column of ``edge_id, source, target`` rows. Integer weights (counts)
    have few distinct values and timestamps are not ids, so both pass.

    Args:
        weights: The third column, as numbers.
        ids: The ids of the first two columns, as text.
        path: The file.

    Raises:
        GraphFileError: Saying what the column looks like and how to name the columns.
    """
    if not np.array_equal(weights, np.floor(weights)):
        return
    distinct = np.unique(weights)
    if len(distinct) < _MIN_DISTINCT or len(distinct) < 0.1 * len(ids):
        return
    typed = typed_ids(ids)  # per id, so only once the cheap tests above have passed
    if not np.issubdtype(typed.dtype, np.integer):
        return
    shared = int(np.isin(distinct, typed).sum())
    if shared >= 0.9 * len(distinct):
        raise GraphFileError(
            path,
            f"the third column looks like node ids, not weights ({len(distinct)} distinct integers, "
            f"{shared} of them ids of the first two columns); add a header row naming the columns "
            f"(source, target, weight) and, if the endpoints are not the first two columns, {_OPTIONS}",
        )


def check_unnamed_header(first: Row, src: np.ndarray, dst: np.ndarray, path: PathLike) -> None:
    """Refuse a first row of words that appear in no other row: a header read as an edge.

    Over string ids a header such as ``person,friend`` cannot be told from an edge by
    its text; it can by its place in the graph. The first row of a file without a
    recognised header is refused when its two ids (no field a number) appear in no
    other row while most other rows share an id with another row: an edge between two
    nodes named after the columns would otherwise join the graph.

    Args:
        first: The first row read as data, ``(line, fields)``.
        src: Source node of each row, the first row's first.
        dst: Target node of each row.
        path: The file.

    Raises:
        GraphFileError: Naming the row and how to name the columns.
    """
    line, fields = first
    if len(src) < 3 or src[0] == dst[0] or any(is_number(f) for f in fields):
        return
    count = np.bincount(np.concatenate([src, dst]))
    alone = (count[src] == 1) & (count[dst] == 1)
    if alone[0] and alone[1:].mean() < 0.5:
        raise GraphFileError(
            path,
            f"the first row {fields!r} looks like a header (its names appear in no other row) but does "
            f"not say which columns are the endpoints: name them {_SHOWN_PAIRS} (any case), or {_OPTIONS}; "
            "if it is an edge, add a header row such as source,target above it",
            line,
        )
