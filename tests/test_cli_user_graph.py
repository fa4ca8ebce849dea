"""The user's-own-graph workflow of the CLI: train on a file, then embed, predict, recommend, plot."""

import csv
import errno
import io
import itertools
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

import graphae.io
import graphae.runfolder
from cli_helpers import user_error
from graphae.cli import main
from graphae.estimator import GraphAutoencoderEstimator
from graphae.io import write_npy

FAST = ["--epochs", "3", "--device", "cpu", "--quiet"]
CLIQUES, CLIQUE_SIZE = 10, 8
NUM_NODES = CLIQUES * CLIQUE_SIZE
NUM_EDGES = CLIQUES * CLIQUE_SIZE * (CLIQUE_SIZE - 1) // 2 + CLIQUES
LATENT = 16


# Graphs and helpers -----------------------------------------------------------
def _ring_of_cliques() -> list[tuple[int, int]]:
    """Ten 8-cliques joined in a ring, edges as index pairs in a shuffled (seeded) order."""
    edges = []
    for c in range(CLIQUES):
        members = range(c * CLIQUE_SIZE, (c + 1) * CLIQUE_SIZE)
        edges += list(itertools.combinations(members, 2))
        edges.append((c * CLIQUE_SIZE, ((c + 1) % CLIQUES) * CLIQUE_SIZE + CLIQUE_SIZE // 2))
    order = np.random.default_rng(0).permutation(len(edges))
    return [edges[k] for k in order]


def _id_edges(int_ids: bool = False) -> list[tuple[str, str]]:
    """The ring of cliques with node ids whose first-appearance order is not sorted."""
    names = np.random.default_rng(1).permutation(NUM_NODES)
    ids = [str(10 * int(v) + 3) if int_ids else f"user-{int(v):02d}" for v in names]
    return [(ids[a], ids[b]) for a, b in _ring_of_cliques()]


def _first_appearance(edges: list[tuple[str, str]]) -> list[str]:
    return list(dict.fromkeys(node for pair in edges for node in pair))


def _write_edges(path: Path, edges: list[tuple[str, str]], sep: str = ",", header: str | None = None) -> Path:
    lines = ([header] if header is not None else []) + [f"{a}{sep}{b}" for a, b in edges]
    path.write_text("\n".join(lines) + "\n")
    return path


def _train(out: Path, *args: str) -> Path:
    assert main(["train", *FAST, "--out", str(out), *args]) == 0
    return out


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _node_ids(model: Path) -> list[str]:
    return (model / "node_ids.txt").read_text().splitlines()


def _neighbours(edges: list[tuple[str, str]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for a, b in edges:
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return out


def _saved_neighbours(model: Path) -> dict[str, set[str]]:
    """Neighbours in the adjacency saved with the model (the training graph)."""
    ids = _node_ids(model)
    adj = sp.load_npz(model / "adjacency.npz").tocsr()
    return {ids[i]: {ids[j] for j in adj.indices[adj.indptr[i] : adj.indptr[i + 1]]} for i in range(len(ids))}


def _sigmoid_dot(model: Path, pairs: list[tuple[str, str]]) -> np.ndarray:
    index = {node: i for i, node in enumerate(_node_ids(model))}
    z = np.load(model / "embeddings.npy").astype(np.float64)
    logits = np.array([z[index[a]] @ z[index[b]] for a, b in pairs])
    return 1.0 / (1.0 + np.exp(-logits))


def _csv_rows(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=delimiter))


_user_error = user_error


def _recommendations(capsys: pytest.CaptureFixture[str], argv: list[str]) -> list[list[str]]:
    capsys.readouterr()
    assert main(["recommend", *argv]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    rows = _csv_rows(out)
    assert rows[0] == ["node", "rank", "neighbour", "probability"]
    return rows[1:]


@pytest.fixture(scope="module")
def edges() -> list[tuple[str, str]]:
    return _id_edges()


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory, edges: list[tuple[str, str]]) -> Path:
    """One model trained on a string-id CSV edge list, shared by the read-only tests."""
    folder = tmp_path_factory.mktemp("user-graph")
    path = _write_edges(folder / "edges.csv", edges)
    return _train(folder / "model", "--edges", str(path))


@pytest.fixture(scope="module")
def int_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("int-graph")
    path = _write_edges(folder / "edges.txt", _id_edges(int_ids=True), sep=" ")
    return _train(folder / "model", "--edges", str(path))


# train ------------------------------------------------------------------------
def _write_parquet(path: Path, edges: list[tuple[str, str]]) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"source": [a for a, _ in edges], "target": [b for _, b in edges]})
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize(
    ("name", "sep", "header"),
    [
        ("edges.csv", ",", None),
        ("edges.csv", ",", "source,target"),
        ("edges.tsv", "\t", None),
        ("edges.tsv", "\t", "source\ttarget"),
        ("edges.txt", " ", None),
        ("edges.txt", "   ", "# a comment line\nfrom to"),
        ("edges.parquet", None, None),
    ],
)
def test_train_on_an_edge_list(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edges, name: str, sep: str | None, header: str | None
) -> None:
    if sep is None:
        path = _write_parquet(tmp_path / name, edges)
    else:
        path = _write_edges(tmp_path / name, edges, sep=sep, header=header)
    out = _train(tmp_path / "run", "--edges", str(path))
    stdout, stderr = capsys.readouterr()
    assert stderr == ""
    assert len(stdout.splitlines()) == 1 and stdout.startswith("test AUC ")
    assert _node_ids(out) == _first_appearance(edges)
    assert np.load(out / "embeddings.npy").shape == (NUM_NODES, LATENT)
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["num_nodes"], metrics["num_edges"]) == (NUM_NODES, NUM_EDGES)
    assert metrics["dataset"] == "edges"
    assert json.loads((out / "metadata.json").read_text())["graph"]["node_id_type"] == "str"
    assert not (out / "labels.npy").exists()


