"""make_powerlaw, and the property it is for: MaskGAE beats the classic heuristics on heavy-tailed graphs."""

import numpy as np
import pytest

from graphae.data import make_powerlaw
from graphae.errors import InputError
from graphae.experiment import make_estimator, run_link_prediction


def test_same_seed_same_graph_and_global_state_untouched():
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    a = make_powerlaw(num_nodes=500, random_state=3)
    b = make_powerlaw(num_nodes=500, random_state=3)
    assert (a.adj != b.adj).nnz == 0 and np.array_equal(a.y, b.y)
    assert (a.adj != make_powerlaw(num_nodes=500, random_state=4).adj).nnz > 0
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002


def test_shape_degrees_and_communities():
    g = make_powerlaw(num_nodes=3000, avg_degree=6.0, exponent=2.2, num_communities=10, random_state=0)
    assert g.num_nodes == 3000 and g.x is None and not g.directed
    assert g.y.shape == (3000,) and set(np.unique(g.y)) == set(range(10))
    deg = np.asarray(g.adj.sum(axis=1)).ravel()
    assert deg.min() >= 1  # no isolated node
    assert 5.0 < deg.mean() < 6.5
    # Heavy tail: hubs with tens of times the median degree.
    assert deg.max() > 20 * np.median(deg)
    # Communities: most edges inside one (in_out_ratio 20, 10 communities: about 0.69 expected).
    rows, cols = g.edges()
    assert (g.y[rows] == g.y[cols]).mean() > 0.6


def test_a_larger_exponent_gives_lighter_tails():
    heavy = make_powerlaw(num_nodes=3000, exponent=2.1, random_state=0)
    light = make_powerlaw(num_nodes=3000, exponent=3.5, random_state=0)
    assert heavy.adj.sum(axis=1).max() > 2 * light.adj.sum(axis=1).max()


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        ("num_nodes", 1, "an int >= 2"),
        ("exponent", 2.0, "a float > 2"),
        ("avg_degree", 0, r"a float in \(0, "),
        ("num_communities", 0, "an int in"),
        ("in_out_ratio", 0.5, "a float >= 1"),
        ("random_state", -1, "an int >= 0, a numpy.random.Generator or None"),
    ],
)
def test_invalid_arguments_are_named(param, value, expected):
    with pytest.raises(InputError, match=f"The '{param}' parameter of make_powerlaw must be {expected}"):
        make_powerlaw(**{"num_nodes": 100, param: value})


@pytest.mark.slow
def test_maskgae_beats_the_heuristics_on_a_power_law_graph():
    """Featureless MaskGAE (learned embeddings) against PA, Adamic–Adar and CN on one split."""
    graph = make_powerlaw(num_nodes=1000, avg_degree=6.0, exponent=2.3, random_state=0)
    scores = {}
    for name in ("preferential_attachment", "adamic_adar", "common_neighbors"):
        scores[name] = run_link_prediction(graph, make_estimator(name), seed=0, ranking_negatives=0).test_auc
    maskgae = make_estimator(
        "maskgae", use_features=False, epochs=200, select_best=True, eval_every=10, device="cpu", threads=1
    )
    scores["maskgae"] = run_link_prediction(graph, maskgae, seed=0, ranking_negatives=0).test_auc
    best_heuristic = max(v for k, v in scores.items() if k != "maskgae")
    # Seen: MaskGAE 75.6, preferential attachment 73.5, Adamic–Adar 67.3, CN 67.2.
    assert scores["maskgae"] > best_heuristic + 0.01, scores
