"""Figures and an HTML report for a run folder written by ``graphae train --out``.

matplotlib is optional (``pip install "graphae[plot]"``) and imported only when a figure is
drawn. Figures are plain :class:`matplotlib.figure.Figure` objects on an Agg canvas, so
nothing here touches pyplot or the global backend.

Example:
    >>> from graphae.plotting import make_report
    >>> make_report("runs/cora-gae")  # doctest: +SKIP
    PosixPath('runs/cora-gae/report.html')
"""

from __future__ import annotations

import html
import io
import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from graphae.io import atomic_write
from graphae.metrics import auc_ap

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

DPI = 120
METHODS = ("auto", "tsne", "pca")
REQUIRED_FILES = ("metrics.json", "history.json", "embeddings.npy")
_UNKNOWN_COLOR = "#b0b0b0"
_MAX_LEGEND_CLASSES = 20


class MissingMatplotlibError(ImportError):
    """Raised when a plotting function is called without matplotlib installed."""


def _matplotlib() -> tuple[type, type]:
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise MissingMatplotlibError('plotting needs matplotlib: pip install "graphae[plot]"') from err
    return Figure, FigureCanvasAgg


def require_matplotlib() -> None:
    """Raise :class:`MissingMatplotlibError` now if matplotlib is missing."""
    _matplotlib()


def _new_figure(figsize: tuple[float, float]) -> Figure:
    figure_cls, canvas_cls = _matplotlib()
    fig = figure_cls(figsize=figsize, dpi=DPI, layout="constrained")
    canvas_cls(fig)
    return fig


def _text(s: str) -> str:
    """Keep user text (data set names) literal: a '$' would start matplotlib mathtext."""
    return s.replace("$", r"\$")


