"""The top-k index of ``recommend`` (graphae.topk): recall, exclusions, exact probabilities, files."""

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pytest

from cli_helpers import user_error
from graphae import GAE, load
from graphae.cli import main
from graphae.data import make_communities, make_planted_partition
from graphae.errors import InputError, InputTypeError, MissingDependencyError, MissingFileError
from graphae.models.directed import GravityGAE
from graphae.models.heuristics import AdamicAdar
from graphae.models.refined import RefinedGAE
from graphae.runfolder import INDEX, METADATA

pytest.importorskip("faiss")

from graphae import topk  # noqa: E402  (after the skip: the index needs faiss)

N, D = 3000, 16
rng_seed = 0


@pytest.fixture(scope="module")
def model() -> GAE:
    """A GAE shell on a 3,000-node graph, with a seeded random embedding of width 16."""
    graph = make_planted_partition(N, 15_000, num_blocks=30, num_features=8, random_state=0)
    est = GAE(epochs=1, hidden_channels=8, out_channels=D, random_state=0, device="cpu").fit(graph)
    est.embedding_ = np.random.default_rng(rng_seed).standard_normal((N, D)).astype(np.float32)
    return est


def _fresh(est: GAE) -> GAE:
    """A copy of ``est`` without the index it may have built."""
    copy = pickle.loads(pickle.dumps(est))
    vars(copy).pop("_topk_cache", None)
    return copy


def _queries(est: GAE, count: int, seed: int = 1) -> list:
    return list(est.node_ids_[np.random.default_rng(seed).choice(len(est.node_ids_), count, replace=False)])


def _brute_force(est: GAE, node: int, k: int, exclude_edges: bool = True) -> list[int]:
    """The top k by ``z_i . z_j`` written out here: the node and (optionally) its neighbours left out."""
    z = est.embedding_.astype(np.float64)
    scores = z @ z[node]
    allowed = np.ones(len(z), dtype=bool)
    allowed[node] = False
    if exclude_edges:
        adj = est.graph_.adj
        allowed[adj.indices[adj.indptr[node] : adj.indptr[node + 1]]] = False
    cand = np.flatnonzero(allowed)
    return cand[np.lexsort((cand, -scores[cand]))[:k]].tolist()


def _ids(recs: list) -> list:
    return [other for other, _ in recs]


def test_recall_at_10_of_the_index_against_exact(model: GAE) -> None:
    nodes = _queries(model, 50)
    exact = model.recommend(nodes, k=10, exact=True)
    approx = model.recommend(nodes, k=10, exact=False)
    recall = np.mean([len(set(_ids(e)) & set(_ids(a))) / 10 for e, a in zip(exact, approx, strict=True)])
    assert recall >= 0.95
    assert all(len(a) == 10 for a in approx)


def test_exact_scoring_is_the_brute_force_top_k(model: GAE) -> None:
    index = model.id_index()
    for node in _queries(model, 10, seed=2):
        expected = [model.node_ids_[j].item() for j in _brute_force(model, index[node], 10)]
        assert _ids(model.recommend(node, k=10, exact=True)) == expected
        assert model.recommend(node, k=10) == model.recommend(node, k=10, exact=True)  # below EXACT_BELOW


def test_probabilities_are_the_exact_ones(model: GAE) -> None:
    for node in _queries(model, 10, seed=3):
        recs = model.recommend(node, k=10, exact=False)
        probs = model.predict_proba([[node, other] for other in _ids(recs)])
        assert [p for _, p in recs] == probs.tolist()
        assert [p for _, p in recs] == sorted((p for _, p in recs), reverse=True)
        exact = dict(model.recommend(node, k=10, exact=True))
        for other, p in recs:
            if other in exact:
                assert p == pytest.approx(exact[other], rel=1e-6)


