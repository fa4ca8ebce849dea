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
``index.faiss``        the top-k index of ``recommend`` (inner-product models from
                       ``graphae.topk.EXACT_BELOW`` nodes, or once built); read when used
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
on (the training edges of a run), while ``adjacency.npz`` holds the whole graph. A learned
model whose ``adjacency.npz`` holds more than the graph it was fitted on (a run's, with
the held-out edges) keeps that one in ``fitted_adjacency.npz`` too.
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
from graphae.runfolder.metadata import (
    FORMAT,
    FORMAT_VERSION,
    NODE_ID_TYPES,
    LegacyFolderError,
    check_digest,
    check_metadata,
    legacy_metadata,
    stamp,
    verify_run_files,
)
from graphae.runfolder.names import (
    ADJACENCY,
    ALL_FILES,
    CHECKPOINT_DIR,
    CONFIG,
    EMBEDDINGS,
    FEATURES,
    FEATURES_DENSE,
    FEATURES_SPARSE,
    FIGURE_EMBEDDING,
    FIGURE_HISTORY,
    FIGURE_ROC_PR,
    FIGURES,
    FITTED_ADJACENCY,
    HISTORY,
    INDEX,
    LABELS,
    LEGACY_CONFIG,
    LEGACY_ESTIMATOR,
    METADATA,
    METRICS,
    MODEL_FILES,
    NODE_IDS,
    REPORT,
    REPORT_FILES,
    RUN_CHECKED_FILES,
    RUN_FILES,
    RUN_STATE,
    SPLIT,
    TEST_SCORES,
    WEIGHTS,
)
from graphae.runfolder.ownership import check_free, claimed, is_temporary, read_state, write_state
from graphae.runfolder.readers import (
    IndexFile,
    node_id_lines,
    node_id_type,
    read_adjacency,
    read_embedding,
    read_features,
    read_json,
    read_node_ids,
    read_weights,
    verify,
)

__all__ = [
    "ADJACENCY",
    "ALL_FILES",
    "CHECKPOINT_DIR",
    "CONFIG",
    "EMBEDDINGS",
    "FEATURES",
    "FEATURES_DENSE",
    "FEATURES_SPARSE",
    "FIGURES",
    "FIGURE_EMBEDDING",
    "FIGURE_HISTORY",
    "FIGURE_ROC_PR",
    "FITTED_ADJACENCY",
    "HISTORY",
    "INDEX",
    "IndexFile",
    "LABELS",
    "LEGACY_CONFIG",
    "LEGACY_ESTIMATOR",
    "METADATA",
    "METRICS",
    "MODEL_FILES",
    "NODE_IDS",
    "REPORT",
    "REPORT_FILES",
    "RUN_CHECKED_FILES",
    "RUN_FILES",
    "RUN_STATE",
    "SPLIT",
    "TEST_SCORES",
    "WEIGHTS",
    "FORMAT",
    "FORMAT_VERSION",
    "NODE_ID_TYPES",
    "LegacyFolderError",
    "SavedModel",
    "check_free",
    "check_metadata",
    "checksums",
    "claimed",
    "node_id_lines",
    "node_id_type",
    "publish",
    "read_state",
    "read_adjacency",
    "read_json",
    "read_model",
    "read_node_ids",
    "read_weights",
    "seal",
    "verify",
    "verify_run_files",
    "write_metadata",
    "write_model",
    "write_state",
]


@dataclass
class SavedModel:
    """The contents of a model folder, as plain data.

    Attributes:
        metadata: ``model`` (registry name), ``learned`` (absent: true), ``params``
            (estimator parameters), ``graph`` (``name``, ``num_nodes``, ``num_edges``,
            ``directed``, ``node_id_type``), ``fit`` (``in_channels``,
            ``features_used``, ``best_epoch`` when learned; ``train_seconds``),
            ``graphae_version``, ``index`` (with an index: its ``ef_search`` and
            calibration, see :meth:`graphae.topk.InnerProductIndex.record`) and ``files``
            (checksums; set on writing).
        weights: The torch module's state dict (``None`` when not learned).
        embedding: ``[N, d]`` float32 (``None`` when not learned).
        adjacency: ``[N, N]`` CSR.
        node_ids: ``[N]`` ids (int64, float64 or str objects).
        history: Per-epoch records.
        fitted_adjacency: ``[N, N]`` CSR of the graph fitted on, where ``adjacency`` differs
            (always for a non-learned model: what it scores on; else ``None``).
        features: ``[N, F]`` node features (dense float32 or CSR) of a model that uses
            them, for embedding nodes it has not seen (``None``: none, or a folder saved
            before graphae kept them).
        index: Writing: the bytes of ``index.faiss`` (``None``: no index). Reading: an
            :class:`IndexFile`, read when ``recommend`` needs it (``None``: no index).
    """

    metadata: dict[str, Any]
    weights: dict[str, torch.Tensor] | None
    embedding: np.ndarray | None
    adjacency: sp.csr_matrix
    node_ids: np.ndarray
    history: list[dict[str, Any]] = field(default_factory=list)
    fitted_adjacency: sp.csr_matrix | None = None
    features: np.ndarray | sp.csr_matrix | None = None
    index: bytes | IndexFile | None = None

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
    if not os.fspath(folder).strip():
        raise InputError("The model folder is an empty path; give the folder to save into.")
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
        parts = (WEIGHTS, EMBEDDINGS, *_write_features(folder, saved.features))
        if isinstance(saved.index, bytes):
            atomic_write(folder / INDEX, lambda f: f.write(saved.index))
            parts = (*parts, INDEX)
    else:
        parts = ()
    if saved.fitted_adjacency is not None:
        atomic_write(folder / FITTED_ADJACENCY, lambda f: sp.save_npz(f, saved.fitted_adjacency))
        parts = (*parts, FITTED_ADJACENCY)
    # A model of the other kind saved here before must not leave its files behind.
    for name in (FITTED_ADJACENCY, *FEATURES, WEIGHTS, EMBEDDINGS, INDEX):
        if name not in parts:
            (folder / name).unlink(missing_ok=True)
    atomic_write(folder / ADJACENCY, lambda f: sp.save_npz(f, saved.adjacency))
    write_text(folder / NODE_IDS, text)
    write_json(folder / HISTORY, saved.history)
    metadata["files"] = checksums(folder, (*parts, ADJACENCY, NODE_IDS, HISTORY))
    write_metadata(folder, metadata)  # last: its presence marks a complete folder


