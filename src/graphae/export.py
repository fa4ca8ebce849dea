"""The trained encoder as an ONNX model, for serving embeddings outside Python.

The exported model computes what :meth:`~graphae.GraphAutoencoderEstimator.transform`
computes, ``mu`` of every node of a graph, from two inputs:

- ``x``: ``[N, F]`` float32, the raw node features (the model's feature normalization,
  when it was trained with one, is part of the exported graph);
- ``edge_index``: ``[2, E]`` int64, every entry of the adjacency matrix once, ``i -> j``
  as row ``i``, column ``j`` of ``A``: both directions of an undirected edge, no self
  loops, no duplicates (the convention of PyTorch Geometric's ``edge_index``). The
  normalization ``D^-1/2 (A + I) D^-1/2`` (``D_out^-1 (A + I)`` for a directed model) is
  computed inside the model.

and one output, ``mu``: ``[N, out_channels]`` float32. ``N`` and ``E`` are free, so the
model embeds any graph with the trained weights, the fitted one enlarged with new nodes
included. :func:`onnx_inputs` builds the two inputs from a :class:`~graphae.Graph`.

Only a model whose encoder reads node features can be exported: a featureless model (its
input is the identity, one row of weights per fitted node) or one with a learned table of
node embeddings computes nothing for a graph other than the one it was fitted on.

The exporter is torch's (``torch.onnx.export(..., dynamo=True)``), which needs ``onnx``
and ``onnxscript``; running the model needs ``onnxruntime``: ``pip install "graphae[export]"``.
Sparse products are written as gathers and scatter-additions (ONNX has no sparse matrix
product), so onnxruntime's sums run in another order than torch's: the embeddings agree
to about 1e-6, not bit for bit.
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn

from graphae.errors import InputError, MissingDependencyError

if TYPE_CHECKING:
    from graphae.estimator import GraphAutoencoderEstimator
    from graphae.graph import Graph

__all__ = ["OPSET", "MissingOnnxError", "check_exportable", "export_onnx", "onnx_inputs", "require_exporter"]

OPSET = 18  # ScatterND with reduction="add" needs 16; onnxruntime runs 18 from 1.14 on
_HINT = 'exporting to ONNX needs onnx and onnxscript (onnxruntime to run it): pip install "graphae[export]"'


class MissingOnnxError(MissingDependencyError):
    """``export_onnx`` was called and ``onnx`` or ``onnxscript`` is not installed."""


def require_exporter() -> None:
    try:
        import onnx  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as err:
        raise MissingOnnxError(_HINT) from err


def check_exportable(model: GraphAutoencoderEstimator) -> None:
    """Refuse a model whose encoder cannot be exported, saying why.

    Raises:
        InputError: For a heuristic (no encoder), a model trained without node features,
            or one that learned an embedding per node.
    """
    model._check_fitted()
    name = type(model).__name__
    if not getattr(model, "learned", True):
        raise InputError(f"{name} is a heuristic without an encoder: there is nothing to export to ONNX.")
    embeds_nodes = getattr(model, "_embeds_nodes", None)
    if not model.features_used_ or (embeds_nodes is not None and embeds_nodes()):
        what = (
            "learned an embedding per node" if model.features_used_ else "was trained without node features"
        )
        raise InputError(
            f"This {name} {what}: its encoder computes embeddings only for the {model.graph_.num_nodes} "
            "nodes it was fitted on, so it cannot be exported to ONNX (use `graphae embed` for those "
            "embeddings, or train it with node features to export it)."
        )


class _EdgeOperator:
    """``A_hat @ h`` for the normalized adjacency given as entries ``(row, col, weight)``.

    A gather of ``h[col]`` and a scatter-addition into ``row``: what ONNX can express
    (ScatterND with ``reduction="add"``), in place of torch's sparse CSR product.
    """

    def __init__(
        self, row: torch.Tensor, col: torch.Tensor, weight: torch.Tensor, nodes: torch.Tensor
    ) -> None:
        self.row, self.col, self.weight, self.nodes = row, col, weight, nodes

    def __matmul__(self, h: torch.Tensor) -> torch.Tensor:
        message = h.index_select(0, self.col) * self.weight.unsqueeze(1)
        out = torch.zeros(self.nodes.shape[0], h.shape[1], dtype=h.dtype, device=h.device)
        # scatter_add exports as ScatterElements: onnxruntime 1.32's ScatterND (index_add's
        # export) adds repeated rows in parallel without care and gave wrong sums (0.1 off).
        return out.scatter_add(0, self.row.unsqueeze(1).expand(-1, h.shape[1]), message)


class OnnxEncoder(nn.Module):
    """A trained encoder on ``(x, edge_index)``, in evaluation mode: what is exported.

    Args:
        encoder: The encoder of a fitted module (``module_.encoder``); it is shared, not copied.
        directed: Normalize as for a directed graph (``D_out^-1 (A + I)``).
        normalize_features: Divide each feature row by its sum of absolute values first.

    Shapes:
        x: ``[N, F]``; edge_index: ``[2, E]``; returns mu ``[N, out_channels]``.
    """

    def __init__(self, encoder: nn.Module, directed: bool, normalize_features: bool) -> None:
        super().__init__()
        self.encoder = encoder
        self.directed = directed
        self.normalize_features = normalize_features

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        if self.normalize_features:
            sums = x.abs().sum(dim=1, keepdim=True)
            x = torch.where(sums > 0, x / torch.where(sums > 0, sums, torch.ones_like(sums)), x)
        nodes = torch.arange(x.shape[0], dtype=edge_index.dtype, device=x.device)
        row = torch.cat([edge_index[0], nodes])
        col = torch.cat([edge_index[1], nodes])
        ones = torch.ones(row.shape[0], dtype=x.dtype, device=x.device)
        deg = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device).scatter_add(0, row, ones)
        if self.directed:
            weight = deg.reciprocal().index_select(0, row)
        else:
            inv_sqrt = deg.rsqrt()
            weight = inv_sqrt.index_select(0, row) * inv_sqrt.index_select(0, col)
        return self.encoder(x, _EdgeOperator(row, col, weight, nodes)).mu


def onnx_inputs(graph: Graph) -> dict[str, np.ndarray]:
    """The inputs of an exported model for ``graph``: ``{"x": [N, F] float32, "edge_index": [2, E] int64}``.

    Raises:
        InputError: If the graph has no node features.
    """
    if graph.x is None:
        raise InputError("An exported encoder reads node features; the graph given has none.")
    x = graph.x.toarray() if sp.issparse(graph.x) else graph.x
    coo = sp.coo_matrix(graph.adj)
    return {
        "x": np.ascontiguousarray(x, dtype=np.float32),
        "edge_index": np.stack([coo.row, coo.col]).astype(np.int64),
    }


def export_onnx(model: GraphAutoencoderEstimator, path: str | os.PathLike) -> Path:
    """Write the encoder of a fitted model to ``path`` as an ONNX model (see the module).

    Returns:
        The path written.

    Raises:
        MissingOnnxError: Without ``onnx`` and ``onnxscript``.
        InputError: If the model cannot be exported (see :func:`check_exportable`).
    """
    check_exportable(model)
    require_exporter()
    path = Path(path)
    # A copy on the CPU, in evaluation mode: the model's own module is left as it is.
    encoder = copy.deepcopy(model.module_.encoder).cpu()
    wrapper = OnnxEncoder(encoder, bool(model.graph_.directed), bool(model.normalize_features)).eval()
    # A small example only fixes the types: node and edge counts are symbolic dimensions.
    example = (
        torch.zeros(3, int(model.in_channels_), dtype=torch.float32),
        torch.tensor([[0, 1, 1, 2], [1, 0, 2, 1]], dtype=torch.int64),
    )
    nodes, edges = torch.export.Dim("nodes", min=2), torch.export.Dim("edges", min=2)
    quiet = _Quiet("torch.onnx", "torch.export", "torch._export", "onnxscript", "onnx_ir")
    with quiet, torch.no_grad(), warnings.catch_warnings():
        # torch's exporter warns of its own internals (deprecations): nothing a user can act on.
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        program = torch.onnx.export(
            wrapper,
            example,
            input_names=["x", "edge_index"],
            output_names=["mu"],
            dynamic_shapes=({0: nodes}, {1: edges}),
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    program.model.doc_string = (
        f"graphae {model.model_name or type(model).__name__} encoder: x [N, {model.in_channels_}] float32 "
        "(raw features), edge_index [2, E] int64 (each adjacency entry once, both directions of an "
        "undirected edge, no self loops) -> mu [N, d] float32"
    )
    # Written beside the target and renamed: an interrupted export leaves no partial file.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.absolute().parent)
    os.close(fd)
    try:
        program.save(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


class _Quiet:
    """Lower the named loggers to errors for the duration (the exporter logs each step)."""

    def __init__(self, *names: str) -> None:
        self.loggers = [logging.getLogger(name) for name in names]
        self.levels: list[int] = []

    def __enter__(self) -> None:
        self.levels = [logger.level for logger in self.loggers]
        for logger in self.loggers:
            logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: Any) -> None:
        for logger, level in zip(self.loggers, self.levels, strict=True):
            logger.setLevel(level)
