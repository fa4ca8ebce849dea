"""Cora, Citeseer and Pubmed from the Planetoid split files (Yang et al., 2016).

The files ``ind.<name>.{x,y,tx,ty,allx,ally,graph,test.index}`` are the ones the
Variational Graph Auto-Encoders paper used (tkipf/gae, tkipf/gcn). ``allx``/``ally``
hold the features and one-hot labels of the first nodes, ``tx``/``ty`` those of the
test nodes in the order of ``test.index``, and ``graph`` is a ``dict[int, list[int]]``
adjacency list. ``x``/``y`` are the first rows of ``allx``/``ally``: the training
nodes of Planetoid's standard node-classification split (20 per class: 140 on Cora,
120 on Citeseer, 60 on Pubmed), whose test nodes are the 1000 ids of ``test.index``.
Only the row count of ``y`` is read, for :attr:`Graph.label_split
<graphae.graph.Graph.label_split>`; ``x`` is never read.

The pickles come from the internet and pickles are code, so they are read with
:func:`restricted_load`, which admits only the numpy/scipy types these files need.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import tempfile
import urllib.request
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphae.data.safepickle import DamagedPickleError, UnsafePickleError, csr_from_state, restricted_load
from graphae.errors import InputError, InputTypeError, MissingFileError
from graphae.finite import non_finite_entry
from graphae.graph import Graph

__all__ = [
    "DamagedPickleError",
    "PLANETOID_NAMES",
    "PLANETOID_URL",
    "UnsafePickleError",
    "load_planetoid",
    "resolve_root",
    "restricted_load",
]

PLANETOID_NAMES = ("cora", "citeseer", "pubmed")
PLANETOID_URL = "https://github.com/kimiyoung/planetoid/raw/master/data/"

_FEATURE_PARTS = ("allx", "tx")
_STRUCTURE_PARTS = ("ally", "ty", "graph", "test.index")
_SPLIT_PART = "y"  # optional: without it the graph has no label split
_TIMEOUT_S = 60.0

logger = logging.getLogger(__name__)


def resolve_root(root: str | os.PathLike[str] | None) -> Path:
    """The folder that holds (or will hold) the ``ind.<name>.*`` files.

    Args:
        root: That folder itself, used as given (``~`` is expanded). When ``None``:
            ``$GRAPHAE_DATA/planetoid`` if ``GRAPHAE_DATA`` is set, else the per-user
            cache ``$XDG_CACHE_HOME/graphae/planetoid`` (default
            ``~/.cache/graphae/planetoid``).

    Returns:
        The folder as a :class:`pathlib.Path`; it need not exist.
    """
    return data_folder("planetoid", root)


def data_folder(kind: str, root: str | os.PathLike[str] | None) -> Path:
    """``root`` (``~`` expanded), else ``$GRAPHAE_DATA/<kind>``, else ``$XDG_CACHE_HOME/graphae/<kind>``
    (default ``~/.cache/graphae/<kind>``): where the data sets of one source live."""
    if root is not None:
        return Path(root).expanduser()
    data = os.environ.get("GRAPHAE_DATA")
    if data:
        return Path(data).expanduser() / kind
    cache_home = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache_home).expanduser() if cache_home else Path.home() / ".cache"
    return base / "graphae" / kind


def load_planetoid(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    features: bool = True,
    download: bool = False,
) -> Graph:
    """Load Cora, Citeseer or Pubmed as a :class:`~graphae.graph.Graph`.

    Follows ``load_data`` of tkipf/gae and tkipf/gcn: the features are
    ``vstack(allx, tx)`` and the labels ``vstack(ally, ty)``, with test row ``k``
    moved to node ``test.index[k]``. Nodes inside the test id range but missing from
    ``test.index`` (15 Citeseer nodes, which still have edges) get zero features
    and label ``-1``, as the reference code pads them. Duplicate edges and self
    loops in ``graph`` are dropped.

    The graph's ``label_split`` is Planetoid's standard node-classification split:
    training nodes ``range(len(y))`` (the row count of ``ind.<name>.y``: 140 on Cora,
    120 on Citeseer, 60 on Pubmed) and test nodes the sorted ids of ``test.index``
    (1000), as ``idx_train``/``idx_test`` in tkipf/gcn. If ``ind.<name>.y`` is absent
    (and not downloaded) the graph has ``label_split=None`` and a ``UserWarning`` says so.

    Args:
        name: ``"cora"``, ``"citeseer"`` or ``"pubmed"`` (any case).
        root: The folder holding the files; see :func:`resolve_root`.
        features: If ``False``, ``allx``/``tx`` are not read and the graph has
            ``x=None``; the node count and labels come from ``ally``, ``ty`` and
            ``test.index``.
        download: Fetch missing files from the public Planetoid repository
            (``PLANETOID_URL``) into ``root`` first, ``ind.<name>.y`` included.

    Returns:
        A graph named ``name`` (lower case) with float32 CSR features ``[N, F]``
        (or ``None``), int64 labels ``[N]`` (``-1`` for unlabelled nodes) and the
        int64 ``label_split`` ``(train [len(y)], test [len(test.index)])``.

    Raises:
        InputError: If ``name`` is unknown or the files disagree in shape or hold
            out-of-range node ids.
        InputTypeError: If a pickle holds another kind of object than Planetoid's.
        MissingFileError: If a needed file is missing and ``download`` is false.
        OSError: If a download fails.
        pickle.UnpicklingError: If a pickle is corrupt or asks for anything but
            numpy/scipy array types.

    Example:
        >>> graph = load_planetoid("cora")  # doctest: +SKIP
        >>> graph  # doctest: +SKIP
        Graph(name='cora', num_nodes=2708, num_edges=5278, features=1433)
    """
    name = _check_name(name)
    parts = (_FEATURE_PARTS if features else ()) + _STRUCTURE_PARTS
    paths = _ensure_files(name, resolve_root(root), parts, download, optional=(_SPLIT_PART,))

    ally = _read_onehot(paths["ally"])
    ty = _read_onehot(paths["ty"])
    test_idx = _read_test_index(paths["test.index"])
    _check_shape(paths["ty"], ty, len(test_idx), ally.shape[1])
    sources = _row_sources(len(ally), test_idx, paths["test.index"])
    num_nodes = len(sources)

    onehot = np.vstack([ally, ty, np.zeros((1, ally.shape[1]), dtype=ally.dtype)])[sources]
    labels = onehot.argmax(axis=1).astype(np.int64)
    labels[~onehot.any(axis=1)] = -1

    x = None
    if features:
        allx = _read_matrix(paths["allx"])
        tx = _read_matrix(paths["tx"])
        _check_shape(paths["allx"], allx, len(ally), allx.shape[1])
        _check_shape(paths["tx"], tx, len(test_idx), allx.shape[1])
        padding = sp.csr_matrix((1, allx.shape[1]), dtype=np.float32)
        x = sp.vstack([allx, tx, padding], format="csr")[sources]
        x = sp.csr_matrix(x, dtype=np.float32)

    adj = _read_adjacency(paths["graph"], num_nodes)
    label_split = None
    if _SPLIT_PART in paths:
        num_train = _read_num_train(paths[_SPLIT_PART], ally)
        label_split = (np.arange(num_train, dtype=np.int64), np.sort(test_idx))
    else:
        warnings.warn(
            f"{resolve_root(root) / f'ind.{name}.y'} is missing, so the graph has no standard label "
            "split (label_split=None); pass download=True (CLI: --download) to fetch it.",
            UserWarning,
            stacklevel=2,
        )
    return Graph.from_adjacency(adj, x=x, y=labels, name=name, label_split=label_split)


def _read_matrix(path: Path) -> sp.csr_matrix:
    obj = restricted_load(path)
    if isinstance(obj, np.ndarray) and obj.ndim == 2 and obj.dtype.kind in "biuf":
        with np.errstate(over="ignore"):
            mat = sp.csr_matrix(obj, dtype=np.float32)
    elif isinstance(obj, sp.csr_matrix):
        mat = csr_from_state(obj, path)
    else:
        raise InputTypeError(f"{path} must hold a numeric scipy.sparse matrix. Got {_describe(obj)}.")
    bad = non_finite_entry(mat)
    if bad is not None:
        row, col, value = bad
        raise InputError(f"{path} must hold finite features. Got {value} in row {row}, column {col}.")
    return mat


def _read_onehot(path: Path) -> np.ndarray:
    obj = restricted_load(path)
    if not isinstance(obj, np.ndarray) or obj.ndim != 2 or obj.dtype.kind not in "biuf":
        raise InputTypeError(
            f"{path} must hold a 2-D numeric numpy array of one-hot labels. Got {_describe(obj)}."
        )
    if obj.shape[1] == 0 or not np.isfinite(obj).all():
        raise InputError(f"{path} must hold finite one-hot labels, at least one class. Got {_describe(obj)}.")
    return obj


def _read_num_train(path: Path, ally: np.ndarray) -> int:
    """Row count of ``y``: its rows are the first rows of ``ally``, the training nodes."""
    y = _read_onehot(path)
    if not 1 <= y.shape[0] <= ally.shape[0] or y.shape[1] != ally.shape[1]:
        raise InputError(
            f"{path} must have between 1 and {ally.shape[0]} rows (the first rows of ally) and "
            f"{ally.shape[1]} columns. Got shape {y.shape}."
        )
    return int(y.shape[0])


def _read_test_index(path: Path) -> np.ndarray:
    try:
        values = [int(line) for line in path.read_bytes().decode("ascii").split()]
        test_idx = np.asarray(values, dtype=np.int64)
    except (ValueError, OverflowError) as err:  # UnicodeDecodeError is a ValueError
        raise InputError(f"{path} must hold one integer per line (a node id): {err}") from None
    if len(test_idx) == 0 or len(np.unique(test_idx)) != len(test_idx):
        raise InputError(f"{path} must hold distinct node ids, at least one.")
    return test_idx


def _read_adjacency(path: Path, num_nodes: int) -> sp.coo_matrix:
    graph = restricted_load(path)
    if not isinstance(graph, dict):
        raise InputTypeError(f"{path} must hold a dict of adjacency lists. Got {_describe(graph)}.")
    try:
        lengths = np.fromiter(map(len, graph.values()), dtype=np.int64, count=len(graph))
        rows = np.repeat(np.fromiter(graph, dtype=np.int64, count=len(graph)), lengths)
        neighbours = itertools.chain.from_iterable(graph.values())
        cols = np.fromiter(neighbours, dtype=np.int64, count=int(lengths.sum()))
    except (TypeError, ValueError, OverflowError) as err:
        raise InputError(f"{path} must map integer node ids to lists of integer node ids: {err}") from None
    ids = np.concatenate([rows, cols])
    if len(ids) and (ids.min() < 0 or ids.max() >= num_nodes):
        raise InputError(
            f"{path} must hold node ids in [0, {num_nodes}) to match the feature and "
            f"label rows. Got ids in [{ids.min()}, {ids.max()}]."
        )
    data = np.ones(len(rows), dtype=np.float32)
    return sp.coo_matrix((data, (rows, cols)), shape=(num_nodes, num_nodes))


def _row_sources(num_train: int, test_idx: np.ndarray, index_path: Path) -> np.ndarray:
    """Row ``i`` of the result is row ``sources[i]`` of ``vstack(all*, t*, zero_row)``.

    The same result as the reference: pad ``t*`` over ``range(min, max + 1)`` of the
    test ids, then ``rows[test_idx] = rows[sorted(test_idx)]``. Without gaps in the
    test ids (Cora, Pubmed) the padding is empty, as there.
    """
    if test_idx.min() != num_train:
        raise InputError(
            f"{index_path} must start at node {num_train}, the number of rows in "
            f"ally. Got smallest id {test_idx.min()}."
        )
    num_nodes = int(test_idx.max()) + 1
    # Gaps in the test ids become padded nodes (15 on Citeseer); a file with more gaps
    # than test ids is damaged, and would otherwise size arrays by one huge id.
    if num_nodes - num_train > 2 * len(test_idx):
        raise InputError(
            f"{index_path} must list most ids from {num_train} to its largest: it has {len(test_idx)} ids "
            f"up to {num_nodes - 1}, which leaves {num_nodes - num_train - len(test_idx)} gaps."
        )
    sources = np.full(num_nodes, num_train + len(test_idx), dtype=np.int64)
    sources[:num_train] = np.arange(num_train)
    sources[test_idx] = num_train + np.arange(len(test_idx))
    return sources


def _check_shape(path: Path, arr: np.ndarray | sp.csr_matrix, rows: int, cols: int) -> None:
    # Row counts tie the files together: allx/ally, tx/ty/test.index.
    if arr.shape != (rows, cols):
        raise InputError(f"{path} must have shape ({rows}, {cols}). Got {arr.shape}.")


def _describe(obj: Any) -> str:
    shape = getattr(obj, "shape", None)
    dtype = getattr(obj, "dtype", None)
    extra = f" of shape {shape} and dtype {dtype}" if shape is not None else ""
    return type(obj).__name__ + extra


def _check_name(name: Any) -> str:
    if isinstance(name, str) and name.lower() in PLANETOID_NAMES:
        return name.lower()
    allowed = ", ".join(repr(n) for n in PLANETOID_NAMES)
    raise InputError(f"The 'name' parameter of load_planetoid must be one of {allowed}. Got {name!r}.")


# Files and downloads ------------------------------------------------------
def _ensure_files(
    name: str, root: Path, parts: tuple[str, ...], download: bool, optional: tuple[str, ...] = ()
) -> dict[str, Path]:
    """Paths of ``parts`` and of the ``optional`` parts that exist (after any download)."""
    paths = {part: root / f"ind.{name}.{part}" for part in parts + optional}
    missing = [path for path in paths.values() if not path.is_file()]
    if missing and download:
        root.mkdir(parents=True, exist_ok=True)
        for path in missing:
            _download(PLANETOID_URL + path.name, path)
    elif any(paths[part] in missing for part in parts):
        raise MissingFileError(_missing_message(name, root, [paths[p] for p in parts if paths[p] in missing]))
    return {part: path for part, path in paths.items() if part in parts or path.is_file()}


def _missing_message(name: str, root: Path, missing: list[Path]) -> str:
    listed = "; ".join(f"{path} (public copy: {PLANETOID_URL}{path.name})" for path in missing)
    hint = ""
    if all(path.name.endswith((".allx", ".tx")) for path in missing):
        hint = " To load the graph without features, pass features=False."
    return (
        f"Missing Planetoid file(s) for {name!r}: {listed}. Pass download=True "
        f"(CLI: --download) to fetch them, place them in {root} by hand, or use another "
        f"folder: root (CLI: --data-dir) holding ind.{name}.*, or GRAPHAE_DATA holding "
        f"planetoid/ind.{name}.*.{hint}"
    )


def _download(url: str, dest: Path) -> None:
    """Fetch ``url`` to ``dest`` through a temporary file in the same folder."""
    logger.info("Downloading %s to %s", url, dest)
    fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _fetch(url, tmp)
        os.replace(tmp, dest)
    except OSError as err:
        raise OSError(
            f"Could not download {url} to {dest}: {err}. Check the network "
            f"connection or place the file there by hand."
        ) from err
    finally:
        tmp.unlink(missing_ok=True)


def _fetch(url: str, dest: Path) -> None:
    """Write the body of ``url`` to ``dest``; tests replace this function."""
    with (
        urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response,
        dest.open("wb") as out,
    ):
        shutil.copyfileobj(response, out)
