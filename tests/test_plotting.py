import functools
import json
import re
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.figure import Figure  # noqa: E402

from graphae.errors import InputError, MissingDependencyError, MissingFileError  # noqa: E402
from graphae.metrics import auc_ap  # noqa: E402
from graphae.plotting import (  # noqa: E402
    REQUIRED_FILES,
    MissingMatplotlibError,
    plot_embedding,
    plot_history,
    plot_roc_pr,
    project_2d,
)
from graphae.plotting import make_report as checked_make_report  # noqa: E402

# The run folders here are made by hand, without a metadata.json to check them against.
make_report = functools.partial(checked_make_report, legacy=True)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
N, D = 120, 16

METRICS = {
    "dataset": "Cora",
    "model": "vgae",
    "features": True,
    "loss": "exact",
    "epochs": 200,
    "runs": 3,
    "seed": 7,
    "test_auc": {"mean": 0.9123, "std": 0.0045, "values": [0.91, 0.9173, 0.9096]},
    "test_ap": {"mean": 0.9201, "std": 0.004, "values": [0.92, 0.924, 0.9163]},
    "train_seconds": {"mean": 3.21, "values": [3.0, 3.3, 3.33]},
    "device": "cpu",
    "graphae_version": "0.1.0",
}


def _embeddings(rng: np.random.Generator, n: int = N, d: int = D) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 4, n)
    centers = 4 * rng.normal(size=(4, d))
    return (centers[labels] + rng.normal(size=(n, d))).astype(np.float32), labels


def _history(epochs: int = 60, eval_every: int = 5) -> list[dict]:
    history = []
    for epoch in range(1, epochs + 1):
        rec = {"epoch": epoch, "loss": 0.4 + 0.7 * np.exp(-epoch / 20)}
        if epoch % eval_every == 0:
            rec |= {"val_auc": 0.9 - 0.2 * np.exp(-epoch / 15), "val_ap": 0.91 - 0.2 * np.exp(-epoch / 15)}
        history.append(rec)
    return history


def _make_run(folder, *, dataset="Cora", labels=True, scores=True):
    rng = np.random.default_rng(0)
    z, y = _embeddings(rng)
    y[:10] = -1
    (folder / "metrics.json").write_text(json.dumps(METRICS | {"dataset": dataset}))
    (folder / "history.json").write_text(json.dumps(_history()))
    np.save(folder / "embeddings.npy", z)
    if labels:
        np.save(folder / "labels.npy", y if labels is True else np.full(N, -1))
    if scores:
        np.savez(folder / "test_scores.npz", pos_scores=rng.beta(5, 2, 80), neg_scores=rng.beta(2, 5, 80))
    (folder / "node_ids.txt").write_text("\n".join(f"n{i}" for i in range(N)) + "\n")
    return folder


def _assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > 5000


def test_make_report_writes_figures_and_html(tmp_path):
    run = _make_run(tmp_path)

    report = make_report(run, method="pca")

    assert report == run / "report.html"
    for name in ("training.png", "roc_pr.png", "embedding.png"):
        _assert_png(run / name)
        assert f'<img src="{name}"' in report.read_text(encoding="utf-8")
    page = report.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "graphae report: Cora, VGAE" in page
    for value in ("91.23 ± 0.45%", "92.01 ± 0.40%", "exact", "3.21 s", "<td>200</td>", "<td>3</td>"):
        assert value in page
    assert "seed 7" in page
    assert not [p.name for p in run.iterdir() if p.name.startswith(".")]  # no temporary files left


def test_make_report_leaves_the_matplotlib_backend_alone(tmp_path):
    import matplotlib

    before = matplotlib.rcParams["backend"]
    make_report(_make_run(tmp_path), method="pca")
    assert matplotlib.rcParams["backend"] == before


