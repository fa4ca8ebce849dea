"""The command line on run folders and options: one line and exit 2, before training where possible."""

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from cli_helpers import user_error
from graphae import runfolder
from graphae.cli import main

FAST = ["--epochs", "2", "--device", "cpu", "--quiet"]


def _ring(n: int = 24) -> list[tuple[int, int]]:
    return [(i, (i + 1) % n) for i in range(n)] + [(i, (i + 5) % n) for i in range(0, n, 2)]


def _write_parquet(path: Path, source: list, target: list) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"source": source, "target": target}), path)
    return path


@pytest.fixture
def run(tmp_path: Path) -> Path:
    out = tmp_path / "run"
    assert main(["train", *FAST, "--out", str(out)]) == 0
    return out


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --overwrite --------------------------------------------------------------------------
def test_overwrite_leaves_nothing_of_the_previous_run(
    tmp_path: Path, run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plot", str(run), "--method", "pca"]) == 0  # the report files are graphae's too
    capsys.readouterr()
    assert {"report.html", "training.png", "roc_pr.png", "embedding.png"} <= set(_files(run))
    (run / "notes.txt").write_text("mine")
    assert (run / "labels.npy").is_file()  # the synthetic data set has labels, the edge list not
    edges = tmp_path / "edges.csv"
    edges.write_text("".join(f"{a},{b}\n" for a, b in _ring()))
    assert main(["train", *FAST, "--edges", str(edges), "--out", str(run), "--overwrite"]) == 0
    names = _files(run)
    assert "labels.npy" not in names and "report.html" not in names
    assert not [n for n in names if n.endswith(".png")]
    assert (run / "notes.txt").read_text() == "mine"  # files graphae never writes are kept
    assert json.loads((run / "metrics.json").read_text())["num_nodes"] == 24
    assert _files(tmp_path) == ["edges.csv", "run"]  # no temporary sibling folder left


def _user_folder(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """A folder that was never a graphae run, holding files with the names graphae writes."""
    folder = tmp_path / "mine"
    (folder / "checkpoint").mkdir(parents=True)
    files = {
        "checkpoint/state.bin": b"my own checkpoint",
        "labels.npy": b"my labels",
        "report.html": b"<p>my report</p>",
        "model.json": b"{}",
        "model.pt": b"my weights",
        "notes.txt": b"mine",
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder, files


def _contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize("checkpoint", [False, True])
def test_overwrite_refuses_a_folder_that_is_no_graphae_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], checkpoint: bool
) -> None:
    folder, files = _user_folder(tmp_path)
    extra = ["--checkpoint-every", "1"] if checkpoint else []
    line = user_error(capsys, ["train", *FAST, *extra, "--out", str(folder), "--overwrite"])
    assert f"--out {folder}: --overwrite replaces only a graphae run folder" in line
    assert "graphae never deletes what it did not write" in line
    assert _contents(folder) == files  # nothing deleted, nothing replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_overwrite_refuses_a_user_file_with_a_name_graphae_writes(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (run / "report.html").write_text("my own report")  # not listed in the run's metadata.json
    before = _contents(run)
    line = user_error(capsys, ["train", *FAST, "--out", str(run), "--overwrite"])
    assert f"{run / 'report.html'}: not a file of a graphae run" in line
    assert _contents(run) == before


def test_overwrite_refuses_a_run_whose_metadata_was_edited(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = json.loads((run / "metadata.json").read_text())
    meta["files"]["notes.txt"] = meta["files"]["model.pt"]  # claim a user's file for graphae
    (run / "metadata.json").write_text(json.dumps(meta))
    (run / "notes.txt").write_text("mine")
    line = user_error(capsys, ["train", *FAST, "--out", str(run), "--overwrite"])
    assert "metadata.json: changed since it was saved" in line
    assert (run / "notes.txt").read_text() == "mine"


def test_plot_refuses_to_replace_a_user_report(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (run / "report.html").write_text("my own report")
    line = user_error(capsys, ["plot", str(run), "--method", "pca"])
    assert "report.html: not a file of a graphae run" in line
    assert (run / "report.html").read_text() == "my own report"
    assert not (run / "training.png").exists()


@pytest.mark.parametrize("option", ["--out", "--resume"])
def test_an_empty_path_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mine.txt").write_text("mine")
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:  # argparse's errors
        main(["train", *FAST, option, "", "--overwrite"])
    assert exc.value.code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert f"graphae: error: {option}: expected a path, got an empty string (an unset shell variable?)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_overwrite_keeps_the_folder_mode_group_and_setgid(run: Path) -> None:
    os.chmod(run, 0o2775)
    group = next((g for g in os.getgroups() if g != run.stat().st_gid), None)
    if group is not None:
        os.chown(run, -1, group)
    before = run.stat()
    assert main(["train", *FAST, "--out", str(run), "--overwrite"]) == 0
    after = run.stat()
    assert oct(after.st_mode & 0o7777) == oct(0o2775)
    assert after.st_gid == before.st_gid


def test_a_new_run_folder_has_the_mode_of_a_plain_mkdir(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        assert main(["train", *FAST, "--out", str(tmp_path / "new")]) == 0
    finally:
        os.umask(umask)
    assert oct((tmp_path / "new").stat().st_mode & 0o777) == oct(0o755)


def test_a_run_folder_records_the_checksums_of_its_run_files(run: Path) -> None:
    files = json.loads((run / "metadata.json").read_text())["files"]
    for name in ("metrics.json", "test_scores.npz", "split.npz", "labels.npy", "model.pt", "embeddings.npy"):
        assert files[name]["bytes"] == (run / name).stat().st_size


# damaged run folders ------------------------------------------------------------------------
def _forge(folder: Path, meta: dict | None = None) -> None:
    """Record the current files' checksums, and the metadata's own: the readers must hold alone."""
    meta = json.loads((folder / "metadata.json").read_text()) if meta is None else meta
    meta["files"] = runfolder.checksums(folder, tuple(meta["files"]))
    runfolder.write_metadata(folder, meta)


def test_embed_refuses_duplicate_ids(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = (run / "node_ids.txt").read_text().splitlines()
    lines[1] = lines[0]
    (run / "node_ids.txt").write_text("\n".join(lines) + "\n")
    _forge(run)
    line = user_error(capsys, ["embed", "--model", str(run)])
    assert "node_ids.txt: the id 0 appears twice (positions 1 and 2); node ids must be unique." in line


def test_recommend_refuses_fewer_embedding_rows_than_ids(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    embedding = np.load(run / "embeddings.npy")
    np.save(run / "embeddings.npy", embedding[:-1])
    line = user_error(capsys, ["recommend", "--model", str(run), "--node", "0"])
    assert "embeddings.npy: the file is damaged or was changed since it was saved" in line


def test_embed_refuses_a_tampered_size_without_allocating_it(
    run: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = json.loads((run / "metadata.json").read_text())
    meta["fit"]["in_channels"] = 10**12
    _forge(run, meta)
    line = user_error(capsys, ["embed", "--model", str(run)])
    assert (
        "features.npz: a 2000 x 500 matrix, but node_ids.txt has 2000 ids and the model 1000000000000" in line
    )
    # Without the kept features (a folder of graphae 0.2), the weights' shapes are checked the same way.
    (run / "features.npz").unlink()
    del meta["files"]["features.npz"]
    _forge(run, meta)
    line = user_error(capsys, ["embed", "--model", str(run)])
    assert (
        "the weights in model.pt do not fit a GAE with the parameters and in_channels=1000000000000" in line
    )


@pytest.mark.parametrize("key", ["model", "graph", "fit"])
def test_embed_names_a_missing_metadata_key(run: Path, capsys: pytest.CaptureFixture[str], key: str) -> None:
    meta = json.loads((run / "metadata.json").read_text())
    del meta[key]
    (run / "metadata.json").write_text(json.dumps(meta))
    assert f"metadata.json: '{key}' is missing." in user_error(capsys, ["embed", "--model", str(run)])


class _Payload:
    def __reduce__(self):
        return (os.system, ("echo hostile",))


@pytest.mark.parametrize("damage", ["truncated", "hostile"])
def test_a_bad_model_pt_is_one_line_without_unsafe_advice(
    run: Path, capsys: pytest.CaptureFixture[str], damage: str
) -> None:
    if damage == "truncated":
        data = (run / "model.pt").read_bytes()
        (run / "model.pt").write_bytes(data[: len(data) // 3])
    else:
        torch.save({"encoder.conv1.lin.weight": _Payload()}, run / "model.pt")
    _forge(run)  # as if the checksums had been forged: the reader itself must refuse
    line = user_error(capsys, ["embed", "--model", str(run)])
    assert "model.pt: not a readable weights file: " in line
    assert "weights_only" not in line and "can still be loaded" not in line
    if damage == "hostile":
        assert "it refers to the Python object posix.system, and graphae never runs code from a file" in line


# checks before training ---------------------------------------------------------------------
def _unwritable(tmp_path: Path) -> Path:
    """A folder this process cannot create anything in (root ignores permissions: use /sys)."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o500)
        return folder
    try:
        os.rmdir(tempfile.mkdtemp(dir="/sys"))
    except OSError:
        return Path("/sys")
    pytest.skip("no unwritable folder to test with")


def test_an_unwritable_out_fails_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = _unwritable(tmp_path) / "run"
    line = user_error(capsys, ["train", *FAST, "--out", str(out)])
    assert line.startswith(f"graphae: error: --out {out}: cannot write there (")


def test_a_node_id_with_a_line_break_fails_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [f"user {i}" for i in range(24)]
    names[3] = "user\n3"
    edges = _ring()
    path = _write_parquet(tmp_path / "e.parquet", [names[a] for a, _ in edges], [names[b] for _, b in edges])
    out = tmp_path / "run"
    line = user_error(capsys, ["train", *FAST, "--edges", str(path), "--out", str(out)])
    # The reader refuses it first, naming the file and row (a graph built in Python meets the
    # run folder's own check: tests/test_runfolder_checks.py).
    assert "e.parquet: row 3: node id 'user\\n3' holds a line break" in line
    assert not out.exists()


def test_float_node_ids_from_parquet_survive_the_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edges = _ring()
    path = _write_parquet(tmp_path / "e.parquet", [a + 0.5 for a, _ in edges], [b + 0.5 for _, b in edges])
    out = tmp_path / "run"
    assert main(["train", *FAST, "--edges", str(path), "--out", str(out)]) == 0
    assert json.loads((out / "metadata.json").read_text())["graph"]["node_id_type"] == "float"
    capsys.readouterr()
    assert main(["recommend", "--model", str(out), "--node", "0.5", "-k", "3"]) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert len(rows) == 3 and all(float(row.split(",")[2]) % 1 == 0.5 for row in rows)


@pytest.mark.parametrize("hidden", ["1000000000", "100000000000000000000"])
def test_an_absurd_hidden_size_fails_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], hidden: str
) -> None:
    out = tmp_path / "run"
    argv = ["train", *FAST, "--hidden", hidden, "--out", str(out), "--checkpoint-every", "1"]
    line = user_error(capsys, argv)
    assert f"GAE(hidden_channels={hidden}, out_channels=16)" in line
    assert "Choose a smaller hidden_channels or out_channels (--hidden, --latent)." in line
    assert not out.exists()  # not even a checkpoint folder


@pytest.mark.parametrize(
    ("device", "message"),
    [
        ("cpu:1", "--device: The 'device' parameter must be 'auto', 'cpu' or 'cuda[:i]'. Got 'cpu:1'."),
        ("", "--device: The 'device' parameter must be 'auto', 'cpu' or 'cuda[:i]'. Got ''."),
        ("mps", "--device: The 'device' parameter must be 'auto', 'cpu' or 'cuda[:i]'. Got 'mps'."),
        ("cuda:-1", "--device: The 'device' parameter must be 'auto', 'cpu' or 'cuda[:i]'. Got 'cuda:-1'."),
    ],
)
def test_unusual_devices_are_one_line(capsys: pytest.CaptureFixture[str], device: str, message: str) -> None:
    assert message in user_error(capsys, ["train", "--epochs", "1", "--device", device])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_cuda_index_beyond_the_devices_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    count = torch.cuda.device_count()
    line = user_error(capsys, ["train", "--epochs", "1", "--device", f"cuda:{count}"])
    assert f"this machine has {count} CUDA device" in line


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--seed", "-1"], "argument --seed: expected an integer in [0, 4294967295], got '-1'"),
        (
            ["--seed", "9" * 40],
            "argument --seed: expected an integer in [0, 4294967295], got 999999999999...999999",
        ),
        (
            ["--seed", "4294967295", "--runs", "2"],
            "--seed 4294967295 with --runs 2: run 2 would use seed 4294967296",
        ),
        (["--lr", "inf"], "argument --lr: expected a positive number, got 'inf'"),
    ],
    ids=["negative", "huge", "last-run", "lr-inf"],
)
def test_bad_seeds_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], message: str) -> None:
    capsys.readouterr()
    try:
        code = main(["train", *FAST, *argv])
    except SystemExit as exc:  # argparse's errors
        code = exc.code
    assert code == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("graphae: error: ") and message in err


def test_a_diverging_run_is_an_error_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(["train", *FAST, "--lr", "1e30", "--out", str(out)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "Training diverged at epoch" in err[0] and "Traceback" not in err[0]
    assert not out.exists()


@pytest.mark.parametrize(
    ("command", "name"),
    [
        (["evaluate"], "split.npz"),
        (["evaluate"], "metrics.json"),
        (["plot"], "test_scores.npz"),
        (["plot"], "labels.npy"),
    ],
)
def test_run_files_are_checked_against_their_checksums(
    run: Path, capsys: pytest.CaptureFixture[str], command: list[str], name: str
) -> None:
    pytest.importorskip("matplotlib")
    data = bytearray((run / name).read_bytes())
    data[-1] ^= 0x01
    (run / name).write_bytes(bytes(data))
    argv = [*command, "--model", str(run)] if command == ["evaluate"] else [*command, str(run)]
    line = user_error(capsys, argv)
    assert f"{name}: the file is damaged or was changed since it was saved" in line
