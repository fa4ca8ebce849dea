"""matplotlib, imported only when a figure is drawn.

matplotlib is an optional dependency (``pip install "graphae[plot]"``), so nothing in this
package imports it at module level. Figures are plain :class:`matplotlib.figure.Figure`
objects attached to an Agg canvas: pyplot and the global backend are never touched.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from graphae.errors import MissingDependencyError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 120


class MissingMatplotlibError(MissingDependencyError):
    """Raised when a plotting function is called without matplotlib installed."""


def figure_classes() -> tuple[type, type]:
    """Import matplotlib's figure and Agg canvas classes.

    Returns:
        ``(Figure, FigureCanvasAgg)``.

    Raises:
        MissingMatplotlibError: If matplotlib is not installed.
    """
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise MissingMatplotlibError('plotting needs matplotlib: pip install "graphae[plot]"') from err
    return Figure, FigureCanvasAgg


def require_matplotlib() -> None:
    """Raise :class:`MissingMatplotlibError` now if matplotlib is missing.

    Raises:
        MissingMatplotlibError: If matplotlib is not installed.
    """
    figure_classes()


def new_figure(figsize: tuple[float, float]) -> Figure:
    """A new figure with a constrained layout on its own Agg canvas.

    Args:
        figsize: Width and height in inches.

    Returns:
        The figure, drawn at :data:`DPI` dots per inch.

    Raises:
        MissingMatplotlibError: If matplotlib is not installed.
    """
    figure_cls, canvas_cls = figure_classes()
    fig = figure_cls(figsize=figsize, dpi=DPI, layout="constrained")
    canvas_cls(fig)
    return fig


def literal_text(s: str) -> str:
    """Keep user text (data set names) literal: a '$' would start matplotlib mathtext."""
    return s.replace("$", r"\$")


def png_bytes(fig: Figure) -> bytes:
    """The figure rendered as PNG at :data:`DPI` dots per inch."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
