"""Reading the files of a model folder safely: checksums, node ids, arrays, weights.

Every reader checks what it reads against the file itself (sizes before allocating) and
against the other files (counts), and names the file in its errors. Nothing here runs
code from a file: weights are read with ``torch.load(weights_only=True)``, arrays with
``allow_pickle=False``.
"""

from __future__ import annotations

import hashlib
import json
import math
import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from graphae.errors import InputError, MissingFileError
from graphae.io import read_npy, read_npz, sha256
from graphae.sizing import physical_memory


def node_id_type(node_ids: np.ndarray) -> str:
    """``"int"``, ``"float"`` or ``"str"``: how ``node_ids.txt`` is read back."""
    if np.issubdtype(node_ids.dtype, np.integer):
        return "int"
    if np.issubdtype(node_ids.dtype, np.floating):
        return "float"
    if node_ids.dtype == object and len(node_ids):
        kinds = {type(v) for v in node_ids.tolist()}
        if kinds <= {int} or kinds <= {int, np.integer}:
            return "int"
        if kinds <= {float}:
            return "float"
    return "str"


def node_id_lines(node_ids: np.ndarray) -> list[str]:
    """The lines of ``node_ids.txt``: ids that read back as themselves, checked before training.

    Integer ids are written in decimal, float ids as Python's shortest round-trip
    ``repr`` (``0.1``, ``1e+20``), every other id as ``str(id)``.

    Raises:
        InputError: If an id contains a line break, a float id is NaN, or two ids are
            equal once saved (``1`` and ``"1"``, ``0.0`` and ``-0.0``).
    """
    kind = node_id_type(node_ids)
    values = node_ids.tolist()
    if kind == "float":
        bad = next((v for v in values if math.isnan(v)), None)
        if bad is not None:
            raise InputError(
                "Node id nan is not a valid id: NaN is not equal to itself, so it cannot be found."
            )
        texts = [repr(float(v)) for v in values]
    else:
        texts = [str(int(v)) if kind == "int" else str(v) for v in values]
        bad = next((t for t in texts if "\n" in t or "\r" in t), None)
        if bad is not None:
            raise InputError(
                f"Node id {bad!r} contains a line break; node ids are saved one per line "
                "(node_ids.txt), so they must not contain one."
            )
    _check_unique([float(v) for v in values] if kind == "float" else texts, "Node ids")
    return texts


def _check_unique(values: list[Any], where: str) -> None:
    seen: dict[Any, int] = {}
    for i, value in enumerate(values):
        if value in seen:
            raise InputError(
                f"{where}: the id {value!r} appears twice (positions {seen[value] + 1} and {i + 1}); "
                "node ids must be unique."
            )
        seen[value] = i


def verify(folder: Path, name: str, files: dict[str, Any] | None) -> None:
    """Check ``folder/name`` against the size and SHA-256 recorded in ``files`` (``None``: not recorded).

    Raises:
        InputError: If the file's size or checksum differs, or ``files`` records none for it.
    """
    path = folder / name
    if files is None or not path.is_file():
        return
    entry = files.get(name)
    if entry is None:
        raise InputError(
            f"{path}: metadata.json records no checksum for this file; the folder was changed after it "
            "was saved. Save the model again."
        )
    size = path.stat().st_size
    if size != entry["bytes"]:
        found = f"{size} bytes; metadata.json records {entry['bytes']}"
    elif sha256(path) != entry["sha256"]:
        found = "its SHA-256 differs from the one metadata.json records"
    else:
        return
    raise InputError(
        f"{path}: the file is damaged or was changed since it was saved ({found}). Save the model again."
    )


_REBUILD = "graphae.load(DIR).save(NEW_DIR) builds the index anew"


@dataclass(frozen=True)
class IndexFile:
    """A model folder's ``index.faiss`` and the size and SHA-256 its ``metadata.json`` recorded.

    Recorded when the model is loaded and read only when ``recommend`` needs the index.
    ``record`` is ``metadata.json``'s ``index`` (its search width and calibration, see
    :meth:`graphae.topk.InnerProductIndex.record`; ``None`` in folders saved before it).
    """

    path: Path
    entry: dict[str, Any]
    record: dict[str, Any] | None = None

    def read(self) -> bytes:
        """The file's bytes, checked against the recorded size and SHA-256 (the bytes read).

        Raises:
            MissingFileError: If the file is gone.
            InputError: If it differs from what was saved.
        """
        if not self.path.is_file():
            raise MissingFileError(
                f"{self.path} not found, though metadata.json lists it; restore it, recommend with "
                f"exact=True (--exact), or save the model into a new folder ({_REBUILD})."
            )
        data = self.path.read_bytes()
        if len(data) != self.entry["bytes"]:
            found = f"{len(data)} bytes; metadata.json records {self.entry['bytes']}"
        elif hashlib.sha256(data).hexdigest() != self.entry["sha256"]:
            found = "its SHA-256 differs from the one metadata.json records"
        else:
            return data
        raise InputError(
            f"{self.path}: the file is damaged or was changed since it was saved ({found}); recommend with "
            f"exact=True (--exact), or save the model into a new folder ({_REBUILD})."
        )


