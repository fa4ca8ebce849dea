import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from graphae.data.convert import as_graph
from graphae.errors import InputError, InputTypeError
from graphae.graph import Graph

# The path 0-1-2 plus the isolated node 3, as a dense adjacency.
PATH4 = np.array(
    [
        [0, 1, 0, 0],
        [1, 0, 1, 0],
        [0, 1, 0, 0],
        [0, 0, 0, 0],
    ],
    dtype=np.float32,
)


class FakeData:
    """Duck-typed stand-in for torch_geometric.data.Data."""

    def __init__(self, **attrs):
        for key, value in attrs.items():
            setattr(self, key, value)


def _dense(graph: Graph) -> np.ndarray:
    return graph.adj.toarray()


@contextmanager
def _no_warnings() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


# Graph ------------------------------------------------------------------------------
def test_graph_is_returned_as_is() -> None:
    graph = Graph.from_adjacency(PATH4, name="toy")
    assert as_graph(graph) is graph
    assert as_graph(graph, name="toy") is graph


def test_graph_is_renamed_when_a_name_is_given() -> None:
    graph = Graph.from_adjacency(PATH4, name="toy", node_ids=np.array(["a", "b", "c", "d"], dtype=object))
    renamed = as_graph(graph, name="other")
    assert renamed.name == "other" and graph.name == "toy"
    assert renamed.adj is graph.adj and renamed.node_ids is graph.node_ids


# networkx ---------------------------------------------------------------------------
def test_networkx_int_nodes_keep_ids_and_order() -> None:
    nx = pytest.importorskip("networkx")
    g = nx.Graph(name="karate-ish")
    g.add_nodes_from([10, 30, 20, 40])
    g.add_edges_from([(10, 30), (30, 20), (20, 20)])  # the self loop is dropped
    graph = as_graph(g)
    assert graph.node_ids.dtype == np.int64
    np.testing.assert_array_equal(graph.node_ids, [10, 30, 20, 40])
    np.testing.assert_array_equal(_dense(graph), PATH4)
    assert graph.name == "karate-ish"
    assert graph.x is None and graph.y is None


@pytest.mark.parametrize(
    "nodes",
    [["a", "b", "c", "d"], [0, 1, "two", 3], [0.5, 1.5, 2.5, 3.5]],
    ids=["str", "mixed", "float"],
)
def test_networkx_other_nodes_become_an_object_array(nodes) -> None:
    nx = pytest.importorskip("networkx")
    g = nx.Graph()
    g.add_nodes_from(nodes)
    g.add_edges_from([(nodes[0], nodes[1]), (nodes[1], nodes[2])])
    graph = as_graph(g, name="objs")
    assert graph.node_ids.dtype == object
    assert graph.node_ids.tolist() == nodes
    np.testing.assert_array_equal(_dense(graph), PATH4)
    assert graph.name == "objs"


@pytest.mark.parametrize("attr", ["x", "features"])
def test_networkx_node_attribute_becomes_features(attr) -> None:
    nx = pytest.importorskip("networkx")
    g = nx.path_graph(3)
    for node in g.nodes:
        g.nodes[node][attr] = [node, 2 * node]
    graph = as_graph(g)
    assert graph.x.dtype == np.float32
    np.testing.assert_array_equal(graph.x, [[0, 0], [1, 2], [2, 4]])


def test_networkx_features_need_every_node() -> None:
    nx = pytest.importorskip("networkx")
    g = nx.path_graph(3)
    g.nodes[0]["x"] = [1.0]
    assert as_graph(g).x is None


def test_networkx_feature_shapes_must_agree() -> None:
    nx = pytest.importorskip("networkx")
    g = nx.path_graph(2)
    g.nodes[0]["x"] = [1.0, 2.0]
    g.nodes[1]["x"] = [1.0]
    with pytest.raises(InputError, match=r"networkx node attribute 'x' must have one shape"):
        as_graph(g)


@pytest.mark.parametrize("kind", ["DiGraph", "MultiDiGraph"])
def test_networkx_directed_is_made_undirected_with_a_notice(kind) -> None:
    nx = pytest.importorskip("networkx")
    g = getattr(nx, kind)()
    g.add_nodes_from(range(4))
    g.add_edges_from([(1, 0), (1, 2), (2, 1)])
    with pytest.warns(UserWarning, match="made undirected"):
        graph = as_graph(g)
    np.testing.assert_array_equal(_dense(graph), PATH4)


