"""Checkpoints of ``graphae train --partitions DIR --out RUN --checkpoint-every K``, and ``--resume RUN``.

``RUN/checkpoint/`` holds the run's options (``runs.json``, checksummed, as a one-process
run's) and the checkpoints of :mod:`graphae.training.partitioned_checkpoint` (one shard per
rank, and ``complete.json``). ``torchrun --nproc-per-node P -m graphae train --resume RUN``
reads the options from there and carries on from the last complete checkpoint, to the same
embeddings as an uninterrupted run; the finished run folder keeps no checkpoint.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path
from typing import Any

from graphae import runfolder
from graphae.cli import runs
from graphae.cli.common import UserError, log
from graphae.errors import GraphaeError, InputError

# The options that identify what a partitioned run computes: a checkpoint must match them.
TRAINING_OPTIONS = ("hidden", "latent", "lr", "epochs", "seed", "eval_every", "chunk")


def state_path(out: str | Path) -> Path:
    return Path(out) / runfolder.CHECKPOINT_DIR / runfolder.RUN_STATE


def is_partitioned(out: str | Path) -> bool:
    """Whether ``out`` holds an unfinished partitioned run (its options name a partition folder)."""
    try:
        state = runfolder.read_state(state_path(out), legacy=True)
    except (OSError, InputError):
        return False
    return bool(state["args"].get("partitions"))


def resumed_args(args: argparse.Namespace, overrides: dict[str, Any]) -> argparse.Namespace:
    """The options of the partitioned run in ``args.resume`` (from its checksummed ``runs.json``),
    with the runtime ``overrides`` (``--quiet``, ``--threads``, ``--device``) given beside it."""
    out = Path(args.resume)
    state = runfolder.read_state(state_path(out))
    resumed = runs.resumed_args(state["args"], overrides)
    resumed.out, resumed.resume, resumed.overwrite = str(out), str(out), True
    resumed.handler, resumed.argv = args.handler, getattr(args, "argv", [])
    return resumed


def check_unfinished(out: str, overwrite: bool, resuming: bool) -> bool:
    """Whether ``out`` holds an unfinished partitioned run; refused unless resuming or ``overwrite``.
    A ``checkpoint`` entry that is not graphae's (no ``runs.json`` of graphae's) is always refused."""
    folder = Path(out) / runfolder.CHECKPOINT_DIR
    if folder.exists() or folder.is_symlink():
        try:
            runfolder.read_state(state_path(out), legacy=True)
        except (OSError, InputError):
            raise UserError(
                f"--out {out}: {folder} is not graphae's (no {runfolder.RUN_STATE} of graphae's in it), and "
                "graphae never replaces what it did not write; move it away or choose another folder"
            ) from None
    if not is_partitioned(out):
        if resuming:
            raise UserError(
                f"--resume {out}: no unfinished partitioned run there (no {runfolder.CHECKPOINT_DIR}/"
                f"{runfolder.RUN_STATE}); start one with `graphae train --partitions DIR --out {out} "
                "--checkpoint-every K`"
            )
        return False
    if not (resuming or overwrite):
        raise UserError(
            f"--out {out}: holds an unfinished partitioned run; continue it with `torchrun --nproc-per-node P "
            f"-m graphae train --resume {out}`, or pass --overwrite to start over"
        )
    return True


def start(args: argparse.Namespace, root: Path, manifest: dict[str, Any], rank: int, chunk: int) -> Any:
    """The checkpointer of this rank (``None`` without ``--checkpoint-every``); with every rank.

    A new run: rank 0 replaces the checkpoint folder (graphae's) with one holding the run's
    options. A resumed run: its last complete checkpoint is announced (and read in the fit).
    """
    from graphae.training.partitioned import all_gather
    from graphae.training.partitioned_checkpoint import PartitionedCheckpointer, read_complete

    if args.checkpoint_every is None:
        return None
    if args.out is None:
        raise UserError("--checkpoint-every needs --out DIR (the checkpoints go there)")
    folder = Path(args.out) / runfolder.CHECKPOINT_DIR
    options = {key: getattr(args, key, None) for key in TRAINING_OPTIONS if key != "chunk"}
    meta = {
        "world_size": manifest["parts"],
        "manifest": manifest["checksum"],
        "partitions": str(root.absolute()),
        "options": {**options, "chunk": chunk},
    }
    error, epoch = None, 0
    if rank == 0:
        try:
            if args.resume is None:
                shutil.rmtree(folder, ignore_errors=True)  # graphae's own: --overwrite was checked
                folder.mkdir(parents=True)
                runfolder.write_state(folder / runfolder.RUN_STATE, {"args": _options(args), "completed": []})
            else:
                complete = read_complete(folder, meta)
                epoch = 0 if complete is None else int(complete["epoch"])
        except (GraphaeError, OSError) as err:
            error = str(err) if isinstance(err, GraphaeError) else f"--out {args.out}: {err.strerror or err}"
    error = all_gather(error)[0]
    if error is not None:
        raise UserError(error)
    if args.resume is not None:
        log(args.quiet or rank != 0, f"resuming from epoch {epoch}" if epoch else "resuming from the start")
    return PartitionedCheckpointer(folder, args.checkpoint_every, meta, rank)


def finish(out: Path) -> None:
    """Rank 0, once the run folder is written: the finished run keeps no checkpoint."""
    shutil.rmtree(out / runfolder.CHECKPOINT_DIR, ignore_errors=True)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    """The run's options for ``runs.json``, the partition folder absolute (--resume from anywhere)."""
    options = {k: v for k, v in vars(args).items() if k not in ("handler", "argv")}
    for key in ("partitions", "config"):
        if options.get(key) is not None:
            options[key] = str(Path(options[key]).absolute())
    return options