def read_json(path: Path) -> Any:
    """A JSON file; errors name the file."""
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else str(err)
        raise InputError(f"{path}: not valid JSON ({reason}).") from None


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A state dict saved with ``torch.save``, loaded with ``weights_only=True`` (no code runs).

    Raises:
        InputError: If the file is damaged or holds anything but tensors. The message
            never repeats torch's advice to load with ``weights_only=False``: that runs
            code from the file.
    """
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    # Any exception here comes from parsing the file's bytes (torch's readers raise struct.error,
    # KeyError, RuntimeError, ... on damaged input): the file is at fault, not graphae.
    except Exception as err:
        raise InputError(f"{path}: not a readable weights file: {_torch_reason(err)}.") from None
    if not isinstance(state, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()
    ):
        raise InputError(f"{path}: expected a dict of tensors (a state dict); the file holds something else.")
    return state


def _torch_reason(err: BaseException) -> str:
    """Why torch refused a weights file, without torch's advice to load it unsafely."""
    text = str(err)
    found = re.search(r"GLOBAL ([\w.]+)", text)
    if found:
        return f"it refers to the Python object {found.group(1)}, and graphae never runs code from a file"
    if isinstance(err, pickle.UnpicklingError) or "weights_only" in text:
        return "it holds something other than tensors"
    first = (text.splitlines() or [type(err).__name__])[0]
    return f"it is damaged ({first[:160]})"


def read_node_ids(path: Path, kind: str) -> np.ndarray:
    """``node_ids.txt``: one id per line, parsed as ``kind``; ids must be unique.

    Raises:
        InputError: If the file is not UTF-8, an id does not parse, or an id repeats.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text ({err}).") from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]  # written on Windows
    if kind == "str":
        ids = np.empty(len(lines), dtype=object)
        ids[:] = lines
        values = lines
    else:
        parse = int if kind == "int" else float
        for number, line in enumerate(lines, start=1):
            try:
                value = parse(line)
            except ValueError:
                raise InputError(
                    f"{path}:{number}: expected {kind} node ids, one per line; got {line[:80]!r}."
                ) from None
            if kind == "float" and math.isnan(value):
                raise InputError(f"{path}:{number}: node id nan is not a valid id.")
        try:
            ids = np.array([parse(v) for v in lines], dtype=np.int64 if kind == "int" else np.float64)
        except OverflowError:
            raise InputError(f"{path}: a node id does not fit a 64-bit integer.") from None
        values = ids.tolist()
    _check_unique(values, str(path))
    return ids


def read_adjacency(path: Path, n: int) -> sp.csr_matrix:
    """An ``[n, n]`` sparse matrix saved with ``scipy.sparse.save_npz``, checked before it is built.

    Raises:
        InputError: If the archive is damaged, larger than an ``[n, n]`` matrix can be, or
            not a valid ``[n, n]`` sparse matrix.
    """
    return _read_sparse(path, n, n)


def read_features(path: Path, n: int, channels: int) -> np.ndarray | sp.csr_matrix:
    """A model's ``[n, channels]`` node features: ``.npy`` (dense) or ``.npz`` (sparse), checked.

    Raises:
        InputError: If the file is damaged, of another shape, or holds non-finite values.
    """
    if path.suffix == ".npz":
        return _read_sparse(path, n, channels)
    x = read_npy(path)
    if x.shape != (n, channels) or x.dtype != np.float32:
        raise InputError(
            f"{path}: expected float32 features of shape ({n}, {channels}), one row per node id; got an "
            f"array of shape {x.shape} and type {x.dtype}. Save the model again."
        )
    if not np.isfinite(x).all():
        raise InputError(f"{path}: holds NaN or infinite values; save the model again.")
    return x


def _read_sparse(path: Path, n: int, m: int) -> sp.csr_matrix:
    # indptr, indices and data (64-bit at most) of at most n*m entries, plus small headers.
    limit = 8 * (n + 1) + 16 * n * m + 4096
    memory = physical_memory()
    read_npz(path, max_bytes=limit if memory is None else min(limit, memory))
    try:
        matrix = sp.load_npz(path)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, TypeError, IndexError) as err:
        raise InputError(f"{path}: not a readable sparse matrix ({err}).") from None
    if matrix.shape != (n, m):
        raise InputError(
            f"{path}: a {matrix.shape[0]} x {matrix.shape[1]} matrix, but node_ids.txt has {n} ids"
            f"{'' if n == m else f' and the model {m} input channels'}; save the model again."
        )
    matrix = matrix.tocsr()
    try:
        matrix.check_format(full_check=True)
    except (ValueError, TypeError) as err:
        raise InputError(f"{path}: not a valid sparse matrix ({err}).") from None
    if matrix.dtype.kind not in "biuf" or not np.isfinite(matrix.data).all():
        raise InputError(f"{path}: expected finite numbers; got {matrix.dtype} values that are not.")
    return matrix


def read_embedding(path: Path, n: int) -> np.ndarray:
    embedding = read_npy(path)
    if embedding.ndim != 2 or embedding.shape[0] != n or embedding.dtype.kind != "f":
        raise InputError(
            f"{path}: expected one row of floats per node id ({n} rows); got an array of shape "
            f"{embedding.shape} and type {embedding.dtype}. Save the model again."
        )
    if not np.isfinite(embedding).all():
        raise InputError(f"{path}: holds NaN or infinite values; train the model again.")
    return embedding
