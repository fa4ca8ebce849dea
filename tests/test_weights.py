"""One rule for edge weights, files and in-memory matrices alike (issue 19, item 12).

A weight must be a finite number > 0; in a matrix, 0 means no edge. A negative or NaN
entry used to become an edge in ``as_graph(-A)`` and a ``.npz`` while the edge-list
readers refused a weight of -1.
"""

import re

import numpy as np
import pytest
import scipy.sparse as sp

from graphae import GAE
from graphae.data import GraphFileError, as_graph, load_graph, read_edgelist
from graphae.errors import InputError, InputTypeError
from graphae.graph import Graph

RING = np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1)
MESSAGE = (
    "adjacency entry [0, 1] is -1.0: an edge weight must be a number > 0 (0 means no edge), as in "
    "edge-list files; negative or NaN entries are not edges."
)


@pytest.mark.parametrize(
    "convert",
    [
        lambda a: as_graph(a),
        lambda a: as_graph(sp.csr_matrix(a)),
        lambda a: as_graph(a, directed=True),
        lambda a: Graph.from_adjacency(sp.coo_matrix(a)),
        lambda a: GAE(epochs=1).fit(a),
    ],
    ids=["dense", "sparse", "directed", "from_adjacency", "fit"],
)
def test_a_negative_entry_is_refused(convert) -> None:
    with pytest.raises(InputError, match="^" + re.escape(MESSAGE) + "$"):
        convert(-RING)


def test_nan_and_inf_entries_are_refused() -> None:
    a = RING.copy()
    a[2, 3] = np.nan
    with pytest.raises(InputError, match=re.escape("adjacency entry [2, 3] is nan: an edge weight")):
        as_graph(a)
    a[2, 3] = np.inf
    with pytest.raises(InputError, match=re.escape("adjacency entry [2, 3] is inf: an edge weight")):
        as_graph(a)


def test_complex_entries_are_refused() -> None:
    with pytest.raises(InputTypeError, match=r"adjacency must hold real numbers \(edge weights\)"):
        as_graph(RING.astype(complex))


def test_weights_zeros_and_booleans_still_read() -> None:
    stored_zero = sp.csr_matrix(0.5 * RING)
    stored_zero.data[0] = 0.0  # an explicit zero is no edge
    assert as_graph(stored_zero, directed=True).num_edges == 11
    assert as_graph(RING.astype(bool)).num_edges == 6
    assert as_graph((3 * RING).astype(np.int8)).num_edges == 6


def test_a_npz_with_a_negative_weight_names_the_file(tmp_path) -> None:
    adj = sp.csr_matrix(RING)
    adj.data[1] = -2.0
    path = tmp_path / "g.npz"
    np.savez(path, adj_data=adj.data, adj_indices=adj.indices, adj_indptr=adj.indptr, adj_shape=adj.shape)
    with pytest.raises(GraphFileError, match="^" + re.escape(f"{path}: 'adj_data' entry [0, 5] is -2.0:")):
        load_graph(path)


def test_file_readers_say_the_same_rule(tmp_path) -> None:
    path = tmp_path / "w.txt"
    path.write_text("a b 1\nb c -1\n")
    with pytest.raises(GraphFileError, match=re.escape(f"{path}:2: weight must be a number > 0, got '-1'")):
        read_edgelist(path)


@pytest.mark.parametrize("weight", [-1.0, float("nan"), 0, "heavy"])
def test_networkx_weights_follow_the_same_rule(weight) -> None:
    nx = pytest.importorskip("networkx")
    g = nx.path_graph(4)
    g.edges[1, 2]["weight"] = weight
    with pytest.raises(
        InputError, match=re.escape(f"networkx edge (1, 2) has weight {weight!r}: an edge weight must be")
    ):
        as_graph(g)
    g.edges[1, 2]["weight"] = 2.5
    assert as_graph(g).num_edges == 3


def test_pyg_edge_weight_follows_the_same_rule() -> None:
    torch = pytest.importorskip("torch")

    class Data:  # a stand-in for torch_geometric.data.Data (duck-typed)
        def __init__(self, w):
            self.edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
            self.edge_weight = torch.tensor(w)

    with pytest.raises(
        InputError, match=re.escape("Data.edge_weight[2] is -1.0: an edge weight must be a number > 0")
    ):
        as_graph(Data([1.0, 1.0, -1.0, 1.0]))
    assert as_graph(Data([1.0, 0.5, 2.0, 3.0])).num_edges == 2
