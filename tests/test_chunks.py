"""The sampled loss in chunks: the value and gradient of the whole batch, and its choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from graphae import GAE, VGAE
from graphae.data import make_communities
from graphae.errors import ParameterError
from graphae.losses import negative_sampling_loss
from graphae.nn.decoders import InnerProductDecoder
from graphae.nn.mlp_decoder import HadamardMLPDecoder
from graphae.training.chunks import chunked_sampled_loss, resolve_batch_size


class _Replay:
    """A sampler that hands out fixed negatives in order, as many as asked each call."""

    def __init__(self, neg: torch.Tensor) -> None:
        self.neg, self.used = neg, 0

    def sample(self, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
        out = self.neg[:, self.used : self.used + count]
        self.used += count
        return out


def _case(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(50, 8, generator=gen, dtype=torch.float64)
    pos = torch.randint(0, 50, (2, 97), generator=gen)
    neg = torch.randint(0, 50, (2, 97), generator=gen)
    return z, pos, neg


@pytest.mark.parametrize("batch_size", [1, 10, 33, 96])
def test_chunks_give_the_loss_and_gradient_of_the_whole_batch(batch_size: int) -> None:
    z, pos, neg = _case()
    decoder = InnerProductDecoder()
    z_full = z.clone().requires_grad_()
    logits = decoder(z_full, torch.cat([pos, neg], dim=1))
    whole = negative_sampling_loss(*logits.split([97, 97]))
    whole.backward()

    z_chunked = z.clone().requires_grad_()
    seen: list[int] = []
    value = chunked_sampled_loss(decoder, z_chunked, pos, _Replay(neg), batch_size, on_chunk=seen.append)
    (2.0 * value).backward()  # the incoming gradient scales the result

    assert float(value.detach()) == pytest.approx(float(whole.detach()), rel=1e-12)
    torch.testing.assert_close(z_chunked.grad, 2.0 * z_full.grad, rtol=1e-10, atol=1e-12)
    assert sum(seen) == 97 and max(seen) == batch_size


def test_chunks_give_a_decoder_with_parameters_its_gradient() -> None:
    z, pos, neg = _case(1)
    torch.manual_seed(0)
    decoder = HadamardMLPDecoder(8, hidden_channels=16).double()
    logits = decoder(z, torch.cat([pos, neg], dim=1))
    negative_sampling_loss(*logits.split([97, 97])).backward()
    expected = [p.grad.clone() for p in decoder.parameters()]
    decoder.zero_grad(set_to_none=True)

    chunked_sampled_loss(decoder, z, pos, _Replay(neg), 20).backward()

    for got, want in zip((p.grad for p in decoder.parameters()), expected, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-10, atol=1e-12)


def _whole_and_chunked(decoder, batch_size: int = 20) -> tuple[tuple, tuple]:
    """(value, gradient of z) of the whole batch's loss and of the chunked one."""
    z, pos, neg = _case(2)
    z_full = z.clone().requires_grad_()
    whole = negative_sampling_loss(*decoder(z_full, torch.cat([pos, neg], dim=1)).split([97, 97]))
    whole.backward()
    z_chunked = z.clone().requires_grad_()
    chunked = chunked_sampled_loss(decoder, z_chunked, pos, _Replay(neg), batch_size)
    chunked.backward()
    return (float(whole.detach()), z_full.grad), (float(chunked.detach()), z_chunked.grad)


class _Halved(InnerProductDecoder):
    """Logits ``z_i . z_j / 2`` with a closed-form gradient of its own; counts its calls."""

    calls = 0

    def forward(self, z, pairs):
        return super().forward(z, pairs) / 2

    def pair_loss_grad(self, z, pairs, positive, weight, grad):
        type(self).calls += 1
        scale = 0.5**0.5  # z_i . z_j / 2 = (scale z_i) . (scale z_j)
        inner = torch.zeros_like(grad)
        value = super().pair_loss_grad(z * scale, pairs, positive, weight, inner)
        grad.add_(inner, alpha=scale)
        return value


