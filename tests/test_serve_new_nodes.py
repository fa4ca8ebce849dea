"""``graphae serve`` with nodes the model has not seen: ``edges`` and ``features`` in a request."""

import asyncio
import csv
import io
import json
import math
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import graphae  # noqa: E402
from graphae import Graph  # noqa: E402
from graphae.cli import main  # noqa: E402
from graphae.serving import LIMITS, create_app  # noqa: E402
from serve_helpers import Server, serve_fixtures  # noqa: E402

run_folder, server, model = serve_fixtures("serve-new")


def _new(model, seed: int = 0):
    """Two new nodes 2000 and 2001: edges to known nodes and to each other, random features."""
    rng = np.random.default_rng(seed)
    x = (rng.random((2, model.graph_.x.shape[1])) < 0.02).astype(np.float32)
    edges = [[2000, 3], [2000, 17], [2001, 2000], [2001, 40], [5, 6]]
    return edges, x


def _body(edges, x):
    return {"edges": edges, "features": {str(2000 + i): row.tolist() for i, row in enumerate(x)}}


def test_embed_new_nodes_equals_python_api(server: Server, model) -> None:
    edges, x = _new(model)
    ids = [2001, 3, 2000, 999]
    answer = server.client.post("/embed", json={"ids": ids, **_body(edges, x)})
    assert answer.status_code == 200, answer.text
    all_ids, z = model.embed_new_nodes(edges, features=([2000, 2001], x), include_fitted=True)
    rows = [all_ids.tolist().index(v) for v in ids]
    np.testing.assert_array_equal(np.array(answer.json()["embeddings"], dtype=np.float32), z[rows])
    # The fitted nodes' codes are those on the enlarged graph: node 3 has a new neighbour.
    assert answer.json()["embeddings"][1] != model.embedding_[3].tolist()
    # Without new nodes, /embed still answers from the fitted embedding.
    plain = server.client.post("/embed", json={"ids": [3]}).json()
    assert plain == {"embeddings": [model.embedding_[3].tolist()]}


def test_an_isolated_new_node_from_features_alone(server: Server, model) -> None:
    _, x = _new(model)
    body = {"ids": [2000], "features": {"2000": x[0].tolist()}}
    answer = server.client.post("/embed", json=body)
    assert answer.status_code == 200, answer.text
    _, z = model.embed_new_nodes([], features=([2000], x[:1]))
    np.testing.assert_array_equal(np.array(answer.json()["embeddings"], dtype=np.float32), z)


@pytest.mark.parametrize("exclude", [True, False])
def test_recommend_new_nodes_equals_python_api_and_cli(
    server: Server, model, run_folder: Path, tmp_path: Path, capsys, exclude: bool
) -> None:
    edges, x = _new(model, seed=1)
    body = {"ids": [2000, 2001, 3], "k": 6, "exclude_edges": exclude, **_body(edges, x)}
    answer = server.client.post("/recommend", json=body)
    assert answer.status_code == 200, answer.text
    expected = model.recommend_new_nodes(
        [2000, 2001, 3], edges, features=([2000, 2001], x), k=6, exclude_edges=exclude
    )
    assert answer.json() == {"recommendations": [[[o, p] for o, p in recs] for recs in expected]}
    listed = [o for o, _ in answer.json()["recommendations"][0]]
    if exclude:  # the given edges of 2000 are existing neighbours now
        assert not {3, 17, 2001} & set(listed)
    # The CLI: the same edges and features as files.
    edge_file, feature_file = tmp_path / "new.csv", tmp_path / "new_x.csv"
    edge_file.write_text("source,target\n" + "".join(f"{a},{b}\n" for a, b in edges))
    header = "id," + ",".join(f"f{j}" for j in range(x.shape[1]))
    rows = "".join(f"{2000 + i}," + ",".join(f"{v:g}" for v in row) + "\n" for i, row in enumerate(x))
    feature_file.write_text(header + "\n" + rows)
    argv = ["recommend", "--model", str(run_folder), "--node", "2000", "-k", "6"]
    argv += ["--edges", str(edge_file), "--features", str(feature_file)]
    capsys.readouterr()
    assert main(argv + ([] if exclude else ["--include-existing"])) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    (rec,) = answer.json()["recommendations"][:1]
    assert [int(r["neighbour"]) for r in table] == [o for o, _ in rec]
    assert [r["probability"] for r in table] == [f"{p:.6f}" for _, p in rec]


