"""ARGA and ARVGA (Pan et al., 2018): the discriminator, its optimizer, the alternating step, training."""

import numpy as np
import pytest
import torch
from scipy.special import expit

from graphae import load
from graphae.data import make_communities
from graphae.experiment import make_estimator, run_link_prediction
from graphae.models.arga import ARGA, ARVGA
from graphae.models.gae import GAE
from graphae.nn.discriminator import AdversarialGraphAutoencoder, Discriminator
from graphae.training import GraphTensors, adversarial, embed, train
from graphae.training.adversarial import AdversarialObjective, discriminator_loss, generator_loss


@pytest.fixture(scope="module")
def small():
    return make_communities(num_nodes=300, num_communities=3, random_state=0)


@pytest.fixture(scope="module")
def data():
    return GraphTensors.from_graph(make_communities(num_nodes=80, num_communities=2, random_state=1))


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def test_discriminator_shapes_init_and_repr():
    d = Discriminator(16, (64, 32), torch.Generator().manual_seed(0))
    assert repr(d) == "Discriminator(16, hidden=(64, 32))"
    assert [tuple(layer.weight.shape) for layer in d.layers] == [(64, 16), (32, 64), (1, 32)]
    assert all(torch.all(layer.bias == 0) for layer in d.layers)
    assert 0.008 < d.layers[0].weight.std().item() < 0.012  # N(0, 0.01^2), as the reference code
    assert d(torch.randn(7, 16, generator=torch.Generator().manual_seed(1))).shape == (7,)


def test_adversarial_losses_match_hand_values():
    real, fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5])
    expected = -np.mean(np.log(expit(np.array([2.0, -1.0])))) - np.log(1 - expit(0.5))
    assert discriminator_loss(real, fake).item() == pytest.approx(expected, rel=1e-6)
    assert generator_loss(fake).item() == pytest.approx(-np.log(expit(0.5)), rel=1e-6)
    big = torch.tensor([1e4])  # on logits: finite where log(sigmoid) would not be
    assert torch.isfinite(discriminator_loss(-big, big)) and torch.isfinite(generator_loss(-big))


@pytest.mark.parametrize("cls", [ARGA, ARVGA])
def test_the_discriminator_is_part_of_the_module(cls):
    module = cls(out_channels=8, hidden_channels=12).build_module(20, torch.Generator().manual_seed(0))
    assert isinstance(module, AdversarialGraphAutoencoder)
    assert module.variational is (cls is ARVGA)
    assert module.discriminator.in_channels == 8 and module.discriminator.hidden_channels == (64, 12)
    assert any(key.startswith("discriminator.") for key in module.state_dict())


@pytest.mark.parametrize("cls", [ARGA, ARVGA])
def test_each_optimizer_owns_its_parameters_and_every_one_steps(cls, data):
    module = cls(out_channels=8).build_module(data.in_channels, torch.Generator().manual_seed(0))
    objective = AdversarialObjective("exact", lr=0.0005, discriminator_lr=0.001, reconstruction_steps=5)
    objective.setup(module, data)
    opts = objective.configure_optimizers(module)
    assert set(opts) == {"model", "discriminator", "generator"}
    ids = {name: {id(p) for group in opt.param_groups for p in group["params"]} for name, opt in opts.items()}
    disc = {id(p) for p in module.discriminator.parameters()}
    autoencoder = {id(p) for p in module.encoder.parameters()}
    assert ids["discriminator"] == disc
    assert ids["model"] == ids["generator"] == autoencoder
    assert [g["lr"] for g in opts["model"].param_groups] == [0.0005]
    assert [g["lr"] for g in opts["generator"].param_groups] == [0.001]
    before = {k: v.clone() for k, v in module.state_dict().items()}
    logs = objective.step(module, data, opts, torch.Generator().manual_seed(1))
    assert list(logs) == ["loss", "recon", "gen", "disc"]
    assert logs["loss"] == pytest.approx(logs["recon"] + logs["gen"])
    changed = {k for k, v in module.state_dict().items() if not torch.equal(v, before[k])}
    assert changed == set(before)  # encoder and discriminator alike
    steps = {name: [int(s["step"]) for s in opt.state.values()] for name, opt in opts.items()}
    assert (
        set(steps["model"]) == {5} and set(steps["discriminator"]) == {1} and set(steps["generator"]) == {1}
    )
    assert all(p.grad is None for p in module.discriminator.parameters())


def test_the_discriminator_learns_to_tell_codes_from_the_prior(data):
    # With the encoder frozen (no autoencoder steps), the discriminator's loss must fall.
    module = ARGA(out_channels=8).build_module(data.in_channels, torch.Generator().manual_seed(0))
    with torch.no_grad():
        module.encoder.conv2.weight.mul_(30)  # codes far from N(0, I): easy to tell
    objective = AdversarialObjective("exact", discriminator_lr=0.01, reconstruction_steps=1)
    objective.setup(module, data)
    opts = objective.configure_optimizers(module)
    opts["model"].param_groups[0]["lr"] = opts["generator"].param_groups[0]["lr"] = 1e-12
    gen = torch.Generator().manual_seed(0)
    first = objective.step(module, data, opts, gen)["disc"]
    for _ in range(40):
        last = objective.step(module, data, opts, gen)["disc"]
    assert first == pytest.approx(2 * np.log(2), rel=0.05)  # a fresh discriminator is undecided
    assert last < 0.5 * first