def test_networkx_multigraph_merges_parallel_edges() -> None:
    nx = pytest.importorskip("networkx")
    g = nx.MultiGraph()
    g.add_nodes_from(range(4))
    g.add_edges_from([(0, 1), (0, 1), (1, 2)])
    with _no_warnings():
        graph = as_graph(g)
    np.testing.assert_array_equal(_dense(graph), PATH4)
    assert graph.num_edges == 2


def test_networkx_empty_graph() -> None:
    nx = pytest.importorskip("networkx")
    graph = as_graph(nx.Graph())
    assert graph.num_nodes == 0 and graph.x is None


def test_importing_convert_does_not_import_networkx() -> None:
    code = "import sys, graphae.data.convert; assert 'networkx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# Matrices ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "matrix",
    [
        PATH4,
        PATH4 * 2.5,  # weights are dropped
        PATH4.astype(bool),
        sp.csr_matrix(PATH4 * 3),
        sp.coo_matrix(PATH4),
        sp.csr_array(PATH4),
    ],
    ids=["dense", "weighted", "bool", "csr", "coo", "csr_array"],
)
def test_adjacency_matrices(matrix) -> None:
    with _no_warnings():
        graph = as_graph(matrix, name="m")
    np.testing.assert_array_equal(_dense(graph), PATH4)
    assert graph.name == "m" and graph.node_ids is None


def test_asymmetric_matrix_is_symmetrised_with_a_notice() -> None:
    upper = np.triu(PATH4)
    with pytest.warns(UserWarning, match="made undirected"):
        graph = as_graph(sp.csr_matrix(upper))
    np.testing.assert_array_equal(_dense(graph), PATH4)


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        (np.zeros((3, 4)), r"must be square\. Got shape \(3, 4\)\.$"),
        (np.array([[0, 1, 2], [1, 2, 0]]), r"must be square.*Graph\.from_edges"),
        (sp.csr_matrix((2, 3)), r"must be square"),
        (np.zeros(4), r"must be square"),
    ],
)
def test_non_square_matrix_is_an_error(matrix, match) -> None:
    with pytest.raises(InputError, match=match):
        as_graph(matrix)


def test_non_numeric_matrix_is_an_error() -> None:
    with pytest.raises(InputTypeError, match=r"must be numeric\. Got dtype <U1"):
        as_graph(np.array([["a", "b"], ["c", "d"]]))


def test_num_nodes_must_match_a_matrix() -> None:
    with pytest.raises(InputError, match=r"num_nodes=5 does not match the 4 nodes"):
        as_graph(PATH4, num_nodes=5)


# edge_index -------------------------------------------------------------------------
def test_edge_index_both_directions() -> None:
    edge_index = torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]])
    with _no_warnings():
        graph = as_graph(edge_index, num_nodes=4, name="ei")
    np.testing.assert_array_equal(_dense(graph), PATH4)
    assert graph.name == "ei" and graph.node_ids is None


def test_edge_index_num_nodes_defaults_to_max_plus_one() -> None:
    graph = as_graph(torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]], dtype=torch.int32))
    assert graph.num_nodes == 3


def test_two_by_two_edge_index_reads_columns_as_edges() -> None:
    # Columns (0, 2) and (1, 3); reading rows as pairs would give 0-1 and 2-3.
    with pytest.warns(UserWarning, match="made undirected"):
        graph = as_graph(torch.tensor([[0, 1], [2, 3]]))
    np.testing.assert_array_equal(graph.edges(), [[0, 1], [2, 3]])


def test_one_directional_edge_index_gets_a_notice() -> None:
    with pytest.warns(UserWarning, match="made undirected"):
        graph = as_graph(torch.tensor([[0, 1], [1, 2]]), num_nodes=4)
    np.testing.assert_array_equal(_dense(graph), PATH4)


def test_edge_index_self_loops_are_dropped_without_a_notice() -> None:
    with _no_warnings():
        graph = as_graph(torch.tensor([[0, 1, 2], [1, 0, 2]]))
    assert graph.num_nodes == 3 and graph.num_edges == 1


def test_empty_edge_index() -> None:
    graph = as_graph(torch.empty(2, 0, dtype=torch.long), num_nodes=3)
    assert graph.num_nodes == 3 and graph.num_edges == 0


