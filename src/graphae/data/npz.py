"""NumPy arrays on disk: GNN-benchmark ``.npz`` graphs (Shchur et al., 2018) and array helpers.

Arrays are always loaded with ``allow_pickle=False``; pickled arrays (such as the
benchmark files' ``attr_names``) are never loaded.
"""

from __future__ import annotations

import os
import warnings
import zipfile
import zlib
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphae.data.text import (
    GraphFileError,
    PathLike,
    as_text,
    check_exists,
    check_id_text,
    object_array,
    stem,
    suffix,
)
from graphae.errors import GraphaeError
from graphae.finite import OVERFLOW_HINT, non_finite_entry
from graphae.graph import Graph
from graphae.weights import check_adjacency_weights

__all__ = ["check_finite_features", "load_npz_graph", "npz_keys", "read_array_features"]

_NPZ_ADJ = ("adj_data", "adj_indices", "adj_indptr", "adj_shape")
_NPZ_ATTR = ("attr_data", "attr_indices", "attr_indptr", "attr_shape")
_SCIPY_NPZ = frozenset({"data", "indices", "indptr", "shape", "format"})
_NPZ_LABELS = ("labels_data", "labels_indices", "labels_indptr", "labels_shape")

Matrix = np.ndarray | sp.csr_matrix
# What reading a truncated or tampered archive member raises (besides ValueError).
_DAMAGED = (OSError, EOFError, zlib.error, zipfile.BadZipFile, KeyError)


def load_npz_graph(path: PathLike, *, directed: bool = False) -> Graph:
    """Load a graph in the GNN-benchmark ``.npz`` layout (Shchur et al., 2018).

    Reads the CSR adjacency ``adj_data``/``adj_indices``/``adj_indptr``/``adj_shape``;
    features from ``attr_data``/``attr_indices``/``attr_indptr``/``attr_shape`` (CSR) or
    ``attr_matrix`` (dense); labels from ``labels`` (one per node, or one-hot rows) or
    ``labels_data``/... (sparse one-hot; a row without a label gives ``-1``); and
    ``node_names`` as ``node_ids`` when it is a plain string or integer array of
    unique names (pickled arrays such as ``attr_names`` are never loaded). Entries
    are binarised and self loops dropped.

    Args:
        path: The ``.npz`` file.
        directed: Keep the direction of the adjacency (``adj[i, j]`` is an edge
            ``i -> j``) and return a directed graph. Otherwise a directed adjacency is
            made undirected with a warning.

    Returns:
        A new :class:`~graphae.graph.Graph` named after the file stem.

    Raises:
        MissingFileError: If ``path`` does not exist.
        GraphFileError: If the file is not an ``.npz``, a needed array is missing or
            inconsistent, or ``adj_data`` holds a negative or NaN weight (the message
            names the file and the key).

    Warns:
        UserWarning: When the adjacency is not symmetric and ``directed`` is false.
    """
    with _open_npz(path) as z:
        keys = set(z.files)
        adj = _npz_csr(z, path, _NPZ_ADJ)
        n = adj.shape[0]
        x: Matrix | None = None
        if "attr_data" in keys:
            with np.errstate(over="ignore"):
                x = _npz_csr(z, path, _NPZ_ATTR).astype(np.float32)
            check_finite_features(x, path, "attr_data")
        elif "attr_matrix" in keys:
            x = _dense_features(_npz_array(z, path, "attr_matrix"), path, key="attr_matrix")
        y = _npz_labels(z, path, keys)
        ids = _npz_node_names(z, path, n) if "node_names" in keys else None
    if adj.shape[0] != adj.shape[1]:
        raise GraphFileError(path, f"'adj_shape' must be square. Got {tuple(adj.shape)}")
    for key, arr in (("attributes", x), ("labels", y)):
        if arr is not None and arr.shape[0] != n:
            raise GraphFileError(path, f"has {arr.shape[0]} rows of {key} for {n} nodes")
    try:
        check_adjacency_weights(adj, "'adj_data'")
    except GraphaeError as err:
        raise GraphFileError(path, str(err)) from None
    pattern = sp.csr_matrix(adj != 0)
    if not directed and (pattern != pattern.T).nnz:
        warnings.warn(
            f"{os.fspath(path)}: the adjacency is directed; it was made undirected.",
            UserWarning,
            stacklevel=2,
        )
    return Graph.from_adjacency(pattern, directed=directed, x=x, y=y, name=stem(path), node_ids=ids)


