"""Reading ``torch.save`` files of numpy arrays without torch and without running their code.

OGB's split files (``split/<name>/valid.pt``...) are dicts of numpy arrays written by
``torch.save``. In torch's legacy format such a file is a sequence of pickles: a magic
number, the format's protocol version, a dict of system information, the object itself,
then the keys of the tensor storages that follow (none when it holds only arrays). Newer
files are zip archives whose ``data.pkl`` holds the object. Either way the object is
unpickled by :func:`graphae.data.safepickle.restricted_unpickle`, admitting numpy's array
reconstructors alone: a file that names any other global, or a torch tensor, is refused
before anything it names is imported or called.
"""

from __future__ import annotations

import codecs
import os
import zipfile
from functools import cache
from pathlib import Path
from typing import Any

from graphae.data.safepickle import (
    DamagedPickleError,
    UnsafePickleError,
    allowed_globals,
    restricted_unpickle,
)

__all__ = ["read_torch_arrays"]

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


def read_torch_arrays(path: str | os.PathLike[str]) -> Any:
    """The object a ``torch.save`` file of numpy arrays holds (a dict of arrays for OGB's splits).

    Raises:
        UnsafePickleError: If the file asks for anything but numpy arrays (an
            :class:`~graphae.errors.InputError`); nothing it asks for is run.
        DamagedPickleError: If it is not a readable torch file.
        FileNotFoundError: If ``path`` does not exist.
    """
    path = Path(path)
    if zipfile.is_zipfile(path):
        return _read_zip(path)
    with path.open("rb") as file:
        header = [restricted_unpickle(file, path, {}) for _ in range(3)]
        if header[0] != LEGACY_MAGIC or header[1] != LEGACY_PROTOCOL or not isinstance(header[2], dict):
            raise DamagedPickleError(f"{path}: not a torch.save file (its header is not torch's).")
        obj = restricted_unpickle(file, path, _array_globals())
        keys = restricted_unpickle(file, path, {})
    if keys != []:
        raise UnsafePickleError(f"Refusing to load {path}: it holds torch tensors, not numpy arrays.")
    return obj


def _read_zip(path: Path) -> Any:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
            if len(names) != 1:
                raise DamagedPickleError(f"{path}: not a torch.save file (no data.pkl in the zip archive).")
            with archive.open(names[0]) as file:
                return restricted_unpickle(file, path, _array_globals())
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DamagedPickleError(f"{path}: damaged zip archive ({err}).") from None


def _latin1_encode(text: str, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes, latin-1 only."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise DamagedPickleError("a pickled bytes object that is not latin-1 text")
    return codecs.encode(text, "latin1")


@cache
def _array_globals() -> dict[tuple[str, str], Any]:
    table = {key: value for key, value in allowed_globals().items() if key[0].startswith("numpy")}
    table[("_codecs", "encode")] = _latin1_encode
    return table