def test_make_report_without_test_scores_skips_roc(tmp_path):
    run = _make_run(tmp_path, scores=False)

    page = make_report(run, method="pca").read_text(encoding="utf-8")

    assert not (run / "roc_pr.png").exists()
    assert "roc_pr.png" not in page
    assert "No test_scores.npz" in page
    _assert_png(run / "training.png")
    _assert_png(run / "embedding.png")


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (True, "coloured by label. Colours: the labels in labels.npy (grey: unknown)."),
        (False, "coloured by k-means cluster (k = 8). Colours: k-means clusters."),
        ("all unknown", "coloured by k-means cluster (k = 8). Colours: k-means clusters."),
    ],
)
def test_report_colours_by_labels_or_kmeans(tmp_path, labels, expected):
    page = make_report(_make_run(tmp_path, labels=labels), method="pca").read_text(encoding="utf-8")
    assert expected in page


@pytest.mark.parametrize("name", REQUIRED_FILES)
def test_make_report_names_a_missing_file(tmp_path, name):
    run = _make_run(tmp_path)
    (run / name).unlink()
    with pytest.raises(FileNotFoundError, match=rf"{name} not found.*graphae train --out"):
        make_report(run)
    assert not (run / "report.html").exists()


def test_make_report_rejects_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such folder.*graphae train --out"):
        make_report(tmp_path / "absent")


def test_make_report_raises_graphae_errors(tmp_path):
    assert issubclass(MissingMatplotlibError, MissingDependencyError)
    with pytest.raises(MissingFileError):
        make_report(tmp_path / "absent")
    run = _make_run(tmp_path)
    (run / "history.json").write_text("[]")
    with pytest.raises(InputError):
        make_report(run)


@pytest.mark.parametrize("name", ["metrics.json", "history.json"])
@pytest.mark.parametrize(
    ("content", "problem"),
    [(b'{"dataset": "Cora",', "not valid JSON"), (b'{"dataset": "Caf\xe9"}', "not valid UTF-8")],
)
def test_make_report_names_an_unreadable_json_file(tmp_path, name, content, problem):
    run = _make_run(tmp_path)
    (run / name).write_bytes(content)
    with pytest.raises(InputError, match=rf"^{re.escape(str(run / name))}: {problem} \("):
        make_report(run)
    assert not (run / "report.html").exists()


def test_make_report_rejects_malformed_test_scores(tmp_path):
    run = _make_run(tmp_path, scores=False)
    np.savez(run / "test_scores.npz", pos=np.ones(3))
    with pytest.raises(
        ValueError, match=r"test_scores\.npz: lacks the arrays \['pos_scores', 'neg_scores'\]"
    ):
        make_report(run)


def test_make_report_names_the_file_of_bad_data(tmp_path):
    run = _make_run(tmp_path)
    (run / "history.json").write_text("[]")
    with pytest.raises(
        ValueError, match=r"history\.json: The 'history' parameter must hold at least one epoch"
    ):
        make_report(run)


def test_report_escapes_html_in_the_data_set_name(tmp_path):
    name = '<script>alert("x")</script> & $a_b$'
    run = _make_run(tmp_path, dataset=name)

    page = make_report(run, method="pca").read_text(encoding="utf-8")

    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; $a_b$" in page
    _assert_png(run / "training.png")  # '$' in a title is drawn literally, not parsed as mathtext


