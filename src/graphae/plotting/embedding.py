"""A 2-D map of node embeddings (t-SNE or PCA), coloured by label or by k-means cluster."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from graphae.errors import InputError
from graphae.metrics_nodes import kmeans_labels
from graphae.plotting._mpl import literal_text, new_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["METHODS", "Projection", "plot_embedding", "project_2d"]

METHODS = ("auto", "tsne", "pca")
_UNKNOWN_COLOR = "#b0b0b0"
_MAX_LEGEND_CLASSES = 20


class Projection(NamedTuple):
    """A 2-D map of (a sample of) the nodes.

    Shapes:
        coords: ``[n, 2]``; index: ``[n]``, the rows of the embedding that were mapped.
    """

    coords: np.ndarray
    index: np.ndarray
    method: str
    axis_labels: tuple[str, str]


def project_2d(
    embeddings: Any, method: str = "auto", *, random_state: int = 0, max_points: int = 5000
) -> Projection:
    """Map node embeddings to 2-D with t-SNE or PCA.

    At most ``max_points`` nodes are kept, drawn without replacement with ``random_state``.
    ``"auto"`` keeps a 2-D embedding as it is, uses PCA below 50 nodes (too few for t-SNE's
    neighbourhoods) and t-SNE otherwise.

    Args:
        embeddings: Array of shape ``[N, d]``, ``N >= 3``, ``d >= 2``.
        method: ``"auto"``, ``"tsne"`` or ``"pca"``.
        random_state: Seed of the sample and of t-SNE.
        max_points: Largest number of nodes to map.

    Returns:
        A :class:`Projection`; ``method`` is ``"tsne"``, ``"pca"`` or ``"identity"``.

    Raises:
        InputError: On an unknown method, a bad ``max_points`` or an unusable embedding
            (a ``ValueError``).
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    z = _check_embeddings(embeddings)
    if method not in METHODS:
        raise InputError(f"The 'method' parameter must be one of {METHODS}. Got {method!r}.")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 3:
        raise InputError(f"The 'max_points' parameter must be an int >= 3. Got {max_points!r}.")
    index = np.arange(z.shape[0])
    if z.shape[0] > max_points:
        rng = np.random.default_rng(random_state)
        index = np.sort(rng.choice(z.shape[0], size=max_points, replace=False))
    x = z[index]
    if method == "auto":
        method = "identity" if z.shape[1] == 2 else "pca" if x.shape[0] < 50 else "tsne"
    if method == "identity":
        return Projection(x.copy(), index, method, ("z 1", "z 2"))
    if method == "pca":
        pca = PCA(n_components=2, random_state=random_state)
        coords = pca.fit_transform(x)
        ratio = 100 * pca.explained_variance_ratio_
        return Projection(
            coords, index, method, (f"PC 1 ({ratio[0]:.0f}% var.)", f"PC 2 ({ratio[1]:.0f}% var.)")
        )
    perplexity = min(30.0, max(1.0, (x.shape[0] - 1) / 3))
    tsne = TSNE(
        n_components=2, perplexity=perplexity, init="pca", learning_rate="auto", random_state=random_state
    )
    with _one_openmp_thread():
        coords = tsne.fit_transform(x)
    return Projection(coords, index, method, ("t-SNE 1", "t-SNE 2"))


