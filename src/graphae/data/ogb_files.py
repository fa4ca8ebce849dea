"""The files of an OGB link-prediction data set: gzipped CSV tables and ``.pt`` split dicts.

Every problem is an :class:`~graphae.errors.InputError` (or
:class:`~graphae.errors.MissingFileError`) of one line that names the file.
"""

from __future__ import annotations

import gzip
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from graphae.data.torchfile import read_torch_arrays
from graphae.errors import InputError, MissingFileError

__all__ = ["SplitPart", "read_csv_gz", "read_split_part"]


def read_csv_gz(path: Path, dtype: type, *, hint: str = "") -> np.ndarray:
    """A gzipped CSV table of numbers, ``[rows, columns]``.

    Raises:
        MissingFileError: If ``path`` does not exist (``hint`` says how to get it).
        InputError: If it is not gzip, or a cell is not a number of ``dtype``.
    """
    if not path.is_file():
        raise MissingFileError(f"{path}: no such file{hint}")
    try:
        with gzip.open(path, "rt") as text, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # numpy's "empty input file"
            table = np.loadtxt(text, delimiter=",", dtype=dtype, ndmin=2)
    except (OSError, EOFError, zlib.error) as err:
        raise InputError(f"{path}: is truncated or not a readable gzip file ({err})") from None
    except ValueError as err:
        raise InputError(f"{path}: {err}") from None
    return table


class SplitPart:
    """One of ``train.pt``, ``valid.pt``, ``test.pt``: positive pairs, negatives, collab's extras.

    Attributes:
        pos: ``[2, P]`` node indices.
        neg: ``[2, M]``, or ``None`` when the file holds none (``train.pt``); per-source
            negatives (``target_node_neg [P, K]``) come positive by positive, ``M = P * K``.
        per_source: Whether ``neg`` holds ``K`` negatives per positive.
        weight, year: ``[P]`` where the file has them (ogbl-collab), else ``None``.
    """

    def __init__(
        self, pos: np.ndarray, neg: np.ndarray | None, per_source: bool, extra: dict[str, Any]
    ) -> None:
        self.pos, self.neg, self.per_source = pos, neg, per_source
        self.weight, self.year = extra.get("weight"), extra.get("year")


def read_split_part(path: Path, num_nodes: int) -> SplitPart:
    """Read an OGB split file: ``{"edge", "edge_neg"}`` or citation2's ``{"source_node", ...}``.

    Raises:
        MissingFileError: If ``path`` does not exist.
        InputError: If it is damaged, holds anything but numpy arrays (nothing of it is
            run), lacks the expected keys, or holds node indices outside ``[0, num_nodes)``.
    """
    if not path.is_file():
        raise MissingFileError(f"{path}: no such file (OGB's split of this data set; see --download)")
    obj = read_torch_arrays(path)
    if not isinstance(obj, dict):
        raise InputError(f"{path}: expected a dict of arrays (OGB's split), got {type(obj).__name__}.")
    if "edge" in obj:
        pos = _array(obj, "edge", path, num_nodes, ndim=2, width=2).T
        neg = _array(obj, "edge_neg", path, num_nodes, ndim=2, width=2).T if "edge_neg" in obj else None
        per_source = False
    elif "source_node" in obj and "target_node" in obj:
        src = _array(obj, "source_node", path, num_nodes, ndim=1)
        dst = _array(obj, "target_node", path, num_nodes, ndim=1)
        if len(src) != len(dst):
            raise InputError(
                f"{path}: 'source_node' and 'target_node' differ in length ({len(src)}, {len(dst)})."
            )
        pos, neg, per_source = np.stack([src, dst]), None, True
        if "target_node_neg" in obj:
            targets = _array(obj, "target_node_neg", path, num_nodes, ndim=2)
            if targets.shape[0] != len(src):
                raise InputError(
                    f"{path}: 'target_node_neg' must have one row per source node ({len(src)}). "
                    f"Got {targets.shape[0]}."
                )
            neg = np.stack([np.repeat(src, targets.shape[1]), targets.ravel()])
    else:
        raise InputError(
            f"{path}: expected the keys 'edge' (and 'edge_neg') or 'source_node' and 'target_node'. "
            f"Got {sorted(map(str, obj))}."
        )
    extra = {key: _values(obj, key, path, pos.shape[1]) for key in ("weight", "year") if key in obj}
    return SplitPart(
        np.ascontiguousarray(pos), None if neg is None else np.ascontiguousarray(neg), per_source, extra
    )


def _array(
    obj: dict, key: str, path: Path, num_nodes: int, *, ndim: int, width: int | None = None
) -> np.ndarray:
    arr = obj[key]
    shape = f"[k, {width}]" if width else ("[k]" if ndim == 1 else "[k, K]")
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iu" or arr.ndim != ndim:
        got = (
            f"{arr.dtype} array of shape {list(arr.shape)}"
            if isinstance(arr, np.ndarray)
            else type(arr).__name__
        )
        raise InputError(f"{path}: {key!r} must be an integer array {shape}. Got {got}.")
    if width is not None and arr.shape[1] != width:
        raise InputError(f"{path}: {key!r} must be an integer array {shape}. Got shape {list(arr.shape)}.")
    if arr.size:
        low, high = arr.min(), arr.max()
        if low < 0 or high >= num_nodes:
            bad = low if low < 0 else high
            raise InputError(
                f"{path}: {key!r} holds node index {int(bad)}, outside [0, {num_nodes}) "
                f"(the graph has {num_nodes} nodes)."
            )
    return arr.astype(np.int64, copy=False)


def _values(obj: dict, key: str, path: Path, count: int) -> np.ndarray:
    arr = obj[key]
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "iuf" or arr.size != count:
        raise InputError(f"{path}: {key!r} must be a numeric array with one value per edge ({count}).")
    return arr.ravel()
