"""Embedding nodes a fitted model has never seen, from their edges (and features).

A GCN encoder computes a node's code from its features and those of its neighbourhood,
with weights that do not depend on the graph's size. So a model trained with node
features can embed a node that arrived after training: append it to the fitted graph
with its edges and features, and run the trained encoder, unchanged, on the enlarged
graph. A model without features (identity features, or a learned table of node
embeddings) has no input for an unseen node: it is refused, never answered with zeros.

>>> from graphae import GAE
>>> from graphae.data import make_communities
>>> graph = make_communities(num_nodes=60, num_features=8, random_state=0)
>>> model = GAE(epochs=5, random_state=0).fit(graph)
>>> x_new = graph.x[:2]  # two new nodes, with the features of nodes 0 and 1
>>> ids, z = model.embed_new_nodes([(100, 0), (100, 5), (101, 1)], features=([100, 101], x_new))
>>> ids.tolist(), z.shape
([100, 101], (2, 16))
"""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp

from graphae.errors import InputError
from graphae.graph import Graph

if TYPE_CHECKING:
    from graphae.estimator import GraphAutoencoderEstimator

_KINDS = {"int": "integers", "float": "numbers", "str": "text"}


class InductiveMixin:
    """:meth:`embed_new_nodes` and :meth:`recommend_new_nodes` for the autoencoders (see the module)."""

    def embed_new_nodes(
        self, edges: Any, features: Any = None, include_fitted: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Embed nodes the model has not seen, from their edges and features (weights unchanged).

        See :func:`graphae.inductive.extend_graph` for ``edges`` and ``features``.

        Returns:
            ``(ids, z)``: the new nodes' ids and ``[M, out_channels]`` codes (all nodes,
            fitted ones first, with ``include_fitted``; their codes may move, as their
            neighbourhoods may have grown).

        Raises:
            InputError: If the model was trained without node features (it has no input for
                an unseen node), or on bad edges or features.
        """
        self._check_fitted()
        check_inductive(self)
        graph, new = extend_graph(self, edges, features)
        z = self.transform(graph)
        return (graph.node_ids, z) if include_fitted else (graph.node_ids[new], z[new])

    def recommend_new_nodes(
        self, nodes: Any, edges: Any, features: Any = None, k: int = 10, exclude_edges: bool = True
    ) -> list:
        """:meth:`recommend` on the fitted graph enlarged with new nodes (weights unchanged).

        The new nodes of ``edges`` and ``features`` (see :func:`extend_graph`) are appended
        to the fitted graph, every node is embedded on the enlarged graph, and each of
        ``nodes`` (new or fitted) gets its ``k`` most likely new neighbours among all of
        them, its given edges excluded with ``exclude_edges``. Every node is scored: an
        index of the fitted embedding does not hold the codes on the enlarged graph.

        Returns:
            As :meth:`recommend`: for one id a list of ``(neighbour id, probability)``,
            best first; for a sequence of ids, one such list per id.

        Raises:
            InputError: As :meth:`embed_new_nodes`, and on an id of ``nodes`` that is
                neither a fitted node nor a new one.
        """
        self._check_fitted()
        check_inductive(self)
        graph, _ = extend_graph(self, edges, features)
        view = copy.copy(self)  # the same weights, on the enlarged graph; self is unchanged
        for cached in ("_id_cache", "_topk_cache", "_topk_file"):
            vars(view).pop(cached, None)
        view.graph_, view.node_ids_, view.embedding_ = graph, graph.node_ids, self.transform(graph)
        if getattr(self, "_known_edges", None) is not None:  # the user's other edges stay left out
            view._known_edges = _known_enlarged(self.known_adjacency(), self.graph_.adj, graph.adj)
        single = np.ndim(nodes) == 0
        wanted = [nodes] if single else list(nodes)
        lookup = view.id_index()
        for node in wanted:
            if node not in lookup:
                raise InputError(
                    f"Unknown node id {node!r}: neither a node of the fitted graph nor a new node of the edges "
                    "or features given."
                )
        return view.recommend(nodes, k=k, exclude_edges=exclude_edges, exact=True)


def check_inductive(model: GraphAutoencoderEstimator) -> None:
    """Refuse a model that cannot embed unseen nodes, saying why and what to do instead.

    Raises:
        InputError: If the model has no embedding, was trained without node features, or
            learned a table of node embeddings, or its folder kept no features.
    """
    name = type(model).__name__
    if not getattr(model, "learned", True):
        raise InputError(f"{name} is a heuristic without node embeddings: it embeds no node.")
    embeds_nodes = getattr(model, "_embeds_nodes", None)
    if not model.features_used_ or (embeds_nodes is not None and embeds_nodes()):
        what = (
            "learned an embedding per node" if model.features_used_ else "was trained without node features"
        )
        raise InputError(
            f"This {name} {what}, so it has no input for a node it has not seen and cannot embed new "
            "nodes (it never returns zeros instead). Train it with node features (--features FILE; "
            f"{'node_embedding=False for refined_gae, ' if model.features_used_ else ''}features keyed by "
            "id for every node), then give the new nodes' features too."
        )
    if model.graph_.x is None:
        raise InputError(
            f"This {name} was saved without the node features it was trained on (by graphae 0.2 or older), "
            "and embedding a new node reads its neighbours' features: train and save it again."
        )


def extend_graph(
    model: GraphAutoencoderEstimator, edges: Any, features: Any = None
) -> tuple[Graph, np.ndarray]:
    """The fitted graph with the nodes of ``edges`` it does not have appended, and their edges.

    Args:
        model: A fitted model that can embed unseen nodes (see :func:`check_inductive`).
        edges: The new edges, as a :class:`~graphae.graph.Graph` (e.g. read with
            :func:`graphae.data.load_graph`) or ``[k, 2]`` pairs of node ids. An id the
            model knows is that node; any other id is a new node, numbered in order of
            first appearance. Edges between two known nodes are added too.
        features: Features of the new nodes, keyed by id: a file (CSV/TSV/Parquet,
            ``.npy``/``.npz``), an ``(ids, matrix)`` pair, or a matrix whose rows follow
            the new nodes' order. New ids that only the features name become isolated nodes.

    Returns:
        ``(graph, new)``: the enlarged graph (fitted nodes first, in their order) and the
        row indices of the new nodes in it.

    Raises:
        InputError: On an id of another type than the model's ids, a new node without a
            feature row, features of the wrong width, or features for a known node.
    """
    from graphae.data.features import align, feature_source
    from graphae.runfolder import node_id_type

    fitted = model.graph_
    n = fitted.num_nodes
    known = model.id_index()
    pairs = _id_pairs(edges, fitted.directed)
    kind = node_id_type(model.node_ids_)
    new_ids: dict[Any, int] = {}
    index = np.empty(pairs.shape, dtype=np.int64)
    for k, node in enumerate(pairs.ravel().tolist()):
        node = _as_kind(node, kind)
        row = known.get(node)
        if row is None:
            row = new_ids.setdefault(node, n + len(new_ids))
        index.flat[k] = row
    ids = _id_array(list(new_ids), kind)
    if features is None:
        raise InputError(
            f"The model uses node features: give the features of the {len(ids)} new node(s) "
            "(--features FILE, or features=(ids, matrix)), keyed by id."
        )
    feat_ids, x, where = feature_source(features)
    if feat_ids is not None:
        # A feature file's ids are read as text: typed as the edge readers type ids.
        from_file = isinstance(features, str | os.PathLike)
        typed = [
            _text_id(v, kind, where) if from_file and isinstance(v, str) else _as_kind(v, kind)
            for v in feat_ids.tolist()
        ]
        feat_ids = _id_array(typed, kind)
        clash = next((v for v in feat_ids.tolist() if v in known), None)
        if clash is not None:
            raise InputError(
                f"{where}: node {clash!r} is a node the model was trained on; it keeps the features it "
                "was trained with. Give features for new nodes only."
            )
    channels = fitted.x.shape[1]
    if x.shape[1] != channels:
        raise InputError(f"{where}: {x.shape[1]} feature columns; the model was trained on {channels}.")
    ids, x = align(ids, feat_ids, x, where)
    total = n + len(ids)
    adj = _extended_adjacency(fitted, index, total)
    if sp.issparse(fitted.x):
        features_all = sp.vstack([fitted.x, sp.csr_matrix(x, dtype=np.float32)], format="csr")
    else:
        dense = x.toarray() if sp.issparse(x) else x
        features_all = np.vstack([fitted.x, np.asarray(dense, dtype=np.float32)])
    node_ids = np.concatenate([np.asarray(model.node_ids_, dtype=object), np.asarray(ids, dtype=object)])
    graph = Graph(
        adj=adj,
        x=features_all,
        node_ids=_id_array(node_ids.tolist(), kind),
        directed=fitted.directed,
        name=fitted.name,
    )
    return graph, np.arange(n, total)


def _id_pairs(edges: Any, directed: bool) -> np.ndarray:
    """``[k, 2]`` object array of id pairs from a graph or an array-like of pairs."""
    if isinstance(edges, Graph):
        adj = edges.adj if directed else sp.triu(edges.adj, k=1)
        coo = sp.coo_matrix(adj)
        ids = edges.node_ids if edges.node_ids is not None else np.arange(edges.num_nodes)
        ids = np.asarray(ids, dtype=object)
        return np.stack([ids[coo.row], ids[coo.col]], axis=1)
    pairs = np.empty((0, 2), dtype=object) if edges is None else np.array(list(edges), dtype=object)
    if pairs.size == 0:
        return pairs.reshape(0, 2)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise InputError(f"edges must be pairs of node ids, shape [k, 2]. Got shape {pairs.shape}.")
    return pairs


def _as_kind(node: Any, kind: str) -> Any:
    """A new id in the type of the model's ids (text ids compare as text)."""
    node = node.item() if isinstance(node, np.generic) else node
    if kind == "str":
        return str(node)
    ok = isinstance(node, int) if kind == "int" else isinstance(node, int | float)
    if not ok or isinstance(node, bool):
        what = "text" if isinstance(node, str) else type(node).__name__
        raise InputError(
            f"New node id {node!r} is {what}, but this model's node ids are {_KINDS[kind]}; "
            "give ids of the same kind."
        )
    return float(node) if kind == "float" else node


