"""The training loop of graph autoencoders."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from graphae.graph import Graph
from graphae.losses import (
    exact_reconstruction_loss,
    sampled_reconstruction_loss,
    vgae_kl_term,
)
from graphae.metrics import auc_ap
from graphae.nn.functional import SparseOperator, gcn_norm, pair_logits, to_csr
from graphae.nn.models import GraphAutoencoder
from graphae.sampling import NegativeSampler

LOSSES = ("exact", "sampled")


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
class GraphTensors:
    """Torch-side inputs of one graph, built once per fit.

    Attributes:
        x: Features (dense, sparse CSR, or ``None`` for identity features).
        adj: Normalized adjacency ``D^-1/2 (A + I) D^-1/2``, sparse CSR ``[N, N]``.
        edge_index: Each undirected edge once, ``[2, E]``.
        num_nodes: ``N``.
    """

    x: torch.Tensor | SparseOperator | None
    adj: SparseOperator
    edge_index: torch.Tensor
    num_nodes: int

    @classmethod
    def from_graph(
        cls, graph: Graph, device: torch.device | str = "cpu", features: bool = True
    ) -> GraphTensors:
        """Convert a :class:`Graph`; ``features=False`` uses identity features."""
        edges = torch.from_numpy(graph.edges()).to(device)
        both = torch.cat([edges, edges.flip(0)], dim=1)
        adj = SparseOperator(gcn_norm(both, graph.num_nodes), symmetric=True)
        x = features_to_tensor(graph.x, device) if features else None
        if x is not None and x.layout != torch.strided:
            x = SparseOperator(x)
        return cls(x=x, adj=adj, edge_index=edges, num_nodes=graph.num_nodes)

    @property
    def in_channels(self) -> int:
        return self.num_nodes if self.x is None else self.x.shape[1]


def features_to_tensor(
    x: np.ndarray | sp.csr_matrix | None, device: torch.device | str
) -> torch.Tensor | None:
    """Host features to a dense or sparse-CSR float32 tensor."""
    if x is None:
        return None
    if sp.issparse(x):
        coo = sp.coo_matrix(x, dtype=np.float32)
        indices = torch.from_numpy(np.stack([coo.row, coo.col]).astype(np.int64))
        tensor = torch.sparse_coo_tensor(
            indices, torch.from_numpy(coo.data), coo.shape, check_invariants=False
        )
        return to_csr(tensor.to(device))
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)).to(device)


@dataclass
class FitResult:
    """What :func:`train` returns.

    Attributes:
        history: One dict per epoch: ``epoch``, ``loss`` and, on evaluated epochs,
            ``val_auc`` and ``val_ap``.
        train_seconds: Time of the loop alone, without validation scoring.
        best_epoch: Epoch whose parameters the model holds.
    """

    history: list[dict[str, float]] = field(default_factory=list)
    train_seconds: float = 0.0
    best_epoch: int = 0


Callback = Callable[[dict[str, float]], None]


class EpochProgress:
    """A training callback that shows progress on stderr.

    A tqdm bar when tqdm is installed (the ``progress`` extra), else a line every
    tenth of the epochs. The bar closes after the last epoch, or on :meth:`close`.

    Args:
        label: Shown before the bar or line.
        epochs: Number of epochs expected.
        quiet: Show nothing.
        then: Another callback to call with each record.
    """

    def __init__(self, label: str, epochs: int, quiet: bool = False, then: Callback | None = None) -> None:
        self.label, self.epochs, self.quiet, self.then = label, epochs, quiet, then
        self.bar = None
        if quiet:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=epochs, desc=label, unit="epoch", leave=False, file=sys.stderr)

    def __call__(self, rec: dict[str, float]) -> None:
        if not self.quiet:
            val = (
                f"  val AUC {100 * rec['val_auc']:.1f} AP {100 * rec['val_ap']:.1f}"
                if "val_auc" in rec
                else ""
            )
            if self.bar is not None:
                self.bar.update(1)
                self.bar.set_postfix_str(f"loss {rec['loss']:.4f}{val}", refresh=False)
                if rec["epoch"] == self.epochs:
                    self.close()
            elif rec["epoch"] % max(1, self.epochs // 10) == 0 or rec["epoch"] == self.epochs:
                print(
                    f"{self.label}  epoch {rec['epoch']:>4}  loss {rec['loss']:.4f}{val}",
                    file=sys.stderr,
                    flush=True,
                )
        if self.then is not None:
            self.then(rec)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def objective(
    model: GraphAutoencoder,
    data: GraphTensors,
    loss: str,
    generator: torch.Generator | None,
    sampler: NegativeSampler | None = None,
) -> torch.Tensor:
    """One evaluation of the training objective (reconstruction, plus KL for VGAE)."""
    out = model(data.x, data.adj, generator)
    if loss == "exact":
        value = exact_reconstruction_loss(out.z, data.edge_index)
    else:
        if sampler is None:
            raise ValueError("The sampled loss needs a NegativeSampler.")
        neg = sampler.sample(data.edge_index.shape[1], generator)
        value = sampled_reconstruction_loss(out.z, data.edge_index, neg)
    if out.logstd is not None:
        value = value + vgae_kl_term(out.mu, out.logstd)
    return value


@torch.no_grad()
def embed(model: GraphAutoencoder, data: GraphTensors) -> torch.Tensor:
    """Evaluation-mode embedding ``mu`` (``z`` for a GAE), ``[N, d]``."""
    was_training = model.training
    model.eval()
    try:
        return model(data.x, data.adj).mu
    finally:
        model.train(was_training)


@torch.no_grad()
def score_pairs(z: torch.Tensor, pos: np.ndarray, neg: np.ndarray) -> tuple[float, float]:
    """AUC and AP of positive ``[2, k]`` against negative ``[2, k]`` pairs."""

    def logits(pairs: np.ndarray) -> np.ndarray:
        idx = torch.as_tensor(pairs, device=z.device)
        return pair_logits(z, idx).cpu().numpy()

    return auc_ap(logits(pos), logits(neg))


def make_adam(params: Any, lr: float) -> torch.optim.Adam:
    """Adam with its fused kernel where this torch has one (one kernel for all parameters)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


