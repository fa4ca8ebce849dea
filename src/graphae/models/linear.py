"""Linear graph autoencoders: one-hop linear encoders instead of GCNs.

Salha, Hennequin & Vazirgiannis, *Keep It Simple: Graph Autoencoders Without Graph
Convolutional Networks* (NeurIPS 2019 GRL workshop) and *Simple and Effective Graph
Autoencoders with One-Hop Linear Models* (ECML-PKDD 2020), arXiv 2001.07614; reference
code deezer/linear_graph_autoencoders (``linear_ae`` and ``linear_vae``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from graphae.estimator import GraphAutoencoderEstimator
from graphae.nn import GraphAutoencoder, InnerProductDecoder
from graphae.nn.encoders import LinearEncoder, VariationalLinearEncoder
from graphae.params import NOT_USED

__all__ = ["LinearGAE", "LinearVGAE"]


class _Linear(GraphAutoencoderEstimator):
    """The parameters of the linear models: those of the estimator but ``hidden_channels`` (no hidden layer)."""

    params: ClassVar[dict[str, Any]] = {"hidden_channels": NOT_USED}


class LinearGAE(_Linear):
    r"""Linear graph autoencoder: one-hop linear encoder, no GCN, inner-product decoder (Salha et al., 2020).

    .. math::
        Z = \hat A X W, \qquad p(A_{ij} = 1) = \sigma(z_i \cdot z_j)

    with ``\hat A = D^{-1/2} (A + I) D^{-1/2}``, the GCN's normalized adjacency: one hop,
    no activation, no hidden layer. Trained like :class:`~graphae.models.gae.GAE` (the
    exact weighted all-pairs loss, or ``loss="sampled"``). The defaults are the
    paper's (its ``README`` commands, ``train.py`` flags): latent dimension 16, Adam
    lr 0.01, 200 epochs, no dropout. The paper reports each dataset with and without
    features; ``use_features=False`` (or a graph without features) gives ``Z = \hat A W``.
    It has no ``hidden_channels``: the encoder has no hidden layer.

    Example:
        >>> from graphae.data import make_communities
        >>> from graphae.models.linear import LinearGAE
        >>> model = LinearGAE(epochs=20, random_state=0).fit(make_communities(num_nodes=200))
        >>> model.embedding_.shape
        (200, 16)
    """

    def build_module(self, in_channels: int, generator: torch.Generator | None = None) -> GraphAutoencoder:
        return GraphAutoencoder(
            LinearEncoder(in_channels, self.out_channels, generator), InnerProductDecoder()
        )


class LinearVGAE(_Linear):
    r"""Linear variational graph autoencoder: one-hop linear heads for mu and log sigma, KL term (Salha et al., 2020).

    .. math::
        \mu = \hat A X W_\mu,\ \log\sigma = \hat A X W_\sigma,\
        z = \mu + \sigma \odot \epsilon, \qquad
        L = L_{rec} + \tfrac1N \mathrm{KL}(q(Z \mid X, A) \,\|\, N(0, I))

    As :class:`LinearGAE`, with Gaussian codes and the KL term weighted as in
    :class:`~graphae.models.gae.VGAE` (the reference code's ``OptimizerVAE``, from
    tkipf/gae); embeddings are the means ``mu``. It has no ``hidden_channels``.
    """

    def build_module(self, in_channels: int, generator: torch.Generator | None = None) -> GraphAutoencoder:
        encoder = VariationalLinearEncoder(in_channels, self.out_channels, generator)
        return GraphAutoencoder(encoder, InnerProductDecoder())
