"""``graphae serve``: a fitted model as an HTTP JSON service (FastAPI, run by uvicorn).

FastAPI and uvicorn are the optional ``serve`` extra (``pip install "graphae[serve]"``); they
are imported only by :func:`create_app` and :func:`run`, never at import time.

Endpoints: ``GET /health``, ``GET /model``, ``POST /recommend``, ``POST /predict``,
``POST /embed`` and the OpenAPI pages (``/docs``, ``/openapi.json``). Every answer is JSON.
A bad request gets a 4xx answer ``{"error": "FIELD: what was wrong", "field": "FIELD"}``
(``field`` is ``null`` when no field is at fault); it is never a 500 or a traceback. The
service reads nothing from the disk after start-up: no request names a path.

``/embed`` and ``/recommend`` also take nodes the model has not seen, as ``"edges"`` and
``"features"`` (see :mod:`graphae.serving_nodes`): the model is run on the fitted graph
enlarged with them (:meth:`~graphae.inductive.InductiveMixin.embed_new_nodes`,
:meth:`~graphae.inductive.InductiveMixin.recommend_new_nodes`), its weights unchanged.

Node ids keep their JSON type: a model whose ids are integers takes and returns JSON
integers (``"3"`` is refused, not read as ``3``); one with string ids takes strings.
The estimator is called under one lock (it is not known to be thread safe), so concurrent
requests get the answers of one request at a time: those of :func:`graphae.load` and the CLI.

No ``from __future__ import annotations`` here: FastAPI reads the request models from the
annotations of the endpoint functions defined inside :func:`create_app`.
"""

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphae.errors import InputError, MissingDependencyError
from graphae.serving_http import SERVE_HINT, BodyLimit, RequestError, field_of, jsonable, run, shown
from graphae.serving_nodes import NewNodes, is_id, parse_new_nodes

__all__ = ["LIMITS", "Limits", "create_app", "load_app", "run"]


@dataclass(frozen=True)
class Limits:
    """What one request may ask for; larger requests get a 4xx answer naming the field."""

    max_body_bytes: int = 1 << 20  # 1 MiB: a 413 answer above it
    max_ids: int = 1000  # ids (and new nodes) of one /recommend or /embed request
    max_pairs: int = 10_000  # pairs of one /predict request, new edges of one /recommend or /embed
    max_k: int = 1000  # and never more than the model's number of nodes


LIMITS = Limits()


