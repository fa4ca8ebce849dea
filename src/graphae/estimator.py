"""scikit-learn style estimators: ``GAE`` and ``VGAE``."""

from __future__ import annotations

import copy
import inspect
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from graphae.graph import Graph
from graphae.io import atomic_write, load_model, save_model, write_json, write_npy
from graphae.nn.models import build_model
from graphae.training import LOSSES, Callback, EpochProgress, GraphTensors, embed, resolve_device, train

ESTIMATOR_FILE = "estimator.json"
EMBEDDING_FILE = "embeddings.npy"
ADJACENCY_FILE = "adjacency.npz"
NODE_IDS_FILE = "node_ids.txt"


class NotFittedError(ValueError, AttributeError):
    """An estimator method that needs a fitted model was called before ``fit``."""


class _GraphAutoencoderEstimator:
    """Shared implementation of :class:`GAE` and :class:`VGAE`."""

    _model_name = "gae"

    def __init__(
        self,
        *,
        hidden_channels: int = 32,
        out_channels: int = 16,
        loss: str = "exact",
        epochs: int = 200,
        lr: float = 0.01,
        use_features: bool = True,
        eval_every: int = 1,
        select_best: bool = False,
        random_state: int | None = None,
        device: str = "auto",
        threads: int | None = None,
        verbose: bool = False,
    ) -> None:
        self.hidden_channels = hidden_channels
        self.out_channels = out_channels
        self.loss = loss
        self.epochs = epochs
        self.lr = lr
        self.use_features = use_features
        self.eval_every = eval_every
        self.select_best = select_best
        self.random_state = random_state
        self.device = device
        self.threads = threads
        self.verbose = verbose

    # Parameters -----------------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(_GraphAutoencoderEstimator.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters, as scikit-learn defines them."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> _GraphAutoencoderEstimator:
        """Set constructor parameters; returns ``self``.

        Raises:
            ValueError: On an unknown parameter name.
        """
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(
                    f"Invalid parameter {name!r} for {type(self).__name__}; valid parameters: {valid}."
                )
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = type(self)().get_params()
        changed = {k: v for k, v in self.get_params().items() if v != defaults[k]}
        args = ", ".join(f"{k}={v!r}" for k, v in changed.items())
        return f"{type(self).__name__}({args})"

    def _validate_params(self) -> None:
        name = type(self).__name__

        def fail(param: str, expected: str) -> None:
            raise ValueError(
                f"The {param!r} parameter of {name} must be {expected}. Got {getattr(self, param)!r}."
            )

        for param in ("hidden_channels", "out_channels", "epochs", "eval_every"):
            value = getattr(self, param)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                fail(param, "an int >= 1")
        if not isinstance(self.lr, (int, float)) or isinstance(self.lr, bool) or not self.lr > 0:
            fail("lr", "a float > 0")
        if self.loss not in LOSSES:
            fail("loss", f"one of {list(LOSSES)}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            fail("threads", "None or an int >= 1")
        if self.random_state is not None and not isinstance(self.random_state, (int, np.integer)):
            fail("random_state", "None or an int")

    # Fitting --------------------------------------------------------------
    def fit(
        self,
        graph: Any,
        y: Any = None,
        *,
        val_pairs: tuple[np.ndarray, np.ndarray] | None = None,
        callback: Callback | None = None,
    ) -> _GraphAutoencoderEstimator:
        """Train on every edge of ``graph``.

        Args:
            graph: A :class:`~graphae.graph.Graph`, or anything
                :func:`graphae.data.as_graph` accepts (networkx graph, scipy sparse
                matrix, ``edge_index`` tensor, PyG ``Data``).
            y: Ignored; present for scikit-learn compatibility.
            val_pairs: Optional validation ``(pos, neg)`` node-index pairs, each
                ``[2, k]``, scored every ``eval_every`` epochs into ``history_``.
            callback: Called with each epoch's history record.

        Returns:
            ``self``, with ``embedding_``, ``history_``, ``module_``, ``graph_``,
            ``node_ids_`` and ``train_seconds_`` set.

        Raises:
            ValueError: On invalid parameters or a graph without edges.
        """
        from graphae.data.convert import as_graph

        self._validate_params()
        graph = as_graph(graph)
        if graph.num_edges == 0:
            raise ValueError(f"Graph {graph.name!r} has no edges to learn from.")
        features = self.use_features and graph.x is not None
        device = resolve_device(self.device)
        seed = self.random_state
        init = torch.Generator()
        noise = torch.Generator(device=device)
        if seed is None:
            init.seed()
            noise.seed()
        else:
            init.manual_seed(int(seed))
            noise.manual_seed(int(seed))
        with _threads(self.threads):
            data = GraphTensors.from_graph(graph, device=device, features=features)
            module = build_model(
                self._model_name, data.in_channels, self.hidden_channels, self.out_channels, init
            ).to(device)
            result = train(
                module,
                data,
                loss=self.loss,
                epochs=self.epochs,
                lr=self.lr,
                generator=noise,
                val_pairs=val_pairs,
                eval_every=self.eval_every,
                select_best=self.select_best,
                callback=EpochProgress("training", self.epochs, then=callback) if self.verbose else callback,
            )
            self.embedding_ = embed(module, data).cpu().numpy()
        self.module_ = module.cpu()
        self.graph_ = graph
        self.features_used_ = features
        self.in_channels_ = data.in_channels
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch
        self.train_seconds_ = result.train_seconds
        self.node_ids_ = graph.node_ids if graph.node_ids is not None else np.arange(graph.num_nodes)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "embedding_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with a graph first."
            )

    def transform(self, graph: Any = None) -> np.ndarray:
        """The node embeddings ``mu``, ``[N, out_channels]``.

        Args:
            graph: ``None`` for the fitted graph; otherwise a graph with the same
                number of nodes (and features) to embed with the fitted encoder.
        """
        self._check_fitted()
        if graph is None:
            return self.embedding_
        from graphae.data.convert import as_graph

        graph = as_graph(graph)
        if not hasattr(self, "module_"):
            raise ValueError(
                "This estimator was loaded without its encoder weights; cannot embed a new graph."
            )
        if self.features_used_ and graph.x is None:
            raise ValueError("The fitted model uses node features; the graph given has none.")
        expected = self.in_channels_ if not self.features_used_ else None
        if expected is not None and graph.num_nodes != expected:
            raise ValueError(
                f"A featureless model embeds graphs of exactly {expected} nodes. Got {graph.num_nodes}."
            )
        data = GraphTensors.from_graph(graph, features=self.features_used_)
        return embed(self.module_, data).numpy()

    def fit_transform(self, graph: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """``fit(graph)`` then ``transform()``."""
        return self.fit(graph, **fit_params).embedding_

    # Link prediction ------------------------------------------------------
    def _index_of(self, ids: Any, what: str = "node") -> np.ndarray:
        lookup = self._id_lookup()
        ids = np.asarray(ids, dtype=object).ravel()
        out = np.empty(len(ids), dtype=np.int64)
        for k, node in enumerate(ids):
            try:
                out[k] = lookup[_key(node)]
            except KeyError:
                raise ValueError(
                    f"Unknown {what} id {node!r}: it is not a node of the fitted graph."
                ) from None
        return out

    def _id_lookup(self) -> dict[Any, int]:
        if getattr(self, "_lookup", None) is None:
            self._lookup = {_key(v): i for i, v in enumerate(self.node_ids_.tolist())}
        return self._lookup

    def decision_function(self, pairs: Any) -> np.ndarray:
        """Logits ``z_i . z_j`` of node-id pairs (``[k, 2]`` or ``[2, k]``)."""
        self._check_fitted()
        arr = np.asarray(pairs, dtype=object)
        if arr.ndim != 2 or 2 not in arr.shape:
            raise ValueError(f"pairs must have shape [k, 2]. Got {arr.shape}.")
        if arr.shape[1] != 2:
            arr = arr.T
        i = self._index_of(arr[:, 0])
        j = self._index_of(arr[:, 1])
        z = self.embedding_
        return np.einsum("kd,kd->k", z[i], z[j])

    def predict_proba(self, pairs: Any) -> np.ndarray:
        """Link probabilities ``sigmoid(z_i . z_j)`` of node-id pairs, ``[k]``.

        Raises:
            NotFittedError: Before ``fit``.
            ValueError: On an unknown id or a badly shaped ``pairs``.
        """
        logits = self.decision_function(pairs)
        return 1.0 / (1.0 + np.exp(-logits))

    def recommend(self, nodes: Any, k: int = 10, exclude_edges: bool = True) -> list[list[tuple[Any, float]]]:
        """The ``k`` most likely new neighbours of each node.

        Args:
            nodes: One node id or a sequence of ids.
            k: Number of neighbours per node.
            exclude_edges: Leave out the existing neighbours (the node itself is
                never listed).

        Returns:
            For each node, a list of ``(neighbour id, probability)``, best first.

        Raises:
            ValueError: On an unknown id or ``k < 1``.
        """
        self._check_fitted()
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
            raise ValueError(f"The 'k' parameter of recommend must be an int >= 1. Got {k!r}.")
        single = np.ndim(nodes) == 0
        index = self._index_of([nodes] if single else list(nodes))
        z = self.embedding_
        adj = self.graph_.adj
        out = []
        for i in index:
            scores = z @ z[i]
            scores[i] = -np.inf
            if exclude_edges:
                scores[adj.indices[adj.indptr[i] : adj.indptr[i + 1]]] = -np.inf
            take = min(k, int(np.isfinite(scores).sum()))
            top = np.argpartition(-scores, take - 1)[:take] if take else np.empty(0, dtype=np.int64)
            top = top[np.argsort(-scores[top], kind="stable")]
            probs = 1.0 / (1.0 + np.exp(-scores[top]))
            out.append([(_key(self.node_ids_[t]), float(p)) for t, p in zip(top, probs, strict=True)])
        return out[0] if single else out

    # Persistence ----------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Save to a folder: parameters, weights, embeddings, graph structure, node ids.

        Nothing in the folder is executable: JSON, ``.npy``/``.npz`` read without
        pickle, and weights read with ``torch.load(weights_only=True)``.
        """
        self._check_fitted()
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        model_config = {
            "model": self._model_name,
            "in_channels": self.in_channels_,
            "hidden_channels": self.hidden_channels,
            "out_channels": self.out_channels,
            "features": self.features_used_,
            "loss": self.loss,
            "epochs": self.epochs,
            "lr": self.lr,
            "dataset": self.graph_.name,
            "seed": self.random_state,
            "graphae_version": _version(),
        }
        save_model(self.module_, model_config, folder)
        write_npy(folder / EMBEDDING_FILE, self.embedding_)
        atomic_write(folder / ADJACENCY_FILE, lambda f: sp.save_npz(f, self.graph_.adj))
        atomic_write(
            folder / NODE_IDS_FILE,
            lambda f: f.write("".join(f"{_id_text(v)}\n" for v in self.node_ids_.tolist())),
            mode="w",
        )
        state = {
            "estimator": type(self).__name__,
            "params": self.get_params(),
            "features_used": self.features_used_,
            "in_channels": self.in_channels_,
            "node_id_dtype": "int" if np.issubdtype(self.node_ids_.dtype, np.integer) else "str",
            "name": self.graph_.name,
            "history": self.history_,
            "best_epoch": self.best_epoch_,
            "train_seconds": self.train_seconds_,
        }
        write_json(folder / ESTIMATOR_FILE, state)

    @classmethod
    def load(cls, path: str | os.PathLike) -> _GraphAutoencoderEstimator:
        """Load what :meth:`save` wrote, executing nothing from the files.

        Raises:
            FileNotFoundError: If a file of the folder is missing.
            ValueError: If the folder holds another estimator type.
        """
        folder = Path(path)
        for name in (ESTIMATOR_FILE, EMBEDDING_FILE, ADJACENCY_FILE, NODE_IDS_FILE):
            if not (folder / name).is_file():
                raise FileNotFoundError(
                    f"{folder / name} not found: is {folder} a model folder saved by graphae?"
                )
        state = json.loads((folder / ESTIMATOR_FILE).read_text())
        kind = ESTIMATORS.get(state.get("estimator", ""))
        if kind is None or (cls is not _GraphAutoencoderEstimator and kind is not cls):
            raise ValueError(
                f"{folder / ESTIMATOR_FILE} holds a {state.get('estimator')!r}, not a {cls.__name__}."
            )
        est = kind(**state["params"])
        est.module_, _ = load_model(folder)
        est.embedding_ = np.load(folder / EMBEDDING_FILE, allow_pickle=False)
        adj = sp.load_npz(folder / ADJACENCY_FILE).tocsr()
        ids = (folder / NODE_IDS_FILE).read_text().splitlines()
        node_ids = (
            np.array([int(v) for v in ids])
            if state["node_id_dtype"] == "int"
            else np.array(ids, dtype=object)
        )
        est.graph_ = Graph(adj=adj, name=state.get("name", "graph"), node_ids=node_ids)
        est.node_ids_ = node_ids
        est.features_used_ = state["features_used"]
        est.in_channels_ = state["in_channels"]
        est.history_ = state.get("history", [])
        est.best_epoch_ = state.get("best_epoch", 0)
        est.train_seconds_ = state.get("train_seconds", 0.0)
        return est


class GAE(_GraphAutoencoderEstimator):
    """Graph autoencoder (Kipf & Welling, 2016) with a scikit-learn interface.

    Parameters default to the paper: GCN 32-16, Adam lr 0.01, 200 epochs, the exact
    all-pairs reconstruction loss.

    Example:
        >>> from graphae import GAE
        >>> from graphae.data import make_communities
        >>> model = GAE(epochs=20, random_state=0).fit(make_communities(num_nodes=200))
        >>> model.embedding_.shape
        (200, 16)
    """

    _model_name = "gae"


class VGAE(_GraphAutoencoderEstimator):
    """Variational graph autoencoder (Kipf & Welling, 2016), scikit-learn interface.

    As :class:`GAE`, plus Gaussian codes with the reparameterization trick and the
    KL regulariser; embeddings are the means ``mu``.
    """

    _model_name = "vgae"


ESTIMATORS: dict[str, type[_GraphAutoencoderEstimator]] = {"GAE": GAE, "VGAE": VGAE}


def clone(estimator: _GraphAutoencoderEstimator) -> _GraphAutoencoderEstimator:
    """A new unfitted estimator with the same parameters (as ``sklearn.base.clone``)."""
    return type(estimator)(**copy.deepcopy(estimator.get_params()))


def load(path: str | os.PathLike) -> _GraphAutoencoderEstimator:
    """Load a saved :class:`GAE` or :class:`VGAE`."""
    return _GraphAutoencoderEstimator.load(path)


def _version() -> str:
    from graphae import __version__

    return __version__


def _key(value: Any) -> Any:
    """A node id as a plain Python value (numpy scalars unwrapped), for lookups and results."""
    return value.item() if isinstance(value, np.generic) else value


def _id_text(value: Any) -> str:
    text = str(value)
    if "\n" in text or "\r" in text:
        raise ValueError(f"Node id {value!r} contains a line break and cannot be saved.")
    return text


class _threads:
    """Temporarily set torch's CPU thread count (``None`` leaves it alone)."""

    def __init__(self, threads: int | None) -> None:
        self.threads = threads
        self.before = torch.get_num_threads()

    def __enter__(self) -> None:
        if self.threads is not None:
            torch.set_num_threads(self.threads)

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.before)
