"""The contract every registered model meets: the suite runs over the whole registry.

The shared checks (scikit-learn parameters, fit, scores, save/load, determinism, clone)
run for every model; those of embeddings, decoders and resuming only for learned models
(the heuristics have no embedding and nothing to resume).
"""

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

from graphae import get_model, load, model_names
from graphae.data import make_communities
from graphae.errors import InputError
from graphae.experiment import make_estimator

NAMES = model_names()
LEARNED = [name for name in NAMES if get_model(name).learned]
HEURISTICS = [name for name in NAMES if not get_model(name).learned]
FAST = {"epochs": 12, "random_state": 0, "device": "cpu", "threads": 1}


def declared(name, params):
    """The entries of ``params`` that model ``name`` takes."""
    names = get_model(name).estimator._get_param_names()
    return {k: v for k, v in params.items() if k in names}


def fast(name, **params):
    """A quick estimator of model ``name``."""
    return make_estimator(name, **{**declared(name, FAST), **params})


@pytest.fixture(scope="module")
def graph():
    g = make_communities(num_nodes=120, num_communities=3, random_state=0)
    return g.replace(node_ids=np.array([f"n{i}" for i in range(g.num_nodes)], dtype=object))


@pytest.fixture(scope="module")
def fits(graph):
    """A fitted estimator per model name, fitted once for the module."""
    cache = {}

    def get(name):
        if name not in cache:
            est = fast(name)
            assert est.fit(graph) is est
            cache[name] = est
        return cache[name]

    return get


@pytest.fixture(params=NAMES)
def fitted(request, fits):
    return fits(request.param)


@pytest.fixture(params=LEARNED)
def fitted_learned(request, fits):
    return fits(request.param)


def test_the_registry_lists_the_paper_models_and_the_heuristics():
    assert NAMES[:2] == ["gae", "vgae"]
    assert LEARNED[:2] == ["gae", "vgae"]
    assert set(HEURISTICS) >= {
        "common_neighbors",
        "adamic_adar",
        "resource_allocation",
        "preferential_attachment",
        "katz",
    }


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
    est = make_estimator(name, **declared(name, {"epochs": 7}))
    params = est.get_params()
    assert type(est)(**params).get_params() == params
    copy = clone(est)
    assert type(copy) is type(est) and copy.get_params() == params
    assert est.set_params(random_state=5) is est and est.random_state == 5
    if "lr" in params:
        assert est.set_params(lr=0.1) is est and est.lr == 0.1
    with pytest.raises(ValueError, match="Invalid parameter 'foo'"):
        est.set_params(foo=1)


# Every public method used after fitting, with arguments that would be valid after it.
_AFTER_FIT = {
    "transform": (),
    "predict_proba": ([("a", "b")],),
    "decision_function": ([("a", "b")],),
    "pair_logits": (np.array([[0], [1]]),),
    "pair_scores": (np.array([[0], [1]]),),  # heuristics only
    "recommend": ("a",),
    "embed_new_nodes": ([("new", "a")],),
    "recommend_new_nodes": ("new", [("new", "a")]),
    "id_index": (),
    "topk_index": (),
    "recommend_index": (),
    "known_adjacency": (),
    "set_known_edges": (make_communities(num_nodes=40, num_communities=2, random_state=0),),
    "save": None,  # a folder
}


@pytest.mark.parametrize(
    ("name", "method"),
    [(name, m) for name in NAMES for m in _AFTER_FIT if hasattr(get_model(name).estimator, m)],
)
def test_not_fitted_error_is_scikit_learns(name, method, tmp_path):
    est = make_estimator(name)
    args = _AFTER_FIT[method]
    with pytest.raises(NotFittedError, match=f"This {type(est).__name__} instance is not fitted yet"):
        getattr(est, method)(*((tmp_path / "model",) if args is None else args))
    assert not (tmp_path / "model").exists()


def test_the_not_fitted_cases_cover_every_public_method_used_after_fitting():
    # fit and what it calls (the hooks a model provides), and what needs no fit.
    before_fit = {"fit", "fit_transform", "build_module", "build_objective", "loss_for"}
    before_fit |= {"get_params", "set_params", "load", "get_metadata_routing"}
    for name in NAMES:
        cls = get_model(name).estimator
        public = {m for m in dir(cls) if not m.startswith(("_", "set_")) and callable(getattr(cls, m))}
        assert public - before_fit <= set(_AFTER_FIT), name


@pytest.mark.parametrize("name", HEURISTICS)
def test_a_heuristic_has_no_embedding(name, fits):
    est = fits(name)
    with pytest.raises(InputError, match=r"is a link-prediction heuristic: it scores node pairs and has no"):
        est.transform()
    assert not hasattr(est, "embedding_")


