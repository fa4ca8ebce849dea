"""``graphae serve``: a fitted model as an HTTP JSON service (FastAPI, run by uvicorn).

FastAPI and uvicorn are the optional ``serve`` extra (``pip install "graphae[serve]"``); they
are imported only by :func:`create_app` and :func:`run`, never at import time.

Endpoints: ``GET /health``, ``GET /model``, ``POST /recommend``, ``POST /predict``,
``POST /embed`` and the OpenAPI pages (``/docs``, ``/openapi.json``). Every answer is JSON.
A bad request gets a 4xx answer ``{"error": "FIELD: what was wrong", "field": "FIELD"}``
(``field`` is ``null`` when no field is at fault); it is never a 500 or a traceback. The
service reads nothing from the disk after start-up: no request names a path.

Node ids keep their JSON type: a model whose ids are integers takes and returns JSON
integers (``"3"`` is refused, not read as ``3``); one with string ids takes strings.
The estimator is called under one lock (it is not known to be thread safe), so concurrent
requests get the answers of one request at a time: those of :func:`graphae.load` and the CLI.

No ``from __future__ import annotations`` here: FastAPI reads the request models from the
annotations of the endpoint functions defined inside :func:`create_app`.
"""

import math
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphae.errors import GraphaeError, InputError, MissingDependencyError

