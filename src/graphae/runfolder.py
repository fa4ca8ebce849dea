"""The run folder: the one module that names every file graphae writes into a folder.

A *model folder* (``estimator.save(DIR)``) holds a fitted estimator; a *run folder*
(``graphae train --out DIR``) is a model folder plus the run's scores and, with
``--report``, its figures:

=====================  =========================================================
``metadata.json``      model name, parameters, graph (ids, size, direction), version
``model.pt``           weights: tensors only, read with ``torch.load(weights_only=True)``
``embeddings.npy``     ``mu`` of the fitted model, one row per node
``node_ids.txt``       the node ids, one per line, in row order
``adjacency.npz``      the graph's adjacency (what ``recommend`` leaves out)
``history.json``       per-epoch training loss and validation scores
``metrics.json``       run folder: test scores of every run, options, timings
``test_scores.npz``    run folder: probabilities of the first run's test pairs
``split.npz``          run folder: the first run's test pairs, ranking negatives and probe split
``labels.npy``         run folder: node labels, when the graph has them
``report.html``        with ``--report``: the report and its PNG figures
``checkpoint/``        while a run with ``--checkpoint-every`` is unfinished
=====================  =========================================================

``metrics.json``, ``embeddings.npy``, ``node_ids.txt`` and ``history.json`` are
documented for users and keep their names and meaning.

A non-learned model (a heuristic, ``metadata.json`` says ``"learned": false``) has no
``model.pt`` and ``embeddings.npy``; ``fitted_adjacency.npz`` holds the graph it scores
on (the training edges of a run), while ``adjacency.npz`` holds the whole graph.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from graphae.errors import InputError, MissingFileError
from graphae.io import atomic_write, write_json, write_npy, write_text

METADATA = "metadata.json"
WEIGHTS = "model.pt"
EMBEDDINGS = "embeddings.npy"
NODE_IDS = "node_ids.txt"
ADJACENCY = "adjacency.npz"
FITTED_ADJACENCY = "fitted_adjacency.npz"  # non-learned models: instead of WEIGHTS and EMBEDDINGS
HISTORY = "history.json"
METRICS = "metrics.json"
TEST_SCORES = "test_scores.npz"
SPLIT = "split.npz"
LABELS = "labels.npy"
REPORT = "report.html"
FIGURE_HISTORY = "training.png"
FIGURE_ROC_PR = "roc_pr.png"
FIGURE_EMBEDDING = "embedding.png"
FIGURES = (FIGURE_HISTORY, FIGURE_ROC_PR, FIGURE_EMBEDDING)
CHECKPOINT_DIR = "checkpoint"

# Written by graphae 0.1 (before metadata.json): still read, never written.
LEGACY_ESTIMATOR = "estimator.json"
LEGACY_CONFIG = "model.json"

MODEL_FILES = (METADATA, WEIGHTS, EMBEDDINGS, NODE_IDS, ADJACENCY, HISTORY)
RUN_FILES = (*MODEL_FILES, METRICS, TEST_SCORES, SPLIT, LABELS)
REPORT_FILES = (REPORT, *FIGURES)
# Every name graphae may have written into a folder: what --overwrite replaces.
ALL_FILES = (*RUN_FILES, FITTED_ADJACENCY, *REPORT_FILES, LEGACY_ESTIMATOR, LEGACY_CONFIG)

FORMAT = "graphae-model"
FORMAT_VERSION = 2  # 1 was graphae 0.1's estimator.json + model.json


@dataclass
class SavedModel:
    """The contents of a model folder, as plain data.

    Attributes:
        metadata: ``model`` (registry name), ``learned`` (absent: true), ``params``
            (estimator parameters), ``graph`` (``name``, ``num_nodes``, ``num_edges``,
            ``directed``, ``node_id_type``), ``fit`` (``in_channels``,
            ``features_used``, ``best_epoch`` when learned; ``train_seconds``) and
            ``graphae_version``.
        weights: The torch module's state dict (``None`` when not learned).
        embedding: ``[N, d]`` float32 (``None`` when not learned).
        adjacency: ``[N, N]`` CSR.
        node_ids: ``[N]`` ids (int64 or str objects).
        history: Per-epoch records.
        fitted_adjacency: ``[N, N]`` CSR a non-learned model scores on (else ``None``).
    """

    metadata: dict[str, Any]
    weights: dict[str, torch.Tensor] | None
    embedding: np.ndarray | None
    adjacency: sp.csr_matrix
    node_ids: np.ndarray
    history: list[dict[str, Any]] = field(default_factory=list)
    fitted_adjacency: sp.csr_matrix | None = None

    @property
    def learned(self) -> bool:
        return bool(self.metadata.get("learned", True))


def write_model(folder: str | os.PathLike, saved: SavedModel) -> None:
    """Write a model folder; every file is written atomically.

    Raises:
        InputError: If a node id contains a line break (``node_ids.txt`` has one id per line).
    """
    folder = Path(folder)
    texts = [str(v) for v in saved.node_ids.tolist()]
    bad = next((t for t in texts if "\n" in t or "\r" in t), None)
    if bad is not None:
        raise InputError(f"Node id {bad!r} contains a line break and cannot be saved.")
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, **saved.metadata}
    if saved.learned:
        weights = {k: v.detach().cpu() for k, v in saved.weights.items()}
        atomic_write(folder / WEIGHTS, lambda f: torch.save(weights, f))
        write_npy(folder / EMBEDDINGS, saved.embedding)
    else:
        atomic_write(folder / FITTED_ADJACENCY, lambda f: sp.save_npz(f, saved.fitted_adjacency))
    # A model of the other kind saved here before must not leave its files behind.
    for name in (FITTED_ADJACENCY,) if saved.learned else (WEIGHTS, EMBEDDINGS):
        (folder / name).unlink(missing_ok=True)
    atomic_write(folder / ADJACENCY, lambda f: sp.save_npz(f, saved.adjacency))
    write_text(folder / NODE_IDS, "".join(f"{t}\n" for t in texts))
    write_json(folder / HISTORY, saved.history)
    write_json(folder / METADATA, metadata)  # last: its presence marks a complete folder


def read_model(folder: str | os.PathLike) -> SavedModel:
    """Read a model folder written by :func:`write_model` (or by graphae 0.1), running no code.

    Raises:
        MissingFileError: If the folder or one of its files is missing.
        InputError: If a file is damaged or the parts do not fit together.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"{folder}: no such folder; expected a model folder saved by graphae.")
    if (folder / METADATA).is_file():
        metadata = read_json(folder / METADATA)
        _check_metadata(folder / METADATA, metadata)
        history = read_json(folder / HISTORY) if (folder / HISTORY).is_file() else []
    elif (folder / LEGACY_ESTIMATOR).is_file():
        metadata, history = _legacy_metadata(folder)
    else:
        raise MissingFileError(
            f"{folder / METADATA} not found: is {folder} a model folder saved by graphae "
            "(`graphae train --out`, `estimator.save`)?"
        )
    learned = bool(metadata.get("learned", True))
    parts = (WEIGHTS, EMBEDDINGS) if learned else (FITTED_ADJACENCY,)
    for name in (*parts, ADJACENCY, NODE_IDS):
        if not (folder / name).is_file():
            raise MissingFileError(f"{folder / name} not found: the model folder {folder} is incomplete.")
    adjacency = _read_adjacency(folder / ADJACENCY)
    node_ids = _read_node_ids(folder / NODE_IDS, metadata["graph"]["node_id_type"])
    n = len(node_ids)
    if not learned:
        fitted = _read_adjacency(folder / FITTED_ADJACENCY)
        if adjacency.shape != (n, n) or fitted.shape != (n, n):
            raise InputError(
                f"{folder}: the parts of this model folder do not fit together ({n} node ids, adjacency "
                f"{adjacency.shape}, fitted adjacency {fitted.shape}); save the model again."
            )
        return SavedModel(metadata, None, None, adjacency, node_ids, history, fitted_adjacency=fitted)
    embedding = _read_array(folder / EMBEDDINGS)
    if embedding.ndim != 2 or embedding.shape[0] != n or adjacency.shape != (n, n):
        raise InputError(
            f"{folder}: the parts of this model folder do not fit together ({n} node ids, embedding "
            f"{embedding.shape}, adjacency {adjacency.shape}); save the model again."
        )
    return SavedModel(metadata, read_weights(folder / WEIGHTS), embedding, adjacency, node_ids, history)


