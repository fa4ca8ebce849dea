"""The run folder of a partitioned run (``graphae train --partitions DIR --out RUN``).

==================================  ================================================================
``metrics.json``                    format ``graphae-partitioned-run``: scores, world size, the
                                    partition manifest, each rank's sizes and bytes; ``embeddings``
                                    (parts, rows of each, dimension, node id type); under ``files``
                                    the SHA-256 and size of every shard; its own checksum
``history.json``                    per-epoch training loss and validation scores
``embeddings/part-R.npy``           ``[n_R, latent]`` float32: ``z`` of the nodes part R owns,
                                    written by rank R (no rank holds the whole embedding)
``embeddings/part-R.node_ids.txt``  their ids, one a line, in the same order (the user's ids,
                                    copied from the partition's ``part-R/node_ids.txt``)
``checkpoint/``                     an unfinished run's (``--checkpoint-every``): its options
                                    (``runs.json``) and checkpoints (see
                                    :mod:`graphae.training.partitioned_checkpoint`); none once
                                    the run has finished
==================================  ================================================================

:func:`load_embeddings` reads them back, every file checked against ``metrics.json``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from graphae.errors import InputError, MissingFileError
from graphae.io import read_npy, sha256
from graphae.runfolder.metadata import digest
from graphae.runfolder.names import HISTORY, METRICS, NODE_IDS
from graphae.runfolder.readers import read_node_ids

FORMAT = "graphae-partitioned-run"
EMBEDDING_DIR = "embeddings"
# The entries of a partitioned run folder graphae wrote: what --overwrite replaces.
ENTRIES = (METRICS, HISTORY, EMBEDDING_DIR)


def shard_names(part: int) -> tuple[str, str]:
    """The embedding shard of part ``part``: its rows, and its node ids (relative to the run folder)."""
    return f"{EMBEDDING_DIR}/part-{part}.npy", f"{EMBEDDING_DIR}/part-{part}.{NODE_IDS}"


def read_run(run_dir: str | os.PathLike) -> dict[str, Any] | None:
    """``metrics.json`` of a partitioned run folder, or ``None`` if it holds none (or one changed since)."""
    path = Path(run_dir) / METRICS
    try:
        record = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (OSError, ValueError):
        return None
    ours = (
        isinstance(record, dict)
        and record.get("format") == FORMAT
        and record.get("checksum") == digest(record)
    )
    return record if ours else None


def load_embeddings(run_dir: str | os.PathLike, part: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The node ids and embeddings ``z`` of a partitioned run, every shard checked against ``metrics.json``.

    Args:
        run_dir: The ``--out`` folder of ``graphae train --partitions``.
        part: One part's shard alone (what its rank wrote); ``None``: every shard, in part order.

    Returns:
        ``(ids, z)``: ``[n]`` the user's node ids (int64, float64 or str objects, as the graph's)
        and ``[n, latent]`` float32, row ``i`` of ``z`` the embedding of ``ids[i]``.

    Raises:
        MissingFileError: If a shard is missing.
        InputError: If the folder holds no partitioned run, ``part`` is none of its parts, or a
            file differs from what ``metrics.json`` records.
    """
    folder = Path(run_dir)
    metrics = read_run(folder)
    if metrics is None or not isinstance(metrics.get("embeddings"), dict):
        raise InputError(
            f"{folder / METRICS}: not the metrics of a partitioned graphae run with embeddings "
            f"(missing, changed since written, or the run had no --out); train with "
            "`graphae train --partitions DIR --out RUN`."
        )
    info, files = metrics["embeddings"], metrics.get("files", {})
    if part is not None and not 0 <= part < info["parts"]:
        raise InputError(f"The 'part' parameter must be in [0, {info['parts']}). Got {part}.")
    parts = range(info["parts"]) if part is None else [part]
    ids, rows = [], []
    for p in parts:
        array_name, ids_name = shard_names(p)
        z = read_npy(_checked(folder, array_name, files))
        if z.dtype != np.float32 or z.shape != (info["rows"][p], info["dim"]):
            raise InputError(
                f"{folder / array_name}: holds {z.dtype} {list(z.shape)}, but metrics.json says float32 "
                f"{[info['rows'][p], info['dim']]}; train again."
            )
        node_ids = read_node_ids(_checked(folder, ids_name, files), info["node_id_type"])
        if node_ids.size != z.shape[0]:
            raise InputError(f"{folder / ids_name}: {node_ids.size} ids for {z.shape[0]} rows; train again.")
        ids.append(node_ids)
        rows.append(z)
    return np.concatenate(ids), np.concatenate(rows)


def _checked(folder: Path, name: str, files: dict[str, Any]) -> Path:
    path = folder / name
    entry = files.get(name)
    if entry is None or not path.is_file():
        raise MissingFileError(f"{path}: missing, or not listed in {folder / METRICS}; train again.")
    if path.stat().st_size != entry["bytes"] or sha256(path) != entry["sha256"]:
        raise InputError(
            f"{path}: damaged or changed since graphae wrote it (its size or SHA-256 differs from "
            f"{METRICS}'s); train again."
        )
    return path
