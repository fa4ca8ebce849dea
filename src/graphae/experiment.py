"""One link-prediction run: split, train, score the test split once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from graphae.graph import Graph
from graphae.nn.models import GraphAutoencoder, build_model
from graphae.split import LinkSplit, split_edges
from graphae.training import Callback, GraphTensors, embed, score_pairs, train


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``"auto"`` or ``None`` means CUDA when present, else the CPU.

    Raises:
        ValueError: If CUDA is asked for and absent, or the name is unknown.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as err:
        raise ValueError(
            f"The 'device' parameter must be 'auto', 'cpu' or 'cuda[:i]'. Got {device!r}."
        ) from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"The 'device' parameter is {device!r} but CUDA is not available here.")
    return resolved


@dataclass
class ModelConfig:
    """Hyperparameters of one model, with the paper's defaults."""

    model: str = "gae"
    features: bool = True
    loss: str = "exact"
    epochs: int = 200
    lr: float = 0.01
    hidden_channels: int = 32
    out_channels: int = 16

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RunResult:
    """Outcome of :func:`run_link_prediction`."""

    seed: int
    test_auc: float
    test_ap: float
    train_seconds: float
    history: list[dict[str, float]]
    model: GraphAutoencoder
    embedding: np.ndarray
    split: LinkSplit
    in_channels: int
    best_epoch: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def run_link_prediction(
    graph: Graph,
    config: ModelConfig | None = None,
    *,
    seed: int = 0,
    device: str | torch.device | None = "cpu",
    eval_every: int = 1,
    select_best: bool = False,
    callback: Callback | None = None,
) -> RunResult:
    """Split ``graph``, train one model on the training edges and score the test split.

    The seed drives the split (a ``numpy`` generator) and the initialisation,
    VGAE noise and negative samples (a ``torch`` generator); global random
    state is left alone. The test split is scored once, on ``mu``.

    Args:
        graph: The full graph.
        config: Model and training settings; paper defaults when ``None``.
        seed: Seed of this run.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        eval_every: Validation scoring interval in epochs.
        select_best: Keep the epoch with the best validation AUC.
        callback: Called with each epoch's history record.

    Raises:
        ValueError: If the graph cannot be split or an option is invalid.
    """
    config = config or ModelConfig()
    dev = resolve_device(device)
    if config.features and graph.x is None:
        raise ValueError(f"Graph {graph.name!r} has no features; use features=False (--no-features).")
    split = split_edges(graph, random_state=seed)
    data = GraphTensors.from_graph(split.train, device=dev, features=config.features)
    init = torch.Generator().manual_seed(seed)
    model = build_model(config.model, data.in_channels, config.hidden_channels, config.out_channels, init)
    model.to(dev)
    noise = torch.Generator(device=dev).manual_seed(seed)
    fit = train(
        model,
        data,
        loss=config.loss,
        epochs=config.epochs,
        lr=config.lr,
        generator=noise,
        val_pairs=(split.val_pos, split.val_neg),
        eval_every=eval_every,
        select_best=select_best,
        callback=callback,
    )
    mu = embed(model, data)
    test_auc, test_ap = score_pairs(mu, split.test_pos, split.test_neg)
    return RunResult(
        seed=seed,
        test_auc=test_auc,
        test_ap=test_ap,
        train_seconds=fit.train_seconds,
        history=fit.history,
        model=model,
        embedding=mu.cpu().numpy(),
        split=split,
        in_channels=data.in_channels,
        best_epoch=fit.best_epoch,
    )
