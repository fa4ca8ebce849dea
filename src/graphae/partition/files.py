"""The files of a partition folder: one ``part-R/`` per part and ``manifest.json``.

==========================  ====================================================================
``manifest.json``           format, parts, method, seed, sizes, split, cut statistics, and the
                            SHA-256 and size of every file below; its own checksum
``part-R/nodes.npy``        ``[n]`` int64: the global ids of the nodes part R owns, sorted
``part-R/node_ids.txt``     the user's ids of those nodes, one a line, in the order of
                            ``nodes.npy`` (as a run folder's ``node_ids.txt``; the manifest's
                            ``node_id_type`` says how they read back)
``part-R/indptr.npy``       ``[n + 1]`` int64: CSR rows of those nodes in the training graph
``part-R/indices.npy``      ``[nnz]`` int64: their neighbours' global ids
``part-R/halo.npy``         ``[4, h]`` int64: the halo (neighbours owned elsewhere), sorted by
                            owner then id: global id, owner, row in the owner's ``nodes.npy``,
                            training degree
``part-R/features.npy``     ``[n, F]`` float32: the features of the owned nodes (when given)
``part-R/val.npy``          ``[5, k]`` int64: the validation pairs whose first node part R owns:
                            first node's global id, second node's global id, its owner, its
                            row there, label (1 edge, 0 non-edge)
``part-R/test.npy``         the same for the test pairs
==========================  ====================================================================

The training degree of an owned node is its row length; the halo's degrees are stored, so
that a rank normalises its GCN rows with global degrees without holding the graph.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from graphae.errors import InputError, MissingFileError
from graphae.io import read_npy, sha256, write_json, write_npy
from graphae.runfolder.metadata import digest, stamp

MANIFEST = "manifest.json"
FORMAT = "graphae-partitions"
FORMAT_VERSION = 2  # 1 kept no user node ids
PART_FILES = ("nodes.npy", "indptr.npy", "indices.npy", "halo.npy", "val.npy", "test.npy")
FEATURES = "features.npy"
NODE_IDS = "node_ids.txt"  # not read in training: copied into the run's embedding shards


def part_dir(part: int) -> str:
    """The folder name of part ``part``."""
    return f"part-{part}"


def write_arrays(folder: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write each array of a part as ``folder/NAME.npy``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        write_npy(folder / f"{name}.npy", array)


def file_records(root: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """``{name: {"sha256", "bytes"}}`` of the files ``root/name``."""
    return {name: {"sha256": sha256(root / name), "bytes": (root / name).stat().st_size} for name in names}


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Write ``manifest.json`` with its own checksum."""
    write_json(root / MANIFEST, stamp({"format": FORMAT, "version": FORMAT_VERSION, **manifest}))


def read_manifest(root: str | os.PathLike) -> dict[str, Any]:
    """The manifest of a partition folder, checked against its checksum.

    Raises:
        MissingFileError: If ``root/manifest.json`` is missing.
        InputError: If it is not a graphae partition manifest, or was changed since written.
    """
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise MissingFileError(f"{path}: missing; a partition folder is written by `graphae partition`.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{path}: not a graphae partition manifest (not JSON: {err}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise InputError(f"{path}: not a graphae partition manifest (its format is not {FORMAT!r}).")
    if manifest.get("version") != FORMAT_VERSION:
        raise InputError(
            f"{path}: partition format version {manifest.get('version')!r}; this graphae reads version "
            f"{FORMAT_VERSION}. Partition the graph again."
        )
    if manifest.get("checksum") != digest(manifest) or not isinstance(manifest.get("files"), dict):
        raise InputError(
            f"{path}: changed since graphae wrote it (its content does not match its checksum); "
            "partition the graph again."
        )
    return manifest


def read_arrays(root: str | os.PathLike, part: int, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    """The arrays of part ``part``, each checked against the manifest's size and SHA-256."""
    names = [*PART_FILES, *([FEATURES] if manifest["num_features"] else [])]
    arrays = {name.removesuffix(".npy"): read_npy(checked(root, part, name, manifest)) for name in names}
    checked(root, part, NODE_IDS, manifest)
    return arrays


def checked(root: str | os.PathLike, part: int, name: str, manifest: dict[str, Any]) -> Path:
    """The path of file ``name`` of part ``part``, checked against the manifest's size and SHA-256.

    Raises:
        MissingFileError: If the file is missing or the manifest lists none.
        InputError: If its size or SHA-256 differs from the manifest's.
    """
    key = f"{part_dir(part)}/{name}"
    path = Path(root) / key
    entry = manifest["files"].get(key)
    if entry is None or not path.is_file():
        raise MissingFileError(
            f"{path}: missing, or not listed in {Path(root) / MANIFEST}; partition the graph again."
        )
    if path.stat().st_size != entry["bytes"] or sha256(path) != entry["sha256"]:
        raise InputError(
            f"{path}: damaged or changed since graphae wrote it (its size or SHA-256 differs from "
            f"{MANIFEST}'s); partition the graph again."
        )
    return path


def ours(root: Path) -> Callable[[str], bool]:
    """Which entries of an existing partition folder graphae wrote (by its manifest)."""
    manifest = read_manifest(root)
    names = {MANIFEST} | {key.split("/")[0] for key in manifest["files"]}
    return lambda name: name in names


def check_out(out: str | os.PathLike, overwrite: bool) -> Callable[[str], bool]:
    """Check that a partition may be written to ``out``; returns what of ``out`` graphae owns.

    A new or empty folder is free. A folder holding a partition graphae wrote (its manifest
    checksummed) is replaced with ``overwrite``; anything else is never touched.

    Raises:
        InputError: If ``out`` is a file, holds something that is not a graphae partition,
            or holds one and ``overwrite`` is false.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a folder.")
    if not out.is_dir() or not any(out.iterdir()):
        return lambda name: False
    if not (out / MANIFEST).is_file():
        raise InputError(
            f"--out {out}: folder is not empty and holds no graphae partition ({MANIFEST}); graphae never "
            "replaces what it did not write: choose a new or empty folder."
        )
    try:
        owned = ours(out)
    except InputError as err:
        raise InputError(f"--out {out}: refused to overwrite: {err}") from None
    if not overwrite:
        raise InputError(f"--out {out}: holds a graphae partition; pass --overwrite to replace it.")
    return owned