__all__ = ["LIMITS", "Limits", "create_app", "load_app", "run"]


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; larger requests get a 4xx answer naming the field."""

    max_body_bytes: int = 1 << 20  # 1 MiB: a 413 answer above it
    max_ids: int = 1000  # ids of one /recommend or /embed request
    max_pairs: int = 10_000  # pairs of one /predict request
    max_k: int = 1000  # and never more than the model's number of nodes


LIMITS = Limits()


class RequestError(GraphaeError):
    """A request the service cannot answer: its status, the field at fault and why."""

    def __init__(self, status: int, field: str | None, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.status = status
        self.field = field
        self.message = message


def _fastapi() -> Any:
    try:
        import fastapi
    except ImportError as err:
        raise MissingDependencyError(
            'serving a model needs FastAPI and uvicorn: pip install "graphae[serve]"'
        ) from err
    return fastapi


def load_app(folder: str | os.PathLike, legacy: bool = False, limits: Limits = LIMITS) -> Any:
    """The service of the model saved in ``folder`` (checksums verified), with its ``metrics.json``.

    Raises:
        MissingDependencyError: Without FastAPI.
        MissingFileError, InputError: If the folder is not a whole, unchanged model folder.
    """
    _fastapi()  # before loading the model: a missing extra is the first thing to say
    from graphae import runfolder
    from graphae.estimator import load

    model = load(folder, legacy=legacy)
    model.recommend_index()  # a top-k index (index.faiss) is read and checked now, not at the first request
    metrics = None
    if (Path(folder) / runfolder.METRICS).is_file():
        runfolder.verify_run_files(folder, (runfolder.METRICS,), legacy)
        metrics = runfolder.read_json(Path(folder) / runfolder.METRICS)
    return create_app(model, metrics=metrics, limits=limits)


def create_app(model: Any, metrics: Any = None, limits: Limits = LIMITS) -> Any:
    """A FastAPI application answering for the fitted estimator ``model``."""
    fastapi = _fastapi()
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt
    from starlette.exceptions import HTTPException

    from graphae.runfolder.readers import node_id_type
    from graphae.version import __version__

    model._check_fitted()
    lock = threading.Lock()
    id_kind = node_id_type(model.node_ids_)
    n = int(model.graph_.num_nodes)
    max_k = min(limits.max_k, n)
    lookup = model.id_index()  # built once: the model is never refitted here

    class _Request(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class RecommendRequest(_Request):
        ids: list[Any] = Field(description=f"node ids, at most {limits.max_ids}")
        k: StrictInt = Field(10, description=f"neighbours per id, 1 to {max_k}")
        exclude_edges: StrictBool = Field(True, description="leave out the existing neighbours")

    class PredictRequest(_Request):
        pairs: list[Any] = Field(description=f"[source, target] id pairs, at most {limits.max_pairs}")

    class EmbedRequest(_Request):
        ids: list[Any] = Field(description=f"node ids of the fitted graph, at most {limits.max_ids}")
        edges: Any = Field(None, description="new nodes' edges: not supported yet")
        features: Any = Field(None, description="new nodes' features: not supported yet")

    app = fastapi.FastAPI(
        title="graphae",
        version=__version__,
        description=f"{model.model_name or type(model).__name__} model: link probabilities, "
        "recommendations and embeddings of its nodes.",
    )
    app.add_middleware(_BodyLimit, limit=limits.max_body_bytes)

    def error(status: int, field: str | None, message: str) -> Any:
        return JSONResponse({"error": f"{field}: {message}" if field else message, "field": field}, status)

    @app.exception_handler(RequestError)
    async def _request_error(request: Any, err: RequestError) -> Any:
        return error(err.status, err.field, err.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Any, err: RequestValidationError) -> Any:
        first = err.errors()[0]
        loc = [part for part in first.get("loc", ()) if part != "body"]
        if first.get("type") == "json_invalid":
            return error(400, "body", "not valid JSON")
        field = _field(loc) or "body"
        if field == "body" and "json" not in request.headers.get("content-type", ""):
            return error(
                415, "body", "expected a JSON object, sent with the header Content-Type: application/json"
            )
        message = str(first.get("msg", "invalid"))
        if "input" in first and first.get("type") != "missing":
            message += f", got {_shown(first['input'])}"
        return error(422, field, message)

    @app.exception_handler(HTTPException)
    async def _http(request: Any, err: HTTPException) -> Any:
        return error(err.status_code, "body" if err.status_code in (400, 413) else None, str(err.detail))

    @app.exception_handler(Exception)
    async def _bug(request: Any, err: Exception) -> Any:  # logged with its traceback by uvicorn
        return error(500, None, "internal error in graphae (a bug, not your request); see the server log")

    def node(value: Any, field: str) -> Any:
        ok = {
            "int": isinstance(value, int),
            "float": isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)),
            "str": isinstance(value, str),
        }[id_kind] and not isinstance(value, bool)
        if not ok:
            what = {"int": "an integer", "float": "a number", "str": "a string"}[id_kind]
            raise RequestError(422, field, f"expected a node id, {what} for this model; got {_shown(value)}")
        if value not in lookup:
            raise RequestError(422, field, f"unknown node id {_shown(value)}: not a node of the model")
        return value

    def nodes(values: list[Any], field: str, most: int) -> list[Any]:
        if not values:
            raise RequestError(422, field, "expected at least one node id, got an empty list")
        if len(values) > most:
            raise RequestError(422, field, f"at most {most} per request, got {len(values)}")
        return [node(v, f"{field}[{i}]") for i, v in enumerate(values)]

    @app.get("/health")
    def health() -> dict[str, str]:
        """``{"status": "ok"}`` once the model is loaded."""
        return {"status": "ok"}

    info = _jsonable(
        {
            "name": model.model_name,
            "class": type(model).__name__,
            "parameters": model.get_params(deep=False),
            "learned": bool(model.learned),
            "graph": {
                "nodes": n,
                "edges": int(model.graph_.num_edges),
                "directed": bool(model.graph_.directed),
                "node_id_type": id_kind,
            },
            "embedding_dim": int(model.embedding_.shape[1]) if model.learned else None,
            "graphae_version": __version__,
            "metrics": metrics,
            "limits": vars(limits) | {"max_k": max_k},
        }
    )

    @app.get("/model")
    def model_info() -> dict[str, Any]:
        """Name, parameters, graph size and ``metrics.json`` (``null`` without one) of the model."""
        return info

    @app.post("/recommend")
    def recommend(body: RecommendRequest) -> dict[str, list[list[list[Any]]]]:
        """The ``k`` most likely new neighbours of each id, best first: ``[[id, probability], ...]``."""
        ids = nodes(body.ids, "ids", limits.max_ids)
        if not 1 <= body.k <= max_k:
            raise RequestError(422, "k", f"expected an integer from 1 to {max_k}, got {body.k}")
        with lock:
            lists = model.recommend(ids, k=body.k, exclude_edges=body.exclude_edges)
        return {"recommendations": [[[other, p] for other, p in recs] for recs in lists]}

    @app.post("/predict")
    def predict(body: PredictRequest) -> dict[str, list[float]]:
        """The link probability of each ``[source, target]`` pair."""
        if len(body.pairs) > limits.max_pairs:
            raise RequestError(422, "pairs", f"at most {limits.max_pairs} per request, got {len(body.pairs)}")
        pairs = []
        for i, pair in enumerate(body.pairs):
            if not isinstance(pair, list) or len(pair) != 2:
                raise RequestError(422, f"pairs[{i}]", f"expected [source, target], got {_shown(pair)}")
            pairs.append([node(pair[0], f"pairs[{i}][0]"), node(pair[1], f"pairs[{i}][1]")])
        if not pairs:
            return {"probabilities": []}
        with lock:
            probs = model.predict_proba(pairs)
        return {"probabilities": [float(p) for p in probs]}

    @app.post("/embed")
    def embed(body: EmbedRequest) -> dict[str, list[list[float]]]:
        """The embedding (``mu``) of each id of the fitted graph."""
        for name in ("edges", "features"):
            if getattr(body, name) is not None:
                raise RequestError(
                    422, name, "embedding new nodes is not supported yet; give ids of the fitted graph"
                )
        if not model.learned:
            raise RequestError(
                422,
                None,
                f"{model.model_name} is a link-prediction heuristic and has no node embeddings; "
                "use /predict or /recommend",
            )
        ids = nodes(body.ids, "ids", limits.max_ids)
        return {"embeddings": model.embedding_[[lookup[v] for v in ids]].tolist()}

    return app


class _BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes gets a 413 answer, unread."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            await self._too_large(send)
            return
        seen = 0

        async def limited() -> Any:  # a chunked body, counted as it arrives
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                from starlette.exceptions import HTTPException

                raise HTTPException(413, self._message())
            return message

        await self.app(scope, limited, send)

    def _message(self) -> str:
        return f"request body too large: at most {self.limit} bytes"

    async def _too_large(self, send: Any) -> None:
        from fastapi.responses import JSONResponse

        body = JSONResponse({"error": f"body: {self._message()}", "field": "body"}, 413)
        await send({"type": "http.response.start", "status": 413, "headers": body.raw_headers})
        await send({"type": "http.response.body", "body": body.body})


def run(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    log: bool = True,
    on_listen: Callable[[str], None] | None = None,
) -> None:
    """Serve ``app`` on ``host:port`` until SIGTERM or SIGINT, then shut down cleanly and return.

    ``on_listen`` is called with the service's URL once the port is open (``port=0``:
    a free port, which the URL names).

    Raises:
        MissingDependencyError: Without uvicorn.
        InputError: If ``host:port`` cannot be listened on (in use, not an address here).
    """
    try:
        import uvicorn
    except ImportError as err:
        raise MissingDependencyError(
            'serving a model needs FastAPI and uvicorn: pip install "graphae[serve]"'
        ) from err
    sock = _listen(host, port)
    if on_listen is not None:
        shown = f"[{host}]" if ":" in host else host
        on_listen(f"http://{shown}:{sock.getsockname()[1]}")
    config = uvicorn.Config(
        app,
        log_level="info" if log else "warning",
        access_log=log,
        timeout_graceful_shutdown=30,  # seconds the requests under way get to finish after SIGTERM
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises the signal that stopped it once it has shut down; a handler of
    # ours receives it, so a stop asked for by a signal ends the command with status 0.
    stops = (signal.SIGTERM, signal.SIGINT)
    before = {sig: signal.signal(sig, lambda *_: None) for sig in stops}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)
        sock.close()


def _listen(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
    except OSError as err:
        raise InputError(f"--host {host}: not an address of this machine ({err.strerror or err})") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as err:
        sock.close()
        raise InputError(f"--port {port}: cannot listen on {host}:{port} ({err.strerror or err})") from None
    sock.set_inheritable(True)
    return sock


def _field(loc: list[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _shown(value: Any) -> str:
    try:
        text = repr(value)
    except ValueError:  # an integer of more digits than Python converts to text
        return f"an integer of about {value.bit_length() * 0.30103:.0f} digits"
    return text if len(text) <= 60 else f"{text[:40]}...({len(text)} characters)"


def _jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as ``None`` and numpy scalars as Python values (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "shape", None) == ():
        value = item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value if value is None or isinstance(value, bool | int | float | str) else str(value)
