"""Objectives: what one training step does, and with which optimizers.

The training loop (:func:`graphae.training.train`) is generic: it knows epochs,
batches, validation, callbacks and checkpoints, and no model by name. An
:class:`Objective` owns everything specific to a family of models: the optimizers it
needs, what one step on a batch does (negative sampling, masking, inner discriminator
steps...), and what it logs. A new kind of training is a new objective, not a new loop.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable
from typing import Any

import torch

from graphae.errors import ParameterError, SlowTrainingWarning
from graphae.losses import vgae_kl_term
from graphae.nn.models import GraphAutoencoder
from graphae.sampling import NegativeSampler
from graphae.training.chunks import resolve_batch_size, sampled_loss
from graphae.training.data import GraphTensors
from graphae.training.distributed import DistributedContext
from graphae.training.fastgae import DEFAULT_ALPHA, DEFAULT_NODES, SubgraphSampler, subgraph_exact_loss

LOSSES = ("auto", "exact", "sampled", "fastgae")

# loss="auto" keeps the paper's exact loss up to this many nodes. The exact loss scores all
# N^2 pairs every epoch: Pubmed (19,717 nodes, 3.9e8 pairs) takes about 1.3 s per epoch on
# 2 CPU threads, 50,000 nodes (2.5e9 pairs) about 8 s, and 1M nodes would take about an
# hour per epoch, where the sampled loss costs O(E). The bound keeps every graph of the
# papers (Cora, Citeseer, Pubmed: N <= 19,717) on the exact loss.
AUTO_EXACT_MAX_NODES = 50_000
# Pairs per second of the exact loss, for the warning's estimate: BENCHMARKS.md's speed
# table, Pubmed GAE* (exact loss, featureless): 19,717^2 pairs in 1.26 s per epoch on 2
# threads of an AMD EPYC (2026-11-25). Rough: a GPU is much faster, one thread slower.
EXACT_PAIRS_PER_SECOND = 3e8


def resolve_loss(
    loss: str,
    num_nodes: int,
    has_exact_loss: bool = True,
    world_size: int = 1,
    batch_size: int | str | None = "auto",
) -> str:
    """The loss that runs: ``"auto"`` resolved for a graph of ``num_nodes`` nodes, others as given.

    ``"auto"`` is the exact loss when the decoder has one and ``N <= AUTO_EXACT_MAX_NODES``
    (50,000: its ``O(N^2)`` cost per epoch stays at seconds), else the sampled loss
    (``O(E)`` per epoch). On several processes (``world_size > 1``) it is the sampled loss,
    the one whose edges the processes share, and so it is with an int ``batch_size``: a
    size of the sampled loss's chunks (see :mod:`graphae.training.chunks`).

    Example:
        >>> resolve_loss("auto", 2708), resolve_loss("auto", 1_000_000), resolve_loss("exact", 10**6)
        ('exact', 'sampled', 'exact')
    """
    if loss != "auto":
        return loss
    chunked = isinstance(batch_size, numbers.Integral) and not isinstance(batch_size, bool)
    small = num_nodes <= AUTO_EXACT_MAX_NODES and world_size == 1 and not chunked
    return "exact" if has_exact_loss and small else "sampled"


def warn_if_slow(loss: str, num_nodes: int, owner: str = "the model") -> None:
    """Warn (:class:`~graphae.errors.SlowTrainingWarning`) when an asked-for exact loss is costly.

    Fires for ``loss="exact"`` above ``AUTO_EXACT_MAX_NODES`` nodes, with the time per
    epoch estimated at ``EXACT_PAIRS_PER_SECOND``.
    """
    if loss != "exact" or num_nodes <= AUTO_EXACT_MAX_NODES:
        return
    seconds = num_nodes**2 / EXACT_PAIRS_PER_SECOND
    estimate = f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.1f} min"
    warnings.warn(
        f"The 'loss' parameter of {owner} is 'exact' on a graph of {num_nodes:,} nodes: it scores all "
        f"N^2 = {num_nodes**2:.1e} pairs every epoch, about {estimate} per epoch on 2 CPU threads "
        f"(estimated at {EXACT_PAIRS_PER_SECOND:.0e} pairs/s). loss='auto' or 'sampled' costs O(E) per "
        "epoch; 'fastgae' is the exact loss on a subgraph.",
        SlowTrainingWarning,
        stacklevel=2,
    )


def make_adam(params: Any, lr: float, weight_decay: float = 0.0) -> torch.optim.Adam:
    """Adam with its fused kernel where this torch has one (one kernel for all parameters)."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


