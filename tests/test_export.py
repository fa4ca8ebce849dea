"""``graphae export``: onnxruntime's embeddings of the exported encoder equal graphae's."""

import sys

import numpy as np
import pytest
import scipy.sparse as sp

pytest.importorskip("onnxscript")
ort = pytest.importorskip("onnxruntime")

import graphae  # noqa: E402
from cli_helpers import user_error  # noqa: E402
from graphae import GAE, VGAE, Graph  # noqa: E402
from graphae.cli import main  # noqa: E402
from graphae.data import make_communities  # noqa: E402
from graphae.errors import InputError, MissingDependencyError  # noqa: E402
from graphae.export import export_onnx, onnx_inputs  # noqa: E402
from graphae.inductive import extend_graph  # noqa: E402

TOL = 1e-5


def _run(path, graph: Graph, repeats: int = 4) -> np.ndarray:
    # Several threads and runs: onnxruntime's ScatterND added repeated rows racily, so one
    # run in a few came out wrong (a regression of the first export, which used it).
    options = ort.SessionOptions()
    options.intra_op_num_threads = 4
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    runs = [session.run(["mu"], onnx_inputs(graph))[0] for _ in range(repeats)]
    for other in runs[1:]:
        np.testing.assert_array_equal(other, runs[0])
    return runs[0]


@pytest.fixture(scope="module")
def cora_sized():
    # Cora's size: 2,708 nodes, 1,433 sparse binary features, about 5,300 edges.
    return make_communities(num_nodes=2708, avg_degree=3.9, num_features=1433, random_state=0)


@pytest.mark.slow
@pytest.mark.parametrize("cls", [GAE, VGAE])
def test_onnxruntime_equals_graphae_on_a_cora_sized_graph(cls, cora_sized, tmp_path):
    assert sp.issparse(cora_sized.x)
    model = cls(epochs=3, random_state=0, device="cpu").fit(cora_sized)
    model.module_.train()  # the export runs a copy in evaluation mode and leaves the module as it is
    path = export_onnx(model, tmp_path / "encoder.onnx")
    assert model.module_.training
    mu = _run(path, cora_sized)
    assert mu.shape == model.embedding_.shape and mu.dtype == np.float32
    np.testing.assert_allclose(mu, model.embedding_, rtol=TOL, atol=TOL)


def test_other_encoders_and_normalizations(tmp_path):
    graph = make_communities(num_nodes=80, num_features=10, random_state=1)
    directed = Graph.from_edges(
        [(i, (3 * i + 1) % 40) for i in range(40)] + [(i, (i + 7) % 40) for i in range(0, 40, 3)],
        x=np.random.default_rng(0).random((40, 6), dtype=np.float32),
        directed=True,
    )
    cases = [
        (GAE(epochs=3, random_state=0, normalize_features=True, device="cpu"), graph),
        (graphae.get_model("maskgae").estimator(epochs=3, random_state=0, device="cpu"), graph),
        (graphae.get_model("linear_vgae").estimator(epochs=3, random_state=0, device="cpu"), graph),
        (graphae.get_model("gravity_gae").estimator(epochs=3, random_state=0, device="cpu"), directed),
    ]
    for k, (model, data) in enumerate(cases):
        model.fit(data)
        mu = _run(export_onnx(model, tmp_path / f"{k}.onnx"), data)
        np.testing.assert_allclose(mu, model.embedding_, rtol=TOL, atol=TOL, err_msg=type(model).__name__)


def test_the_exported_encoder_embeds_new_nodes_as_graphae_does(tmp_path):
    graph = make_communities(num_nodes=100, num_features=12, random_state=0)
    model = GAE(epochs=5, random_state=0, device="cpu").fit(graph)
    path = export_onnx(model, tmp_path / "encoder.onnx")
    x_new = np.random.default_rng(0).random((2, 12), dtype=np.float32)
    edges = [(500, 3), (500, 9), (501, 500), (501, 40)]
    enlarged, new = extend_graph(model, edges, ([500, 501], x_new))
    _, z = model.embed_new_nodes(edges, features=([500, 501], x_new))
    np.testing.assert_allclose(_run(path, enlarged)[new], z, rtol=TOL, atol=TOL)


@pytest.mark.slow
def test_onnxruntime_equals_graphae_on_cora(cora, tmp_path):
    model = GAE(epochs=5, random_state=0, device="cpu").fit(cora)
    mu = _run(export_onnx(model, tmp_path / "cora.onnx"), cora)
    np.testing.assert_allclose(mu, model.embedding_, rtol=TOL, atol=TOL)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "run"
    assert main(["train", "--epochs", "2", "--seed", "0", "--quiet", "--out", str(folder)]) == 0
    return folder


def test_cli_export(run_folder, tmp_path, capsys):
    out = tmp_path / "encoder.onnx"
    capsys.readouterr()
    assert main(["export", "--model", str(run_folder), "--format", "onnx", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"graphae: wrote {out}: the gae encoder (x [N, ")
    model = graphae.load(run_folder)
    # The folder's graph holds every edge; the model was fitted on the training edges alone.
    expected = model.transform(model.graph_)
    np.testing.assert_allclose(_run(out, model.graph_), expected, rtol=TOL, atol=TOL)
    assert [p.name for p in tmp_path.iterdir()] == ["encoder.onnx"]  # no temporary file left


def test_cli_export_errors(run_folder, tmp_path, capsys, monkeypatch):
    line = user_error(capsys, ["export", "--model", str(run_folder), "--out", str(tmp_path)])
    assert line == f"graphae: error: --out {tmp_path}: is a folder; give a file name"
    featureless = tmp_path / "featureless"
    assert main(["train", "--epochs", "1", "--no-features", "--quiet", "--out", str(featureless)]) == 0
    line = user_error(capsys, ["export", "--model", str(featureless), "--out", str(tmp_path / "a.onnx")])
    assert line.startswith(
        "graphae: error: This GAE was trained without node features: its encoder computes embeddings only "
        "for the 2000 nodes it was fitted on, so it cannot be exported to ONNX"
    ), line
    assert not (tmp_path / "a.onnx").exists()
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    line = user_error(capsys, ["export", "--model", str(run_folder), "--out", str(tmp_path / "a.onnx")])
    assert line == (
        "graphae: error: exporting to ONNX needs onnx and onnxscript (onnxruntime to run it): "
        'pip install "graphae[export]"'
    )
    with pytest.raises(MissingDependencyError):
        export_onnx(graphae.load(run_folder), tmp_path / "b.onnx")


def test_heuristics_and_learned_node_tables_are_refused(tmp_path):
    graph = make_communities(num_nodes=60, num_features=8, random_state=0)
    heuristic = graphae.get_model("adamic_adar").estimator().fit(graph)
    with pytest.raises(InputError, match="AdamicAdar is a heuristic without an encoder"):
        export_onnx(heuristic, tmp_path / "h.onnx")
    table = graphae.get_model("refined_gae").estimator(epochs=1, random_state=0, device="cpu").fit(graph)
    with pytest.raises(
        InputError, match="learned an embedding per node: its encoder computes embeddings only"
    ):
        export_onnx(table, tmp_path / "t.onnx")
    assert list(tmp_path.iterdir()) == []
