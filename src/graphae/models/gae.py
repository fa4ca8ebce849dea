"""GAE and VGAE (Kipf & Welling, *Variational Graph Auto-Encoders*, 2016)."""

from __future__ import annotations

import torch

from graphae.estimator import GraphAutoencoderEstimator
from graphae.nn import GCNEncoder, GraphAutoencoder, InnerProductDecoder, VariationalGCNEncoder


class GAE(GraphAutoencoderEstimator):
    r"""Graph autoencoder: two-layer GCN encoder, inner-product decoder (Kipf & Welling, 2016).

    .. math::
        Z = \hat A \,\mathrm{ReLU}(\hat A X W_0)\, W_1, \qquad
        p(A_{ij} = 1) = \sigma(z_i \cdot z_j)

    Parameters default to the paper: GCN 32-16, Adam lr 0.01, 200 epochs, the exact
    all-pairs reconstruction loss (``loss="auto"``: exact up to 50,000 nodes, the sampled
    loss on larger graphs). See :class:`~graphae.estimator.GraphAutoencoderEstimator`
    for the parameters.

    Example:
        >>> from graphae import GAE
        >>> from graphae.data import make_communities
        >>> model = GAE(epochs=20, random_state=0).fit(make_communities(num_nodes=200))
        >>> model.embedding_.shape
        (200, 16)
    """

    def build_module(self, in_channels: int, generator: torch.Generator | None = None) -> GraphAutoencoder:
        encoder = GCNEncoder(in_channels, self.hidden_channels, self.out_channels, generator)
        return GraphAutoencoder(encoder, InnerProductDecoder())


class VGAE(GraphAutoencoderEstimator):
    r"""Variational graph autoencoder: Gaussian codes, reparameterization, KL term (Kipf & Welling, 2016).

    .. math::
        \mu = \mathrm{GCN}_\mu(X, A),\ \log\sigma = \mathrm{GCN}_\sigma(X, A),\
        z = \mu + \sigma \odot \epsilon, \qquad
        L = L_{rec} + \tfrac1N \mathrm{KL}(q(Z \mid X, A) \,\|\, N(0, I))

    As :class:`GAE`, with a shared first GCN layer and two heads; embeddings are the means ``mu``.
    """

    def build_module(self, in_channels: int, generator: torch.Generator | None = None) -> GraphAutoencoder:
        encoder = VariationalGCNEncoder(in_channels, self.hidden_channels, self.out_channels, generator)
        return GraphAutoencoder(encoder, InnerProductDecoder())
