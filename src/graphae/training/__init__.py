"""Training: the torch-side graph and its batches, objectives, the loop, checkpoints,
and training one model on several processes (:mod:`graphae.training.distributed`).

Dependencies point one way: this package uses :mod:`graphae.nn`, :mod:`graphae.losses`,
:mod:`graphae.sampling` and :mod:`graphae.metrics`, and knows no estimator, file
format or command.
"""

from graphae.training.checkpoint import Checkpointer, load_checkpoint
from graphae.training.data import GraphTensors, cpu_threads, features_to_tensor, resolve_device
from graphae.training.distributed import DistributedContext
from graphae.training.fastgae import SubgraphSampler
from graphae.training.loop import FitResult, train
from graphae.training.objectives import (
    AUTO_EXACT_MAX_NODES,
    LOSSES,
    Objective,
    ReconstructionObjective,
    make_adam,
    resolve_loss,
)
from graphae.training.progress import Callback, EpochProgress
from graphae.training.scoring import decode_pairs, embed, score_pairs

__all__ = [
    "AUTO_EXACT_MAX_NODES",
    "LOSSES",
    "Callback",
    "Checkpointer",
    "DistributedContext",
    "EpochProgress",
    "FitResult",
    "GraphTensors",
    "Objective",
    "ReconstructionObjective",
    "SubgraphSampler",
    "cpu_threads",
    "decode_pairs",
    "embed",
    "features_to_tensor",
    "load_checkpoint",
    "make_adam",
    "resolve_device",
    "resolve_loss",
    "score_pairs",
    "train",
]
