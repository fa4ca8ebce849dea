"""The contract every registered model meets: the suite runs over the whole registry."""

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from graphae import load, model_names
from graphae.data import make_communities
from graphae.experiment import make_estimator

NAMES = model_names()
FAST = {"epochs": 12, "random_state": 0, "device": "cpu", "threads": 1}


@pytest.fixture(scope="module")
def graph():
    g = make_communities(num_nodes=120, num_communities=3, random_state=0)
    return g.replace(node_ids=np.array([f"n{i}" for i in range(g.num_nodes)], dtype=object))


@pytest.fixture(scope="module", params=NAMES)
def fitted(request, graph):
    est = make_estimator(request.param, **FAST)
    assert est.fit(graph) is est
    return est


def test_the_registry_lists_the_paper_models():
    assert NAMES[:2] == ["gae", "vgae"]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    "check",
    [
        check_get_params_invariance,
        check_set_params,
        check_no_attributes_set_in_init,
        check_parameters_default_constructible,
    ],
    ids=lambda c: c.__name__,
)
def test_scikit_learn_parameter_checks(name, check):
    est = make_estimator(name)
    check(type(est).__name__, est)


@pytest.mark.parametrize("name", NAMES)
def test_clone_and_params_round_trip(name):
    est = make_estimator(name, epochs=7)
    params = est.get_params()
    assert type(est)(**params).get_params() == params
    copy = clone(est)
    assert type(copy) is type(est) and copy.get_params() == params
    assert est.set_params(lr=0.1) is est and est.lr == 0.1
    with pytest.raises(ValueError, match="Invalid parameter 'foo'"):
        est.set_params(foo=1)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("method", ["transform", "predict_proba", "recommend", "save"])
def test_not_fitted_error_is_scikit_learns(name, method, tmp_path):
    est = make_estimator(name)
    args = {"transform": (), "predict_proba": ([("a", "b")],), "recommend": ("a",), "save": (tmp_path,)}
    with pytest.raises(NotFittedError, match=f"This {type(est).__name__} instance is not fitted yet"):
        getattr(est, method)(*args[method])


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [
        ("epochs", 0, "an int >= 1"),
        ("hidden_channels", 2.5, "an int >= 1"),
        ("lr", -1, "a float > 0"),
        ("lr", float("inf"), "a float > 0"),
        ("threads", 0, "None or an int >= 1"),
        ("random_state", "seed", r"None or an int in \[0, 4294967295\]"),
        ("random_state", -1, r"None or an int in \[0, 4294967295\]"),
        ("patience", 0, "None or an int >= 1"),
    ],
)
def test_invalid_params_are_named(name, graph, param, value, expected):
    est = make_estimator(name, **{**FAST, param: value})
    cls = type(est).__name__
    with pytest.raises(ValueError, match=f"The '{param}' parameter of {cls} must be {expected}. Got"):
        est.fit(graph)


@pytest.mark.parametrize("name", NAMES)
def test_numpy_parameter_values_are_accepted(name, graph):
    est = make_estimator(
        name, epochs=np.int64(3), lr=np.float32(0.01), random_state=np.int64(1), device="cpu"
    )
    assert est.fit(graph).embedding_.shape[0] == graph.num_nodes


def test_fit_sets_learned_state(fitted, graph):
    n = graph.num_nodes
    assert fitted.embedding_.shape == (n, fitted.out_channels)
    assert fitted.embedding_.dtype == np.float32 and np.isfinite(fitted.embedding_).all()
    assert len(fitted.history_) == FAST["epochs"]
    assert fitted.transform() is fitted.embedding_
    assert list(fitted.node_ids_) == list(graph.node_ids)
    assert fitted.train_seconds_ > 0
    np.testing.assert_allclose(fitted.transform(graph), fitted.embedding_, rtol=1e-5, atol=1e-5)


def test_scores_go_through_the_decoder(fitted):
    index = np.array([[0, 5, 7], [5, 0, 3]])
    with torch.no_grad():
        expected = fitted.module_.decoder(
            torch.from_numpy(fitted.embedding_), torch.from_numpy(index)
        ).numpy()
    np.testing.assert_allclose(fitted.pair_logits(index), expected, rtol=1e-6)
    probs = fitted.predict_proba([("n0", "n5"), ("n5", "n0"), ("n7", "n3")])
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-expected.astype(np.float64))), rtol=1e-6)
    recs = fitted.recommend("n3", k=4)
    assert len(recs) == 4 and "n3" not in [node for node, _ in recs]
    assert [p for _, p in recs] == sorted((p for _, p in recs), reverse=True)


@pytest.mark.parametrize("name", NAMES)
def test_fit_is_deterministic(name, graph):
    a = make_estimator(name, **FAST).fit(graph)
    b = make_estimator(name, **FAST).fit(graph)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert a.history_ == b.history_


def test_save_load_round_trip(fitted, graph, tmp_path):
    fitted.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert type(again) is type(fitted) and again.get_params() == fitted.get_params()
    np.testing.assert_array_equal(again.embedding_, fitted.embedding_)
    assert list(again.node_ids_) == list(fitted.node_ids_)
    assert again.history_ == fitted.history_
    pairs = [("n0", "n9"), ("n9", "n0")]
    np.testing.assert_array_equal(again.predict_proba(pairs), fitted.predict_proba(pairs))
    assert again.recommend("n3", k=4) == fitted.recommend("n3", k=4)
    np.testing.assert_allclose(again.transform(graph), fitted.embedding_, rtol=1e-5, atol=1e-5)


class _Crash(Exception):
    """Stands for a process killed during training."""


@pytest.mark.parametrize("name", NAMES)
def test_an_interrupted_fit_resumes_to_the_same_result(name, graph, tmp_path):
    uninterrupted = make_estimator(name, **FAST).fit(graph)
    ckpt = tmp_path / "fit.ckpt"

    def crash(record):
        if record["epoch"] == 8:
            raise _Crash

    with pytest.raises(_Crash):
        make_estimator(name, **FAST).fit(graph, callback=crash, checkpoint=ckpt, checkpoint_every=3)
    assert ckpt.is_file()  # written at epoch 6
    resumed = make_estimator(name, **FAST).fit(graph, checkpoint=ckpt, checkpoint_every=3, resume=True)
    np.testing.assert_array_equal(resumed.embedding_, uninterrupted.embedding_)
    assert resumed.history_ == uninterrupted.history_
    assert not ckpt.exists()  # a completed fit removes its checkpoint