def _codes_told_apart(cls, data, generator_loss_used):
    """How surely the discriminator tells the codes from N(0, I) after 60 steps whose
    generator step descends ``generator_loss_used``: the true generator loss of the codes
    under the final discriminator (log 2: undecided; higher: told apart more surely).

    The codes start far from N(0, I) and the reconstruction steps move nothing, so the
    encoder moves only in the generator step (for ARGA, L_G + L_rec; ARVGA, L_G alone).
    """
    module = cls(out_channels=8).build_module(data.in_channels, torch.Generator().manual_seed(0))
    with torch.no_grad():
        (module.encoder.conv2 if cls is ARGA else module.encoder.conv_mu).weight.mul_(30)
    objective = AdversarialObjective("exact", discriminator_lr=0.01, reconstruction_steps=1)
    objective.setup(module, data)
    opts = objective.configure_optimizers(module)
    opts["model"].param_groups[0]["lr"] = 1e-12
    gen = torch.Generator().manual_seed(0)
    real = adversarial.generator_loss
    adversarial.generator_loss = generator_loss_used
    try:
        for _ in range(60):
            objective.step(module, data, opts, gen)
    finally:
        adversarial.generator_loss = real
    with torch.no_grad():  # -log sigmoid(D(z)), written out: not the function under test
        return torch.nn.functional.softplus(-module.discriminator(embed(module, data))).mean().item()


def _no_generator_step(fake_logits):
    return 0.0 * fake_logits.sum()


@pytest.mark.parametrize("cls", [ARGA, ARVGA])
def test_the_generator_step_makes_the_codes_pass_for_the_prior(cls, data):
    trained = _codes_told_apart(cls, data, generator_loss)  # ARGA 3.83, ARVGA 0.63
    without = _codes_told_apart(cls, data, _no_generator_step)  # ARGA 6.35, ARVGA 4.92
    assert trained < 0.75 * without


@pytest.mark.parametrize("cls", [ARGA, ARVGA])
def test_a_sign_error_in_the_generator_loss_is_caught(cls, data):
    """The check above fails when the generator step climbs its loss instead of descending it."""
    without = _codes_told_apart(cls, data, _no_generator_step)
    trained = _codes_told_apart(cls, data, generator_loss)
    broken = _codes_told_apart(cls, data, lambda fake_logits: -generator_loss(fake_logits))
    assert broken > 1.5 * trained  # ARGA 6.85 vs 3.83; ARVGA 3489 vs 0.63
    assert not broken < 0.75 * without


def test_a_model_without_discriminator_is_refused(data):
    module = GAE().build_module(data.in_channels)
    with pytest.raises(ValueError, match="ARGA trains adversarially and needs a model with a discriminator"):
        train(module, data, AdversarialObjective(owner="ARGA"), epochs=1)


def test_defaults_are_the_reference_codes():
    est = ARGA()
    assert (est.hidden_channels, est.out_channels, est.epochs) == (32, 32, 200)
    assert (est.lr, est.discriminator_lr, est.reconstruction_steps) == (0.0005, 0.001, 5)
    # The reference's exact loss: "auto" resolves to it on every graph of the paper.
    assert est.loss == "auto" and est.loss_for(19717) == "exact"
    assert ARVGA().get_params() == est.get_params()


@pytest.mark.parametrize(
    ("param", "value", "expected"),
    [("discriminator_lr", 0, "a float > 0"), ("reconstruction_steps", 0, "an int >= 1")],
)
def test_invalid_adversarial_params_are_named(small, param, value, expected):
    with pytest.raises(ValueError, match=f"The '{param}' parameter of ARVGA must be {expected}. Got {value}"):
        ARVGA(epochs=1, **{param: value}).fit(small)


@pytest.mark.parametrize("model", ["arga", "arvga"])
@pytest.mark.parametrize("loss", ["exact", "sampled"])
def test_training_beats_chance(small, model, loss):
    est = make_estimator(model, loss=loss, epochs=40, device="cpu", threads=1)
    result = run_link_prediction(small, est, seed=0)
    recon = [r["recon"] for r in result.history]
    assert recon[-1] < recon[0]
    assert {"loss", "recon", "gen", "disc", "val_auc"} <= result.history[-1].keys()
    # Untrained (epochs=1, lr=discriminator_lr=1e-12, same split and seed): AUC 0.728, AP
    # 0.735. Trained: AUC 0.842-0.858, AP 0.843-0.860.
    assert result.test_auc > 0.8 and result.test_ap > 0.8
    assert result.embedding.shape == (300, 32)


@pytest.mark.parametrize("cls", [ARGA, ARVGA])
def test_deterministic_and_saved_loaded_with_the_discriminator(small, cls, tmp_path):
    a = cls(epochs=6, random_state=2, device="cpu", threads=1).fit(small)
    b = cls(epochs=6, random_state=2, device="cpu", threads=1).fit(small)
    np.testing.assert_array_equal(a.embedding_, b.embedding_)
    assert a.history_ == b.history_
    a.save(tmp_path / "m")
    again = load(tmp_path / "m")
    assert type(again) is cls and again.get_params() == a.get_params()
    for key, value in a.module_.state_dict().items():
        torch.testing.assert_close(again.module_.state_dict()[key], value, rtol=0, atol=0)
    np.testing.assert_array_equal(again.embedding_, a.embedding_)
    np.testing.assert_allclose(again.transform(small), a.embedding_, rtol=1e-5, atol=1e-6)
