"""Read user graphs from files: edge lists, feature tables and GNN-benchmark ``.npz``.

:func:`load_graph` picks the reader by extension. Edge lists are text (``.csv``,
``.tsv``, whitespace-separated ``.txt``/``.edges``/..., optionally ``.gz``-compressed)
or Parquet (:mod:`graphae.data.edgelist`); node features come from
:mod:`graphae.data.features`; ``.npz`` graphs from :mod:`graphae.data.npz`.

Node ids and order, the rules every reader follows:

- Rows of the graph follow the order in which ids first appear in the edge list
  (reading each row source first), followed by nodes found only in the feature table,
  in that table's order (isolated nodes).
- In text files an id is a string, unless *every* id (edge list and feature table)
  is an integer written canonically (``str(int(s)) == s``): then all ids are
  ``int64``. So ``"007"`` or ``"+7"`` keep every id a string. String ids are stored
  as an object array of ``str``.
- Parquet ids keep their Arrow type (``int32`` stays ``int32``).
- Feature rows are matched to edge-list ids by their text (``str(id)``), so integer
  ids in a Parquet table match ``"7"`` in a text edge list.

Graphs are undirected unless ``directed=True`` is passed, which keeps the direction of
each row (``source -> target``) or adjacency entry (``adj[i, j]``: ``i -> j``).

Errors in a file raise :class:`GraphFileError` (an :class:`~graphae.errors.InputError`,
so a ``ValueError``) whose message starts with ``FILE:LINE:`` (text, 1-based physical
line), ``FILE: row K:`` (Parquet, 1-based row) or ``FILE:``. A missing file raises
:class:`~graphae.errors.MissingFileError` (a ``FileNotFoundError``). Arrays are always
loaded with ``allow_pickle=False``.
"""

from __future__ import annotations

from typing import Any

from graphae.data.edgelist import read_edgelist, read_labelled_pairs, read_pairs
from graphae.data.features import attach_features, read_features
from graphae.data.npz import load_npz_graph, npz_keys
from graphae.data.parquet import release_arrow_memory
from graphae.data.text import GraphFileError, PathLike, suffix
from graphae.graph import Graph

__all__ = [
    "GraphFileError",
    "load_graph",
    "load_npz_graph",
    "read_edgelist",
    "read_features",
    "read_labelled_pairs",
    "read_pairs",
]


def load_graph(
    path: PathLike,
    features: Any = None,
    *,
    delimiter: str | None = None,
    header: bool | None = None,
    comment: str | None = "#",
    directed: bool = False,
    reverse: bool = False,
    source_col: str | None = None,
    target_col: str | None = None,
    weight_col: str | None = None,
) -> Graph:
    """Load a graph file, choosing the reader by extension.

    ``.npz`` files with an ``adj_data`` array go to :func:`load_npz_graph`; every other
    file (``.csv``, ``.tsv``, ``.txt``, ``.edges``, ``.el``, ``.parquet``, ``.pq``, ...)
    is an edge list for :func:`read_edgelist`. The graph is named after the file stem.

    Args:
        path: The graph file.
        features: Optional node features, as for :func:`read_edgelist`.
        delimiter: Text edge lists only; see :func:`read_edgelist`.
        header: Text edge lists only; see :func:`read_edgelist`.
        comment: Text edge lists only; see :func:`read_edgelist`.
        directed: Keep the direction of each edge and return a directed graph;
            otherwise a directed-looking input is made undirected with a warning.
        reverse: Reverse every edge: each edge-list row is ``target, source`` (as Cora's
            ``cora.cites``, ``cited<TAB>citing``), an ``.npz`` adjacency is transposed.
            Node order is unchanged; an undirected graph stays the same.
        source_col: Edge lists only: the source column's name; see :func:`read_edgelist`.
        target_col: Edge lists only: the target column's name.
        weight_col: Edge lists only: the weight column's name.

    Returns:
        A new :class:`~graphae.graph.Graph`.

    Raises:
        MissingFileError: If ``path`` does not exist.
        GraphFileError: If the file (or the feature table) is malformed.
        MissingDependencyError: For Parquet without pyarrow.

    Example:
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "tri.csv"
        >>> _ = p.write_text("a,b\\nb,c\\nc,a\\n")
        >>> load_graph(p)
        Graph(name='tri', num_nodes=3, num_edges=3, features=none)
    """
    kind = suffix(path)
    if kind in (".npz", ".npy") and (source_col, target_col, weight_col) != (None, None, None):
        raise GraphFileError(path, "source_col, target_col and weight_col apply to edge lists, not to arrays")
    if kind == ".npz":
        if "adj_data" not in npz_keys(path):
            raise GraphFileError(
                path,
                "is an .npz without an 'adj_data' array, so not a GNN-benchmark graph; "
                "a feature .npz goes in the features argument",
            )
        graph = load_npz_graph(path, directed=directed)
        if reverse and directed:
            graph = graph.replace(adj=graph.adj.T.tocsr().sorted_indices())
        return graph if features is None else attach_features(graph, features)
    if kind == ".npy":
        raise GraphFileError(path, "a .npy array holds no graph; pass an edge list or a GNN-benchmark .npz")
    graph = read_edgelist(
        path,
        delimiter=delimiter,
        header=header,
        comment=comment,
        features=features,
        directed=directed,
        reverse=reverse,
        source_col=source_col,
        target_col=target_col,
        weight_col=weight_col,
    )
    release_arrow_memory()  # the tables are gone; Arrow's allocator would keep their memory
    return graph