@pytest.mark.parametrize(
    ("edge_index", "kwargs", "error", "match"),
    [
        (
            torch.tensor([[0.0, 1.0], [1.0, 0.0]]),
            {},
            InputTypeError,
            r"integer node indices.*Got dtype float32",
        ),
        (
            torch.tensor([[0, 1], [1, 2], [2, 3]]),
            {},
            InputError,
            r"shape \[2, E\]\. Got \[3, 2\]\. Transpose",
        ),
        (torch.tensor([0, 1]), {}, InputError, r"shape \[2, E\]\. Got \[2\]\.$"),
        (
            torch.tensor([[0, 1], [1, 5]]),
            {"num_nodes": 3},
            InputError,
            r"indices in \[0, 3\)\. Got values in \[0, 5\]",
        ),
        (torch.tensor([[0, -1], [1, 0]]), {}, InputError, r"Got values in \[-1, 1\]"),
    ],
)
def test_bad_edge_index(edge_index, kwargs, error, match) -> None:
    with pytest.raises(error, match=match):
        as_graph(edge_index, **kwargs)


# PyG Data ---------------------------------------------------------------------------
def test_pyg_data_with_features_and_labels() -> None:
    data = FakeData(
        edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]),
        x=torch.arange(8, dtype=torch.float64).reshape(4, 2),
        y=torch.tensor([0, 1, 1, 0]),
    )
    graph = as_graph(data, name="pyg")
    np.testing.assert_array_equal(_dense(graph), PATH4)
    assert graph.x.dtype == np.float32 and graph.x.shape == (4, 2)
    np.testing.assert_array_equal(graph.x[3], [6, 7])
    assert graph.y.dtype == np.int64
    np.testing.assert_array_equal(graph.y, [0, 1, 1, 0])
    assert graph.name == "pyg"


def test_pyg_data_num_nodes_attribute_adds_isolated_nodes() -> None:
    data = FakeData(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), num_nodes=4, x=None)
    graph = as_graph(data)
    np.testing.assert_array_equal(_dense(graph), PATH4)
    assert graph.x is None and graph.y is None


def test_pyg_data_without_num_nodes_uses_edge_index() -> None:
    graph = as_graph(FakeData(edge_index=torch.tensor([[0, 1], [1, 0]])))
    assert graph.num_nodes == 2


def test_pyg_data_with_sparse_features() -> None:
    x = torch.tensor([[0.0, 1.0], [0.0, 0.0], [2.0, 0.0], [0.0, 0.0]]).to_sparse()
    data = FakeData(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), x=x)
    graph = as_graph(data)
    assert sp.issparse(graph.x) and graph.x.format == "csr" and graph.x.dtype == np.float32
    np.testing.assert_array_equal(graph.x.toarray(), x.to_dense().numpy())


def test_pyg_data_numpy_attributes_work_too() -> None:
    data = FakeData(
        edge_index=np.array([[0, 1, 1, 2], [1, 0, 2, 1]]), x=np.ones((4, 3)), y=np.array([1, 2, 3, 4])
    )
    graph = as_graph(data)
    assert graph.num_nodes == 4 and graph.x.shape == (4, 3)


@pytest.mark.parametrize(
    "y",
    [torch.tensor([[0, 1], [1, 0], [0, 1]]), torch.tensor([0.5, 1.0, 2.0]), torch.tensor([1])],
    ids=["one-hot", "float", "graph-label"],
)
def test_pyg_labels_that_are_not_one_per_node_are_dropped(y) -> None:
    data = FakeData(edge_index=torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]]), y=y)
    with pytest.warns(UserWarning, match=r"Data\.y with shape .* it was dropped"):
        graph = as_graph(data)
    assert graph.y is None


# Anything else ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("obj", "match"),
    [
        ([[0, 1], [1, 2]], r"cannot convert builtins\.list: expected a graphae Graph, a networkx graph"),
        ({0: [1]}, r"cannot convert builtins\.dict"),
        ("edges.csv", r"cannot convert builtins\.str.*for files use graphae\.data\.load_graph"),
        (None, r"cannot convert builtins\.NoneType"),
    ],
)
def test_unsupported_types_are_a_type_error(obj, match) -> None:
    with pytest.raises(InputTypeError, match=match):
        as_graph(obj)


def test_path_objects_get_the_file_hint(tmp_path) -> None:
    with pytest.raises(InputTypeError, match=r"pathlib\..*Path.*load_graph"):
        as_graph(tmp_path / "edges.csv")


# Directed ---------------------------------------------------------------------------
# 1 -> 0, 1 -> 2, 2 -> 1, and the isolated node 3.
DIRECTED4 = np.array(
    [
        [0, 0, 0, 0],
        [1, 0, 1, 0],
        [0, 1, 0, 0],
        [0, 0, 0, 0],
    ],
    dtype=np.float32,
)


