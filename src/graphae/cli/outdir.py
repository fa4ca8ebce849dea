"""The ``--out`` folder of ``graphae train``, checked before anything is read or trained."""

from __future__ import annotations

from pathlib import Path

from graphae import runfolder
from graphae.cli.common import UserError
from graphae.cli.runs import RunSession
from graphae.errors import InputError
from graphae.io import check_writable


def check_out(out: str | None, overwrite: bool) -> Path | None:
    """The checked ``--out`` folder of ``graphae train`` (``None`` without one): a folder
    graphae may write, never a user's folder or file it did not write."""
    if out is None:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(f"--out {out}: {ancestor} is not a folder")
    diverged = RunSession.diverged(path)
    if diverged is not None and not overwrite:
        raise UserError(
            f"--out {out}: {diverged} Resuming would repeat the same training; "
            "start over with other options and --overwrite"
        )
    if RunSession.unfinished(path) and not overwrite:
        raise UserError(
            f"--out {out}: holds an unfinished run; continue it with `graphae train --resume {out}`, "
            "or pass --overwrite to start over"
        )
    if path.is_dir() and any(path.iterdir()):
        if not overwrite:
            raise UserError(
                f"--out {out}: folder is not empty; pass --overwrite to replace the graphae run in it"
            )
        try:
            ours = runfolder.claimed(path)
            if ours is None:
                raise UserError(
                    f"--out {out}: --overwrite replaces only a graphae run folder, and this folder holds "
                    f"no graphae run (no {runfolder.METADATA} of graphae's); graphae never deletes what it "
                    "did not write: choose a new or empty folder"
                )
            runfolder.check_free(path, (*runfolder.ALL_FILES, runfolder.CHECKPOINT_DIR))
        except InputError as err:
            raise UserError(f"--out {out}: --overwrite refused: {err}") from None
    try:
        check_writable(path)
    except OSError as err:
        raise UserError(f"--out {out}: cannot write there ({err.strerror or err})") from None
    return path