def train(
    model: GraphAutoencoder,
    data: GraphTensors,
    *,
    loss: str = "exact",
    epochs: int = 200,
    lr: float = 0.01,
    generator: torch.Generator | None = None,
    val_pairs: tuple[np.ndarray, np.ndarray] | None = None,
    eval_every: int = 1,
    select_best: bool = False,
    callback: Callback | None = None,
) -> FitResult:
    """Train with Adam, as in the paper.

    Args:
        model: The autoencoder to train, in place.
        data: Its inputs (the *training* graph).
        loss: ``"exact"`` (the paper's full-adjacency loss) or ``"sampled"``
            (one fresh negative pair per positive each epoch).
        epochs: Number of full-batch steps.
        lr: Adam learning rate.
        generator: Randomness for VGAE noise and negative samples.
        val_pairs: Optional validation ``(pos, neg)`` pairs, each ``[2, k]``.
        eval_every: Score the validation pairs every this many epochs.
        select_best: Restore the parameters of the epoch with the best validation AUC.
        callback: Called with each epoch's history record.

    Returns:
        A :class:`FitResult`.

    Raises:
        ValueError: On an unknown loss or a non-positive ``epochs``/``eval_every``.
    """
    if loss not in LOSSES:
        raise ValueError(f"The 'loss' parameter must be one of {list(LOSSES)}. Got {loss!r}.")
    if epochs < 1 or eval_every < 1:
        raise ValueError(f"'epochs' and 'eval_every' must be >= 1. Got {epochs} and {eval_every}.")
    if select_best and val_pairs is None:
        raise ValueError("select_best=True needs validation pairs.")
    sampler = NegativeSampler(data.edge_index, data.num_nodes) if loss == "sampled" else None
    optimizer = make_adam(model.parameters(), lr)
    result = FitResult()
    best_auc, best_state = -np.inf, None
    model.train()
    start = time.perf_counter()
    eval_time = 0.0
    for epoch in range(1, epochs + 1):
        optimizer.zero_grad(set_to_none=True)
        value = objective(model, data, loss, generator, sampler)
        value.backward()
        optimizer.step()
        record: dict[str, Any] = {"epoch": epoch, "loss": float(value.detach())}
        if val_pairs is not None and (epoch % eval_every == 0 or epoch == epochs):
            tick = time.perf_counter()
            record["val_auc"], record["val_ap"] = score_pairs(embed(model, data), *val_pairs)
            if select_best and record["val_auc"] > best_auc:
                best_auc, result.best_epoch = record["val_auc"], epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            eval_time += time.perf_counter() - tick
        result.history.append(record)
        if callback is not None:
            callback(record)
    result.train_seconds = time.perf_counter() - start - eval_time
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        result.best_epoch = epochs
    model.eval()
    return result
