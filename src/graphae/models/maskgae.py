"""MaskGAE: masked graph modelling for graph autoencoders (Li et al., KDD 2023, arXiv 2205.10053).

Reference code: EdisonLeeeee/MaskGAE (``train_linkpred.py``, ``maskgae/model.py``,
``maskgae/mask.py``). Its link-prediction settings, which graphae's defaults start from:

- encoder: one GCN layer of 128 units with batch norm and ELU, dropout 0.8 on its input
  (``--encoder_layers 1 --encoder_channels 128 --hidden_channels 128 --bn``);
- edge decoder: MLP ``128 -> 64 -> 1`` on ``z_i * z_j``, dropout 0.2 on the product (graphae's
  default drops between the layers instead; ``decoder_input_dropout`` drops where the
  reference does); degree decoder: MLP ``128 -> 64 -> 1``, squared error on the raw degree
  of the masked edges, weight 0.003;
- masking: paths (walks of ``encoder_layers + 1 = 2`` steps, started from the source of
  each edge orientation picked with probability 0.7) or edges (``p = 0.7``);
- one negative per masked edge, cross-entropy; Adam, lr 0.01, weight decay 5e-5,
  gradient norm clipped at 1; 500 epochs, validation every 10, the best epoch kept.

What graphae does differently, and why:

- an undirected edge is hidden or shown as a whole (the reference hides each orientation
  on its own, so the encoder sees about a third of the edges it must reconstruct); hence
  ``mask_ratio`` does not mean the same as the reference's ``p``. ``mask_orientations=True``
  masks as the reference does, and ``mask_ratio`` is then its ``p``;
- the degree target is ``log(1 + degree)`` (squared errors on raw degrees are dominated by
  the hubs of heavy-tailed graphs), so its weight is larger;
- on a graph without features the input is a learned embedding table (Ma et al., 2024);
- the model is fitted on the training edges alone and scored once on the test edges;
  the reference reuses one model across its runs and encodes the test graph with the
  validation edges in it.

The defaults below are those that scored best on *validation* pairs (see BENCHMARKS.md
and ``benchmarks/maskgae.py``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from graphae.errors import ParameterError
from graphae.estimator import GraphAutoencoderEstimator
from graphae.nn import InnerProductDecoder
from graphae.nn.deep_encoder import DeepGCNEncoder, MaskedGraphAutoencoder
from graphae.nn.mlp_decoder import DegreeDecoder, HadamardMLPDecoder
from graphae.params import NOT_USED, Boolean, FloatInterval, Integer, NoneOr, Options, Param
from graphae.training import Objective
from graphae.training.masking import MASKS, MaskedEdgeObjective

__all__ = ["MaskGAE"]


class MaskGAE(GraphAutoencoderEstimator):
    r"""Masked graph autoencoder: hide edges, encode the rest, reconstruct them with an MLP (Li et al., 2023).

    .. math::
        Z = \mathrm{GCN}_{BN}(X, \hat A_{vis}), \qquad
        p(A_{ij} = 1) = \sigma\big(\mathrm{MLP}(z_i \odot z_j)\big), \qquad
        L = \mathrm{BCE}_{E_{mask} \cup E^-} + \alpha\, \mathrm{MSE}(\hat d, \log(1 + d_{mask}))

    At every step a part of the training edges is hidden (``mask``, ``mask_ratio``;
    :mod:`graphae.training.masking`), the encoder (:class:`~graphae.nn.deep_encoder.DeepGCNEncoder`)
    sees only the others, and a Hadamard-product MLP
    (:class:`~graphae.nn.mlp_decoder.HadamardMLPDecoder`) scores the hidden edges against
    ``num_negatives`` sampled non-edges each, while a degree decoder predicts how many
    hidden edges each node has. For embeddings and every score the encoder sees the whole
    training graph, and every pair is scored by the MLP decoder.

    With validation pairs, ``select_best=True`` and ``eval_every=10`` keep the best epoch,
    as the reference code does (``graphae train --select-best --eval-every 10``).

    Args:
        mask: ``"path"`` (random walks), ``"edge"`` or ``"none"`` (no masking: a GAE with
            these decoders).
        mask_ratio: Probability of hiding an edge (``"edge"``) or of starting a walk from an
            edge orientation (``"path"``), in ``[0, 1)``.
        mask_orientations: Hide each orientation of an undirected edge on its own, as the
            reference code does: every hidden orientation is reconstructed, and the encoder
            sees an edge unless both of its orientations are hidden (False: an edge is hidden
            or shown whole, so the encoder never sees what it reconstructs).
        walk_length: Steps of each walk of ``mask="path"`` (``None``: encoder layers + 1).
        num_layers: GCN layers of the encoder (``None``: 1 on node features, as the reference;
            2 on learned embeddings, which scored better on validation on power-law graphs).
        hidden_channels: Width of the encoder's layers before the last.
        out_channels: Width of the codes.
        encoder_dropout: Dropout on the input of each GCN layer.
        batch_norm: Batch normalisation after each GCN layer.
        decoder_channels: Width of the hidden layers of the edge and degree decoders.
        decoder_layers: Linear layers of those decoders (0: an inner-product edge
            decoder, and no degree decoder).
        decoder_dropout: Dropout between the decoders' layers.
        decoder_input_dropout: Dropout on the edge decoder's input ``z_i * z_j`` (the
            reference's place, 0.2 there with none between the layers).
        alpha: Weight of the degree loss (0: no degree decoder).
        embedding_channels: On a graph without features (or ``use_features=False``), the
            width of a learned node embedding fed to the encoder (0: identity features).
        num_negatives: Non-edges sampled per hidden edge at each step.
        weight_decay: Adam's L2 penalty.
        grad_clip: Largest gradient norm (0: no clipping).
        loss: Must be ``"sampled"`` (the only loss of this model); it has no
            ``fastgae_nodes`` or ``fastgae_alpha``.
        batch_size: Hidden edges scored at a time, in chunks whose gradients add up to the
            step's (see :mod:`graphae.training.chunks`; ``"auto"``: chunks above 8M
            training edges).
        epochs, lr, ...: As for :class:`~graphae.estimator.GraphAutoencoderEstimator`.

    Example:
        >>> from graphae.data import make_communities
        >>> from graphae.models.maskgae import MaskGAE
        >>> model = MaskGAE(epochs=20, random_state=0).fit(make_communities(num_nodes=200))
        >>> model.embedding_.shape
        (200, 128)
    """

    params: ClassVar[dict[str, Any]] = {
        "mask": Param("edge", Options(MASKS)),
        "mask_ratio": Param(0.5, FloatInterval(0.0, 1.0)),
        "mask_orientations": Param(False, Boolean()),
        "walk_length": Param(None, NoneOr(Integer(1))),
        "num_layers": Param(None, NoneOr(Integer(1))),
        "hidden_channels": 128,
        "out_channels": 128,
        "encoder_dropout": Param(0.8, FloatInterval(0.0, 1.0)),
        "batch_norm": Param(True, Boolean()),
        "decoder_channels": Param(64, Integer(1)),
        "decoder_layers": Param(2, Integer(0)),
        "decoder_dropout": Param(0.2, FloatInterval(0.0, 1.0)),
        "decoder_input_dropout": Param(0.0, FloatInterval(0.0, 1.0)),
        "alpha": Param(0.1, FloatInterval(0.0)),
        "embedding_channels": Param(128, Integer(0)),
        "num_negatives": Param(1, Integer(1)),
        "weight_decay": Param(5e-5, FloatInterval(0.0)),
        "grad_clip": Param(1.0, FloatInterval(0.0)),
        "loss": "sampled",
        "epochs": 500,
        "fastgae_nodes": NOT_USED,  # no exact loss, so no FastGAE subgraphs
        "fastgae_alpha": NOT_USED,
    }

    def _validate_params(self) -> None:
        super()._validate_params()
        if self.loss not in ("sampled", "auto"):  # "auto" resolves to "sampled": no exact loss
            raise ParameterError(
                f"The 'loss' parameter of {type(self).__name__} must be 'sampled' or 'auto' (hidden edges "
                f"against sampled non-edges; its MLP decoder has no exact all-pairs loss). Got {self.loss!r}."
            )

    @property
    def _degree_decoder(self) -> bool:
        return self.alpha > 0 and self.decoder_layers > 0

    def _embeds_nodes(self) -> bool:
        """Whether the encoder's input is a learned node embedding (no features are used)."""
        return not getattr(self, "features_used_", True) and self.embedding_channels > 0

    def _layers(self) -> int:
        if self.num_layers is not None:
            return int(self.num_layers)
        return 2 if self._embeds_nodes() else 1

    def build_module(
        self, in_channels: int, generator: torch.Generator | None = None
    ) -> MaskedGraphAutoencoder:
        encoder = DeepGCNEncoder(
            in_channels,
            self.hidden_channels,
            self.out_channels,
            num_layers=self._layers(),
            dropout=float(self.encoder_dropout),
            batch_norm=bool(self.batch_norm),
            embedding_channels=int(self.embedding_channels) if self._embeds_nodes() else None,
            generator=generator,
        )
        width, layers, drop = (
            int(self.decoder_channels),
            int(self.decoder_layers),
            float(self.decoder_dropout),
        )
        in_drop = float(self.decoder_input_dropout)
        decoder = (
            HadamardMLPDecoder(self.out_channels, width, layers, drop, generator, input_dropout=in_drop)
            if layers > 0
            else InnerProductDecoder()
        )
        degree = (
            DegreeDecoder(self.out_channels, width, layers, drop, generator) if self._degree_decoder else None
        )
        return MaskedGraphAutoencoder(encoder, decoder, degree)

    def build_objective(self) -> Objective:
        walk = self._layers() + 1 if self.walk_length is None else int(self.walk_length)
        return MaskedEdgeObjective(
            lr=float(self.lr),
            weight_decay=float(self.weight_decay),
            mask=self.mask,
            mask_ratio=float(self.mask_ratio),
            walk_length=walk,
            num_negatives=int(self.num_negatives),
            alpha=float(self.alpha) if self._degree_decoder else 0.0,
            grad_clip=float(self.grad_clip),
            orientations=bool(self.mask_orientations),
            owner=type(self).__name__,
            batch_size=self.batch_size,
        )
