"""Scores of node pairs through a model's decoder: embeddings, logits, AUC and AP."""

from __future__ import annotations

import numpy as np
import torch

from graphae.metrics import auc_ap
from graphae.nn.decoders import Decoder
from graphae.nn.models import GraphAutoencoder
from graphae.training.data import GraphTensors

# Pairs decoded at once: bounds the memory of scoring millions of pairs.
_PAIR_CHUNK = 1 << 22


@torch.no_grad()
def embed(model: GraphAutoencoder, data: GraphTensors) -> torch.Tensor:
    """Evaluation-mode embedding ``mu`` (``z`` for a deterministic encoder), ``[N, d]``."""
    was_training = model.training
    model.eval()
    try:
        return model(data.x, data.adj).mu
    finally:
        model.train(was_training)


@torch.no_grad()
def decode_pairs(decoder: Decoder, z: torch.Tensor, pairs: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Logits of node pairs through ``decoder`` in evaluation mode (no dropout), in chunks.

    Shapes:
        z: ``[N, d]``; pairs: ``[2, k]`` node indices; returns ``[k]`` on ``z``'s device.
    """
    idx = torch.as_tensor(pairs, device=z.device, dtype=torch.long)
    was_training = decoder.training
    decoder.eval()  # validation runs between training steps: a decoder with dropout must not drop
    try:
        if idx.shape[1] <= _PAIR_CHUNK:
            return decoder(z, idx)
        chunks = range(0, idx.shape[1], _PAIR_CHUNK)
        return torch.cat([decoder(z, idx[:, s : s + _PAIR_CHUNK]) for s in chunks])
    finally:
        decoder.train(was_training)


def score_pairs(decoder: Decoder, z: torch.Tensor, pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """AUC and AP of positive ``[2, k]`` against negative ``[2, m]`` pairs."""
    return auc_ap(decode_pairs(decoder, z, pos).cpu().numpy(), decode_pairs(decoder, z, neg).cpu().numpy())