def _hub_model(model: GAE) -> tuple[GAE, int]:
    """A copy whose highest-degree node has its neighbours as its best-scoring nodes."""
    est = pickle.loads(pickle.dumps(model))
    adj = est.graph_.adj
    hub = int(np.argmax(np.diff(adj.indptr)))
    neighbours = adj.indices[adj.indptr[hub] : adj.indptr[hub + 1]]
    z = est.embedding_.copy()
    z[neighbours] = 3 * z[hub] + 0.01 * np.random.default_rng(4).standard_normal((len(neighbours), D))
    est.embedding_ = z.astype(np.float32)
    return est, hub


def test_excluded_neighbours_never_appear(model: GAE) -> None:
    est, hub = _hub_model(model)
    adj = est.graph_.adj
    for i in [hub, *(est.id_index()[n] for n in _queries(est, 20, seed=5))]:
        node = est.node_ids_[i].item()
        neighbours = set(est.node_ids_[adj.indices[adj.indptr[i] : adj.indptr[i + 1]]].tolist())
        got = _ids(est.recommend(node, k=10, exact=False))
        assert len(got) == 10 and node not in got and not neighbours & set(got)
    # without the exclusion, the hub's neighbours are its best candidates
    top = _ids(est.recommend(est.node_ids_[hub].item(), k=10, exact=False, exclude_edges=False))
    assert set(top) <= set(est.node_ids_[adj.indices[adj.indptr[hub] : adj.indptr[hub + 1]]].tolist())


def test_too_few_survivors_widen_the_search(model: GAE, monkeypatch: pytest.MonkeyPatch) -> None:
    est, hub = _hub_model(model)
    est.topk_index()  # built (and calibrated) before the margin below
    degree = int(np.diff(est.graph_.adj.indptr)[hub])
    counts: list[int] = []
    search = topk.InnerProductIndex.search

    def recording(self: topk.InnerProductIndex, q: np.ndarray, count: int, *rest: object) -> np.ndarray:
        counts.append(count)
        return search(self, q, count, *rest)

    monkeypatch.setattr(topk.InnerProductIndex, "search", recording)
    monkeypatch.setattr(topk, "MARGIN", -degree)  # the first search holds only excluded nodes
    node = est.node_ids_[hub].item()
    got = est.recommend(node, k=10, exact=False)
    assert len(counts) >= 2 and counts[1] == 2 * counts[0]
    assert _ids(got) == _ids(est.recommend(node, k=10, exact=True))


