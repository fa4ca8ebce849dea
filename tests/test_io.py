import json
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import graphae.io
from graphae.data import make_communities
from graphae.graph import Graph
from graphae.io import CONFIG_FILE, WEIGHTS_FILE, atomic_write, load_model, save_model, write_json, write_npy
from graphae.nn import build_model
from graphae.training import GraphTensors

HIDDEN, OUT = 8, 4


@pytest.fixture(scope="module")
def graph() -> Graph:
    return make_communities(num_nodes=60, num_communities=3, random_state=0)


def _config(name: str, data: GraphTensors) -> dict:
    return {"model": name, "in_channels": data.in_channels, "hidden_channels": HIDDEN, "out_channels": OUT}


def _saved_model(folder: Path, graph: Graph, name: str = "gae") -> None:
    data = GraphTensors.from_graph(graph)
    model = build_model(name, data.in_channels, HIDDEN, OUT, torch.Generator().manual_seed(0))
    save_model(model, _config(name, data), folder)


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


# save_model / load_model ----------------------------------------------------
@pytest.mark.parametrize("features", [True, False], ids=["features", "identity"])
@pytest.mark.parametrize("name", ["gae", "vgae"])
def test_save_load_round_trip(tmp_path: Path, graph: Graph, name: str, features: bool) -> None:
    data = GraphTensors.from_graph(graph, features=features)
    model = build_model(name, data.in_channels, HIDDEN, OUT, torch.Generator().manual_seed(1))
    config = {**_config(name, data), "note": "kept"}
    save_model(model, config, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CONFIG_FILE, WEIGHTS_FILE]

    loaded, loaded_config = load_model(tmp_path)
    assert loaded_config == config
    assert not loaded.training
    assert loaded.variational == (name == "vgae")
    model.eval()
    with torch.no_grad():
        expected = model(data.x, data.adj).mu
        got = loaded(data.x, data.adj).mu
    assert got.shape == (graph.num_nodes, OUT)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


@pytest.mark.parametrize("missing", [CONFIG_FILE, WEIGHTS_FILE])
def test_load_model_names_a_missing_file(tmp_path: Path, graph: Graph, missing: str) -> None:
    _saved_model(tmp_path, graph)
    (tmp_path / missing).unlink()
    with pytest.raises(FileNotFoundError, match=rf"{missing} not found: is .* a folder written by graphae"):
        load_model(tmp_path)


def test_load_model_on_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=f"{CONFIG_FILE} not found"):
        load_model(tmp_path / "nowhere")


@pytest.mark.parametrize("key", ["model", "in_channels", "hidden_channels", "out_channels"])
def test_load_model_rejects_an_incomplete_config(tmp_path: Path, graph: Graph, key: str) -> None:
    _saved_model(tmp_path, graph)
    config = json.loads((tmp_path / CONFIG_FILE).read_text())
    del config[key]
    (tmp_path / CONFIG_FILE).write_text(json.dumps(config))
    with pytest.raises(ValueError, match=rf"{CONFIG_FILE} lacks \['{key}'\]"):
        load_model(tmp_path)


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


def test_load_model_never_runs_code_from_the_weights_file(tmp_path: Path, graph: Graph) -> None:
    _saved_model(tmp_path, graph)
    marker = tmp_path / "payload-ran"
    torch.save({"encoder.conv1.weight": _Payload(marker)}, tmp_path / WEIGHTS_FILE)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError):
        load_model(tmp_path)
    assert not marker.exists()


def test_load_model_asks_torch_for_weights_only(
    tmp_path: Path, graph: Graph, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Newer torch defaults to weights_only=True; check graphae asks for it explicitly.
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    _saved_model(tmp_path, graph)
    monkeypatch.setattr(graphae.io.torch, "load", spy)
    load_model(tmp_path)
    assert len(calls) == 1
    assert calls[0].get("weights_only") is True