# (path, body, field): each answer is a 422 naming the field at fault.
ROW = [0.0] * 500
BAD_NEW = [
    ("/embed", {"ids": [2000], "edges": [[2000, 3]]}, "features"),
    ("/embed", {"ids": [2002], "edges": [[2000, 3]], "features": {"2000": ROW}}, "ids[0]"),
    ("/embed", {"ids": [0], "edges": [[2000, 3, 4]], "features": {"2000": ROW}}, "edges[0]"),
    ("/embed", {"ids": [0], "edges": [[2000, "3"]], "features": {"2000": ROW}}, "edges[0][1]"),
    ("/embed", {"ids": [0], "edges": [[2000, 2**70]], "features": {"2000": ROW}}, "edges[0][1]"),
    ("/embed", {"ids": [0], "edges": {"2000": 3}}, "edges"),
    ("/embed", {"ids": [0], "edges": [[0, 1]] * (LIMITS.max_pairs + 1)}, "edges"),
    ("/embed", {"ids": [0], "features": {"2000": ROW[:7]}}, "features.2000"),
    ("/embed", {"ids": [0], "features": {"2000": "x"}}, "features.2000"),
    ("/embed", {"ids": [0], "features": {"2000": [*ROW[:3], "1", *ROW[4:]]}}, "features.2000[3]"),
    ("/embed", {"ids": [0], "features": {"2000": [*ROW[:3], True, *ROW[4:]]}}, "features.2000[3]"),
    ("/embed", {"ids": [0], "features": {"2000": [*ROW[:3], math.inf, *ROW[4:]]}}, "features.2000[3]"),
    ("/embed", {"ids": [0], "features": {"abc": ROW}}, "features.abc"),
    ("/embed", {"ids": [0], "features": {"02000": ROW}}, "features.02000"),
    ("/embed", {"ids": [0], "features": {"7": ROW}}, "features.7"),
    ("/embed", {"ids": [0], "features": [ROW]}, "features"),
    ("/recommend", {"ids": [2000], "k": 0, "features": {"2000": ROW}}, "k"),
    ("/recommend", {"ids": [2001], "features": {"2000": ROW}}, "ids[0]"),
]


@pytest.mark.parametrize(("path", "body", "field"), BAD_NEW)
def test_bad_new_nodes_are_4xx_naming_the_field(server: Server, path, body, field) -> None:
    # json.dumps writes inf as Infinity, which Python's JSON reader (the server's) reads back.
    headers = {"content-type": "application/json"}
    answer = server.client.post(path, content=json.dumps(body), headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field
    assert answer.json()["error"].startswith(f"{field}: ")
    assert "Traceback" not in answer.text


def test_the_messages_of_new_nodes(server: Server) -> None:
    def error(body: dict) -> str:
        return server.client.post("/embed", json=body).json()["error"]

    assert error({"ids": [0], "features": {"2000": ROW[:7]}}) == (
        "features.2000: expected a list of 500 numbers (the model's features), got 7 numbers"
    )
    assert error({"ids": [0], "features": {"7": ROW}}) == (
        "features.7: node 7 is a node the model was trained on; it keeps the features it was trained "
        "with: give features for new nodes only"
    )
    assert error({"ids": [0], "edges": [[2000, 3]]}) == (
        "features: no feature row for the new node 2000 of edges[0][0]: every node the model has not "
        "seen needs its features"
    )
    assert error({"ids": [2002], "features": {"2000": ROW}}) == (
        "ids[0]: unknown node id 2002: not a node of the model nor a new node of the request's features"
    )


def test_a_featureless_model_refuses_new_nodes() -> None:
    graph = Graph.from_edges([(0, 1), (1, 2), (2, 3), (3, 0), (0, 2), (4, 0)])
    fitted = graphae.GAE(epochs=2, random_state=0, device="cpu").fit(graph)

    async def ask() -> list:
        transport = httpx.ASGITransport(app=create_app(fitted))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [
                await client.post("/embed", json={"ids": [9], "edges": [[9, 0]], "features": {"9": [1.0]}}),
                await client.post("/recommend", json={"ids": [9], "features": {"9": [1.0]}}),
            ]

    for answer, field in zip(asyncio.run(ask()), ["edges", "features"], strict=True):
        assert answer.status_code == 422
        assert answer.json()["field"] == field
        assert answer.json()["error"].startswith(
            f"{field}: This GAE was trained without node features, so it has no input for a node it has "
            "not seen and cannot embed new nodes"
        )


def test_recommend_new_nodes_leaves_out_the_known_edges_the_fit_did_not_see(model) -> None:
    # A run folder's model knows every edge of the user's graph, held-out ones included.
    edges, x = _new(model, seed=1)
    known, fitted = model.known_adjacency(), model.graph_.adj
    held = (known - fitted).tocsr()
    held.eliminate_zeros()
    row = int(np.flatnonzero(np.diff(held.indptr))[0])  # a node with a held-out edge
    held_out = set(held.indices[held.indptr[row] : held.indptr[row + 1]].tolist())
    node = model.node_ids_[row] if model.node_ids_ is not None else row
    recs = model.recommend_new_nodes(node, edges, features=([2000, 2001], x), k=model.graph_.num_nodes - 20)
    lookup = model.id_index()
    listed = {lookup[o] for o, _ in recs if o in lookup}
    assert held_out and not held_out & listed
