"""Estimator parameters as numpy scalars, plain numbers in messages, and runs that diverge."""

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid

import graphae.estimator
from graphae import GAE, VGAE, load
from graphae.data import make_communities
from graphae.errors import NonFiniteLossError, ParameterError
from graphae.graph import Graph


@pytest.fixture(scope="module")
def graph() -> Graph:
    return make_communities(num_nodes=40, num_communities=2, random_state=0)


def test_a_parameter_grid_of_numpy_values_fits_saves_and_loads(tmp_path: Path, graph: Graph) -> None:
    grid = ParameterGrid(
        {
            "lr": np.array([0.01, 0.005], dtype=np.float32),
            "hidden_channels": np.array([8], dtype=np.int64),
            "out_channels": np.array([4], dtype=np.int32),
            "epochs": np.array([2], dtype=np.int64),
            "select_best": np.array([False]),
        }
    )
    for i, params in enumerate(grid):
        assert isinstance(params["lr"], np.float32) and isinstance(params["epochs"], np.int64)
        est = clone(VGAE(device="cpu", random_state=np.int64(i), **params)).fit(graph)
        assert est.embedding_.shape == (40, 4)
        est.save(tmp_path / str(i))
        saved = json.loads((tmp_path / str(i) / "metadata.json").read_text())["params"]
        assert type(saved["epochs"]) is int and type(saved["lr"]) is float  # plain JSON numbers
        assert saved["lr"] == pytest.approx(float(params["lr"]))
        np.testing.assert_array_equal(load(tmp_path / str(i)).embedding_, est.embedding_)


@pytest.mark.parametrize(
    ("param", "value", "shown"),
    [
        ("lr", np.float64(-1.0), "Got -1.0."),
        ("lr", np.float32(np.inf), "Got inf."),
        ("epochs", np.int64(0), "Got 0."),
        ("hidden_channels", np.float32(3.0), "Got 3.0."),
        ("random_state", np.int64(-1), "Got -1."),
        ("select_best", np.int64(1), "Got 1."),
    ],
)
def test_messages_show_numpy_values_as_plain_numbers(graph: Graph, param: str, value, shown: str) -> None:
    with pytest.raises(ParameterError, match=rf"The '{param}' parameter of GAE must be .*\. {shown}$") as err:
        GAE(**{param: value}).fit(graph)
    assert "np." not in str(err.value) and "float64(" not in str(err.value)


def test_a_diverging_run_is_an_error(graph: Graph) -> None:
    with pytest.raises(NonFiniteLossError, match=r"Training diverged at epoch \d+: the loss is (nan|inf)"):
        GAE(lr=1e30, epochs=20, device="cpu", random_state=0).fit(graph)


def test_non_finite_final_embeddings_are_an_error(graph: Graph, monkeypatch: pytest.MonkeyPatch) -> None:
    # A loss that stays finite while the embedding does not: the check at the end must catch it.
    real = graphae.estimator.embed

    def embed(module, data):
        z = real(module, data).clone()
        z[3, 0] = float("nan")
        return z

    monkeypatch.setattr(graphae.estimator, "embed", embed)
    est = GAE(epochs=2, device="cpu", random_state=0)
    with pytest.raises(NonFiniteLossError, match=r"Training ended with non-finite embeddings"):
        est.fit(graph)
    assert not hasattr(est, "embedding_")  # nothing half-fitted is left to save


def test_an_absurd_model_size_is_refused_before_allocating(graph: Graph) -> None:
    with pytest.raises(
        ValueError, match=r"GAE\(hidden_channels=10000000000, out_channels=16\) on 40 nodes .* needs about"
    ):
        GAE(hidden_channels=np.int64(10**10), device="cpu").fit(graph)
