"""Estimators to and from model folders and checkpoints: what identifies a fit."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
import torch

from graphae import modelnames, runfolder
from graphae.errors import InputError
from graphae.graph import Graph
from graphae.params import plain, validate_params
from graphae.sizing import shape_module
from graphae.training import Checkpointer, load_checkpoint
from graphae.version import __version__

if TYPE_CHECKING:
    from graphae.estimator import GraphAutoencoderEstimator
    from graphae.models.heuristics import HeuristicLinkPredictor

# Parameters that change how a fit runs, not what it computes: a resumed fit may change them.
_RUNTIME_PARAMS = ("device", "threads", "verbose")
DEFAULT_CHECKPOINT_EVERY = 10


def to_saved(est: GraphAutoencoderEstimator | HeuristicLinkPredictor) -> runfolder.SavedModel:
    """The contents of a model folder for a fitted estimator.

    A non-learned model (``est.learned`` false, a heuristic) has no weights or embedding;
    it keeps the adjacency it scores on (``adjacency_``) beside the graph's. The graph's
    adjacency is what ``recommend`` leaves out (:meth:`~graphae.linkpred.LinkPredictionMixin.set_known_edges`);
    where that is more than the graph fitted on, a learned model keeps the fitted one too.

    Raises:
        InputError: If the class of ``est`` is not registered (a folder names its model).
    """
    name = est.model_name
    if not name:
        cls = type(est).__name__
        raise InputError(
            f"A {cls} cannot be saved: its class is not registered, and a saved folder names the "
            f"registered model to load it as. Register it first: graphae.register_model('a_name', {cls})."
        )
    graph = est.graph_
    metadata = {
        "graphae_version": __version__,
        "model": name,
        "estimator": type(est).__name__,
        "learned": est.learned,
        "params": {k: plain(v) for k, v in est.get_params(deep=False).items()},
        "graph": {
            "name": graph.name,
            "num_nodes": graph.num_nodes,
            "num_edges": graph.num_edges,
            "directed": graph.directed,
            "node_id_type": runfolder.node_id_type(est.node_ids_),
        },
    }
    if not est.learned:
        metadata["fit"] = {"train_seconds": est.train_seconds_}
        return runfolder.SavedModel(
            metadata=metadata,
            weights=None,
            embedding=None,
            adjacency=est.known_adjacency(),
            node_ids=est.node_ids_,
            history=est.history_,
            fitted_adjacency=est.adjacency_,
        )
    metadata["fit"] = {
        "loss": est.loss_,
        "in_channels": est.in_channels_,
        "features_used": est.features_used_,
        "best_epoch": est.best_epoch_,
        "train_seconds": est.train_seconds_,
    }
    index = est._index_to_save()  # the top-k index (see graphae.topk), when it has one
    record = est._index_record() if index is not None else None
    if record is not None:  # its search width and calibration; none for an index saved before them
        metadata["index"] = record
    return runfolder.SavedModel(
        metadata=metadata,
        weights=est.module_.state_dict(),
        embedding=est.embedding_,
        adjacency=est.known_adjacency(),
        node_ids=est.node_ids_,
        history=est.history_,
        fitted_adjacency=None if est.known_adjacency() is graph.adj else graph.adj,
        features=graph.x if est.features_used_ else None,  # what embedding unseen nodes needs
        index=index,
    )


def from_saved(
    saved: runfolder.SavedModel, path: str | os.PathLike, expected: type | None = None
) -> GraphAutoencoderEstimator | HeuristicLinkPredictor:
    """A fitted estimator from the contents of a model folder.

    Args:
        saved: The folder's contents.
        path: The folder, for messages.
        expected: The class (or a base class) the model must be; ``None``: any model.

    Raises:
        InputError: If the model is not registered here, is not an ``expected``, is
            learned where the registered class is not (or the reverse), or its
            parameters or weights do not fit its class.
    """
    meta = saved.metadata
    name = meta["model"]
    cls = modelnames.class_of(name)
    if cls is None:
        raise InputError(
            f"{path} holds a model {name!r} that is not registered here (registered: {modelnames.names()}); "
            "import the module that registers it (graphae.register_model) before loading."
        )
    if expected is not None and not issubclass(cls, expected):
        raise InputError(f"{path} holds a {cls.__name__}, not a {expected.__name__}.")
    # A base parameter the class no longer carries (NOT_USED) was saved by an older graphae; nothing read it.
    params = {k: v for k, v in meta["params"].items() if k not in getattr(cls, "not_used", ())}
    unknown = sorted(set(params) - set(cls._get_param_names()))
    if unknown:
        raise InputError(
            f"{path}: parameters {unknown} are unknown to {cls.__name__}; the folder was saved by "
            f"graphae {meta.get('graphae_version', '?')}, install that version to load it."
        )
    learned = bool(meta.get("learned", True))
    if learned != cls.learned:
        kind = "a learned model" if learned else "a non-learned heuristic"
        raise InputError(f"{path} holds {kind}, but {name!r} is registered here as {cls.__name__}.")
    est = cls(**params)
    try:
        validate_params(cls.__name__, est.get_params(deep=False), cls._parameter_constraints)
    except InputError as err:
        raise InputError(f"{path}: metadata.json 'params': {err}") from None
    fit = meta["fit"]
    graph_meta = meta["graph"]
    # The graph fitted on: a heuristic's, or a learned model's saved with more known edges.
    fitted_adj = saved.adjacency if saved.fitted_adjacency is None else saved.fitted_adjacency
    est.graph_ = Graph(
        adj=sp.csr_matrix(fitted_adj, dtype=np.float32),
        name=graph_meta.get("name", "graph"),
        node_ids=saved.node_ids,
        directed=bool(graph_meta["directed"]),
        x=saved.features,
    )
    est.node_ids_ = saved.node_ids
    est.history_ = saved.history
    est.train_seconds_ = fit.get("train_seconds", 0.0)
    if fitted_adj is not saved.adjacency and (fitted_adj != saved.adjacency).nnz:
        est._known_edges = sp.csr_matrix(saved.adjacency, dtype=np.float32)  # as set_known_edges
    if not learned:
        est.adjacency_ = sp.csr_matrix(saved.fitted_adjacency, dtype=np.float32)
        return est
    in_channels, n = fit["in_channels"], len(saved.node_ids)
    if not fit["features_used"] and in_channels != n:
        raise InputError(
            f"{path}: metadata.json 'fit.in_channels' is {in_channels}, but a model without features has "
            f"one input channel per node ({n}); save the model again."
        )
    est.features_used_ = bool(fit["features_used"])
    est.in_channels_ = int(in_channels)
    _check_weight_shapes(est, in_channels, saved.weights, path)  # before allocating the module
    module = est.build_module(in_channels, torch.Generator().manual_seed(0))
    try:
        module.load_state_dict(saved.weights)
    except RuntimeError as err:
        reason = str(err).splitlines()[0]
        raise InputError(
            f"{path}: the weights do not fit a {cls.__name__} with these parameters ({reason})."
        ) from None
    module.eval()
    est.module_ = module
    est.embedding_ = saved.embedding
    if saved.index is not None:  # read when recommend needs it, checked then
        est._topk_file = (est.embedding_, saved.index)
    est.best_epoch_ = fit.get("best_epoch", 0)
    # Folders saved before loss="auto" existed hold an explicit loss in their parameters.
    est.loss_ = fit.get("loss") or est.loss_for(est.graph_.num_nodes)
    return est


def _check_weight_shapes(
    est: GraphAutoencoderEstimator, in_channels: int, weights: dict[str, torch.Tensor], path: Any
) -> None:
    """Compare the saved tensors with the module the metadata describes, built without storage."""
    expected = {k: tuple(v.shape) for k, v in shape_module(est, in_channels).state_dict().items()}
    found = {k: tuple(v.shape) for k, v in weights.items()}
    if expected != found:
        diff = sorted(k for k in set(expected) | set(found) if expected.get(k) != found.get(k))
        shown = ", ".join(
            f"{k}: {found.get(k, 'missing')} in model.pt, {expected.get(k, 'none')} expected"
            for k in diff[:2]
        )
        raise InputError(
            f"{path}: the weights in model.pt do not fit a {type(est).__name__} with the parameters and "
            f"in_channels={in_channels} of metadata.json ({shown}); save the model again."
        )


# Checkpoints ------------------------------------------------------------------------
def fingerprint(
    est: GraphAutoencoderEstimator,
    graph: Graph,
    features: bool,
    val_pairs: tuple[np.ndarray, np.ndarray] | None,
) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: model, parameters, graph, validation pairs."""
    params = {k: plain(v) for k, v in est.get_params(deep=False).items() if k not in _RUNTIME_PARAMS}
    return {
        "model": est.model_name,
        "estimator": type(est).__name__,
        "params": params,
        "graph": {
            "num_nodes": graph.num_nodes,
            "num_edges": graph.num_edges,
            "directed": graph.directed,
            "edges": _digest(graph.edge_keys()),
            "features": _digest(graph.x) if features else None,
        },
        "val_pairs": None if val_pairs is None else _digest(*val_pairs),
    }


