r"""Training one model on several processes or machines: ``torch.distributed`` with DDP.

Under ``torchrun`` (which sets ``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT`` in every process it starts) a fit trains **one** model with all the processes:

- **The group.** :func:`context` initialises the default process group once (gloo on the CPU,
  nccl on CUDA, each process on ``cuda:LOCAL_RANK``), unless the user's code did it first;
  what graphae initialised it destroys at exit, or earlier by :func:`shutdown`.
- **What is split.** Every process holds the whole training graph and runs the encoder on it
  (a GCN needs every node's neighbours); the *edges to reconstruct* are split: rank ``r`` of
  ``P`` takes edges ``r, r + P, r + 2P, ...`` (:meth:`GraphTensors.sharded`), and draws as
  many negatives, from a generator seeded by ``random_state`` and ``r`` (:func:`fit_seeds`).
  The pair scoring, the largest part of a sampled-loss epoch on a large graph, is divided by
  ``P``; the encoder is not.
- **Gradients.** The objective's whole loss (encoder, decoder and any other module of the
  model) is the forward of one ``DistributedDataParallel`` module (:meth:`DistributedContext.wrap`),
  so every parameter's gradient is averaged over the ranks. The mean over ranks of each rank's
  mean loss is the one-process loss up to shard sizes that differ by at most one edge, so one
  step of ``P`` processes is one full-batch step. All ranks start from rank 0's parameters
  (DDP broadcasts them) and stay equal (same averaged gradients, same Adam).
- **Decisions.** Rank 0 alone scores the validation pairs and broadcasts the scores
  (:meth:`DistributedContext.broadcast`), so early stopping and ``select_best`` decide alike
  everywhere; an epoch's logs are averaged over the ranks (:meth:`DistributedContext.mean`).
- **Checkpoints.** Every rank passes the same checkpoint path; when one is due, the ranks'
  random states (each draws its own negatives) are gathered and rank 0 writes one file with
  the shared parameters and optimizer state beside them. Resuming needs the same number of
  processes, each reading that file (a folder every machine sees, as the data files are) and
  taking its own random state back: the run ends as the uninterrupted one, bit for bit.

Without those variables and without an initialised group, :func:`context` is ``None`` and
nothing here runs: training is that of one process, bit for bit.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from graphae.errors import InputError

# Set by torchrun in each process; the first two say that this is a distributed launch.
LAUNCH_VARIABLES = ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")

_initialised_here = False  # whether graphae initialised the process group (and must destroy it)
_shutdown_at_exit = False  # whether shutdown is registered with atexit (once per process)


@dataclass(frozen=True)
class DistributedContext:
    """This process's place in the group: rank, world size and device.

    Attributes:
        rank: Global rank ``r`` in ``[0, P)``; rank 0 evaluates and writes.
        world_size: Number of processes ``P`` (on all machines).
        local_rank: Rank on this machine (the CUDA device index).
        device: The device this process trains on.
    """

    rank: int
    world_size: int
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0, the one that evaluates, prints and writes."""
        return self.rank == 0

    def broadcast(self, obj: Any) -> Any:
        """Rank 0's ``obj`` (any picklable value) on every rank; the others' ``obj`` is ignored."""
        box = [obj if self.is_main else None]
        dist.broadcast_object_list(box, src=0, device=self._collective_device)
        return box[0]

    def mean(self, logs: dict[str, float]) -> dict[str, float]:
        """The mean over the ranks of each value (every rank logs the same names), in float64."""
        values = torch.tensor(list(logs.values()), dtype=torch.float64, device=self._collective_device)
        dist.all_reduce(values)
        values /= self.world_size
        return dict(zip(logs, values.tolist(), strict=True))

    def wrap(self, model: nn.Module, loss: Callable[..., torch.Tensor]) -> nn.Module:
        """``loss(model, *args)`` as the forward of a ``DistributedDataParallel`` module.

        Calling the result with ``*args`` computes the loss; its ``backward()`` averages
        the gradient of every parameter of ``model`` over the ranks. Wrapping the loss, not
        ``model`` alone, matters: a decoder or discriminator called outside ``model.forward``
        is inside this forward. Every parameter must take part in every loss (DDP's rule).
        """
        ids = [self.device.index] if self.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(_LossForward(model, loss), device_ids=ids)

    @property
    def _collective_device(self) -> torch.device:
        # nccl moves only CUDA tensors (on the device set at initialisation); gloo, CPU ones.
        if dist.get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")


class _LossForward(nn.Module):
    """A module whose forward is a loss of ``model``: what DDP wraps (see :meth:`DistributedContext.wrap`)."""

    def __init__(self, model: nn.Module, loss: Callable[..., torch.Tensor]) -> None:
        super().__init__()
        self.model = model
        self.loss = loss

    def forward(self, *args: Any) -> torch.Tensor:
        return self.loss(self.model, *args)


