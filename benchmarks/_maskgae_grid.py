"""The search grids of ``benchmarks/maskgae.py``: configurations in priority order, shards, choice.

A grid is a list of parameter changes from the defaults of
:class:`graphae.models.maskgae.MaskGAE`, most promising first: a shard ``i/K`` takes
configurations ``i, i + K, ...``, so that a time limit cuts the least promising ones.
The choice for the table is the configuration with the best mean *validation* AUC over the
search seeds; no test pair is scored by the search.

- ``small``: mask type, ratio and degree-loss weight (the first search, 12 configurations).
- ``wide``: the defaults, two settings of the reference code, one change at a time along
  each setting that plausibly matters, then random combinations of the main ones.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from graphae.models.maskgae import MaskGAE

SMALL = {"mask": ["edge", "path"], "mask_ratio": [0.3, 0.5, 0.7], "alpha": [0.0, 0.1]}
# The path mask's ratio is a start probability: ~1 - exp(-2 p L) of the edges are hidden.
PATH_RATIOS = {0.3: 0.1, 0.5: 0.2, 0.7: 0.35}

# The reference code's edge decoder drops its input (0.2) and nothing between its layers,
# and it hides each orientation of an edge on its own with p = 0.7.
REFERENCE = {
    "mask_orientations": True,
    "mask_ratio": 0.7,
    "decoder_dropout": 0.0,
    "decoder_input_dropout": 0.2,
}
WIDE_SINGLES: list[dict[str, Any]] = [
    {},
    REFERENCE,
    {**REFERENCE, "mask": "path"},
    {"out_channels": 256},
    {"out_channels": 512},
    {"mask_orientations": True, "mask_ratio": 0.7},
    {"decoder_dropout": 0.0, "decoder_input_dropout": 0.2},
    {"epochs": 1000},
    {"lr": 0.005, "epochs": 1000},
    {"lr": 0.02},
    {"encoder_dropout": 0.7},
    {"encoder_dropout": 0.9},
    {"out_channels": 512, "encoder_dropout": 0.9},
    {"decoder_channels": 128},
    {"decoder_channels": 256},
    {"decoder_layers": 3},
    {"mask_ratio": 0.3},
    {"mask_ratio": 0.7},
    {"alpha": 0.0},
    {"alpha": 0.3},
    {"decoder_dropout": 0.0},
    {"decoder_dropout": 0.5},
    {"weight_decay": 5e-4},
    {"weight_decay": 0.0},
    {"normalize_features": True},
    {"num_negatives": 3},
    {"mask": "path", "mask_ratio": 0.2},
    {"num_layers": 2, "hidden_channels": 256},
]
WIDE_SPACE: dict[str, list[Any]] = {
    "out_channels": [128, 256, 512],
    "encoder_dropout": [0.7, 0.8, 0.9],
    "lr": [0.005, 0.01, 0.02],
    "epochs": [500, 1000],
    "decoder_channels": [64, 128, 256],
    "decoder_dropout": [0.0, 0.2],
    "decoder_input_dropout": [0.0, 0.2],
    "mask_ratio": [0.5, 0.7],
    "mask_orientations": [False, True],
    "alpha": [0.0, 0.1],
}
WIDE_RANDOM = 24


def defaults() -> dict[str, Any]:
    return MaskGAE().get_params()


def changes(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without the entries equal to MaskGAE's defaults."""
    base = defaults()
    return {k: v for k, v in params.items() if k not in base or base[k] != v}


def describe(params: dict[str, Any]) -> str:
    """``"lr=0.005, epochs=1000"``, or ``"defaults"``."""
    diff = changes(params)
    return ", ".join(f"{k}={v}" for k, v in diff.items()) or "defaults"


def small() -> list[dict[str, Any]]:
    configs = []
    for mask, ratio, alpha in itertools.product(SMALL["mask"], SMALL["mask_ratio"], SMALL["alpha"]):
        p = PATH_RATIOS[ratio] if mask == "path" else ratio
        configs.append({"mask": mask, "mask_ratio": p, "alpha": alpha})
    return configs


def wide(num_random: int = WIDE_RANDOM, seed: int = 0) -> list[dict[str, Any]]:
    """The singles, then ``num_random`` distinct random combinations (seeded)."""
    configs = [changes(c) for c in WIDE_SINGLES]
    seen = {json.dumps(c, sort_keys=True) for c in configs}
    rng = np.random.default_rng(seed)
    added = 0
    while added < num_random:
        draw = {k: values[int(rng.integers(len(values)))] for k, values in WIDE_SPACE.items()}
        config = changes({k: v.item() if isinstance(v, np.generic) else v for k, v in draw.items()})
        key = json.dumps(config, sort_keys=True)
        if key not in seen:
            seen.add(key)
            configs.append(config)
            added += 1
    return configs


GRIDS = {"small": small, "wide": wide}


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/8"`` -> ``(2, 8)``; ``None`` for no sharding."""
    if text is None:
        return None
    try:
        i, k = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard must be i/K with 0 <= i < K. Got {text!r}.") from None
    if not 0 <= i < k:
        raise ValueError(f"--shard must be i/K with 0 <= i < K. Got {text!r}.")
    return i, k


def shard(configs: list[dict[str, Any]], part: tuple[int, int] | None) -> list[tuple[int, dict[str, Any]]]:
    """``(index, params)`` of the configurations of shard ``part`` (all of them for ``None``)."""
    indexed = list(enumerate(configs))
    return indexed if part is None else indexed[part[0] :: part[1]]


def complete_rows(rows: list[dict]) -> list[dict]:
    """Rows with as many seeds as the most of their data set (a row cut short is dropped)."""
    most: dict[str, int] = {}
    for r in rows:
        most[r["dataset"]] = max(most.get(r["dataset"], 0), len(r["val_auc"]))
    return [r for r in rows if len(r["val_auc"]) == most[r["dataset"]]]


def best_per_dataset(rows: list[dict]) -> dict[str, dict]:
    """For each data set, the row of best mean validation AUC (the earlier configuration on a tie)."""
    best: dict[str, dict] = {}
    for r in sorted(complete_rows(rows), key=lambda r: r["config"]):
        name = r["dataset"]
        if name not in best or np.mean(r["val_auc"]) > np.mean(best[name]["val_auc"]):
            best[name] = r
    return best


def read_rows(paths: list[Path]) -> list[dict]:
    rows: list[dict] = []
    for path in paths:
        rows.extend(json.loads(path.read_text()))
    return sorted(rows, key=lambda r: (r["dataset"], r["config"]))
