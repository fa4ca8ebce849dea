"""HeaRT's hard ranking negatives (graphae.heart) and `--negatives heart`."""

import json

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.stats import rankdata

from cli_helpers import user_error
from graphae import GAE
from graphae.cli import main
from graphae.data import make_communities
from graphae.errors import InputError
from graphae.evaluation import HEART_METRICS, METRICS, EvaluationSplit, evaluate
from graphae.experiment import run_link_prediction
from graphae.graph import Graph
from graphae.heart import heart_negatives, heart_ranks, heart_validation_pairs, personalized_pagerank
from graphae.split import split_edges


def _adj(edges, n, directed=False):
    rows, cols = np.array(edges).T
    a = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    return a if directed else ((a + a.T) > 0).astype(np.float64).tocsr()


def _check_pairs(full, pos, heads, tails, k):
    """Every negative shares an endpoint with its test edge, is no edge, no self loop."""
    full = full.toarray()
    assert heads.shape == tails.shape == (pos.shape[1], k)
    kt = k - k // 2
    assert (heads[:, :kt] == pos[0][:, None]).all() and (tails[:, kt:] == pos[1][:, None]).all()
    assert not full[heads, tails].any()
    assert (heads != tails).all()
    for p in range(pos.shape[1]):  # no repeats within a test edge's negatives
        assert len({(a, b) for a, b in zip(heads[p], tails[p], strict=True)}) == k


# A hand-checked example ------------------------------------------------------------------
# Training graph 0-1, 0-2, 0-3, 1-4, 2-4, 3-5, 5-6, 6-7; the test edge (0, 7) is in the whole
# graph only. Tail side, kept node 0 (neighbours 1, 2, 3, 7 in the whole graph): candidates
# 4 (common neighbours 1 and 2), 5 (3), 6 (none). Head side, kept node 7 (neighbours 6, 0):
# 5 shares 6 with it, 1..4 share nothing.
TRAIN = [(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 5), (5, 6), (6, 7)]


@pytest.mark.parametrize("heuristic", ["cn", "ra"])
def test_hand_checked_common_neighbour_choice(heuristic):
    train, full = _adj(TRAIN, 8), _adj([*TRAIN, (0, 7)], 8)
    pos = np.array([[0], [7]])
    heads, tails = heart_negatives(train, full, pos, 4, heuristics=(heuristic,), random_state=0)
    _check_pairs(full, pos, heads, tails, 4)
    assert tails[0, :2].tolist() == [4, 5]  # CN 2 then 1 (RA 1 then 1/2)
    assert heads[0, 2] == 5 and heads[0, 3] in (1, 2, 3, 4)  # CN 1, then one scored 0 at random


def test_heart_ranks_match_hearts_rankdata_rule():
    rng = np.random.default_rng(3)
    scores = rng.integers(-1, 4, size=(20, 30)).astype(float)  # many ties, zeros and -1s
    scores[0] = 0
    expected = np.empty_like(scores)
    for i, row in enumerate(scores):  # HeaRT: rankdata 'min' of the positives, reversed
        positive = row > 0
        ranks = rankdata(row[positive], method="min") if positive.any() else np.zeros(0)
        top = ranks.max() if len(ranks) else 0
        expected[i, positive] = top - ranks + 1
        expected[i, row == 0], expected[i, row < 0] = top + 1, top + 2
    assert np.array_equal(heart_ranks(scores), expected)
    assert heart_ranks(np.array([[5.0, 3.0, 3.0, 1.0, 0.0, -1.0]])).tolist() == [[1, 3, 3, 4, 5, 6]]
    # HeaRT's quirk, kept: ties at the top count once (4, 2 rank 2, not 3).
    assert heart_ranks(np.array([[4.0, 4.0, 2.0, 0.0]])).tolist() == [[1, 1, 2, 3]]


def test_personalized_pagerank_solves_its_equation():
    rng = np.random.default_rng(0)
    a = _adj(rng.integers(0, 25, size=(40, 2)), 25)
    a.setdiag(0)
    a.eliminate_zeros()
    sources = np.array([0, 7, 7])
    got = personalized_pagerank(a, sources, alpha=0.15, tol=1e-12)
    deg = np.asarray(a.sum(axis=1)).ravel()
    walk = np.divide(a.toarray(), deg[:, None], out=np.zeros((25, 25)), where=deg[:, None] > 0)
    exact = 0.15 * np.linalg.solve((np.eye(25) - 0.85 * walk).T, np.eye(25)[:, sources]).T
    np.testing.assert_allclose(got, exact, atol=1e-10)


