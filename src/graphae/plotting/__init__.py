"""Figures and an HTML report for a run folder written by ``graphae train --out``.

matplotlib is optional (``pip install "graphae[plot]"``) and imported only when a figure is
drawn. Figures are plain :class:`matplotlib.figure.Figure` objects on an Agg canvas, so
nothing here touches pyplot or the global backend.

Modules, each depending only on those above it:

- ``_mpl``: the matplotlib import, figure creation and PNG rendering;
- ``curves``: :func:`plot_history` and :func:`plot_roc_pr`;
- ``embedding``: :func:`project_2d` and :func:`plot_embedding`;
- ``report``: :func:`make_report`, which draws all of them into a run folder.

Example:
    >>> from graphae.plotting import make_report
    >>> make_report("runs/cora-gae")  # doctest: +SKIP
    PosixPath('runs/cora-gae/report.html')
"""

from graphae.plotting._mpl import DPI, MissingMatplotlibError, require_matplotlib
from graphae.plotting.curves import plot_history, plot_roc_pr
from graphae.plotting.embedding import METHODS, Projection, plot_embedding, project_2d
from graphae.plotting.report import REQUIRED_FILES, make_report

__all__ = [
    "DPI",
    "METHODS",
    "REQUIRED_FILES",
    "MissingMatplotlibError",
    "Projection",
    "make_report",
    "plot_embedding",
    "plot_history",
    "plot_roc_pr",
    "project_2d",
    "require_matplotlib",
]
