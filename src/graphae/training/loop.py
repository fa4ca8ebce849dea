"""The training loop: generic over models, objectives and batches."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from graphae.errors import InputError, NonFiniteLossError
from graphae.metrics_ogb import validation_scores
from graphae.nn.models import GraphAutoencoder
from graphae.training.checkpoint import Checkpointer
from graphae.training.data import GraphTensors
from graphae.training.distributed import DistributedContext, all_gather
from graphae.training.objectives import Objective
from graphae.training.progress import Callback
from graphae.training.scoring import decode_pairs, embed


@dataclass
class FitResult:
    """What :func:`train` returns.

    Attributes:
        history: One dict per epoch: ``epoch``, the objective's logs (``loss``...) and,
            on evaluated epochs, ``val_auc``, ``val_ap`` and, for
            :class:`~graphae.split_official.MetricPairs`, ``val_<metric>``.
        train_seconds: Time of the training steps alone (no validation, no checkpoints),
            summed over the run's sessions when it was resumed.
        best_epoch: Epoch whose parameters the model holds.
        stopped_early: Whether early stopping ended training before ``epochs``.
        resumed_from: Epoch of the checkpoint the run resumed from (0: a fresh start).
    """

    history: list[dict[str, Any]] = field(default_factory=list)
    train_seconds: float = 0.0
    best_epoch: int = 0
    stopped_early: bool = False
    resumed_from: int = 0


@dataclass
class _LoopState:
    """Everything of the loop a checkpoint must restore, beside model, optimizers and RNG."""

    epoch: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best_score: float = -math.inf
    best_epoch: int = 0
    best_params: dict[str, torch.Tensor] | None = None
    evals_since_best: int = 0
    train_seconds: float = 0.0

    def observe(self, record: dict[str, Any], model: GraphAutoencoder, keep_best: bool, key: str) -> None:
        """Track the best validation score ``record[key]`` (and its parameters when ``keep_best``)."""
        if record[key] > self.best_score:
            self.best_score, self.best_epoch, self.evals_since_best = record[key], record["epoch"], 0
            if keep_best:
                self.best_params = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.evals_since_best += 1


def train(
    model: GraphAutoencoder,
    data: GraphTensors,
    objective: Objective,
    *,
    epochs: int = 200,
    generator: torch.Generator | None = None,
    val_pairs: tuple[np.ndarray, np.ndarray] | None = None,
    eval_every: int = 1,
    select_best: bool = False,
    patience: int | None = None,
    callback: Callback | None = None,
    checkpoint: Checkpointer | None = None,
    resume: dict[str, Any] | None = None,
    distributed: DistributedContext | None = None,
) -> FitResult:
    """Train ``model`` in place: ``objective.step`` on every batch of every epoch.

    Args:
        model: The autoencoder to train.
        data: The training graph on the device; its :meth:`~GraphTensors.batches`
            are the batches of an epoch.
        objective: What one step does (see :mod:`graphae.training.objectives`).
        epochs: Number of epochs.
        generator: Randomness of the steps (VGAE noise, negative samples).
        val_pairs: Optional validation ``(pos, neg)`` node-index pairs, each ``[2, k]``;
            a :class:`~graphae.split_official.MetricPairs` also names the metric to select
            on (``val_hits@20``...), else it is the validation AUC.
        eval_every: Score the validation pairs every this many epochs (and at the last).
        select_best: Restore the parameters of the epoch with the best validation score.
        patience: Stop after this many validation scores without a new best
            (and restore the best parameters); ``None`` never stops early.
        callback: Called with each epoch's history record.
        checkpoint: Saves the training state every ``checkpoint.every`` epochs; with
            ``distributed``, every rank passes one and rank 0 writes for all.
        resume: A state saved by ``checkpoint`` (:func:`~graphae.training.load_checkpoint`)
            to continue from; the result is the same as an uninterrupted run's.
        distributed: This process's place among several training one model together
            (see :mod:`graphae.training.distributed`): each rank steps on its shard of
            ``data``, gradients are averaged, logs are the mean over the ranks, and rank 0
            scores the validation pairs for all. ``None``: one process.

    Returns:
        A :class:`FitResult`.

    Raises:
        InputError: On ``epochs``/``eval_every``/``patience`` below 1, validation
            options without validation pairs, or a checkpoint written by another number of
            processes.
        ParameterError: If the objective cannot train on several processes.
        NonFiniteLossError: When a logged value becomes NaN or infinite.
    """
    if epochs < 1 or eval_every < 1:
        raise InputError(f"'epochs' and 'eval_every' must be >= 1. Got {epochs} and {eval_every}.")
    if patience is not None and patience < 1:
        raise InputError(f"'patience' must be None or an int >= 1. Got {patience}.")
    if (select_best or patience is not None) and val_pairs is None:
        raise InputError("select_best=True and patience need validation pairs.")
    keep_best = select_best or patience is not None
    if resume is not None:
        # Before any collective: a wrong count is one error on every rank, not a hang.
        resume = _own_share(resume, distributed, None if checkpoint is None else checkpoint.path)
    if distributed is not None:
        data = data.sharded(distributed.rank, distributed.world_size)
    objective.setup(model, data)
    track_edges = getattr(callback, "track_edges", None)
    if objective.chunk_size is not None and track_edges is not None:
        objective.on_chunk = track_edges(sum(batch.edge_index.shape[1] for batch in data.batches()))
    if distributed is not None:
        objective.distribute(model, distributed)
    optimizers = objective.configure_optimizers(model)
    state = _LoopState()
    if resume is not None:
        _restore(resume, model, optimizers, objective, generator, state)
    result = FitResult(resumed_from=state.epoch)
    model.train()
    for epoch in range(state.epoch + 1, epochs + 1):
        tick = time.perf_counter()
        logs = _epoch(model, data, objective, optimizers, generator)
        state.train_seconds += time.perf_counter() - tick
        if distributed is not None:
            logs = distributed.mean(logs)  # every rank logs, and checks, the same values
        _check_finite(logs, epoch, objective)
        record: dict[str, Any] = {"epoch": epoch, **logs}
        if val_pairs is not None and (epoch % eval_every == 0 or epoch == epochs):
            if hasattr(callback, "validating"):  # a progress display: validation can take seconds
                callback.validating(epoch)
            scores = _validate(model, data, val_pairs, distributed)
            if scores is None:
                _diverged(epoch, "embedding", "not finite", objective)
            record.update(scores[0])
            state.observe(record, model, keep_best, scores[1])
        state.epoch = epoch
        state.history.append(record)
        if callback is not None:
            callback(record)
        stop = patience is not None and state.evals_since_best >= patience
        if checkpoint is not None and checkpoint.due(epoch) and epoch < epochs and not stop:
            _save(checkpoint, _snapshot(model, optimizers, objective, generator, state), distributed)
        if stop:
            result.stopped_early = epoch < epochs
            break
    if keep_best and state.best_params is not None:
        model.load_state_dict(state.best_params)
        result.best_epoch = state.best_epoch
    else:
        result.best_epoch = state.epoch
    result.history, result.train_seconds = state.history, state.train_seconds
    model.eval()
    return result


def _epoch(
    model: GraphAutoencoder,
    data: GraphTensors,
    objective: Objective,
    optimizers: dict[str, torch.optim.Optimizer],
    generator: torch.Generator | None,
) -> dict[str, float]:
    """One step per batch; the epoch's logs are the mean over its batches."""
    totals: dict[str, float] = {}
    count = 0
    for batch in data.batches():
        for name, value in objective.step(model, batch, optimizers, generator).items():
            totals[name] = totals.get(name, 0.0) + value
        count += 1
    return {name: value / count for name, value in totals.items()}


