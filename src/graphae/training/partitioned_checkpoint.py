"""Checkpoints of a partitioned fit: one shard per rank, complete once every rank has written its own.

A checkpoint folder holds

=====================  ==========================================================================
``epoch-E/part-R.pt``  rank R's state after epoch E, written by rank R alone (atomically): its
                       model (the embedding rows it owns on a featureless graph, and the shared
                       weights, the same on every rank), its optimizer's state, its random stream
                       of negatives, its history, seconds and bytes sent
``complete.json``      written by rank 0 once every rank has written its shard: the epoch of the
                       last complete checkpoint, the world size, the partition manifest's
                       checksum, the training options and the SHA-256 of every shard
=====================  ==========================================================================

A shard folder that ``complete.json`` does not name (a crash while the ranks were writing)
is ignored on resume, in favour of the checkpoint it names, and removed then. Shards are
read with ``torch.load(weights_only=True)``: tensors and plain values only, no code.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import torch

from graphae.errors import InputError, MissingFileError
from graphae.io import atomic_write, sha256, write_json
from graphae.training.distributed import all_gather

if TYPE_CHECKING:
    from graphae.training.partitioned import PartitionedGCN, PartitionedResult

FORMAT = "graphae-partitioned-checkpoint"
FORMAT_VERSION = 1
COMPLETE = "complete.json"
_AGAIN = "start the run again with --overwrite"
_UNREADABLE = (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError)


def shard_name(epoch: int, rank: int) -> str:
    """Rank ``rank``'s shard of the checkpoint after epoch ``epoch``, relative to the folder."""
    return f"epoch-{epoch}/part-{rank}.pt"


