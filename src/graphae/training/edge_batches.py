r"""Mini-batches of training edges: several optimizer steps per epoch (the refined GAE's training).

An epoch shuffles the training edges and cuts them into batches of ``batch_size``; each
batch is one Adam step that encodes the whole graph, scores the batch's edges and
``num_negatives`` freshly sampled non-edges per edge with the model's decoder, and
takes the cross-entropy on the logits:

.. math::
    L_B = \mathrm{mean}_{(i,j) \in B} \mathrm{softplus}(-x_{ij})
        + \mathrm{mean}_{(i,j) \in B^-} \mathrm{softplus}(x_{ij}), \qquad |B^-| = K |B|

With ``mask_input`` the encoder of a step sees the training graph without the batch's
edges (the reference code's ``--maskinput``): the model learns to predict edges it has
not been shown, as at test time. The normalised adjacency is then recounted per step
(``O(E)``, no sort: :class:`~graphae.training.hidden_edges.HiddenEdgeAdjacency`). With ``lr_decay_every = k`` the learning rate falls in steps, as in the
reference code: after epoch ``e + 1`` with ``e`` a multiple of ``k`` it becomes
``lr * max(1 - e / epochs, 1e-4)``. Recomputing the encoder for every batch suits graphs whose encoder is cheap
next to the decoder's pairs, such as ogbl-ddi (4,267 nodes, 1.07M edges).

With ``precision="bf16-mixed"`` each step's forward pass and loss run under
:func:`torch.autocast` in bfloat16: the dense products (the decoder's, above all) use bfloat16
units (AMX on recent Intel CPUs, tensor cores on a GPU), the sparse products and the loss stay
float32, and the parameters, their gradients and Adam's state are float32 throughout.
Validation and the embeddings a fit returns are computed in float32.
"""

from __future__ import annotations

import math
import numbers

import torch

from graphae.errors import ParameterError
from graphae.nn.models import GraphAutoencoder
from graphae.sampling import NegativeSampler
from graphae.training.chunks import sampled_loss
from graphae.training.data import GraphTensors
from graphae.training.hidden_edges import HiddenEdgeAdjacency
from graphae.training.objectives import Objective, make_adam

# batch_size="auto": the reference code's 8,192 edges per step on ogbl-ddi, and at most a
# quarter of the edges, so that an epoch takes at least four steps (and a masked encoder
# sees at least three quarters of the graph).
AUTO_EDGES_PER_STEP = 8192
AUTO_MIN_STEPS = 4
# Arithmetic of a step, as Lightning's Trainer names it: float32, or the forward pass under
# torch.autocast in bfloat16 (parameters, gradients and the optimizer stay float32).
PRECISIONS = ("32", "bf16-mixed")


def edges_per_step(batch_size: int | str | None, num_edges: int) -> int:
    """Edges per optimizer step: ``"auto"`` as above, ``None`` all of them, an int itself (at most ``E``).

    Example:
        >>> edges_per_step("auto", 1_067_911), edges_per_step("auto", 1000), edges_per_step(None, 1000)
        (8192, 250, 1000)
    """
    if batch_size is None:
        return max(num_edges, 1)
    if batch_size == "auto":
        return max(1, min(AUTO_EDGES_PER_STEP, math.ceil(num_edges / AUTO_MIN_STEPS)))
    if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be 'auto', None or an int >= 1. Got {batch_size!r}.")
    return max(1, min(int(batch_size), num_edges))


def check_precision(precision: str, device: torch.device, owner: str = "the model") -> None:
    """Refuse ``"bf16-mixed"`` on a GPU without bfloat16 (before Ampere); a CPU computes it anywhere.

    Raises:
        ParameterError: naming the parameter, the device and the way out.
    """
    if precision == "bf16-mixed" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ParameterError(
            f"The 'precision' parameter of {owner} is 'bf16-mixed', but {torch.cuda.get_device_name(device)} "
            "has no bfloat16 arithmetic: use precision='32' (--precision 32)."
        )


def _clip_groups(model: GraphAutoencoder) -> list[list[torch.nn.Parameter]]:
    """The parameter groups whose gradient norms are clipped apart: node embeddings, rest of the
    encoder, decoder (as the reference code clips its embedding, GCN and predictor)."""
    table = getattr(model.encoder, "embedding", None)
    tables = [table] if isinstance(table, torch.nn.Parameter) else []
    rest = [p for p in model.encoder.parameters() if all(p is not t for t in tables)]
    groups = [tables, rest, list(model.decoder.parameters())]
    return [g for g in groups if g]