def test_train_with_features_keyed_by_id(tmp_path: Path, edges) -> None:
    order = _first_appearance(edges)
    rng = np.random.default_rng(0)
    # Rows in another order than the edge list, and one node that only the features know.
    table = {node: rng.random(4) for node in [*reversed(order), "lonely"]}
    lines = ["id,f0,f1,f2,f3"] + [f"{node},{','.join(map(str, row))}" for node, row in table.items()]
    features = tmp_path / "features.csv"
    features.write_text("\n".join(lines) + "\n")
    out = _train(
        tmp_path / "run", "--edges", str(_write_edges(tmp_path / "e.csv", edges)), "--features", str(features)
    )
    assert _node_ids(out) == [*order, "lonely"]
    assert np.load(out / "embeddings.npy").shape == (NUM_NODES + 1, LATENT)
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["num_nodes"], metrics["num_edges"], metrics["features"]) == (
        NUM_NODES + 1,
        NUM_EDGES,
        True,
    )
    assert json.loads((out / "metadata.json").read_text())["fit"]["in_channels"] == 4
    assert _saved_neighbours(out)["lonely"] == set()


def test_train_on_a_gnn_benchmark_npz(tmp_path: Path) -> None:
    pairs = np.array(_ring_of_cliques())
    adj = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(NUM_NODES, NUM_NODES))
    adj = (adj + adj.T).tocsr()
    attr = sp.csr_matrix(np.random.default_rng(0).random((NUM_NODES, 5)) < 0.3, dtype=np.float32)
    labels = np.arange(NUM_NODES) // CLIQUE_SIZE
    path = tmp_path / "graph.npz"
    np.savez(
        path,
        adj_data=adj.data,
        adj_indices=adj.indices,
        adj_indptr=adj.indptr,
        adj_shape=np.array(adj.shape),
        attr_data=attr.data,
        attr_indices=attr.indices,
        attr_indptr=attr.indptr,
        attr_shape=np.array(attr.shape),
        labels=labels,
    )
    out = _train(tmp_path / "run", "--dataset", str(path))
    np.testing.assert_array_equal(np.load(out / "labels.npy"), labels)
    assert _node_ids(out) == [str(i) for i in range(NUM_NODES)]
    metrics = json.loads((out / "metrics.json").read_text())
    assert (metrics["num_nodes"], metrics["num_edges"], metrics["features"]) == (NUM_NODES, NUM_EDGES, True)
    assert metrics["dataset"] == "graph"
    assert json.loads((out / "metadata.json").read_text())["fit"]["in_channels"] == 5


