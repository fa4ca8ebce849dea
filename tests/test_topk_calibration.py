"""The top-k index's search width, calibrated to a recall target (graphae.topk.InnerProductIndex.calibrate)."""

import json
import pickle
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from cli_helpers import user_error
from graphae import GAE, load, runfolder
from graphae.cli import main
from graphae.data import make_planted_partition
from graphae.errors import InputError
from graphae.runfolder import INDEX, METADATA

pytest.importorskip("faiss")

from graphae import topk  # noqa: E402  (after the skip: the index needs faiss)

N, D = 3000, 16


@pytest.fixture(scope="module")
def model() -> GAE:
    """A GAE shell on a 3,000-node graph, with a seeded random embedding of width 16."""
    graph = make_planted_partition(N, 15_000, num_blocks=30, num_features=8, random_state=0)
    est = GAE(epochs=1, hidden_channels=8, out_channels=D, random_state=0, device="cpu").fit(graph)
    est.embedding_ = np.random.default_rng(0).standard_normal((N, D)).astype(np.float32)
    return est


def _copy(est: GAE) -> GAE:
    copy = pickle.loads(pickle.dumps(est))
    vars(copy).pop("_topk_cache", None)
    return copy


def _embedding(kind: str, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "random":
        return rng.standard_normal((n, D)).astype(np.float32)
    if kind == "clustered":  # 50 clusters
        centres = 3 * rng.standard_normal((50, D))
        return (centres[rng.integers(0, 50, n)] + 0.5 * rng.standard_normal((n, D))).astype(np.float32)
    # random directions, log-normal norms: norms spread over a factor of ~50
    z = rng.standard_normal((n, D))
    return (z / np.linalg.norm(z, axis=1, keepdims=True) * np.exp(rng.standard_normal((n, 1)))).astype(
        np.float32
    )


def _adjacency(n: int, seed: int = 1) -> sp.csr_matrix:
    """A symmetric random graph of about 10 neighbours per node."""
    pairs = np.random.default_rng(seed).integers(0, n, size=(5 * n, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    adj = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)).tocsr()
    return ((adj + adj.T) > 0).astype(np.float32).tocsr()


def _recall(ann: topk.InnerProductIndex, z: np.ndarray, adj: sp.csr_matrix, count: int, seed: int) -> float:
    """Mean recall@10 of recommend's candidates against the brute-force top 10, neighbours excluded."""
    z64 = z.astype(np.float64)
    hits = []
    for i in np.random.default_rng(seed).choice(len(z), count, replace=False):
        neighbours = adj.indices[adj.indptr[i] : adj.indptr[i + 1]]
        scores = z64 @ z64[i]
        allowed = np.ones(len(z), dtype=bool)
        allowed[[i, *neighbours]] = False
        cand = np.flatnonzero(allowed)
        best = cand[np.argsort(-scores[cand], kind="stable")[:10]]
        keep = ann.candidates(z, int(i), neighbours, 10)
        if keep is None:  # recommend would score exactly
            hits.append(1.0)
            continue
        top = keep[np.argsort(-scores[keep], kind="stable")[:10]]
        hits.append(len(set(top) & set(best)) / 10)
    return float(np.mean(hits))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["random", "clustered", "lognormal-norms"])
def test_the_calibrated_index_reaches_the_target_at_20000_nodes(kind: str) -> None:
    n = 20_000
    z, adj = _embedding(kind, n), _adjacency(n)
    ann = topk.InnerProductIndex.build(z, adj)  # calibrated to TARGET_RECALL
    assert ann.calibration["target_recall"] == topk.TARGET_RECALL == 0.95
    assert ann.calibration["recall_at_10"] >= 0.95 and ann.calibration["queries"] == 200
    assert _recall(ann, z, adj, 300, seed=7) >= 0.95  # on other nodes than the calibration's


