r"""A wide GCN encoder with batch normalisation and dropout, and MaskGAE's module.

The encoder of MaskGAE (Li et al., KDD 2023; reference code EdisonLeeeee/MaskGAE,
``GNNEncoder``): each layer drops out its input, propagates, normalises and applies ELU.
On a graph without features it can learn a node embedding table as its input (Ma et al.,
2024, "learnable input embeddings for featureless graphs").
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from graphae.nn.conv import GCNConv
from graphae.nn.decoders import Decoder
from graphae.nn.encoders import EncoderOutput
from graphae.nn.functional import SparseOperator
from graphae.nn.mlp_decoder import dropout
from graphae.nn.models import GraphAutoencoder


class DeepGCNEncoder(nn.Module):
    r"""``num_layers`` GCN layers, each ``ELU(BN(Â drop(H) W))``.

    .. math::
        H_0 = X\ (\text{or } E), \qquad
        H_{l+1} = \mathrm{ELU}\big(\mathrm{BN}_l(\hat A\, \mathrm{drop}(H_l)\, W_l)\big), \qquad
        Z = H_L

    The input is the feature matrix ``X`` (dense, sparse, or ``None`` for identity
    features, never built), or, with ``embedding_channels``, a learned table
    ``E`` of ``[N, embedding_channels]`` (the input must then be ``None``). Dropout on
    sparse features drops stored entries, as dropout on the dense matrix would; on
    identity features it drops whole rows of ``W_0``. Batch normalisation uses the
    batch statistics in training mode and the running ones in evaluation mode.

    Args:
        in_channels: Feature width, or the number of nodes ``N`` for identity features
            and embeddings.
        hidden_channels: Width of the layers before the last.
        out_channels: Width of the codes ``z`` (the last layer).
        num_layers: Number of GCN layers, ``>= 1``.
        dropout: Dropout probability on each layer's input.
        batch_norm: Normalise each layer's output with ``BatchNorm1d``.
        embedding_channels: Width of a learned node embedding used as the input
            (``None``: the features, or identity features).
        generator: Optional ``torch.Generator`` for initialisation.

    Shapes:
        x: ``[N, in_channels]`` or ``None``; adj: ``[N, N]``; z, mu: ``[N, out_channels]``.

    Example:
        >>> DeepGCNEncoder(1433, 128, 128, num_layers=2).convs
        ModuleList(
          (0): GCNConv(1433, 128)
          (1): GCNConv(128, 128)
        )
    """

    variational = False

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 128,
        out_channels: int = 128,
        num_layers: int = 1,
        dropout: float = 0.5,
        batch_norm: bool = True,
        embedding_channels: int | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"DeepGCNEncoder needs num_layers >= 1. Got {num_layers}.")
        self.embedding = (
            nn.Parameter(torch.empty(in_channels, embedding_channels)) if embedding_channels else None
        )
        first = embedding_channels if embedding_channels else in_channels
        widths = [first] + [hidden_channels] * (num_layers - 1) + [out_channels]
        self.convs = nn.ModuleList(
            GCNConv(a, b, generator) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(b) if batch_norm else nn.Identity() for b in widths[1:])
        self.dropout = dropout
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        if self.embedding is not None:
            nn.init.xavier_uniform_(self.embedding, generator=generator)
        for conv in self.convs:
            conv.reset_parameters(generator)
        for norm in self.norms:
            if isinstance(norm, nn.BatchNorm1d):
                norm.reset_parameters()

    def _first_transform(
        self, x: torch.Tensor | SparseOperator | None, generator: torch.Generator | None
    ) -> torch.Tensor:
        """``drop(H_0) W_0``, without building an identity or a dense copy of sparse features."""
        weight, p, training = self.convs[0].weight, self.dropout, self.training
        if self.embedding is not None:
            if x is not None:
                raise ValueError("An encoder with learned node embeddings takes no features (x=None).")
            return dropout(self.embedding, p, training, generator) @ weight
        if x is None:
            # drop(I) W: each node's row of W is kept or dropped whole.
            return dropout(torch.ones_like(weight[:, :1]), p, training, generator) * weight
        if isinstance(x, SparseOperator):
            if training and p > 0:
                x = x.with_values(dropout(x.a.values(), p, training, generator))
            return x @ weight
        return dropout(x, p, training, generator) @ weight

    def forward(
        self,
        x: torch.Tensor | SparseOperator | None,
        adj: torch.Tensor | SparseOperator,
        generator: torch.Generator | None = None,
    ) -> EncoderOutput:
        h = adj @ self._first_transform(x, generator)
        h = F.elu(self.norms[0](h))
        for conv, norm in zip(self.convs[1:], self.norms[1:], strict=True):
            h = conv(dropout(h, self.dropout, self.training, generator), adj)
            h = F.elu(norm(h))
        return EncoderOutput(z=h, mu=h)


class MaskedGraphAutoencoder(GraphAutoencoder):
    """A graph autoencoder with an optional degree decoder beside its edge decoder (MaskGAE).

    Encoding and scoring are those of :class:`~graphae.nn.GraphAutoencoder`; the degree
    decoder only shapes training. Being a submodule, it is saved and checkpointed.

    Args:
        encoder: As for :class:`~graphae.nn.GraphAutoencoder`.
        decoder: The edge decoder (every score goes through it).
        degree_decoder: A module ``degree_decoder(z, generator) -> [N]``, or ``None``.
    """

    def __init__(self, encoder: nn.Module, decoder: Decoder, degree_decoder: nn.Module | None = None) -> None:
        super().__init__(encoder, decoder)
        self.degree_decoder = degree_decoder

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        super().reset_parameters(generator)
        if self.degree_decoder is not None:
            self.degree_decoder.reset_parameters(generator)
