"""Per-epoch training curves and the ROC and precision-recall curves of the test edges."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from graphae.errors import InputError
from graphae.metrics import auc_ap
from graphae.plotting._mpl import literal_text, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["plot_history", "plot_roc_pr"]


def is_finite_number(value: Any) -> bool:
    """Whether a value read from JSON is a finite int or float (not ``None``, NaN or a string)."""
    return isinstance(value, int | float) and math.isfinite(value)


# --------------------------------------------------------------------------- training history


def _check_history(history: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    records = list(history)
    if not records:
        raise InputError("The 'history' parameter must hold at least one epoch. Got an empty list.")
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping) or "epoch" not in rec or "loss" not in rec:
            raise InputError(
                f"The 'history' parameter must be a list of dicts with 'epoch' and 'loss'. Entry {i} is {rec!r}."
            )
    return records


def plot_history(
    history: Sequence[Mapping[str, Any]],
    ax_loss: Axes | None = None,
    ax_val: Axes | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Plot the training loss and the validation AUC/AP per epoch.

    Args:
        history: Per-epoch records ``{"epoch", "loss"}``, with ``"val_auc"``/``"val_ap"``
            (fractions) on evaluated epochs, as in ``history.json``.
        ax_loss: Axes for the loss curve; a new two-panel figure when both axes are ``None``.
        ax_val: Axes for the validation scores, in percent.
        title: Figure title; ignored when drawing onto given axes.

    Returns:
        The figure holding the axes.

    Raises:
        InputError: If the history is empty or malformed, or only one of the axes is given
            (a ``ValueError``).
        MissingMatplotlibError: If no axes are given and matplotlib is not installed.
    """
    if (ax_loss is None) != (ax_val is None):
        raise InputError("Pass both 'ax_loss' and 'ax_val', or neither.")
    records = _check_history(history)
    if ax_loss is None or ax_val is None:
        fig = new_figure((10.0, 3.8))
        ax_loss, ax_val = fig.subplots(1, 2)
        if title:
            fig.suptitle(literal_text(title))
    epochs = [rec["epoch"] for rec in records]
    ax_loss.plot(epochs, [rec["loss"] for rec in records], color="C0")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Training loss")
    ax_loss.grid(alpha=0.3)

    curves = {}
    for key, name, color in (("val_auc", "AUC", "C1"), ("val_ap", "AP", "C2")):
        points = [(r["epoch"], 100 * r[key]) for r in records if is_finite_number(r.get(key))]
        if points:
            x, y = zip(*points, strict=True)
            marker = "o" if len(points) <= 40 else None
            ax_val.plot(x, y, color=color, marker=marker, markersize=3, label=f"validation {name}")
            curves[key] = points
    if "val_auc" in curves:
        best_epoch, best = max(curves["val_auc"], key=lambda p: p[1])
        ax_val.axvline(
            best_epoch, color="grey", ls=":", lw=1, label=f"best AUC {best:.1f}% (epoch {best_epoch})"
        )
    if curves:
        ax_val.legend(loc="lower right", fontsize="small")
    else:
        ax_val.text(
            0.5, 0.5, "no validation scores recorded", ha="center", va="center", transform=ax_val.transAxes
        )
    ax_val.set(xlabel="epoch", ylabel="score (%)", title="Validation link prediction")
    ax_val.grid(alpha=0.3)
    return ax_loss.figure


# --------------------------------------------------------------------------- ROC and PR curves


def _check_scores(scores: Any, name: str) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all():
        raise InputError(
            f"The '{name}' parameter must be a non-empty 1-D array of finite scores. "
            f"Got shape {arr.shape}{'' if arr.size == 0 or np.isfinite(arr).all() else ' with NaN or inf'}."
        )
    return arr


def plot_roc_pr(
    pos_scores: Any,
    neg_scores: Any,
    ax_roc: Axes | None = None,
    ax_pr: Axes | None = None,
    *,
    title: str | None = None,
) -> Figure:
    """Plot the ROC and precision-recall curves of scored edges against non-edges.

    Args:
        pos_scores: Scores of the true (test) edges, shape ``[P]``; probabilities or logits.
        neg_scores: Scores of the sampled non-edges, shape ``[Q]``.
        ax_roc: Axes for the ROC curve; a new two-panel figure when both axes are ``None``.
        ax_pr: Axes for the precision-recall curve.
        title: Figure title; ignored when drawing onto given axes.

    Returns:
        The figure holding the axes; the legends give the AUC and the AP in percent.

    Raises:
        InputError: If a score array is empty, not 1-D or not finite, or only one axes is
            given (a ``ValueError``).
        MissingMatplotlibError: If no axes are given and matplotlib is not installed.
    """
    from sklearn.metrics import precision_recall_curve, roc_curve

    if (ax_roc is None) != (ax_pr is None):
        raise InputError("Pass both 'ax_roc' and 'ax_pr', or neither.")
    pos, neg = _check_scores(pos_scores, "pos_scores"), _check_scores(neg_scores, "neg_scores")
    if ax_roc is None or ax_pr is None:
        fig = new_figure((9.5, 4.4))
        ax_roc, ax_pr = fig.subplots(1, 2)
        if title:
            fig.suptitle(literal_text(title))
    y = np.concatenate([np.ones(pos.size), np.zeros(neg.size)])
    s = np.concatenate([pos, neg])
    auc, ap = auc_ap(pos, neg)
    fpr, tpr, _ = roc_curve(y, s)
    precision, recall, _ = precision_recall_curve(y, s)
    prevalence = pos.size / y.size

    ax_roc.plot(fpr, tpr, color="C0", lw=1.8, label=f"AUC = {100 * auc:.2f}%")
    ax_roc.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="chance")
    ax_roc.set(
        xlim=(0, 1),
        ylim=(0, 1.01),
        xlabel="false positive rate",
        ylabel="true positive rate",
        title="ROC curve",
    )
    ax_pr.step(recall, precision, where="post", color="C1", lw=1.8, label=f"AP = {100 * ap:.2f}%")
    ax_pr.axhline(prevalence, color="grey", ls="--", lw=1, label=f"chance ({100 * prevalence:.0f}% edges)")
    ax_pr.set(
        xlim=(0, 1), ylim=(0, 1.01), xlabel="recall", ylabel="precision", title="Precision-recall curve"
    )
    for ax, loc in ((ax_roc, "lower right"), (ax_pr, "lower left")):
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
        ax.legend(loc=loc, title=f"{pos.size} edges, {neg.size} non-edges", fontsize="small")
    return ax_roc.figure