def test_ef_search_is_the_first_doubling_that_reaches_the_target(
    model: GAE, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = topk.InnerProductIndex.build(model.embedding_, target_recall=None)
    assert ann.ef_search == topk.EF_SEARCH and ann.calibration is None
    scripted = {32: 0.5, 64: 0.9, 128: 0.97, 256: 0.99}
    tried: list[int] = []
    monkeypatch.setattr(
        topk.InnerProductIndex, "_recall", lambda self, z, s, ex, best, ef: tried.append(ef) or scripted[ef]
    )
    assert ann.calibrate(model.embedding_, None, 0.95) == 0.97
    assert (ann.ef_search, tried) == (128, [32, 64, 128])
    assert ann.calibration == {"target_recall": 0.95, "recall_at_10": 0.97, "queries": 200}
    ann.calibrate(model.embedding_, None, 0.9)
    assert ann.ef_search == 64


def test_the_l2_reduction_is_built_when_the_inner_product_graph_falls_short(
    model: GAE, monkeypatch: pytest.MonkeyPatch
) -> None:
    z = model.embedding_[:1000]
    scripted = {"inner_product": lambda ef: 0.9, "l2_reduction": lambda ef: 1.0 if ef >= 64 else 0.5}
    monkeypatch.setattr(
        topk.InnerProductIndex, "_recall", lambda self, z, s, ex, best, ef: scripted[self.metric](ef)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the target is reached: no warning
        ann = topk.InnerProductIndex.build(z)
    assert (ann.metric, ann._index.d, ann.ef_search) == ("l2_reduction", D + 1, 64)
    assert ann.record() == {
        "metric": "l2_reduction",
        "ef_search": 64,
        "target_recall": 0.95,
        "recall_at_10": 1.0,
        "queries": 200,
    }
    scripted["l2_reduction"] = lambda ef: 0.8  # neither reaches it: the better one, with a warning
    with pytest.warns(UserWarning, match=r"reaches recall@10 0\.900 at efSearch 4096"):
        ann = topk.InnerProductIndex.build(z)
    assert (ann.metric, ann.ef_search) == ("inner_product", 4096)


def test_a_target_out_of_reach_keeps_the_widest_search_and_warns(
    model: GAE, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = topk.InnerProductIndex.build(model.embedding_, target_recall=None)
    monkeypatch.setattr(topk.InnerProductIndex, "_recall", lambda *args: 0.5)
    with pytest.warns(
        UserWarning, match=r"reaches recall@10 0\.500 at efSearch 4096 \(the most tried\), below"
    ):
        ann.calibrate(model.embedding_, None, 0.95)
    assert ann.ef_search == topk.EF_MAX == 4096
    assert ann.calibration["recall_at_10"] == 0.5


def test_the_calibration_measures_what_recommend_returns(model: GAE) -> None:
    est = _copy(model)
    ann = est.topk_index()
    sample = est.node_ids_[
        np.sort(np.random.default_rng(topk.CALIBRATION_SEED).choice(N, 200, replace=False))
    ]
    exact = est.recommend(list(sample), k=10, exact=True)
    approx = est.recommend(list(sample), k=10, exact=False)  # neighbours excluded, as calibrated
    recall = np.mean(
        [len({a for a, _ in e} & {a for a, _ in x}) / 10 for e, x in zip(exact, approx, strict=True)]
    )
    assert recall == pytest.approx(ann.calibration["recall_at_10"], abs=0.01)
    assert recall >= 0.95


def test_a_saved_index_keeps_its_calibration(
    model: GAE, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    est = _copy(model)
    record = est.topk_index(target_recall=0.99).record()
    assert record["target_recall"] == 0.99 and record["recall_at_10"] >= 0.99
    assert record["metric"] == "inner_product"
    est.save(tmp_path / "m")
    assert json.loads((tmp_path / "m" / METADATA).read_text())["index"] == record
    monkeypatch.setattr(topk.InnerProductIndex, "build", None)  # read back, never rebuilt
    monkeypatch.setattr(topk.InnerProductIndex, "calibrate", None)  # nor calibrated again
    loaded = load(tmp_path / "m")
    assert loaded.topk_index().record() == record
    assert loaded.topk_index(target_recall=0.99).record() == record  # the same target: kept
    assert pickle.loads(pickle.dumps(loaded.topk_index())).record() == record


def test_another_target_calibrates_the_saved_index_again_without_rebuilding(
    model: GAE, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    est = _copy(model)
    est.topk_index()
    est.save(tmp_path / "m")
    monkeypatch.setattr(topk.InnerProductIndex, "build", None)
    loaded = load(tmp_path / "m")
    assert loaded.topk_index(target_recall=0.5).calibration["target_recall"] == 0.5
    assert loaded.topk_index().ef_search == topk.EF_START
    loaded.save(tmp_path / "again")
    assert json.loads((tmp_path / "again" / METADATA).read_text())["index"]["target_recall"] == 0.5
    assert load(tmp_path / "again").topk_index().ef_search == topk.EF_START  # in the index's bytes


def _l2_index(z: np.ndarray) -> topk.InnerProductIndex:
    """An index as graphae built it before calibration: L2 on ``[z_i, sqrt(R^2 - |z_i|^2)]``, efSearch 128."""
    faiss = topk.faiss()
    sq = np.einsum("ij,ij->i", z, z, dtype=np.float64)
    extra = np.sqrt(sq.max() - sq).astype(np.float32)
    index = faiss.IndexHNSWFlat(z.shape[1] + 1, 32)
    index.hnsw.efConstruction, index.hnsw.efSearch = 200, 128
    index.add(np.ascontiguousarray(np.column_stack([z, extra])))
    return topk.InnerProductIndex(index, z.shape[1])


def test_a_folder_saved_before_calibration_searches_as_before(model: GAE, tmp_path: Path) -> None:
    est = _copy(model)
    est._topk_cache = (est.embedding_, _l2_index(est.embedding_))
    nodes = list(est.node_ids_[:50])
    before = est.recommend(nodes, exact=False)
    exact = est.recommend(nodes, exact=True)
    assert (
        np.mean([len({a for a, _ in e} & {a for a, _ in b}) / 10 for e, b in zip(exact, before, strict=True)])
        > 0.8
    )
    est.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / METADATA).read_text())
    del meta["index"]  # as graphae wrote it before the calibration
    runfolder.write_metadata(tmp_path / "m", meta)
    loaded = load(tmp_path / "m")
    ann = loaded.topk_index()
    assert (ann.ef_search, ann.calibration) == (128, None)
    assert ann.record() == {"metric": "l2_reduction", "ef_search": 128}
    assert loaded.recommend(nodes, exact=False) == before
    loaded.save(tmp_path / "again")
    assert json.loads((tmp_path / "again" / METADATA).read_text())["index"] == ann.record()


@pytest.mark.parametrize("bad", [0, 1.5, -0.1, True, "0.9", float("nan")])
def test_a_bad_target_is_refused(model: GAE, bad: object) -> None:
    with pytest.raises(
        InputError, match=r"^The 'target_recall' parameter of topk_index must be a number in \(0, 1\]"
    ):
        model.topk_index(target_recall=bad)


def test_train_target_recall_calibrates_the_saved_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edges = tmp_path / "edges.tsv"
    rng = np.random.default_rng(0)
    pairs = {tuple(sorted(p)) for p in rng.integers(0, 60, size=(300, 2)).tolist() if p[0] != p[1]}
    edges.write_text("".join(f"{a}\t{b}\n" for a, b in sorted(pairs)))
    base = ["train", "--edges", str(edges), "--epochs", "2", "--quiet", "--seed", "0"]
    assert main([*base, "--index", "--target-recall", "0.9", "--out", str(tmp_path / "r")]) == 0
    record = json.loads((tmp_path / "r" / METADATA).read_text())["index"]
    assert record["target_recall"] == 0.9 and record["queries"] == 60
    assert (tmp_path / "r" / INDEX).is_file()
    line = user_error(capsys, [*base, "--target-recall", "0.9", "--out", str(tmp_path / "no")])
    assert (
        line == "graphae: error: --target-recall needs --index (it calibrates the index that --index builds)"
    )
    with pytest.raises(SystemExit):
        main([*base, "--index", "--target-recall", "2", "--out", str(tmp_path / "bad")])
    assert "argument --target-recall: expected a recall in (0, 1], got '2'" in capsys.readouterr().err


def test_the_index_is_an_inner_product_graph_and_other_indexes_are_refused(model: GAE) -> None:
    faiss = topk.faiss()
    ann = topk.InnerProductIndex.build(model.embedding_[:500], target_recall=None)
    assert (ann._index.metric_type, ann._index.d) == (faiss.METRIC_INNER_PRODUCT, D)
    flat = faiss.IndexFlatIP(D)
    flat.add(model.embedding_[:500])
    data = faiss.serialize_index(flat).tobytes()
    with pytest.raises(
        InputError, match=r"^m/index\.faiss: not an HNSW index of graphae's; save the model again\.$"
    ):
        topk.InnerProductIndex.from_bytes(data, 500, D, "m/index.faiss")
    with pytest.raises(
        InputError, match=r"an index of 500 nodes of width 16, but the model has 500 nodes of width 8"
    ):
        topk.InnerProductIndex.from_bytes(ann.to_bytes(), 500, 8, "m/index.faiss")
