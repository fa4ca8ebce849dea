"""Gravity-inspired and source/target graph autoencoders for directed graphs.

Salha, Limnios, Hennequin, Tran and Vazirgiannis, *Gravity-Inspired Graph Autoencoders
for Directed Link Prediction*, CIKM 2019 (arXiv:1905.09570); reference code
deezer/gravity_graph_autoencoders. The encoders are graphae's GCN encoders, which on a
directed graph propagate with the paper's out-degree normalization ``D_out^-1 (A + I)``
(:func:`~graphae.nn.gcn_norm`); the decoders are in :mod:`graphae.nn.directed`.

Defaults are the settings of the paper's code for Cora: a GCN of 64 then 32 units
(33 for gravity models: 32 for the position plus the mass), Adam with lr 0.1, 200
epochs, the exact loss over all ``N^2`` ordered pairs (``loss="auto"``: exact up to 50,000
nodes, so on all the paper's graphs), ``lambda = 1``, ``epsilon = 0.01``.
The paper's code uses no node features (its graphs have none).
"""

from __future__ import annotations

import numbers
from typing import Any, ClassVar

import torch

from graphae.estimator import GraphAutoencoderEstimator
from graphae.nn import GCNEncoder, GraphAutoencoder, VariationalGCNEncoder
from graphae.nn.directed import GravityDecoder, SourceTargetDecoder
from graphae.params import Boolean, Constraint, Integer, Param, PositiveFloat

__all__ = ["GravityGAE", "GravityVGAE", "SourceTargetGAE", "SourceTargetVGAE"]


class EvenInteger(Constraint):
    """An even int (not a bool) ``>= 2``."""

    description = "an even int >= 2"

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, numbers.Integral)
            and not isinstance(value, bool)
            and value >= 2
            and value % 2 == 0
        )


class _DirectedEstimator(GraphAutoencoderEstimator):
    """The paper's defaults for the base parameters; subclasses choose encoder and decoder."""

    variational: ClassVar[bool] = False
    params: ClassVar[dict[str, Any]] = {"hidden_channels": 64, "out_channels": 32, "lr": 0.1}

    def _encoder(self, in_channels: int, generator: torch.Generator | None) -> torch.nn.Module:
        cls = VariationalGCNEncoder if self.variational else GCNEncoder
        return cls(in_channels, self.hidden_channels, self.out_channels, generator)


class _SourceTarget(_DirectedEstimator):
    params: ClassVar[dict[str, Any]] = {"out_channels": Param(32, EvenInteger())}

    def build_module(self, in_channels: int, generator: torch.Generator | None = None) -> GraphAutoencoder:
        return GraphAutoencoder(self._encoder(in_channels, generator), SourceTargetDecoder())


class SourceTargetGAE(_SourceTarget):
    r"""Source/target graph autoencoder: GCN encoder, logits ``z_i^(s) . z_j^(t)`` (Salha et al., 2019).

    .. math::
        Z = \hat A \,\mathrm{ReLU}(\hat A X W_0)\, W_1 = [Z^{(s)}, Z^{(t)}], \qquad
        p(i \to j) = \sigma(z_i^{(s)} \cdot z_j^{(t)}), \qquad \hat A = D_{out}^{-1}(A + I)

    ``out_channels`` (even) is the whole code: the source half and the target half.
    Parameters as :class:`~graphae.GAE`, with the paper's defaults (GCN 64-32, lr 0.1).

    Example:
        >>> from graphae.data import make_communities
        >>> g = make_communities(num_nodes=60)
        >>> SourceTargetGAE(epochs=5, random_state=0).fit(g).embedding_.shape
        (60, 32)
    """


class SourceTargetVGAE(_SourceTarget):
    r"""Source/target variational graph autoencoder: Gaussian codes, KL term, logits ``z_i^(s) . z_j^(t)``.

    As :class:`SourceTargetGAE` with the encoder and KL term of :class:`~graphae.VGAE`;
    embeddings are the means.
    """

    variational = True


class _Gravity(_DirectedEstimator):
    params: ClassVar[dict[str, Any]] = {
        "out_channels": Param(33, Integer(2)),
        "gravity_lambda": Param(1.0, PositiveFloat()),
        "gravity_epsilon": Param(0.01, PositiveFloat()),
        "gravity_normalize": Param(False, Boolean()),
    }

    def build_module(self, in_channels: int, generator: torch.Generator | None = None) -> GraphAutoencoder:
        decoder = GravityDecoder(self.gravity_lambda, self.gravity_epsilon, self.gravity_normalize)
        return GraphAutoencoder(self._encoder(in_channels, generator), decoder)


class GravityGAE(_Gravity):
    r"""Gravity-inspired graph autoencoder: GCN encoder, logits ``m_j - lambda log ||z_i - z_j||^2`` (Salha et al., 2019).

    .. math::
        [Z, \tilde m] = \hat A \,\mathrm{ReLU}(\hat A X W_0)\, W_1, \qquad
        p(i \to j) = \sigma\big(\tilde m_j - \lambda \log(\lVert z_i - z_j \rVert_2^2 + \epsilon)\big)

    ``out_channels`` is the whole code: the position (``out_channels - 1`` dimensions)
    and the mass (the last one). Parameters as :class:`~graphae.GAE`, with the paper's
    defaults (GCN 64-33, lr 0.1), plus:

    Args:
        gravity_lambda: ``lambda`` (paper: 1 for general directed link prediction and
            bidirectionality prediction, 0.05 for biased negatives).
        gravity_epsilon: ``epsilon``, for numerical stability (paper's code: 0.01).
        gravity_normalize: Scale positions to unit norm before the distance (paper's
            code: only for the gravity AE on biased negatives).

    Example:
        >>> from graphae.data import make_communities
        >>> g = make_communities(num_nodes=60)
        >>> GravityGAE(epochs=5, random_state=0).fit(g).embedding_.shape
        (60, 33)
    """


class GravityVGAE(_Gravity):
    r"""Gravity-inspired variational graph autoencoder: Gaussian codes and masses, KL term.

    As :class:`GravityGAE` with the encoder and KL term of :class:`~graphae.VGAE` (the
    mass is sampled like every other dimension); embeddings are the means.
    """

    variational = True