class PartitionedCheckpointer:
    """Saves and restores one rank's training state; every rank of the group calls each method.

    Args:
        folder: The checkpoint folder (on a file system every rank shares).
        every: Save after every this many epochs (not after the last).
        meta: What a checkpoint must match to be resumed: ``world_size``, ``manifest`` (the
            partition manifest's checksum) and ``options`` (the training options), and
            ``partitions`` (the partition folder, named in messages).
        rank: This process's rank.
    """

    def __init__(self, folder: str | os.PathLike, every: int, meta: dict[str, Any], rank: int) -> None:
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise InputError(f"The 'checkpoint_every' parameter must be an int >= 1. Got {every!r}.")
        self.folder, self.every, self.meta, self.rank = Path(folder), every, meta, rank

    def due(self, epoch: int, epochs: int) -> bool:
        return epoch % self.every == 0 and epoch < epochs

    # Saving ----------------------------------------------------------------------
    def save(
        self,
        epoch: int,
        model: PartitionedGCN,
        optimizer: torch.optim.Optimizer,
        generator: np.random.Generator,
        result: PartitionedResult,
        sent: int,
    ) -> None:
        """Write this rank's shard; once every rank has, rank 0 marks the checkpoint complete.

        Raises:
            InputError: If a rank cannot write its shard (naming that rank and file); the last
                complete checkpoint stays as it was.
        """
        state = {
            "format": FORMAT,
            "rank": self.rank,
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "generator": generator.bit_generator.state,
            "history": result.history,
            "train_seconds": result.train_seconds,
            "sent": sent,
        }
        name = shard_name(epoch, self.rank)
        digest, size, error = None, None, None
        try:
            (self.folder / name).parent.mkdir(parents=True, exist_ok=True)
            digest = _write_hashed(self.folder / name, state)
            size = (self.folder / name).stat().st_size
        except OSError as err:
            error = f"{self.folder / name}: rank {self.rank} cannot write its checkpoint shard ({err.strerror or err})"
        shares = all_gather((digest, size, error))
        errors = [message for _, _, message in shares if message is not None]
        if errors:
            raise InputError(errors[0])
        problem = all_gather(self._complete(epoch, shares) if self.rank == 0 else None)[0]
        if problem is not None:
            raise InputError(problem)

    def _complete(self, epoch: int, shares: list[tuple[str, int, None]]) -> str | None:
        """Rank 0: mark the checkpoint complete, once it sees every shard; the problem if it cannot."""
        for r, (_, size, _) in enumerate(shares):
            path = self.folder / shard_name(epoch, r)
            if not path.is_file() or path.stat().st_size != size:
                return (
                    f"{path}: rank {r}'s checkpoint shard is missing or not what it wrote, as rank 0 sees it; "
                    "the checkpoint folder must be on a file system every rank shares"
                )
        shards = {shard_name(epoch, r): digest for r, (digest, _, _) in enumerate(shares)}
        record = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "epoch": epoch,
            **self.meta,
            "shards": shards,
        }
        try:
            write_json(self.folder / COMPLETE, {**record, "checksum": _digest(record)})
        except OSError as err:
            return f"{self.folder / COMPLETE}: cannot write it ({err.strerror or err})"
        _remove_others(self.folder, epoch)
        return None

    # Resuming --------------------------------------------------------------------
    def resume(
        self,
        model: PartitionedGCN,
        optimizer: torch.optim.Optimizer,
        generator: np.random.Generator,
        result: PartitionedResult,
    ) -> tuple[int, int]:
        """Restore this rank's state from the last complete checkpoint, if there is one.

        Returns:
            The epochs done and the bytes sent in them (``(0, 0)``: no complete checkpoint,
            a fresh start).

        Raises:
            InputError: If the checkpoint was made for other partitions, another world size or
                other options, or a shard is damaged (any rank's error, on every rank).
            MissingFileError: If a shard it names is missing.
        """
        complete, state, error = None, None, None
        try:
            complete = read_complete(self.folder, self.meta)
            if complete is not None:
                state = self._load_shard(complete)
                model.load_state_dict(state["model"])
                optimizer.load_state_dict(state["optimizer"])
                generator.bit_generator.state = state["generator"]
        except (InputError, MissingFileError) as err:
            error = err
        except (RuntimeError, ValueError, KeyError, TypeError) as err:  # a state of other shapes or keys
            path = self.folder / shard_name(int(complete["epoch"]), self.rank)
            error = InputError(f"{path}: does not fit this run ({str(err).splitlines()[0][:200]}); {_AGAIN}.")
        found = None if error is None else (type(error).__name__, str(error))
        shares = all_gather((found, None if complete is None else int(complete["epoch"])))
        for found, _ in shares:
            if found is not None:
                raise (MissingFileError if found[0] == "MissingFileError" else InputError)(found[1])
        if len({epoch for _, epoch in shares}) > 1:
            seen = ", ".join(
                f"rank {r}: {'none' if e is None else f'epoch {e}'}" for r, (_, e) in enumerate(shares)
            )
            raise InputError(
                f"{self.folder / COMPLETE}: the ranks see different checkpoints ({seen}); the checkpoint "
                "folder must be on a file system every rank shares"
            )
        if complete is None:
            return 0, 0
        if self.rank == 0:
            _remove_others(self.folder, int(complete["epoch"]))  # every rank has read its shard
        result.history = list(state["history"])
        result.train_seconds = float(state["train_seconds"])
        return int(state["epoch"]), int(state["sent"])

    def _load_shard(self, complete: dict[str, Any]) -> dict[str, Any]:
        epoch = int(complete["epoch"])
        name = shard_name(epoch, self.rank)
        path = self.folder / name
        if not path.is_file():
            raise MissingFileError(
                f"{path}: missing, though {self.folder / COMPLETE} names it (rank {self.rank}'s shard "
                f"of the epoch-{epoch} checkpoint); {_AGAIN}."
            )
        if sha256(path) != complete["shards"].get(name):
            raise InputError(
                f"{path}: damaged or changed since it was written (its SHA-256 differs from "
                f"{COMPLETE}'s); {_AGAIN}."
            )
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except _UNREADABLE as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise InputError(f"{path}: not a readable checkpoint shard ({reason[:200]}); {_AGAIN}.") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT:
            raise InputError(f"{path}: not a graphae checkpoint shard; {_AGAIN}.")
        if (state.get("rank"), state.get("epoch")) != (self.rank, epoch):
            raise InputError(
                f"{path}: holds rank {state.get('rank')}'s state after epoch {state.get('epoch')}, "
                f"expected rank {self.rank}'s after epoch {epoch}; {_AGAIN}."
            )
        return state


