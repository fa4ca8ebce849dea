"""Encoders of the GAE and VGAE (Kipf & Welling, 2016) and of the linear GAE and VGAE (Salha et al., 2020)."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from graphae.nn.conv import GCNConv
from graphae.nn.functional import SparseOperator


class EncoderOutput(NamedTuple):
    """What an encoder returns.

    Attributes:
        z: Latent codes used for decoding (a sample for a variational encoder
            in training mode, else ``mu``).
        mu: Means; the embedding used for evaluation.
        logstd: Log standard deviations, or ``None`` for a deterministic encoder.
    """

    z: torch.Tensor
    mu: torch.Tensor
    logstd: torch.Tensor | None = None


class GCNEncoder(nn.Module):
    r"""Two-layer GCN encoder of the GAE.

    .. math::
        Z = \hat A \, \mathrm{ReLU}(\hat A X W_0) \, W_1

    Args:
        in_channels: Feature width, or the number of nodes for identity features.
        hidden_channels: Width of the first layer (paper: 32).
        out_channels: Latent dimension (paper: 16).
        generator: Optional ``torch.Generator`` for initialisation.

    Shapes:
        x: ``[N, in_channels]`` or ``None``; adj: ``[N, N]``; z, mu: ``[N, out_channels]``.
    """

    variational = False

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 32,
        out_channels: int = 16,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden_channels, generator)
        self.conv2 = GCNConv(hidden_channels, out_channels, generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        self.conv1.reset_parameters(generator)
        self.conv2.reset_parameters(generator)

    def forward(
        self,
        x: torch.Tensor | SparseOperator | None,
        adj: torch.Tensor | SparseOperator,
        generator: torch.Generator | None = None,
    ) -> EncoderOutput:
        h = torch.relu(self.conv1(x, adj))
        z = self.conv2(h, adj)
        return EncoderOutput(z=z, mu=z)


class VariationalGCNEncoder(nn.Module):
    r"""VGAE encoder: a shared GCN layer, then GCN heads for ``mu`` and ``log sigma``.

    .. math::
        H = \mathrm{ReLU}(\hat A X W_0), \quad
        \mu = \hat A H W_\mu, \quad \log\sigma = \hat A H W_\sigma, \quad
        z = \mu + \sigma \odot \epsilon,\ \epsilon \sim \mathcal N(0, I)

    In evaluation mode ``z = mu``. The two heads share one sparse product.

    Args:
        in_channels: Feature width, or the number of nodes for identity features.
        hidden_channels: Width of the shared layer (paper: 32).
        out_channels: Latent dimension (paper: 16).
        generator: Optional ``torch.Generator`` for initialisation.

    Shapes:
        x: ``[N, in_channels]`` or ``None``; adj: ``[N, N]``;
        z, mu, logstd: ``[N, out_channels]``.
    """

    variational = True

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 32,
        out_channels: int = 16,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.conv1 = GCNConv(in_channels, hidden_channels, generator)
        self.conv_mu = GCNConv(hidden_channels, out_channels, generator)
        self.conv_logstd = GCNConv(hidden_channels, out_channels, generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        self.conv1.reset_parameters(generator)
        self.conv_mu.reset_parameters(generator)
        self.conv_logstd.reset_parameters(generator)

    def forward(
        self,
        x: torch.Tensor | SparseOperator | None,
        adj: torch.Tensor | SparseOperator,
        generator: torch.Generator | None = None,
    ) -> EncoderOutput:
        h = torch.relu(self.conv1(x, adj))
        hw = torch.cat([self.conv_mu.transform(h), self.conv_logstd.transform(h)], dim=1)
        mu, logstd = (adj @ hw).chunk(2, dim=1)
        # As in PyTorch Geometric: keeps exp(logstd) finite early in training.
        logstd = logstd.clamp(max=10.0)
        if not self.training:
            return EncoderOutput(z=mu, mu=mu, logstd=logstd)
        noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return EncoderOutput(z=mu + noise * logstd.exp(), mu=mu, logstd=logstd)


class LinearEncoder(nn.Module):
    r"""One-hop linear encoder of the linear graph autoencoder (Salha et al., 2020).

    .. math::
        Z = \hat A X W

    One graph convolution without activation: the same normalized adjacency with self
    loops as the GCN, and the same Glorot initialisation, without bias, as in the
    reference code (deezer/linear_graph_autoencoders). With identity features
    (``x=None``) ``Z = \hat A W`` and no ``N x N`` identity is built.

    Args:
        in_channels: Feature width, or the number of nodes for identity features.
        out_channels: Latent dimension (paper: 16).
        generator: Optional ``torch.Generator`` for initialisation.

    Shapes:
        x: ``[N, in_channels]`` or ``None``; adj: ``[N, N]``; z, mu: ``[N, out_channels]``.

    Example:
        >>> LinearEncoder(1433, 16)
        LinearEncoder(
          (conv): GCNConv(1433, 16)
        )
    """

    variational = False

    def __init__(
        self, in_channels: int, out_channels: int = 16, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.conv = GCNConv(in_channels, out_channels, generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        self.conv.reset_parameters(generator)

    def forward(
        self,
        x: torch.Tensor | SparseOperator | None,
        adj: torch.Tensor | SparseOperator,
        generator: torch.Generator | None = None,
    ) -> EncoderOutput:
        z = self.conv(x, adj)
        return EncoderOutput(z=z, mu=z)


class VariationalLinearEncoder(nn.Module):
    r"""Encoder of the linear variational graph autoencoder (Salha et al., 2020).

    .. math::
        \mu = \hat A X W_\mu, \quad \log\sigma = \hat A X W_\sigma, \quad
        z = \mu + \sigma \odot \epsilon,\ \epsilon \sim \mathcal N(0, I)

    Two one-hop linear heads on the input (no shared layer), sharing one sparse
    product; in evaluation mode ``z = mu``. ``log sigma`` is clamped at 10 as in
    :class:`VariationalGCNEncoder`.

    Args:
        in_channels: Feature width, or the number of nodes for identity features.
        out_channels: Latent dimension (paper: 16).
        generator: Optional ``torch.Generator`` for initialisation.

    Shapes:
        x: ``[N, in_channels]`` or ``None``; adj: ``[N, N]``;
        z, mu, logstd: ``[N, out_channels]``.
    """

    variational = True

    def __init__(
        self, in_channels: int, out_channels: int = 16, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        self.conv_mu = GCNConv(in_channels, out_channels, generator)
        self.conv_logstd = GCNConv(in_channels, out_channels, generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        self.conv_mu.reset_parameters(generator)
        self.conv_logstd.reset_parameters(generator)

    def forward(
        self,
        x: torch.Tensor | SparseOperator | None,
        adj: torch.Tensor | SparseOperator,
        generator: torch.Generator | None = None,
    ) -> EncoderOutput:
        hw = torch.cat([self.conv_mu.transform(x), self.conv_logstd.transform(x)], dim=1)
        mu, logstd = (adj @ hw).chunk(2, dim=1)
        logstd = logstd.clamp(max=10.0)
        if not self.training:
            return EncoderOutput(z=mu, mu=mu, logstd=logstd)
        noise = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        return EncoderOutput(z=mu + noise * logstd.exp(), mu=mu, logstd=logstd)