def test_directed_edge_list_gives_one_notice_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edges
) -> None:
    path = _write_edges(tmp_path / "directed.csv", edges + [(b, a) for a, b in edges[:10]])
    _train(tmp_path / "run", "--edges", str(path))
    stdout, stderr = capsys.readouterr()
    assert stdout.startswith("test AUC ")
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("graphae: notice: ")
    assert "looks directed" in lines[0] and str(path) in lines[0]
    assert "warn" not in stderr.lower()


# embed ------------------------------------------------------------------------
def _check_embedding_table(model: Path, rows: list[list]) -> None:
    assert list(rows[0]) == ["id"] + [f"z{k}" for k in range(LATENT)]
    assert [str(r[0]) for r in rows[1:]] == _node_ids(model)
    values = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(values, np.load(model / "embeddings.npy"), rtol=1e-6)


def test_embed_to_stdout(capsys: pytest.CaptureFixture[str], model: Path) -> None:
    capsys.readouterr()
    assert main(["embed", "--model", str(model)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    _check_embedding_table(model, _csv_rows(out))


@pytest.mark.parametrize("name", ["emb.csv", "emb.tsv", "emb.parquet"])
def test_embed_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], model: Path, name: str) -> None:
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    path = tmp_path / name
    capsys.readouterr()
    assert main(["embed", "--model", str(model), "--out", str(path)]) == 0
    assert capsys.readouterr() == ("", "")
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        rows = [table.column_names] + [list(r.values()) for r in table.to_pylist()]
    else:
        rows = _csv_rows(path.read_text(), "\t" if name.endswith(".tsv") else ",")
    _check_embedding_table(model, rows)
    assert _files(tmp_path) == [name]


def test_embed_rejects_an_unknown_extension(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model
) -> None:
    line = _user_error(capsys, ["embed", "--model", str(model), "--out", str(tmp_path / "emb.json")])
    assert "emb.json" in line and ".parquet" in line
    assert _files(tmp_path) == []


# predict ----------------------------------------------------------------------
def _query_pairs(edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    nodes = _first_appearance(edges)
    return edges[:4] + [(nodes[0], nodes[-1]), (nodes[5], nodes[40]), (nodes[7], nodes[7])]


@pytest.mark.parametrize("header", [None, "source,target"])
def test_predict_to_stdout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model: Path, edges, header: str | None
) -> None:
    pairs = _query_pairs(edges)
    path = _write_edges(tmp_path / "pairs.csv", pairs, header=header)
    capsys.readouterr()
    assert main(["predict", "--model", str(model), "--pairs", str(path)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    rows = _csv_rows(out)
    assert rows[0] == ["source", "target", "probability"]
    assert [tuple(r[:2]) for r in rows[1:]] == pairs
    probs = np.array([float(r[2]) for r in rows[1:]])
    assert ((probs > 0) & (probs < 1)).all()
    np.testing.assert_allclose(probs, _sigmoid_dot(model, pairs), rtol=1e-6)


def test_predict_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], model: Path, edges) -> None:
    pairs = _query_pairs(edges)
    path = _write_edges(tmp_path / "pairs.tsv", pairs, sep="\t")
    capsys.readouterr()
    assert (
        main(["predict", "--model", str(model), "--pairs", str(path), "--out", str(tmp_path / "p.csv")]) == 0
    )
    assert capsys.readouterr() == ("", "")
    rows = _csv_rows((tmp_path / "p.csv").read_text())
    assert rows[0] == ["source", "target", "probability"]
    np.testing.assert_allclose([float(r[2]) for r in rows[1:]], _sigmoid_dot(model, pairs), rtol=1e-6)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# queries\n{a},{b}\n{a},nobody\n", ":3: unknown node id 'nobody'"),
        ("{a},{b}\n{a}\n", ":2: expected two node ids"),
        ("", ": no node pairs found"),
        ("# only a comment\n", ": no node pairs found"),
    ],
    ids=["unknown-id", "one-field", "empty", "comment-only"],
)
def test_predict_rejects_a_bad_pairs_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model: Path, edges, text: str, expected: str
) -> None:
    a, b = edges[0]
    path = tmp_path / "pairs.csv"
    path.write_text(text.format(a=a, b=b))
    line = _user_error(capsys, ["predict", "--model", str(model), "--pairs", str(path)])
    assert f"{path}{expected}" in line