def _digest(*arrays: Any) -> str:
    h = hashlib.blake2b(digest_size=16)
    for arr in arrays:
        if sp.issparse(arr):
            arr = sp.csr_matrix(arr)
            parts = (arr.indptr, arr.indices, arr.data, np.array(arr.shape))
        else:
            parts = (np.asarray(arr), np.array(np.shape(arr)))
        for part in parts:
            h.update(np.ascontiguousarray(part).tobytes())
    return h.hexdigest()


def checkpointing(
    est: GraphAutoencoderEstimator,
    graph: Graph,
    features: bool,
    val_pairs: tuple[np.ndarray, np.ndarray] | None,
    path: str | os.PathLike | None,
    every: int | None,
    resume: bool,
) -> tuple[Checkpointer | None, dict[str, Any] | None]:
    """The checkpointer of a fit and, when resuming, the state to resume from.

    Raises:
        InputError: On ``checkpoint_every``/``resume`` without a checkpoint path, or a
            checkpoint written for other parameters, another graph or other validation pairs.
    """
    if path is None:
        if every is not None or resume:
            raise InputError("checkpoint_every and resume need a checkpoint path (checkpoint=...).")
        return None, None
    meta = fingerprint(est, graph, features, val_pairs)
    saver = Checkpointer(path, DEFAULT_CHECKPOINT_EVERY if every is None else every, meta)
    if not resume:
        return saver, None
    saved_meta, state = load_checkpoint(path)
    if isinstance(saved_meta.get("params"), dict):  # as in from_saved: parameters an older graphae carried
        saved_meta["params"] = {k: v for k, v in saved_meta["params"].items() if k not in est.not_used}
    for key in ("model", "params", "graph", "val_pairs"):
        if saved_meta.get(key) != meta[key]:
            raise InputError(
                f"{Path(path)}: {_mismatch(key, saved_meta.get(key), meta[key])}; cannot resume from it."
            )
    return saver, state


def _mismatch(key: str, saved: Any, now: Any) -> str:
    if key == "params" and isinstance(saved, dict) and isinstance(now, dict):
        diff = sorted(k for k in set(saved) | set(now) if saved.get(k) != now.get(k))
        shown = ", ".join(f"{k}={saved.get(k)!r} there, {now.get(k)!r} here" for k in diff[:3])
        return f"the checkpoint was written with other parameters ({shown})"
    what = {"model": "another model", "graph": "another graph", "val_pairs": "other validation pairs"}[key]
    return f"the checkpoint was written for {what}"
