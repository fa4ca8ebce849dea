"""Progress on stderr while training: a training callback."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

Callback = Callable[[dict[str, Any]], None]


class EpochProgress:
    """A training callback that shows progress on stderr.

    A tqdm bar when tqdm is installed (the ``progress`` extra), else a line every
    tenth of the epochs. The bar closes after the last epoch, or on :meth:`close`.

    When training scores the edges of an epoch in chunks (a large graph, see
    :mod:`graphae.training.chunks`), the loop calls :meth:`track_edges` and progress is
    counted in edges, chunk by chunk: the bar shows edges per second and the time left
    (without tqdm, a line every ``interval`` seconds says the same).

    Args:
        label: Shown before the bar or line.
        epochs: Number of epochs expected.
        quiet: Show nothing.
        then: Another callback to call with each record.
        start: Epochs already done (a resumed run).
        interval: Seconds between lines without tqdm, when counting edges.
    """

    def __init__(
        self,
        label: str,
        epochs: int,
        quiet: bool = False,
        then: Callback | None = None,
        start: int = 0,
        interval: float = 10.0,
    ) -> None:
        self.label, self.epochs, self.quiet, self.then = label, epochs, quiet, then
        self.start, self.interval = start, interval
        self.bar: Any = None
        self.per_epoch: int | None = None  # edges per epoch, once counting edges
        self.edges = 0  # edges scored in this session
        self.epoch = start
        self.tick = self.last_line = time.perf_counter()
        if not quiet:
            self.bar = _tqdm(total=epochs, initial=start, desc=label, unit="epoch")

    def track_edges(self, per_epoch: int) -> Callable[[int], None] | None:
        """Count progress in edges, ``per_epoch`` per epoch; returns what to call with each chunk's edges."""
        if self.quiet:
            return None
        self.per_epoch = per_epoch
        if self.bar is not None:
            self.bar.close()
            self.bar = _tqdm(
                total=self.epochs * per_epoch, initial=self.start * per_epoch, desc=self.label, unit="edge"
            )
        self.tick = self.last_line = time.perf_counter()
        return self.advance

    def advance(self, edges: int) -> None:
        """``edges`` more edges scored."""
        self.edges += edges
        if self.bar is not None:
            self.bar.update(edges)
            return
        now = time.perf_counter()
        if self.per_epoch is not None and now - self.last_line >= self.interval:
            self.last_line = now
            print(f"{self.label}  epoch {self.epoch + 1:>4}  {self._rate(now)}", file=sys.stderr, flush=True)

    def validating(self, epoch: int) -> None:
        """Epoch ``epoch``'s steps are done and its validation pairs are being scored.

        Shown on a graph whose epochs are counted in edges (a large one, where scoring the
        validation pairs takes seconds): on the bar, or as a line without tqdm.
        """
        if self.quiet or self.per_epoch is None:
            return
        if self.bar is not None:
            self.bar.set_postfix_str("validating", refresh=True)
        else:
            print(f"{self.label}  epoch {epoch:>4}  validating", file=sys.stderr, flush=True)

    def _rate(self, now: float) -> str:
        """``"12.6M/255M edges, 1.52M edges/s, 2 min 46 s left"``."""
        per_epoch = self.per_epoch or 0
        done, total = self.start * per_epoch + self.edges, self.epochs * per_epoch
        speed = self.edges / max(now - self.tick, 1e-9)
        left = (total - done) / speed if speed > 0 else float("inf")
        return f"{_si(done)}/{_si(total)} edges, {_si(speed)} edges/s, {_duration(left)} left"

    def __call__(self, rec: dict[str, Any]) -> None:
        if not self.quiet:
            val = (
                f"  val AUC {100 * rec['val_auc']:.1f} AP {100 * rec['val_ap']:.1f}"
                if "val_auc" in rec
                else ""
            )
            # An official metric (MetricPairs: val_hits@20, val_mrr), the one selected on.
            for key in (k for k in rec if k.startswith("val_") and k not in ("val_auc", "val_ap")):
                val += f" {key[4:].replace('hits@', 'Hits@').replace('mrr', 'MRR')} {100 * rec[key]:.1f}"
            self.epoch = rec["epoch"]
            if self.bar is not None:
                # Counting edges, the chunks have moved the bar; the epoch ends at its mark.
                mark = rec["epoch"] if self.per_epoch is None else rec["epoch"] * self.per_epoch
                self.bar.update(mark - self.bar.n)
                self.bar.set_postfix_str(f"loss {rec['loss']:.4f}{val}", refresh=False)
                if rec["epoch"] == self.epochs:
                    self.close()
            elif (
                self.per_epoch is not None
                or rec["epoch"] % max(1, self.epochs // 10) == 0
                or rec["epoch"] == self.epochs
            ):
                rate = f"  {self._rate(time.perf_counter())}" if self.per_epoch is not None else ""
                print(
                    f"{self.label}  epoch {rec['epoch']:>4}  loss {rec['loss']:.4f}{val}{rate}",
                    file=sys.stderr,
                    flush=True,
                )
        if self.then is not None:
            self.then(rec)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _tqdm(total: int, initial: int, desc: str, unit: str) -> Any:
    """A tqdm bar on stderr (SI-scaled counts of edges), or ``None`` without tqdm."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    scale = unit == "edge"
    return tqdm(
        total=total, initial=initial, desc=desc, unit=unit, unit_scale=scale, leave=False, file=sys.stderr
    )


def _si(count: float) -> str:
    """``12600000`` -> ``"12.6M"``."""
    for suffix, unit in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if count >= unit:
            return f"{count / unit:.3g}{suffix}"
    return f"{count:.0f}"


def _duration(seconds: float) -> str:
    """``166`` -> ``"2 min 46 s"``."""
    if seconds == float("inf"):
        return "unknown time"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