# integer ids ------------------------------------------------------------------
def test_integer_ids_are_parsed_as_integers(capsys: pytest.CaptureFixture[str], int_model: Path) -> None:
    ids = _node_ids(int_model)
    assert json.loads((int_model / "metadata.json").read_text())["graph"]["node_id_type"] == "int"
    assert sorted(ids, key=int)[0] == "3"  # ids are 10 * k + 3
    rows = _recommendations(capsys, ["--model", str(int_model), "--node", "13", "-k", "3"])
    assert [r[:2] for r in rows] == [["13", "1"], ["13", "2"], ["13", "3"]]
    assert all(r[2] in ids and r[2] != "13" for r in rows)


@pytest.mark.parametrize("node", ["abc", "13.0"])
def test_integer_model_rejects_a_non_integer_node(
    capsys: pytest.CaptureFixture[str], int_model: Path, node: str
) -> None:
    line = _user_error(capsys, ["recommend", "--model", str(int_model), "--node", node])
    assert repr(node) in line and "integers" in line


def test_integer_model_rejects_a_non_integer_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], int_model: Path
) -> None:
    path = tmp_path / "pairs.txt"
    path.write_text("13 23\n13 abc\n")
    line = _user_error(capsys, ["predict", "--model", str(int_model), "--pairs", str(path)])
    assert f"{path}:2: unknown node id 'abc'" in line


# recommend --------------------------------------------------------------------
def test_recommend_new_neighbours(capsys: pytest.CaptureFixture[str], model: Path, edges) -> None:
    node = _first_appearance(edges)[3]
    rows = _recommendations(capsys, ["--model", str(model), "--node", node, "-k", "3"])
    assert [r[:2] for r in rows] == [[node, "1"], [node, "2"], [node, "3"]]
    known = _saved_neighbours(model)[node]
    for _, _, other, prob in rows:
        assert other != node and other not in known
        assert 0 < float(prob) < 1
    probs = [float(r[3]) for r in rows]
    assert probs == sorted(probs, reverse=True)


def test_recommend_for_several_nodes(capsys: pytest.CaptureFixture[str], model: Path, edges) -> None:
    a, b = _first_appearance(edges)[:2]
    rows = _recommendations(capsys, ["--model", str(model), "--node", a, "--node", b, "-k", "3"])
    assert [r[:2] for r in rows] == [[n, str(k)] for n in (a, b) for k in (1, 2, 3)]


def test_recommend_include_existing(capsys: pytest.CaptureFixture[str], model: Path, edges) -> None:
    node = _first_appearance(edges)[3]
    known = _saved_neighbours(model)[node]
    args = ["--model", str(model), "--node", node, "-k", str(NUM_NODES)]
    without = {r[2] for r in _recommendations(capsys, args)}
    with_existing = {r[2] for r in _recommendations(capsys, [*args, "--include-existing"])}
    assert not without & known
    assert known <= with_existing


def test_recommend_excludes_every_edge_of_the_users_file(
    capsys: pytest.CaptureFixture[str], model: Path, edges
) -> None:
    # The saved model was fitted on the training split (15% of the edges held out), yet it
    # knows every edge of the file, so none is recommended as new.
    everyone = _first_appearance(edges)
    full = _neighbours(edges)
    assert _saved_neighbours(model) == full
    for node in everyone[:10]:
        rows = _recommendations(capsys, ["--model", str(model), "--node", node, "-k", str(NUM_NODES)])
        assert not {r[2] for r in rows} & (full[node] | {node})


def test_recommend_include_existing_never_lists_the_node_itself(
    capsys: pytest.CaptureFixture[str], model: Path, edges
) -> None:
    node = _first_appearance(edges)[3]
    args = ["--model", str(model), "--node", node, "-k", str(NUM_NODES), "--include-existing"]
    assert node not in {r[2] for r in _recommendations(capsys, args)}