class EdgeBatchObjective(Objective):
    r"""Several Adam steps per epoch, each on a mini-batch of training edges (see the module).

    The loop calls :meth:`step` once per epoch on the whole training graph; it takes
    ``ceil(E / batch_size)`` optimizer steps and logs their mean ``loss``.

    Args:
        lr: Adam learning rate.
        batch_size: Training edges per step (see :func:`edges_per_step`).
        num_negatives: Non-edges ``K`` sampled per edge of a batch.
        mask_input: Hide the batch's edges from the encoder of its step.
        grad_clip: Largest gradient norm of each parameter group (node embeddings, rest of
            the encoder, decoder), clipped apart as the reference does (0: no clipping).
        weight_decay: Adam's L2 penalty.
        precision: ``"32"`` or ``"bf16-mixed"``: each step's forward pass and loss under
            ``torch.autocast`` in bfloat16 (see :data:`PRECISIONS`).
        epochs: Epochs of the fit (the learning-rate decay's horizon).
        lr_decay_every: Epochs between decays of the learning rate (0: none; reference: 100).
        owner: Name used in error messages (the estimator's class name).
    """

    def __init__(
        self,
        lr: float = 0.001,
        batch_size: int | str | None = "auto",
        num_negatives: int = 1,
        mask_input: bool = True,
        grad_clip: float = 1.0,
        weight_decay: float = 0.0,
        precision: str = "32",
        epochs: int = 1,
        lr_decay_every: int = 0,
        owner: str = "the model",
    ) -> None:
        self.lr, self.batch_size, self.num_negatives = lr, batch_size, num_negatives
        self.mask_input, self.grad_clip, self.weight_decay = mask_input, grad_clip, weight_decay
        self.epochs, self.lr_decay_every, self.owner = epochs, lr_decay_every, owner
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {list(PRECISIONS)}. Got {precision!r}.")
        self.precision = precision
        self.epoch = 0  # epochs stepped so far (restored on resume: it sets the learning rate)
        self.sampler: NegativeSampler | None = None
        self.step_edges = 1
        self.hidden: HiddenEdgeAdjacency | None = None  # Â with a batch hidden, built once per graph

    def setup(self, model: GraphAutoencoder, data: GraphTensors) -> None:
        self.epoch = 0
        self.sampler = NegativeSampler(data.edge_index, data.num_nodes, data.directed)
        self.step_edges = edges_per_step(self.batch_size, data.edge_index.shape[1])
        check_precision(self.precision, data.edge_index.device, self.owner)

    def configure_optimizers(self, model: GraphAutoencoder) -> dict[str, torch.optim.Optimizer]:
        return {"model": make_adam(model.parameters(), self.lr, self.weight_decay)}

    def batch_loss(
        self,
        model: GraphAutoencoder,
        data: GraphTensors,
        index: torch.Tensor,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """The loss of the training edges ``data.edge_index[:, index]``, with its autograd graph."""
        if self.sampler is None:
            raise RuntimeError("EdgeBatchObjective.setup must run before a step.")
        edges = data.edge_index
        adj = data.adj
        if self.mask_input:
            self.hidden = HiddenEdgeAdjacency.of(self.hidden, edges, data.num_nodes, data.directed)
            adj = self.hidden.hiding(index)
        device = edges.device.type
        with torch.autocast(device, dtype=torch.bfloat16, enabled=self.precision == "bf16-mixed"):
            z = model(data.x, adj, generator).z
            pos = edges[:, index]
            return sampled_loss(
                model.decoder, z, pos, self.sampler, None, generator, None, self.num_negatives
            )

    def step(
        self,
        model: GraphAutoencoder,
        batch: GraphTensors,
        optimizers: dict[str, torch.optim.Optimizer],
        generator: torch.Generator | None,
    ) -> dict[str, float]:
        optimizer = optimizers["model"]
        num_edges = batch.edge_index.shape[1]
        order = torch.randperm(num_edges, generator=generator, device=batch.edge_index.device)
        groups = _clip_groups(model) if self.grad_clip > 0 else []
        total = torch.zeros((), device=batch.edge_index.device)
        steps = 0
        for index in order.split(self.step_edges):
            optimizer.zero_grad(set_to_none=True)
            loss = self.batch_loss(model, batch, index, generator)
            loss.backward()
            for group in groups:
                torch.nn.utils.clip_grad_norm_(group, self.grad_clip)
            optimizer.step()
            total += loss.detach()
            steps += 1
        self.decay_lr(optimizer)
        return {"loss": float(total) / steps}

    def decay_lr(self, optimizer: torch.optim.Optimizer) -> None:
        """Count the epoch; after epoch ``e + 1``, ``e`` a multiple of ``lr_decay_every``, set the decayed rate."""
        e = self.epoch
        self.epoch += 1
        if self.lr_decay_every > 0 and e % self.lr_decay_every == 0:
            for group in optimizer.param_groups:
                group["lr"] = self.lr * max(1.0 - e / max(self.epochs, 1), 1e-4)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch = int(state.get("epoch", 0))
