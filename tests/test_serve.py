"""``graphae serve``: the real server in a subprocess, called over HTTP with httpx."""

import asyncio
import csv
import io
import json
import random
import shutil
import socket
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")

import graphae  # noqa: E402
from cli_helpers import user_error  # noqa: E402
from graphae import Graph  # noqa: E402
from graphae.cli import build_parser, main  # noqa: E402
from graphae.serving import LIMITS, create_app  # noqa: E402
from serve_helpers import Server, serve_fixtures  # noqa: E402

run_folder, server, model = serve_fixtures("serve")


def _lists(recs: list) -> list:
    return [[[other, p] for other, p in rec] for rec in recs]


def test_health_and_model(server: Server, model, run_folder: Path) -> None:
    assert server.client.get("/health").json() == {"status": "ok"}
    info = server.client.get("/model").json()
    assert info["name"] == "gae"
    assert info["parameters"]["epochs"] == 2
    assert info["graph"] == {
        "nodes": model.graph_.num_nodes,
        "edges": model.graph_.num_edges,
        "directed": False,
        "node_id_type": "int",
    }
    assert info["metrics"] == json.loads((run_folder / "metrics.json").read_text())
    assert server.client.get("/docs").status_code == 200
    assert "/recommend" in server.client.get("/openapi.json").json()["paths"]


@pytest.mark.parametrize("exclude", [True, False])
def test_recommend_equals_python_api(server: Server, model, exclude: bool) -> None:
    ids = [0, 5, 17]
    answer = server.client.post("/recommend", json={"ids": ids, "k": 7, "exclude_edges": exclude})
    assert answer.status_code == 200, answer.text
    expected = _lists(model.recommend(ids, k=7, exclude_edges=exclude))
    assert answer.json() == {"recommendations": expected}
    assert all(type(other) is int for rec in answer.json()["recommendations"] for other, _ in rec)


