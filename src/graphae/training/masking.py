r"""Masked graph modelling: MaskGAE's objective (Li et al., KDD 2023, arXiv 2205.10053).

At every step a part of the training edges is hidden; the encoder sees only the visible
rest (the normalised adjacency of the visible graph, recounted for the step), and the
decoders reconstruct what was hidden:

.. math::
    E = E_{vis} \cup E_{mask}, \quad Z = f(X, \hat A_{vis}), \qquad
    L = \mathrm{BCE}\big(g(Z)_{E_{mask}}, 1\big) + \mathrm{BCE}\big(g(Z)_{E^-}, 0\big)
        + \alpha\, \mathrm{MSE}\big(h(Z), \log(1 + d_{mask})\big)

with ``E^-`` freshly sampled non-edges, ``g`` the edge decoder and ``h`` the degree
decoder. Two ways of hiding edges:

- ``"edge"``: each edge independently, with probability ``mask_ratio``;
- ``"path"``: random walks of ``walk_length`` steps start from the source of each edge
  orientation picked with probability ``mask_ratio`` (so from nodes in proportion to their
  degree), and every edge they cross is hidden. About ``1 - exp(-2 p L)`` of the edges are.

Unlike the reference code, which masks each orientation of an undirected edge on its own
and then shows the encoder every edge with one orientation left, an undirected edge here
is hidden or visible as a whole: the encoder never sees an edge it must reconstruct.
``orientations=True`` does as the reference: each orientation is hidden on its own, every
hidden orientation is a positive, and an edge is invisible to the encoder only when both
of its orientations are hidden.
``"none"`` hides nothing and reconstructs every edge (a GAE with the same decoders).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from graphae.errors import ParameterError
from graphae.nn.models import GraphAutoencoder
from graphae.sampling import NegativeSampler
from graphae.training.chunks import resolve_batch_size, sampled_loss
from graphae.training.data import GraphTensors
from graphae.training.hidden_edges import HiddenEdgeAdjacency
from graphae.training.objectives import Objective, make_adam

MASKS = ("path", "edge", "none")


def mask_edges(edge_index: torch.Tensor, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Hide each edge independently with probability ``p``; returns the hidden ones as a mask.

    Shapes:
        edge_index: ``[2, E]`` (each undirected edge once); returns ``[E]`` bool.
    """
    return torch.rand(edge_index.shape[1], generator=generator, device=edge_index.device) < p