# Arrays --------------------------------------------------------------------------
def read_array_features(path: PathLike) -> tuple[np.ndarray | None, Matrix]:
    """``(ids or None, float32 features)`` of a ``.npy`` array or an ``.npz`` archive.

    An ``.npy`` holds a dense 2-D array without ids; an ``.npz`` a
    ``scipy.sparse.save_npz`` matrix (no ids) or arrays ``x`` and optionally ``ids``.

    Raises:
        MissingFileError: If ``path`` does not exist.
        GraphFileError: If the array needs pickle, is not 2-D, numeric and finite, or
            the ids do not fit.
    """
    if suffix(path) == ".npy":
        check_exists(path)
        _check_magic(path, ".npy")
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, *_DAMAGED) as err:
            raise GraphFileError(
                path, f"is not a NumPy .npy array, or cannot be loaded without pickle ({_reason(err)})"
            ) from None
        return None, _dense_features(arr, path)
    with _open_npz(path) as z:
        keys = set(z.files)
        if _SCIPY_NPZ <= keys:
            x = _load_sparse(path)
            check_finite_features(x, path)
            return None, x
        if "x" not in keys:
            raise GraphFileError(
                path,
                f"holds arrays {sorted(keys)}; expected a scipy.sparse.save_npz matrix or an array 'x' (and 'ids')",
            )
        x = _dense_features(_npz_array(z, path, "x"), path, key="x")
        ids = _npz_array(z, path, "ids") if "ids" in keys else None
    if ids is not None:
        if ids.ndim != 1 or len(ids) != x.shape[0]:
            raise GraphFileError(
                path, f"'ids' must have one entry per row of 'x' ({x.shape[0]}). Got shape {ids.shape}"
            )
        if ids.dtype.kind in "US":
            ids = object_array([as_text(v) for v in ids.tolist()])
    return ids, x


def _open_npz(path: PathLike) -> Any:
    """The ``.npz`` archive at ``path``, opened without pickle (use it as a context manager).

    Raises:
        MissingFileError: If ``path`` does not exist.
        GraphFileError: If the file is not an ``.npz`` archive.
    """
    check_exists(path)
    _check_magic(path, ".npz")
    try:
        z = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise GraphFileError(path, f"is not a NumPy .npz archive ({_reason(err)})") from None
    if not isinstance(z, np.lib.npyio.NpzFile):  # pragma: no cover - the magic says zip
        raise GraphFileError(path, "is a single .npy array, not an .npz archive")
    return z


# The first bytes of each kind of file, as numpy writes them.
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


def _check_magic(path: PathLike, kind: str) -> None:
    """Refuse a file that is not a ``kind`` (``.npy``/``.npz``) by its first bytes, saying what it is.

    numpy would try to unpickle anything else and advise loading it with
    ``allow_pickle=True`` or ``pickle.load()``: unsafe advice for a file of unknown origin.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as err:
        raise GraphFileError(path, f"cannot be read ({err.strerror})") from None
    is_npy, is_zip = head.startswith(_NPY_MAGIC), head.startswith(_ZIP_MAGIC)
    if (kind == ".npy" and is_npy) or (kind == ".npz" and is_zip):
        return
    if kind == ".npy" and is_zip:
        raise GraphFileError(path, "is an .npz archive, not a .npy array; name it .npz")
    if kind == ".npz" and is_npy:
        raise GraphFileError(path, "is a single .npy array, not an .npz archive; name it .npy")
    what = ".npy array" if kind == ".npy" else ".npz archive"
    raise GraphFileError(path, f"is not a NumPy {what}: it {_looks_like(head)}")


def _looks_like(head: bytes) -> str:
    """What a file starting with ``head`` seems to be, for a message."""
    if not head:
        return "is empty"
    if head[:1] == b"\x80":
        return "is a Python pickle, which graphae never loads (unpickling can run any code)"
    if head[:2] == b"\x1f\x8b":
        return "is gzip-compressed; decompress it"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return f"starts with the bytes {head!r}"
    return "looks like text (a CSV or edge list? give it a .csv, .tsv or .txt name)"


def _reason(err: Exception) -> str:
    """numpy's message, without its advice to load the file with pickle."""
    text = str(err)
    if "allow_pickle" in text or "pickle.load" in text:
        return "it holds Python objects, which graphae never unpickles"
    return text


def npz_keys(path: PathLike) -> set[str]:
    """Names of the arrays in the ``.npz`` archive at ``path``."""
    with _open_npz(path) as z:
        return set(z.files)


def _npz_array(z: Any, path: PathLike, key: str) -> np.ndarray:
    """Array ``key`` of an open archive.

    Raises:
        GraphFileError: If it is absent or needs pickle.
    """
    if key not in z.files:
        raise GraphFileError(path, f"has no {key!r} array")
    try:
        return z[key]
    except ValueError as err:
        if "allow_pickle" not in str(err):
            raise GraphFileError(path, f"array {key!r} is damaged ({err})") from None
        raise GraphFileError(path, f"array {key!r} cannot be loaded without pickle") from None
    except _DAMAGED as err:
        raise GraphFileError(path, f"array {key!r} is damaged ({type(err).__name__}: {err})") from None


