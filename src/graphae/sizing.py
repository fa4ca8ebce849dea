"""Sizes checked before anything is allocated: a model's memory against the machine's.

The ranking negatives of the evaluation (``P`` test edges times ``K`` negatives) are
checked the same way (:func:`check_ranking_size`).

A model is built once on PyTorch's ``meta`` device, where tensors have shapes but no
storage, so its exact parameter count is known without allocating it. The estimate of
what training needs is then

    bytes ~ 4 * (4 * P + 4 * N * (hidden + 2 * latent))

for ``P`` float32 parameters (each with a gradient and Adam's two moments) and the
activations of ``N`` nodes (forward and backward, ``mu`` and ``logstd``). It is a lower
bound: the loss adds its own (``O(N^2)`` for the exact loss; see the large-graph notes).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import torch

from graphae.errors import InputError

if TYPE_CHECKING:
    from graphae.estimator import GraphAutoencoderEstimator

GIB = 2**30
_ADVICE = "Choose a smaller hidden_channels or out_channels (--hidden, --latent)."


def physical_memory(device: torch.device | None = None) -> int | None:
    """Bytes of memory of ``device`` (the machine's RAM for the CPU); ``None`` when unknown."""
    if device is not None and device.type == "cuda":
        return int(torch.cuda.get_device_properties(device).total_memory)
    try:
        return int(os.sysconf("SC_PHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def shape_module(est: GraphAutoencoderEstimator, in_channels: int) -> torch.nn.Module:
    """``est``'s module for ``in_channels`` inputs on the ``meta`` device: shapes, no storage.

    Raises:
        InputError: If the sizes cannot even be represented (more than 2^63 elements).
    """
    try:
        with torch.device("meta"):
            return est.build_module(int(in_channels), torch.Generator())
    except (RuntimeError, OverflowError, TypeError) as err:
        if "overflow" not in str(err).lower():
            raise  # not a size that torch cannot count: a bug, shown as one
        raise InputError(
            f"{_describe(est)} with {in_channels} input channels cannot be built: its tensors would have "
            f"more elements than a 64-bit index can count. {_ADVICE}"
        ) from None


def training_bytes(est: GraphAutoencoderEstimator, in_channels: int, num_nodes: int) -> int:
    """The estimate above of the memory a fit of ``est`` needs, in bytes."""
    params = sum(p.numel() for p in shape_module(est, in_channels).parameters())
    hidden = int(getattr(est, "hidden_channels", 0) or 0)
    latent = int(getattr(est, "out_channels", 0) or 0)
    return 4 * (4 * params + 4 * num_nodes * (hidden + 2 * latent))


def check_model_size(
    est: GraphAutoencoderEstimator, in_channels: int, num_nodes: int, device: torch.device | None = None
) -> None:
    """Refuse a model that cannot fit in the memory of ``device``, before allocating it.

    Raises:
        InputError: If the estimate exceeds the device's memory; the message gives both.
    """
    available = physical_memory(device)
    if available is None:
        return
    need = training_bytes(est, in_channels, num_nodes)
    if need > available:
        where = "this machine" if device is None or device.type == "cpu" else str(device)
        raise InputError(
            f"{_describe(est)} on {num_nodes} nodes with {in_channels} input channels needs about "
            f"{need / GIB:.1f} GiB to train (parameters, gradients, Adam state, activations); "
            f"{where} has {available / GIB:.1f} GiB. {_ADVICE}"
        )


# Bytes per ranking pair at the peak: the drawn targets and their temporaries (int64),
# then the pairs and their float64 scores when the run is scored.
RANKING_PAIR_BYTES = 48


def check_ranking_size(num_pos: int, num_negatives: int) -> None:
    """Refuse ``num_negatives`` ranking negatives per test edge that cannot fit in memory.

    Raises:
        InputError: If ``num_pos * num_negatives`` pairs exceed the machine's memory; the
            message names the option and its value.
    """
    available = physical_memory(None)
    need = RANKING_PAIR_BYTES * int(num_pos) * int(num_negatives)
    if available is None or need <= available:
        return
    raise InputError(
        f"ranking_negatives={num_negatives} (CLI: --ranking-negatives) ranks each of the {num_pos} test "
        f"edges against {num_negatives} negatives: about {need / GIB:.1f} GiB; this machine has "
        f"{available / GIB:.1f} GiB. Choose fewer (the default is 100), or 0 to rank against the "
        "shared test non-edges only."
    )


def _describe(est: GraphAutoencoderEstimator) -> str:
    sizes = [f"{k}={getattr(est, k)}" for k in ("hidden_channels", "out_channels") if hasattr(est, k)]
    return f"{type(est).__name__}({', '.join(sizes)})"
