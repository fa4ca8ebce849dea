r"""FastGAE: the exact reconstruction loss on a random subgraph, redrawn every step.

Salha, Hennequin, Remy, Moussallam and Vazirgiannis, *FastGAE: Scalable Graph
Autoencoders with Stochastic Subgraph Decoding*, Neural Networks 142 (2021), arXiv
2002.01910; reference code ``deezer/fastgae``. The encoder still runs on the whole
graph; only the decoder's loss is restricted, to the pairs among ``n`` sampled nodes
``S``: ``O(n^2)`` pairs per step instead of ``O(N^2)``.

- **Sampling** (paper section 3.2.3, code ``get_distribution``/``node_sampling``): ``n``
  distinct nodes, drawn one after another without replacement with probability
  proportional to :math:`f(i)^\alpha` among the nodes not drawn yet, where ``f(i)`` is
  the degree of ``i`` in the *training* graph (undirected: neighbours; directed: in-
  plus out-degree). ``alpha = 0`` is uniform; larger ``alpha`` favours hubs.
- **Loss**: the decoder's exact loss (:mod:`graphae.losses`) on ``z[S]`` and the edges
  of the subgraph induced by ``S``, so ``pos_weight`` and ``norm`` are those of that
  subgraph. The reference code computes them once, from its first subgraph; here each
  step's subgraph gives its own (on Pubmed's training graph, with ``n = 5000`` and
  ``alpha = 1``, ``pos_weight`` varies by about 1 % between draws; 6 % with ``n = 1000``).
- **KL** (variational encoders): unchanged, over all ``N`` nodes and scaled by ``1/N``,
  as in the reference code (see :class:`~graphae.training.ReconstructionObjective`).
  Two quirks of that code are not followed: its VAE decodes ``mu`` instead of the sampled
  ``z``, and its AE drops ``norm`` (a constant factor, which Adam all but ignores).

Defaults: ``n = 1000`` is the code's ``nb_node_samples``; ``alpha = 1`` is the paper's
best for degree sampling (Table 2, Pubmed) and the value of its README's example (the
code's flag default, 2, is the best ``alpha`` of *core* sampling).
"""

from __future__ import annotations

import torch

from graphae.nn.decoders import Decoder

DEFAULT_NODES = 1000
DEFAULT_ALPHA = 1.0


def degree_weights(edge_index: torch.Tensor, num_nodes: int, alpha: float) -> torch.Tensor:
    r"""Unnormalised sampling weights :math:`\deg(i)^\alpha` (``0^0 = 1``: ``alpha = 0`` is uniform).

    Args:
        edge_index: Training edges, each once (undirected: one orientation).
        num_nodes: ``N``.
        alpha: Exponent, ``>= 0``.

    Shapes:
        edge_index: ``[2, E]``; returns ``[N]`` float64 on the device of ``edge_index``.
    """
    degree = torch.bincount(edge_index.reshape(-1), minlength=num_nodes).double()
    return degree.pow(float(alpha))


def sample_nodes(weights: torch.Tensor, count: int, generator: torch.Generator | None = None) -> torch.Tensor:
    r"""``count`` distinct nodes drawn successively with probabilities proportional to ``weights``.

    Draws as ``numpy.random.choice(N, count, replace=False, p=weights / weights.sum())``
    does (node by node, each among those left), by the exponential race of Efraimidis and
    Spirakis: with :math:`E_i \sim \mathrm{Exp}(1)`, the ``count`` smallest
    :math:`E_i / w_i` are such a sample, in one vectorised pass. Nodes of weight 0 are
    drawn only when fewer than ``count`` nodes have a positive weight, then uniformly
    (``numpy.random.choice`` refuses that case).

    Args:
        weights: Non-negative weights, ``[N]``.
        count: Sample size; ``count >= N`` returns every node.
        generator: Source of randomness (on the device of ``weights``).

    Returns:
        ``[min(count, N)]`` int64 node indices, sorted.
    """
    n = weights.shape[0]
    if count >= n:
        return torch.arange(n, device=weights.device)
    race = torch.empty_like(weights).exponential_(generator=generator)
    positive = weights > 0
    keys = torch.where(positive, race / weights, torch.inf)
    num_positive = int(positive.sum())
    if count > num_positive:
        # Every positive node is drawn; the rest come from the zero-weight nodes in the
        # (uniformly random) order of their E_i, placed after the largest positive key.
        last = keys[positive].max() if num_positive else keys.new_zeros(())
        keys = torch.where(positive, keys, last + 1.0 + race)
    chosen = torch.topk(keys, count, largest=False, sorted=False).indices
    return chosen.sort().values


def induced_edges(edge_index: torch.Tensor, nodes: torch.Tensor, num_nodes: int) -> torch.Tensor:
    """The edges with both ends in ``nodes``, renumbered by position in ``nodes``.

    With ``nodes`` sorted, renumbering keeps the order of the ends, so undirected
    edges stay ``i < j``. Directions are kept.

    Shapes:
        edge_index: ``[2, E]``; nodes: ``[n]`` distinct; returns ``[2, E_S]``.
    """
    local = torch.full((num_nodes,), -1, dtype=torch.long, device=edge_index.device)
    local[nodes] = torch.arange(nodes.shape[0], device=edge_index.device)
    ends = local[edge_index]
    return ends[:, (ends >= 0).all(dim=0)]


def subgraph_exact_loss(
    decoder: Decoder,
    z: torch.Tensor,
    pos_edge_index: torch.Tensor,
    nodes: torch.Tensor,
    directed: bool,
) -> torch.Tensor:
    r"""The decoder's exact loss on the subgraph induced by ``nodes``.

    .. math::
        L_S = \frac{\text{norm}_S}{n^2} \sum_{i, j \in S} \Big[ w_S\, Y_{ij}\,
            \mathrm{softplus}(-x_{ij}) + (1 - Y_{ij})\, \mathrm{softplus}(x_{ij}) \Big],
        \quad Y = A_S + I,

    with ``w_S = (n^2 - P_S) / P_S`` and ``norm_S = n^2 / (2 (n^2 - P_S))`` from the
    ``P_S`` nonzeros of the loop-free ``A_S``, as in deezer/fastgae. With every node of
    the graph in ``nodes`` it is the exact loss of the whole graph. A subgraph without an
    edge (possible only with tiny samples) has no ``pos_weight``; its term is 0.

    Shapes:
        z: ``[N, d]``; pos_edge_index: ``[2, E]``; nodes: ``[n]`` sorted; returns a scalar.
    """
    z_sub = z.index_select(0, nodes)
    edges = induced_edges(pos_edge_index, nodes, z.shape[0])
    if edges.shape[1] == 0:
        return z_sub.sum() * 0.0
    return decoder.exact_loss(z_sub, edges, directed)


class SubgraphSampler:
    """Draws the nodes of each step's subgraph: ``num_nodes`` of them, by degree^alpha.

    Args:
        edge_index: Training edges, each once, ``[2, E]``.
        num_nodes: ``N``.
        count: Nodes per subgraph (``>= N``: the whole graph, every step).
        alpha: Exponent of the degree.
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int, count: int, alpha: float) -> None:
        self.num_nodes, self.count, self.alpha = num_nodes, int(count), float(alpha)
        self.weights = degree_weights(edge_index, num_nodes, alpha)

    @property
    def whole_graph(self) -> bool:
        """Whether every subgraph is the whole graph (``count >= N``)."""
        return self.count >= self.num_nodes

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """The sorted nodes of one subgraph, ``[min(count, N)]``."""
        return sample_nodes(self.weights, self.count, generator)