def test_the_chunked_path_takes_the_decoders_own_loss_and_gradient() -> None:
    """chunks.py has no formula of its own: a decoder's closed form is the one used (it once had its own copy)."""
    _Halved.calls = 0
    (whole, whole_grad), (chunked, chunked_grad) = _whole_and_chunked(_Halved())
    assert _Halved.calls == 2 * 5  # edges and negatives of each of the 5 chunks
    assert chunked == pytest.approx(whole, rel=1e-12)
    torch.testing.assert_close(chunked_grad, whole_grad, rtol=1e-10, atol=1e-12)


def test_a_subclass_with_another_forward_alone_gets_autograd_not_the_inner_products_gradient() -> None:
    class Doubled(InnerProductDecoder):
        def forward(self, z, pairs):
            return 2 * super().forward(z, pairs)

    class Same(InnerProductDecoder):
        pass

    assert not Doubled.has_pair_loss_grad and Same.has_pair_loss_grad
    (whole, whole_grad), (chunked, chunked_grad) = _whole_and_chunked(Doubled())
    assert chunked == pytest.approx(whole, rel=1e-12)
    torch.testing.assert_close(chunked_grad, whole_grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("positive", [True, False])
def test_every_closed_form_gradient_is_that_of_its_decoders_forward(positive: bool) -> None:
    """An edit of a decoder's forward that its pair_loss_grad does not follow fails here."""
    import graphae.nn as gnn

    decoders = [cls for cls in vars(gnn).values() if isinstance(cls, type) and issubclass(cls, gnn.Decoder)]
    closed = [cls for cls in decoders if cls.has_pair_loss_grad]
    assert InnerProductDecoder in closed
    z, pos, _ = _case(3)
    for cls in closed:
        decoder = cls()
        z_auto = z.clone().requires_grad_()
        logits = decoder(z_auto, pos)
        expected = 0.3 * torch.nn.functional.softplus(-logits if positive else logits).sum()
        expected.backward()
        grad = torch.zeros_like(z)
        value = decoder.pair_loss_grad(z, pos, positive, 0.3, grad)
        assert float(value) == pytest.approx(float(expected.detach()), rel=1e-12), cls
        torch.testing.assert_close(grad, z_auto.grad, rtol=1e-10, atol=1e-12)


def test_batch_size_auto_chunks_only_large_steps() -> None:
    assert resolve_batch_size("auto", 10_556, 2708) is None
    assert resolve_batch_size("auto", 85_000_000, 10_000_000) == 10_000_000
    assert resolve_batch_size("auto", 9_000_000, 1_000_000) == 1 << 22
    assert resolve_batch_size(None, 10**9, 10**8) is None
    assert resolve_batch_size(500, 400, 100) is None  # a chunk as large as the batch is no chunk
    assert resolve_batch_size(np.int64(100), 400, 100) == 100


@pytest.mark.parametrize("model", [GAE, VGAE])
def test_a_chunked_fit_trains_like_the_whole_batch(model: type) -> None:
    graph = make_communities(num_nodes=120, random_state=0)
    common = {"epochs": 30, "random_state": 0, "device": "cpu", "loss": "sampled"}
    whole = model(**common).fit(graph)
    chunked = model(batch_size=64, **common).fit(graph)
    assert chunked.loss_ == "sampled"
    last_whole, last_chunked = whole.history_[-1]["loss"], chunked.history_[-1]["loss"]
    first = whole.history_[0]["loss"]
    # Other draws of the negatives, the same objective: both descend alike.
    assert last_chunked < 0.8 * first
    assert abs(last_chunked - last_whole) < 0.15 * first


def test_an_int_batch_size_makes_the_auto_loss_sampled() -> None:
    assert GAE(batch_size=1000).loss_for(2708) == "sampled"
    assert GAE().loss_for(2708) == "exact"


@pytest.mark.parametrize("loss", ["exact", "fastgae"])
def test_a_batch_size_with_a_loss_that_is_not_sampled_is_refused(loss: str) -> None:
    graph = make_communities(num_nodes=60, random_state=0)
    with pytest.raises(ParameterError, match="'batch_size' parameter of GAE chunks the sampled loss"):
        GAE(loss=loss, batch_size=100, epochs=1, device="cpu").fit(graph)


@pytest.mark.parametrize("bad", [0, -3, "big", 2.5, True])
def test_bad_batch_sizes_name_the_parameter(bad: object) -> None:
    graph = make_communities(num_nodes=60, random_state=0)
    with pytest.raises(ParameterError, match="batch_size"):
        GAE(batch_size=bad, epochs=1, device="cpu").fit(graph)


def test_progress_counts_edges_with_their_rate_and_the_time_left(monkeypatch, capsys) -> None:
    from graphae.training import progress

    monkeypatch.setattr(progress, "_tqdm", lambda *a, **k: None)  # as without tqdm
    bar = progress.EpochProgress("training", epochs=2, interval=0.0)
    advance = bar.track_edges(3_000_000)
    assert advance is not None
    advance(1_500_000)
    bar({"epoch": 1, "loss": 0.5})
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("training  epoch    1  1.5M/6M edges, ")
    assert "edges/s, " in lines[0] and lines[0].endswith(" left")
    assert lines[1].startswith("training  epoch    1  loss 0.5000  ") and "edges/s" in lines[1]


def test_quiet_progress_does_not_count_edges() -> None:
    from graphae.training import EpochProgress

    assert EpochProgress("training", epochs=2, quiet=True).track_edges(10) is None


def test_a_verbose_chunked_fit_shows_edges_per_second(monkeypatch, capsys) -> None:
    from graphae.training import progress

    monkeypatch.setattr(progress, "_tqdm", lambda *a, **k: None)
    graph = make_communities(num_nodes=120, random_state=0)
    GAE(batch_size=50, epochs=2, verbose=True, random_state=0, device="cpu").fit(graph)
    err = capsys.readouterr().err
    assert f"/{progress._si(2 * graph.num_edges)} edges" in err and "edges/s" in err


def test_durations_read_as_people_write_them() -> None:
    from graphae.training.progress import _duration, _si

    assert [_duration(s) for s in (5, 166, 3 * 3600 + 60 * 7)] == ["5 s", "2 min 46 s", "3 h 7 min"]
    assert [_si(n) for n in (950, 12_600_000, 2.5e9)] == ["950", "12.6M", "2.5G"]


def test_chunks_weigh_several_negatives_per_edge_as_the_whole_batch() -> None:
    z, pos, _ = _case(2)
    neg = torch.randint(0, 50, (2, 3 * 97), generator=torch.Generator().manual_seed(3))
    decoder = InnerProductDecoder()
    z_full = z.clone().requires_grad_()
    logits = decoder(z_full, torch.cat([pos, neg], dim=1))
    whole = negative_sampling_loss(*logits.split([97, 3 * 97]))
    whole.backward()
    z_chunked = z.clone().requires_grad_()
    value = chunked_sampled_loss(decoder, z_chunked, pos, _Replay(neg), 25, num_negatives=3)
    value.backward()
    assert float(value.detach()) == pytest.approx(float(whole.detach()), rel=1e-12)
    torch.testing.assert_close(z_chunked.grad, z_full.grad, rtol=1e-10, atol=1e-12)


def test_maskgae_scores_its_hidden_edges_in_chunks() -> None:
    from graphae.models.maskgae import MaskGAE

    graph = make_communities(num_nodes=120, random_state=0)
    common = {"epochs": 40, "random_state": 0, "device": "cpu", "num_negatives": 2}
    whole = MaskGAE(**common).fit(graph)
    chunked = MaskGAE(batch_size=16, **common).fit(graph)
    first = whole.history_[0]["edge"]
    assert chunked.history_[-1]["edge"] < 0.9 * first
    assert abs(chunked.history_[-1]["edge"] - whole.history_[-1]["edge"]) < 0.2 * first


def test_a_chunked_fit_says_when_it_validates(monkeypatch, capsys) -> None:
    from graphae.split import split_edges
    from graphae.training import progress

    monkeypatch.setattr(progress, "_tqdm", lambda *a, **k: None)
    split = split_edges(make_communities(num_nodes=120, random_state=0), random_state=0)
    val = (split.val_pos, split.val_neg)
    GAE(batch_size=50, epochs=2, verbose=True, random_state=0, device="cpu").fit(split.train, val_pairs=val)
    lines = capsys.readouterr().err.splitlines()
    assert [line for line in lines if line.endswith("validating")] == [
        f"training  epoch    {e}  validating" for e in (1, 2)
    ]
    GAE(epochs=2, verbose=True, random_state=0, device="cpu").fit(split.train, val_pairs=val)
    assert "validating" not in capsys.readouterr().err  # a small graph: its epochs are counted, not its edges