# (param, bad value, expected): checked for every model that takes the parameter.
INVALID = [
    ("epochs", 0, "an int >= 1"),
    ("hidden_channels", 2.5, "an int >= 1"),
    ("lr", -1, "a float > 0"),
    ("lr", float("inf"), "a float > 0"),
    ("threads", 0, "None or an int >= 1"),
    ("random_state", "seed", r"None or an int in \[0, 4294967295\]"),
    ("random_state", -1, r"None or an int in \[0, 4294967295\]"),
    ("patience", 0, "None or an int >= 1"),
    ("beta", 0, "a float > 0"),
    ("beta", float("nan"), "a float > 0"),
    ("max_length", 0, "an int >= 1"),
]


@pytest.mark.parametrize(
    ("name", "param", "value", "expected"),
    [(name, *case) for name in NAMES for case in INVALID if declared(name, {case[0]: None})],
)
def test_invalid_params_are_named(name, graph, param, value, expected):
    est = fast(name, **{param: value})
    cls = type(est).__name__
    with pytest.raises(ValueError, match=f"The '{param}' parameter of {cls} must be {expected}. Got"):
        est.fit(graph)


@pytest.mark.parametrize("name", NAMES)
def test_numpy_parameter_values_are_accepted(name, graph):
    numpy_values = {"epochs": np.int64(3), "lr": np.float32(0.01), "random_state": np.int64(1)}
    numpy_values.update(beta=np.float32(0.01), max_length=np.int64(3), device="cpu")
    est = make_estimator(name, **declared(name, numpy_values)).fit(graph)
    assert est.pair_logits(np.array([[0, 1], [2, 3]])).shape == (2,)


def test_fit_sets_state(fitted, graph):
    assert list(fitted.node_ids_) == list(graph.node_ids)
    assert fitted.graph_ is graph
    assert fitted.train_seconds_ >= 0
    assert isinstance(fitted.history_, list)


def test_scores_have_the_documented_shapes(fitted):
    index = np.array([[0, 5, 7], [5, 0, 3]])
    logits = fitted.pair_logits(index)
    assert logits.shape == (3,) and not np.isnan(logits).any()
    pairs = [("n0", "n5"), ("n5", "n0"), ("n7", "n3")]
    assert fitted.decision_function(pairs).shape == (3,)
    probs = fitted.predict_proba(pairs)
    assert probs.shape == (3,) and np.all((probs >= 0) & (probs <= 1))
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-logits.astype(np.float64))), rtol=1e-6)
    recs = fitted.recommend("n3", k=4)
    assert len(recs) == 4 and "n3" not in [node for node, _ in recs]
    assert [p for _, p in recs] == sorted((p for _, p in recs), reverse=True)
    assert len(fitted.recommend(["n3", "n4"], k=2)) == 2


def test_fit_sets_learned_state(fitted_learned, graph):
    fitted = fitted_learned
    n = graph.num_nodes
    assert fitted.embedding_.shape == (n, fitted.out_channels)
    assert fitted.embedding_.dtype == np.float32 and np.isfinite(fitted.embedding_).all()
    assert len(fitted.history_) == FAST["epochs"]
    assert fitted.transform() is fitted.embedding_
    assert list(fitted.node_ids_) == list(graph.node_ids)
    assert fitted.train_seconds_ > 0
    np.testing.assert_allclose(fitted.transform(graph), fitted.embedding_, rtol=1e-5, atol=1e-5)


def test_scores_go_through_the_decoder(fitted_learned):
    fitted = fitted_learned
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
    a = fast(name).fit(graph)
    b = fast(name).fit(graph)
    index = np.array([[0, 5, 7, 9], [5, 0, 3, 9]])
    np.testing.assert_array_equal(a.pair_logits(index), b.pair_logits(index))
    if get_model(name).learned:
        np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert a.history_ == b.history_


def test_save_load_round_trip(fitted, graph, tmp_path):
    fitted.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert type(again) is type(fitted) and again.get_params() == fitted.get_params()
    assert list(again.node_ids_) == list(fitted.node_ids_)
    assert again.history_ == fitted.history_
    pairs = [("n0", "n9"), ("n9", "n0"), ("n3", "n4")]
    np.testing.assert_array_equal(again.predict_proba(pairs), fitted.predict_proba(pairs))
    np.testing.assert_array_equal(again.decision_function(pairs), fitted.decision_function(pairs))
    assert again.recommend("n3", k=4) == fitted.recommend("n3", k=4)
    if fitted.learned:
        np.testing.assert_array_equal(again.embedding_, fitted.embedding_)
        np.testing.assert_allclose(again.transform(graph), fitted.embedding_, rtol=1e-5, atol=1e-5)


class _Crash(Exception):
    """Stands for a process killed during training."""


@pytest.mark.parametrize("name", LEARNED)
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