def _write_features(folder: Path, x: np.ndarray | sp.spmatrix | None) -> tuple[str, ...]:
    """Write the node features (``features.npy`` dense, ``features.npz`` sparse); their name."""
    if x is None:
        return ()
    if sp.issparse(x):
        atomic_write(folder / FEATURES_SPARSE, lambda f: sp.save_npz(f, sp.csr_matrix(x)))
        return (FEATURES_SPARSE,)
    write_npy(folder / FEATURES_DENSE, np.asarray(x, dtype=np.float32))
    return (FEATURES_DENSE,)


def write_metadata(folder: str | os.PathLike, metadata: dict[str, Any]) -> None:
    """Write ``folder/metadata.json`` with its own checksum (see :func:`~.metadata.digest`)."""
    write_json(Path(folder) / METADATA, stamp(metadata))


def seal(folder: str | os.PathLike, names: tuple[str, ...]) -> None:
    """Add the checksums of the files ``names`` to the ``metadata.json`` of ``folder``.

    The metadata is checked first: a folder edited since it was saved is not re-sealed.
    """
    folder = Path(folder)
    metadata = read_json(folder / METADATA)
    check_metadata(folder / METADATA, metadata)
    check_digest(folder / METADATA, metadata)
    metadata["files"] = {**metadata["files"], **checksums(folder, names)}
    write_metadata(folder, metadata)


def checksums(folder: Path, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``{name: {"sha256": ..., "bytes": ...}}`` of the files ``names`` present in ``folder``."""
    return {
        name: {"sha256": sha256(folder / name), "bytes": (folder / name).stat().st_size}
        for name in names
        if (folder / name).is_file()
    }


# Reading ------------------------------------------------------------------------------
def read_model(folder: str | os.PathLike, legacy: bool = False) -> SavedModel:
    """Read a model folder written by :func:`write_model`, running no code.

    ``metadata.json`` is checked against its own checksum, every other file against its
    checksum in ``metadata.json``, and every file against the others (counts, shapes,
    dtypes) before anything is allocated from a size it holds.

    Args:
        folder: The model folder.
        legacy: Also read a folder saved without checksums (by graphae 0.2 or older,
            graphae 0.1's ``estimator.json`` included), with the structural checks alone.

    Raises:
        MissingFileError: If the folder or one of its files is missing.
        LegacyFolderError: If the folder has no checksums and ``legacy`` is false.
        InputError: If a file is damaged or the parts do not fit together.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise MissingFileError(f"{folder}: no such folder; expected a model folder saved by graphae.")
    if (folder / METADATA).is_file():
        metadata = read_json(folder / METADATA)
        check_metadata(folder / METADATA, metadata)
        check_digest(folder / METADATA, metadata, legacy)
    elif (folder / LEGACY_ESTIMATOR).is_file():
        metadata = legacy_metadata(folder / LEGACY_ESTIMATOR)
        check_metadata(folder / LEGACY_ESTIMATOR, metadata)
        check_digest(folder / LEGACY_ESTIMATOR, metadata, legacy)
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
    for name in dict.fromkeys((*parts, FITTED_ADJACENCY, ADJACENCY, NODE_IDS, HISTORY, *FEATURES)):
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
    present = (folder / FITTED_ADJACENCY).is_file()
    fitted = read_adjacency(folder / FITTED_ADJACENCY, n) if present else None
    embedding = read_embedding(folder / EMBEDDINGS, n)
    features = None
    if metadata["fit"]["features_used"]:
        present = [folder / name for name in FEATURES if (folder / name).is_file()]
        features = read_features(present[0], n, metadata["fit"]["in_channels"]) if present else None
    weights = read_weights(folder / WEIGHTS)
    entry = (files or {}).get(INDEX)  # checked when read: see IndexFile
    index = IndexFile(folder / INDEX, entry, metadata.get("index")) if entry is not None else None
    return SavedModel(
        metadata, weights, embedding, adjacency, node_ids, history, fitted, features=features, index=index
    )


# Publishing outputs -------------------------------------------------------------
def publish(out: Path, write: Callable[[Path], None]) -> None:
    """Write a run through ``write(staging)``, then make it the folder ``out`` as a whole.

    The run is written into a new folder beside ``out`` and swapped in (see
    :func:`graphae.io.replace_folder`): nothing of an earlier run survives (report,
    figures, labels), while every entry graphae did not write (``notes.txt``; see
    :func:`claimed`) is kept. A failure leaves the earlier run as it was, and errors name
    ``out``, never the temporary folder.

    Raises:
        InputError: If ``out`` holds an entry with a name graphae writes that graphae
            did not write (see :func:`check_free`).
    """
    check_free(out, (*ALL_FILES, CHECKPOINT_DIR))
    ours = claimed(out) or set()
    replace_folder(out, write, lambda name: name in ours or is_temporary(name))
