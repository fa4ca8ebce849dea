"""loss="auto": the exact loss up to AUTO_EXACT_MAX_NODES nodes, the sampled one above; the warning."""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from graphae import GAE, VGAE, load
from graphae.cli import main
from graphae.data import make_communities
from graphae.errors import SlowTrainingWarning
from graphae.nn import GCNEncoder, GraphAutoencoder
from graphae.nn.decoders import Decoder
from graphae.registry import get_model, model_names
from graphae.training import AUTO_EXACT_MAX_NODES, objectives, resolve_loss

FAST = {"epochs": 4, "random_state": 0, "device": "cpu"}


@pytest.fixture(scope="module")
def graph():
    return make_communities(num_nodes=200, num_communities=4, num_features=40, random_state=0)


@pytest.fixture
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> int:
    """Make a 200-node graph count as large."""
    monkeypatch.setattr(objectives, "AUTO_EXACT_MAX_NODES", 100)
    return 100


@pytest.mark.parametrize(
    ("loss", "num_nodes", "has_exact_loss", "expected"),
    [
        ("auto", 2708, True, "exact"),
        ("auto", 19717, True, "exact"),
        ("auto", AUTO_EXACT_MAX_NODES, True, "exact"),
        ("auto", AUTO_EXACT_MAX_NODES + 1, True, "sampled"),
        ("auto", 100, False, "sampled"),
        ("exact", 10**7, True, "exact"),
        ("sampled", 10, True, "sampled"),
        ("fastgae", 10**6, True, "fastgae"),
    ],
)
def test_resolve_loss(loss: str, num_nodes: int, has_exact_loss: bool, expected: str) -> None:
    assert resolve_loss(loss, num_nodes, has_exact_loss) == expected


def test_the_papers_data_sets_stay_on_the_exact_loss() -> None:
    assert AUTO_EXACT_MAX_NODES >= 19717  # Pubmed, the largest graph of the papers


# MaskGAE and the refined GAE have no exact loss at all: their default is the sampled loss, which "auto"
# would pick too.
SAMPLED_ONLY = {"maskgae", "refined_gae"}


@pytest.mark.parametrize("name", sorted(SAMPLED_ONLY))
def test_models_without_an_exact_loss_default_to_the_sampled_one(name: str) -> None:
    est = get_model(name).estimator()
    assert est.loss == "sampled"
    assert {est.loss_for(n) for n in (2708, 19717, 10**6)} == {"sampled"}
    assert est.set_params(loss="auto").loss_for(2708) == "sampled"


@pytest.mark.parametrize("name", [n for n in model_names() if get_model(n).learned and n not in SAMPLED_ONLY])
def test_every_learned_model_defaults_to_auto_which_is_exact_on_the_standard_data_sets(name: str) -> None:
    est = get_model(name).estimator()
    assert est.loss == "auto"
    # Cora, Citeseer, Pubmed: what ran before "auto" (every built-in decoder has an exact loss).
    assert {est.loss_for(n) for n in (2708, 3327, 19717)} == {"exact"}
    assert est.loss_for(AUTO_EXACT_MAX_NODES + 1) == "sampled"


@pytest.mark.parametrize("cls", [GAE, VGAE])
def test_auto_runs_exactly_the_exact_loss_on_a_small_graph(graph, cls) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SlowTrainingWarning)
        auto = cls(**FAST).fit(graph)
    exact = cls(loss="exact", **FAST).fit(graph)
    assert auto.loss_ == exact.loss_ == "exact"
    np.testing.assert_array_equal(auto.embedding_, exact.embedding_)
    assert [r["loss"] for r in auto.history_] == [r["loss"] for r in exact.history_]


def test_auto_runs_exactly_the_sampled_loss_above_the_threshold(graph, small_threshold) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SlowTrainingWarning)
        auto = GAE(**FAST).fit(graph)
    sampled = GAE(loss="sampled", **FAST).fit(graph)
    assert auto.loss_ == "sampled" and auto.loss_for(graph.num_nodes) == "sampled"
    np.testing.assert_array_equal(auto.embedding_, sampled.embedding_)


def test_an_explicit_exact_loss_on_a_large_graph_warns_with_the_time_per_epoch(
    graph, small_threshold
) -> None:
    with pytest.warns(
        SlowTrainingWarning, match=r"'loss' parameter of GAE is 'exact' on a graph of 200 nodes"
    ):
        est = GAE(loss="exact", **FAST).fit(graph)
    assert est.loss_ == "exact"


@pytest.mark.parametrize(
    ("num_nodes", "estimate"),
    # N^2 / 3e8 pairs per second: 3,333 s and 13,333 s.
    [
        (1_000_000, r"N\^2 = 1\.0e\+12 pairs every epoch, about 55\.6 min per epoch"),
        (2_000_000, r"about 3\.7 h per"),
    ],
)
def test_the_warning_estimates_the_time_per_epoch(num_nodes: int, estimate: str) -> None:
    with pytest.warns(SlowTrainingWarning, match=estimate):
        objectives.warn_if_slow("exact", num_nodes, "GAE")


def test_no_warning_for_other_losses_or_at_the_threshold() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", SlowTrainingWarning)
        for loss in ("auto", "sampled", "fastgae"):
            objectives.warn_if_slow(loss, 1_000_000, "GAE")
        objectives.warn_if_slow("exact", AUTO_EXACT_MAX_NODES, "GAE")


class _NoExactDecoder(Decoder):
    def forward(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        return (z.index_select(0, pairs[0]) * z.index_select(0, pairs[1])).sum(-1)


class _NoExactGAE(GAE):
    def build_module(self, in_channels, generator=None):
        return GraphAutoencoder(GCNEncoder(in_channels, 8, 4, generator), _NoExactDecoder())


def test_auto_uses_the_sampled_loss_for_a_decoder_without_an_exact_loss(graph) -> None:
    est = _NoExactGAE(**FAST).fit(graph)
    assert est.loss_ == "sampled" and est.loss_for(10) == "sampled"
    with pytest.raises(ValueError, match="has no exact all-pairs loss; use loss='sampled'"):
        _NoExactGAE(loss="exact", **FAST).fit(graph)


def test_the_loss_that_ran_survives_save_and_load(graph, small_threshold, tmp_path: Path) -> None:
    est = GAE(**FAST).fit(graph)
    est.save(tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert loaded.loss == "auto" and loaded.loss_ == "sampled"


def test_cli_records_the_loss_that_ran(small_threshold, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--device", "cpu", "--out", str(out)]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["loss"] == "sampled"
    assert "sampled loss (auto)" in capsys.readouterr().err


def test_cli_shows_the_warning_as_a_notice(small_threshold, capsys) -> None:
    assert main(["train", "--epochs", "1", "--device", "cpu", "--loss", "exact", "--quiet"]) == 0
    err = capsys.readouterr().err
    notices = [line for line in err.splitlines() if line.startswith("graphae: notice: ")]
    assert len(notices) == 1 and "is 'exact' on a graph of" in notices[0] and "per epoch" in notices[0]
    assert "Traceback" not in err


def test_auto_is_the_sampled_loss_on_several_processes(monkeypatch):
    from graphae.training.objectives import resolve_loss

    # The exact loss is not split between processes; "auto" picks the one that is.
    assert resolve_loss("auto", 2708, True, world_size=2) == "sampled"
    assert resolve_loss("auto", 2708, True, world_size=1) == "exact"
    assert resolve_loss("exact", 2708, True, world_size=2) == "exact"  # refused later, by name
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert GAE().loss_for(2708) == "sampled"  # what the CLI logs before the group starts
