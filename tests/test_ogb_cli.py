"""``graphae train --dataset ogbl-*`` and ``graphae evaluate`` of its run, on tiny OGB-layout files."""

import json

import pytest

from graphae.cli import main
from ogb_helpers import write_ogbl


@pytest.mark.parametrize(("name", "metric"), [("ogbl-ddi", "hits@20"), ("ogbl-citation2", "mrr")])
def test_train_writes_the_official_metric_over_runs_and_evaluate_rescores_it(tmp_path, capsys, name, metric):
    write_ogbl(tmp_path / "data", name)
    out = tmp_path / "run"
    argv = ["train", "--dataset", name, "--data-dir", str(tmp_path / "data"), "--epochs", "2", "--runs", "2"]
    assert main([*argv, "--out", str(out), "--quiet"]) == 0
    label = "Hits@20" if metric == "hits@20" else "MRR"
    assert capsys.readouterr().out.startswith(f"test {label} ")
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["dataset"] == name and metrics["official_metric"] == metric
    assert metrics["num_parameters"] > 0
    for stage in ("valid", "test"):
        summary = metrics[f"{stage}_{metric}"]
        assert summary.keys() == {"mean", "std", "values"} and len(summary["values"]) == 2
        assert summary["mean"] == pytest.approx(sum(summary["values"]) / 2)
    assert main(["evaluate", "--model", str(out)]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert scores["official_metric"] == metric
    # The saved model is the first run's (seed 0): the same figure again.
    assert scores[f"test_{metric}"] == pytest.approx(metrics[f"test_{metric}"]["values"][0], rel=1e-9)


def test_train_a_heuristic_on_an_ogb_graph(tmp_path, capsys):
    write_ogbl(tmp_path / "data", "ogbl-ppa")
    argv = [
        "train",
        "--dataset",
        "ogbl-ppa",
        "--data-dir",
        str(tmp_path / "data"),
        "--model",
        "common_neighbors",
    ]
    assert main([*argv, "--out", str(tmp_path / "run"), "--quiet"]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["num_parameters"] == 0 and metrics["test_hits@100"]["values"][0] >= 0


class _Killed(BaseException):
    """Stands for the process dying."""


def test_an_interrupted_ogb_run_resumes_to_the_same_official_scores(tmp_path, monkeypatch):
    import graphae.cli.runs

    write_ogbl(tmp_path / "data", "ogbl-ddi")
    argv = [
        "train",
        "--dataset",
        "ogbl-ddi",
        "--data-dir",
        str(tmp_path / "data"),
        "--epochs",
        "6",
        "--runs",
        "2",
    ]
    argv += ["--select-best", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    real = graphae.cli.runs.EpochProgress

    class Crashing(real):
        def __call__(self, rec):
            super().__call__(rec)
            if self.label.startswith("run 2/") and rec["epoch"] == 4:
                raise _Killed

    monkeypatch.setattr(graphae.cli.runs, "EpochProgress", Crashing)
    with pytest.raises(_Killed):
        main([*argv, "--checkpoint-every", "2", "--out", str(tmp_path / "run")])
    monkeypatch.undo()
    assert main(["train", "--resume", str(tmp_path / "run"), "--quiet"]) == 0

    def official(folder):
        metrics = json.loads((folder / "metrics.json").read_text())
        return {k: metrics[k] for k in ("official_metric", "num_parameters", "valid_hits@20", "test_hits@20")}

    assert official(tmp_path / "run") == official(tmp_path / "whole")


def test_progress_shows_the_validation_metric_selected_on(monkeypatch, capsys):
    from graphae.training import progress

    monkeypatch.setattr(progress, "_tqdm", lambda *a, **k: None)  # one line per epoch
    bar = progress.EpochProgress("run 1/1", epochs=1)
    bar({"epoch": 1, "loss": 0.5, "val_auc": 0.9, "val_ap": 0.8, "val_hits@20": 0.25})
    assert capsys.readouterr().err == "run 1/1  epoch    1  loss 0.5000  val AUC 90.0 AP 80.0 Hits@20 25.0\n"
