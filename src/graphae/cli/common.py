"""What the ``graphae`` commands share: user errors, argument types, output tables."""

from __future__ import annotations

import argparse
import csv
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from graphae.errors import GraphaeError, MissingDependencyError
from graphae.io import atomic_write


class UserError(GraphaeError):
    """An error caused by the user's input: reported in one line, no traceback."""


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def non_negative_int(text: str) -> int:
    return _int_at_least(text, 0, "an integer >= 0")


def _int_at_least(text: str, low: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def recall_target(text: str) -> float:
    """A recall in ``(0, 1]`` (``--target-recall``)."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a recall in (0, 1], got {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


SEED_MAX = 2**32 - 1  # numpy and torch seeds


def seed(text: str) -> int:
    """A ``--seed`` option (argparse type): the rule of :func:`check_seed`."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, {SEED_MAX}], got {text!r}") from None
    if not 0 <= value <= SEED_MAX:
        shown = repr(text) if len(text) <= 24 else f"{text[:12]}...{text[-6:]} ({len(text)} digits)"
        raise argparse.ArgumentTypeError(f"expected an integer in [0, {SEED_MAX}], got {shown}")
    return value


def check_seeds(first: Any, runs: int, where: str) -> int:
    """The one rule for a seed read from a file (``metrics.json``, ``runs.json``), as ``--seed``'s.

    Run ``i`` of ``runs`` uses seed ``first + i``: the last must be a seed too.

    Raises:
        UserError: Naming ``where`` (the file and key, or the option), unless
            ``first .. first + runs - 1`` are integers in ``[0, SEED_MAX]``.
    """
    if isinstance(first, bool) or not isinstance(first, int) or not 0 <= first <= SEED_MAX:
        shown = repr(first)
        shown = shown if len(shown) <= 24 else f"{shown[:12]}...{shown[-6:]} ({len(shown)} characters)"
        raise UserError(f"{where}: expected an integer in [0, {SEED_MAX}], got {shown}")
    last = first + runs - 1
    if last > SEED_MAX:
        raise UserError(
            f"{where} {first} with --runs {runs}: run {runs} would use seed {last}, above the largest "
            f"seed {SEED_MAX}; choose --seed {SEED_MAX - runs + 1} or smaller"
        )
    return first


def check_out_file(path: str | None) -> None:
    """Refuse an ``--out FILE`` that cannot be written, before any work or output.

    Raises:
        UserError: If ``path`` is a folder, or its folder does not exist or cannot be written.
    """
    if path is None:
        return
    target = Path(path)
    folder = target.absolute().parent
    if target.is_dir():
        raise UserError(f"--out {path}: is a folder; give a file name")
    if not folder.is_dir():
        what = "does not exist" if not folder.exists() else "is not a folder"
        raise UserError(f"--out {path}: the folder {folder} {what}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UserError(f"--out {path}: cannot write into the folder {folder}")


def log(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def parse_id(node_ids: np.ndarray, text: Any, where: str) -> Any:
    """A node id typed by the user, converted to the model's id type, exactly.

    Integer ids must be written as the edge reader would have read them (``10``, not
    ``' 10 '``, ``1_0`` or ``+10``); see :func:`graphae.data.text.exact_id`.

    Raises:
        UserError: If the model's ids are integers (or floats) and ``text`` is not one.
    """
    from graphae.data.text import exact_id

    for kind, name, what in (
        (np.integer, "int", "integers such as 10"),
        (np.floating, "float", "numbers such as 0.5"),
    ):
        if np.issubdtype(node_ids.dtype, kind):
            value = exact_id(text, name)
            if value is None:
                raise UserError(f"{where}: unknown node id {text!r}: this model's node ids are {what}")
            return value
    return text


def add_model_option(parser: argparse.ArgumentParser) -> None:
    """``--model DIR``: the run folder of a trained model, for the commands that read one."""
    parser.add_argument(
        "--model", required=True, metavar="DIR", help="folder written by `graphae train --out`"
    )


def add_legacy_option(parser: argparse.ArgumentParser) -> None:
    """``--legacy``: also read a model folder saved without checksums (graphae 0.2 or older)."""
    parser.add_argument(
        "--legacy",
        action="store_true",
        help="read a model folder saved without checksums (by graphae 0.2 or older): nothing then shows "
        "that its files are the ones graphae wrote",
    )


def load_model(folder: str, legacy: bool = False) -> Any:
    """The fitted estimator saved in ``folder`` (``legacy``: see :func:`add_legacy_option`)."""
    from graphae.estimator import load

    return load(folder, legacy=legacy)


# CSV is formatted this many rows at a time: a million-row table never becomes one
# list of Python objects.
_BLOCK = 65536


def write_table(path: str | None, header: list[str], rows: list[list[Any]]) -> None:
    """Rows as CSV on stdout, or atomically to a .csv/.tsv/.parquet file."""
    columns = [list(col) for col in zip(*rows, strict=True)] if rows else [[] for _ in header]
    write_columns(path, header, columns)


def write_columns(path: str | None, header: list[str], columns: Sequence[np.ndarray | list[Any]]) -> None:
    """A table given column by column: CSV on stdout, or atomically a .csv/.tsv/.parquet file.

    numpy columns are written without Python code per row: Parquet takes the arrays as
    they are, and CSV goes through the csv module a block of rows at a time
    (``tolist`` and ``writerows(zip(...))`` loop in C), so a value reads as Python
    writes it (``repr`` of a float).

    Args:
        path: The file, or ``None`` for stdout.
        header: Column names.
        columns: One 1-D array (or list) per name, all of one length.

    Raises:
        UserError: If ``path`` has another extension.
        MissingDependencyError: For Parquet without pyarrow.
    """
    if path is None:
        _write_csv(sys.stdout, ",", header, columns)
        return
    check_out_file(path)
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise MissingDependencyError(
                'writing Parquet needs pyarrow: pip install "graphae[parquet]"'
            ) from None
        table = pa.table({name: pa.array(col) for name, col in zip(header, columns, strict=True)})
        atomic_write(path, lambda f: pq.write_table(table, f))
        return
    if suffix not in (".csv", ".tsv", ".txt"):
        raise UserError(f"--out {path}: expected a .csv, .tsv or .parquet file name")
    delimiter = "\t" if suffix == ".tsv" else ","
    atomic_write(path, lambda f: _write_csv(f, delimiter, header, columns), mode="w")


def _write_csv(f: Any, delimiter: str, header: list[str], columns: Sequence[np.ndarray | list[Any]]) -> None:
    writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for start in range(0, len(columns[0]) if columns else 0, _BLOCK):
        block = [_as_list(col[start : start + _BLOCK]) for col in columns]
        writer.writerows(zip(*block, strict=True))


def _as_list(values: np.ndarray | list[Any]) -> list[Any]:
    return values.tolist() if isinstance(values, np.ndarray) else list(values)
