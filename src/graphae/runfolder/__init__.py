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

``metadata.json`` records, under ``files``, the SHA-256 and size of every other file
graphae reads back (``{"model.pt": {"sha256": ..., "bytes": ...}, ...}``); loading checks
them, and checks every file against the others (counts, shapes, dtypes) before allocating
anything from a size it holds. Folders without ``files`` (written before it existed,
graphae 0.1's included) still load, with the structural checks alone.

A non-learned model (a heuristic, ``metadata.json`` says ``"learned": false``) has no
``model.pt`` and ``embeddings.npy``; ``fitted_adjacency.npz`` holds the graph it scores
on (the training edges of a run), while ``adjacency.npz`` holds the whole graph.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from graphae.errors import InputError, MissingFileError
from graphae.io import atomic_write, replace_folder, sha256, write_json, write_npy, write_text
from graphae.runfolder.metadata import FORMAT, FORMAT_VERSION, NODE_ID_TYPES, check_metadata, legacy_metadata
from graphae.runfolder.readers import (
    node_id_lines,
    node_id_type,
    read_adjacency,
    read_embedding,
    read_json,
    read_node_ids,
    read_weights,
    verify,
)

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "NODE_ID_TYPES",
    "SavedModel",
    "check_metadata",
    "checksums",
    "node_id_lines",
    "node_id_type",
    "publish",
    "read_adjacency",
    "read_json",
    "read_model",
    "read_node_ids",
    "read_weights",
    "seal",
    "verify",
    "verify_run_files",
    "write_model",
]

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

# Run files whose checksums metadata.json records beside the model's (see seal).
RUN_CHECKED_FILES = (METRICS, TEST_SCORES, SPLIT, LABELS)


@dataclass
class SavedModel:
    """The contents of a model folder, as plain data.

    Attributes:
        metadata: ``model`` (registry name), ``learned`` (absent: true), ``params``
            (estimator parameters), ``graph`` (``name``, ``num_nodes``, ``num_edges``,
            ``directed``, ``node_id_type``), ``fit`` (``in_channels``,
            ``features_used``, ``best_epoch`` when learned; ``train_seconds``),
            ``graphae_version`` and ``files`` (checksums; set on writing).
        weights: The torch module's state dict (``None`` when not learned).
        embedding: ``[N, d]`` float32 (``None`` when not learned).
        adjacency: ``[N, N]`` CSR.
        node_ids: ``[N]`` ids (int64, float64 or str objects).
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


# Writing ------------------------------------------------------------------------------
def write_model(folder: str | os.PathLike, saved: SavedModel) -> None:
    """Write a model folder; every file is written atomically, ``metadata.json`` last.

    Raises:
        InputError: If the node ids cannot be saved (see :func:`node_id_lines`), or if
            ``folder`` holds the run files of a ``graphae train`` run, which would then lie
            beside a model they do not describe (nothing is written).
    """
    folder = Path(folder)
    text = "".join(f"{t}\n" for t in node_id_lines(saved.node_ids))
    stale = [name for name in (*RUN_CHECKED_FILES, *REPORT_FILES) if (folder / name).exists()]
    if stale:
        raise InputError(
            f"{folder}: holds a graphae train run ({', '.join(stale)}); a model saved here would lie beside "
            "scores that are not its own. Save it into another folder (nothing was written)."
        )
    folder.mkdir(parents=True, exist_ok=True)
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION, **saved.metadata}
    metadata["graph"] = {**metadata["graph"], "node_id_type": node_id_type(saved.node_ids)}
    if saved.learned:
        weights = {k: v.detach().cpu() for k, v in saved.weights.items()}
        atomic_write(folder / WEIGHTS, lambda f: torch.save(weights, f))
        write_npy(folder / EMBEDDINGS, saved.embedding)
        parts = (WEIGHTS, EMBEDDINGS)
    else:
        atomic_write(folder / FITTED_ADJACENCY, lambda f: sp.save_npz(f, saved.fitted_adjacency))
        parts = (FITTED_ADJACENCY,)
    # A model of the other kind saved here before must not leave its files behind.
    for name in (FITTED_ADJACENCY,) if saved.learned else (WEIGHTS, EMBEDDINGS):
        (folder / name).unlink(missing_ok=True)
    atomic_write(folder / ADJACENCY, lambda f: sp.save_npz(f, saved.adjacency))
    write_text(folder / NODE_IDS, text)
    write_json(folder / HISTORY, saved.history)
    metadata["files"] = checksums(folder, (*parts, ADJACENCY, NODE_IDS, HISTORY))
    write_json(folder / METADATA, metadata)  # last: its presence marks a complete folder


def seal(folder: str | os.PathLike, names: tuple[str, ...]) -> None:
    """Add the checksums of the run files ``names`` to the ``metadata.json`` of ``folder``."""
    folder = Path(folder)
    metadata = read_json(folder / METADATA)
    metadata["files"] = {**metadata.get("files", {}), **checksums(folder, names)}
    write_json(folder / METADATA, metadata)


def checksums(folder: Path, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``{name: {"sha256": ..., "bytes": ...}}`` of the files ``names`` present in ``folder``."""
    return {
        name: {"sha256": sha256(folder / name), "bytes": (folder / name).stat().st_size}
        for name in names
        if (folder / name).is_file()
    }


