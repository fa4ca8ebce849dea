r"""The adversarial objective of ARGA and ARVGA (Pan et al., IJCAI 2018).

A discriminator learns to tell the latent codes from samples of the prior ``N(0, I)``;
the encoder learns to reconstruct the graph and to fool the discriminator:

.. math::
    L_D = \mathrm{BCE}(D(a), 1) + \mathrm{BCE}(D(z), 0),\ a \sim N(0, I), \qquad
    L_G = \mathrm{BCE}(D(z), 1)

The schedule of one step is that of the authors' code (Ruiqi-Hu/ARGA,
``constructor.py`` ``update``): several reconstruction steps, one discriminator step on
one fresh draw of the prior (``[N, d]``), then one generator step, each with its own Adam
optimizer (``optimizer.py``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from graphae.errors import ParameterError
from graphae.nn.models import GraphAutoencoder
from graphae.training.data import GraphTensors
from graphae.training.objectives import ReconstructionObjective, make_adam


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    r"""The discriminator's cross-entropy: prior samples are real (1), codes fake (0).

    .. math::
        L_D = \mathrm{mean}\ \mathrm{softplus}(-D(a)) + \mathrm{mean}\ \mathrm{softplus}(D(z))

    As the reference code's ``dc_loss`` (two ``sigmoid_cross_entropy_with_logits`` means).

    Shapes:
        real_logits: ``[k]``; fake_logits: ``[m]``; returns a scalar.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    r"""The encoder's adversarial term: codes should pass for prior samples (1).

    .. math:: L_G = \mathrm{mean}\ \mathrm{softplus}(-D(z))

    Shapes:
        fake_logits: ``[m]``; returns a scalar.
    """
    return F.softplus(-fake_logits).mean()


class AdversarialObjective(ReconstructionObjective):
    r"""Adversarially regularized reconstruction: ARGA (deterministic) or ARVGA (variational).

    One step on a batch:

    1. ``reconstruction_steps`` Adam steps (optimizer ``"model"``, ``lr``) on ``L_rec``,
       plus the KL term for a variational encoder: :class:`ReconstructionObjective`'s loss;
    2. one discriminator step (optimizer ``"discriminator"``, ``discriminator_lr``) on
       ``L_D`` with one draw of the prior per code, against the codes (no gradient to the encoder);
    3. one encoder step (optimizer ``"generator"``, ``discriminator_lr``) on ``L_G``, plus
       ``L_rec`` for a deterministic encoder (the reference code's ``OptimizerAE``; its
       ``OptimizerVAE`` steps on ``L_G`` alone).

    The discriminator sees the codes ``z`` the decoder sees: ``mu`` for ARGA, a sample for
    ARVGA. Logs ``loss`` (``L_rec [+ KL] + L_G``), ``recon`` (``L_rec [+ KL]``, at the last
    reconstruction step), ``gen`` (``L_G``) and ``disc`` (``L_D``).

    Args:
        loss: The reconstruction loss: ``"auto"``, ``"exact"``, ``"sampled"`` or ``"fastgae"``.
        lr: Learning rate of the reconstruction steps (reference: 0.0005).
        discriminator_lr: Learning rate of the discriminator and generator steps (reference: 0.001).
        reconstruction_steps: Reconstruction steps per step (reference: 5).
        owner: Name used in error messages (the estimator's class name).
        **reconstruction: Further keyword arguments of :class:`ReconstructionObjective`.
    """

    def __init__(
        self,
        loss: str = "auto",
        lr: float = 0.0005,
        discriminator_lr: float = 0.001,
        reconstruction_steps: int = 5,
        owner: str = "the model",
        **reconstruction: Any,
    ) -> None:
        super().__init__(loss, lr, owner, **reconstruction)
        self.discriminator_lr = discriminator_lr
        self.reconstruction_steps = reconstruction_steps

    def setup(self, model: GraphAutoencoder, data: GraphTensors) -> None:
        if not isinstance(getattr(model, "discriminator", None), torch.nn.Module):
            raise ParameterError(
                f"{self.owner} trains adversarially and needs a model with a discriminator "
                f"(graphae.nn.discriminator.AdversarialGraphAutoencoder). Got {type(model).__name__}."
            )
        super().setup(model, data)

    def configure_optimizers(self, model: GraphAutoencoder) -> dict[str, torch.optim.Optimizer]:
        autoencoder = [p for name, p in model.named_parameters() if not name.startswith("discriminator.")]
        return {
            "model": make_adam(autoencoder, self.lr),
            "discriminator": make_adam(model.discriminator.parameters(), self.discriminator_lr),
            "generator": make_adam(autoencoder, self.discriminator_lr),
        }

    def step(
        self,
        model: GraphAutoencoder,
        batch: GraphTensors,
        optimizers: dict[str, torch.optim.Optimizer],
        generator: torch.Generator | None,
    ) -> dict[str, float]:
        recon = torch.zeros(())
        for _ in range(self.reconstruction_steps):
            recon = self._descend(optimizers["model"], self.compute_loss(model, batch, generator))

        with torch.no_grad():
            z = model(batch.x, batch.adj, generator).z
        prior = torch.randn(z.shape, generator=generator, device=z.device, dtype=z.dtype)
        discriminator = model.discriminator
        disc = discriminator_loss(discriminator(prior), discriminator(z))
        disc = self._descend(optimizers["discriminator"], disc)

        out = model(batch.x, batch.adj, generator)
        gen = generator_loss(discriminator(out.z))
        objective = (
            gen if out.logstd is not None else gen + self.reconstruction_loss(model, out.z, batch, generator)
        )
        self._descend(optimizers["generator"], objective)
        gen = gen.detach()
        discriminator.zero_grad(set_to_none=True)  # the generator step's gradients are not its own
        return {
            "loss": float(recon) + float(gen),
            "recon": float(recon),
            "gen": float(gen),
            "disc": float(disc),
        }

    @staticmethod
    def _descend(optimizer: torch.optim.Optimizer, value: torch.Tensor) -> torch.Tensor:
        """One optimizer step on ``value``; returns it detached."""
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()
        return value.detach()
