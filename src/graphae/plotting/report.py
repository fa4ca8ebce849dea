"""The HTML report of a run folder: its figures as PNG files beside one ``report.html``.

Every file name comes from :mod:`graphae.runfolder`, the one module that names the files
of a run folder.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from graphae import runfolder
from graphae.errors import InputError, MissingFileError
from graphae.io import atomic_write
from graphae.plotting._mpl import png_bytes, require_matplotlib
from graphae.plotting.curves import is_finite_number, plot_history, plot_roc_pr
from graphae.plotting.embedding import plot_embedding

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["REQUIRED_FILES", "make_report"]

REQUIRED_FILES = (runfolder.METRICS, runfolder.HISTORY, runfolder.EMBEDDINGS)
_EXPECTED_FOLDER = "make_report expects a folder written by `graphae train --out`."


def make_report(
    run_dir: str | os.PathLike, *, method: str = "auto", random_state: int = 0, legacy: bool = False
) -> Path:
    """Write ``training.png``, ``roc_pr.png``, ``embedding.png`` and ``report.html`` into a run folder.

    Reads ``metrics.json``, ``history.json`` and ``embeddings.npy``, and where present
    ``test_scores.npz`` (arrays ``pos_scores``, ``neg_scores``), ``labels.npy`` (-1 for
    unknown). Every figure is drawn before any file is written, and each file is written to a
    temporary name and renamed, so a failure leaves the previous report intact.

    Args:
        run_dir: A folder written by ``graphae train --out``.
        method: Embedding map, ``"auto"``, ``"tsne"`` or ``"pca"``; see :func:`project_2d`.
        random_state: Seed of the embedding map and k-means.
        legacy: Also draw a folder saved without checksums (graphae 0.2 or older).

    Returns:
        The path of ``report.html``.

    Raises:
        MissingFileError: If the folder or one of the required files is missing (a
            ``FileNotFoundError``).
        InputError: If a file is malformed (a ``ValueError``); the message names the file.
        MissingMatplotlibError: If matplotlib is not installed.
    """
    run_dir = Path(run_dir)
    if (
        isinstance(random_state, bool)
        or not isinstance(random_state, (int, np.integer))
        or not (0 <= random_state < 2**32)
    ):
        raise InputError(
            f"The 'random_state' parameter of make_report must be an int in [0, {2**32 - 1}]. "
            f"Got {random_state!r}."
        )
    _check_folder(run_dir)
    runfolder.verify_run_files(run_dir, (*REQUIRED_FILES, runfolder.LABELS, runfolder.TEST_SCORES), legacy)
    runfolder.check_free(run_dir, runfolder.REPORT_FILES)
    metrics = _read_json(run_dir / runfolder.METRICS)
    if not isinstance(metrics, dict):
        raise InputError(
            f"{run_dir / runfolder.METRICS}: expected a JSON object, got {type(metrics).__name__}."
        )
    history = _read_json(run_dir / runfolder.HISTORY)
    embeddings = _read_npy(run_dir / runfolder.EMBEDDINGS)
    labels_path = run_dir / runfolder.LABELS
    labels = _read_npy(labels_path) if labels_path.is_file() else None
    scores = _read_scores(run_dir / runfolder.TEST_SCORES)
    require_matplotlib()
    name = _run_title(metrics)

    pngs: dict[str, bytes] = {}
    pngs[runfolder.FIGURE_HISTORY] = png_bytes(
        _with_file(run_dir / runfolder.HISTORY, plot_history, history, title=name)
    )
    if scores is not None:
        pngs[runfolder.FIGURE_ROC_PR] = png_bytes(
            _with_file(run_dir / runfolder.TEST_SCORES, plot_roc_pr, *scores, title=name)
        )
    fig = _with_file(
        run_dir / runfolder.EMBEDDINGS,
        plot_embedding,
        embeddings,
        labels,
        method=method,
        random_state=random_state,
        title=name,
    )
    pngs[runfolder.FIGURE_EMBEDDING] = png_bytes(fig)
    by_label = labels is not None and bool(np.any(labels >= 0))
    caption = f"{fig.axes[0].get_title()}. " + (
        f"Colours: the labels in {runfolder.LABELS} (grey: unknown)."
        if by_label
        else "Colours: k-means clusters."
    )

    page = _report_html(metrics, name, list(pngs), caption)
    for file, data in pngs.items():
        atomic_write(run_dir / file, lambda f, data=data: f.write(data))
    atomic_write(run_dir / runfolder.REPORT, lambda f: f.write(page.encode("utf-8")))
    if (run_dir / runfolder.METADATA).is_file():
        runfolder.seal(run_dir, runfolder.REPORT_FILES)  # graphae's own files, replaced by --overwrite
    return run_dir / runfolder.REPORT


# --------------------------------------------------------------------------- reading the run folder


def _check_folder(run_dir: Path) -> None:
    if not run_dir.is_dir():
        raise MissingFileError(f"{run_dir}: no such folder; {_EXPECTED_FOLDER}")
    metadata = run_dir / runfolder.METADATA
    saved = _read_json(metadata) if metadata.is_file() else None
    if isinstance(saved, dict) and saved.get("learned") is False:
        raise InputError(
            f"{run_dir}: {saved.get('model', 'the model')} is a link-prediction heuristic without node "
            f"embeddings or training curves, so there is no report to draw; its scores are in "
            f"{runfolder.METRICS} and {runfolder.TEST_SCORES}."
        )
    for name in REQUIRED_FILES:
        if not (run_dir / name).is_file():
            raise MissingFileError(f"{run_dir / name} not found; {_EXPECTED_FOLDER}")


def _with_file(path: Path, fn: Callable[..., Figure], *args: Any, **kwargs: Any) -> Figure:
    """Call a plotting function, naming the file its data came from in a ValueError."""
    try:
        return fn(*args, **kwargs)
    except ValueError as err:
        raise InputError(f"{path}: {err}") from None


def _read_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not valid UTF-8 ({err}).") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: not valid JSON ({err}).") from None


def _read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        raise InputError(f"{path}: not a readable .npy array ({err}).") from None


def _read_scores(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in ("pos_scores", "neg_scores") if k not in data]
        if missing:
            raise InputError(f"{path}: lacks the arrays {missing}; expected 'pos_scores' and 'neg_scores'.")
        return data["pos_scores"], data["neg_scores"]


# --------------------------------------------------------------------------- the HTML page


def _run_title(metrics: Mapping[str, Any]) -> str:
    model = str(metrics.get("model", "model")).upper()
    if metrics.get("features") is False:
        model += "*"  # the paper's notation for a model trained without node features
    return f"{metrics.get('dataset', 'unknown data set')}, {model}"


def _percent(summary: Any) -> str:
    if is_finite_number(summary):
        return f"{100 * summary:.2f}%"
    if isinstance(summary, Mapping) and is_finite_number(summary.get("mean")):
        std = summary.get("std")
        return (
            f"{100 * summary['mean']:.2f} ± {100 * std:.2f}%"
            if is_finite_number(std)
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
        *((label, _percent(metrics[key])) for key, label in _MORE_METRICS if metrics.get(key) is not None),
        ("Training time per run", f"{mean_s:.2f} s" if is_finite_number(mean_s) else "n/a"),
        ("Device", get("device")),
        ("graphae version", get("graphae_version")),
    ]


# Shown when metrics.json has them (graphae >= 0.3): key, label.
_MORE_METRICS = (
    *((f"test_hits_at_{k}", f"Test Hits@{k} (own negatives)") for k in (10, 20, 50, 100)),
    ("test_mrr", "Test MRR (own negatives)"),
    ("test_hits_at_50_shared", "Test Hits@50 (shared negatives)"),
    ("test_mrr_shared", "Test MRR (shared negatives)"),
    ("cluster_acc", "Clustering ACC (k-means)"),
    ("cluster_nmi", "Clustering NMI"),
    ("cluster_ari", "Clustering ARI"),
    ("probe_accuracy", "Probe accuracy (logistic regression)"),
)

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
    """The page: a table of the run's settings and test scores, then the figures in ``images``."""
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
        _figure(runfolder.FIGURE_HISTORY, "Training loss and validation AUC and AP per epoch."),
        "<h2>Test link prediction</h2>",
    ]
    if runfolder.FIGURE_ROC_PR in images:
        parts.append(
            _figure(runfolder.FIGURE_ROC_PR, "ROC and precision-recall curves of the held-out test edges.")
        )
    else:
        parts.append(
            f'<p class="note">No {e(runfolder.TEST_SCORES)} in this folder (older versions of graphae did '
            "not write it), so the ROC and precision-recall curves are skipped.</p>"
        )
    parts += [
        "<h2>Embedding</h2>",
        _figure(runfolder.FIGURE_EMBEDDING, embedding_caption),
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(parts)


def _figure(src: str, caption: str) -> str:
    e = html.escape
    return f'<figure><img src="{e(src)}" alt="{e(caption)}"><figcaption>{e(caption)}</figcaption></figure>'