class PathMasker:
    """Hides the edges crossed by random walks (MaskGAE's path masking).

    Built once per fit from the training edges: the adjacency lists of both orientations
    (when undirected), each entry keeping the id of its orientation (``e`` for edge ``e``
    as given, ``E + e`` for its reverse).

    Args:
        edge_index: ``[2, E]`` training edges (each undirected edge once).
        num_nodes: ``N``.
        directed: Walk along the edges' direction only.
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int, directed: bool = False) -> None:
        ids = torch.arange(edge_index.shape[1], device=edge_index.device)
        if directed:
            src, dst, eid = edge_index[0], edge_index[1], ids
        else:
            src = torch.cat([edge_index[0], edge_index[1]])
            dst = torch.cat([edge_index[1], edge_index[0]])
            eid = torch.cat([ids, ids])
        order = torch.argsort(src * num_nodes + dst)
        self.src, self.dst, self.eid, self.oid = src[order], dst[order], eid[order], order
        self.degree = torch.bincount(self.src, minlength=num_nodes)
        self.rowptr = torch.cumsum(self.degree, 0) - self.degree
        self.num_edges = edge_index.shape[1]

    def __call__(self, p: float, walk_length: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``[E]`` bool: the edges crossed by walks from the sources of orientations picked with ``p``."""
        return self.orientations(p, walk_length, generator).any(dim=0)

    def orientations(
        self, p: float, walk_length: int, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """The orientations the walks cross: ``[2, E]`` bool (row 0: the edges as given, row 1:
        their reverses), or ``[1, E]`` on a directed graph. Same draws as :meth:`__call__`."""
        device = self.src.device
        hidden = torch.zeros(len(self.src), dtype=torch.bool, device=device)
        picked = torch.rand(len(self.src), generator=generator, device=device) < p
        node = self.src[picked]
        for _ in range(walk_length):
            deg = self.degree[node]
            node = node[deg > 0]  # a walk that reaches a node without (out-)edges stops
            deg = deg[deg > 0]
            if len(node) == 0:
                break
            step = (torch.rand(len(node), generator=generator, device=device) * deg).long()
            entry = self.rowptr[node] + torch.minimum(step, deg - 1)
            hidden[self.oid[entry]] = True
            node = self.dst[entry]
        return hidden.view(-1, self.num_edges)


def degree_target(edge_index: torch.Tensor, num_nodes: int, *, both_ends: bool = True) -> torch.Tensor:
    r"""The degree decoder's target: ``log(1 + d_i)``, ``d_i`` the hidden edges at node ``i``.

    Both endpoints of each edge count (the total degree on a directed graph). The
    logarithm keeps the hubs of heavy-tailed graphs from dominating the squared error.
    ``both_ends=False`` counts targets ``edge_index[1]`` alone: the in-degree of hidden
    orientations, which is the same count when each undirected edge is listed both ways.

    Shapes:
        edge_index: ``[2, k]``; returns ``[N]`` float32.
    """
    ends = edge_index.reshape(-1) if both_ends else edge_index[1]
    deg = torch.bincount(ends, minlength=num_nodes)
    return torch.log1p(deg.to(torch.float32))


def _at_least_one(hidden: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """``hidden``, or with one entry set at random when none is: a step needs something to reconstruct."""
    if not bool(hidden.any()):
        pick = torch.randint(hidden.shape[0], (1,), generator=generator, device=hidden.device)
        hidden[pick] = True
    return hidden


class MaskedEdgeObjective(Objective):
    r"""MaskGAE's step: hide edges, encode the visible graph, reconstruct the hidden edges.

    One step (see :mod:`graphae.training.masking` for the loss): draw the hidden edges,
    build the visible graph's normalised adjacency, encode, score the hidden edges and
    ``num_negatives`` fresh non-edges per hidden edge (non-edges of the whole training
    graph) with the model's decoder, add ``alpha`` times the degree decoder's squared
    error, clip the gradient norm and take one Adam step (with L2 ``weight_decay``).
    Logs ``loss``, ``edge`` (the cross-entropy) and ``degree`` (the squared error).

    Args:
        lr: Adam learning rate (reference: 0.01).
        weight_decay: Adam's L2 penalty (reference: 5e-5).
        mask: ``"path"``, ``"edge"`` or ``"none"``.
        mask_ratio: Probability ``p`` of the mask (see the module).
        walk_length: Steps of each walk of ``mask="path"`` (reference: encoder layers + 1).
        num_negatives: Non-edges sampled per hidden edge.
        alpha: Weight of the degree loss (0: none).
        grad_clip: Largest gradient norm (reference: 1.0; 0: no clipping).
        orientations: Hide each orientation of an undirected edge on its own, as the
            reference code does (see the module); no effect on a directed graph.
        owner: Name used in error messages (the estimator's class name).
        batch_size: Hidden edges scored at a time (see :mod:`graphae.training.chunks`):
            ``"auto"`` chunks training graphs of more than 8M edges, an int sets the
            chunk, ``None`` never chunks. Each step still takes one optimizer step.
    """

    def __init__(
        self,
        lr: float = 0.01,
        weight_decay: float = 5e-5,
        mask: str = "edge",
        mask_ratio: float = 0.5,
        walk_length: int = 2,
        num_negatives: int = 1,
        alpha: float = 0.0,
        grad_clip: float = 1.0,
        orientations: bool = False,
        owner: str = "the model",
        batch_size: int | str | None = "auto",
    ) -> None:
        if mask not in MASKS:
            raise ParameterError(
                f"The 'mask' parameter of {owner} must be one of {list(MASKS)}. Got {mask!r}."
            )
        self.lr, self.weight_decay, self.mask, self.mask_ratio = lr, weight_decay, mask, mask_ratio
        self.walk_length, self.num_negatives, self.alpha = walk_length, num_negatives, alpha
        self.grad_clip, self.orientations, self.owner = grad_clip, orientations, owner
        self.batch_size = batch_size
        self.sampler: NegativeSampler | None = None
        self.paths: PathMasker | None = None
        self.hidden: HiddenEdgeAdjacency | None = None  # Â with edges hidden, built once per graph

    def setup(self, model: GraphAutoencoder, data: GraphTensors) -> None:
        if self.alpha > 0 and getattr(model, "degree_decoder", None) is None:
            raise ParameterError(
                f"{self.owner} weighs a degree loss (alpha={self.alpha}) but its model has no degree "
                "decoder (graphae.nn.deep_encoder.MaskedGraphAutoencoder with degree_decoder)."
            )
        self.sampler = NegativeSampler(data.edge_index, data.num_nodes, data.directed)
        self.chunk_size = resolve_batch_size(self.batch_size, data.edge_index.shape[1], data.num_nodes)
        self.paths = (
            PathMasker(data.edge_index, data.num_nodes, data.directed) if self.mask == "path" else None
        )

    def configure_optimizers(self, model: GraphAutoencoder) -> dict[str, torch.optim.Optimizer]:
        return {"model": make_adam(model.parameters(), self.lr, self.weight_decay)}

    def hidden_edges(self, batch: GraphTensors, generator: torch.Generator | None) -> torch.Tensor:
        """``[E]`` bool: which edges of ``batch`` this step hides (all of them for ``mask="none"``)."""
        edges = batch.edge_index
        if self.mask == "none":
            return torch.ones(edges.shape[1], dtype=torch.bool, device=edges.device)
        if self.mask == "path":
            if self.paths is None:
                raise RuntimeError("MaskedEdgeObjective.setup must run before a step.")
            hidden = self.paths(self.mask_ratio, self.walk_length, generator)
        else:
            hidden = mask_edges(edges, self.mask_ratio, generator)
        return _at_least_one(hidden, generator)

    def hidden_orientations(self, batch: GraphTensors, generator: torch.Generator | None) -> torch.Tensor:
        """``[2, E]`` bool: which orientations of the undirected ``batch`` this step hides
        (row 0: the edges as given, row 1: their reverses)."""
        edges = batch.edge_index
        if self.mask == "path":
            if self.paths is None:
                raise RuntimeError("MaskedEdgeObjective.setup must run before a step.")
            hidden = self.paths.orientations(self.mask_ratio, self.walk_length, generator)
        else:
            hidden = torch.rand(2, edges.shape[1], generator=generator, device=edges.device) < self.mask_ratio
        return _at_least_one(hidden.reshape(-1), generator).view(2, -1)

    def positives_and_hidden(
        self, batch: GraphTensors, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The step's pairs to reconstruct ``[2, k]`` and the ``[E]`` mask of the edges the encoder
        does not see (``None``: it sees the whole graph, for ``mask="none"``)."""
        edges = batch.edge_index
        if self.mask == "none":
            return edges, None
        if self.orientations and not batch.directed:
            hidden = self.hidden_orientations(batch, generator)
            pos = torch.cat([edges[:, hidden[0]], edges.flip(0)[:, hidden[1]]], dim=1)
            return pos, hidden[0] & hidden[1]
        hidden = self.hidden_edges(batch, generator)
        return edges[:, hidden], hidden

    def compute_loss(
        self, model: GraphAutoencoder, batch: GraphTensors, generator: torch.Generator | None
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The step's loss, edge loss and degree loss (with their autograd graphs)."""
        if self.sampler is None:
            raise RuntimeError("MaskedEdgeObjective.setup must run before a step.")
        pos, hidden = self.positives_and_hidden(batch, generator)
        if hidden is None:
            adj = batch.adj
        else:
            self.hidden = HiddenEdgeAdjacency.of(
                self.hidden, batch.edge_index, batch.num_nodes, batch.directed
            )
            adj = self.hidden.hiding(hidden)
        z = model(batch.x, adj, generator).z
        # The bar counts the training graph's edges per epoch, not the hidden ones: no on_chunk.
        edge = sampled_loss(
            model.decoder, z, pos, self.sampler, self.chunk_size, generator, None, self.num_negatives
        )
        if self.alpha > 0:
            predicted = model.degree_decoder(z, generator)
            both_ends = not (self.orientations and self.mask != "none" and not batch.directed)
            degree = F.mse_loss(predicted, degree_target(pos, batch.num_nodes, both_ends=both_ends))
            return edge + self.alpha * degree, edge, degree
        return edge, edge, edge.new_zeros(())

    def step(
        self,
        model: GraphAutoencoder,
        batch: GraphTensors,
        optimizers: dict[str, torch.optim.Optimizer],
        generator: torch.Generator | None,
    ) -> dict[str, float]:
        optimizer = optimizers["model"]
        optimizer.zero_grad(set_to_none=True)
        loss, edge, degree = self.compute_loss(model, batch, generator)
        loss.backward()
        if self.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), self.grad_clip)
        optimizer.step()
        return {"loss": float(loss.detach()), "edge": float(edge.detach()), "degree": float(degree.detach())}
