"""Progress on stderr while training: a training callback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Callback = Callable[[dict[str, Any]], None]


class EpochProgress:
    """A training callback that shows progress on stderr.

    A tqdm bar when tqdm is installed (the ``progress`` extra), else a line every
    tenth of the epochs. The bar closes after the last epoch, or on :meth:`close`.

    Args:
        label: Shown before the bar or line.
        epochs: Number of epochs expected.
        quiet: Show nothing.
        then: Another callback to call with each record.
        start: Epochs already done (a resumed run).
    """

    def __init__(
        self,
        label: str,
        epochs: int,
        quiet: bool = False,
        then: Callback | None = None,
        start: int = 0,
    ) -> None:
        self.label, self.epochs, self.quiet, self.then = label, epochs, quiet, then
        self.bar = None
        if quiet:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=epochs, initial=start, desc=label, unit="epoch", leave=False, file=sys.stderr)

    def __call__(self, rec: dict[str, Any]) -> None:
        if not self.quiet:
            val = (
                f"  val AUC {100 * rec['val_auc']:.1f} AP {100 * rec['val_ap']:.1f}"
                if "val_auc" in rec
                else ""
            )
            if self.bar is not None:
                self.bar.update(1)
                self.bar.set_postfix_str(f"loss {rec['loss']:.4f}{val}", refresh=False)
                if rec["epoch"] == self.epochs:
                    self.close()
            elif rec["epoch"] % max(1, self.epochs // 10) == 0 or rec["epoch"] == self.epochs:
                print(
                    f"{self.label}  epoch {rec['epoch']:>4}  loss {rec['loss']:.4f}{val}",
                    file=sys.stderr,
                    flush=True,
                )
        if self.then is not None:
            self.then(rec)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