def _validate(
    model: GraphAutoencoder,
    data: GraphTensors,
    val_pairs: tuple[np.ndarray, np.ndarray],
    distributed: DistributedContext | None,
) -> tuple[dict[str, float], str] | None:
    """Validation scores and the key to select on (:func:`~graphae.metrics_ogb.validation_scores`);
    ``None``: the embedding is not finite. Rank 0's on every rank."""
    scores = None
    if distributed is None or distributed.is_main:
        z = embed(model, data)
        if bool(torch.isfinite(z).all()):
            pos, neg = (decode_pairs(model.decoder, z, p).cpu().numpy() for p in val_pairs)
            scores = validation_scores(pos, neg, val_pairs)
    # One decision for all: ranks that scored apart could disagree on a new best by rounding.
    return scores if distributed is None else distributed.broadcast(scores)


def _check_finite(logs: dict[str, float], epoch: int, objective: Objective) -> None:
    for name, value in logs.items():
        if not math.isfinite(value):
            _diverged(epoch, name, f"{value}", objective)


def _diverged(epoch: int, what: str, value: str, objective: Objective) -> None:
    lr = getattr(objective, "lr", None)
    hint = f" (lr={lr})" if lr is not None else ""
    raise NonFiniteLossError(
        f"Training diverged at epoch {epoch}: the {what} is {value}. Try a smaller learning rate{hint}, "
        "and check that the node features are finite and of moderate scale."
    )