def _png_bytes(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


# --------------------------------------------------------------------------- training history


def _check_history(history: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    records = list(history)
    if not records:
        raise ValueError("The 'history' parameter must hold at least one epoch. Got an empty list.")
    for i, rec in enumerate(records):
        if not isinstance(rec, Mapping) or "epoch" not in rec or "loss" not in rec:
            raise ValueError(
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
        ValueError: If the history is empty or malformed, or only one of the axes is given.
    """
    if (ax_loss is None) != (ax_val is None):
        raise ValueError("Pass both 'ax_loss' and 'ax_val', or neither.")
    records = _check_history(history)
    if ax_loss is None or ax_val is None:
        fig = _new_figure((10.0, 3.8))
        ax_loss, ax_val = fig.subplots(1, 2)
        if title:
            fig.suptitle(_text(title))
    epochs = [rec["epoch"] for rec in records]
    ax_loss.plot(epochs, [rec["loss"] for rec in records], color="C0")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Training loss")
    ax_loss.grid(alpha=0.3)

    curves = {}
    for key, name, color in (("val_auc", "AUC", "C1"), ("val_ap", "AP", "C2")):
        points = [(r["epoch"], 100 * r[key]) for r in records if _finite(r.get(key))]
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


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


# --------------------------------------------------------------------------- ROC and PR curves


def _check_scores(scores: Any, name: str) -> np.ndarray:
    arr = np.asarray(scores, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0 or not np.isfinite(arr).all():
        raise ValueError(
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
        ValueError: If a score array is empty, not 1-D or not finite, or only one axes is given.
    """
    from sklearn.metrics import precision_recall_curve, roc_curve

    if (ax_roc is None) != (ax_pr is None):
        raise ValueError("Pass both 'ax_roc' and 'ax_pr', or neither.")
    pos, neg = _check_scores(pos_scores, "pos_scores"), _check_scores(neg_scores, "neg_scores")
    if ax_roc is None or ax_pr is None:
        fig = _new_figure((9.5, 4.4))
        ax_roc, ax_pr = fig.subplots(1, 2)
        if title:
            fig.suptitle(_text(title))
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


# --------------------------------------------------------------------------- embedding map


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
        ValueError: On an unknown method, a bad ``max_points`` or an unusable embedding.
    """
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    z = _check_embeddings(embeddings)
    if method not in METHODS:
        raise ValueError(f"The 'method' parameter must be one of {METHODS}. Got {method!r}.")
    if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 3:
        raise ValueError(f"The 'max_points' parameter must be an int >= 3. Got {max_points!r}.")
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
    """Run scikit-learn's OpenMP loops (t-SNE, k-means) on one thread.

    OpenMP threads spin while they wait, so on a machine whose cores are busy these small
    problems ran 10 to 60 times slower on two threads than on one (120 to 2000 nodes).
    """
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="openmp")


def _check_embeddings(embeddings: Any) -> np.ndarray:
    z = np.asarray(embeddings, dtype=np.float64)
    if z.ndim != 2 or z.shape[0] < 3 or z.shape[1] < 2:
        raise ValueError(
            f"The 'embeddings' parameter must have shape [N, d] with N >= 3 nodes and d >= 2. Got {z.shape}."
        )
    if not np.isfinite(z).all():
        raise ValueError("The 'embeddings' parameter holds NaN or inf; was training diverging?")
    return z


def _check_labels(labels: Any, n: int) -> np.ndarray | None:
    if labels is None:
        return None
    y = np.asarray(labels)
    if y.shape != (n,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(
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
        ValueError: On bad embeddings, labels, method, ``max_points`` or ``n_clusters``.
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
            raise ValueError(f"The 'n_clusters' parameter must be an int in [2, {n}]. Got {n_clusters!r}.")
        groups, colour_by = _kmeans(z[proj.index], k, random_state), f"k-means cluster (k = {k})"
    if ax is None:
        fig = _new_figure((7.6, 6.2))
        ax = fig.subplots()
        if title:
            fig.suptitle(_text(title))
    _scatter_groups(ax, proj.coords, groups, legend_title=colour_by.split(" (")[0])
    what = {"tsne": "t-SNE", "pca": "PCA", "identity": "2-D embedding"}[proj.method]
    nodes = f"{n} nodes" if n == z.shape[0] else f"{n} of {z.shape[0]} nodes (random sample)"
    ax.set_title(f"{what} of {nodes}, coloured by {colour_by}", fontsize="medium")
    ax.set(xlabel=proj.axis_labels[0], ylabel=proj.axis_labels[1])
    if proj.method == "tsne":
        ax.set(xticks=[], yticks=[])  # t-SNE coordinates carry no units
    return ax.figure


def _kmeans(x: np.ndarray, k: int, random_state: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    with _one_openmp_thread():
        return KMeans(n_clusters=k, n_init=10, random_state=random_state).fit_predict(x)


def _scatter_groups(ax: Axes, coords: np.ndarray, groups: np.ndarray, legend_title: str) -> None:
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


# --------------------------------------------------------------------------- report


def make_report(run_dir: str | os.PathLike, *, method: str = "auto", random_state: int = 0) -> Path:
    """Write ``training.png``, ``roc_pr.png``, ``embedding.png`` and ``report.html`` into a run folder.

    Reads ``metrics.json``, ``history.json`` and ``embeddings.npy``, and where present
    ``test_scores.npz`` (arrays ``pos_scores``, ``neg_scores``), ``labels.npy`` (-1 for
    unknown). Every figure is drawn before any file is written, and each file is written to a
    temporary name and renamed, so a failure leaves the previous report intact.

    Args:
        run_dir: A folder written by ``graphae train --out``.
        method: Embedding map, ``"auto"``, ``"tsne"`` or ``"pca"``; see :func:`project_2d`.
        random_state: Seed of the embedding map and k-means.

    Returns:
        The path of ``report.html``.

    Raises:
        FileNotFoundError: If the folder or one of the required files is missing.
        ValueError: If a file is malformed.
        MissingMatplotlibError: If matplotlib is not installed.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(
            f"{run_dir}: no such folder; make_report expects a folder written by `graphae train --out`."
        )
    for name in REQUIRED_FILES:
        if not (run_dir / name).is_file():
            raise FileNotFoundError(
                f"{run_dir / name} not found; make_report expects a folder written by `graphae train --out`."
            )
    metrics = _read_json(run_dir / "metrics.json")
    if not isinstance(metrics, dict):
        raise ValueError(f"{run_dir / 'metrics.json'}: expected a JSON object, got {type(metrics).__name__}.")
    history = _read_json(run_dir / "history.json")
    embeddings = _read_npy(run_dir / "embeddings.npy")
    labels = _read_npy(run_dir / "labels.npy") if (run_dir / "labels.npy").is_file() else None
    scores = _read_scores(run_dir / "test_scores.npz")
    _matplotlib()
    name = _run_title(metrics)

    pngs: dict[str, bytes] = {}
    pngs["training.png"] = _png_bytes(_with_file(run_dir / "history.json", plot_history, history, title=name))
    if scores is not None:
        pngs["roc_pr.png"] = _png_bytes(
            _with_file(run_dir / "test_scores.npz", plot_roc_pr, *scores, title=name)
        )
    fig = _with_file(
        run_dir / "embeddings.npy",
        plot_embedding,
        embeddings,
        labels,
        method=method,
        random_state=random_state,
        title=name,
    )
    pngs["embedding.png"] = _png_bytes(fig)
    by_label = labels is not None and bool(np.any(labels >= 0))
    caption = f"{fig.axes[0].get_title()}. " + (
        "Colours: the labels in labels.npy (grey: unknown)." if by_label else "Colours: k-means clusters."
    )

    page = _report_html(metrics, name, list(pngs), caption)
    for file, data in pngs.items():
        atomic_write(run_dir / file, lambda f, data=data: f.write(data))
    atomic_write(run_dir / "report.html", lambda f: f.write(page.encode("utf-8")))
    return run_dir / "report.html"


def _with_file(path: Path, fn: Any, *args: Any, **kwargs: Any) -> Figure:
    """Call a plotting function, naming the file its data came from in a ValueError."""
    try:
        return fn(*args, **kwargs)
    except ValueError as err:
        raise ValueError(f"{path}: {err}") from None


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err}).") from None


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        raise ValueError(f"{path}: not a readable .npy array ({err}).") from None


def _read_scores(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in ("pos_scores", "neg_scores") if k not in data]
        if missing:
            raise ValueError(f"{path}: lacks the arrays {missing}; expected 'pos_scores' and 'neg_scores'.")
        return data["pos_scores"], data["neg_scores"]


def _run_title(metrics: Mapping[str, Any]) -> str:
    model = str(metrics.get("model", "model")).upper()
    if metrics.get("features") is False:
        model += "*"  # the paper's notation for a model trained without node features
    return f"{metrics.get('dataset', 'unknown data set')}, {model}"


def _percent(summary: Any) -> str:
    if _finite(summary):
        return f"{100 * summary:.2f}%"
    if isinstance(summary, Mapping) and _finite(summary.get("mean")):
        std = summary.get("std")
        return (
            f"{100 * summary['mean']:.2f} ± {100 * std:.2f}%"
            if _finite(std)
            else f"{100 * summary['mean']:.2f}%"
        )
    return "n/a"


def _metric_rows(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    def get(key: str) -> str:
        value = metrics.get(key)
        return "n/a" if value is None else str(value)

    seconds = metrics.get("train_seconds")
    mean_s = seconds.get("mean") if isinstance(seconds, Mapping) else seconds
    features = metrics.get("features")
    return [
        ("Data set", get("dataset")),
        ("Model", get("model").upper() if "model" in metrics else "n/a"),
        ("Node features", "n/a" if features is None else "yes" if features else "no (identity)"),
        ("Loss", get("loss")),
        ("Epochs", get("epochs")),
        ("Runs", get("runs")),
        ("Seed", get("seed")),
        ("Test AUC", _percent(metrics.get("test_auc"))),
        ("Test AP", _percent(metrics.get("test_ap"))),
        ("Training time per run", f"{mean_s:.2f} s" if _finite(mean_s) else "n/a"),
        ("Device", get("device")),
        ("graphae version", get("graphae_version")),
    ]


_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { text-align: left; padding: 0.3em 1.2em 0.3em 0; border-bottom: 1px solid #ddd; }
th { font-weight: 600; }
figure { margin: 1em 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption, .note { color: #555; font-size: 0.92em; }
"""


def _report_html(metrics: Mapping[str, Any], name: str, images: list[str], embedding_caption: str) -> str:
    e = html.escape
    runs = metrics.get("runs")
    seed = metrics.get("seed")
    first = "the first run" + (f" (seed {e(str(seed))})" if seed is not None else "")
    table = "\n".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _metric_rows(metrics))
    test_auc = metrics.get("test_auc")
    if isinstance(runs, int) and runs > 1 and isinstance(test_auc, Mapping):
        table_note = f"Test scores are mean ± standard deviation over {runs} runs with consecutive seeds."
    else:
        table_note = "Test scores of a single run."
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        f"<title>graphae report: {e(name)}</title>",
        f"<style>{_CSS}</style></head>",
        "<body>",
        f"<h1>graphae report: {e(name)}</h1>",
        f"<table>\n{table}\n</table>",
        f'<p class="note">{e(table_note)} The figures show {first}.</p>',
        "<h2>Training</h2>",
        _figure("training.png", "Training loss and validation AUC and AP per epoch."),
        "<h2>Test link prediction</h2>",
    ]
    if "roc_pr.png" in images:
        parts.append(_figure("roc_pr.png", "ROC and precision-recall curves of the held-out test edges."))
    else:
        parts.append(
            '<p class="note">No test_scores.npz in this folder (older versions of graphae did not write it), '
            "so the ROC and precision-recall curves are skipped.</p>"
        )
    parts += [
        "<h2>Embedding</h2>",
        _figure("embedding.png", embedding_caption),
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _figure(src: str, caption: str) -> str:
    e = html.escape
    return f'<figure><img src="{e(src)}" alt="{e(caption)}"><figcaption>{e(caption)}</figcaption></figure>'