@pytest.mark.parametrize("kind", ["DiGraph", "MultiDiGraph"])
def test_networkx_directed_keeps_direction(kind) -> None:
    nx = pytest.importorskip("networkx")
    g = getattr(nx, kind)()
    g.add_nodes_from(range(4))
    g.add_edges_from([(1, 0), (1, 2), (2, 1), (1, 2), (3, 3)])  # a parallel edge and a loop are dropped
    with _no_warnings():
        graph = as_graph(g, directed=True)
    assert graph.directed
    np.testing.assert_array_equal(_dense(graph), DIRECTED4)
    assert graph.num_edges == 3


@pytest.mark.parametrize(
    "matrix", [DIRECTED4, DIRECTED4 * 2, sp.csr_matrix(DIRECTED4)], ids=["dense", "weighted", "csr"]
)
def test_asymmetric_matrix_keeps_direction(matrix) -> None:
    with _no_warnings():
        graph = as_graph(matrix, directed=True)
    assert graph.directed
    np.testing.assert_array_equal(_dense(graph), DIRECTED4)


def test_symmetric_matrix_gives_every_edge_both_ways() -> None:
    graph = as_graph(PATH4, directed=True)
    assert graph.directed and graph.num_edges == 4
    np.testing.assert_array_equal(_dense(graph), PATH4)


def test_edge_index_keeps_direction() -> None:
    edge_index = torch.tensor([[1, 1, 2, 1, 0], [0, 2, 1, 2, 0]])  # a duplicate and a self loop
    with _no_warnings():
        graph = as_graph(edge_index, num_nodes=4, directed=True)
    assert graph.directed
    np.testing.assert_array_equal(_dense(graph), DIRECTED4)


def test_pyg_data_keeps_direction() -> None:
    data = FakeData(edge_index=torch.tensor([[1, 1, 2], [0, 2, 1]]), x=torch.ones(4, 2), y=torch.arange(4))
    with _no_warnings():
        graph = as_graph(data, directed=True)
    assert graph.directed and graph.x.shape == (4, 2)
    np.testing.assert_array_equal(_dense(graph), DIRECTED4)


def test_directed_graph_is_returned_as_is() -> None:
    graph = Graph.from_adjacency(DIRECTED4, directed=True)
    assert as_graph(graph, directed=True) is graph
    assert as_graph(graph) is graph


def test_undirected_graph_has_no_direction_to_keep() -> None:
    with pytest.raises(
        InputError, match=r"undirected Graph: it has no direction to keep.*replace\(directed=True\)"
    ):
        as_graph(Graph.from_adjacency(PATH4), directed=True)


@pytest.mark.parametrize("kind", ["Graph", "MultiGraph"])
def test_undirected_networkx_has_no_direction_to_keep(kind) -> None:
    nx = pytest.importorskip("networkx")
    g = getattr(nx, kind)([(0, 1)])
    with pytest.raises(
        InputError, match=rf"undirected networkx {kind}: it has no direction to keep.*to_directed\(\)"
    ):
        as_graph(g, directed=True)


@pytest.mark.parametrize(
    ("nodes", "shown"),
    [
        ([("r", 0), ("r", 1), ("s", 0), ("s", 1)], "('r', 0) is a tuple"),
        ([True, False, 2, 3], "True is a bool"),
    ],
    ids=["tuple", "bool"],
)
def test_networkx_nodes_that_would_not_read_back_are_refused(nodes, shown) -> None:
    # Issue 19 item 24: grid_2d_graph's tuples could not be queried and came back as strings.
    nx = pytest.importorskip("networkx")
    g = nx.Graph()
    g.add_nodes_from(nodes)
    g.add_edges_from([(nodes[0], nodes[1]), (nodes[1], nodes[2])])
    with pytest.raises(
        InputTypeError,
        match=re.escape(
            f"networkx node {shown}; graphae node ids are integers, floats or strings, which a saved model "
            "reads back as themselves. Relabel the graph first, e.g. "
            "networkx.convert_node_labels_to_integers(G, label_attribute='key') or networkx.relabel_nodes(G, str)."
        ),
    ):
        as_graph(g)


def test_grid_graph_is_refused_by_fit_and_relabelled_works() -> None:
    nx = pytest.importorskip("networkx")
    from graphae import GAE

    grid = nx.grid_2d_graph(3, 3)
    with pytest.raises(InputTypeError, match=re.escape("networkx node (0, 0) is a tuple")):
        GAE(epochs=1).fit(grid)
    model = GAE(epochs=1, random_state=0).fit(nx.relabel_nodes(grid, str))
    assert [n for n, _ in model.recommend("(0, 0)", k=2)] != []
