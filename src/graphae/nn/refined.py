r"""The modules of the refined GAE (Ma et al., 2024, arXiv 2411.03845): a linear encoder with
residual connections over learned node embeddings, and a residual MLP on ``z_i * z_j``.

Reference code: GraphPKU/Refined-GAE (``train_wo_feat.py``, ``model.py``: ``GCN`` with
``relu=False, norm=False``, and ``Hadamard_MLPPredictor`` with ``res=True``).
"""

from __future__ import annotations

import torch
from torch import nn

from graphae.nn.encoders import EncoderOutput
from graphae.nn.functional import SparseOperator
from graphae.nn.mlp_decoder import HadamardMLPDecoder, dropout, reset_linear


class LinearResidualEncoder(nn.Module):
    r"""Linear GCN propagation with a residual from the input, over learned node embeddings.

    .. math::
        H_0 = E \ (\text{no features}), \quad H_0 = X W_x + E \ (\text{features}), \qquad
        H_{l} = \hat A\, \mathrm{drop}(H_{l-1})\, W_l + b_l + r\, H_0 \ (l = 1..L), \qquad Z = H_L

    with ``Â = D^-1/2 (A + I) D^-1/2`` and no nonlinearity between the hops (the paper's
    linear propagation). ``E`` is a learned ``[N, d]`` table initialised orthogonal
    (``torch.nn.init.orthogonal_``); on a graph with features it is added to their linear
    projection (``embedding=False`` uses the projection alone). Every layer is ``d`` wide
    but the last, of ``out_channels``; the residual ``r H_0`` needs ``out_channels == d``.

    Args:
        in_channels: Feature width, or ``None`` on a graph without features.
        channels: Width ``d`` of the embeddings and of the layers.
        out_channels: Width of the codes (``None``: ``channels``).
        num_layers: Propagation steps ``L``, ``>= 1``.
        residual: Weight ``r`` of the input added after each step (reference: 0.1; 0: none).
        dropout: Dropout on each layer's input (reference: none).
        num_nodes: ``N``, the rows of ``E``; needed when ``embedding`` is true.
        embedding: Learn the table ``E`` (always on a graph without features).
        generator: Optional ``torch.Generator`` for initialisation.

    Shapes:
        x: ``[N, in_channels]`` or ``None``; adj: ``[N, N]``; z, mu: ``[N, out_channels]``.

    Example:
        >>> LinearResidualEncoder(None, 8, num_layers=2, num_nodes=5)
        LinearResidualEncoder(nodes=5, features=0, channels=8, out=8, layers=2, residual=0.1, dropout=0)
    """

    variational = False

    def __init__(
        self,
        in_channels: int | None,
        channels: int,
        out_channels: int | None = None,
        num_layers: int = 2,
        residual: float = 0.1,
        dropout: float = 0.0,
        num_nodes: int | None = None,
        embedding: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        out_channels = channels if out_channels is None else out_channels
        if num_layers < 1:
            raise ValueError(f"LinearResidualEncoder needs num_layers >= 1. Got {num_layers}.")
        if residual and out_channels != channels:
            raise ValueError(
                f"A residual needs out_channels == channels ({channels}). Got out_channels={out_channels}."
            )
        embedding = embedding or in_channels is None
        if embedding and num_nodes is None:
            raise ValueError("LinearResidualEncoder needs num_nodes to learn node embeddings.")
        self.embedding = nn.Parameter(torch.empty(num_nodes, channels)) if embedding else None
        self.project = nn.Linear(in_channels, channels, bias=False) if in_channels else None
        widths = [channels] * num_layers + [out_channels]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.num_nodes, self.in_channels, self.channels = num_nodes, in_channels, channels
        self.out_channels, self.residual, self.dropout = out_channels, residual, dropout
        self.reset_parameters(generator)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        if self.embedding is not None:
            nn.init.orthogonal_(self.embedding, generator=generator)
        if self.project is not None:
            reset_linear(self.project, generator)
        for layer in self.layers:
            reset_linear(layer, generator)

    def inputs(self, x: torch.Tensor | SparseOperator | None) -> torch.Tensor:
        """``H_0``: the embeddings, the projected features, or their sum."""
        if self.project is None:
            if x is not None:
                raise ValueError("This encoder was built without features (in_channels=None); got x.")
            return self.embedding
        if x is None:
            raise ValueError(f"This encoder projects {self.in_channels} features; got x=None.")
        h = x @ self.project.weight.t()
        return h if self.embedding is None else h + self.embedding

    def forward(
        self,
        x: torch.Tensor | SparseOperator | None,
        adj: torch.Tensor | SparseOperator,
        generator: torch.Generator | None = None,
    ) -> EncoderOutput:
        h0 = self.inputs(x)
        h = h0
        for layer in self.layers:
            h = adj @ (dropout(h, self.dropout, self.training, generator) @ layer.weight.t()) + layer.bias
            if self.residual:
                h = h + self.residual * h0
        return EncoderOutput(z=h, mu=h)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(nodes={self.num_nodes}, features={self.in_channels or 0}, "
            f"channels={self.channels}, out={self.out_channels}, layers={len(self.layers)}, "
            f"residual={self.residual:g}, dropout={self.dropout:g})"
        )


class ResidualHadamardDecoder(HadamardMLPDecoder):
    r"""Edge logits from a residual MLP on ``z_i * z_j`` (the refined GAE's decoder).

    .. math:: \mathrm{logit}(i, j) = \mathrm{MLP}_{res}(z_i \odot z_j)

    A :class:`~graphae.nn.mlp_decoder.HadamardMLPDecoder` whose hidden layers are as wide
    as the codes and add ``z_i * z_j`` back (``residual``):

    .. math::
        h_0 = x, \quad h_l = \mathrm{drop}\big(\mathrm{ReLU}(W_l h_{l-1} + b_l + x)\big)\ (l < L), \qquad
        y = W_L h_{L-1} + b_L

    Symmetric; no exact all-pairs loss (train with sampled negatives). Dropout draws from
    the generator given to :meth:`forward`, in training mode only.

    Args:
        channels: Width of the codes (and of the MLP's hidden layers).
        num_layers: Linear layers of the MLP (reference on ogbl-ddi: 8).
        dropout: Dropout after each hidden layer (reference on ogbl-ddi: 0.6).
        residual: Add ``z_i * z_j`` to each hidden layer.
        generator: Optional ``torch.Generator`` for initialisation.

    Shapes:
        z: ``[N, channels]``; pairs: ``[2, k]`` int64; returns ``[k]``.

    Example:
        >>> ResidualHadamardDecoder(16, num_layers=3, dropout=0.5)
        ResidualHadamardDecoder(16, layers=3, dropout=0.5, residual=True)
    """

    def __init__(
        self,
        channels: int,
        num_layers: int = 2,
        dropout: float = 0.0,
        residual: bool = True,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(channels, channels, num_layers, dropout, generator, residual=residual)

    def __repr__(self) -> str:
        mlp = self.mlp
        return (
            f"{type(self).__name__}({mlp.in_channels}, layers={len(mlp.layers)}, "
            f"dropout={mlp.dropout:g}, residual={mlp.residual})"
        )