def read_complete(folder: str | os.PathLike, meta: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The record of the last complete checkpoint in ``folder`` (``None``: there is none), checked
    against its checksum and, given ``meta``, against what this run is.

    Raises:
        InputError: If the record is damaged, or was made with another world size, another
            partition folder (manifest checksum) or other training options than ``meta``'s.
    """
    path = Path(folder) / COMPLETE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise InputError(f"{path}: not a readable checkpoint record ({err}); {_AGAIN}.") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise InputError(f"{path}: not the record of a graphae partitioned checkpoint; {_AGAIN}.")
    if record.get("format_version") != FORMAT_VERSION:
        raise InputError(
            f"{path}: checkpoint format {record.get('format_version')!r} is not the one this graphae "
            f"reads ({FORMAT_VERSION}); {_AGAIN}."
        )
    if record.get("checksum") != _digest({k: v for k, v in record.items() if k != "checksum"}):
        raise InputError(
            f"{path}: changed since graphae wrote it (it does not match its checksum); {_AGAIN}."
        )
    if meta is not None:
        _check_meta(path, record, meta)
    return record


def _check_meta(path: Path, record: dict[str, Any], meta: dict[str, Any]) -> None:
    """Refuse a checkpoint made with another world size, other partitions or other options."""
    if record.get("world_size") != meta["world_size"]:
        raise InputError(
            f"{path}: the checkpoint was made by {record.get('world_size')} processes, this run has "
            f"{meta['world_size']}; resume with torchrun --nproc-per-node {record.get('world_size')} "
            f"and the partitions the run started with, or {_AGAIN}."
        )
    if record.get("manifest") != meta["manifest"]:
        raise InputError(
            f"{path}: the checkpoint was made with other partitions than {meta.get('partitions')} holds "
            f"now (manifest checksum {str(record.get('manifest'))[:16]} then, {str(meta['manifest'])[:16]} "
            f"now); resume with the partitions the run started with, or {_AGAIN}."
        )
    saved, now = record.get("options"), meta["options"]
    if saved != now:
        saved = saved if isinstance(saved, dict) else {}
        diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        shown = ", ".join(f"{k} {saved.get(k)!r} there, {now.get(k)!r} here" for k in diff[:3])
        raise InputError(
            f"{path}: the checkpoint was made with other training options ({shown}); resume with the "
            f"options the run started with, or {_AGAIN}."
        )


class _Hashing:
    """A file that hashes what is written through it (so a shard is never held twice in memory)."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle, self.hash = handle, hashlib.sha256()

    def write(self, data: Any) -> int:
        self.hash.update(data)
        return self.handle.write(data)

    def flush(self) -> None:
        self.handle.flush()


def _write_hashed(path: Path, state: dict[str, Any]) -> str:
    """Write ``torch.save(state)`` to ``path`` atomically; returns the SHA-256 of its bytes."""
    box: list[str] = []

    def write(handle: BinaryIO) -> None:
        hashing = _Hashing(handle)
        torch.save(state, hashing)
        box.append(hashing.hash.hexdigest())

    atomic_write(path, write)
    return box[0]


def _remove_others(folder: Path, epoch: int) -> None:
    """Remove every shard folder but epoch ``epoch``'s: older checkpoints, and half-written later ones."""
    keep = Path(shard_name(epoch, 0)).parent.name
    for item in folder.glob("epoch-*"):
        if item.is_dir() and item.name != keep:
            shutil.rmtree(item, ignore_errors=True)


def _digest(record: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode("utf-8")).hexdigest()
