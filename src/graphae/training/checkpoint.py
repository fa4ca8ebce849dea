"""Checkpoints of a fit in progress: written atomically, checksummed, read without running code.

A checkpoint file is one line ``graphae-checkpoint sha256:<64 hex digits>\\n`` followed by
what ``torch.save`` wrote; the digest is that of those bytes, so a damaged or edited
checkpoint is refused instead of resuming to other scores.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any

import torch

from graphae.errors import InputError
from graphae.io import atomic_write

FORMAT = "graphae-checkpoint"
FORMAT_VERSION = 2  # 1: no checksum line
_HEADER = re.compile(rb"graphae-checkpoint sha256:([0-9a-f]{64})\n")
_HEADER_BYTES = len(b"graphae-checkpoint sha256:") + 64 + 1


class Checkpointer:
    """Saves the training state every ``every`` epochs to one file.

    Each save writes a temporary file, flushes it to disk and renames it over the
    previous checkpoint, so a process killed at any moment (even with ``kill -9``
    in the middle of a write) leaves the previous checkpoint or the new one, whole.

    Args:
        path: The checkpoint file.
        every: Save after every this many epochs.
        meta: JSON-like facts stored beside the state (what the run was: model,
            parameters, graph), compared on resume.
    """

    def __init__(self, path: str | os.PathLike, every: int, meta: dict[str, Any] | None = None) -> None:
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise InputError(f"The 'checkpoint_every' parameter must be an int >= 1. Got {every!r}.")
        self.path = Path(path)
        self.every = every
        self.meta = meta or {}

    def due(self, epoch: int) -> bool:
        return epoch % self.every == 0

    def save(self, state: dict[str, Any]) -> None:
        """Write ``state`` (tensors, numbers, strings, lists and dicts of them)."""
        payload = {"format": FORMAT, "format_version": FORMAT_VERSION, "meta": self.meta, "state": state}
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        data = buffer.getbuffer()
        header = f"{FORMAT} sha256:{hashlib.sha256(data).hexdigest()}\n".encode("ascii")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, lambda f: (f.write(header), f.write(data)))


def load_checkpoint(path: str | os.PathLike) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a checkpoint written by :class:`Checkpointer`; returns ``(meta, state)``.

    The bytes are checked against the checksum of the file's first line, then loaded with
    ``torch.load(weights_only=True)``: tensors and plain values only, no code.

    Raises:
        MissingFileError: If ``path`` does not exist.
        InputError: If the file is not a readable graphae checkpoint, or it was damaged
            or changed since it was written.
    """
    from graphae.errors import MissingFileError

    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"{path}: no checkpoint there.")
    data = path.read_bytes()
    header = _HEADER.match(data[:_HEADER_BYTES])
    if header is None:
        raise InputError(
            f"{path}: not a graphae checkpoint with a checksum (written by graphae 0.2 or older, or "
            "damaged); start the run again without resuming."
        )
    body = memoryview(data)[_HEADER_BYTES:]
    if hashlib.sha256(body).hexdigest() != header[1].decode("ascii"):
        raise InputError(
            f"{path}: damaged or changed since it was written (its bytes do not match its checksum); "
            "start the run again without resuming."
        )
    try:
        payload = torch.load(io.BytesIO(body), map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"{path}: not a readable graphae checkpoint ({reason[:200]}).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise InputError(f"{path}: not a graphae checkpoint.")
    if payload.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"{path}: checkpoint format {payload.get('format_version')!r} is not the one this graphae "
            f"reads ({FORMAT_VERSION}); start the run again without resuming."
        )
    return payload.get("meta", {}), payload["state"]
