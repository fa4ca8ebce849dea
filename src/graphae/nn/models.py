"""Graph autoencoder models: an encoder and an inner-product decoder."""

from __future__ import annotations

import torch
from torch import nn

from graphae.nn.decoders import InnerProductDecoder
from graphae.nn.encoders import EncoderOutput, GCNEncoder, VariationalGCNEncoder

ENCODERS: dict[str, type[nn.Module]] = {
    "gae": GCNEncoder,
    "vgae": VariationalGCNEncoder,
}


class GraphAutoencoder(nn.Module):
    """An encoder with an inner-product decoder.

    Args:
        encoder: A module returning :class:`EncoderOutput`.
        decoder: Defaults to :class:`InnerProductDecoder`.
    """

    def __init__(self, encoder: nn.Module, decoder: nn.Module | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder if decoder is not None else InnerProductDecoder()

    @property
    def variational(self) -> bool:
        return bool(getattr(self.encoder, "variational", False))

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        self.encoder.reset_parameters(generator)

    def forward(
        self,
        x: torch.Tensor | None,
        adj: torch.Tensor,
        generator: torch.Generator | None = None,
    ) -> EncoderOutput:
        return self.encoder(x, adj, generator)

    def decode(self, z: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Logits of the pairs in ``edge_index``."""
        return self.decoder(z, edge_index)


def build_model(
    model: str,
    in_channels: int,
    hidden_channels: int = 32,
    out_channels: int = 16,
    generator: torch.Generator | None = None,
) -> GraphAutoencoder:
    """A GAE or VGAE by name.

    Args:
        model: ``"gae"`` or ``"vgae"``.
        in_channels: Feature width, or the number of nodes for identity features.
        hidden_channels: Width of the first GCN layer.
        out_channels: Latent dimension.
        generator: Optional ``torch.Generator`` for initialisation.

    Raises:
        ValueError: On an unknown model name.
    """
    if model not in ENCODERS:
        raise ValueError(f"The 'model' parameter must be one of {sorted(ENCODERS)}. Got {model!r}.")
    encoder = ENCODERS[model](in_channels, hidden_channels, out_channels, generator)
    return GraphAutoencoder(encoder)
