"""Checkpoints of partitioned training: a run resumed after a crash ends as an uninterrupted one."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from cli_helpers import user_error
from graphae.cli import main
from graphae.data import make_communities
from graphae.errors import InputError
from graphae.partition import load_embeddings, partition_graph
from graphae.training import partitioned_checkpoint as pc
from test_partitioned import LAUNCH_TIMEOUT, ROOT, _free_port, _launch


def test_two_ranks_resume_after_a_crash_to_the_embeddings_of_an_uninterrupted_run(tmp_path):
    graph = make_communities(num_nodes=120, num_communities=3, avg_degree=5, num_features=6, random_state=0)
    root = tmp_path / "parts"
    partition_graph(graph, 2, "hash", root, seed=1)
    _launch(tmp_path, root, ROOT / "tests" / "partitioned_resume_worker.py")
    reports = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in range(2)]
    for r in range(2):
        saved = np.load(tmp_path / f"rank-{r}.npz")
        for name in ("features", "identity"):
            # Same random negatives, same optimizer state, same rows: the same embedding, bit for bit.
            assert np.array_equal(saved[f"{name}_whole"], saved[f"{name}_resumed"])
            whole, resumed = reports[r][f"{name}_history"]
            assert resumed == whole and len(whole) == 7
            assert reports[r][f"{name}_bytes"][0] == reports[r][f"{name}_bytes"][1]
    report = reports[0]
    for name in ("features", "identity"):
        # The crash left the epoch-4 checkpoint and half of epoch 6's; the resumed run began at
        # epoch 4 (epoch 6's shards were not all there), and ended with epoch 6's, whole.
        assert report[f"{name}_before"] == [
            "complete.json", "epoch-4", "epoch-4/part-0.pt", "epoch-4/part-1.pt",
            "epoch-6", "epoch-6/.part-1.pt.abc123.tmp", "epoch-6/part-0.pt",
        ]  # fmt: skip
        assert report[f"{name}_after"] == [
            "complete.json",
            "epoch-6",
            "epoch-6/part-0.pt",
            "epoch-6/part-1.pt",
        ]
    folder = tmp_path / "checkpoint-identity"
    for r in range(2):  # every rank stops with the same one-line error
        assert reports[r]["manifest"].startswith(
            f"{folder / 'complete.json'}: the checkpoint was made with other partitions"
        )
        assert reports[r]["options"] == (
            f"{folder / 'complete.json'}: the checkpoint was made with other training options "
            "(lr 0.02 there, 0.5 here); resume with the options the run started with, or start the run "
            "again with --overwrite."
        )
        seen = folder if r == 0 else tmp_path / "elsewhere-1"  # each rank names the folder it sees
        assert reports[r]["unshared_resume"] == (
            f"{seen / 'complete.json'}: the ranks see different checkpoints (rank 0: epoch 6, rank 1: none); "
            "the checkpoint folder must be on a file system every rank shares"
        )
        assert reports[r]["unshared_save"] == (
            f"{tmp_path / 'elsewhere-0' / 'epoch-2' / 'part-1.pt'}: rank 1's checkpoint shard is missing or not "
            "what it wrote, as rank 0 sees it; the checkpoint folder must be on a file system every rank shares"
        )
        assert reports[r]["missing"] == (
            f"MissingFileError: {folder / 'epoch-6' / 'part-1.pt'}: missing, though {folder / 'complete.json'} "
            "names it (rank 1's shard of the epoch-6 checkpoint); start the run again with --overwrite."
        )


# graphae train --partitions ... --checkpoint-every K, then --resume (one part, in this process) ------
FAST = ["--epochs", "7", "--batch-size", "20", "--threads", "1"]


class _Killed(BaseException):
    """Stands for the process dying (a BaseException, like SystemExit: nothing catches it)."""


@pytest.fixture
def one_part(tmp_path):
    graph = make_communities(num_nodes=60, num_communities=3, avg_degree=5, random_state=0)
    partition_graph(graph, 1, "hash", tmp_path / "p")
    return tmp_path / "p", ["train", "--partitions", str(tmp_path / "p"), *FAST]


def _crash_at_save(monkeypatch, epoch: int) -> None:
    real = pc.PartitionedCheckpointer.save

    def save(self, at, *args):
        if at == epoch:
            raise _Killed
        real(self, at, *args)

    monkeypatch.setattr(pc.PartitionedCheckpointer, "save", save)


def _crashed(monkeypatch, argv, out, epoch=6):
    _crash_at_save(monkeypatch, epoch)
    with pytest.raises(_Killed):
        main([*argv, "--quiet", "--checkpoint-every", "2", "--out", str(out)])
    monkeypatch.undo()


def test_a_crashed_partitioned_run_resumes_to_the_same_embeddings(one_part, tmp_path, monkeypatch, capsys):
    _, argv = one_part
    whole, out = tmp_path / "whole", tmp_path / "run"
    assert main([*argv, "--quiet", "--out", str(whole)]) == 0
    assert main([*argv, "--quiet", "--out", str(out)]) == 0  # a finished run, and a file of the user's
    (out / "notes.txt").write_text("keep")
    _crashed(monkeypatch, [*argv, "--overwrite"], out)
    assert sorted(p.name for p in (out / "checkpoint").iterdir()) == ["complete.json", "epoch-4", "runs.json"]
    line = user_error(capsys, [*argv, "--out", str(out)])
    assert line == (
        f"graphae: error: --out {out}: holds an unfinished partitioned run; continue it with "
        f"`torchrun --nproc-per-node P -m graphae train --resume {out}`, or pass --overwrite to start over"
    )
    line = user_error(capsys, ["train", "--resume", str(out), "--epochs", "9"])
    assert "--resume takes the run's options from its folder" in line and "--epochs" in line
    capsys.readouterr()
    assert main(["train", "--resume", str(out)]) == 0
    assert "resuming from epoch 4" in capsys.readouterr().err
    assert np.array_equal(load_embeddings(out)[1], load_embeddings(whole)[1])
    assert (out / "history.json").read_text() == (whole / "history.json").read_text()
    metrics, expected = (json.loads((f / "metrics.json").read_text()) for f in (out, whole))
    assert metrics["test_auc"] == expected["test_auc"] and metrics["test_ap"] == expected["test_ap"]
    assert sorted(p.name for p in out.iterdir()) == [
        "embeddings",
        "history.json",
        "metrics.json",
        "notes.txt",
    ]
    assert (out / "notes.txt").read_text() == "keep"


def test_a_crash_before_the_first_checkpoint_resumes_from_the_start(one_part, tmp_path, monkeypatch, capsys):
    _, argv = one_part
    out = tmp_path / "run"
    _crashed(monkeypatch, argv, out, epoch=2)
    capsys.readouterr()
    assert main(["train", "--resume", str(out)]) == 0
    assert "resuming from the start" in capsys.readouterr().err
    assert not (out / "checkpoint").exists() and len(json.loads((out / "history.json").read_text())) == 7


def test_resume_refuses_other_partitions_and_damaged_shards(one_part, tmp_path, monkeypatch, capsys):
    root, argv = one_part
    out = tmp_path / "run"
    _crashed(monkeypatch, argv, out)
    shard, record = out / "checkpoint" / "epoch-4" / "part-0.pt", out / "checkpoint" / "complete.json"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0x01
    shard.write_bytes(bytes(data))
    line = user_error(capsys, ["train", "--resume", str(out), "--quiet"])
    assert line == (
        f"graphae: error: {shard}: damaged or changed since it was written (its SHA-256 differs from "
        "complete.json's); start the run again with --overwrite."
    )
    shard.unlink()
    line = user_error(capsys, ["train", "--resume", str(out), "--quiet"])
    assert line.startswith(f"graphae: error: {shard}: missing, though {record} names it")
    graph = make_communities(num_nodes=60, num_communities=3, avg_degree=5, random_state=1)
    partition_graph(graph, 1, "hash", root, overwrite=True)  # the same folder, other parts
    line = user_error(capsys, ["train", "--resume", str(out), "--quiet"])
    assert line.startswith(f"graphae: error: {record}: the checkpoint was made with other partitions")
    assert str(root) in line and "resume with the partitions the run started with" in line
    record.write_text(record.read_text().replace('"epoch": 4', '"epoch": 2'))
    line = user_error(capsys, ["train", "--resume", str(out), "--quiet"])
    assert line == (
        f"graphae: error: {record}: changed since graphae wrote it (it does not match its checksum); "
        "start the run again with --overwrite."
    )
    assert main([*argv, "--quiet", "--out", str(out), "--overwrite"]) == 0  # what the messages advise
    assert not (out / "checkpoint").exists()


def test_a_checkpoint_of_another_world_size_is_refused(tmp_path):
    meta = {"world_size": 1, "manifest": "a" * 64, "partitions": "parts", "options": {"lr": 0.01}}
    record = {"format": pc.FORMAT, "format_version": pc.FORMAT_VERSION, "epoch": 4, **meta, "shards": {}}
    (tmp_path / "complete.json").write_text(json.dumps({**record, "checksum": pc._digest(record)}))
    assert pc.read_complete(tmp_path, meta)["epoch"] == 4
    with pytest.raises(InputError) as err:
        pc.read_complete(tmp_path, {**meta, "world_size": 4})
    assert str(err.value) == (
        f"{tmp_path / 'complete.json'}: the checkpoint was made by 1 processes, this run has 4; resume with "
        "torchrun --nproc-per-node 1 and the partitions the run started with, or start the run again with "
        "--overwrite."
    )
    assert pc.read_complete(tmp_path / "none", meta) is None  # no complete checkpoint: a fresh start


def test_checkpoint_every_needs_out(one_part, capsys):
    line = user_error(capsys, [*one_part[1], "--checkpoint-every", "2"])
    assert line == "graphae: error: --checkpoint-every needs --out DIR (the checkpoints go there)"


# Under torchrun, a rank that dies: torchrun stops the others; --resume carries on ---------------
def _torchrun(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--master-addr", "127.0.0.1"]
    cmd += ["--master-port", str(_free_port()), "--nproc-per-node", "2", *argv]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)


@pytest.mark.slow
def test_graphae_train_resumes_a_partitioned_run_whose_rank_died(tmp_path):
    graph = make_communities(num_nodes=120, num_communities=3, avg_degree=5, random_state=0).replace(x=None)
    root, whole, out = tmp_path / "parts", tmp_path / "whole", tmp_path / "run"
    partition_graph(graph, 2, "hash", root, seed=1)
    argv = ["train", "--partitions", str(root), "--epochs", "7", "--batch-size", "50", "--threads", "1"]
    done = _torchrun("-m", "graphae", *argv, "--quiet", "--out", str(whole))
    assert done.returncode == 0, done.stderr[-3000:]
    crashed = _torchrun(
        str(ROOT / "tests" / "partitioned_crash_main.py"), *argv, "--checkpoint-every", "2", "--out", str(out)
    )
    assert crashed.returncode != 0 and not (out / "metrics.json").exists()
    assert json.loads((out / "checkpoint" / "complete.json").read_text())["epoch"] == 4
    assert (out / "checkpoint" / "epoch-6" / "part-0.pt").is_file()  # half of a checkpoint: ignored
    done = _torchrun("-m", "graphae", "train", "--resume", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming from epoch 4" in done.stderr
    for part in range(2):  # each rank's shard: its own embedding rows trained on, bit for bit
        ids, z = load_embeddings(out, part=part)
        expected_ids, expected = load_embeddings(whole, part=part)
        assert np.array_equal(ids, expected_ids) and np.array_equal(z, expected)
    assert (out / "history.json").read_text() == (whole / "history.json").read_text()
    assert sorted(p.name for p in out.iterdir()) == ["embeddings", "history.json", "metrics.json"]


def test_resume_takes_no_partition_folder_beside_it(one_part, tmp_path, capsys):
    line = user_error(capsys, ["train", "--partitions", str(one_part[0]), "--resume", str(tmp_path)])
    assert "--resume takes the run's options from its folder" in line and line.endswith("Got --partitions")


def test_a_checkpoint_folder_of_the_users_is_never_replaced(one_part, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*one_part[1], "--quiet", "--out", str(out)]) == 0
    (out / "checkpoint").mkdir()
    (out / "checkpoint" / "mine.txt").write_text("keep")
    for extra in ([], ["--checkpoint-every", "2"]):
        line = user_error(capsys, [*one_part[1], "--out", str(out), "--overwrite", *extra])
        assert line == (
            f"graphae: error: --out {out}: {out / 'checkpoint'} is not graphae's (no runs.json of graphae's in "
            "it), and graphae never replaces what it did not write; move it away or choose another folder"
        )
    assert (out / "checkpoint" / "mine.txt").read_text() == "keep"
