"""Scoring the held-out pairs of a partitioned run: each rank scores the pairs whose first
node it owns (the second node's ``z`` fetched from its owner), and rank 0 computes AUC and AP
from every rank's logits and labels (5 bytes a pair: no rank holds the graph).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.distributed as dist

from graphae.metrics import auc_ap
from graphae.training.halo import fetch

if TYPE_CHECKING:
    from graphae.training.partitioned import PartTensors


class PairScorer:
    """Scores of the held-out pairs whose first node this rank owns; AUC and AP on rank 0."""

    def __init__(self, data: PartTensors, pairs: np.ndarray) -> None:
        self.first = torch.from_numpy(np.searchsorted(data.part.nodes, pairs[0])).to(data.device)
        self.labels = pairs[4].astype(np.int8)  # gathered at rank 0 with the logits: 5 bytes a pair
        self.plan, self.back = data.pair_plan(pairs[2], pairs[3])

    @torch.no_grad()
    def score(self, z: torch.Tensor) -> tuple[float, float] | None:
        """AUC and AP at rank 0 (``None`` elsewhere) from ``z``, the own rows of every rank."""
        logits = (z[self.first] * fetch(z, self.plan)[self.back]).sum(1).cpu().numpy()
        shares = gather_at_rank0([logits, self.labels])
        if shares is None:
            return None
        logits = np.concatenate([s[0] for s in shares])
        labels = np.concatenate([s[1] for s in shares])
        return auc_ap(logits[labels == 1], logits[labels == 0])


def gather_at_rank0(obj: Any) -> list[Any] | None:
    """Every rank's ``obj`` at rank 0 (``None`` elsewhere)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    box = [None] * dist.get_world_size() if dist.get_rank() == 0 else None
    dist.gather_object(obj, box, dst=0)
    return box