def launched() -> bool:
    """Whether a launcher (``torchrun``) started this process as one rank of several: ``WORLD_SIZE`` and ``RANK`` are set."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def context(device: torch.device) -> DistributedContext | None:
    """This process's :class:`DistributedContext`, initialising the group under ``torchrun``.

    Args:
        device: The device asked for; ``cuda`` without an index becomes ``cuda:LOCAL_RANK``.

    Returns:
        ``None`` when the process is alone (no group, not launched by ``torchrun``).

    Raises:
        InputError: If the launch variables are incomplete or not integers.
    """
    if dist.is_available() and not dist.is_initialized() and launched():
        _initialise(local_device(device))
    return current(device)


def current(device: torch.device | str = "cpu") -> DistributedContext | None:
    """The :class:`DistributedContext` of the initialised group (``None``: none is), initialising nothing."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    return DistributedContext(dist.get_rank(), dist.get_world_size(), _local_rank(), local_device(device))


def all_gather(obj: Any) -> list[Any]:
    """Every rank's ``obj`` (any picklable value) on every rank, in rank order; ``[obj]`` alone."""
    if not (dist.is_available() and dist.is_initialized()):
        return [obj]
    box: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(box, obj)
    return box


def rank_0s(value: Any) -> Any:
    """Rank 0's ``value`` on every rank of the initialised group (each waits for rank 0); ``value`` alone."""
    group = current()
    return value if group is None else group.broadcast(value)


def world_size() -> int:
    """Number of processes training together (1 when alone)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def expected_world_size() -> int:
    """Processes training together: the group's size, else ``WORLD_SIZE`` under ``torchrun`` (before the group starts), else 1."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return _env_int("WORLD_SIZE") if launched() else 1


def rank() -> int:
    """This process's rank: from the group when initialised, else from ``RANK`` (0 when alone)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return _env_int("RANK") if launched() else 0


def local_device(device: torch.device | str) -> torch.device:
    """``cuda:LOCAL_RANK`` for ``cuda`` without an index; any other device as given."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", _local_rank() % max(1, torch.cuda.device_count()))
    return device


# Keys of the streams derived from one ``random_state`` (:func:`stream_seed`).
_INIT_STREAM, _NOISE_STREAM, OWNED_ROWS_STREAM = 0, 1, 2


def stream_seed(random_state: int, key: int, *more: int) -> int:
    """The seed of stream ``key`` (and ``more``, e.g. a rank) of ``random_state``: numpy's
    ``SeedSequence`` of them all, so no two streams repeat each other's bits."""
    entropy = [int(random_state), int(key), *(int(m) for m in more)]
    return int(np.random.SeedSequence(entropy).generate_state(1, np.uint64)[0])


def fit_seeds(random_state: int | None, rank: int) -> tuple[int | None, int | None]:
    """Seeds of a fit's two generators, ``(init, noise)``, for rank ``rank`` (0 without torchrun).

    ``init`` draws the initial parameters, alike on every rank; ``noise`` draws what the
    steps sample (negatives, VGAE noise, dropout masks, MaskGAE's masks), one stream per
    rank, so rank 0 draws what a plain fit draws. Each comes from numpy's ``SeedSequence``
    of ``random_state`` and a key of its own, so no stream repeats another's bits.
    ``None`` stays ``None``: fresh randomness.
    """
    if random_state is None:
        return None, None
    return stream_seed(random_state, _INIT_STREAM), stream_seed(random_state, _NOISE_STREAM, rank)


def shutdown() -> None:
    """Destroy the process group if graphae initialised it (a user's group is left alone)."""
    global _initialised_here
    if _initialised_here and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
    _initialised_here = False


def _initialise(device: torch.device) -> None:
    global _initialised_here, _shutdown_at_exit
    missing = [name for name in LAUNCH_VARIABLES if name not in os.environ and name != "LOCAL_RANK"]
    if missing:
        raise InputError(
            f"WORLD_SIZE and RANK are set, so this process is one of several, but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not: start it with torchrun (or set MASTER_ADDR and MASTER_PORT)."
        )
    size, rank_ = _env_int("WORLD_SIZE"), _env_int("RANK")
    if not 0 <= rank_ < size:
        raise InputError(f"RANK must be in [0, WORLD_SIZE). Got RANK={rank_}, WORLD_SIZE={size}.")
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device)
    else:
        dist.init_process_group("gloo")
    _initialised_here = True
    if not _shutdown_at_exit:
        atexit.register(shutdown)
        _shutdown_at_exit = True


def _local_rank() -> int:
    return _env_int("LOCAL_RANK") if "LOCAL_RANK" in os.environ else 0


def _env_int(name: str) -> int:
    text = os.environ[name]
    try:
        return int(text)
    except ValueError:
        raise InputError(f"The environment variable {name} must be an integer. Got {text!r}.") from None