def _one_openmp_thread() -> Any:
    """Run scikit-learn's OpenMP loop of t-SNE on one thread (k-means does the same).

    OpenMP threads spin while they wait, so on a machine whose cores are busy these small
    problems ran 10 to 60 times slower on two threads than on one (120 to 2000 nodes).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _check_embeddings(embeddings: Any) -> np.ndarray:
    z = np.asarray(embeddings, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 3 or z.shape[1] < 2:
        raise InputError(
            f"The 'embeddings' parameter must have shape [N, d] with N >= 3 nodes and d >= 2. Got {z.shape}."
        )
    if not np.isfinite(z).all():
        raise InputError("The 'embeddings' parameter holds NaN or inf; was training diverging?")
    return z


def _check_labels(labels: Any, n: int) -> np.ndarray | None:
    if labels is None:
        return None
    y = np.asarray(labels)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise InputError(
            f"The 'labels' parameter must be an integer array of shape ({n},), -1 for unknown. "
            f"Got {y.dtype} with shape {y.shape}."
        )
    return y if (y >= 0).any() else None


def plot_embedding(
    embeddings: Any,
    labels: Any = None,
    method: str = "auto",
    random_state: int = 0,
    max_points: int = 5000,
    *,
    n_clusters: int | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Draw a 2-D map of the node embeddings, coloured by label or by k-means cluster.

    Nodes labelled -1 are drawn in grey as "unknown". Without labels (or with only -1), the
    nodes are coloured by seeded k-means on the full embedding; the axes title says which.

    Args:
        embeddings: Array of shape ``[N, d]``.
        labels: Optional integer labels of shape ``[N]``; -1 means unknown.
        method: ``"auto"``, ``"tsne"`` or ``"pca"``; see :func:`project_2d`.
        random_state: Seed of the node sample, t-SNE and k-means.
        max_points: Largest number of nodes drawn.
        n_clusters: Number of k-means clusters; by default ``round(sqrt(n / 2))`` within [2, 8].
        ax: Axes to draw on; a new figure when ``None``.
        title: Figure title (for example the data set); ignored when ``ax`` is given.

    Returns:
        The figure holding the axes.

    Raises:
        InputError: On bad embeddings, labels, method, ``max_points`` or ``n_clusters``
            (a ``ValueError``).
        MissingMatplotlibError: If no ``ax`` is given and matplotlib is not installed.
    """
    z = _check_embeddings(embeddings)
    y = _check_labels(labels, z.shape[0])
    proj = project_2d(z, method, random_state=random_state, max_points=max_points)
    n = proj.index.size
    if y is not None:
        groups, colour_by = y[proj.index], "label"
    else:
        k = n_clusters if n_clusters is not None else min(8, max(2, round(math.sqrt(n / 2))))
        if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= n:
            raise InputError(f"The 'n_clusters' parameter must be an int in [2, {n}]. Got {n_clusters!r}.")
        groups, colour_by = kmeans_labels(z[proj.index], k, random_state), f"k-means cluster (k = {k})"
    if ax is None:
        fig = new_figure((7.6, 6.2))
        ax = fig.subplots()
        if title:
            fig.suptitle(literal_text(title))
    _scatter_groups(ax, proj.coords, groups, legend_title=colour_by.split(" (")[0])
    what = {"tsne": "t-SNE", "pca": "PCA", "identity": "2-D embedding"}[proj.method]
    nodes = f"{n} nodes" if n == z.shape[0] else f"{n} of {z.shape[0]} nodes (random sample)"
    ax.set_title(f"{what} of {nodes}, coloured by {colour_by}", fontsize="medium")
    ax.set(xlabel=proj.axis_labels[0], ylabel=proj.axis_labels[1])
    if proj.method == "tsne":
        ax.set(xticks=[], yticks=[])  # t-SNE coordinates carry no units
    return ax.figure


def _scatter_groups(ax: Axes, coords: np.ndarray, groups: np.ndarray, legend_title: str) -> None:
    """One colour per group with a legend, or a colour bar when there are too many groups."""
    size = float(np.clip(8000 / len(coords), 3, 25))
    style = {"s": size, "alpha": 0.8, "linewidths": 0}
    unknown = groups < 0
    if unknown.any():
        ax.scatter(*coords[unknown].T, color=_UNKNOWN_COLOR, label="unknown", **style)
    classes = np.unique(groups[~unknown])
    if classes.size > _MAX_LEGEND_CLASSES:
        points = ax.scatter(*coords[~unknown].T, c=groups[~unknown], cmap="turbo", **style)
        ax.figure.colorbar(points, ax=ax, label=legend_title)
        return
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if classes.size <= 10 else "tab20"]
    for i, c in enumerate(classes):
        mask = groups == c
        ax.scatter(*coords[mask].T, color=cmap(i), label=str(c), **style)
    ax.legend(
        title=legend_title,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
        fontsize="small",
        markerscale=max(1.0, 30 / size) ** 0.5,
        frameon=False,
    )
