"""Bring your own graph: convert in-memory graph objects into a :class:`~graphae.graph.Graph`.

:func:`as_graph` accepts the objects users usually hold already: a networkx graph, a
scipy sparse or dense numpy adjacency matrix, a torch ``edge_index`` and a PyTorch
Geometric ``Data`` object. networkx, torch and torch_geometric are recognised by duck
typing and never imported here, so this module costs nothing to import.

Every input ends as a binary graph without self loops. Weights (matrix entries, a
networkx ``weight`` attribute) must be finite numbers > 0, as in edge-list files
(:mod:`graphae.weights`), and are then dropped.
By default the graph is undirected: when the input was directed (a networkx
``DiGraph``, an asymmetric matrix or ``edge_index``) a ``UserWarning`` says it was made
undirected. With ``directed=True`` the direction of a directed input is kept.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphae.errors import InputError, InputTypeError
from graphae.graph import Graph
from graphae.indices import check_node_count
from graphae.weights import WEIGHT_RULE, bad_weights, check_adjacency_weights

__all__ = ["as_graph"]

_ACCEPTED = (
    "a graphae Graph, a networkx graph, a scipy sparse matrix or square numpy array "
    "(adjacency), a torch edge_index LongTensor of shape [2, E] or a PyTorch Geometric "
    "Data object"
)
# networkx node attributes read as features, in order of preference.
_FEATURE_ATTRS = ("x", "features")


def as_graph(
    obj: Any, *, name: str | None = None, num_nodes: int | None = None, directed: bool = False
) -> Graph:
    """Convert a graph held in memory into a :class:`~graphae.graph.Graph`.

    Accepted inputs:

    - a :class:`~graphae.graph.Graph`: returned as is (renamed when ``name`` is given),
      directed or not: a ``Graph`` already says which it is;
    - a networkx ``Graph``/``DiGraph``/``MultiGraph``/``MultiDiGraph``: rows follow
      ``G.nodes`` order and the node keys become ``node_ids`` (``int64`` when every key
      is an int, else an object array); keys must be ints, floats or strings (a
      tuple such as ``grid_2d_graph``'s ``(0, 1)`` is refused: relabel the graph); a node attribute ``"x"`` (or ``"features"``)
      present on every node becomes the feature matrix;
    - a scipy sparse matrix or a square 2-D numpy array: an adjacency matrix; any
      non-zero entry ``adj[i, j]`` is an edge (``i -> j`` when ``directed``), and
      must be a finite weight > 0, as in edge-list files (:mod:`graphae.weights`);
    - a torch integer tensor of shape ``[2, E]`` (PyG ``edge_index``): nodes are
      ``0 .. num_nodes - 1`` with ``num_nodes = max + 1`` unless given;
    - a PyTorch Geometric ``Data`` (anything with an ``edge_index`` attribute): uses
      ``edge_index``, and ``x``, ``y`` and ``num_nodes`` when present.

    Args:
        obj: The graph to convert.
        name: Name of the result; defaults to the networkx graph's ``name`` or ``"graph"``.
        num_nodes: Node count for an ``edge_index`` or ``Data`` whose last nodes are
            isolated; for other inputs it must match the node count when given.
        directed: Keep the direction of the edges and return a directed graph: a
            networkx ``DiGraph``/``MultiDiGraph`` keeps its direction, and a matrix or
            ``edge_index`` keeps each entry as given (a pair present both ways gives
            two edges). An undirected ``Graph`` or networkx graph has no direction to
            keep and is an error. With ``False`` (the default) the result is undirected,
            except that a directed ``Graph`` is returned as is.

    Returns:
        A new :class:`~graphae.graph.Graph` (or ``obj`` itself for a ``Graph``).

    Raises:
        InputTypeError: If ``obj`` is none of the accepted types, or an ``edge_index``
            (or a dense matrix) does not hold numbers of the right kind.
        InputError: If a matrix is not square or has a negative or NaN entry, an ``edge_index`` is not ``[2, E]`` or
            holds ids outside ``[0, num_nodes)``, networkx features differ in shape,
            ``num_nodes`` does not match, or ``directed=True`` is given an undirected
            ``Graph`` or networkx graph.

    Warns:
        UserWarning: When a directed input is made undirected (``directed=False``), or
            a PyG ``y`` that is not one integer label per node is dropped.

    Example:
        >>> import numpy as np
        >>> g = as_graph(np.array([[0, 1], [1, 0]]), name="pair")
        >>> g.num_nodes, g.num_edges
        (2, 1)
        >>> as_graph(np.array([[0, 1], [0, 0]]), directed=True)
        Graph(name='graph', num_nodes=2, num_edges=1, features=none, directed=True)
    """
    if isinstance(obj, Graph):
        if directed and not obj.directed:
            raise InputError(
                "as_graph(directed=True) was given an undirected Graph: it has no direction to keep. "
                "Pass directed=False, or use graph.replace(directed=True) for a directed graph "
                "with every edge both ways."
            )
        graph = obj if name is None or name == obj.name else obj.replace(name=name)
    elif _is_networkx(obj):
        graph = _from_networkx(obj, name, directed)
    elif sp.issparse(obj) or isinstance(obj, np.ndarray):
        graph = _from_matrix(obj, name, directed)
    elif _is_tensor(obj):
        graph = _from_edge_index(obj, num_nodes, directed, name=name or "graph")
    elif getattr(obj, "edge_index", None) is not None:
        graph = _from_pyg(obj, num_nodes, name, directed)
    else:
        kind = type(obj)
        hint = (
            "; for files use graphae.data.load_graph"
            if isinstance(obj, str | bytes) or hasattr(obj, "__fspath__")
            else ""
        )
        raise InputTypeError(
            f"as_graph cannot convert {kind.__module__}.{kind.__qualname__}: expected {_ACCEPTED}{hint}."
        )
    if num_nodes is not None and graph.num_nodes != num_nodes:
        raise InputError(f"num_nodes={num_nodes} does not match the {graph.num_nodes} nodes of the input.")
    return graph


def _notice(what: str) -> None:
    warnings.warn(
        f"{what} was made undirected: each edge now joins its two nodes both ways.", UserWarning, stacklevel=3
    )


# networkx ---------------------------------------------------------------------
def _is_networkx(obj: Any) -> bool:
    return any(cls.__module__.startswith("networkx.") for cls in type(obj).__mro__) and hasattr(
        obj, "is_directed"
    )


def _from_networkx(nx_graph: Any, name: str | None, directed: bool) -> Graph:
    kind = type(nx_graph).__name__
    if directed and not nx_graph.is_directed():
        raise InputError(
            f"as_graph(directed=True) was given an undirected networkx {kind}: it has no direction "
            "to keep. Pass directed=False, or convert it with G.to_directed() (every edge both ways)."
        )
    nodes = list(nx_graph.nodes)
    _check_node_keys(nodes)
    index = {node: i for i, node in enumerate(nodes)}
    triples = list(nx_graph.edges(data="weight"))
    edges = np.array([(index[u], index[v]) for u, v, _ in triples], dtype=np.int64).reshape(-1, 2)
    _check_edge_weights(triples)
    if nx_graph.is_directed() and not directed:
        _notice(f"The directed networkx graph {kind}")
    if all(isinstance(n, int | np.integer) and not isinstance(n, bool) for n in nodes):
        big = next((n for n in nodes if not -(2**63) <= n < 2**63), None)
        if big is not None:
            raise InputError(
                f"networkx node {big} is beyond a signed 64-bit integer, the largest integer id a saved "
                "model reads back; relabel the nodes (networkx.convert_node_labels_to_integers) or use strings."
            )
        node_ids = np.array(nodes, dtype=np.int64)
    else:
        node_ids = np.empty(len(nodes), dtype=object)
        node_ids[:] = nodes
    return Graph.from_edges(
        edges,
        num_nodes=len(nodes),
        directed=directed,
        x=_networkx_features(nx_graph, nodes),
        name=name or str(nx_graph.name or "graph"),
        node_ids=node_ids,
    )


def _check_edge_weights(triples: list[tuple[Any, Any, Any]]) -> None:
    """Refuse a networkx ``weight`` attribute that is not a finite number > 0 (the files' rule)."""
    given = [(u, v, w) for u, v, w in triples if w is not None]
    if not given:
        return
    try:
        w = np.array([t[2] for t in given], dtype=np.float64)
    except (TypeError, ValueError):
        w = np.array([t[2] if isinstance(t[2], int | float) else np.nan for t in given], dtype=np.float64)
    bad = np.flatnonzero(bad_weights(w))
    if len(bad):
        u, v, value = given[int(bad[0])]
        raise InputError(
            f"networkx edge ({u!r}, {v!r}) has weight {value!r}: an edge weight must be {WEIGHT_RULE}, "
            "as in edge-list files; remove the edge or its 'weight' attribute."
        )


def _check_node_keys(nodes: list[Any]) -> None:
    """Refuse node keys that would not come back from a saved model as themselves.

    Ids are saved one per line (``node_ids.txt``) as integers, floats or text; a tuple
    such as ``grid_2d_graph``'s ``(0, 1)`` would come back as the string ``"(0, 1)"``,
    and a bool as ``"True"``.

    Raises:
        InputTypeError: Naming the first such node and how to relabel the graph.
    """
    bad = next(
        (
            n
            for n in nodes
            if isinstance(n, bool | np.bool_) or not isinstance(n, str | int | float | np.number)
        ),
        None,
    )
    if bad is not None:
        raise InputTypeError(
            f"networkx node {bad!r} is a {type(bad).__name__}; graphae node ids are integers, floats or "
            "strings, which a saved model reads back as themselves. Relabel the graph first, e.g. "
            "networkx.convert_node_labels_to_integers(G, label_attribute='key') or "
            "networkx.relabel_nodes(G, str)."
        )


def _networkx_features(nx_graph: Any, nodes: list[Any]) -> np.ndarray | None:
    if not nodes:
        return None
    data = nx_graph.nodes
    for attr in _FEATURE_ATTRS:
        if all(attr in data[n] for n in nodes):
            rows = [_to_numpy(data[n][attr]) for n in nodes]
            shapes = {np.shape(r) for r in rows}
            if len(shapes) != 1:
                raise InputError(
                    f"networkx node attribute {attr!r} must have one shape on every node. Got {sorted(shapes)}."
                )
            x = np.stack([np.asarray(r, dtype=np.float32).ravel() for r in rows])
            return np.ascontiguousarray(x, dtype=np.float32)
    return None


# Matrices ----------------------------------------------------------------------
def _from_matrix(mat: Any, name: str | None, directed: bool) -> Graph:
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1]:
        hint = (
            " An integer array of node pairs goes through Graph.from_edges ([E, 2]) "
            "or Graph.from_edge_index ([2, E])."
            if mat.ndim == 2 and 2 in mat.shape
            else ""
        )
        raise InputError(f"An adjacency matrix must be square. Got shape {mat.shape}.{hint}")
    if isinstance(mat, np.ndarray) and not (np.issubdtype(mat.dtype, np.number) or mat.dtype == bool):
        raise InputTypeError(f"An adjacency matrix must be numeric. Got dtype {mat.dtype}.")
    check_node_count(mat.shape[0], "the adjacency matrix's size")
    mat = sp.csr_matrix(mat)
    check_adjacency_weights(mat)
    pattern = sp.csr_matrix(mat != 0)
    if not directed and (pattern != pattern.T).nnz:
        _notice("The asymmetric adjacency matrix")
    return Graph.from_adjacency(pattern, directed=directed, name=name or "graph")


# torch and PyG -------------------------------------------------------------------
def _is_tensor(obj: Any) -> bool:
    return any(cls.__module__ == "torch" and cls.__name__ == "Tensor" for cls in type(obj).__mro__)


def _to_numpy(value: Any) -> Any:
    """A torch tensor as numpy (sparse tensors as scipy CSR); other values unchanged."""
    if not _is_tensor(value):
        return value
    value = value.detach().cpu()
    if str(value.layout) != "torch.strided":
        coo = value.to_sparse_coo().coalesce()
        row, col = coo.indices().numpy()
        return sp.csr_matrix((coo.values().numpy(), (row, col)), shape=tuple(coo.shape))
    return value.numpy()


def _from_edge_index(edge_index: Any, num_nodes: int | None, directed: bool, **kwargs: Any) -> Graph:
    arr = np.asarray(_to_numpy(edge_index))
    if not np.issubdtype(arr.dtype, np.integer):
        raise InputTypeError(
            f"edge_index must hold integer node indices (torch.long). Got dtype {arr.dtype}."
        )
    if arr.ndim != 2 or arr.shape[0] != 2:
        hint = " Transpose it with edge_index.t()." if arr.ndim == 2 and arr.shape[1] == 2 else ""
        raise InputError(f"edge_index must have shape [2, E]. Got {list(arr.shape)}.{hint}")
    arr = arr.astype(np.int64, copy=False)
    if num_nodes is None:
        num_nodes = check_node_count(int(arr.max()) + 1 if arr.size else 0, "the largest index + 1")
    num_nodes = check_node_count(num_nodes)
    if arr.size and (arr.min() < 0 or arr.max() >= num_nodes):
        raise InputError(
            f"edge_index must hold node indices in [0, {num_nodes}). Got values in [{arr.min()}, {arr.max()}]."
        )
    if not directed and _is_asymmetric(arr, num_nodes):
        _notice("The one-directional edge_index")
    return Graph.from_edge_index(arr, num_nodes, directed=directed, **kwargs)


def _is_asymmetric(edge_index: np.ndarray, num_nodes: int) -> bool:
    """Whether some edge of ``edge_index`` (self loops aside) is listed one way only."""
    off = edge_index[:, edge_index[0] != edge_index[1]]
    pattern = sp.csr_matrix(
        (np.ones(off.shape[1], dtype=np.float32), (off[0], off[1])), shape=(num_nodes, num_nodes)
    )
    pattern = sp.csr_matrix(pattern != 0)
    return bool((pattern != pattern.T).nnz)


def _from_pyg(data: Any, num_nodes: int | None, name: str | None, directed: bool) -> Graph:
    weight = getattr(data, "edge_weight", None)
    if weight is not None:
        w = np.asarray(_to_numpy(weight), dtype=np.float64).ravel()
        bad = np.flatnonzero(bad_weights(w))
        if len(bad):
            raise InputError(
                f"Data.edge_weight[{int(bad[0])}] is {w[bad[0]].item()!r}: an edge weight must be {WEIGHT_RULE}, "
                "as in edge-list files; drop the edge or the edge_weight."
            )
    x = _to_numpy(getattr(data, "x", None))
    if num_nodes is None and x is not None:
        num_nodes = x.shape[0]
    if num_nodes is None:
        stored = getattr(data, "num_nodes", None)
        num_nodes = None if stored is None else int(stored)
    if num_nodes is None:
        edges = np.asarray(_to_numpy(data.edge_index))
        num_nodes = int(edges.max()) + 1 if edges.size else 0
    if x is not None:
        x = (
            sp.csr_matrix(x, dtype=np.float32)
            if sp.issparse(x)
            else np.ascontiguousarray(x, dtype=np.float32)
        )
    return _from_edge_index(
        data.edge_index,
        num_nodes,
        directed,
        x=x,
        y=_pyg_labels(getattr(data, "y", None), num_nodes),
        name=name or "graph",
    )


def _pyg_labels(y: Any, num_nodes: int) -> np.ndarray | None:
    if y is None:
        return None
    y = np.asarray(_to_numpy(y))
    if y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and len(y) == num_nodes:
        return y.astype(np.int64, copy=False)
    warnings.warn(
        f"Data.y with shape {list(y.shape)} and dtype {y.dtype} is not one integer label per node; it was dropped.",
        UserWarning,
        stacklevel=4,
    )
    return None