def test_report_is_deterministic(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    for run in (first, second):
        run.mkdir()
        make_report(_make_run(run), method="tsne", random_state=3)
    for name in ("embedding.png", "report.html"):
        assert (first / name).read_bytes() == (second / name).read_bytes()


def test_missing_matplotlib_raises_an_import_error(tmp_path, monkeypatch):
    run = _make_run(tmp_path)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(
        MissingMatplotlibError, match=r'plotting needs matplotlib: pip install "graphae\[plot\]"'
    ):
        make_report(run)
    with pytest.raises(ImportError, match="plotting needs matplotlib"):
        plot_history(_history())
    assert not (run / "report.html").exists()


# --------------------------------------------------------------------------- embedding map


@pytest.mark.parametrize(
    ("method", "n", "d", "expected", "axis"),
    [
        ("pca", N, D, "PCA of 120 nodes", "PC 1"),
        ("tsne", N, D, "t-SNE of 120 nodes", "t-SNE 1"),
        ("auto", N, D, "t-SNE of 120 nodes", "t-SNE 1"),
        ("auto", 30, D, "PCA of 30 nodes", "PC 1"),
        ("auto", N, 2, "2-D embedding of 120 nodes", "z 1"),
    ],
)
def test_plot_embedding_methods(method, n, d, expected, axis):
    z, y = _embeddings(np.random.default_rng(1), n, d)
    ax = plot_embedding(z, y, method=method).axes[0]
    assert ax.get_title().startswith(expected)
    assert ax.get_title().endswith("coloured by label")
    assert ax.get_xlabel().startswith(axis)


def test_plot_embedding_marks_unknown_labels_and_falls_back_to_kmeans():
    z, y = _embeddings(np.random.default_rng(1))
    y[::3] = -1
    ax = plot_embedding(z, y, method="pca").axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["unknown", "0", "1", "2", "3"]

    no_labels = plot_embedding(z, np.full(N, -1), method="pca", n_clusters=3).axes[0]
    assert no_labels.get_title().endswith("coloured by k-means cluster (k = 3)")
    assert len(no_labels.get_legend().get_texts()) == 3


def test_plot_embedding_with_many_classes_uses_a_colorbar():
    z, _ = _embeddings(np.random.default_rng(1))
    fig = plot_embedding(z, np.arange(N) % 30, method="pca")
    assert fig.axes[0].get_legend() is None
    assert len(fig.axes) == 2  # the scatter and its colorbar


def test_project_2d_samples_at_most_max_points_reproducibly():
    z, _ = _embeddings(np.random.default_rng(1))
    a = project_2d(z, "pca", random_state=5, max_points=50)
    b = project_2d(z, "pca", random_state=5, max_points=50)
    c = project_2d(z, "pca", random_state=6, max_points=50)
    assert a.coords.shape == (50, 2)
    assert np.array_equal(a.index, np.unique(a.index)) and a.index.max() < N
    assert np.array_equal(a.index, b.index) and np.array_equal(a.coords, b.coords)
    assert not np.array_equal(a.index, c.index)
    title = plot_embedding(z, method="pca", max_points=50).axes[0].get_title()
    assert "50 of 120 nodes (random sample)" in title


def test_project_2d_pca_matches_numpy():
    z, _ = _embeddings(np.random.default_rng(1))
    coords = project_2d(z, "pca").coords
    centered = z - z.mean(axis=0)
    _, _, vt = np.linalg.svd(centered, full_matrices=False)
    expected = centered @ vt[:2].T
    np.testing.assert_allclose(np.abs(coords), np.abs(expected), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"embeddings": np.ones(5)}, r"shape \[N, d\] with N >= 3 nodes and d >= 2. Got \(5,\)"),
        ({"embeddings": np.ones((5, 1))}, r"d >= 2. Got \(5, 1\)"),
        ({"embeddings": np.full((5, 3), np.nan)}, "NaN or inf"),
        (
            {"labels": np.zeros(N - 1, dtype=int)},
            r"integer array of shape \(120,\).*Got int64 with shape \(119,\)",
        ),
        ({"labels": np.zeros(N)}, "integer array.*Got float64"),
        ({"method": "umap"}, r"'method' parameter must be one of \('auto', 'tsne', 'pca'\). Got 'umap'"),
        ({"max_points": 2}, "'max_points' parameter must be an int >= 3. Got 2"),
        ({"n_clusters": 1}, r"'n_clusters' parameter must be an int in \[2, 120\]. Got 1"),
    ],
)
def test_plot_embedding_rejects_bad_input(kwargs, match):
    z, _ = _embeddings(np.random.default_rng(1))
    args = {"embeddings": z, "method": "pca"} | kwargs
    with pytest.raises(ValueError, match=match):
        plot_embedding(**args)


