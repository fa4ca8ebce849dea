import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from cli_helpers import user_error
from graphae import __version__, load
from graphae.cli import main
from graphae.data import load_dataset
from graphae.evaluation import METRICS
from graphae.split import split_edges
from graphae.training import GraphTensors

SUMMARY = re.compile(
    r"test AUC \d+\.\d ± \d+\.\d  AP \d+\.\d ± \d+\.\d(?:  [A-Za-z@0-9 ]+ \d+\.\d ± \d+\.\d)*  \((\d+) runs?\)"
)
OUTPUTS = [
    "adjacency.npz",
    "config.toml",
    "embeddings.npy",
    "features.npz",  # the synthetic graph's sparse features, for embedding new nodes
    "fitted_adjacency.npz",  # the training edges; adjacency.npz holds every edge
    "history.json",
    "labels.npy",
    "metadata.json",
    "metrics.json",
    "model.pt",
    "node_ids.txt",
    "split.npz",
    "test_scores.npz",
]
METRIC_KEYS = {
    "dataset",
    "model",
    "features",
    "loss",
    "epochs",
    "runs",
    "seed",
    "directed",
    "task",
    "parameters",
    "test_auc",
    "test_ap",
    "train_seconds",
    "resumed",
    "evaluation",
    "phases",
    "device",
    "world_size",
    "graphae_version",
    "num_nodes",
    "num_edges",
    *METRICS,
}
FAST = ["--epochs", "2", "--device", "cpu"]


@pytest.fixture(scope="module")
def graph():
    return load_dataset("synthetic")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> Path:
    """One ``--runs 2 --out`` call shared by the output tests."""
    out = tmp_path_factory.mktemp("cli") / "result"
    assert main(["train", *FAST, "--runs", "2", "--seed", "0", "--quiet", "--out", str(out)]) == 0
    return out


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


_user_error = user_error


# Successful runs --------------------------------------------------------------
def test_train_prints_one_summary_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--epochs", "3", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.endswith("\n")
    assert len(out.splitlines()) == 1
    match = SUMMARY.fullmatch(out.strip())
    assert match and match.group(1) == "1"


def test_out_folder_holds_exactly_the_outputs(two_runs: Path) -> None:
    # No staging folder or temporary file is left behind.
    assert _files(two_runs) == OUTPUTS


def test_metrics_json(two_runs: Path) -> None:
    metrics = json.loads((two_runs / "metrics.json").read_text())
    assert set(metrics) == METRIC_KEYS
    assert metrics["dataset"] == "synthetic"
    assert metrics["model"] == "gae"
    assert metrics["features"] is True
    assert metrics["loss"] == "exact"
    assert (metrics["epochs"], metrics["runs"], metrics["seed"]) == (2, 2, 0)
    assert metrics["device"] == "cpu"
    assert metrics["world_size"] == 1  # one process, without torchrun
    assert metrics["graphae_version"] == __version__
    for key in ("test_auc", "test_ap"):
        summary = metrics[key]
        assert set(summary) == {"mean", "std", "values"}
        assert len(summary["values"]) == 2
        assert all(0.0 <= v <= 1.0 for v in summary["values"])
        assert summary["mean"] == pytest.approx(np.mean(summary["values"]))
        assert summary["std"] == pytest.approx(np.std(summary["values"]))
    # what was scored (nothing sampled on 2,000 nodes) and each phase's seconds and peak RSS
    assert metrics["evaluation"]["ranking"]["sampled"] is False
    assert [p["phase"] for p in metrics["phases"] if p.get("run") == 2] == [
        "split",
        "ranking negatives",
        "training",
        "evaluation",
    ]
    seconds = metrics["train_seconds"]
    assert set(seconds) == {"mean", "values"}
    assert len(seconds["values"]) == 2
    assert all(v > 0 for v in seconds["values"])
    assert seconds["mean"] == pytest.approx(np.mean(seconds["values"]))


def test_history_json_has_one_record_per_epoch(two_runs: Path) -> None:
    history = json.loads((two_runs / "history.json").read_text())
    assert [rec["epoch"] for rec in history] == [1, 2]
    for rec in history:
        assert set(rec) == {"epoch", "loss", "val_auc", "val_ap"}
        assert np.isfinite(rec["loss"])
        assert 0.0 <= rec["val_auc"] <= 1.0
        assert 0.0 <= rec["val_ap"] <= 1.0


