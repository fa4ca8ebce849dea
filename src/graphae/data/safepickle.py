"""Unpickling files from the internet without running their code: :func:`restricted_load`.

Pickles are programs: loading one may call any function it names. The Planetoid files
(:mod:`graphae.data.planetoid`) are pickles of numpy arrays, scipy CSR matrices and a
dict of lists, so the unpickler here resolves only those types from its own table and
refuses every other name before anything is imported or called. What it returns is
still untrusted data: :func:`csr_from_state` rebuilds a CSR matrix from its arrays
rather than trusting the object's own attributes and methods.
"""

from __future__ import annotations

import os
import pickle
from collections import defaultdict
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphae.errors import InputError

__all__ = [
    "DamagedPickleError",
    "UnsafePickleError",
    "allowed_globals",
    "csr_from_state",
    "restricted_load",
    "restricted_unpickle",
]


class UnsafePickleError(pickle.UnpicklingError, InputError):
    """A pickle asked for a global outside the numpy/scipy allow-list.

    Both a :class:`pickle.UnpicklingError` and an :class:`~graphae.errors.InputError`.
    """


class DamagedPickleError(pickle.UnpicklingError, InputError):
    """A file that is not a readable pickle (truncated or damaged)."""


def restricted_load(path: str | os.PathLike[str]) -> Any:
    """Unpickle a Planetoid file, admitting only numpy/scipy array types.

    Python 2 pickles are decoded with ``encoding="latin1"``. Admitted globals:
    ``numpy.ndarray``, ``numpy.dtype``, numpy's ``_reconstruct``/``_frombuffer``,
    ``scipy.sparse.csr_matrix`` (under its old and new module paths), and
    ``collections.defaultdict``/``list`` for the ``graph`` dict.

    Args:
        path: The pickle file.

    Returns:
        The unpickled object.

    Raises:
        UnsafePickleError: (a :class:`pickle.UnpicklingError` and an
            :class:`~graphae.errors.InputError`) if the pickle asks for any other
            global; nothing it asks for is imported or called.
        DamagedPickleError: (also a :class:`pickle.UnpicklingError`) if the file is not
            a readable pickle.
        FileNotFoundError: If ``path`` does not exist.
    """
    path = Path(path)
    with path.open("rb") as file:
        return restricted_unpickle(file, path)


def restricted_unpickle(file: Any, path: Path, allowed: dict[tuple[str, str], Any] | None = None) -> Any:
    """The next pickle of an open binary ``file``, admitting only the globals of ``allowed``.

    ``allowed`` maps ``(module, name)`` to the object to use (default: the numpy/scipy
    table of :func:`restricted_load`). ``path`` names the file in errors.

    Raises:
        UnsafePickleError: If the pickle asks for any other global or a persistent id.
        DamagedPickleError: If it is not a readable pickle.
    """
    unpickler = _RestrictedUnpickler(file, path, _allowed_globals() if allowed is None else allowed)
    try:
        return unpickler.load()
    except UnsafePickleError:
        raise
    except Exception as err:
        raise DamagedPickleError(f"Could not unpickle {path}: {type(err).__name__}: {err}") from err


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: Any, path: Path, allowed: dict[tuple[str, str], Any]) -> None:
        super().__init__(file, encoding="latin1")
        self._path, self._allowed = path, allowed

    def persistent_load(self, pid: Any) -> Any:
        # Torch files name their tensors' storages so; arrays need none.
        raise UnsafePickleError(
            f"Refusing to load {self._path}: it holds torch tensors (persistent storage ids), "
            "not numpy arrays."
        )

    def find_class(self, module: str, name: str) -> Any:
        # Resolve from our own table rather than importing ``module``: the old
        # paths (numpy.core, scipy.sparse.csr) are deprecated or gone.
        found = self._allowed.get((module, name))
        if found is None:
            raise UnsafePickleError(
                f"Refusing to load {self._path}: it asks for {module}.{name}, "
                "which is not a numpy/scipy array type."
            )
        return found


def allowed_globals() -> dict[tuple[str, str], Any]:
    """A copy of the numpy/scipy allow-list of :func:`restricted_load`, to extend."""
    return dict(_allowed_globals())


@cache
def _allowed_globals() -> dict[tuple[str, str], Any]:
    try:
        from numpy._core import multiarray, numeric  # numpy >= 1.26
    except ImportError:  # pragma: no cover - older numpy
        from numpy.core import multiarray, numeric
    table: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("collections", "defaultdict"): defaultdict,
        ("__builtin__", "list"): list,  # Python 2 name
        ("builtins", "list"): list,
    }
    for core in ("numpy.core", "numpy._core"):
        table[(f"{core}.multiarray", "_reconstruct")] = multiarray._reconstruct
        table[(f"{core}.numeric", "_frombuffer")] = numeric._frombuffer  # protocol 5
    for module in ("scipy.sparse", "scipy.sparse.csr", "scipy.sparse._csr"):
        table[(module, "csr_matrix")] = sp.csr_matrix
    return table


def csr_from_state(obj: Any, path: Path) -> sp.csr_matrix:
    """A fresh, fully checked float32 CSR matrix from an unpickled sparse matrix's arrays.

    An unpickled object's instance dict is whatever the file wrote: it may replace
    methods (``check_format``) or claim sorted indices. Only its ``data``,
    ``indices``, ``indptr`` and shape are read, as plain arrays, and checked anew.

    Raises:
        InputError: If they are missing, of the wrong kind, or do not form a CSR matrix.
    """
    state = vars(obj)
    data, indices, indptr = (state.get(k) for k in ("data", "indices", "indptr"))
    shape = state.get("_shape", state.get("shape"))
    kinds = {"data": (data, "biuf"), "indices": (indices, "iu"), "indptr": (indptr, "iu")}
    for key, (arr, allowed) in kinds.items():
        if not isinstance(arr, np.ndarray) or arr.ndim != 1 or arr.dtype.kind not in allowed:
            raise InputError(
                f"{path} holds a malformed sparse matrix: its {key!r} is not a 1-D numeric array."
            )
    if not (
        isinstance(shape, tuple)
        and len(shape) == 2
        and all(isinstance(v, int | np.integer) and v >= 0 for v in shape)
    ):
        raise InputError(f"{path} holds a malformed sparse matrix: its shape is {shape!r}.")
    try:
        mat = sp.csr_matrix((data, indices, indptr), shape=(int(shape[0]), int(shape[1])))
        # A full check: scipy trusts index arrays, and out-of-range indices crash later.
        mat.check_format(full_check=True)
        with np.errstate(over="ignore"):  # an overflow to inf is reported by the caller
            return sp.csr_matrix(mat, dtype=np.float32)
    except (ValueError, TypeError, OverflowError) as err:
        raise InputError(f"{path} holds a malformed sparse matrix: {err}") from None
