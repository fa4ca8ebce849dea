import numpy as np
import pytest

from graphae.errors import InputError
from graphae.metrics import hits_at_k, mean_reciprocal_rank, ranking_metrics

POS = np.array([3.0, 1.0, 5.0])
# Positive 0 has one own negative above it and one tied (rank 2.5), positive 1 three
# above (rank 4), positive 2 none (rank 1).
OWN = np.array([[4.0, 3.0, 1.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.0]])
SHARED = np.array([4.0, 3.0, 2.0, 0.0])


def _ogb_own(pos: np.ndarray, own: np.ndarray, k: int) -> tuple[float, float]:
    """OGB's ogbl-citation2 evaluator (``_eval_mrr``), transcribed to numpy."""
    optimistic = (own > pos[:, None]).sum(1)
    pessimistic = (own >= pos[:, None]).sum(1)
    ranks = 0.5 * (optimistic + pessimistic) + 1
    return float(np.mean(ranks <= k)), float(np.mean(1.0 / ranks))


def test_own_negatives_by_hand():
    out = ranking_metrics(POS, OWN, None, ks=(1, 2, 3, 4))
    assert out == pytest.approx(
        {
            "hits_at_1": 1 / 3,
            "hits_at_2": 1 / 3,
            "hits_at_3": 2 / 3,
            "hits_at_4": 1.0,
            "mrr": (1 / 2.5 + 1 / 4 + 1) / 3,
        }
    )


def test_shared_negatives_by_hand():
    out = ranking_metrics(POS, None, SHARED, ks=(1, 2, 3, 4, 5))
    # k-th best negatives 4, 3, 2, 0; a positive must be strictly above (3 is not above 3).
    # Five cut-offs but four negatives: Hits@5 is 1.0, as hits_at_k.
    assert out == pytest.approx(
        {
            "hits_at_1_shared": 1 / 3,
            "hits_at_2_shared": 1 / 3,
            "hits_at_3_shared": 2 / 3,
            "hits_at_4_shared": 1.0,
            "hits_at_5_shared": 1.0,
            "mrr_shared": (1 / 2.5 + 1 / 4 + 1) / 3,
        }
    )
    assert mean_reciprocal_rank(POS, SHARED) == pytest.approx(out["mrr_shared"])
    for k in range(1, 6):
        assert hits_at_k(POS, SHARED, k) == out[f"hits_at_{k}_shared"]


def test_both_kinds_and_default_ks():
    out = ranking_metrics(POS, OWN, SHARED)
    assert list(out) == [
        "hits_at_10",
        "hits_at_20",
        "hits_at_50",
        "hits_at_100",
        "mrr",
        "hits_at_10_shared",
        "hits_at_20_shared",
        "hits_at_50_shared",
        "hits_at_100_shared",
        "mrr_shared",
    ]
    assert out["hits_at_10"] == 1.0  # at most 3 negatives: every rank <= 4
    assert out["mrr"] == pytest.approx(0.55)


def test_ties_count_half():
    # Two negatives tied with the positive: optimistic rank 1, pessimistic 3, rank 2.
    out = ranking_metrics(np.array([1.0]), np.array([[1.0, 1.0]]), np.array([1.0, 1.0]), ks=(1, 2))
    assert out == pytest.approx(
        {
            "hits_at_1": 0.0,
            "hits_at_2": 1.0,
            "mrr": 0.5,
            "hits_at_1_shared": 0.0,
            "hits_at_2_shared": 0.0,
            "mrr_shared": 0.5,
        }
    )
    # mean_reciprocal_rank uses the same rule: one negative above, one tied, rank 2.5.
    assert mean_reciprocal_rank([2.0], [2.0, 3.0]) == pytest.approx(0.4)


def test_own_negatives_match_ogb_formula_with_many_ties():
    rng = np.random.default_rng(0)
    pos = rng.integers(0, 5, size=200).astype(float)
    own = rng.integers(0, 5, size=(200, 30)).astype(float)
    out = ranking_metrics(pos, own, None, ks=(1, 3, 10))
    for k in (1, 3, 10):
        hits, mrr = _ogb_own(pos, own, k)
        assert out[f"hits_at_{k}"] == pytest.approx(hits)
        assert out["mrr"] == pytest.approx(mrr)


def test_shared_mrr_equals_own_mrr_with_the_shared_row_repeated():
    rng = np.random.default_rng(1)
    pos = rng.integers(0, 4, size=50).astype(float)
    shared = rng.integers(0, 4, size=20).astype(float)
    own = np.tile(shared, (50, 1))
    out = ranking_metrics(pos, own, shared, ks=(5,))
    assert out["mrr_shared"] == pytest.approx(out["mrr"])


@pytest.mark.parametrize(
    ("pos", "own", "shared", "match"),
    [
        (POS, OWN[:2], None, r"'own_neg_scores'.*\[P, K\] = \[3, K\].*Got \(2, 3\)"),
        (POS, np.zeros((3, 0)), None, r"'own_neg_scores'.*K >= 1.*Got \(3, 0\)"),
        (POS, OWN[0], None, r"'own_neg_scores'.*shape \[P, K\]. Got \(3,\)"),
        (POS[:, None], None, SHARED, r"'pos_scores'.*shape \[P\]. Got \(3, 1\)"),
        (POS, None, SHARED[:, None], r"'shared_neg_scores'.*shape \[M\]. Got \(4, 1\)"),
        (np.array([]), None, SHARED, r"'pos_scores'.*at least one score. Got 0"),
        (POS, None, np.array([]), r"'shared_neg_scores'.*at least one score. Got 0"),
        (POS, None, None, "needs own_neg_scores, shared_neg_scores or both"),
        (np.array([1.0, np.nan]), None, SHARED, r"'pos_scores'.*holds NaN"),
        (POS, OWN * np.nan, None, r"'own_neg_scores'.*holds NaN"),
    ],
)
def test_bad_shapes_are_named(pos, own, shared, match):
    with pytest.raises(InputError, match=match):
        ranking_metrics(pos, own, shared)


@pytest.mark.parametrize("ks", [(), (0,), [10, -1], (True,), (2.5,), 10, "10"])
def test_bad_ks(ks):
    with pytest.raises(InputError, match=r"The 'ks' parameter of ranking_metrics must be a non-empty list"):
        ranking_metrics(POS, OWN, None, ks=ks)
