"""Wall seconds and peak memory of the phases of a run: read, split, training, evaluation, ...

:class:`Phases` records, for each phase, its wall-clock seconds and the process's peak
resident memory so far (``resource.getrusage``'s ``ru_maxrss``: the peak of the phase when
it sets a new one). ``graphae train`` writes the records to ``metrics.json`` (``phases``)
and, on a large graph, shows each phase on stderr as it starts and ends, so that a wait of
minutes outside the training epochs is explained.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

GIB = 2**30
# From this many edges `graphae train` announces each phase on stderr (a split or an
# evaluation of 1M edges takes seconds; below, they are instant).
LOUD_EDGES = 1_000_000


def peak_rss_bytes() -> int | None:
    """The peak resident memory of this process so far, in bytes; ``None`` where unknown."""
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # bytes on macOS, KiB on Linux


class Phases:
    """A recorder of phases, each ``{"phase", "seconds", "peak_rss_gib"}`` (plus ``"run"`` when set).

    Args:
        verbose: Print a line on stderr when each phase starts and ends.
        label: Put before each line (``"run 1/3"``).

    Example:
        >>> phases = Phases()
        >>> with phases("split"):
        ...     pass
        >>> phases.records[0]["phase"]
        'split'
    """

    def __init__(self, verbose: bool = False, label: str = "") -> None:
        self.verbose, self.label = verbose, label
        self.run: int | None = None  # the run of --runs the phases belong to
        self.records: list[dict[str, Any]] = []

    @contextmanager
    def __call__(self, name: str, doing: str | None = None) -> Iterator[None]:
        """Record the phase ``name`` around the ``with`` block; ``doing``: its start line."""
        if self.verbose:
            self._line(f"{doing or name} ...")
        tick = time.perf_counter()
        yield
        record: dict[str, Any] = {"phase": name, "seconds": round(time.perf_counter() - tick, 3)}
        peak = peak_rss_bytes()
        record["peak_rss_gib"] = None if peak is None else round(peak / GIB, 3)
        if self.run is not None:
            record["run"] = self.run
        self.records.append(record)
        if self.verbose:
            self._line(f"{name}: {describe(record)}")

    def _line(self, text: str) -> None:
        line = f"{self.label}  {text}" if self.label else text
        try:
            from tqdm.auto import tqdm
        except ImportError:
            print(line, file=sys.stderr, flush=True)
        else:
            tqdm.write(line, file=sys.stderr)  # above a training bar, not through it


def describe(record: dict[str, Any]) -> str:
    """``"3.2 s, peak RSS 1.21 GiB"``."""
    peak = record.get("peak_rss_gib")
    return f"{record['seconds']:.1f} s" + ("" if peak is None else f", peak RSS {peak:.2f} GiB")