def _snapshot(
    model: GraphAutoencoder,
    optimizers: dict[str, torch.optim.Optimizer],
    objective: Objective,
    generator: torch.Generator | None,
    state: _LoopState,
) -> dict[str, Any]:
    return {
        "epoch": state.epoch,
        "model": model.state_dict(),
        "optimizers": {name: opt.state_dict() for name, opt in optimizers.items()},
        "objective": objective.state_dict(),
        "generator": None if generator is None else generator.get_state(),
        "history": state.history,
        "best_score": state.best_score,
        "best_epoch": state.best_epoch,
        "best_params": state.best_params,
        "evals_since_best": state.evals_since_best,
        "train_seconds": state.train_seconds,
    }


def _save(checkpoint: Checkpointer, snapshot: dict[str, Any], distributed: DistributedContext | None) -> None:
    """One file for all ranks: the shared state, and each rank's random state and objective state."""
    if distributed is not None:
        # Every rank takes part (a collective); parameters and optimizer state are equal everywhere.
        own = {"generator": snapshot["generator"], "objective": snapshot["objective"]}
        snapshot = {**snapshot, "world_size": distributed.world_size, "ranks": all_gather(own)}
        if not distributed.is_main:
            return
    checkpoint.save(snapshot)


def _own_share(saved: dict[str, Any], distributed: DistributedContext | None, path: Any) -> dict[str, Any]:
    """The state this process resumes from: a rank takes its own random and objective state."""
    written = int(saved.get("world_size", 1))  # absent: written by one process without a group
    here = 1 if distributed is None else distributed.world_size
    if written != here:
        where = "The checkpoint" if path is None else f"{path}: the checkpoint"
        raise InputError(
            f"{where} was written by {written} process{'es' if written > 1 else ''}, this run has "
            f"{here}: resume with the number of processes it started with."
        )
    ranks = saved.get("ranks")
    if ranks is None:
        return saved
    return {**saved, **ranks[0 if distributed is None else distributed.rank]}


def _restore(
    saved: dict[str, Any],
    model: GraphAutoencoder,
    optimizers: dict[str, torch.optim.Optimizer],
    objective: Objective,
    generator: torch.Generator | None,
    state: _LoopState,
) -> None:
    if set(saved["optimizers"]) != set(optimizers):
        raise InputError(
            f"The checkpoint holds optimizers {sorted(saved['optimizers'])}, this model trains with "
            f"{sorted(optimizers)}: it was written by another kind of model."
        )
    model.load_state_dict(saved["model"])
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(saved["optimizers"][name])
    objective.load_state_dict(saved["objective"])
    if generator is not None and saved["generator"] is not None:
        try:
            generator.set_state(saved["generator"])
        except RuntimeError:
            raise InputError(
                f"The checkpoint's random state does not fit a {generator.device.type} generator: "
                "resume on the device the run started on."
            ) from None
    state.epoch = int(saved["epoch"])
    state.history = list(saved["history"])
    state.best_score = float(saved["best_score"])
    state.best_epoch = int(saved["best_epoch"])
    state.best_params = saved["best_params"]
    state.evals_since_best = int(saved["evals_since_best"])
    state.train_seconds = float(saved["train_seconds"])
