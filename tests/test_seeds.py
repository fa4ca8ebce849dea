"""The random streams of a fit: one per purpose (initial parameters, sampling) and per rank."""

import numpy as np
import torch

import graphae.estimator
from graphae import VGAE
from graphae.data import make_communities
from graphae.training import distributed


def _first_states(monkeypatch, est):
    """The states of the ``init`` and ``noise`` generators of a fit, before either draws."""
    states = {}
    build, train = type(est).build_module, graphae.estimator.train

    def build_module(self, in_channels, generator=None):
        states["init"] = generator.get_state().clone()  # the last call before training: the fit's
        return build(self, in_channels, generator)

    def recording_train(*args, generator=None, **kwargs):
        states.setdefault("noise", generator.get_state().clone())
        states.setdefault("fit_init", states["init"])
        return train(*args, generator=generator, **kwargs)

    monkeypatch.setattr(type(est), "build_module", build_module)
    monkeypatch.setattr(graphae.estimator, "train", recording_train)
    est.fit(make_communities(num_nodes=60, random_state=0))
    return states["fit_init"], states["noise"]


def test_init_and_noise_streams_of_a_fit_differ(monkeypatch):
    # The weights and the first negatives / VGAE noise must not come from the same bits.
    init, noise = _first_states(monkeypatch, VGAE(epochs=2, random_state=7))
    assert not torch.equal(init, noise)
    a, b = torch.Generator(), torch.Generator()
    a.set_state(init), b.set_state(noise)
    assert not torch.equal(torch.rand(8, generator=a), torch.rand(8, generator=b))


def test_fit_seeds_are_per_purpose_and_per_rank():
    init0, noise0 = distributed.fit_seeds(7, 0)
    init1, noise1 = distributed.fit_seeds(7, 1)
    assert init0 == init1  # initial parameters alike on every rank
    assert len({init0, noise0, noise1}) == 3  # sampling apart from them and from each other rank
    assert distributed.fit_seeds(7, 1) == (init1, noise1)  # reproducible
    assert distributed.fit_seeds(8, 0)[0] != init0
    assert distributed.fit_seeds(None, 3) == (None, None)
    for seed in (*distributed.fit_seeds(0, 0), *distributed.fit_seeds(2**32 - 1, 5)):
        torch.Generator().manual_seed(seed)  # within the range torch takes


def test_same_seed_same_fit():
    g = make_communities(num_nodes=60, random_state=0)
    a = VGAE(epochs=3, random_state=3).fit(g).embedding_
    b = VGAE(epochs=3, random_state=3).fit(g).embedding_
    c = VGAE(epochs=3, random_state=4).fit(g).embedding_
    np.testing.assert_array_equal(a, b)
    assert a.shape == c.shape and not np.array_equal(a, c)