def test_recommend_rejects_an_unknown_node(capsys: pytest.CaptureFixture[str], model: Path) -> None:
    line = _user_error(capsys, ["recommend", "--model", str(model), "--node", "nobody"])
    assert "'nobody'" in line and "unknown node id" in line


# plot -------------------------------------------------------------------------
def test_plot_writes_a_report(tmp_path: Path, capsys: pytest.CaptureFixture[str], model: Path) -> None:
    pytest.importorskip("matplotlib")
    run = Path(shutil.copytree(model, tmp_path / "run"))
    capsys.readouterr()
    assert main(["plot", str(run), "--method", "pca"]) == 0
    out, _ = capsys.readouterr()
    assert out.strip() == str(run / "report.html")
    for name in ("report.html", "training.png", "roc_pr.png", "embedding.png"):
        assert (run / name).stat().st_size > 0, name
    assert (run / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# errors -----------------------------------------------------------------------
ERROR_FILES = {
    "empty.csv": "",
    "comment.csv": "# source,target\n",
    "three.csv": "a,b\nb,c\nc,d\n",
    "malformed.csv": "a,b\nb,c\n# a comment\nc\nd,e\n",
    "features.csv": "id,f0\na,1\n",
}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["train", "--edges", "{tmp}/empty.csv"], "{tmp}/empty.csv: no edges found"),
        (["train", "--edges", "{tmp}/comment.csv"], "{tmp}/comment.csv: no edges found"),
        (["train", "--edges", "{tmp}/three.csv"], "too few edges"),
        (["train", "--edges", "{tmp}/malformed.csv"], "{tmp}/malformed.csv:3: expected 2 fields"),
        (["train", "--edges", "{tmp}/missing.csv"], "{tmp}/missing.csv"),
        (["train", "--edges", "{tmp}/three.csv", "--dataset", "cora"], "either --dataset or --edges"),
        (["train", "--features", "{tmp}/features.csv"], "--features needs --edges"),
        (["embed", "--model", "{tmp}"], "is {tmp} a model folder"),
        (["embed", "--model", "{tmp}/nothing"], "{tmp}/nothing"),
        (["predict", "--model", "{tmp}", "--pairs", "{tmp}/three.csv"], "is {tmp} a model folder"),
        (["recommend", "--model", "{tmp}", "--node", "a"], "is {tmp} a model folder"),
        (["predict", "--model", "{model}", "--pairs", "{tmp}/missing.csv"], "{tmp}/missing.csv"),
    ],
    ids=[
        "empty-edges",
        "comment-only-edges",
        "too-few-edges",
        "malformed-edge-row",
        "missing-edges",
        "edges-and-dataset",
        "features-without-edges",
        "not-a-model-folder",
        "missing-model-folder",
        "predict-not-a-model",
        "recommend-not-a-model",
        "missing-pairs",
    ],
)
def test_user_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], model: Path, argv: list[str], expected: str
) -> None:
    for name, text in ERROR_FILES.items():
        (tmp_path / name).write_text(text)
    out = tmp_path / "out"
    if argv[0] == "train":
        argv = [*argv, *FAST, "--out", str(out)]

    def fill(text: str) -> str:
        return text.format(tmp=tmp_path, model=model)

    line = _user_error(capsys, [fill(a) for a in argv])
    assert fill(expected) in line
    assert not out.exists()


def test_out_below_a_file_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str], edges) -> None:
    path = _write_edges(tmp_path / "edges.csv", edges)
    line = _user_error(capsys, ["train", *FAST, "--edges", str(path), "--out", str(path / "run")])
    assert str(path) in line


# nothing half-written ---------------------------------------------------------
def _fail_in_save(monkeypatch: pytest.MonkeyPatch) -> None:
    def save(self, path) -> None:
        write_npy(Path(path) / "embeddings.npy", self.embedding_)
        raise OSError("disk full")

    monkeypatch.setattr(GraphAutoencoderEstimator, "save", save)


def _fail_in_second_json(monkeypatch: pytest.MonkeyPatch) -> None:
    real = graphae.runfolder.write_json
    calls = []

    def write_json(path, obj) -> None:
        calls.append(path)
        if len(calls) > 1:
            raise OSError("disk full")
        real(path, obj)

    monkeypatch.setattr(graphae.runfolder, "write_json", write_json)


