"""Which entries of a folder graphae wrote: the only ones ``--overwrite`` replaces.

graphae never decides by a file's name alone: a folder's ``metadata.json`` (checked
against its own checksum) lists the files of a finished run, and an unfinished run's
``checkpoint/runs.json`` (checksummed too) marks ``checkpoint/`` as graphae's.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from graphae.errors import InputError
from graphae.io import write_json
from graphae.runfolder.metadata import STATE_FORMAT, check_digest, check_metadata, digest, stamp
from graphae.runfolder.names import ALL_FILES, CHECKPOINT_DIR, METADATA, REPORT_FILES, RUN_STATE
from graphae.runfolder.readers import read_json

# The temporary names of atomic_write (".NAME.XXXXXXXX.tmp") and replace_folder.
_TEMPORARY = re.compile(r"\.(staging|backup)-[a-z0-9_]{8}|\.(?P<name>[^/]+)\.[a-z0-9_]{8}\.tmp")


def claimed(folder: str | os.PathLike) -> set[str] | None:
    """The entries of ``folder`` that graphae wrote, by graphae's own records in it.

    ``metadata.json`` (graphae's format, its checksum right) claims itself and the files it
    lists; an unfinished run's ``checkpoint/runs.json`` (see :func:`read_state`) claims
    ``checkpoint/``. A folder saved without checksums (graphae 0.2 or older) also claims
    the report files, which graphae did not list then. No name is claimed for its name
    alone, except graphae's temporary files (``.metadata.json.x1y2z3w4.tmp``).

    Returns:
        The claimed names, or ``None`` when ``folder`` holds no record of graphae's.

    Raises:
        InputError: If ``metadata.json`` or ``runs.json`` is there but is not graphae's,
            or was changed since graphae wrote it.
    """
    folder = Path(folder)
    names: set[str] = set()
    path = folder / METADATA
    if path.is_file():
        metadata = read_json(path)
        check_metadata(path, metadata)
        checked = check_digest(path, metadata, legacy=True)
        names |= {METADATA, *(metadata.get("files") or {})}
        if not checked:
            names |= set(REPORT_FILES)
    state = folder / CHECKPOINT_DIR / RUN_STATE
    if state.is_file():
        read_state(state, legacy=True)
        names.add(CHECKPOINT_DIR)
    if not names:
        return None
    return names | {item.name for item in _entries(folder) if is_temporary(item.name)}


def _entries(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a temporary file or folder of graphae's writers."""
    match = _TEMPORARY.fullmatch(name)
    return match is not None and (match["name"] is None or match["name"] in (*ALL_FILES, CHECKPOINT_DIR))


def check_free(folder: str | os.PathLike, names: tuple[str, ...]) -> None:
    """Check that graphae may write ``names`` into ``folder``: each is absent or graphae's own.

    Raises:
        InputError: Naming the first of ``names`` that is there but not claimed (the
            user's own file, which graphae never replaces).
    """
    folder = Path(folder)
    if not folder.is_dir():
        return
    ours = claimed(folder) or set()
    for name in names:
        path = folder / name
        if (path.exists() or path.is_symlink()) and name not in ours:
            raise InputError(
                f"{path}: not a file of a graphae run (no record of graphae's in {folder} lists it), and "
                "graphae never replaces what it did not write; move it away or choose another folder."
            )


def write_state(path: str | os.PathLike, state: dict[str, Any]) -> None:
    """Write an unfinished run's ``runs.json`` with its checksum (what ``--resume`` trusts)."""
    write_json(path, stamp({"format": STATE_FORMAT, **state}))


def read_state(path: str | os.PathLike, legacy: bool = False) -> dict[str, Any]:
    """Read ``runs.json`` written by :func:`write_state`, checked against its checksum.

    Args:
        path: The file.
        legacy: Only check that the file is the state of a graphae run, of any version,
            changed or not: enough for ``--overwrite`` to recognise it, never to resume.

    Raises:
        InputError: If the file is not graphae's, was changed, or (without ``legacy``)
            has no checksum.
    """
    path = Path(path)
    state = read_json(path)
    if not isinstance(state, dict) or not isinstance(state.get("args"), dict):
        raise InputError(f"{path}: not the state of a graphae run.")
    if legacy:
        return state
    if state.get("format") != STATE_FORMAT or "checksum" not in state:
        raise InputError(
            f"{path}: written without a checksum (by graphae 0.2 or older), so nothing shows it is the "
            "state graphae saved; start the run again with --overwrite."
        )
    if state["checksum"] != digest(state):
        raise InputError(
            f"{path}: changed since graphae wrote it (its content does not match its checksum); "
            "start the run again with --overwrite."
        )
    return state
