"""``metadata.json`` of a model folder: its keys, types and checksums, and graphae 0.1's ``estimator.json``."""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

from graphae.errors import InputError, MissingFileError
from graphae.runfolder.names import METADATA
from graphae.runfolder.readers import read_json, verify

FORMAT = "graphae-model"
FORMAT_VERSION = 2  # 1 was graphae 0.1's estimator.json + model.json
STATE_FORMAT = "graphae-run-state"  # checkpoint/runs.json of an unfinished run
NODE_ID_TYPES = ("int", "float", "str")


# metadata.json ----------------------------------------------------------------------------
CHECKSUM = "checksum"  # the key of metadata.json's own SHA-256 (see digest)


def digest(metadata: dict[str, Any]) -> str:
    """The SHA-256 of ``metadata`` without its ``checksum`` key, as canonical JSON.

    JSON round-trips Python's ints, floats and strings exactly, so the digest of the
    dict read back from ``metadata.json`` equals the digest of the dict written.
    """
    body = {k: v for k, v in metadata.items() if k != CHECKSUM}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def stamp(metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` with its ``checksum``, as :func:`graphae.runfolder.write_metadata` writes it."""
    return {**{k: v for k, v in metadata.items() if k != CHECKSUM}, CHECKSUM: digest(metadata)}


class LegacyFolderError(InputError):
    """A model folder saved without checksums, read without ``legacy=True``."""


def check_digest(path: Path, metadata: dict[str, Any], legacy: bool = False) -> bool:
    """Check ``metadata.json``'s own checksum; returns whether the folder is checksummed.

    A folder whose metadata has no checksum, or no ``files`` (saved by graphae 0.2 or
    older, or edited) is read only when ``legacy`` is true: without the checksums nothing
    tells a damaged or edited file from the one graphae wrote.

    Raises:
        LegacyFolderError: If the folder has no checksums and ``legacy`` is false.
        InputError: If the recorded checksum differs from the content.
    """
    recorded = metadata.get(CHECKSUM)
    if recorded is None or not isinstance(metadata.get("files"), dict):
        if legacy:
            return False
        raise LegacyFolderError(
            f"{path}: saved without checksums (by graphae 0.2 or older, or edited since), so "
            "nothing shows that its files are the ones graphae wrote; if you trust the folder, load it "
            "with --legacy (graphae.load(DIR, legacy=True) in Python), or train and save it again."
        )
    if not isinstance(recorded, str) or recorded != digest(metadata):
        raise InputError(
            f"{path}: changed since it was saved (its content does not match its checksum); "
            "restore the file or save the model again."
        )
    return True


# key: (type, required). bool is not an int here, although Python says it is.
_TOP = {"model": (str, True), "params": (dict, True), "graph": (dict, True), "fit": (dict, True)}
_TOP_OPTIONAL = {
    "learned": bool,
    "graphae_version": str,
    "estimator": str,
    "files": dict,
    "checksum": str,
    "index": dict,
}
_GRAPH = {"directed": (bool, True), "node_id_type": (str, True), "num_nodes": (int, False)}
_GRAPH_OPTIONAL = {"num_edges": int, "name": str}
_FIT_LEARNED = {"in_channels": (int, True), "features_used": (bool, True), "best_epoch": (int, False)}
# The top-k index's search width and calibration (graphae.topk.InnerProductIndex.record).
_INDEX = {
    "metric": (str, False),
    "ef_search": (int, True),
    "target_recall": (float, False),
    "recall_at_10": (float, False),
    "queries": (int, False),
}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def check_metadata(path: Path, metadata: Any) -> None:
    """Check the keys and types of ``metadata.json``; errors name the key.

    Raises:
        InputError: On another format version, a missing key or a value of the wrong type.
    """
    if not isinstance(metadata, dict):
        raise InputError(f"{path}: not a graphae model metadata file.")
    if path.name != "estimator.json":  # graphae 0.1's file has no format keys
        if metadata.get("format") != FORMAT:
            raise InputError(f"{path}: not a graphae model metadata file.")
        if metadata.get("format_version") != FORMAT_VERSION:
            raise InputError(
                f"{path}: written in format {metadata.get('format_version')!r}, this graphae reads "
                f"format {FORMAT_VERSION}; upgrade graphae or train the model again."
            )
    _check_keys(path, metadata, "", {**_TOP, **{k: (t, False) for k, t in _TOP_OPTIONAL.items()}})
    _check_keys(
        path, metadata["graph"], "graph.", {**_GRAPH, **{k: (t, False) for k, t in _GRAPH_OPTIONAL.items()}}
    )
    if metadata["graph"]["node_id_type"] not in NODE_ID_TYPES:
        raise InputError(
            f"{path}: 'graph.node_id_type' must be one of {list(NODE_ID_TYPES)}; "
            f"got {metadata['graph']['node_id_type']!r}."
        )
    fit = {**_FIT_LEARNED} if metadata.get("learned", True) else {}
    _check_keys(path, metadata["fit"], "fit.", {**fit, "train_seconds": (float, False)})
    if "index" in metadata:
        _check_keys(path, metadata["index"], "index.", _INDEX)
    for section, key, low in (("fit", "in_channels", 1), ("graph", "num_nodes", 0)):
        value = metadata[section].get(key)
        if value is not None and value < low:
            raise InputError(f"{path}: '{section}.{key}' must be >= {low}; got {value}.")
    files = metadata.get("files")
    for name, entry in (files or {}).items():
        ok = (
            isinstance(entry, dict)
            and isinstance(entry.get("sha256"), str)
            and _SHA256.fullmatch(entry["sha256"])
            and _is(entry.get("bytes"), int)
            and entry["bytes"] >= 0
        )
        if not ok:
            raise InputError(
                f'{path}: \'files.{name}\' must be {{"sha256": 64 hex digits, "bytes": an int >= 0}}; '
                f"got {entry!r:.80}."
            )


def _is(value: Any, kind: type) -> bool:
    if kind is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, kind)


def _check_keys(path: Path, table: dict[str, Any], prefix: str, spec: dict[str, tuple[type, bool]]) -> None:
    for key, (kind, required) in spec.items():
        if key not in table:
            if required:
                raise InputError(f"{path}: '{prefix}{key}' is missing.")
            continue
        if not _is(table[key], kind):
            raise InputError(
                f"{path}: '{prefix}{key}' must be {_TYPE_NAMES[kind]}; got {json.dumps(table[key])[:80]} "
                f"({_TYPE_NAMES.get(type(table[key]), type(table[key]).__name__)})."
            )


_TYPE_NAMES = {
    str: "a string",
    dict: "a JSON object",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    list: "a list",
    type(None): "null",
}


def legacy_metadata(path: Path) -> dict[str, Any]:
    """metadata.json's content from graphae 0.1's ``estimator.json`` (with its ``history``)."""
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
                "in_channels": state["in_channels"],
                "features_used": state["features_used"],
                "best_epoch": state.get("best_epoch", 0),
                "train_seconds": state.get("train_seconds", 0.0),
            },
            "graphae_version": "0.1.0",
            "history": state.get("history", []),
        }
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise InputError(
            f"{path}: an incomplete model file of graphae 0.1 (lacks {err}); train the model again."
        ) from None
    return metadata


def verify_run_files(folder: str | os.PathLike, names: tuple[str, ...], legacy: bool = False) -> None:
    """Check the run files ``names`` against the checksums in ``folder/metadata.json``.

    Args:
        folder: A run folder.
        names: The files to check (those absent are not checked).
        legacy: Accept a folder saved without checksums (nothing is then compared).

    Raises:
        MissingFileError: If ``folder`` has no ``metadata.json``.
        LegacyFolderError: If it has no checksums and ``legacy`` is false.
        InputError: If a file differs from what was saved, or ``metadata.json`` is damaged.
    """
    folder = Path(folder)
    if not (folder / METADATA).is_file():
        if legacy:
            return
        raise MissingFileError(
            f"{folder / METADATA} not found: is {folder} a run folder written by `graphae train --out`?"
        )
    metadata = read_json(folder / METADATA)
    check_metadata(folder / METADATA, metadata)
    if check_digest(folder / METADATA, metadata, legacy):
        for name in names:
            verify(folder, name, metadata["files"])
