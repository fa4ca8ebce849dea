"""A graph autoencoder module: an encoder and a decoder."""

from __future__ import annotations

import torch
from torch import nn

from graphae.nn.decoders import Decoder, InnerProductDecoder
from graphae.nn.encoders import EncoderOutput
from graphae.nn.functional import SparseOperator


class GraphAutoencoder(nn.Module):
    """An encoder of nodes and a decoder of node pairs.

    Args:
        encoder: A module ``encoder(x, adj, generator) -> EncoderOutput``; it is
            variational when it has ``variational = True`` (then ``EncoderOutput.logstd``
            is set).
        decoder: A :class:`~graphae.nn.decoders.Decoder`; defaults to
            :class:`~graphae.nn.decoders.InnerProductDecoder`.

    Example:
        >>> from graphae.nn import GCNEncoder
        >>> GraphAutoencoder(GCNEncoder(1433, 32, 16))
        GraphAutoencoder(
          (encoder): GCNEncoder(
            (conv1): GCNConv(1433, 32)
            (conv2): GCNConv(32, 16)
          )
          (decoder): InnerProductDecoder()
        )
    """

    def __init__(self, encoder: nn.Module, decoder: Decoder | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder if decoder is not None else InnerProductDecoder()

    @property
    def variational(self) -> bool:
        return bool(getattr(self.encoder, "variational", False))

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for module in (self.encoder, self.decoder):
            reset = getattr(module, "reset_parameters", None)
            if reset is not None:
                reset(generator)

    def forward(
        self,
        x: torch.Tensor | SparseOperator | None,
        adj: torch.Tensor | SparseOperator,
        generator: torch.Generator | None = None,
    ) -> EncoderOutput:
        """Encode every node. Shapes: see the encoder."""
        return self.encoder(x, adj, generator)

    def decode(self, z: torch.Tensor, pairs: torch.Tensor) -> torch.Tensor:
        """Logits of the pairs ``pairs[0] -> pairs[1]`` (``[2, k]`` in, ``[k]`` out)."""
        return self.decoder(z, pairs)