def _reference_choice_ok(train, full, x, pos, heads, tails, heuristics):
    """With plain dense numpy: each chosen node's min-aggregated rank is no worse than any
    candidate left out, on both sides."""
    a = train.toarray()
    a = ((a + a.T) > 0).astype(float)
    deg = a.sum(0)
    table = {
        "cn": a @ a,
        "ra": a @ (a / np.where(deg > 0, deg, np.inf)[None, :]),
        "feature": (x / np.linalg.norm(x, axis=1, keepdims=True))
        @ (x / np.linalg.norm(x, axis=1, keepdims=True)).T,
    }
    f = full.toarray() != 0
    k = heads.shape[1]
    kt = k - k // 2
    for p, (s, t) in enumerate(pos.T):
        for keep, other, forbid, chosen in ((s, t, f[s], tails[p, :kt]), (t, s, f[:, t], heads[p, kt:])):
            masked = forbid.copy()
            masked[[keep, other]] = True
            agg = np.full(len(masked), np.inf)
            for h in heuristics:
                row = np.round(table[h][keep], 12)
                row[masked] = -1
                agg = np.minimum(agg, heart_ranks(row[None])[0])
            left = np.setdiff1d(np.flatnonzero(~masked), chosen)
            assert not masked[chosen].any()
            assert agg[chosen].max() <= agg[left].min()


def test_choice_is_the_top_of_the_aggregated_ranks():
    g = make_communities(num_nodes=60, num_communities=3, num_features=12, random_state=4)
    rng = np.random.default_rng(1)
    full = g.adj
    keys = np.argwhere(sp.triu(full).toarray())
    test = keys[rng.choice(len(keys), 15, replace=False)]
    train = full.tolil()
    train[test[:, 0], test[:, 1]] = 0
    train[test[:, 1], test[:, 0]] = 0
    train = train.tocsr()
    train.eliminate_zeros()
    x = g.x.toarray() + 0.01  # no zero rows
    pos = test.T.copy()
    for heuristics, feats in (
        (("cn", "feature"), x),
        (("ra",), x),
        (("cn", "ra", "feature"), sp.csr_matrix(x)),
    ):
        heads, tails = heart_negatives(train, full, pos, 10, x=feats, heuristics=heuristics, random_state=2)
        _check_pairs(full, pos, heads, tails, 10)
        _reference_choice_ok(train, full, x, pos, heads, tails, heuristics)


def test_seeded_and_default_heuristics_featureless():
    train, full = _adj(TRAIN, 8), _adj([*TRAIN, (0, 7)], 8)
    pos = np.array([[0, 7], [7, 0]])
    one = heart_negatives(train, full, pos, 6, random_state=5)  # RA and PPR: no features
    assert all(
        np.array_equal(a, b)
        for a, b in zip(one, heart_negatives(train, full, pos, 6, random_state=5), strict=True)
    )
    _check_pairs(full, pos, *one, 6)


def test_directed_graph_keeps_the_direction():
    # 0->1, 1->2, 2->0, 3->0, 0->4, 4->5, 5->3; test edge 0->1 is in the whole graph only.
    edges = [(1, 2), (2, 0), (3, 0), (0, 4), (4, 5), (5, 3)]
    train, full = _adj(edges, 6, directed=True), _adj([*edges, (0, 1)], 6, directed=True)
    pos = np.array([[0], [1]])
    heads, tails = heart_negatives(train, full, pos, 6, random_state=0)
    _check_pairs(full, pos, heads, tails, 6)
    # (0, t') avoids 0's out-neighbours 1, 4 only: 2 and 3 point to 0 but (0, 2), (0, 3) are non-edges.
    assert sorted(tails[0, :3]) == [2, 3, 5]
    # (s', 1): any but 0 (the one edge into 1). Resource allocation from 1 is 0 for all of them,
    # so under HeaRT's min of ranks they all tie at rank 1: the draw picks 3 of the 4.
    assert set(heads[0, 3:]) < {2, 3, 4, 5}