def read_json(path: Path) -> Any:
    """A JSON file; errors name the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not valid JSON ({err}).") from None


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A state dict saved with ``torch.save``, loaded with ``weights_only=True`` (no code runs)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        reason = (str(err).splitlines() or [type(err).__name__])[0]
        raise InputError(
            f"{path}: not a readable weights file; it holds something other than tensors, or is damaged "
            f"({reason[:160]})."
        ) from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise InputError(f"{path}: expected a dict of tensors.")
    return state


def _check_metadata(path: Path, metadata: Any) -> None:
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise InputError(f"{path}: not a graphae model metadata file.")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"{path}: written in format {metadata.get('format_version')!r}, this graphae reads "
            f"format {FORMAT_VERSION}; upgrade graphae or train the model again."
        )
    for key, kind in (("model", str), ("params", dict), ("graph", dict), ("fit", dict)):
        if not isinstance(metadata.get(key), kind):
            raise InputError(f"{path}: '{key}' is missing or not a {kind.__name__}.")
    for key in ("node_id_type", "directed"):
        if key not in metadata["graph"]:
            raise InputError(f"{path}: 'graph.{key}' is missing.")
    for key in ("in_channels", "features_used") if metadata.get("learned", True) else ():
        if key not in metadata["fit"]:
            raise InputError(f"{path}: 'fit.{key}' is missing.")


def _legacy_metadata(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """metadata.json's content from graphae 0.1's ``estimator.json``."""
    path = folder / LEGACY_ESTIMATOR
    state = read_json(path)
    try:
        metadata = {
            "model": {"GAE": "gae", "VGAE": "vgae"}[state["estimator"]],
            "params": dict(state["params"]),
            "graph": {
                "name": state.get("name", "graph"),
                "directed": False,
                "node_id_type": state["node_id_dtype"],
            },
            "fit": {
                "in_channels": int(state["in_channels"]),
                "features_used": bool(state["features_used"]),
                "best_epoch": state.get("best_epoch", 0),
                "train_seconds": state.get("train_seconds", 0.0),
            },
            "graphae_version": "0.1.0",
        }
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(
            f"{path}: an incomplete model file of graphae 0.1 (lacks {err}); train the model again."
        ) from None
    return metadata, state.get("history", [])


def _read_array(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"{path}: not a readable .npy array ({err}).") from None


def _read_adjacency(path: Path) -> sp.csr_matrix:
    try:
        return sp.load_npz(path).tocsr()
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as err:
        raise InputError(f"{path}: not a readable sparse matrix ({err}).") from None


def _read_node_ids(path: Path, kind: str) -> np.ndarray:
    lines = path.read_text(encoding="utf-8").splitlines()
    if kind == "int":
        try:
            return np.array([int(v) for v in lines], dtype=np.int64)
        except ValueError as err:
            raise InputError(f"{path}: expected one integer node id per line ({err}).") from None
    ids = np.empty(len(lines), dtype=object)
    ids[:] = lines
    return ids


def node_id_type(node_ids: np.ndarray) -> str:
    """``"int"`` or ``"str"``: how ``node_ids.txt`` is read back."""
    return "int" if np.issubdtype(node_ids.dtype, np.integer) else "str"


# Publishing outputs -------------------------------------------------------------
def publish(out: Path, write: Callable[[Path], None]) -> None:
    """Write a run's files through ``write(staging)``, then move them into ``out`` together.

    Files graphae wrote into ``out`` earlier (:data:`ALL_FILES`) that this run does not
    write are removed, so the folder never mixes two runs. If a move fails, the old
    files are put back. Other files in ``out`` are left alone.
    """
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".staging-"))
    try:
        write(staging)
        _move_all(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_all(staging: Path, out: Path) -> None:
    backup = Path(tempfile.mkdtemp(dir=out, prefix=".backup-"))
    new = {item.name for item in staging.iterdir()}
    stale = [name for name in ALL_FILES if name not in new and (out / name).is_file()]
    moved: list[Path] = []
    parked: list[str] = []
    try:
        for name in stale:
            os.replace(out / name, backup / name)
            parked.append(name)
        for item in sorted(staging.iterdir()):
            target = out / item.name
            if target.exists():
                os.replace(target, backup / item.name)
                parked.append(item.name)
            os.replace(item, target)
            moved.append(target)
    except BaseException:
        for target in moved:
            target.unlink(missing_ok=True)
        for name in parked:
            os.replace(backup / name, out / name)
        backup.rmdir()
        raise
    shutil.rmtree(backup)