@pytest.mark.parametrize("fail", [_fail_in_save, _fail_in_second_json], ids=["in-save", "in-metadata-json"])
@pytest.mark.parametrize("existing", [False, True], ids=["new-folder", "overwrite"])
def test_a_failed_write_leaves_no_partial_outputs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    edges,
    fail,
    existing: bool,
) -> None:
    path = _write_edges(tmp_path / "edges.csv", edges)
    out = tmp_path / "run"
    before: dict[str, bytes] = {}
    if existing:  # an earlier run, and a file of the user's beside it
        assert main(["train", *FAST, "--edges", str(path), "--out", str(out)]) == 0
        (out / "notes.txt").write_text("mine")
        before = {p.name: p.read_bytes() for p in out.iterdir()}
    fail(monkeypatch)
    args = ["train", *FAST, "--edges", str(path), "--out", str(out)] + (["--overwrite"] if existing else [])
    capsys.readouterr()
    assert main(args) == 2
    assert capsys.readouterr().err == "graphae: error: disk full\n"
    remaining = _files(out) if out.exists() else []
    assert remaining == sorted(before)  # no outputs, no .staging-* folder, no .tmp files
    assert {name: (out / name).read_bytes() for name in remaining} == before


def _fail_swap_into(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the rename of the new run folder onto ``out`` fail (the old one is already moved away)."""
    real = os.replace

    def replace(src, dst):
        if Path(dst) == out and Path(src).name.startswith(f".{out.name}.new-"):
            raise OSError(errno.EIO, "rename failed")
        return real(src, dst)

    monkeypatch.setattr(graphae.io.os, "replace", replace)


def _fail_second_move_into(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``out`` a mount point (files moved in one by one); the second move into it fails."""
    real_replace, real_ismount = os.replace, os.path.ismount
    moves = []

    def replace(src, dst):
        if Path(dst).parent == out:
            moves.append(dst)
            if len(moves) == 2:
                raise OSError(errno.EIO, "rename failed")
        return real_replace(src, dst)

    monkeypatch.setattr(graphae.io.os, "replace", replace)
    monkeypatch.setattr(graphae.io.os.path, "ismount", lambda p: Path(p) == out or real_ismount(p))


def _no_internal_names(tmp_path: Path, line: str) -> None:
    assert ".new-" not in line and ".old-" not in line and ".staging-" not in line
    assert (
        sorted(p.name for p in tmp_path.iterdir()) == ["edges.csv", "run"] or not (tmp_path / "run").exists()
    )
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary sibling left


def test_a_failed_swap_leaves_no_partial_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], edges
) -> None:
    path = _write_edges(tmp_path / "edges.csv", edges)
    out = tmp_path / "run"
    _fail_swap_into(out, monkeypatch)
    assert main(["train", *FAST, "--edges", str(path), "--out", str(out)]) == 2
    line = capsys.readouterr().err
    assert line == f"graphae: error: {out}: cannot create the folder: rename failed\n"
    monkeypatch.undo()
    assert not out.exists()
    _no_internal_names(tmp_path, line)


@pytest.mark.parametrize("fail", [_fail_swap_into, _fail_second_move_into], ids=["swap", "mount-point"])
def test_a_failed_swap_into_an_old_run_keeps_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], edges, fail
) -> None:
    path = _write_edges(tmp_path / "edges.csv", edges)
    out = tmp_path / "run"
    assert main(["train", *FAST, "--edges", str(path), "--out", str(out), "--quiet"]) == 0
    before = {name: (out / name).read_bytes() for name in _files(out)}
    fail(out, monkeypatch)
    capsys.readouterr()
    args = ["train", *FAST, "--seed", "1", "--edges", str(path), "--out", str(out), "--overwrite", "--quiet"]
    assert main(args) == 2
    line = capsys.readouterr().err
    assert line.startswith("graphae: error: ") and line.endswith("rename failed\n")
    monkeypatch.undo()
    assert {name: (out / name).read_bytes() for name in _files(out)} == before
    _no_internal_names(tmp_path, line)