def _dense_features(arr: np.ndarray, path: PathLike, key: str | None = None) -> np.ndarray:
    """A 2-D numeric array as contiguous ``float32`` features.

    Args:
        arr: The array read from ``path``.
        path: The file, for error messages.
        key: The array's name inside an archive, for error messages.

    Raises:
        GraphFileError: If ``arr`` is not 2-D, not numeric, or holds a non-finite value.
    """
    what = "the array" if key is None else f"array {key!r}"
    if arr.ndim != 2:
        raise GraphFileError(path, f"{what} must be 2-D (nodes x features). Got shape {arr.shape}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise GraphFileError(path, f"{what} must be numeric. Got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise GraphFileError(
            path, f"{what} must hold real numbers. Got dtype {arr.dtype} (its imaginary parts would be lost)"
        )
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow to inf is reported below
        x = np.ascontiguousarray(arr, dtype=np.float32)
    check_finite_features(x, path, key)
    return x


def check_finite_features(x: Matrix, path: PathLike, key: str | None = None) -> None:
    """Refuse features without columns, or with a NaN or infinite entry, naming its row and column.

    Raises:
        GraphFileError: ``FILE: row R: ... column C ...`` (both 1-based), or ``FILE: ...
            no feature columns``.
    """
    what = "the array" if key is None else f"array {key!r}"
    if x.ndim == 2 and x.shape[1] == 0:
        raise GraphFileError(
            path,
            f"{what} has no feature columns (shape {x.shape}); leave the features out for identity features",
        )
    bad = non_finite_entry(x)
    if bad is not None:
        row, col, value = bad
        hint = OVERFLOW_HINT if np.isinf(value) else ""
        raise GraphFileError(
            path, f"{what} has a non-finite value ({value}) in column {col + 1}{hint}", row + 1, unit="row"
        )


def _load_sparse(path: PathLike) -> sp.csr_matrix:
    """A ``scipy.sparse.save_npz`` matrix as float32 CSR, fully checked.

    Raises:
        GraphFileError: If it cannot be loaded or its index arrays are inconsistent.
    """
    try:
        mat = sp.csr_matrix(sp.load_npz(path))
        mat.check_format(full_check=True)  # scipy trusts index arrays; bad ones crash later
        if np.iscomplexobj(mat.data):
            raise GraphFileError(path, f"the matrix must hold real numbers. Got dtype {mat.dtype}")
        with np.errstate(over="ignore"):
            return sp.csr_matrix(mat, dtype=np.float32)
    except (ValueError, TypeError, *_DAMAGED) as err:
        raise GraphFileError(path, f"is not a readable scipy.sparse matrix ({err})") from None


def _npz_csr(z: Any, path: PathLike, keys: tuple[str, str, str, str]) -> sp.csr_matrix:
    data, indices, indptr, shape = (_npz_array(z, path, k) for k in keys)
    if np.iscomplexobj(data):
        raise GraphFileError(path, f"array {keys[0]!r} must hold real numbers. Got dtype {data.dtype}")
    try:
        mat = sp.csr_matrix((data, indices, indptr), shape=tuple(int(s) for s in shape))
        # A full check: scipy trusts index arrays, and out-of-range indices crash later.
        mat.check_format(full_check=True)
    except (ValueError, TypeError) as err:
        raise GraphFileError(path, f"arrays {', '.join(keys)} do not form a CSR matrix ({err})") from None
    return mat


def _npz_labels(z: Any, path: PathLike, keys: set[str]) -> np.ndarray | None:
    if "labels" in keys:
        labels: Any = _npz_array(z, path, "labels")
    elif "labels_data" in keys:
        labels = _npz_csr(z, path, _NPZ_LABELS)
    else:
        return None
    if sp.issparse(labels) or labels.ndim == 2:
        dense = labels.toarray() if sp.issparse(labels) else labels
        return np.where(dense.any(axis=1), dense.argmax(axis=1), -1).astype(np.int64)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise GraphFileError(
            path, f"'labels' must be integers, one per node. Got {labels.dtype} {labels.shape}"
        )
    return labels.astype(np.int64)


def _npz_node_names(z: Any, path: PathLike, n: int) -> np.ndarray | None:
    """Plain string or integer ``node_names`` of length ``n`` and unique, else ``None``."""
    try:
        names = z["node_names"]
    except ValueError:  # a pickled object array: never unpickled
        return None
    except _DAMAGED as err:
        raise GraphFileError(path, f"array 'node_names' is damaged ({type(err).__name__}: {err})") from None
    if names.ndim != 1 or len(names) != n or names.dtype.kind not in "USiu" or len(np.unique(names)) != n:
        return None
    if names.dtype.kind in "US":
        try:
            check_id_text([as_text(v) for v in names.tolist()], path)
        except GraphFileError:  # unprintable names are left out, as other unusable names are
            return None
    return (
        object_array([as_text(v) for v in names.tolist()])
        if names.dtype.kind in "US"
        else names.astype(np.int64)
    )