class Objective:
    """Base class: the optimizers and the step of one way of training a model.

    The loop calls :meth:`setup` once per fit, then (training on several processes)
    :meth:`distribute`, then :meth:`configure_optimizers`, then :meth:`step` for every
    batch of every epoch. State that must survive a
    restart beyond the model, the optimizers and the random generator goes in
    :meth:`state_dict` (most objectives have none).

    An objective that scores an epoch's edges in chunks sets ``chunk_size`` at
    :meth:`setup` and calls ``on_chunk`` (when the loop sets it: progress) with the
    number of edges of each chunk.
    """

    chunk_size: int | None = None
    on_chunk: Callable[[int], None] | None = None

    def setup(self, model: GraphAutoencoder, data: GraphTensors) -> None:
        """Prepare for training ``model`` on ``data`` (the whole training graph).

        Raises:
            ParameterError: If the objective cannot train this model.
        """

    def distribute(self, model: GraphAutoencoder, context: DistributedContext) -> None:
        """Prepare to train ``model`` on ``context.world_size`` processes (after :meth:`setup`).

        An objective that supports it makes every step's loss go through
        ``context.wrap(model, ...)``, so that the gradients are averaged over the ranks. The
        base class supports none: a gradient that only one process sees would train
        ``world_size`` different models while claiming to train one.

        Raises:
            ParameterError: If the objective cannot train on several processes.
        """
        owner = getattr(self, "owner", "the model")
        raise ParameterError(
            f"{owner} cannot be trained on several processes: its objective {type(self).__name__} "
            "does not implement distribute(). Train it in one process (without torchrun)."
        )

    def configure_optimizers(self, model: GraphAutoencoder) -> dict[str, torch.optim.Optimizer]:
        """The optimizers, by name (names key the checkpointed optimizer states)."""
        raise NotImplementedError

    def step(
        self,
        model: GraphAutoencoder,
        batch: GraphTensors,
        optimizers: dict[str, torch.optim.Optimizer],
        generator: torch.Generator | None,
    ) -> dict[str, float]:
        """One training step on ``batch``; returns the values to log, ``"loss"`` first."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


class ReconstructionObjective(Objective):
    r"""The graph autoencoder's objective: reconstruct the adjacency, plus KL for a VGAE.

    .. math::
        L = L_{rec}(Z) + [\text{variational}]\ \tfrac1N \mathrm{KL}(q(Z \mid X, A) \,\|\, N(0, I))

    ``L_rec`` is the decoder's exact loss over all ``N^2`` pairs (``loss="exact"``, the
    paper's), the cross-entropy of the edges against as many freshly sampled non-edges
    (``loss="sampled"``, as PyTorch Geometric's example), or the exact loss on the
    subgraph induced by ``fastgae_nodes`` nodes drawn by degree^``fastgae_alpha`` at
    each step (``loss="fastgae"``, Salha et al. 2021; see :mod:`graphae.training.fastgae`).
    ``loss="auto"`` is resolved at :meth:`setup` by :func:`resolve_loss` (the exact loss
    up to ``AUTO_EXACT_MAX_NODES`` nodes, else the sampled one) into ``resolved_loss``;
    an explicit ``"exact"`` above that size warns with the estimated time per epoch.
    The KL term is always over all nodes, as in both reference codes. One Adam optimizer.

    On several processes (:meth:`distribute`) only ``loss="sampled"`` is split: each rank
    scores its shard of the edges against as many negatives of its own. The exact loss
    is one sum over all ``N^2`` pairs with weights from all edges, and FastGAE's is that
    sum on a subgraph; neither is divided between processes, so both are refused there.

    Args:
        loss: ``"auto"``, ``"exact"``, ``"sampled"`` or ``"fastgae"``.
        lr: Adam learning rate.
        owner: Name used in error messages (the estimator's class name).
        fastgae_nodes: Nodes per subgraph of ``loss="fastgae"`` (``>= N``: the exact loss).
        fastgae_alpha: Exponent of the degree in the sampling weights of ``loss="fastgae"``.
        batch_size: Edges per chunk of the sampled loss (see
            :mod:`graphae.training.chunks`): ``"auto"`` chunks batches of more than 8M
            edges, an int chunks by that many (and makes ``loss="auto"`` the sampled
            loss), ``None`` scores the whole batch at once. Chunks bound the memory of
            the loss; each epoch is still one step on all the edges.
    """

    def __init__(
        self,
        loss: str = "auto",
        lr: float = 0.01,
        owner: str = "the model",
        *,
        fastgae_nodes: int = DEFAULT_NODES,
        fastgae_alpha: float = DEFAULT_ALPHA,
        batch_size: int | str | None = "auto",
    ) -> None:
        if loss not in LOSSES:
            raise ParameterError(
                f"The 'loss' parameter of {owner} must be one of {list(LOSSES)}. Got {loss!r}."
            )
        self.loss, self.lr, self.owner = loss, lr, owner
        self.fastgae_nodes, self.fastgae_alpha = fastgae_nodes, fastgae_alpha
        if isinstance(batch_size, numbers.Integral) and loss in ("exact", "fastgae"):
            raise ParameterError(
                f"The 'batch_size' parameter of {owner} chunks the sampled loss, but 'loss' is {loss!r}: "
                "use loss='sampled' (or 'auto') with a batch size, or leave batch_size at 'auto'."
            )
        self.batch_size = batch_size
        self.chunk_size: int | None = None  # batch_size resolved at setup
        self.on_chunk: Callable[[int], None] | None = None  # progress, told the edges of each chunk
        self.resolved_loss: str | None = None
        self.sampler: NegativeSampler | None = None
        self.subgraphs: SubgraphSampler | None = None
        self.parallel: torch.nn.Module | None = None  # the DDP-wrapped loss, on several processes

    def setup(self, model: GraphAutoencoder, data: GraphTensors) -> None:
        if self.loss in ("exact", "fastgae") and not model.decoder.has_exact_loss:
            raise ParameterError(
                f"The 'loss' parameter of {self.owner} is {self.loss!r}, but its decoder "
                f"{type(model.decoder).__name__} has no exact all-pairs loss; use loss='sampled'."
            )
        self.parallel = None
        warn_if_slow(self.loss, data.num_nodes, self.owner)
        loss = self.resolved_loss = resolve_loss(
            self.loss, data.num_nodes, model.decoder.has_exact_loss, data.world_size, self.batch_size
        )
        edges = -(-data.edge_index.shape[1] // data.world_size)  # of the largest shard
        self.chunk_size = (
            resolve_batch_size(self.batch_size, edges, data.num_nodes) if loss == "sampled" else None
        )
        self.sampler = (
            NegativeSampler(data.edge_index, data.num_nodes, data.directed) if loss == "sampled" else None
        )
        self.subgraphs = (
            SubgraphSampler(data.edge_index, data.num_nodes, self.fastgae_nodes, self.fastgae_alpha)
            if loss == "fastgae"
            else None
        )

    def distribute(self, model: GraphAutoencoder, context: DistributedContext) -> None:
        if type(self).step is not ReconstructionObjective.step:
            # A step of its own (several optimizers, inner steps) computes losses this
            # class does not route through DDP: their gradients would not be averaged.
            raise ParameterError(
                f"{self.owner} cannot be trained on several processes: its objective "
                f"{type(self).__name__} has a step of its own, whose gradients would not be averaged "
                "over the processes. Train it in one process (without torchrun)."
            )
        if self.resolved_loss != "sampled" and context.world_size > 1:
            raise ParameterError(
                f"The 'loss' parameter of {self.owner} is {self.loss!r}, which is not split between "
                f"processes (it sums over all pairs of the graph); training on {context.world_size} "
                "processes needs loss='sampled' (--loss sampled), whose edges each process takes a shard of."
            )
        self.parallel = context.wrap(model, self.compute_loss)

    def configure_optimizers(self, model: GraphAutoencoder) -> dict[str, torch.optim.Optimizer]:
        return {"model": make_adam(model.parameters(), self.lr)}

    def compute_loss(
        self, model: GraphAutoencoder, batch: GraphTensors, generator: torch.Generator | None
    ) -> torch.Tensor:
        """The objective's value on ``batch``, with its autograd graph."""
        out = model(batch.x, batch.adj, generator)
        value = self.reconstruction_loss(model, out.z, batch, generator)
        if out.logstd is not None:
            value = value + vgae_kl_term(out.mu, out.logstd)
        return value

    def reconstruction_loss(
        self,
        model: GraphAutoencoder,
        z: torch.Tensor,
        batch: GraphTensors,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """``L_rec``: scored by the model's decoder."""
        pos = batch.edge_index
        if self.resolved_loss is None:
            raise RuntimeError("ReconstructionObjective.setup must run before the loss.")
        if self.resolved_loss == "exact":
            return model.decoder.exact_loss(z, pos, batch.directed)
        if self.resolved_loss == "fastgae":
            if self.subgraphs is None:
                raise RuntimeError("ReconstructionObjective.setup must run before the fastgae loss.")
            if self.subgraphs.whole_graph:
                return model.decoder.exact_loss(z, pos, batch.directed)
            nodes = self.subgraphs.sample(generator)
            return subgraph_exact_loss(model.decoder, z, pos, nodes, batch.directed)
        if self.sampler is None:
            raise RuntimeError("ReconstructionObjective.setup must run before the sampled loss.")
        return sampled_loss(model.decoder, z, pos, self.sampler, self.chunk_size, generator, self.on_chunk)

    def step(
        self,
        model: GraphAutoencoder,
        batch: GraphTensors,
        optimizers: dict[str, torch.optim.Optimizer],
        generator: torch.Generator | None,
    ) -> dict[str, float]:
        optimizer = optimizers["model"]
        optimizer.zero_grad(set_to_none=True)
        if self.parallel is None:
            value = self.compute_loss(model, batch, generator)
        else:
            value = self.parallel(batch, generator)  # backward averages the gradients over the ranks
        value.backward()
        optimizer.step()
        return {"loss": float(value.detach())}
