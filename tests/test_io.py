import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import graphae.runfolder
from graphae import VGAE, load
from graphae.data import make_communities
from graphae.graph import Graph
from graphae.io import atomic_write, write_json, write_npy
from graphae.runfolder import METADATA, WEIGHTS, read_model, read_weights

LEGACY = Path(__file__).parent / "data" / "legacy-0.1-vgae"


@pytest.fixture(scope="module")
def graph() -> Graph:
    return make_communities(num_nodes=60, num_communities=3, random_state=0)


@pytest.fixture
def saved(tmp_path: Path, graph: Graph) -> Path:
    VGAE(epochs=3, hidden_channels=8, out_channels=4, random_state=0, device="cpu").fit(graph).save(
        tmp_path / "m"
    )
    return tmp_path / "m"


# atomic_write ---------------------------------------------------------------
def test_atomic_write_writes_and_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    atomic_write(target, lambda f: f.write(b"new"))
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_write_text_mode_replaces_old_content(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    target.write_text("old")
    atomic_write(target, lambda f: f.write("new"), mode="w")
    assert target.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def _failing_writer(handle) -> None:
    handle.write(b"partial")
    raise RuntimeError("writer broke")


def test_atomic_write_keeps_old_content_when_the_writer_raises(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError, match="writer broke"):
        atomic_write(target, _failing_writer)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]


def test_atomic_write_creates_nothing_when_the_writer_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="writer broke"):
        atomic_write(tmp_path / "out.bin", _failing_writer)
    assert list(tmp_path.iterdir()) == []


def test_write_json_and_write_npy_round_trip(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", {"x": [1, 2.5]})
    array = np.arange(6, dtype=np.float32).reshape(2, 3)
    write_npy(tmp_path / "a.npy", array)
    assert json.loads((tmp_path / "a.json").read_text()) == {"x": [1, 2.5]}
    loaded = np.load(tmp_path / "a.npy")
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, array)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "a.npy"]


def _reseal(folder: Path) -> None:
    """Record the current files' checksums, as a hostile folder would."""
    meta = json.loads((folder / METADATA).read_text())
    meta["files"] = graphae.runfolder.checksums(folder, tuple(meta["files"]))
    graphae.runfolder.write_metadata(folder, meta)


# model folders ------------------------------------------------------------------
def test_model_folder_holds_the_documented_files(saved: Path) -> None:
    kept = [n for n in graphae.runfolder.FEATURES if (saved / n).is_file()]  # the features it was trained on
    assert len(kept) == 1
    assert sorted(p.name for p in saved.iterdir()) == sorted([*graphae.runfolder.MODEL_FILES, *kept])
    meta = json.loads((saved / METADATA).read_text())
    assert meta["format"] == "graphae-model" and meta["model"] == "vgae"
    assert meta["fit"]["in_channels"] == 500 and meta["fit"]["features_used"] is True
    assert read_model(saved).embedding.shape == (60, 4)


@pytest.mark.parametrize("missing", ["model.pt", "embeddings.npy", "node_ids.txt", "adjacency.npz"])
def test_read_model_names_a_missing_file(saved: Path, missing: str) -> None:
    (saved / missing).unlink()
    with pytest.raises(FileNotFoundError, match=rf"{missing} not found: the model folder .* is incomplete"):
        read_model(saved)


def test_read_model_on_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such folder; expected a model folder saved by graphae"):
        read_model(tmp_path / "nowhere")


@pytest.mark.parametrize("key", ["model", "params", "graph", "fit"])
def test_read_model_rejects_incomplete_metadata(saved: Path, key: str) -> None:
    meta = json.loads((saved / METADATA).read_text())
    del meta[key]
    (saved / METADATA).write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=rf"{METADATA}: '{key}' is missing"):
        read_model(saved)


def test_read_model_names_a_damaged_metadata_file(saved: Path) -> None:
    (saved / METADATA).write_text("{not json")
    with pytest.raises(ValueError, match=rf"{METADATA}: not valid JSON"):
        read_model(saved)


def test_read_model_refuses_parts_that_do_not_fit(saved: Path) -> None:
    meta = json.loads((saved / METADATA).read_text())
    del meta["files"]  # as in a folder saved before checksums: the shapes are still checked
    (saved / METADATA).write_text(json.dumps(meta))
    np.save(saved / "embeddings.npy", np.zeros((59, 4), dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"one row of floats per node id \(60 rows\); got an array of shape \(59, 4\)"
    ):
        read_model(saved, legacy=True)


def test_a_folder_of_graphae_0_1_still_loads() -> None:
    # Written by graphae 0.1 (estimator.json + model.json): read without a change, when asked.
    est = load(LEGACY, legacy=True)
    assert type(est) is VGAE and (est.hidden_channels, est.out_channels) == (4, 2)
    assert not est.features_used_ and est.embedding_.shape == (30, 2)
    np.testing.assert_allclose(
        est.predict_proba([("p0", "p1"), ("p2", "p3")]), [0.4998902380466461, 0.4997195303440094], rtol=1e-6
    )
    assert [n for n, _ in est.recommend("p0", k=3)] == ["p5", "p15", "p18"]


def test_a_damaged_folder_of_graphae_0_1_says_what_to_do(tmp_path: Path) -> None:
    folder = Path(shutil.copytree(LEGACY, tmp_path / "old"))
    state = json.loads((folder / "estimator.json").read_text())
    del state["in_channels"]
    (folder / "estimator.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match="an incomplete model file of graphae 0.1.*train the model again"):
        load(folder, legacy=True)


class _Payload:
    """Unpickling this creates the file at ``path``: a stand-in for arbitrary code."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_payload_runs_under_plain_pickle(tmp_path: Path) -> None:
    # Shows the payload below is live, so the next test's check means something.
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(_Payload(marker))).close()
    assert marker.exists()


def test_loading_never_runs_code_from_the_weights_file(tmp_path: Path, saved: Path) -> None:
    marker = tmp_path / "payload-ran"
    torch.save({"encoder.conv1.weight": _Payload(marker)}, saved / WEIGHTS)
    _reseal(saved)  # a hostile folder can carry matching checksums: the reader itself must hold
    assert not marker.exists()
    with pytest.raises(ValueError, match=r"model.pt: not a readable weights file") as err:
        load(saved)
    assert not marker.exists()
    assert "weights_only=False" not in str(err.value)  # never advise that for an untrusted file
    assert "can still be loaded" not in str(err.value)
    assert "it refers to the Python object io.open, and graphae never runs code" in str(err.value)


def test_weights_are_read_with_weights_only(saved: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Newer torch defaults to weights_only=True; check graphae asks for it explicitly.
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(graphae.runfolder.torch, "load", spy)
    read_weights(saved / WEIGHTS)
    assert len(calls) == 1
    assert calls[0].get("weights_only") is True


def test_truncated_weights_are_a_clear_error(saved: Path) -> None:
    data = (saved / WEIGHTS).read_bytes()
    (saved / WEIGHTS).write_bytes(data[: len(data) // 2])
    _reseal(saved)
    with pytest.raises(ValueError, match="model.pt: not a readable weights file: it is damaged"):
        load(saved)
