"""The discriminator of adversarially regularized graph autoencoders (Pan et al., 2018).

A small MLP tells latent codes ``z_i`` from samples of the prior ``N(0, I)``; the
:class:`AdversarialGraphAutoencoder` holds it beside the encoder and decoder, so that its
weights are saved, loaded and checkpointed with the rest of the model.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from graphae.nn.decoders import Decoder
from graphae.nn.models import GraphAutoencoder


class Discriminator(nn.Module):
    r"""MLP from a latent code to one logit: "is this a sample of the prior?".

    .. math::
        D(z) = W_3\, \mathrm{ReLU}(W_2\, \mathrm{ReLU}(W_1 z + b_1) + b_2) + b_3

    The defaults are those of the ARGA reference code (Ruiqi-Hu/ARGA, ``model.py``
    ``Discriminator.construct``): hidden layers of 64 and 32 units, weights drawn from
    ``N(0, 0.01^2)``, zero biases.

    Args:
        in_channels: Latent dimension.
        hidden_channels: Widths of the hidden layers.
        generator: Optional ``torch.Generator`` for initialisation.

    Shapes:
        z: ``[k, in_channels]``; returns ``[k]`` logits.

    Example:
        >>> Discriminator(32)
        Discriminator(32, hidden=(64, 32))
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: Sequence[int] = (64, 32),
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        widths = [in_channels, *hidden_channels, 1]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.in_channels = in_channels
        self.hidden_channels = tuple(hidden_channels)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Weights from ``N(0, 0.01^2)``, zero biases (the reference code's ``dense``)."""
        for layer in self.layers:
            nn.init.normal_(layer.weight, std=0.01, generator=generator)
            nn.init.zeros_(layer.bias)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z
        for layer in self.layers[:-1]:
            h = torch.relu(layer(h))
        return self.layers[-1](h).squeeze(-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, hidden={self.hidden_channels})"


class AdversarialGraphAutoencoder(GraphAutoencoder):
    """A graph autoencoder with a discriminator of its latent codes (ARGA, ARVGA).

    Encoding and decoding are those of :class:`~graphae.nn.GraphAutoencoder`; the
    discriminator only shapes training. Being a submodule, it is part of the
    ``state_dict`` (saved models, checkpoints).

    Args:
        encoder: As for :class:`~graphae.nn.GraphAutoencoder`.
        discriminator: A module ``discriminator(z) -> logits``, ``[k, d] -> [k]``.
        decoder: As for :class:`~graphae.nn.GraphAutoencoder`.
    """

    def __init__(self, encoder: nn.Module, discriminator: nn.Module, decoder: Decoder | None = None) -> None:
        super().__init__(encoder, decoder)
        self.discriminator = discriminator

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        super().reset_parameters(generator)
        reset = getattr(self.discriminator, "reset_parameters", None)
        if reset is not None:
            reset(generator)

    def autoencoder_parameters(self) -> list[nn.Parameter]:
        """The parameters of the encoder and decoder (all but the discriminator's)."""
        return [*self.encoder.parameters(), *self.decoder.parameters()]
