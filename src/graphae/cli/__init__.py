"""The ``graphae`` command line: thin wrappers over the public functions.

One module per command: :mod:`~graphae.cli.train` (with :mod:`~graphae.cli.runs` for
runs, checkpoints and the run folder), :mod:`~graphae.cli.embed`,
:mod:`~graphae.cli.evaluate`, :mod:`~graphae.cli.predict`, :mod:`~graphae.cli.recommend`,
:mod:`~graphae.cli.serve`, :mod:`~graphae.cli.export`, :mod:`~graphae.cli.plot` and
:mod:`~graphae.cli.models`; :mod:`~graphae.cli.common` holds what they share.

Errors: a user error (bad option, file, folder; a missing optional package; a
diverging run) prints one line ``graphae: error: ...`` and exits with status 2. Any
other exception is a bug in graphae: it is reported as an internal error with its
traceback, exit status 1. Under torchrun, an error of a rank other than 0 says which
(``graphae: error (rank 3): ...``).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Any

from graphae.errors import GraphaeError


class _Parser(argparse.ArgumentParser):
    """Reports a bad option in one line, like every other user error (argparse adds a usage block).

    An option or argument whose metavar is ``DIR`` or ``FILE`` is a path: an empty one (an
    unset shell variable, ``--out "$OUT"``) is refused rather than read as the current folder.
    """

    def error(self, message: str) -> None:  # type: ignore[override]
        # A message that already names the help to read (a model's keys) gets no second pointer.
        hint = "" if "--help`" in message else f" (see `{self.prog} --help`)"
        self.exit(2, f"graphae: error: {message}{hint}\n")

    # Called with the arguments before they are parsed: ``graphae train`` adds the options of
    # the chosen model and the values of its --config file (see graphae.cli.config.prepare).
    prepare: Any = None

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:  # type: ignore[override]
        if self.prepare is not None:
            self.prepare(self, list(sys.argv[1:] if args is None else args))
        parsed, extra = super().parse_known_args(args, namespace)
        for action in self._actions:
            value = getattr(parsed, action.dest, None)
            if action.metavar in ("DIR", "FILE") and isinstance(value, str) and not value.strip():
                name = "/".join(action.option_strings) or action.metavar
                self.error(f"{name}: expected a path, got an empty string (an unset shell variable?)")
        return parsed, extra


def build_parser() -> argparse.ArgumentParser:
    from graphae import __version__
    from graphae.cli import embed, evaluate, export, models, partition, plot, predict, recommend, serve, train

    parser = _Parser(
        prog="graphae",
        description="Graph autoencoders (GAE, VGAE and more) for link prediction and node embeddings.",
    )
    parser.add_argument("--version", action="version", version=f"graphae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (train, partition, evaluate, embed, predict, recommend, serve, export, plot, models):
        command.add_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``graphae`` command; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_notice
            return args.handler(args)
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (GraphaeError, OSError) as err:
        # OSErrors come from the machine (disk full, permissions), not from graphae.
        print(f"graphae: error{_rank()}: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("graphae: interrupted", file=sys.stderr)
        return 130
    except Exception:  # a bug: show it, never disguise it as the user's error
        traceback.print_exc()
        print(
            "graphae: internal error: the traceback above is a bug in graphae, not in your input; "
            "please report it.",
            file=sys.stderr,
        )
        return 1


def entry() -> None:
    """The ``graphae`` process (console script, ``python -m graphae``): :func:`main`, then exit.

    Once pyarrow is loaded, the process ends with ``os._exit`` after flushing its output:
    a normal interpreter exit runs the C++ static destructors of pyarrow's thread pools
    and torch's, and that order aborts now and then (``terminate called without an active
    exception``, exit 134, seen under torchrun too; apache/arrow#34314). Everything graphae
    writes is on disk by then (written, flushed and renamed), and the process group of a
    torchrun launch is already shut down.
    """
    finish(main())


def finish(code: int) -> None:
    """End this process with ``code`` the way :func:`entry` does (``os._exit`` once pyarrow is loaded).

    Scripts that import graphae and run under torchrun (the tests' workers) end with it too.
    """
    if "pyarrow" not in sys.modules:
        sys.exit(code)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed or broken pipe: nothing more can be said there
            pass
    os._exit(code)


def _rank() -> str:
    """`` (rank r)`` in a process of a torchrun launch other than rank 0, else nothing."""
    from graphae.training import distributed

    try:
        rank = distributed.rank() if distributed.launched() else 0
    except GraphaeError:  # RANK is not an integer: say nothing of it here
        rank = 0
    return f" (rank {rank})" if rank else ""


def _one_line(err: BaseException) -> str:
    if isinstance(err, OSError) and not isinstance(err, GraphaeError) and err.filename is not None:
        return f"{err.filename}: {err.strerror or err}"
    return " ".join(str(err).split("\n"))


def _show_notice(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """Warnings from the library, shown as one line each instead of with source lines."""
    print(f"graphae: notice: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
