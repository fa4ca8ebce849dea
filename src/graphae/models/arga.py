"""ARGA and ARVGA: graph autoencoders whose codes a discriminator pushes toward N(0, I).

Pan, Hu, Long, Jiang, Yao & Zhang, *Adversarially Regularized Graph Autoencoder for Graph
Embedding*, IJCAI 2018 (arXiv 1802.04407); reference code Ruiqi-Hu/ARGA. The defaults are
that code's (``settings.py``, ``constructor.py``, ``optimizer.py``, ``model.py``):

- encoder: GCN with ``hidden1 = 32`` and ``hidden2 = 32`` units (``out_channels=32``);
- discriminator: MLP ``32 -> 64 -> 32 -> 1`` with ReLU (``hidden3 = 64``, then ``hidden1``);
- per epoch: 5 reconstruction steps (Adam, ``learning_rate = 0.5 * 0.001``), one
  discriminator step and one generator step (Adam, ``discriminator_learning_rate = 0.001``);
- link prediction: ``4 * iterations = 200`` epochs, the exact weighted all-pairs loss
  (``loss="auto"``: exact up to 50,000 nodes, so on all the paper's graphs).

One thing of the reference code is left out: its ARGA adds Gaussian noise (std 0.1) to the
hidden GCN layer, also when it computes the embeddings it scores; graphae's ARGA encoder
is the plain GCN encoder of the GAE.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from graphae.estimator import GraphAutoencoderEstimator
from graphae.nn import GCNEncoder, InnerProductDecoder, VariationalGCNEncoder
from graphae.nn.discriminator import AdversarialGraphAutoencoder, Discriminator
from graphae.params import Integer, Param, PositiveFloat
from graphae.training import Objective
from graphae.training.adversarial import AdversarialObjective

__all__ = ["ARGA", "ARVGA"]


class _Adversarial(GraphAutoencoderEstimator):
    """The parameters and training shared by ARGA and ARVGA.

    Args:
        discriminator_lr: Adam learning rate of the discriminator step and of the
            encoder's adversarial (generator) step (reference: 0.001).
        reconstruction_steps: Reconstruction steps per epoch, at learning rate ``lr``
            (reference: 5).
        hidden_channels, out_channels, loss, epochs, lr, ...: As for
            :class:`~graphae.estimator.GraphAutoencoderEstimator`; ``lr`` is that of the
            reconstruction steps (reference: 0.0005) and ``out_channels`` defaults to 32.
    """

    params: ClassVar[dict[str, Any]] = {
        "discriminator_lr": Param(0.001, PositiveFloat()),
        "reconstruction_steps": Param(5, Integer(1)),
        "out_channels": 32,
        "lr": 0.0005,
    }

    def build_objective(self) -> Objective:
        return AdversarialObjective(
            self.loss,
            self.lr,
            self.discriminator_lr,
            int(self.reconstruction_steps),
            owner=type(self).__name__,
            fastgae_nodes=int(self.fastgae_nodes),
            fastgae_alpha=float(self.fastgae_alpha),
            batch_size=self.batch_size,
        )


class ARGA(_Adversarial):
    r"""Adversarially regularized graph autoencoder: GAE whose codes a discriminator pushes toward N(0, I) (Pan et al., 2018).

    .. math::
        Z = \hat A \,\mathrm{ReLU}(\hat A X W_0)\, W_1, \qquad
        \min_{\mathcal G} \max_{\mathcal D}\ L_{rec}(Z)
        + \mathbb E_{a \sim N(0, I)} \log \mathcal D(a) + \mathbb E_{z} \log(1 - \mathcal D(z))

    The GAE's GCN encoder and inner-product decoder, and an MLP discriminator trained in
    alternation with the encoder (see :mod:`graphae.training.adversarial`). Defaults
    follow the authors' code (see :mod:`graphae.models.arga`).

    Example:
        >>> from graphae.data import make_communities
        >>> from graphae.models.arga import ARGA
        >>> model = ARGA(epochs=20, random_state=0).fit(make_communities(num_nodes=200))
        >>> model.embedding_.shape
        (200, 32)
    """

    def build_module(
        self, in_channels: int, generator: torch.Generator | None = None
    ) -> AdversarialGraphAutoencoder:
        encoder = GCNEncoder(in_channels, self.hidden_channels, self.out_channels, generator)
        discriminator = Discriminator(self.out_channels, (64, self.hidden_channels), generator)
        return AdversarialGraphAutoencoder(encoder, discriminator, InnerProductDecoder())


class ARVGA(_Adversarial):
    r"""Adversarially regularized variational graph autoencoder: VGAE with a discriminator on its codes (Pan et al., 2018).

    .. math::
        z = \mu + \sigma \odot \epsilon, \qquad
        \min_{\mathcal G} \max_{\mathcal D}\ L_{rec}(Z) + \tfrac1N \mathrm{KL}(q \,\|\, N(0, I))
        + \mathbb E_{a \sim N(0, I)} \log \mathcal D(a) + \mathbb E_{z} \log(1 - \mathcal D(z))

    The VGAE's encoder (shared GCN layer, heads for ``mu`` and ``log sigma``) and
    inner-product decoder; the discriminator sees the sampled codes ``z``; embeddings
    are the means ``mu``. Defaults follow the authors' code (see :mod:`graphae.models.arga`).
    """

    def build_module(
        self, in_channels: int, generator: torch.Generator | None = None
    ) -> AdversarialGraphAutoencoder:
        encoder = VariationalGCNEncoder(in_channels, self.hidden_channels, self.out_channels, generator)
        discriminator = Discriminator(self.out_channels, (64, self.hidden_channels), generator)
        return AdversarialGraphAutoencoder(encoder, discriminator, InnerProductDecoder())