def test_a_search_over_a_large_share_of_the_nodes_scores_exactly(
    model: GAE, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(topk, "EXACT_SHARE", 0.001)  # 3 nodes: every search is too large
    monkeypatch.setattr(topk.InnerProductIndex, "search", None)  # never called
    node = _queries(model, 1)[0]
    assert model.recommend(node, k=10, exact=False) == model.recommend(node, k=10, exact=True)


def test_exact_none_uses_the_index_from_the_threshold_on(model: GAE, monkeypatch: pytest.MonkeyPatch) -> None:
    est = pickle.loads(pickle.dumps(model))
    calls: list[int] = []
    monkeypatch.setattr(type(est), "_recommend_indexed", lambda self, ann, i, k, ex: calls.append(i) or [])
    node = _queries(est, 1)[0]
    est.recommend(node)
    assert calls == []
    monkeypatch.setattr(topk, "EXACT_BELOW", N)
    est.recommend(node)
    assert calls == [est.id_index()[node]]
    est.recommend(node, exact=True)
    assert len(calls) == 1


def test_bad_exact_is_refused(model: GAE) -> None:
    with pytest.raises(
        InputTypeError, match="The 'exact' parameter of recommend must be True, False or None"
    ):
        model.recommend(0, exact="yes")


def test_the_index_is_kept_until_the_embedding_changes(model: GAE) -> None:
    est = pickle.loads(pickle.dumps(model))
    first = est.topk_index()
    assert est.topk_index() is first
    est.embedding_ = est.embedding_ * 2  # as a refit does: a new array
    assert est.topk_index() is not first
    again = pickle.loads(pickle.dumps(est))  # the index pickles as its bytes
    assert again.recommend(0, exact=False) == est.recommend(0, exact=False)


# Files -----------------------------------------------------------------------------------
def test_save_and_load_keep_the_index(model: GAE, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    est = pickle.loads(pickle.dumps(model))
    nodes = _queries(est, 10, seed=6)
    before = est.recommend(nodes, exact=False)
    est.save(tmp_path / "m")
    entry = json.loads((tmp_path / "m" / METADATA).read_text())["files"][INDEX]
    assert entry["bytes"] == (tmp_path / "m" / INDEX).stat().st_size
    monkeypatch.setattr(topk.InnerProductIndex, "build", None)  # read back, never rebuilt
    loaded = load(tmp_path / "m")
    assert loaded.recommend(nodes, exact=False) == before
    loaded.save(tmp_path / "copy")  # the same bytes, checked on the way
    assert (tmp_path / "copy" / INDEX).read_bytes() == (tmp_path / "m" / INDEX).read_bytes()


def test_a_small_model_is_saved_without_an_index_unless_it_has_one(model: GAE, tmp_path: Path) -> None:
    est = _fresh(model)
    est.save(tmp_path / "m")
    assert not (tmp_path / "m" / INDEX).exists()
    est.topk_index()
    est.save(tmp_path / "m")
    assert (tmp_path / "m" / INDEX).is_file()
    _fresh(model).save(tmp_path / "m")  # saved over by a model without one: no stale index left
    assert not (tmp_path / "m" / INDEX).exists()
    assert INDEX not in json.loads((tmp_path / "m" / METADATA).read_text())["files"]


def test_save_builds_no_index_but_keeps_the_one_in_use(
    model: GAE, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Building at save took longer than the training at 1M nodes (issue 22): only on request.
    monkeypatch.setattr(topk, "EXACT_BELOW", N)
    est = _fresh(model)
    est.save(tmp_path / "m")
    assert not (tmp_path / "m" / INDEX).exists()
    assert load(tmp_path / "m").recommend(0) == est.recommend(0, exact=False)  # built in memory
    est.topk_index()
    est.save(tmp_path / "built")
    assert (tmp_path / "built" / INDEX).is_file()


def test_train_index_keeps_the_index_in_the_run_folder(tmp_path: Path) -> None:
    edges = tmp_path / "edges.tsv"
    rng = np.random.default_rng(0)
    pairs = {tuple(sorted(p)) for p in rng.integers(0, 60, size=(300, 2)).tolist() if p[0] != p[1]}
    edges.write_text("".join(f"{a}\t{b}\n" for a, b in sorted(pairs)))
    base = ["train", "--edges", str(edges), "--epochs", "2", "--quiet", "--seed", "0"]
    assert main([*base, "--out", str(tmp_path / "plain")]) == 0
    assert main([*base, "--index", "--out", str(tmp_path / "indexed")]) == 0
    assert not (tmp_path / "plain" / INDEX).exists()
    assert (tmp_path / "indexed" / INDEX).is_file()
    files = json.loads((tmp_path / "indexed" / METADATA).read_text())["files"]
    assert INDEX in files


def test_a_changed_byte_in_the_index_is_refused(model: GAE, tmp_path: Path) -> None:
    est = pickle.loads(pickle.dumps(model))
    est.topk_index()
    est.save(tmp_path / "m")
    path = tmp_path / "m" / INDEX
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 1
    path.write_bytes(bytes(data))
    loaded = load(tmp_path / "m")  # read lazily: loading does not read it
    with pytest.raises(
        InputError, match=r"index\.faiss: the file is damaged or was changed since it was saved"
    ):
        loaded.recommend(0, exact=False)
    assert loaded.recommend(0, exact=True) == est.recommend(0, exact=True)
    loaded.save(tmp_path / "repaired")  # saving again rebuilds it
    assert load(tmp_path / "repaired").recommend(0, exact=False) == est.recommend(0, exact=False)


def test_a_missing_index_file_is_named(model: GAE, tmp_path: Path) -> None:
    est = pickle.loads(pickle.dumps(model))
    est.topk_index()
    est.save(tmp_path / "m")
    (tmp_path / "m" / INDEX).unlink()
    with pytest.raises(MissingFileError, match=r"index\.faiss not found, though metadata\.json lists it"):
        load(tmp_path / "m").recommend(0, exact=False)


def test_cli_recommend_exact(model: GAE, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    est = pickle.loads(pickle.dumps(model))
    est.topk_index()
    est.save(tmp_path / "m")
    outputs = []
    for extra in ([], ["--exact"]):
        capsys.readouterr()
        assert main(["recommend", "--model", str(tmp_path / "m"), "--node", "7", "-k", "5", *extra]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]  # below the threshold the default is exact too
    assert (
        outputs[1].splitlines()[0] == "node,rank,neighbour,probability" and len(outputs[1].splitlines()) == 6
    )


# Decoders that are no inner product --------------------------------------------------------
@pytest.fixture(scope="module")
def small_graph():
    return make_communities(num_nodes=120, random_state=0)


@pytest.mark.parametrize("cls", [GravityGAE, RefinedGAE])
def test_other_decoders_always_score_exactly(cls: type, small_graph, monkeypatch: pytest.MonkeyPatch) -> None:
    est = cls(epochs=2, random_state=0, device="cpu").fit(small_graph)
    decoder = type(est.module_.decoder).__name__
    with pytest.raises(
        InputError, match=f"The decoder of this {cls.__name__} \\({decoder}\\) is not an inner"
    ):
        est.recommend(0, exact=False)
    monkeypatch.setattr(topk, "EXACT_BELOW", 1)
    monkeypatch.setattr(topk.InnerProductIndex, "build", None)
    assert est.recommend(0) == est.recommend(0, exact=True)


def test_heuristics_always_score_exactly(small_graph) -> None:
    est = AdamicAdar().fit(small_graph)
    with pytest.raises(InputError, match="AdamicAdar scores pairs without an embedding"):
        est.recommend(0, exact=False)


def test_without_faiss_the_index_is_a_missing_extra(model: GAE, monkeypatch: pytest.MonkeyPatch) -> None:
    est = pickle.loads(pickle.dumps(model))
    monkeypatch.setitem(sys.modules, "faiss", None)  # import faiss now fails
    with pytest.raises(
        MissingDependencyError, match=r'^the top-k index needs faiss: pip install "graphae\[index\]"$'
    ):
        est.recommend(0, exact=False)
    monkeypatch.setattr(topk, "EXACT_BELOW", 1)
    assert est.recommend(0) == est.recommend(0, exact=True)  # exact=None falls back to exact scoring


def test_serve_reads_and_checks_the_index_at_start_up(
    model: GAE, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("fastapi")
    from graphae.serving import load_app

    est = _fresh(model)
    est.topk_index()
    est.save(tmp_path / "m")
    path = tmp_path / "m" / INDEX
    path.write_bytes(path.read_bytes()[:-1])
    load_app(tmp_path / "m")  # below the threshold the index is not used, so not read
    monkeypatch.setattr(topk, "EXACT_BELOW", N)
    with pytest.raises(
        InputError, match=r"index\.faiss: the file is damaged .* \(\d+ bytes; metadata\.json records"
    ):
        load_app(tmp_path / "m")


def test_cli_recommend_uses_the_index_above_the_threshold(
    model: GAE, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    est = _fresh(model)
    est.topk_index()
    est.save(tmp_path / "m")
    path = tmp_path / "m" / INDEX
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    monkeypatch.setattr(topk, "EXACT_BELOW", N)
    argv = ["recommend", "--model", str(tmp_path / "m"), "--node", "7"]
    line = user_error(capsys, argv)
    assert line.startswith(f"graphae: error: {path}: the file is damaged or was changed since it was saved")
    assert main([*argv, "--exact"]) == 0  # exact scoring reads no index


def test_two_builds_of_one_embedding_are_the_same_index(model: GAE) -> None:
    faiss = pytest.importorskip("faiss")
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)  # faiss seeds the HNSW levels; one thread fixes the insertion order
    try:
        first = topk.InnerProductIndex.build(model.embedding_[:1000]).to_bytes()
        assert topk.InnerProductIndex.build(model.embedding_[:1000]).to_bytes() == first
    finally:
        faiss.omp_set_num_threads(threads)
