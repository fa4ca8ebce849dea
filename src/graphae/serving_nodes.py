"""New nodes in a request of :mod:`graphae.serving`: their ``edges`` and ``features``, checked.

A request of ``/embed`` or ``/recommend`` may describe nodes the model has not seen:

- ``"edges"``: ``[[a, b], ...]``, pairs of node ids; an id the model knows is that node,
  any other id is a new node (of the JSON type of the model's ids);
- ``"features"``: ``{"ID": [f_1, ..., f_F], ...}``, one row of ``F`` numbers (the model's
  feature width) per new node, keyed by its id written as a JSON key (a string: ``"2708"``
  for the integer id 2708, exactly as the edge readers would read it).

Every new node needs a feature row; a node only the features name is an isolated new node.
The model then embeds them as :meth:`~graphae.inductive.InductiveMixin.embed_new_nodes`
does: the new nodes appended to the fitted graph, the trained encoder run on it.
"""

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from graphae.serving_http import RequestError, shown

_INT64 = (-(2**63), 2**63 - 1)  # the range of integer ids (they are stored as int64)
_WHAT = {"int": "an integer", "float": "a number", "str": "a string"}
_KEY = {
    "int": 'an integer written as text, such as "2708"',
    "float": 'a number written as text, such as "0.5"',
}


@dataclass
class NewNodes:
    """The new nodes of a request: its edges as id pairs and its features keyed by id."""

    edges: list[list[Any]]
    ids: list[Any]
    x: np.ndarray

    @property
    def features(self) -> tuple[list[Any], np.ndarray]:
        """``(ids, matrix)``, as :func:`graphae.inductive.extend_graph` takes them."""
        return self.ids, self.x


def is_id(value: Any, kind: str) -> bool:
    """Whether a JSON value is a node id of this kind (``"int"``, ``"float"``, ``"str"``)."""
    if isinstance(value, bool):
        return False
    if kind == "int":
        return isinstance(value, int) and _INT64[0] <= value <= _INT64[1]
    if kind == "float":
        return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
    return isinstance(value, str)


def parse_new_nodes(
    edges: Any, features: Any, kind: str, known: dict[Any, int], width: int, max_edges: int, max_nodes: int
) -> NewNodes:
    """Check the ``edges`` and ``features`` fields of a request and return the new nodes.

    Args:
        edges, features: The fields as the JSON body gave them (``None``: absent).
        kind: The model's id type (see :func:`graphae.runfolder.node_id_type`).
        known: The model's id index (``model.id_index()``).
        width: The model's feature width.
        max_edges, max_nodes: Limits of one request.

    Raises:
        RequestError: A 422 naming the field at fault (``edges[3][1]``, ``features.2708``).
    """
    if edges is None:
        edges = []
    if not isinstance(edges, list):
        raise RequestError(422, "edges", f"expected a list of [a, b] node-id pairs, got {shown(edges)}")
    if len(edges) > max_edges:
        raise RequestError(422, "edges", f"at most {max_edges} per request, got {len(edges)}")
    pairs = []
    for i, pair in enumerate(edges):
        if not isinstance(pair, list) or len(pair) != 2:
            raise RequestError(422, f"edges[{i}]", f"expected [a, b], got {shown(pair)}")
        for j, value in enumerate(pair):
            if not is_id(value, kind):
                raise RequestError(
                    422,
                    f"edges[{i}][{j}]",
                    f"expected a node id, {_WHAT[kind]} for this model; got {shown(value)}",
                )
        pairs.append([pair[0], pair[1]])
    ids, rows = _features(features, kind, known, width, max_nodes)
    named = set(ids)
    for i, pair in enumerate(pairs):
        for j, value in enumerate(pair):
            if value not in known and value not in named:
                raise RequestError(
                    422,
                    "features",
                    f"no feature row for the new node {shown(value)} of edges[{i}][{j}]: every node the model "
                    "has not seen needs its features",
                )
    x = np.array(rows, dtype=np.float32).reshape(len(rows), width)
    return NewNodes(pairs, ids, x)


def _features(
    features: Any, kind: str, known: dict[Any, int], width: int, most: int
) -> tuple[list[Any], list[list[float]]]:
    if features is None:
        features = {}
    if not isinstance(features, dict):
        raise RequestError(
            422, "features", f'expected an object {{"ID": [{width} numbers], ...}}, got {shown(features)}'
        )
    if len(features) > most:
        raise RequestError(422, "features", f"at most {most} new nodes per request, got {len(features)}")
    ids, rows = [], []
    for key, row in features.items():
        field = f"features.{key}"
        node = _key_id(key, kind)
        if node is None:
            raise RequestError(422, field, f"expected a node id as the key, {_KEY[kind]}; got {shown(key)}")
        if node in known:
            raise RequestError(
                422,
                field,
                f"node {shown(node)} is a node the model was trained on; it keeps the features it was "
                "trained with: give features for new nodes only",
            )
        if not isinstance(row, list) or len(row) != width:
            got = f"{len(row)} numbers" if isinstance(row, list) else shown(row)
            raise RequestError(
                422, field, f"expected a list of {width} numbers (the model's features), got {got}"
            )
        for j, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise RequestError(422, f"{field}[{j}]", f"expected a finite number, got {shown(value)}")
        ids.append(node)
        rows.append(row)
    return ids, rows


def _key_id(key: str, kind: str) -> Any:
    """The node id a JSON key names (keys are strings), or ``None``."""
    if kind == "str":
        return key
    from graphae.data.text import exact_id

    value = exact_id(key, kind)
    return value if value is not None and is_id(value, kind) else None