def test_recommend_equals_cli(server: Server, run_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["recommend", "--model", str(run_folder), "--node", "3", "-k", "5"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    (rec,) = server.client.post("/recommend", json={"ids": [3], "k": 5}).json()["recommendations"]
    assert [other for other, _ in rec] == [int(row["neighbour"]) for row in rows]
    assert [f"{p:.6f}" for _, p in rec] == [row["probability"] for row in rows]


def test_predict_and_embed_equal_python_api(server: Server, model) -> None:
    pairs = [[0, 1], [2, 3], [1999, 4], [7, 7]]
    answer = server.client.post("/predict", json={"pairs": pairs}).json()
    assert answer == {"probabilities": model.predict_proba(pairs).tolist()}
    assert server.client.post("/predict", json={"pairs": []}).json() == {"probabilities": []}
    answer = server.client.post("/embed", json={"ids": [4, 0, 4]}).json()
    assert answer == {"embeddings": model.embedding_[[4, 0, 4]].tolist()}


# (path, body, status, field): each answer names the field at fault.
BAD = [
    ("/recommend", {"ids": [99999]}, 422, "ids[0]"),
    ("/recommend", {"ids": [0, "1"]}, 422, "ids[1]"),
    ("/recommend", {"ids": [0, 1.5]}, 422, "ids[1]"),
    ("/recommend", {"ids": [True]}, 422, "ids[0]"),
    ("/recommend", {"ids": [None]}, 422, "ids[0]"),
    ("/recommend", {"ids": []}, 422, "ids"),
    ("/recommend", {"ids": 0}, 422, "ids"),
    ("/recommend", {}, 422, "ids"),
    ("/recommend", {"ids": [0], "k": 0}, 422, "k"),
    ("/recommend", {"ids": [0], "k": -3}, 422, "k"),
    ("/recommend", {"ids": [0], "k": 2001}, 422, "k"),
    ("/recommend", {"ids": [0], "k": 10**30}, 422, "k"),
    ("/recommend", {"ids": [0], "k": "5"}, 422, "k"),
    ("/recommend", {"ids": [0], "k": 2.0}, 422, "k"),
    ("/recommend", {"ids": [0], "exclude_edges": "no"}, 422, "exclude_edges"),
    ("/recommend", {"ids": [0], "model": "/etc/passwd"}, 422, "model"),
    ("/recommend", {"ids": list(range(LIMITS.max_ids + 1))}, 422, "ids"),
    ("/recommend", [0, 1], 422, "body"),
    ("/predict", {"pairs": [[0, 1], [2]]}, 422, "pairs[1]"),
    ("/predict", {"pairs": [[0, 1], 5]}, 422, "pairs[1]"),
    ("/predict", {"pairs": [[0, "x"]]}, 422, "pairs[0][1]"),
    ("/predict", {"pairs": [[0, -1]]}, 422, "pairs[0][1]"),
    ("/predict", {"pairs": [[0, 1]] * (LIMITS.max_pairs + 1)}, 422, "pairs"),
    ("/predict", {"ids": [0]}, 422, "pairs"),
    ("/embed", {"ids": [0], "edges": [[0, 2000]]}, 422, "features"),  # new node 2000 has no features
    ("/embed", {"ids": [0], "features": {"2000": [1.0]}}, 422, "features.2000"),  # 500 features
    ("/embed", {"ids": [1e300]}, 422, "ids[0]"),
]


@pytest.mark.parametrize(("path", "body", "status", "field"), BAD)
def test_bad_requests_are_4xx_naming_the_field(server: Server, path, body, status, field) -> None:
    answer = server.client.post(path, json=body)
    assert answer.status_code == status, answer.text
    assert answer.json()["field"] == field
    assert answer.json()["error"].startswith(f"{field}: ")
    assert "Traceback" not in answer.text


def test_malformed_and_oversized_bodies(server: Server) -> None:
    post = server.client.post
    answer = post("/recommend", content=b'{"ids": [0', headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()["field"]) == (400, "body")
    big = b'{"ids": [' + b"0," * LIMITS.max_body_bytes + b"0]}"
    answer = post("/embed", content=big, headers={"content-type": "application/json"})
    too_large = {
        "error": f"body: request body too large: at most {LIMITS.max_body_bytes} bytes",
        "field": "body",
    }
    assert (answer.status_code, answer.json()) == (413, too_large)

    def chunks():  # no content-length: the body is counted as it arrives
        yield b'{"ids": ['
        for _ in range(64):
            yield b"0," * (LIMITS.max_body_bytes // 64)
        yield b"0]}"

    answer = post("/embed", content=chunks(), headers={"content-type": "application/json"})
    assert (answer.status_code, answer.json()) == (413, too_large)
    answer = post("/recommend", content=b'{"ids": [0]}')  # no Content-Type: not read as JSON
    assert answer.status_code == 415
    assert answer.json() == {
        "error": "body: expected a JSON object, sent with the header Content-Type: application/json",
        "field": "body",
    }
    assert server.client.get("/nowhere").status_code == 404
    assert server.client.get("/recommend").status_code == 405


def test_random_bodies_never_give_a_500(server: Server) -> None:
    rng = random.Random(0)
    values = [
        None,
        True,
        -1,
        0,
        3,
        2.5,
        "0",
        "",
        [],
        [0],
        [[0, 1]],
        {"a": 1},
        {"2000": [0]},
        [None],
        [[0, "x"]],
        10**40,
    ]
    for _ in range(60):
        path = rng.choice(["/recommend", "/predict", "/embed"])
        keys = rng.sample(["ids", "k", "exclude_edges", "pairs", "edges", "features", "x"], rng.randint(0, 3))
        body = {key: rng.choice(values) for key in keys}
        answer = server.client.post(path, json=body)
        assert answer.status_code < 500, (path, body, answer.text)
        assert answer.status_code == 200 or answer.json()["error"]


def test_concurrent_requests_agree(server: Server, model) -> None:
    rng = np.random.default_rng(0)
    jobs = []
    for i in range(24):
        ids = rng.choice(model.graph_.num_nodes, size=3, replace=False).tolist()
        if i % 2:
            jobs.append(
                ("/recommend", {"ids": ids, "k": 5}, {"recommendations": _lists(model.recommend(ids, k=5))})
            )
        else:
            pairs = [ids[:2], ids[1:]]
            jobs.append(
                ("/predict", {"pairs": pairs}, {"probabilities": model.predict_proba(pairs).tolist()})
            )
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda job: server.client.post(job[0], json=job[1]).json(), jobs))
    assert answers == [expected for _, _, expected in jobs]


@pytest.mark.parametrize(
    ("names", "query", "wrong", "what"),
    [
        (["a", "b", "c", "d", "e"], "e", 1, "a string"),
        ([0.5, 1.5, 2.5, 3.5, 4.0], 4, "4.0", "a number"),
    ],
)
def test_ids_keep_their_type(names, query, wrong, what) -> None:
    ids = np.array(names, dtype=object if isinstance(names[0], str) else np.float64)
    graph = Graph.from_edges([(0, 1), (1, 2), (2, 3), (3, 0), (0, 2), (4, 0)], node_ids=ids)
    fitted = graphae.GAE(epochs=2, random_state=0, device="cpu").fit(graph)

    async def ask() -> list:
        transport = httpx.ASGITransport(app=create_app(fitted))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [
                await client.post("/recommend", json={"ids": [query], "k": 2}),
                await client.post("/recommend", json={"ids": [wrong], "k": 2}),
                await client.post("/predict", json={"pairs": [[query, 10**400]]}),
            ]

    good, bad, huge = asyncio.run(ask())
    (rec,) = good.json()["recommendations"]
    assert rec == [list(pair) for pair in fitted.recommend(query, k=2)]
    assert all(type(other) is type(names[0]) for other, _ in rec)
    assert bad.status_code == 422
    assert bad.json()["error"] == f"ids[0]: expected a node id, {what} for this model; got {wrong!r}"
    assert huge.status_code == 422, huge.text
    assert huge.json()["field"] == "pairs[0][1]"


def test_heuristic_model_has_no_embeddings() -> None:
    graph = Graph.from_edges([(0, 1), (1, 2), (2, 3), (3, 0), (0, 2), (4, 0)])
    fitted = graphae.get_model("adamic_adar").estimator().fit(graph)

    async def ask() -> list:
        transport = httpx.ASGITransport(app=create_app(fitted))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return [
                await client.get("/model"),
                await client.post("/recommend", json={"ids": [1], "k": 2}),
                await client.post("/embed", json={"ids": [1]}),
            ]

    info, rec, emb = asyncio.run(ask())
    assert (info.json()["learned"], info.json()["embedding_dim"], info.json()["metrics"]) == (
        False,
        None,
        None,
    )
    assert rec.json() == {"recommendations": [[list(pair) for pair in fitted.recommend(1, k=2)]]}
    assert emb.status_code == 422
    assert emb.json() == {
        "error": "adamic_adar is a link-prediction heuristic and has no node embeddings; use /predict or /recommend",
        "field": None,
    }


def test_sigterm_stops_cleanly(run_folder: Path, tmp_path: Path) -> None:
    srv = Server(run_folder, tmp_path / "server.log")
    assert srv.client.get("/health").status_code == 200
    assert srv.stop() == 0
    log = (tmp_path / "server.log").read_text()
    assert f"graphae: serving {run_folder} on {srv.url} (docs: {srv.url}/docs)" in log
    assert "graphae: server stopped" in log
    assert "Traceback" not in log


def test_defaults_and_start_up_errors(run_folder: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    args = build_parser().parse_args(["serve", "--model", str(run_folder)])
    assert (args.host, args.port) == ("127.0.0.1", 8000)

    def started(*args, **kwargs):  # each case below must fail before serving
        raise AssertionError("the server started")

    monkeypatch.setattr(uvicorn.Server, "run", started)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = user_error(capsys, ["serve", "--model", str(run_folder), "--port", str(port), "--quiet"])
    assert line.startswith(f"graphae: error: --port {port}: cannot listen on 127.0.0.1:{port} (")
    line = user_error(capsys, ["serve", "--model", str(run_folder / "missing")])
    assert "missing" in line
    for name in ("model.pt", "metrics.json"):  # checksums are verified before the port opens
        changed = tmp_path / name / "run"
        shutil.copytree(run_folder, changed)
        with open(changed / name, "ab") as f:
            f.write(b" ")
        line = user_error(capsys, ["serve", "--model", str(changed), "--port", "0"])
        assert line.startswith(f"graphae: error: {changed / name}: the file is damaged or was changed"), line
    monkeypatch.setitem(sys.modules, "fastapi", None)
    line = user_error(capsys, ["serve", "--model", str(run_folder)])
    assert line == 'graphae: error: serving a model needs FastAPI and uvicorn: pip install "graphae[serve]"'