def test_bad_input_is_refused():
    train, full = _adj(TRAIN, 8), _adj([*TRAIN, (0, 7)], 8)
    pos = np.array([[0], [7]])
    for k in (0, 1, -3, 2.5, True):
        with pytest.raises(InputError, match="K >= 2"):
            heart_negatives(train, full, pos, k)
    with pytest.raises(
        InputError, match=r"test edge \(0, 7\) has 3 candidate nodes sharing its source, 5 needed"
    ):
        heart_negatives(train, full, pos, 10)
    with pytest.raises(InputError, match="heuristics"):
        heart_negatives(train, full, pos, 4, heuristics=("katz",))
    with pytest.raises(InputError, match=r"\[2, P\] node indices"):
        heart_negatives(train, full, np.array([[0], [8]]), 4)


# run_link_prediction and the command line --------------------------------------------------
@pytest.fixture(scope="module")
def graph():
    return make_communities(num_nodes=200, num_communities=3, num_features=30, random_state=1)


def test_run_link_prediction_with_heart_negatives(graph):
    result = run_link_prediction(
        graph, GAE(epochs=5, device="cpu"), seed=1, negatives="heart", ranking_negatives=20
    )
    ev = result.evaluation
    assert ev.ranking_src is not None and ev.ranking_neg.shape == (ev.test_pos.shape[1], 20)
    _check_pairs(graph.adj, ev.test_pos, ev.ranking_src, ev.ranking_neg, 20)
    assert set(result.scores) == set(METRICS) | set(HEART_METRICS)
    s = result.scores
    assert s["test_hits_at_1"] <= s["test_hits_at_3"] <= s["test_hits_at_10"]
    assert s["test_hits_at_20"] is None  # K not below the 20 negatives: it could not fail
    random = run_link_prediction(graph, GAE(epochs=5, device="cpu"), seed=1)
    assert set(random.scores) == set(METRICS) and random.evaluation.ranking_src is None
    with pytest.raises(InputError, match="'negatives' parameter"):
        run_link_prediction(graph, GAE(epochs=1, device="cpu"), negatives="hard")
    with pytest.raises(InputError, match="K >= 2"):
        run_link_prediction(graph, GAE(epochs=1, device="cpu"), negatives="heart", ranking_negatives=0)
    tiny = Graph.from_edge_index(np.array([[0, 1, 2, 3, 4], [1, 2, 3, 4, 0]]), 5)
    with pytest.raises(InputError, match="too few nodes for 500 HeaRT negatives"):
        run_link_prediction(
            tiny, GAE(epochs=1, device="cpu"), negatives="heart", test_ratio=0.2, val_ratio=0.0
        )


def test_validation_is_scored_under_heart_too(graph):
    """Issue 21: model selection sees the metric the test reports. Each validation edge gets its
    own HeaRT negatives (not the shared random non-edges), and the model is selected on their MRR."""
    result = run_link_prediction(
        graph,
        GAE(epochs=6, device="cpu", select_best=True),
        seed=3,
        negatives="heart",
        ranking_negatives=20,
    )
    history = result.history
    assert all("val_mrr" in record for record in history)
    best = max(history, key=lambda record: record["val_mrr"])
    assert result.estimator.best_epoch_ == best["epoch"]
    split = result.split
    val = heart_validation_pairs(graph, split, seed=3, num_negatives=20)
    assert val.metric == "mrr" and np.array_equal(val[0], split.val_pos)
    heads, tails = (row.reshape(-1, 20) for row in val[1])
    # The validation edges are known at selection time; the test edges are not consulted.
    train = split.train.adj.toarray() != 0
    known = train.copy()
    known[split.val_pos[0], split.val_pos[1]] = known[split.val_pos[1], split.val_pos[0]] = True
    _check_pairs(sp.csr_matrix(known), split.val_pos, heads, tails, 20)
    again = heart_validation_pairs(graph, split, seed=3, num_negatives=20)
    assert np.array_equal(val[1], again[1])  # seeded
    # Hard: the negatives share more training neighbours with their kept end than random pairs do.
    cn = train.astype(float) @ train.astype(float)
    rng = np.random.default_rng(0)
    random_tails = rng.integers(0, graph.num_nodes, size=heads.shape)
    assert cn[heads, tails].mean() > 3 * cn[heads, random_tails].mean()