def _text_id(text: str, kind: str, where: str) -> Any:
    """An id read as text from a feature file, in the type of the model's ids."""
    if kind == "str":
        return text
    from graphae.data.text import exact_id

    value = exact_id(text, kind)
    if value is None:
        raise InputError(
            f"{where}: node id {text!r} is text, but this model's node ids are {_KINDS[kind]}; "
            "give ids of the same kind."
        )
    return value


def _id_array(values: list[Any], kind: str) -> np.ndarray:
    if kind == "int":
        return np.array(values, dtype=np.int64)
    if kind == "float":
        return np.array(values, dtype=np.float64)
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _extended_adjacency(fitted: Graph, index: np.ndarray, total: int) -> sp.csr_matrix:
    """The fitted adjacency grown to ``total`` nodes, with the edges ``index`` (``[k, 2]``) added."""
    old = sp.coo_matrix(fitted.adj)
    rows, cols = index[:, 0], index[:, 1]
    if not fitted.directed:
        rows, cols = np.concatenate([rows, cols]), np.concatenate([cols, rows])
    keep = rows != cols
    row = np.concatenate([old.row, rows[keep]])
    col = np.concatenate([old.col, cols[keep]])
    adj = sp.csr_matrix((np.ones(len(row), dtype=np.float32), (row, col)), shape=(total, total))
    adj.sum_duplicates()
    adj.data[:] = 1.0
    return adj


def _known_enlarged(known: sp.csr_matrix, fitted: sp.csr_matrix, enlarged: sp.csr_matrix) -> sp.csr_matrix:
    """``known`` (the fitted nodes' known edges) on the enlarged nodes, with the edges the
    enlargement added to ``fitted`` (the new nodes come after the fitted ones)."""
    m = enlarged.shape[0]
    added = (_ones(enlarged, m) - _ones(fitted, m)) > 0
    return sp.csr_matrix((_ones(known, m) + added) > 0, dtype=np.float32)


def _ones(a: sp.csr_matrix, m: int) -> sp.csr_matrix:
    """The stored entries of ``a`` as float32 ones, on ``m`` x ``m`` nodes (the rows and columns added are empty)."""
    ones = sp.csr_matrix((np.ones(a.nnz, dtype=np.float32), a.indices, a.indptr), shape=a.shape)
    ones.resize(m, m)  # scipy extends indptr (O(m)); the entries are not copied
    return ones
