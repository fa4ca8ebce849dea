import builtins
import os
import pickle
import re
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from graphae.data import planetoid
from graphae.data.planetoid import (
    PLANETOID_NAMES,
    PLANETOID_URL,
    load_planetoid,
    resolve_root,
    restricted_load,
)
from graphae.errors import GraphaeError, InputError, InputTypeError, MissingFileError
from graphae.graph import Graph

PARTS = ("x", "y", "tx", "ty", "allx", "ally", "graph", "test.index")
NEEDED = ("allx", "tx", "ally", "ty", "graph", "test.index")
DOWNLOADED = (*NEEDED, "y")  # y is optional (the label split) but downloaded


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never download; those that exercise downloads install a fake fetch."""

    def refuse(url: str, dest: Path) -> None:
        raise AssertionError(f"a test tried to download {url}")

    monkeypatch.setattr(planetoid, "_fetch", refuse)


# Helpers ------------------------------------------------------------------
def _real_dir(name: str, parts: tuple[str, ...] = NEEDED) -> Path:
    data = os.environ.get("GRAPHAE_DATA")
    if not data:
        pytest.skip("GRAPHAE_DATA is not set; real Planetoid tests need its planetoid/")
    folder = Path(data) / "planetoid"
    absent = [p for p in parts if not (folder / f"ind.{name}.{p}").is_file()]
    if absent:
        pytest.skip(f"{folder} lacks ind.{name}.{{{','.join(absent)}}}")
    return folder


def _onehot(labels: list[int], num_classes: int) -> np.ndarray:
    out = np.zeros((len(labels), num_classes), dtype=np.int32)
    out[np.arange(len(labels)), labels] = 1
    return out


def _dump(obj: Any, path: Path, protocol: int = 4) -> None:
    with path.open("wb") as f:
        pickle.dump(obj, f, protocol=protocol)


# A tiny Planetoid set: 3 "all" nodes, test nodes 5 and 3 (in that file order) and
# node 4 missing from test.index, like Citeseer's isolated test nodes.
ALLX = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
TX = np.array([[0, 0, 5, 0], [7, 0, 0, 1]], dtype=np.float32)
TEST_INDEX = [5, 3]
ALL_LABELS = [0, 1, 2]
TEST_LABELS = [1, 0]
# Duplicate 0-1, self loop 2-2, both directions of 3-5, an isolated node 4.
GRAPH = {0: [1, 1, 2], 1: [0], 2: [0, 2], 3: [5], 4: [], 5: [3]}
EXPECTED_X = np.stack([ALLX[0], ALLX[1], ALLX[2], TX[1], np.zeros(4), TX[0]])
EXPECTED_Y = np.array([0, 1, 2, 0, -1, 1])
EXPECTED_EDGES = {(0, 1), (0, 2), (3, 5)}


def _write_tiny(root: Path, name: str = "cora", protocol: int = 4) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    objects = {
        "x": sp.csr_matrix(ALLX[:2]),
        "y": _onehot(ALL_LABELS[:2], 3),
        "allx": sp.csr_matrix(ALLX),
        "ally": _onehot(ALL_LABELS, 3),
        "tx": sp.csr_matrix(TX),
        "ty": _onehot(TEST_LABELS, 3),
        "graph": defaultdict(list, GRAPH),
    }
    for part, obj in objects.items():
        _dump(obj, root / f"ind.{name}.{part}", protocol)
    (root / f"ind.{name}.test.index").write_text("".join(f"{i}\n" for i in TEST_INDEX))
    return root


def _edge_set(graph: Graph) -> set[tuple[int, int]]:
    return {(int(i), int(j)) for i, j in graph.edges().T}


def _check_adjacency(graph: Graph) -> None:
    adj = graph.adj
    assert adj.format == "csr"
    assert (adj != adj.T).nnz == 0
    assert np.all(adj.data == 1)
    assert not adj.diagonal().any()


def _reference_features_labels(
    allx: sp.spmatrix, ally: np.ndarray, tx: sp.spmatrix, ty: np.ndarray, test_idx: Any
) -> tuple[sp.csr_matrix, np.ndarray]:
    """tkipf/gcn ``load_data``, line by line (padding applied for every data set)."""
    test_idx_reorder = list(test_idx)
    test_idx_range = np.sort(test_idx_reorder)
    full = range(min(test_idx_reorder), max(test_idx_reorder) + 1)
    tx_extended = sp.lil_matrix((len(full), allx.shape[1]))
    tx_extended[test_idx_range - min(test_idx_range), :] = tx
    ty_extended = np.zeros((len(full), ally.shape[1]))
    ty_extended[test_idx_range - min(test_idx_range), :] = ty
    features = sp.vstack((allx, tx_extended)).tolil()
    features[test_idx_reorder, :] = features[test_idx_range, :]
    labels = np.vstack((ally, ty_extended))
    labels[test_idx_reorder, :] = labels[test_idx_range, :]
    return features.tocsr(), labels


# Real data ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "features", "num_nodes", "num_edges", "num_features", "num_classes"),
    [
        ("cora", True, 2708, 5278, 1433, 7),
        ("citeseer", True, 3327, 4552, 3703, 6),
        ("pubmed", False, 19717, 44324, None, 3),
    ],
)
def test_real_counts(
    name: str,
    features: bool,
    num_nodes: int,
    num_edges: int,
    num_features: int | None,
    num_classes: int,
) -> None:
    _real_dir(name, NEEDED if features else NEEDED[2:])
    graph = load_planetoid(name, features=features)  # root from GRAPHAE_DATA

    assert graph.name == name
    assert graph.num_nodes == num_nodes
    assert graph.num_edges == num_edges
    _check_adjacency(graph)
    if num_features is None:
        assert graph.x is None
    else:
        assert isinstance(graph.x, sp.csr_matrix)
        assert graph.x.dtype == np.float32
        assert graph.x.shape == (num_nodes, num_features)
    assert graph.y.shape == (num_nodes,)
    assert len(np.unique(graph.y[graph.y >= 0])) == num_classes


@pytest.mark.parametrize("name", ["cora", "citeseer"])
def test_real_matches_reference_code(name: str) -> None:
    folder = _real_dir(name)
    graph = load_planetoid(name, folder)
    read = {p: restricted_load(folder / f"ind.{name}.{p}") for p in NEEDED[:-1]}
    test_idx = np.loadtxt(folder / f"ind.{name}.test.index", dtype=np.int64)

    features, onehot = _reference_features_labels(
        read["allx"], read["ally"], read["tx"], read["ty"], test_idx
    )
    assert (graph.x != features.astype(np.float32)).nnz == 0
    expected_y = np.where(onehot.any(axis=1), onehot.argmax(axis=1), -1)
    np.testing.assert_array_equal(graph.y, expected_y)
    expected_edges = {(min(u, v), max(u, v)) for u, vs in read["graph"].items() for v in vs if u != v}
    assert _edge_set(graph) == expected_edges


def test_real_citeseer_pads_isolated_test_nodes() -> None:
    folder = _real_dir("citeseer")
    graph = load_planetoid("citeseer", folder)
    test_idx = np.loadtxt(folder / "ind.citeseer.test.index", dtype=np.int64)
    padded = np.setdiff1d(np.arange(test_idx.min(), test_idx.max() + 1), test_idx)

    assert len(padded) == 15
    np.testing.assert_array_equal(np.flatnonzero(graph.y == -1), padded)
    assert graph.x[padded].nnz == 0
    # "Isolated" only in the files: each of them keeps its edges in the graph.
    assert (np.diff(graph.adj[padded].indptr) > 0).all()


def test_real_pubmed_features_need_allx() -> None:
    folder = _real_dir("pubmed", NEEDED[1:])
    if (folder / "ind.pubmed.allx").exists():
        pytest.skip(f"{folder} has ind.pubmed.allx")
    with pytest.raises(FileNotFoundError, match=r"ind\.pubmed\.allx.*download=True"):
        load_planetoid("pubmed")


def test_real_pickle_with_payload_is_refused(tmp_path: Path) -> None:
    folder = _real_dir("cora")
    for part in DOWNLOADED:
        shutil.copy(folder / f"ind.cora.{part}", tmp_path)
    marker = tmp_path / "pwned"
    _dump(_Payload(os.system, f"touch {marker}"), tmp_path / "ind.cora.allx", 2)

    with pytest.raises(pickle.UnpicklingError, match=r"ind\.cora\.allx.*system"):
        load_planetoid("cora", tmp_path)
    assert not marker.exists()
    assert load_planetoid("cora", tmp_path, features=False).num_nodes == 2708


# Synthetic data -----------------------------------------------------------
@pytest.mark.parametrize("protocol", [4, 5])  # Python 3's defaults (5 from 3.14)
def test_tiny_set_gives_hand_computed_graph(tmp_path: Path, protocol: int) -> None:
    graph = load_planetoid("cora", _write_tiny(tmp_path, protocol=protocol))

    assert graph.num_nodes == 6
    np.testing.assert_array_equal(graph.x.toarray(), EXPECTED_X)
    np.testing.assert_array_equal(graph.y, EXPECTED_Y)
    assert _edge_set(graph) == EXPECTED_EDGES
    _check_adjacency(graph)


def test_tiny_set_matches_reference_code(tmp_path: Path) -> None:
    graph = load_planetoid("cora", _write_tiny(tmp_path))
    features, onehot = _reference_features_labels(
        sp.csr_matrix(ALLX),
        _onehot(ALL_LABELS, 3),
        sp.csr_matrix(TX),
        _onehot(TEST_LABELS, 3),
        TEST_INDEX,
    )
    np.testing.assert_array_equal(graph.x.toarray(), features.toarray())
    expected_y = np.where(onehot.any(axis=1), onehot.argmax(axis=1), -1)
    np.testing.assert_array_equal(graph.y, expected_y)


@pytest.mark.parametrize("name", ["CORA", "Cora", "cora"])
def test_name_is_case_insensitive(tmp_path: Path, name: str) -> None:
    graph = load_planetoid(name, _write_tiny(tmp_path))
    assert graph.name == "cora"


def test_without_features_reads_no_feature_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _write_tiny(tmp_path, name="pubmed")
    for part in ("x", "tx", "allx"):
        (root / f"ind.pubmed.{part}").unlink()
    opened: list[str] = []

    def spy(path: Path) -> Any:
        opened.append(Path(path).name)
        return restricted_load(path)

    monkeypatch.setattr(planetoid, "restricted_load", spy)
    graph = load_planetoid("pubmed", root, features=False)

    assert graph.x is None
    np.testing.assert_array_equal(graph.y, EXPECTED_Y)
    assert _edge_set(graph) == EXPECTED_EDGES
    assert sorted(opened) == ["ind.pubmed.ally", "ind.pubmed.graph", "ind.pubmed.ty", "ind.pubmed.y"]


@pytest.mark.parametrize("name", ["foo", "", "Cora2", 3, None])
def test_unknown_name_is_refused(name: Any) -> None:
    message = (
        f"The 'name' parameter of load_planetoid must be one of 'cora', 'citeseer', 'pubmed'. Got {name!r}."
    )
    with pytest.raises(InputError, match=f"^{re.escape(message)}$"):
        load_planetoid(name)


@pytest.mark.parametrize("part", NEEDED)
def test_missing_file_is_named(tmp_path: Path, part: str) -> None:
    root = _write_tiny(tmp_path)
    (root / f"ind.cora.{part}").unlink()
    missing = re.escape(str(root / f"ind.cora.{part}"))

    with pytest.raises(MissingFileError, match=rf"{missing}.*download=True.*GRAPHAE_DATA"):
        load_planetoid("cora", root)


def test_missing_feature_file_suggests_features_false(tmp_path: Path) -> None:
    root = _write_tiny(tmp_path)
    (root / "ind.cora.allx").unlink()
    with pytest.raises(MissingFileError, match=r"ind\.cora\.allx.*features=False"):
        load_planetoid("cora", root)


def test_missing_folder_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "nowhere"
    with pytest.raises(MissingFileError, match=re.escape(str(root / "ind.citeseer.graph"))):
        load_planetoid("citeseer", root)
    assert not root.exists()


@pytest.mark.parametrize(
    ("part", "obj", "error", "match"),
    [
        ("graph", np.zeros((2, 2)), InputTypeError, "dict of adjacency lists"),
        ("graph", {0: [1], 1: [99]}, InputError, r"node ids in \[0, 6\)"),
        ("ally", sp.csr_matrix(np.eye(3)), InputTypeError, "one-hot labels"),
        ("ty", _onehot([0, 1, 2], 3), InputError, r"shape \(2, 3\)"),
        ("allx", np.zeros((3, 2, 2)), InputTypeError, "scipy.sparse matrix"),
        ("tx", sp.csr_matrix(np.ones((2, 5))), InputError, r"shape \(2, 4\)"),
    ],
)
def test_wrong_contents_are_reported(
    tmp_path: Path, part: str, obj: Any, error: type[Exception], match: str
) -> None:
    root = _write_tiny(tmp_path)
    _dump(obj, root / f"ind.cora.{part}")
    with pytest.raises(error, match=rf"ind\.cora\.{part}.*{match}"):
        load_planetoid("cora", root)


@pytest.mark.parametrize(
    ("text", "match"),
    [("5\nthree\n", "one integer per line"), ("4\n5\n", "must start at node 3")],
)
def test_bad_test_index_is_reported(tmp_path: Path, text: str, match: str) -> None:
    root = _write_tiny(tmp_path)
    (root / "ind.cora.test.index").write_text(text)
    with pytest.raises(InputError, match=match):
        load_planetoid("cora", root)


def test_malformed_csr_is_refused(tmp_path: Path) -> None:
    bad = sp.csr_matrix(ALLX)
    bad.indices[0] = 1000  # out of range column
    _dump(bad, tmp_path / "ind.cora.allx")
    with pytest.raises(InputError, match="malformed sparse matrix"):
        planetoid._read_matrix(tmp_path / "ind.cora.allx")


# Restricted unpickling ----------------------------------------------------
class _Payload:
    def __init__(self, func: Any, arg: str) -> None:
        self.func, self.arg = func, arg

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return self.func, (self.arg,)


def _payloads(marker: Path) -> list[tuple[Any, str]]:
    return [
        (os.system, f"touch {marker}"),
        (builtins.exec, f"open({str(marker)!r}, 'w').close()"),
        (builtins.eval, f"open({str(marker)!r}, 'w')"),
    ]


@pytest.mark.parametrize("which", [0, 1, 2])
@pytest.mark.parametrize("protocol", [2, 4, 5])
def test_payload_is_refused_and_never_runs(tmp_path: Path, which: int, protocol: int) -> None:
    marker = tmp_path / "pwned"
    func, arg = _payloads(marker)[which]
    path = tmp_path / "ind.cora.x"
    _dump(_Payload(func, arg), path, protocol)
    global_name = rf"(os|posix|nt|builtins|__builtin__)\.{func.__name__}"

    with pytest.raises(
        planetoid.UnsafePickleError,
        match=rf"^Refusing to load .*ind\.cora\.x: it asks for {global_name}, "
        r"which is not a numpy/scipy array type\.$",
    ):
        restricted_load(path)
    assert not marker.exists()


def test_unsafe_pickle_error_is_a_graphae_input_error() -> None:
    assert issubclass(planetoid.UnsafePickleError, pickle.UnpicklingError)
    assert issubclass(planetoid.UnsafePickleError, InputError)
    assert issubclass(planetoid.UnsafePickleError, GraphaeError)


def test_payload_hidden_in_graph_dict_is_refused(tmp_path: Path) -> None:
    root = _write_tiny(tmp_path / "set")
    marker = tmp_path / "pwned"
    graph = defaultdict(list, GRAPH)
    graph[0] = [1, _Payload(os.system, f"touch {marker}")]
    _dump(graph, root / "ind.cora.graph")

    with pytest.raises(pickle.UnpicklingError, match=r"ind\.cora\.graph.*system"):
        load_planetoid("cora", root)
    assert not marker.exists()


@pytest.mark.parametrize("obj", [{"a": 1}, _Payload(print, "hi"), sp.coo_matrix(np.eye(2)), b"bytes"])
def test_only_allow_listed_globals_load(tmp_path: Path, obj: Any) -> None:
    path = tmp_path / "f"
    _dump(obj, path)
    if isinstance(obj, (dict, bytes)):  # no globals at all
        assert restricted_load(path) == obj
    else:
        with pytest.raises(pickle.UnpicklingError, match="Refusing to load"):
            restricted_load(path)


def test_corrupt_pickle_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ind.cora.ty"
    _dump(_onehot([0, 1], 3), path)
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(pickle.UnpicklingError, match=r"Could not unpickle .*ind\.cora\.ty"):
        restricted_load(path)


# Roots --------------------------------------------------------------------
def test_resolve_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHAE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))

    assert resolve_root(tmp_path / "mine") == tmp_path / "mine"
    assert resolve_root(str(tmp_path / "mine")) == tmp_path / "mine"
    assert resolve_root(None) == tmp_path / "data" / "planetoid"
    monkeypatch.delenv("GRAPHAE_DATA")
    assert resolve_root(None) == tmp_path / "xdg" / "graphae" / "planetoid"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert resolve_root(None) == tmp_path / "home" / ".cache" / "graphae" / "planetoid"


def test_load_uses_graphae_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_tiny(tmp_path / "planetoid", name="citeseer")
    monkeypatch.setenv("GRAPHAE_DATA", str(tmp_path))
    assert load_planetoid("citeseer").num_nodes == 6


# Downloads ----------------------------------------------------------------
def _serve_from(source: Path, fetched: list[str]) -> Any:
    def fake_fetch(url: str, dest: Path) -> None:
        fetched.append(url)
        assert url.startswith(PLANETOID_URL)
        assert dest.parent.is_dir()
        assert dest.name != url.rsplit("/", 1)[1]  # a temporary name, not the final one
        shutil.copyfile(source / url.rsplit("/", 1)[1], dest)

    return fake_fetch


@pytest.mark.parametrize("present", [(), ("graph", "allx"), NEEDED])
def test_download_fetches_only_missing_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, present: tuple[str, ...]
) -> None:
    source = _write_tiny(tmp_path / "source")
    root = tmp_path / "cache" / "planetoid"
    if present:
        root.mkdir(parents=True)
    for part in present:
        shutil.copy(source / f"ind.cora.{part}", root)
    fetched: list[str] = []
    monkeypatch.setattr(planetoid, "_fetch", _serve_from(source, fetched))

    graph = load_planetoid("cora", root, download=True)

    missing = [p for p in DOWNLOADED if p not in present]
    assert sorted(fetched) == sorted(f"{PLANETOID_URL}ind.cora.{p}" for p in missing)
    assert sorted(f.name for f in root.iterdir()) == sorted(f"ind.cora.{p}" for p in DOWNLOADED)
    np.testing.assert_array_equal(graph.x.toarray(), EXPECTED_X)
    assert _edge_set(graph) == EXPECTED_EDGES


def test_download_without_features_skips_feature_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _write_tiny(tmp_path / "source", name="pubmed")
    fetched: list[str] = []
    monkeypatch.setattr(planetoid, "_fetch", _serve_from(source, fetched))

    load_planetoid("pubmed", tmp_path / "root", features=False, download=True)

    assert sorted(u.rsplit(".", 1)[-1] for u in fetched) == [
        "ally",
        "graph",
        "index",
        "ty",
        "y",
    ]


@pytest.mark.parametrize("error", [OSError("connection reset"), TimeoutError("slow")])
def test_failed_download_leaves_no_partial_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: OSError
) -> None:
    source = _write_tiny(tmp_path / "source")
    root = tmp_path / "root"
    served: list[str] = []
    serve = _serve_from(source, served)

    def flaky_fetch(url: str, dest: Path) -> None:
        if url.endswith(".tx"):
            dest.write_bytes(b"half a pick")
            raise error
        serve(url, dest)

    monkeypatch.setattr(planetoid, "_fetch", flaky_fetch)
    url = f"{PLANETOID_URL}ind.cora.tx"
    with pytest.raises(OSError, match=rf"Could not download {url}"):
        load_planetoid("cora", root, download=True)

    assert not (root / "ind.cora.tx").exists()
    assert all(f.name.startswith("ind.cora.") and "part" not in f.name for f in root.iterdir())


def test_real_download_path_with_copied_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _real_dir("citeseer")
    shutil.copy(folder / "ind.citeseer.graph", tmp_path)
    fetched: list[str] = []
    monkeypatch.setattr(planetoid, "_fetch", _serve_from(folder, fetched))

    graph = load_planetoid("citeseer", tmp_path, download=True)

    assert len(fetched) == len(DOWNLOADED) - 1
    assert (graph.num_nodes, graph.num_edges) == (3327, 4552)


def test_names_constant() -> None:
    assert PLANETOID_NAMES == ("cora", "citeseer", "pubmed")