def test_too_few_candidates_for_a_validation_edge_is_named():
    # A ring of 12 nodes: a kept end has 12 - 1 - 2 = 9 candidates (not itself, not its 2 neighbours).
    ring = Graph.from_edge_index(np.array([[i for i in range(12)], [(i + 1) % 12 for i in range(12)]]), 12)
    split = split_edges(ring, val_ratio=0.2, test_ratio=0.1, random_state=0)
    with pytest.raises(
        InputError,
        match=r"too few nodes for 30 HeaRT negatives per validation edge: validation edge \(1, 2\) has 9",
    ):
        heart_validation_pairs(ring, split, seed=0, num_negatives=30)


def test_a_directed_featureless_run():
    rng = np.random.default_rng(0)
    edges = rng.integers(0, 120, size=(2, 600))
    g = Graph.from_edge_index(edges[:, edges[0] != edges[1]], 120, directed=True)
    assert g.directed and g.x is None
    result = run_link_prediction(
        g, GAE(epochs=2, device="cpu"), seed=0, negatives="heart", ranking_negatives=40
    )
    ev = result.evaluation
    _check_pairs(g.adj, ev.test_pos, ev.ranking_src, ev.ranking_neg, 40)  # ordered pairs: no edge s -> t
    assert 0.0 < result.scores["test_mrr"] <= 1.0


def test_an_official_split_keeps_its_own_negatives(tmp_path):
    from graphae.data import load_dataset
    from ogb_helpers import write_ogbl

    write_ogbl(tmp_path, "ogbl-ddi")
    ddi = load_dataset("ogbl-ddi", tmp_path)
    with pytest.raises(InputError, match="official split with its own negatives: negatives must be 'random'"):
        run_link_prediction(ddi, GAE(epochs=1, device="cpu"), negatives="heart")


def test_cli_negatives_heart(graph, tmp_path, capsys):
    edges = tmp_path / "edges.csv"
    edges.write_text("".join(f"n{a},n{b}\n" for a, b in np.argwhere(np.triu(graph.adj.toarray()))))
    fast = ["--epochs", "3", "--device", "cpu", "--threads", "1", "--quiet"]
    out = tmp_path / "run"
    argv = ["train", "--edges", str(edges), *fast, "--negatives", "heart", "--ranking-negatives", "30"]
    assert main([*argv, "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["negatives"] == "heart"
    for name in ("test_mrr", *(f"test_hits_at_{k}" for k in (1, 3, 10, 20))):
        assert 0.0 <= metrics[name]["mean"] <= 1.0
    for k in (50, 100):  # not below the 30 negatives: Hits@K could not fail, so it is left out
        assert metrics[f"test_hits_at_{k}"] is None
    split = EvaluationSplit.load(out / "split.npz", graph.num_nodes)
    assert split.ranking_src is not None and split.ranking_neg.shape[1] == 30
    capsys.readouterr()
    assert main(["evaluate", "--model", str(out)]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["test_mrr"] == metrics["test_mrr"]["values"][0]
    assert again["test_hits_at_1"] == metrics["test_hits_at_1"]["values"][0]
    assert "K >= 2" in user_error(capsys, [*argv[:-1], "1"])
    ring = tmp_path / "ring.csv"  # 40 nodes, each linked to the next two: 35 candidates, 250 needed
    ring.write_text("".join(f"n{i},n{(i + j) % 40}\n" for i in range(40) for j in (1, 2)))
    line = user_error(capsys, ["train", "--edges", str(ring), *fast, "--negatives", "heart"])
    assert "too few nodes for 500 HeaRT negatives per test edge: test edge (n" in line
    assert "has 35 candidate nodes sharing its source, 250 needed" in line


@pytest.mark.slow
def test_cora_gae_mrr_is_lower_under_heart(cora):
    """Done-when of issue 21: on Cora, the same fitted GAE (seed 0) ranks its test edges
    much worse against HeaRT's negatives than against random ones."""
    result = run_link_prediction(cora, GAE(device="cpu", eval_every=50), seed=0, negatives="heart")
    heart = result.scores["test_mrr"]
    random = evaluate(result.estimator, EvaluationSplit.from_split(cora, result.split, seed=0))["test_mrr"]
    # Measured: random 0.434, HeaRT 0.048 (500 negatives against 100).
    assert heart < 0.5 * random
    assert result.evaluation.ranking_neg.shape[1] == 500