# Reading ------------------------------------------------------------------------------
def read_model(folder: str | os.PathLike) -> SavedModel:
    """Read a model folder written by :func:`write_model` (or by graphae 0.1), running no code.

    Every file is checked against its checksum in ``metadata.json`` (when recorded) and
    against the other files (counts, shapes, dtypes) before anything is allocated from a
    size it holds.

    Raises:
        MissingFileError: If the folder or one of its files is missing.
        InputError: If a file is damaged or the parts do not fit together.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"{folder}: no such folder; expected a model folder saved by graphae.")
    if (folder / METADATA).is_file():
        metadata = read_json(folder / METADATA)
        check_metadata(folder / METADATA, metadata)
    elif (folder / LEGACY_ESTIMATOR).is_file():
        metadata = legacy_metadata(folder / LEGACY_ESTIMATOR)
        check_metadata(folder / LEGACY_ESTIMATOR, metadata)
    else:
        raise MissingFileError(
            f"{folder / METADATA} not found: is {folder} a model folder saved by graphae "
            "(`graphae train --out`, `estimator.save`)?"
        )
    learned = metadata.get("learned", True)
    parts = (WEIGHTS, EMBEDDINGS) if learned else (FITTED_ADJACENCY,)
    for name in (*parts, ADJACENCY, NODE_IDS):
        if not (folder / name).is_file():
            raise MissingFileError(f"{folder / name} not found: the model folder {folder} is incomplete.")
    files = metadata.get("files")
    for name in (*parts, ADJACENCY, NODE_IDS, HISTORY):
        verify(folder, name, files)
    if "history" in metadata:  # graphae 0.1 kept it in estimator.json
        history = metadata.pop("history")
    else:
        history = read_json(folder / HISTORY) if (folder / HISTORY).is_file() else []
    if not isinstance(history, list) or not all(isinstance(r, dict) for r in history):
        raise InputError(f"{folder / HISTORY}: expected a list of per-epoch records.")
    node_ids = read_node_ids(folder / NODE_IDS, metadata["graph"]["node_id_type"])
    n = len(node_ids)
    recorded = metadata["graph"].get("num_nodes", n)
    if recorded != n:
        raise InputError(
            f"{folder / NODE_IDS}: {n} node ids, but metadata.json says the graph has {recorded} nodes; "
            "save the model again."
        )
    adjacency = read_adjacency(folder / ADJACENCY, n)
    if not learned:
        fitted = read_adjacency(folder / FITTED_ADJACENCY, n)
        return SavedModel(metadata, None, None, adjacency, node_ids, history, fitted_adjacency=fitted)
    embedding = read_embedding(folder / EMBEDDINGS, n)
    return SavedModel(metadata, read_weights(folder / WEIGHTS), embedding, adjacency, node_ids, history)


def verify_run_files(folder: str | os.PathLike, names: tuple[str, ...]) -> None:
    """Check the run files ``names`` against the checksums in ``folder/metadata.json``, if it records them.

    Raises:
        InputError: If a file differs from what was saved, or ``metadata.json`` is damaged.
    """
    folder = Path(folder)
    if not (folder / METADATA).is_file():
        return
    metadata = read_json(folder / METADATA)
    files = metadata.get("files") if isinstance(metadata, dict) else None
    if not isinstance(files, dict):
        return  # saved before checksums: nothing to compare with
    check_metadata(folder / METADATA, metadata)
    for name in names:
        verify(folder, name, files)


# Publishing outputs -------------------------------------------------------------
def _ours(name: str) -> bool:
    """Whether graphae wrote ``name`` into a run folder (with its temporary files)."""
    if name in ALL_FILES or name == CHECKPOINT_DIR:
        return True
    return name.startswith((".staging-", ".backup-")) or any(name.startswith(f".{f}.") for f in ALL_FILES)


def publish(out: Path, write: Callable[[Path], None]) -> None:
    """Write a run through ``write(staging)``, then make it the folder ``out`` as a whole.

    The run is written into a new folder beside ``out`` and swapped in (see
    :func:`graphae.io.replace_folder`): nothing of an earlier run survives (report,
    figures, labels), while files graphae never writes (``notes.txt``) are kept. A failure
    leaves the earlier run as it was, and errors name ``out``, never the temporary folder.
    """
    replace_folder(out, write, _ours)
