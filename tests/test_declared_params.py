"""A model's parameters are declared once (``params``, graphae.params.Declared) and it carries only those it reads."""

from __future__ import annotations

import inspect
import json
import sys

import numpy as np
import pytest
from sklearn.base import clone

from graphae import GraphAutoencoderEstimator, load, runfolder
from graphae.data import make_communities
from graphae.modelnames import BUILTIN, class_of
from graphae.models.linear import LinearGAE
from graphae.params import NOT_USED, Declared, Integer, Param, PositiveFloat

SMALL = {"epochs": 1, "hidden_channels": 8, "out_channels": 8, "device": "cpu", "random_state": 0}
# Accepted so that every run seeds its model alike; the heuristics' scores draw nothing.
UNREAD = {"random_state"}


def _reads(cls: type, graphs: list) -> set[str]:
    """The parameters ``cls`` reads while fitting each graph and scoring a pair (get_params aside)."""
    seen: set[str] = set()
    quiet: list[int] = []

    class Traced(cls):  # type: ignore[misc, valid-type]
        def __getattribute__(self, key: str):
            # graphae.sizing estimates memory from any model's widths (getattr with a default): no use.
            caller = sys._getframe(1).f_globals.get("__name__")
            if not quiet and key in type(self).declared and caller != "graphae.sizing":
                seen.add(key)
            return object.__getattribute__(self, key)

        def get_params(self, deep: bool = True):
            quiet.append(1)  # get_params (repr, validation) reads every parameter: no evidence of use
            try:
                return super().get_params(deep)
            finally:
                quiet.pop()

    Traced.__name__ = cls.__name__
    for graph in graphs:
        est = Traced(**{k: v for k, v in SMALL.items() if k in cls.declared})
        est.fit(graph).predict_proba([(0, 1)])
    return seen


@pytest.mark.parametrize("name", list(BUILTIN))
def test_a_model_reads_every_parameter_it_carries(name):
    """LinearGAE once carried hidden_channels, MaskGAE and RefinedGAE fastgae_*: parameters nothing read."""
    cls = class_of(name)
    featured = make_communities(num_nodes=40, num_communities=2, num_features=8, random_state=0)
    graphs = [featured, featured.replace(x=None)] if cls.learned else [featured]
    unread = set(cls.declared) - _reads(cls, graphs) - (UNREAD if not cls.learned else set())
    assert not unread, f"{name} carries parameters it never reads: {sorted(unread)}"


@pytest.mark.parametrize("name", list(BUILTIN))
def test_no_model_writes_an_init_or_restates_a_base_parameter(name):
    cls = class_of(name)
    generated = GraphAutoencoderEstimator.__init__.__code__
    for klass in cls.__mro__:
        if issubclass(klass, Declared) and klass is not Declared and "__init__" in klass.__dict__:
            assert klass.__init__.__code__ is generated, f"{klass.__name__} writes its own __init__"
        base = next((b for b in klass.__mro__[1:] if issubclass(b, Declared)), None)
        for key, value in klass.__dict__.get("params", {}).items():
            before = base.declared.get(key) if base is not None else None
            if before is None or value is NOT_USED:
                continue
            same = value == before if isinstance(value, Param) else value == before.default
            assert not same, f"{klass.__name__}.params restates {key!r} of {base.__name__}"


def test_the_init_is_built_from_the_declarations():
    class Base(Declared):
        params = {"lr": Param(0.01, PositiveFloat()), "width": Param(32, Integer(1))}

    class Narrow(Base):
        params = {"beta": Param(0.5), "lr": 0.1, "width": NOT_USED}

    assert str(inspect.signature(Narrow)) == "(*, beta=0.5, lr=0.1)"
    assert Narrow(beta=2).__dict__ == {"beta": 2, "lr": 0.1}
    assert Narrow._parameter_constraints == {"lr": Base.declared["lr"].constraint}
    assert Narrow.not_used == {"width"}
    with pytest.raises(TypeError, match="unexpected keyword argument 'width'"):
        Narrow(width=3)
    with pytest.raises(TypeError, match=r"'depth' is new, so it needs a Param"):
        type("Bad", (Base,), {"params": {"depth": 3}})
    with pytest.raises(TypeError, match=r"'depth' is NOT_USED but no base class declares it"):
        type("Bad", (Base,), {"params": {"depth": NOT_USED}})


def test_scikit_learn_reads_the_declared_parameters():
    est = LinearGAE(epochs=3, lr=0.05)
    assert "hidden_channels" not in est.get_params() and est.get_params()["epochs"] == 3
    assert clone(est).get_params() == est.get_params()
    assert repr(est) == "LinearGAE(epochs=3, lr=0.05)"
    with pytest.raises(ValueError, match="Invalid parameter 'hidden_channels'"):
        est.set_params(hidden_channels=64)


def test_a_folder_saved_with_a_parameter_the_model_no_longer_carries_loads(tmp_path):
    """graphae <= this change saved LinearGAE's unused hidden_channels; such folders still load."""
    graph = make_communities(num_nodes=40, num_communities=2, num_features=8, random_state=0)
    fitted = LinearGAE(epochs=2, device="cpu", random_state=0).fit(graph)
    fitted.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / runfolder.METADATA).read_text())
    meta["params"]["hidden_channels"] = 32
    runfolder.write_metadata(tmp_path / "m", meta)
    again = load(tmp_path / "m")
    assert "hidden_channels" not in again.get_params()
    np.testing.assert_array_equal(again.embedding_, fitted.embedding_)
