"""A node id matches only what the edge reader would have produced (issue 19, item 10).

``--node 1_0``, ``' 10 '``, ``+10`` or Arabic-Indic digits used to find node 10, and in
Python ``True``/``False`` found the ids 1 and 0.
"""

import numpy as np
import pytest

from cli_helpers import user_error
from graphae import GAE
from graphae.cli import main
from graphae.data import text as data_text
from graphae.errors import InputError
from graphae.graph import Graph


@pytest.fixture(scope="module")
def int_run(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("ids")
    edges = tmp / "e.txt"
    edges.write_text("".join(f"{i} {(i + 1) % 30}\n{i} {(i + 7) % 30}\n" for i in range(30)))
    run = tmp / "run"
    argv = ["train", "--edges", str(edges), "--out", str(run), "--epochs", "1", "--quiet", "--device", "cpu"]
    assert main(argv) == 0
    return str(run)


@pytest.mark.parametrize("text", ["1_0", " 10 ", "+10", "010", "\u0661\u0660", "10.0", "１０"])
def test_recommend_refuses_loose_integer_ids(int_run, capsys, text) -> None:
    line = user_error(capsys, ["recommend", "--model", int_run, "--node", text])
    assert line == (
        f"graphae: error: --node: unknown node id {text!r}: this model's node ids are integers such as 10"
    )


def test_recommend_finds_the_exact_id(int_run, capsys) -> None:
    assert main(["recommend", "--model", int_run, "--node", "10", "-k", "2"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0] == "node,rank,neighbour,probability" and rows[1].startswith("10,1,")


def test_pairs_files_use_the_same_rule(int_run, tmp_path, capsys) -> None:
    pairs = tmp_path / "q.csv"
    pairs.write_text("source,target\n1,2\n+3,4\n")
    line = user_error(capsys, ["predict", "--model", int_run, "--pairs", str(pairs)])
    assert (
        line
        == f"graphae: error: {pairs}:3: unknown node id '+3': this model's node ids are integers such as 10"
    )


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("10", "int", 10),
        ("-3", "int", -3),
        ("0.5", "float", 0.5),
        ("1e+20", "float", 1e20),
        ("-2", "float", -2.0),
    ],
)
def test_exact_ids_read(text, kind, value) -> None:
    assert data_text.exact_id(text, kind) == value


@pytest.mark.parametrize(
    ("text", "kind"),
    [("1_0", "int"), (" 1", "int"), ("-0", "int"), ("1_0.5", "float"), (" 0.5", "float"), ("nan", "float")],
)
def test_loose_ids_do_not_read(text, kind) -> None:
    assert data_text.exact_id(text, kind) is None


@pytest.fixture(scope="module")
def fitted() -> GAE:
    ring = np.array([(i, (i + 1) % 12) for i in range(12)] + [(i, (i + 5) % 12) for i in range(12)])
    return GAE(epochs=1, random_state=0).fit(Graph.from_edges(ring, num_nodes=12))


@pytest.mark.parametrize("node", [True, False, np.bool_(True)])
def test_booleans_are_not_the_ids_one_and_zero(fitted, node) -> None:
    with pytest.raises(
        InputError, match=rf"^Unknown node id {node!r}: it is not a node of the fitted graph\.$"
    ):
        fitted.recommend(node)
    with pytest.raises(InputError, match="^Unknown node id"):
        fitted.predict_proba([[node, 2]])
    assert len(fitted.recommend(1, k=3)) == 3


def test_boolean_ids_of_a_graph_still_match_themselves() -> None:
    ids = np.empty(3, dtype=object)
    ids[:] = [True, False, "x"]
    graph = Graph.from_edges(np.array([[0, 1], [1, 2], [2, 0]]), num_nodes=3, node_ids=ids)
    model = GAE(epochs=1, random_state=0).fit(graph)
    assert model.predict_proba([[True, False]]).shape == (1,)
    with pytest.raises(InputError, match="^Unknown node id 1"):
        model.recommend(1)
