"""pair_logits: chunked forward and backward, bit for bit the plain formula on the CPU."""

import numpy as np
import pytest
import torch

from graphae import GAE, VGAE
from graphae.data import make_communities
from graphae.nn import functional


def _plain(z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
    return (z.index_select(0, pairs[0]) * z.index_select(0, pairs[1])).sum(-1)


def test_tiny_graph_by_hand() -> None:
    z = torch.tensor([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5]], requires_grad=True)
    pairs = torch.tensor([[0, 1, 2], [1, 2, 0]])
    out = functional.pair_logits(z, pairs)
    assert out.tolist() == [1.0, 1.0, 1.5]
    out.sum().backward()
    # d/dz_i = sum of the partners' codes: z0 <- z1 + z2, z1 <- z0 + z2, z2 <- z1 + z0.
    assert z.grad.tolist() == [[3.5, -0.5], [1.5, 2.5], [4.0, 1.0]]


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 16])
def test_values_and_gradients_equal_the_plain_formula(monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setitem(functional._PAIR_CHUNK, "cpu", chunk)
    gen = torch.Generator().manual_seed(0)
    z0 = torch.randn(50, 16, generator=gen)
    pairs = torch.randint(0, 50, (2, 1001), generator=gen)  # repeated nodes, a partial last chunk
    weights = torch.randn(1001, generator=gen)
    results = []
    for fn in (functional.pair_logits, _plain):
        z = z0.clone().requires_grad_()
        out = fn(z, pairs)
        (out * weights).sum().backward()
        results.append((out.detach(), z.grad))
    assert torch.equal(results[0][0], results[1][0])
    assert torch.equal(results[0][1], results[1][1])


def test_gradcheck(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(functional._PAIR_CHUNK, "cpu", 3)
    z = torch.randn(6, 4, dtype=torch.float64, requires_grad=True, generator=torch.Generator().manual_seed(1))
    pairs = torch.tensor([[0, 1, 2, 3, 5, 5, 0], [1, 2, 3, 0, 4, 5, 0]])
    assert torch.autograd.gradcheck(lambda t: functional.pair_logits(t, pairs), (z,))


def test_empty_pairs() -> None:
    z = torch.randn(4, 3, requires_grad=True, generator=torch.Generator().manual_seed(2))
    out = functional.pair_logits(z, torch.zeros((2, 0), dtype=torch.int64))
    assert out.shape == (0,)
    out.sum().backward()
    assert torch.equal(z.grad, torch.zeros(4, 3))


@pytest.mark.parametrize(("cls", "loss"), [(GAE, "sampled"), (VGAE, "sampled"), (GAE, "exact")])
def test_fits_are_unchanged(monkeypatch: pytest.MonkeyPatch, cls, loss: str) -> None:
    """A whole fit with the chunked scorer equals one with the plain formula, bit for bit."""
    graph = make_communities(num_nodes=300, num_communities=4, num_features=50, random_state=0)
    monkeypatch.setitem(functional._PAIR_CHUNK, "cpu", 100)  # many chunks
    settings = {"loss": loss, "epochs": 5, "random_state": 0, "device": "cpu", "threads": 2}
    chunked = cls(**settings).fit(graph)
    monkeypatch.setattr("graphae.nn.decoders.pair_logits", _plain)
    monkeypatch.setattr("graphae.losses.pair_logits", _plain)
    plain = cls(**settings).fit(graph)
    np.testing.assert_array_equal(chunked.embedding_, plain.embedding_)
    assert [r["loss"] for r in chunked.history_] == [r["loss"] for r in plain.history_]