# --------------------------------------------------------------------------- history and ROC/PR


def test_plot_history_draws_loss_and_validation_curves():
    fig = plot_history(_history(epochs=60, eval_every=5), title="Cora")
    ax_loss, ax_val = fig.axes
    assert len(ax_loss.get_lines()[0].get_xdata()) == 60
    auc_line, ap_line = ax_val.get_lines()[:2]
    assert list(auc_line.get_xdata()) == list(range(5, 61, 5))
    assert auc_line.get_ydata()[-1] == pytest.approx(100 * (0.9 - 0.2 * np.exp(-4)))
    labels = [t.get_text() for t in ax_val.get_legend().get_texts()]
    assert labels[:2] == ["validation AUC", "validation AP"]
    assert labels[2].startswith("best AUC") and labels[2].endswith("(epoch 60)")


def test_plot_history_onto_given_axes_without_validation():
    fig = Figure()
    ax_loss, ax_val = fig.subplots(1, 2)
    history = [{"epoch": e, "loss": 1.0 / e} for e in range(1, 11)]
    assert plot_history(history, ax_loss, ax_val) is fig
    assert ax_val.get_lines() == [] and ax_val.texts[0].get_text() == "no validation scores recorded"


@pytest.mark.parametrize(
    ("history", "match"),
    [([], "at least one epoch"), ([{"epoch": 1}], "dicts with 'epoch' and 'loss'. Entry 0 is")],
)
def test_plot_history_rejects_bad_history(history, match):
    with pytest.raises(ValueError, match=match):
        plot_history(history)


def test_plot_roc_pr_reports_auc_and_ap_in_the_legends():
    rng = np.random.default_rng(2)
    pos, neg = rng.beta(5, 2, 50), rng.beta(2, 5, 70)
    auc, ap = auc_ap(pos, neg)
    ax_roc, ax_pr = plot_roc_pr(pos, neg).axes
    assert ax_roc.get_legend().get_texts()[0].get_text() == f"AUC = {100 * auc:.2f}%"
    assert ax_pr.get_legend().get_texts()[0].get_text() == f"AP = {100 * ap:.2f}%"
    assert ax_pr.get_legend().get_texts()[1].get_text() == "chance (42% edges)"
    fpr, tpr = ax_roc.get_lines()[0].get_data()
    assert fpr[0] == 0 and tpr[-1] == 1


@pytest.mark.parametrize(
    ("pos", "neg", "match"),
    [
        (
            [],
            [0.1],
            r"'pos_scores' parameter must be a non-empty 1-D array of finite scores. Got shape \(0,\)",
        ),
        ([0.5], [[0.1]], r"'neg_scores'.*Got shape \(1, 1\)"),
        ([0.5, np.nan], [0.1], "with NaN or inf"),
    ],
)
def test_plot_roc_pr_rejects_bad_scores(pos, neg, match):
    with pytest.raises(ValueError, match=match):
        plot_roc_pr(pos, neg)


def test_plot_functions_want_both_axes_or_neither():
    ax = Figure().subplots()
    with pytest.raises(ValueError, match="Pass both 'ax_loss' and 'ax_val', or neither"):
        plot_history(_history(), ax_loss=ax)
    with pytest.raises(ValueError, match="Pass both 'ax_roc' and 'ax_pr', or neither"):
        plot_roc_pr([0.9], [0.1], ax_pr=ax)


def test_make_report_checks_a_folder_without_metadata_only_when_asked(tmp_path) -> None:
    run = _make_run(tmp_path)
    with pytest.raises(MissingFileError, match=r"metadata.json not found: is .* a run folder"):
        checked_make_report(run, method="pca")
    assert not (run / "report.html").exists()
