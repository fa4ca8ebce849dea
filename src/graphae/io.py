"""Writing files so that an interruption never leaves a half-written one behind, and
reading ``.npy``/``.npz`` arrays whose sizes are checked against the file before anything
is allocated (a damaged or hostile header must not make graphae allocate gigabytes)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tempfile
import tokenize
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

from graphae.errors import GraphaeError, InputError


def atomic_write(path: str | os.PathLike, write: Any, mode: str = "wb") -> None:
    """Write through ``write(file)`` to a temporary file, then rename it into place.

    The data is flushed to disk before the rename, so after a crash (even ``kill -9`` or
    a power cut) the file holds either its old content or the new one, whole. A failure
    leaves no partial file behind and the old file, if any, intact.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600 files; give the result the permissions of a normal new file.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError) and err.filename == tmp:
            err.filename = str(path)  # the user knows the file, not its temporary name
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Atomically write ``obj`` as indented JSON."""
    atomic_write(path, lambda f: json.dump(obj, f, indent=2), mode="w")


def write_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    """Atomically write a ``.npy`` file."""
    atomic_write(path, lambda f: np.save(f, array))


def write_text(path: str | os.PathLike, text: str) -> None:
    """Atomically write UTF-8 text."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")))


# Reading ----------------------------------------------------------------------------
def sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, as 64 hex digits (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _npy_header(handle: IO[bytes], size: int, where: str) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype of the ``.npy`` stream at ``handle``, checked against its ``size`` in bytes."""
    readers = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
    try:
        version = np.lib.format.read_magic(handle)
        if version not in readers:
            raise ValueError(f"unsupported .npy format version {version}")
        shape, _, dtype = readers[version](handle)
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, zlib.error, tokenize.TokenError) as err:
        raise InputError(f"{where}: not a readable .npy array ({err}).") from None
    if dtype.hasobject:
        raise InputError(f"{where}: holds Python objects; graphae reads numeric arrays only.")
    expected = handle.tell() + int(np.prod(shape, dtype=object)) * dtype.itemsize
    if expected != size:
        raise InputError(
            f"{where}: its header says {shape} values of type {dtype}, which is {expected} bytes, "
            f"but the data is {size} bytes: the file is damaged."
        )
    return shape, dtype


def read_npy(path: str | os.PathLike) -> np.ndarray:
    """A ``.npy`` array, refused (before allocating) when its header does not fit the file size.

    Raises:
        InputError: If the file is not a ``.npy`` array, holds objects, or its size is wrong.
    """
    try:
        with open(path, "rb") as handle:
            _npy_header(handle, os.fstat(handle.fileno()).st_size, str(path))
            handle.seek(0)
            return np.load(handle, allow_pickle=False)
    except InputError:
        raise
    except (ValueError, EOFError) as err:
        raise InputError(f"{path}: not a readable .npy array ({err}).") from None


@contextmanager
def _zip(path: str | os.PathLike) -> Iterator[zipfile.ZipFile]:
    try:
        with zipfile.ZipFile(path) as archive:
            yield archive
    except InputError:
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        EOFError,
        ValueError,
        NotImplementedError,
        zlib.error,
    ) as err:
        raise InputError(f"{path}: not a readable .npz archive ({err}).") from None


def read_npz(path: str | os.PathLike, max_bytes: int | None = None) -> dict[str, np.ndarray]:
    """Every array of a ``.npz`` archive, each header checked against its member's size first.

    Args:
        path: The archive.
        max_bytes: Refuse archives whose arrays would take more memory than this.

    Raises:
        InputError: If the archive or a member is damaged, or it is larger than ``max_bytes``.
    """
    arrays = {}
    with _zip(path) as archive:
        members = [m for m in archive.infolist() if m.filename.endswith(".npy")]
        total = sum(m.file_size for m in members)
        if max_bytes is not None and total > max_bytes:
            raise InputError(
                f"{path}: its arrays take {total} bytes, more than the {max_bytes} this file can hold "
                "here: the file is damaged."
            )
        for member in members:
            where = f"{path} ({member.filename})"
            with archive.open(member) as handle:
                _npy_header(handle, member.file_size, where)
            try:
                with archive.open(member) as handle:
                    arrays[member.filename[: -len(".npy")]] = np.lib.format.read_array(
                        handle, allow_pickle=False
                    )
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as err:
                raise InputError(f"{where}: not a readable array ({err}).") from None
    return arrays


def check_writable(out: str | os.PathLike) -> None:
    """Check that :func:`replace_folder` can write ``out``, by making (and removing) a folder there.

    Raises:
        OSError: From the file system, with ``out`` as its file name.
    """
    target = Path(os.path.realpath(out))
    ancestor = target.parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    places = [ancestor] + ([target] if target.is_dir() else [])  # beside it, or else inside it
    error: OSError | None = None
    for place in places:
        try:
            os.rmdir(tempfile.mkdtemp(dir=place, prefix=".graphae-probe-"))
            return
        except OSError as err:
            error = err
    raise OSError(error.errno, error.strerror, str(out))


# Replacing a folder ---------------------------------------------------------------------
def replace_folder(
    out: str | os.PathLike, write: Callable[[Path], None], ours: Callable[[str], bool]
) -> None:
    """Replace the folder ``out`` as a whole by what ``write(staging)`` writes.

    ``write`` fills a new sibling folder; the entries of the old ``out`` that ``ours``
    does not claim (the user's own files) are carried into it as hard links (copies where
    the file system has none); then the old folder is renamed away, the new one renamed
    in, and the old one deleted. A failure before the swap leaves ``out`` untouched; the
    new and old folders never mix. Where a sibling folder cannot be made (a parent that is
    not writable, ``out`` a mount point), the new files are staged inside ``out`` and
    moved in one by one instead, the files of the old run that ``ours`` claims removed
    (and all put back if a move fails).

    Errors name ``out``, never the temporary folders.
    """
    out = Path(out)
    target = Path(os.path.realpath(out))  # a symlink to a folder: replace the folder it points to
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = None
    if not (target.is_dir() and os.path.ismount(target)):
        try:
            staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.new-"))
        except OSError:
            pass
    if staging is None:
        target.mkdir(exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target, prefix=".staging-"))
        swap = False
    else:
        swap = True
    try:
        try:
            write(staging)
            if swap and target.is_dir():
                _carry(target, staging, ours)
        except (OSError, GraphaeError) as err:
            _hide(err, staging, out)
            raise
        if swap:
            _give_mode(staging, target)
            _swap(target, staging, out)
        else:
            _move_all(staging, target, ours)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _give_mode(staging: Path, target: Path) -> None:
    """Give the new folder what the old one had: its group, permissions, setgid and sticky bits.

    A folder new to ``target`` gets those of a plain ``mkdir`` (``mkdtemp`` makes it 0700).
    """
    if target.is_dir():
        old = target.stat()
        try:
            os.chown(staging, -1, old.st_gid)  # before chmod: a chown may clear the setgid bit
        except OSError:
            pass  # not a member of that group: the folder keeps the group it was made with
        os.chmod(staging, stat.S_IMODE(old.st_mode))
    else:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, (0o777 & ~umask) | (staging.stat().st_mode & stat.S_ISGID))


def _hide(err: BaseException, staging: Path, out: Path) -> None:
    """Make ``err`` name ``out`` where it names a file of the temporary ``staging`` folder."""
    inner = str(staging)
    for attr in ("filename", "filename2"):
        value = getattr(err, attr, None)
        if value is not None and os.fspath(value).startswith(inner):
            setattr(err, attr, str(out) + os.fspath(value)[len(inner) :])
    if not isinstance(err, OSError) and err.args and isinstance(err.args[0], str):
        err.args = (err.args[0].replace(inner, str(out)), *err.args[1:])


def _carry(old: Path, new: Path, ours: Callable[[str], bool]) -> None:
    """Hard-link (or copy) the entries of ``old`` that ``ours`` does not claim into ``new``."""
    for item in old.iterdir():
        if ours(item.name) or (new / item.name).exists():
            continue
        if item.is_symlink():
            os.symlink(os.readlink(item), new / item.name)
        elif item.is_dir():
            shutil.copytree(item, new / item.name, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(item, new / item.name)


def _link_or_copy(src: str | os.PathLike, dst: str | os.PathLike) -> None:
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _swap(target: Path, staging: Path, out: Path) -> None:
    if not target.exists():
        try:
            os.replace(staging, target)
        except OSError as err:
            raise OSError(err.errno, f"cannot create the folder: {err.strerror or err}", str(out)) from None
        _fsync_dir(target.parent)
        return
    old = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    old.rmdir()  # only its unique name is wanted
    try:
        os.replace(target, old)
    except OSError as err:
        raise OSError(err.errno, f"cannot replace the folder: {err.strerror or err}", str(out)) from None
    try:
        os.replace(staging, target)
    except BaseException as err:
        os.replace(old, target)
        if isinstance(err, OSError):
            raise OSError(err.errno, f"cannot replace the folder: {err.strerror or err}", str(out)) from None
        raise
    _fsync_dir(target.parent)
    shutil.rmtree(old, ignore_errors=True)


def _move_all(staging: Path, out: Path, ours: Callable[[str], bool]) -> None:
    """Move every file of ``staging`` into ``out``, removing the other files ``ours`` claims."""
    backup = Path(tempfile.mkdtemp(dir=out, prefix=".backup-"))
    new = {item.name for item in staging.iterdir()}
    stale = [
        item.name
        for item in out.iterdir()
        if item.is_file() and ours(item.name) and item.name not in new and not item.name.startswith(".")
    ]
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
