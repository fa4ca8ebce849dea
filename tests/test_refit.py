"""A failed fit or refit leaves the estimator as it was: never a mix of two fits."""

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from graphae import GAE, load
from graphae.data import make_communities
from graphae.errors import InputError, NonFiniteLossError
from graphae.models.heuristics import AdamicAdar
from graphae.models.maskgae import MaskGAE

FITTED = ["module_", "embedding_", "graph_", "history_", "loss_", "best_epoch_", "train_seconds_"]
FITTED += ["node_ids_", "features_used_", "in_channels_"]


@pytest.fixture(scope="module")
def featured():
    return make_communities(num_nodes=60, num_communities=2, num_features=8, random_state=0)


@pytest.fixture(scope="module")
def featureless():
    return make_communities(num_nodes=50, num_communities=2, num_features=8, random_state=1).replace(x=None)


def test_a_failed_refit_keeps_the_previous_fit_whole(featured, featureless, tmp_path):
    est = GAE(epochs=3, random_state=0, device="cpu").fit(featured)
    before = {name: getattr(est, name) for name in FITTED}
    assert before["in_channels_"] == 8 and before["features_used_"]
    with pytest.raises(NonFiniteLossError, match="Training diverged"):
        est.set_params(lr=1e30).fit(featureless)  # 50 identity input channels, then divergence
    for name in FITTED:
        assert getattr(est, name) is before[name], name
    est.set_params(lr=0.01)
    np.testing.assert_array_equal(est.transform(featured), est.embedding_)  # the old module, 8 inputs
    est.save(tmp_path / "m")
    np.testing.assert_array_equal(load(tmp_path / "m").embedding_, before["embedding_"])


def test_a_failed_first_fit_leaves_the_estimator_unfitted(featureless):
    est = GAE(epochs=3, lr=1e30, random_state=0, device="cpu")
    with pytest.raises(NonFiniteLossError):
        est.fit(featureless)
    assert [name for name in FITTED if hasattr(est, name)] == []
    with pytest.raises(NotFittedError):
        est.transform()


def test_a_heuristics_failed_refit_keeps_the_graph_it_scores_on(featured, featureless):
    est = AdamicAdar().fit(featured)
    adjacency, graph = est.adjacency_, est.graph_
    scores = est.pair_scores(np.array([[0, 1], [2, 3]]))
    bad = np.zeros((3, 2), dtype=np.int64)
    with pytest.raises(InputError, match=r"index_pairs must have shape \[2, k\]"):
        est.fit(featureless, val_pairs=(bad, bad))
    assert est.adjacency_ is adjacency and est.graph_ is graph
    np.testing.assert_array_equal(est.pair_scores(np.array([[0, 1], [2, 3]])), scores)


def test_loss_is_the_loss_that_ran_for_a_model_of_its_own_objective(featured):
    est = MaskGAE(loss="auto", epochs=1, random_state=0, device="cpu")  # "auto" is "sampled" for MaskGAE
    assert est.fit(featured).loss_ == "sampled"