def test_saved_model_reproduces_the_saved_embeddings(two_runs: Path, graph) -> None:
    embedding = np.load(two_runs / "embeddings.npy")
    assert embedding.shape == (graph.num_nodes, 16)
    assert embedding.dtype == np.float32

    est = load(two_runs)
    meta = json.loads((two_runs / "metadata.json").read_text())
    assert meta["model"] == est.model_name == "gae"
    assert meta["fit"]["in_channels"] == est.in_channels_ == graph.num_features
    assert (est.hidden_channels, est.out_channels) == (32, 16)
    assert (meta["graph"]["name"], meta["params"]["random_state"]) == ("synthetic", 0)
    # The embedding of run 1 is mu on its training graph (seed 0).
    data = GraphTensors.from_graph(split_edges(graph, random_state=0).train)
    with torch.no_grad():
        mu = est.module_(data.x, data.adj).mu
    np.testing.assert_allclose(mu.numpy(), embedding, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("flags", "key", "value"),
    [
        (["--model", "vgae"], "model", "vgae"),
        (["--no-features"], "features", False),
        (["--loss", "sampled"], "loss", "sampled"),
    ],
    ids=["vgae", "no-features", "sampled"],
)
def test_variants(tmp_path: Path, capsys: pytest.CaptureFixture[str], graph, flags, key, value) -> None:
    out = tmp_path / "out"
    assert main(["train", *FAST, *flags, "--out", str(out)]) == 0
    stdout, stderr = capsys.readouterr()
    # Progress goes to stderr; stdout holds the summary alone.
    assert len(stdout.splitlines()) == 1
    assert SUMMARY.fullmatch(stdout.strip())
    assert "run 1/1  seed 0  test AUC" in stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics[key] == value
    assert all(0.0 <= v <= 1.0 for v in metrics["test_auc"]["values"] + metrics["test_ap"]["values"])
    assert np.load(out / "embeddings.npy").shape == (graph.num_nodes, 16)
    est = load(out)
    assert est.model_name == metrics["model"]
    assert {"features": est.features_used_, "loss": est.loss}.get(key, metrics["model"]) == value
    assert est.in_channels_ == (graph.num_nodes if flags == ["--no-features"] else graph.num_features)
    assert est.module_.variational == (flags == ["--model", "vgae"])


def test_same_seed_gives_identical_results(tmp_path: Path) -> None:
    # VGAE noise and sampled negatives exercise every random stream. One thread, as
    # multithreaded BLAS sums may differ in the last bit from call to call under load.
    argv = ["train", "--model", "vgae", "--loss", "sampled", "--epochs", "2", "--device", "cpu"]
    argv += ["--seed", "5", "--threads", "1", "--quiet", "--out"]
    threads = torch.get_num_threads()
    try:
        assert main([*argv, str(tmp_path / "a")]) == 0
        assert main([*argv, str(tmp_path / "b")]) == 0
    finally:
        torch.set_num_threads(threads)
    a, b = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in "ab")
    del a["train_seconds"], b["train_seconds"], a["phases"], b["phases"]  # timings
    assert a == b
    ha, hb = (json.loads((tmp_path / d / "history.json").read_text()) for d in "ab")
    assert ha == hb
    np.testing.assert_array_equal(
        np.load(tmp_path / "a" / "embeddings.npy"), np.load(tmp_path / "b" / "embeddings.npy")
    )


def test_overwrite_replaces_outputs_and_keeps_other_files(tmp_path: Path) -> None:
    argv = ["train", "--epochs", "3", "--device", "cpu", "--quiet", "--out", str(tmp_path)]
    assert main(argv) == 0  # the run to replace
    (tmp_path / "notes.txt").write_text("mine")
    argv = ["train", "--epochs", "2", "--device", "cpu", "--quiet", "--out", str(tmp_path), "--overwrite"]
    assert main(argv) == 0
    assert _files(tmp_path) == sorted([*OUTPUTS, "notes.txt"])
    assert (tmp_path / "notes.txt").read_text() == "mine"
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 2


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"graphae {__version__}"


# User errors ------------------------------------------------------------------
def test_unknown_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    line = _user_error(capsys, ["train", "--dataset", "nope", "--epochs", "2", "--out", str(out)])
    assert re.search(r"Unknown data set 'nope': expected one of synthetic, cora", line)
    assert not out.exists()


def test_non_empty_out_without_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "metrics.json").write_text("precious")
    line = _user_error(capsys, ["train", "--epochs", "2", "--out", str(tmp_path)])
    assert re.search(r"--out .*: folder is not empty; pass --overwrite", line)
    assert _files(tmp_path) == ["metrics.json"]
    assert (tmp_path / "metrics.json").read_text() == "precious"


def test_out_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "result.txt"
    target.write_text("precious")
    line = _user_error(capsys, ["train", "--epochs", "2", "--out", str(target)])
    assert re.search(r"--out .*result\.txt: exists and is not a folder", line)
    assert target.read_text() == "precious"


def test_bogus_device(capsys: pytest.CaptureFixture[str]) -> None:
    line = _user_error(capsys, ["train", "--epochs", "2", "--device", "bogus"])
    assert re.search(
        r"--device: The 'device' parameter must be 'auto', 'cpu' or 'cuda\[:i\]'. Got 'bogus'", line
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:0"])
def test_cuda_without_cuda(capsys: pytest.CaptureFixture[str], device: str) -> None:
    line = _user_error(capsys, ["train", "--epochs", "2", "--device", device])
    assert f"--device: The 'device' parameter is '{device}' but CUDA is not available here." in line


def test_missing_planetoid_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _user_error(capsys, ["train", "--dataset", "cora", "--epochs", "2", "--data-dir", str(tmp_path)])
    assert "Missing Planetoid file(s) for 'cora'" in line
    assert f"{tmp_path}/ind.cora." in line
    assert "--download" in line
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train", "--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
        (["train", "--epochs", "two"], "argument --epochs: expected a positive integer, got 'two'"),
        (["train", "--runs", "-1"], "argument --runs: expected a positive integer, got '-1'"),
        (["train", "--model", "gcn"], "argument --model: invalid choice: 'gcn'"),
        (["train", "--loss", "full"], "argument --loss: invalid choice: 'full'"),
        ([], "the following arguments are required: COMMAND"),
    ],
    ids=["epochs-0", "epochs-text", "runs-negative", "model", "loss", "no-command"],
)
def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "Traceback" not in err
    assert message in err