def _fastapi() -> Any:
    try:
        import fastapi
    except ImportError as err:
        raise MissingDependencyError(SERVE_HINT) from err
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

    from graphae.inductive import check_inductive
    from graphae.runfolder.readers import node_id_type
    from graphae.version import __version__

    model._check_fitted()
    lock = threading.Lock()
    id_kind = node_id_type(model.node_ids_)
    n = int(model.graph_.num_nodes)
    max_k = min(limits.max_k, n)
    lookup = model.id_index()  # built once: the model is never refitted here
    ann = model.recommend_index()  # read or built once, as recommend would on its first call

    class _Request(BaseModel):
        model_config = ConfigDict(extra="forbid")

    edges_doc = (
        f"new nodes: their edges [[a, b], ...] to known nodes or to each other, at most {limits.max_pairs}; "
        "the model is run on the fitted graph with them appended"
    )
    features_doc = f'new nodes: their features {{"ID": [numbers], ...}}, at most {limits.max_ids} nodes'

    class RecommendRequest(_Request):
        ids: list[Any] = Field(description=f"node ids (fitted or new), at most {limits.max_ids}")
        k: StrictInt = Field(10, description=f"neighbours per id, 1 to {max_k}")
        exclude_edges: StrictBool = Field(True, description="leave out the existing neighbours")
        edges: Any = Field(None, description=edges_doc)
        features: Any = Field(None, description=features_doc)

    class PredictRequest(_Request):
        pairs: list[Any] = Field(description=f"[source, target] id pairs, at most {limits.max_pairs}")

    class EmbedRequest(_Request):
        ids: list[Any] = Field(description=f"node ids (fitted or new), at most {limits.max_ids}")
        edges: Any = Field(None, description=edges_doc)
        features: Any = Field(None, description=features_doc)

    app = fastapi.FastAPI(
        title="graphae",
        version=__version__,
        description=f"{model.model_name or type(model).__name__} model: link probabilities, "
        "recommendations and embeddings of its nodes.",
    )
    app.add_middleware(BodyLimit, limit=limits.max_body_bytes)

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
        field = field_of(loc) or "body"
        if field == "body" and "json" not in request.headers.get("content-type", ""):
            return error(
                415, "body", "expected a JSON object, sent with the header Content-Type: application/json"
            )
        message = str(first.get("msg", "invalid"))
        if "input" in first and first.get("type") != "missing":
            message += f", got {shown(first['input'])}"
        return error(422, field, message)

    @app.exception_handler(HTTPException)
    async def _http(request: Any, err: HTTPException) -> Any:
        return error(err.status_code, "body" if err.status_code in (400, 413) else None, str(err.detail))

    @app.exception_handler(Exception)
    async def _bug(request: Any, err: Exception) -> Any:  # logged with its traceback by uvicorn
        return error(500, None, "internal error in graphae (a bug, not your request); see the server log")

    def node(value: Any, field: str, new: NewNodes | None = None) -> Any:
        if not is_id(value, id_kind):
            what = {"int": "an integer", "float": "a number", "str": "a string"}[id_kind]
            raise RequestError(422, field, f"expected a node id, {what} for this model; got {shown(value)}")
        if value not in lookup and (new is None or value not in new.ids):
            also = "" if new is None else " nor a new node of the request's features"
            raise RequestError(422, field, f"unknown node id {shown(value)}: not a node of the model{also}")
        return value

    def nodes(values: list[Any], field: str, most: int, new: NewNodes | None = None) -> list[Any]:
        if not values:
            raise RequestError(422, field, "expected at least one node id, got an empty list")
        if len(values) > most:
            raise RequestError(422, field, f"at most {most} per request, got {len(values)}")
        return [node(v, f"{field}[{i}]", new) for i, v in enumerate(values)]

    try:
        check_inductive(model)
        cannot_embed_new, width = None, int(model.graph_.x.shape[1])
    except InputError as err:
        cannot_embed_new, width = str(err), 0

    def new_nodes(body: Any) -> NewNodes | None:
        """The new nodes of a request with ``edges`` or ``features``; ``None`` without them."""
        if body.edges is None and body.features is None:
            return None
        if cannot_embed_new is not None:
            raise RequestError(422, "edges" if body.edges is not None else "features", cannot_embed_new)
        return parse_new_nodes(
            body.edges, body.features, id_kind, lookup, width, limits.max_pairs, limits.max_ids
        )

    @app.get("/health")
    def health() -> dict[str, str]:
        """``{"status": "ok"}`` once the model is loaded."""
        return {"status": "ok"}

    info = jsonable(
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
            "index": None if ann is None else ann.record(),  # the top-k index recommend uses, if any
            "graphae_version": __version__,
            "metrics": metrics,
            "limits": vars(limits) | {"max_k": max_k},
        }
    )

    @app.get("/model")
    def model_info() -> dict[str, Any]:
        """Name, parameters, graph size, top-k index (``null`` without one) and ``metrics.json`` of the model."""
        return info

    @app.post("/recommend")
    def recommend(body: RecommendRequest) -> dict[str, list[list[list[Any]]]]:
        """The ``k`` most likely new neighbours of each id, best first: ``[[id, probability], ...]``."""
        new = new_nodes(body)
        ids = nodes(body.ids, "ids", limits.max_ids, new)
        if not 1 <= body.k <= max_k:
            raise RequestError(422, "k", f"expected an integer from 1 to {max_k}, got {body.k}")
        with lock, _as_request_error():
            if new is None:
                lists = model.recommend(ids, k=body.k, exclude_edges=body.exclude_edges)
            else:
                lists = model.recommend_new_nodes(
                    ids, new.edges, new.features, k=body.k, exclude_edges=body.exclude_edges
                )
        return {"recommendations": [[[other, p] for other, p in recs] for recs in lists]}

    @app.post("/predict")
    def predict(body: PredictRequest) -> dict[str, list[float]]:
        """The link probability of each ``[source, target]`` pair."""
        if len(body.pairs) > limits.max_pairs:
            raise RequestError(422, "pairs", f"at most {limits.max_pairs} per request, got {len(body.pairs)}")
        pairs = []
        for i, pair in enumerate(body.pairs):
            if not isinstance(pair, list) or len(pair) != 2:
                raise RequestError(422, f"pairs[{i}]", f"expected [source, target], got {shown(pair)}")
            pairs.append([node(pair[0], f"pairs[{i}][0]"), node(pair[1], f"pairs[{i}][1]")])
        if not pairs:
            return {"probabilities": []}
        with lock:
            probs = model.predict_proba(pairs)
        return {"probabilities": [float(p) for p in probs]}

    @app.post("/embed")
    def embed(body: EmbedRequest) -> dict[str, list[list[float]]]:
        """The embedding (``mu``) of each id; with ``edges`` and ``features``, on the enlarged graph."""
        if not model.learned:
            raise RequestError(
                422,
                None,
                f"{model.model_name} is a link-prediction heuristic and has no node embeddings; "
                "use /predict or /recommend",
            )
        new = new_nodes(body)
        ids = nodes(body.ids, "ids", limits.max_ids, new)
        if new is None:
            return {"embeddings": model.embedding_[[lookup[v] for v in ids]].tolist()}
        with lock, _as_request_error():
            all_ids, z = model.embed_new_nodes(new.edges, features=new.features, include_fitted=True)
        appended = {v: n + i for i, v in enumerate(all_ids[n:].tolist())}  # fitted nodes keep their rows
        return {"embeddings": z[[lookup[v] if v in lookup else appended[v] for v in ids]].tolist()}

    return app


@contextmanager
def _as_request_error() -> Iterator[None]:
    """An :class:`InputError` of the model on a request's new nodes, as a 422 answer."""
    try:
        yield
    except InputError as err:
        raise RequestError(422, None, str(err)) from None
