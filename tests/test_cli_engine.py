"""The command line over the engine: models, direction, checkpoints and resuming, honest errors."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import graphae.cli.embed
import graphae.cli.runs
from cli_helpers import user_error
from graphae import GAE, model_names
from graphae.cli import main
from graphae.data import make_communities

FAST = ["--epochs", "12", "--device", "cpu", "--threads", "1", "--quiet"]


def _metrics(folder: Path) -> dict:
    metrics = json.loads((folder / "metrics.json").read_text())
    del metrics["train_seconds"], metrics["phases"]  # timings
    del metrics["resumed"]  # which runs an interruption cut: checked by the tests that resume
    return metrics


# graphae models -------------------------------------------------------------------------
def test_models_lists_each_registered_name_first_on_its_line(capsys):
    assert main(["models"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == model_names()
    assert all(len(line.split()) > 3 for line in lines)  # a description follows each name
    assert "Kipf & Welling" in lines[0]


# honest errors --------------------------------------------------------------------------
@pytest.mark.parametrize("bug", [KeyError("oops"), ValueError("a shape bug"), TypeError("a call bug")])
def test_a_bug_is_an_internal_error_with_its_traceback(monkeypatch, capsys, bug):
    def broken(*args, **kwargs):
        raise bug

    monkeypatch.setattr(graphae.cli.runs, "run_link_prediction", broken)
    assert main(["train", *FAST]) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "graphae: internal error" in err and "bug in graphae" in err
    assert "graphae: error:" not in err


def test_a_closed_stdout_is_not_an_error(monkeypatch, tmp_path):
    # BrokenPipeError is an OSError: it must be told apart before OSErrors become user errors.
    GAE(epochs=2, random_state=0).fit(make_communities(num_nodes=30, num_communities=2)).save(tmp_path / "m")

    def closed(*args, **kwargs):
        raise BrokenPipeError

    monkeypatch.setattr(graphae.cli.embed, "write_columns", closed)
    saved = os.dup(sys.stdout.fileno())
    try:
        assert main(["embed", "--model", str(tmp_path / "m")]) == 0
    finally:
        os.dup2(saved, sys.stdout.fileno())
        os.close(saved)


# directed graphs ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cites(data_root) -> Path:
    return data_root / "directed" / "cora.cites"


def test_train_keeps_direction_when_asked(cites, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--edges", str(cites), "--directed", *FAST, "--out", str(out)]) == 0
    assert "notice" not in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["num_nodes"], metrics["num_edges"], metrics["directed"]) == (2708, 5429, True)
    meta = json.loads((out / "metadata.json").read_text())
    # The model's graph: the training edges it was fitted on (5429 less 10% test, 5% validation).
    assert meta["graph"]["directed"] is True and meta["graph"]["num_edges"] == 5429 - 543 - 270


def test_without_directed_the_file_is_symmetrised_with_a_notice(cites, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--edges", str(cites), *FAST, "--out", str(out)]) == 0
    notices = [line for line in capsys.readouterr().err.splitlines() if line.startswith("graphae: notice:")]
    assert len(notices) == 1 and "made undirected" in notices[0]
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["num_nodes"], metrics["num_edges"], metrics["directed"]) == (2708, 5278, False)


def test_directed_needs_a_directed_source(capsys):
    line = user_error(capsys, ["train", "--dataset", "cora", "--directed", *FAST])
    assert "--directed: the built-in data set 'cora' is undirected" in line


# checkpoints and resuming ----------------------------------------------------------------
RUN = ["train", "--model", "vgae", "--loss", "sampled", "--runs", "2", *FAST]


class _Killed(BaseException):
    """Stands for the process dying (a BaseException, like SystemExit: nothing catches it)."""


def _crash_at(monkeypatch, run: int, epoch: int) -> None:
    real = graphae.cli.runs.EpochProgress

    class Crashing(real):
        def __call__(self, rec):
            super().__call__(rec)
            if self.label.startswith(f"run {run}/") and rec["epoch"] == epoch:
                raise _Killed

    monkeypatch.setattr(graphae.cli.runs, "EpochProgress", Crashing)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "whole"
    assert main([*RUN, "--out", str(out)]) == 0
    return out


@pytest.mark.parametrize(("run", "epoch"), [(1, 2), (1, 8), (2, 5)], ids=["before-first", "run-1", "run-2"])
def test_a_crashed_run_resumes_to_the_same_scores(uninterrupted, tmp_path, monkeypatch, capsys, run, epoch):
    out = tmp_path / "run"
    _crash_at(monkeypatch, run, epoch)
    with pytest.raises(_Killed):
        main([*RUN, "--checkpoint-every", "3", "--out", str(out)])
    monkeypatch.undo()
    assert (out / "checkpoint" / "runs.json").is_file()
    assert not (out / "metrics.json").exists()
    capsys.readouterr()
    assert main(["train", "--resume", str(out)]) == 0
    err = capsys.readouterr().err
    if epoch >= 3:
        assert f"resuming run {run}/2 from epoch {epoch // 3 * 3}" in err
    assert _metrics(out) == _metrics(uninterrupted)
    # metrics.json says which run was carried on, and from which epoch (a crash before the first
    # checkpoint restarts that run: nothing was resumed).
    metrics = json.loads((out / "metrics.json").read_text())
    cut = (
        [{"run": run, "seed": metrics["seed"] + run - 1, "from_epoch": epoch // 3 * 3}] if epoch >= 3 else []
    )
    assert metrics["resumed"] == cut
    assert json.loads((uninterrupted / "metrics.json").read_text())["resumed"] == []
    assert json.loads((out / "history.json").read_text()) == json.loads(
        (uninterrupted / "history.json").read_text()
    )
    assert not (out / "checkpoint").exists()
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in uninterrupted.iterdir())


def test_a_half_written_checkpoint_file_is_ignored(uninterrupted, tmp_path, monkeypatch):
    out = tmp_path / "run"
    _crash_at(monkeypatch, 1, 8)
    with pytest.raises(_Killed):
        main([*RUN, "--checkpoint-every", "3", "--out", str(out)])
    monkeypatch.undo()
    # What a kill in the middle of a write leaves: a temporary file beside the last good checkpoint.
    (out / "checkpoint" / ".run-1.pt.abc123.tmp").write_bytes(b"PK\x03\x04 half a zip")
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    assert _metrics(out) == _metrics(uninterrupted)


def test_resume_errors(tmp_path, capsys, monkeypatch):
    line = user_error(capsys, ["train", "--resume", str(tmp_path)])
    assert "no unfinished run there" in line and "--checkpoint-every" in line
    line = user_error(capsys, ["train", "--resume", str(tmp_path / "missing")])
    assert "no such folder" in line
    (tmp_path / "metrics.json").write_text("{}")
    line = user_error(capsys, ["train", "--resume", str(tmp_path / "metrics.json")])
    assert "a file, not a folder" in line and "--checkpoint-every" in line
    out = tmp_path / "run"
    _crash_at(monkeypatch, 1, 5)
    with pytest.raises(_Killed):
        main([*RUN, "--checkpoint-every", "3", "--out", str(out)])
    monkeypatch.undo()
    line = user_error(capsys, ["train", "--resume", str(out), "--epochs", "50"])
    assert "--resume takes the run's options from its folder" in line and "--epochs" in line
    line = user_error(capsys, [*RUN, "--out", str(out)])
    assert f"graphae train --resume {out}" in line and "--overwrite" in line
    assert main([*RUN, "--out", str(out), "--overwrite"]) == 0  # starting over is allowed
    line = user_error(capsys, ["train", *FAST, "--checkpoint-every", "2"])
    assert "--checkpoint-every needs --out DIR" in line


@pytest.fixture
def crashed(tmp_path, monkeypatch) -> Path:
    """A run killed in its first run after its epoch-6 checkpoint."""
    out = tmp_path / "run"
    _crash_at(monkeypatch, 1, 8)
    with pytest.raises(_Killed):
        main([*RUN, "--checkpoint-every", "3", "--out", str(out)])
    monkeypatch.undo()
    return out


def test_a_damaged_checkpoint_is_refused_not_resumed(crashed, capsys):
    path = crashed / "checkpoint" / "run-1.pt"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01  # one bit: torch would still load it, to other scores
    path.write_bytes(bytes(data))
    line = user_error(capsys, ["train", "--resume", str(crashed), "--quiet"])
    assert f"{path}: damaged or changed since it was written (its bytes do not match its checksum)" in line


def test_a_checkpoint_without_a_checksum_is_refused(crashed, capsys):
    path = crashed / "checkpoint" / "run-1.pt"
    path.write_bytes(path.read_bytes().split(b"\n", 1)[1])  # as graphae 0.2 wrote it
    line = user_error(capsys, ["train", "--resume", str(crashed), "--quiet"])
    assert f"{path}: not a graphae checkpoint with a checksum" in line


@pytest.mark.parametrize(
    ("key", "value"), [("download", True), ("data_dir", "elsewhere"), ("epochs", 3)], ids=str
)
def test_resume_trusts_only_the_checksummed_run_state(crashed, tmp_path, capsys, key, value):
    path = crashed / "checkpoint" / "runs.json"
    state = json.loads(path.read_text())
    state["args"][key] = str(tmp_path / value) if key == "data_dir" else value
    path.write_text(json.dumps(state))
    line = user_error(capsys, ["train", "--resume", str(crashed), "--quiet"])
    assert f"{path}: changed since graphae wrote it" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # nothing made outside --out
    assert main([*RUN, "--out", str(crashed), "--overwrite"]) == 0  # what the message advises


def test_a_run_state_without_a_checksum_is_refused(crashed, capsys):
    path = crashed / "checkpoint" / "runs.json"
    state = json.loads(path.read_text())
    del state["checksum"]
    path.write_text(json.dumps(state))
    line = user_error(capsys, ["train", "--resume", str(crashed), "--quiet"])
    assert f"{path}: written without a checksum" in line
    assert main([*RUN, "--out", str(crashed), "--overwrite"]) == 0  # still graphae's to replace


def test_patience_stops_early(tmp_path):
    out = tmp_path / "run"
    assert (
        main(["train", *FAST[2:], "--epochs", "400", "--lr", "0.05", "--patience", "3", "--out", str(out)])
        == 0
    )
    history = json.loads((out / "history.json").read_text())
    assert len(history) < 400


@pytest.mark.slow
def test_kill_9_during_training_then_resume(tmp_path):
    """A real ``kill -9`` at a random moment of a checkpointed run, then ``--resume``."""
    argv = [
        "train",
        "--model",
        "vgae",
        "--loss",
        "sampled",
        "--runs",
        "2",
        "--epochs",
        "100",
        "--eval-every",
        "5",
    ]
    argv += ["--device", "cpu", "--threads", "1", "--quiet", "--checkpoint-every", "4"]
    cmd = [sys.executable, "-m", "graphae"]
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert main([*argv, "--out", str(whole)]) == 0
    proc = subprocess.Popen(
        [*cmd, *argv, "--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not (killed / "checkpoint" / "run-1.pt").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    # Somewhere in run 1, perhaps in the middle of a write. The delay is seeded; the moment
    # it lands in still depends on the machine, which is what this test samples.
    time.sleep(random.Random(0).uniform(0.0, 0.3))
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert (killed / "checkpoint").is_dir()
    done = subprocess.run([*cmd, "train", "--resume", str(killed)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "resuming run" in done.stderr
    assert _metrics(killed) == _metrics(whole)


def test_options_not_given_keep_the_models_own_defaults(tmp_path):
    """ARGA's paper settings (latent 32, lr 0.0005) apply unless --latent/--lr are given."""
    graph = make_communities(num_nodes=60, num_communities=2, random_state=0)
    edges = tmp_path / "edges.csv"
    edges.write_text("".join(f"{a},{b}\n" for a, b in zip(*graph.adj.nonzero(), strict=True) if a < b))
    out = tmp_path / "run"
    assert main(["train", "--edges", str(edges), "--model", "arga", *FAST, "--out", str(out)]) == 0
    params = json.loads((out / "metadata.json").read_text())["params"]
    assert params["out_channels"] == 32 and params["lr"] == 0.0005 and params["epochs"] == 12
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["loss"] == "exact" and metrics["epochs"] == 12
    out2 = tmp_path / "run2"
    assert (
        main(["train", "--edges", str(edges), "--model", "arga", *FAST, "--latent", "8", "--out", str(out2)])
        == 0
    )
    assert json.loads((out2 / "metadata.json").read_text())["params"]["out_channels"] == 8
