import os
import pickle
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

from graphae.data import planetoid
from graphae.data.planetoid import load_planetoid
from graphae.errors import InputError, InputTypeError
from graphae.graph import Graph
from graphae.split import split_edges

EDGES = [[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 0], [0, 3], [1, 4]]
LABELS = np.array([0, 1, 0, 1, 0, 1])
SPLIT = (np.array([0, 1]), np.array([2, 3, 5]))


def _graph(**kwargs) -> Graph:
    return Graph.from_edges(EDGES, num_nodes=6, y=LABELS, label_split=SPLIT, **kwargs)


def _assert_same_split(graph: Graph) -> None:
    assert graph.label_split is not None
    np.testing.assert_array_equal(graph.label_split[0], SPLIT[0])
    np.testing.assert_array_equal(graph.label_split[1], SPLIT[1])


def test_label_split_defaults_to_none():
    assert Graph.from_edges(EDGES).label_split is None


def test_label_split_survives_copies():
    graph = _graph()
    _assert_same_split(graph)
    _assert_same_split(graph.replace(x=None, name="other"))
    _assert_same_split(graph.normalize_features())
    _assert_same_split(Graph.from_edges(EDGES, num_nodes=6, directed=True, label_split=SPLIT).to_undirected())
    assert graph.replace(label_split=None).label_split is None


def test_link_split_training_graph_keeps_labels_and_label_split():
    graph = _graph()
    train = split_edges(graph, val_ratio=0.0, test_ratio=0.25, random_state=0).train
    assert train.num_edges == 6  # 8 edges, floor(8 * 0.25) = 2 held out
    np.testing.assert_array_equal(train.y, LABELS)
    _assert_same_split(train)


@pytest.mark.parametrize(
    ("split", "error", "match"),
    [
        (
            [np.array([0]), np.array([1])],
            InputTypeError,
            r"label_split must be a tuple \(train, test\).*Got list",
        ),
        ((np.array([0]),), InputTypeError, "Got a tuple of length 1"),
        (
            (np.array([0.0]), np.array([1])),
            InputTypeError,
            r"label_split\[0\] \(the train nodes\) must be a numpy array of integer",
        ),
        (
            (np.array([0]), [1]),
            InputTypeError,
            r"label_split\[1\] \(the test nodes\) must be a numpy array.*Got list",
        ),
        (
            (np.array([[0]]), np.array([1])),
            InputError,
            r"label_split\[0\] \(the train nodes\) must be 1-D. Got shape \(1, 1\)",
        ),
        (
            (np.array([0]), np.array([6])),
            InputError,
            r"label_split\[1\].*node indices in \[0, 6\). Got values in \[6, 6\]",
        ),
        (
            (np.array([0, 2]), np.array([2, 3])),
            InputError,
            r"disjoint train and test nodes. Got 1 node\(s\) in both \(e.g. node 2\)",
        ),
    ],
)
def test_label_split_is_validated(split, error, match):
    with pytest.raises(error, match=match):
        Graph.from_edges(EDGES, num_nodes=6, label_split=split)


# Planetoid ------------------------------------------------------------------------------
def _tiny_planetoid(root: Path, name: str = "cora") -> Path:
    """Two training rows in y, three in ally, test nodes 5 and 3 in that file order."""
    root.mkdir(parents=True, exist_ok=True)
    onehot = np.eye(3, dtype=np.int32)
    graph = {0: [1], 1: [0, 2], 2: [1], 3: [5], 4: [], 5: [3]}
    for part, obj in {"y": onehot[:2], "ally": onehot, "ty": onehot[[1, 0]], "graph": graph}.items():
        with (root / f"ind.{name}.{part}").open("wb") as f:
            pickle.dump(obj, f)
    (root / f"ind.{name}.test.index").write_text("5\n3\n")
    return root


def test_planetoid_label_split_from_y_rows_and_test_index(tmp_path):
    graph = load_planetoid("cora", _tiny_planetoid(tmp_path), features=False)
    train, test = graph.label_split
    np.testing.assert_array_equal(train, [0, 1])
    np.testing.assert_array_equal(test, [3, 5])
    assert train.dtype == test.dtype == np.int64


def test_planetoid_without_y_warns_and_has_no_label_split(tmp_path):
    root = _tiny_planetoid(tmp_path)
    (root / "ind.cora.y").unlink()
    with pytest.warns(UserWarning, match=r"ind\.cora\.y is missing.*label_split=None.*download=True"):
        graph = load_planetoid("cora", root, features=False)
    assert graph.label_split is None
    assert graph.num_nodes == 6


def test_planetoid_downloads_y(tmp_path, monkeypatch):
    source = _tiny_planetoid(tmp_path / "source")
    fetched = []

    def fake_fetch(url: str, dest: Path) -> None:
        fetched.append(url.rsplit("/", 1)[1])
        shutil.copyfile(source / url.rsplit("/", 1)[1], dest)

    monkeypatch.setattr(planetoid, "_fetch", fake_fetch)
    root = tmp_path / "root"
    root.mkdir()
    for part in ("ally", "ty", "graph", "test.index"):
        shutil.copy(source / f"ind.cora.{part}", root)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = load_planetoid("cora", root, features=False, download=True)
    assert fetched == ["ind.cora.y"]
    np.testing.assert_array_equal(graph.label_split[0], [0, 1])


@pytest.mark.parametrize(
    ("y", "match"),
    [
        (np.eye(4, dtype=np.int32), r"between 1 and 3 rows.*3 columns. Got shape \(4, 4\)"),
        (np.zeros((0, 3)), r"between 1 and 3 rows.*Got shape \(0, 3\)"),
    ],
)
def test_planetoid_bad_y_is_reported(tmp_path, y, match):
    root = _tiny_planetoid(tmp_path)
    with (root / "ind.cora.y").open("wb") as f:
        pickle.dump(y, f)
    with pytest.raises(InputError, match=rf"ind\.cora\.y must have {match}"):
        load_planetoid("cora", root, features=False)


@pytest.mark.parametrize(("name", "num_train"), [("cora", 140), ("citeseer", 120), ("pubmed", 60)])
def test_real_planetoid_standard_split(name, num_train):
    data = os.environ.get("GRAPHAE_DATA")
    if not data:
        pytest.skip("GRAPHAE_DATA is not set; real Planetoid tests need its planetoid/")
    folder = Path(data) / "planetoid"
    parts = ("y", "ally", "ty", "graph", "test.index")
    if any(not (folder / f"ind.{name}.{part}").is_file() for part in parts):
        pytest.skip(f"{folder} lacks some of ind.{name}.{{{','.join(parts)}}}")
    graph = load_planetoid(name, folder, features=False)
    train, test = graph.label_split
    np.testing.assert_array_equal(train, np.arange(num_train))
    assert len(test) == 1000
    expected_test = np.sort(np.loadtxt(folder / f"ind.{name}.test.index", dtype=np.int64))
    np.testing.assert_array_equal(test, expected_test)
    # 20 training nodes per class, every split node labelled.
    num_classes = graph.y.max() + 1
    assert np.bincount(graph.y[train], minlength=num_classes).tolist() == [20] * num_classes
    assert (graph.y[test] >= 0).all()
