r"""MLP heads of MaskGAE (Li et al., KDD 2023): a Hadamard-product edge decoder and a degree decoder.

Both are small multi-layer perceptrons with ReLU and dropout between layers. Dropout draws
from an explicit ``torch.Generator`` (the training step's), never from torch's global one,
so that a seeded fit is reproducible; in evaluation mode it is off.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from graphae.nn.decoders import Decoder


def dropout(x: torch.Tensor, p: float, training: bool, generator: torch.Generator | None) -> torch.Tensor:
    r"""Inverted dropout with an explicit generator: ``x * m / (1 - p)``, ``m_k ~ Bernoulli(1 - p)``.

    The identity when ``training`` is false or ``p == 0``. ``generator=None`` draws from
    torch's default generator (as ``torch.nn.functional.dropout`` does).

    Shapes:
        x: any; returns the same shape.
    """
    if not training or p == 0.0:
        return x
    # Drawn in float32 at least, so that a bfloat16 ``x`` (autocast) is dropped exactly as a float32 one.
    draw = x.dtype if x.dtype in (torch.float32, torch.float64) else torch.float32
    keep = torch.rand(x.shape, generator=generator, device=x.device, dtype=draw) >= p
    return x * keep / (1.0 - p)


def autocast_input(x: torch.Tensor) -> torch.Tensor:
    """``x`` in autocast's lower precision when autocast is on for its device, else ``x``.

    Inside :func:`torch.autocast` only the matrix products run in bfloat16; a float32 input
    would be cast again before each layer and every element-wise step in between (residual,
    ReLU, dropout) would read and write float32. Cast once, they all run in bfloat16.
    """
    kind = x.device.type
    if x.is_floating_point() and torch.is_autocast_enabled(kind):
        return x.to(torch.get_autocast_dtype(kind))
    return x


def reset_linear(layer: nn.Linear, generator: torch.Generator | None) -> None:
    """torch's default ``nn.Linear`` initialisation, drawn from ``generator``."""
    nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
    if layer.bias is not None:
        bound = 1 / math.sqrt(layer.in_features) if layer.in_features > 0 else 0.0
        nn.init.uniform_(layer.bias, -bound, bound, generator=generator)


def _mlp_settings(mlp: MLP) -> str:
    extra = f", input_dropout={mlp.input_dropout:g}" if mlp.input_dropout else ""
    extra += ", residual=True" if mlp.residual else ""
    return f"hidden={mlp.hidden_channels}, layers={len(mlp.layers)}, dropout={mlp.dropout:g}{extra}"


class MLP(nn.Module):
    r"""``num_layers`` linear layers with dropout and ReLU in between, ending in one output.

    .. math::
        h_1 = W_1\, \mathrm{drop}_{in}(x) + b_1, \quad
        h_{l+1} = W_{l+1}\, \mathrm{drop}(\mathrm{ReLU}(h_l\, [+\, x])) + b_{l+1}, \quad y = h_L

    With ``residual``, each hidden layer adds the input back (``[+ x]``; the refined GAE's
    decoder, Ma et al. 2024): the hidden layers are then as wide as the input.

    Args:
        in_channels: Input width.
        hidden_channels: Width of the hidden layers.
        num_layers: Number of linear layers, ``>= 1`` (1: a linear map).
        dropout: Dropout probability before each linear layer but the first.
        generator: Optional ``torch.Generator`` for initialisation.
        input_dropout: Dropout probability on the input, before the first layer (where
            MaskGAE's reference edge decoder drops; 0: none).
        residual: Add the input to each hidden layer's output, before its ReLU.

    Shapes:
        x: ``[k, in_channels]``; returns ``[k]``.
    """

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 64,
        num_layers: int = 2,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
        *,
        input_dropout: float = 0.0,
        residual: bool = False,
    ) -> None:
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"An MLP needs num_layers >= 1. Got {num_layers}.")
        if residual and num_layers > 1 and hidden_channels != in_channels:
            raise ValueError(
                f"A residual MLP needs hidden_channels == in_channels ({in_channels}). Got {hidden_channels}."
            )
        widths = [in_channels] + [hidden_channels] * (num_layers - 1) + [1]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.in_channels, self.hidden_channels, self.dropout = in_channels, hidden_channels, dropout
        self.input_dropout, self.residual = input_dropout, residual
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        for layer in self.layers:
            reset_linear(layer, generator)

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        x = autocast_input(x)
        h = dropout(x, self.input_dropout, self.training, generator)
        for i, layer in enumerate(self.layers):
            if i > 0:
                if self.residual:
                    h = h + x
                h = torch.relu(h)
                h = dropout(h, self.dropout, self.training, generator)
            h = layer(h)
        return h.squeeze(-1)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.in_channels}, {_mlp_settings(self)})"


class HadamardMLPDecoder(Decoder):
    r"""Edge logits from an MLP on the element-wise product of the two codes.

    .. math::
        \mathrm{logit}(i, j) = \mathrm{MLP}(z_i \odot z_j)

    The edge decoder of MaskGAE (Li et al., KDD 2023) and of the refined GAE of Ma et al.
    (2024). The product is symmetric, so the scores are; the decoder has no exact
    all-pairs loss (train it with sampled negatives). Dropout between the layers is
    drawn from the generator given to :meth:`forward` in training mode.

    Args:
        in_channels: Width of the codes ``z``.
        hidden_channels: Width of the hidden layers (MaskGAE: 64).
        num_layers: Linear layers of the MLP (MaskGAE: 2).
        dropout: Dropout probability between the layers.
        generator: Optional ``torch.Generator`` for initialisation.
        input_dropout: Dropout probability on the product ``z_i * z_j`` (the reference
            code drops there, 0.2, and not between the layers).
        residual: Add ``z_i * z_j`` to each hidden layer (see :class:`MLP`).

    Shapes:
        z: ``[N, in_channels]``; pairs: ``[2, k]`` int64; returns ``[k]``.

    Example:
        >>> HadamardMLPDecoder(128, 64)
        HadamardMLPDecoder(128, hidden=64, layers=2, dropout=0)
    """

    symmetric = True
    has_exact_loss = False
    takes_generator = True

    def __init__(
        self,
        in_channels: int,
        hidden_channels: int = 64,
        num_layers: int = 2,
        dropout: float = 0.0,
        generator: torch.Generator | None = None,
        *,
        input_dropout: float = 0.0,
        residual: bool = False,
    ) -> None:
        super().__init__()
        self.mlp = MLP(
            in_channels,
            hidden_channels,
            num_layers,
            dropout,
            generator,
            input_dropout=input_dropout,
            residual=residual,
        )

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        self.mlp.reset_parameters(generator)

    def forward(
        self, z: torch.Tensor, pairs: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        return self.mlp(z.index_select(0, pairs[0]) * z.index_select(0, pairs[1]), generator)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.mlp.in_channels}, {_mlp_settings(self.mlp)})"


class DegreeDecoder(MLP):
    r"""Predicts a node's (log) degree from its code: MaskGAE's degree decoder.

    .. math:: \hat d_i = \mathrm{MLP}(z_i)

    An auxiliary head: its loss (:func:`graphae.training.masking.degree_target`) pushes
    degree information into the codes; no score goes through it.

    Shapes:
        z: ``[N, in_channels]``; returns ``[N]``.
    """
