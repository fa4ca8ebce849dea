"""The scikit-learn estimator every graphae model is: fit a graph, embed, score pairs.

:class:`GraphAutoencoderEstimator` holds what all models share (parameters, fitting
through the generic training loop, link scoring through the model's decoder, saving).
A model subclass provides :meth:`~GraphAutoencoderEstimator.build_module` (its torch
module) and, when it trains differently, :meth:`~GraphAutoencoderEstimator.build_objective`.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from graphae import modelnames, runfolder
from graphae.errors import InputError, NonFiniteLossError, ParameterError
from graphae.indices import check_index_pairs
from graphae.inductive import InductiveMixin
from graphae.linkpred import LinkPredictionMixin
from graphae.nn.models import GraphAutoencoder
from graphae.params import (
    SEED_MAX,
    Boolean,
    Declared,
    Either,
    FloatInterval,
    Integer,
    NoneOr,
    Options,
    Param,
    PositiveFloat,
    String,
    validate_params,
)
from graphae.persistence import checkpointing, from_saved, to_saved
from graphae.sizing import check_model_size
from graphae.training import (
    LOSSES,
    Callback,
    EpochProgress,
    GraphTensors,
    Objective,
    ReconstructionObjective,
    cpu_threads,
    distributed,
    embed,
    resolve_device,
    resolve_loss,
    train,
)
from graphae.training.fastgae import DEFAULT_ALPHA, DEFAULT_NODES

__all__ = ["GraphAutoencoderEstimator", "NotFittedError", "load"]


class GraphAutoencoderEstimator(Declared, LinkPredictionMixin, InductiveMixin, BaseEstimator):
    """Base class of graphae's estimators (GAE, VGAE and every registered model).

    A scikit-learn ``BaseEstimator`` (``get_params``, ``set_params``, ``clone``, the
    ``repr``). It is not a ``TransformerMixin``: ``transform()`` takes no feature
    matrix but, optionally, a graph, so scikit-learn's output wrapping does not apply.

    Parameters, declared once in ``params`` (see :mod:`graphae.params`): a model adds its
    own there, gives a base parameter another default, or leaves out one it does not read
    (``NOT_USED``); its ``__init__`` is built from them.

    Args:
        hidden_channels: Width of the first GCN layer (paper: 32).
        out_channels: Latent dimension (paper: 16).
        loss: ``"auto"`` (the default: ``"exact"`` up to 50,000 nodes, else ``"sampled"``;
            see below), ``"exact"`` (the paper's loss over all ``N^2`` pairs: ``O(N^2)``
            per epoch, and a :class:`~graphae.errors.SlowTrainingWarning` with the
            estimated time per epoch above 50,000 nodes), ``"sampled"`` (one fresh
            non-edge per edge each epoch: ``O(E)``) or ``"fastgae"`` (the exact loss on a
            subgraph of ``fastgae_nodes`` nodes drawn by degree each epoch, Salha et al.
            2021: ``O(fastgae_nodes^2)`` pairs; see :mod:`graphae.training.fastgae`).
            ``"auto"`` keeps the paper's exact loss wherever it is cheap: at most
            ``AUTO_EXACT_MAX_NODES = 50,000`` nodes (every data set of the papers, up to
            Pubmed's 19,717, whose epoch takes about a second on 2 CPU threads; 50,000
            nodes take about 8 s) and a decoder with an exact loss; beyond, the exact
            loss's ``N^2`` pairs grow to hours per epoch at a million nodes, and the
            sampled loss is used. ``loss_`` records what ran.
        fastgae_nodes: Nodes per subgraph of ``loss="fastgae"`` (the FastGAE code's
            default, 1000); ``>= N`` makes it the exact loss.
        fastgae_alpha: Sampling weights of ``loss="fastgae"`` are degree^alpha (1: the
            paper's best for Pubmed; 0: uniform).
        batch_size: Edges scored at a time by the sampled loss (see
            :mod:`graphae.training.chunks`). ``"auto"`` (the default) scores steps of up
            to 8M edges at once and larger ones in chunks of ``max(4M, N)`` edges; an int
            sets the chunk (and makes ``loss="auto"`` the sampled loss); ``None`` never
            chunks. Chunks bound the loss's memory to one chunk's pairs; an epoch stays
            one optimizer step on all the edges, with the same loss and gradient.
        epochs: Number of training epochs.
        lr: Adam learning rate.
        use_features: Use node features when the graph has them (``False``: identity features).
        normalize_features: Divide each feature row by its L1 norm first (PyG's
            ``NormalizeFeatures``). Off by default, as in the paper's code; with raw binary
            features of thousands of dimensions (Citeseer) Adam's first steps leave most
            first-layer ReLUs dead, which normalising prevents (see BENCHMARKS.md).
        eval_every: Score the validation pairs given to ``fit`` every this many epochs.
        select_best: Keep the parameters of the epoch with the best validation AUC.
        patience: Stop after this many validation scores without a new best, keeping
            the best parameters (``None``: train all epochs).
        random_state: Seed of initialisation and sampling (``None``: fresh randomness).
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda[:i]"``.
        threads: CPU threads for torch during ``fit`` (``None``: leave torch's setting).
        verbose: Show progress on stderr.
    """

    model_name = modelnames.RegisteredName()  # the name it is registered under, "" if none
    params: ClassVar[dict[str, Any]] = {
        "hidden_channels": Param(32, Integer(1)),
        "out_channels": Param(16, Integer(1)),
        "loss": Param("auto", Options(LOSSES)),
        "fastgae_nodes": Param(DEFAULT_NODES, Integer(2)),
        "fastgae_alpha": Param(DEFAULT_ALPHA, FloatInterval(0)),
        "batch_size": Param("auto", Either(Options(["auto"]), NoneOr(Integer(1)))),
        "epochs": Param(200, Integer(1)),
        "lr": Param(0.01, PositiveFloat()),
        "use_features": Param(True, Boolean()),
        "normalize_features": Param(False, Boolean()),
        "eval_every": Param(1, Integer(1)),
        "select_best": Param(False, Boolean()),
        "patience": Param(None, NoneOr(Integer(1))),
        "random_state": Param(None, NoneOr(Integer(0, SEED_MAX))),
        "device": Param("auto", String()),
        "threads": Param(None, NoneOr(Integer(1))),
        "verbose": Param(False, Boolean()),
    }

    # What a model provides ---------------------------------------------------------
    def build_module(self, in_channels: int, generator: torch.Generator | None = None) -> GraphAutoencoder:
        """The untrained torch module this estimator trains.

        Args:
            in_channels: Feature width, or the number of nodes for identity features.
            generator: Randomness of the initialisation.

        ``self.features_used_`` is set before the call (by ``fit`` and by loading): ``False``
        when ``in_channels`` is the number of nodes of identity features.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement build_module.")

    def build_objective(self) -> Objective:
        """How the module is trained: the paper's reconstruction objective by default."""
        return ReconstructionObjective(
            self.loss,
            self.lr,
            owner=type(self).__name__,
            fastgae_nodes=int(self.fastgae_nodes),
            fastgae_alpha=float(self.fastgae_alpha),
            batch_size=self.batch_size,
        )

    def loss_for(self, num_nodes: int) -> str:
        """The reconstruction loss a fit on a graph of ``num_nodes`` nodes runs (``"auto"`` resolved).

        Example:
            >>> from graphae import GAE
            >>> GAE().loss_for(2708), GAE().loss_for(1_000_000)
            ('exact', 'sampled')
        """
        if self.loss != "auto":
            return self.loss
        decoder = self.build_module(1, torch.Generator().manual_seed(0)).decoder
        return resolve_loss(
            self.loss, num_nodes, decoder.has_exact_loss, distributed.expected_world_size(), self.batch_size
        )

    # Fitting -------------------------------------------------------------------------
    def fit(
        self,
        graph: Any,
        y: Any = None,
        *,
        val_pairs: tuple[np.ndarray, np.ndarray] | None = None,
        callback: Callback | None = None,
        checkpoint: str | os.PathLike | None = None,
        checkpoint_every: int | None = None,
        resume: bool = False,
    ) -> GraphAutoencoderEstimator:
        """Train on every edge of ``graph``.

        Args:
            graph: A :class:`~graphae.graph.Graph`, or anything
                :func:`graphae.data.as_graph` accepts (networkx graph, scipy sparse
                matrix, ``edge_index`` tensor, PyG ``Data``).
            y: Ignored; present for scikit-learn compatibility.
            val_pairs: Optional validation ``(pos, neg)`` node-index pairs, each
                ``[2, k]``, scored every ``eval_every`` epochs into ``history_`` (and
                used by ``select_best`` and ``patience``).
            callback: Called with each epoch's history record.
            checkpoint: A file to save the training state to every ``checkpoint_every``
                epochs, written atomically; removed when the fit completes.
            checkpoint_every: Epochs between checkpoints (default: 10 when
                ``checkpoint`` is given).
            resume: Continue from ``checkpoint`` (it must exist and come from the same
                parameters, graph and validation pairs); the result equals that of an
                uninterrupted fit (bit for bit on the CPU).

        Under ``torchrun`` every process calls ``fit`` with the same arguments and they
        train one model together (see :mod:`graphae.training.distributed`): each takes its
        shard of the edges (``loss="sampled"`` only), gradients are averaged, rank 0 alone
        scores ``val_pairs`` and shows progress; every rank ends with the same model. A
        run is reproducible for a given number of processes. With ``checkpoint``, every process
        passes the same path (on a file system they all see); rank 0 writes it, with each
        rank's random state, and ``resume`` needs the number of processes that wrote it.

        Returns:
            ``self``, with ``embedding_``, ``history_``, ``module_``, ``graph_``,
            ``node_ids_``, ``best_epoch_``, ``train_seconds_`` and ``loss_`` (the loss that
            ran: ``loss`` with ``"auto"`` resolved) set.

        Raises:
            ParameterError: On invalid parameters, or a model or loss that cannot be
                trained on several processes when launched so.
            InputError: On a graph without edges, ``val_pairs`` that are not integer
                indices in ``[0, N)`` of shape ``[2, k]``, a model too large for the machine's memory,
                a checkpoint that does not match, or one written by another number of
                processes.
            NonFiniteLossError: If training diverges.
        """
        from graphae.data.convert import as_graph

        with self._fitting():
            self._validate_params()
            graph = as_graph(graph)
            if graph.num_edges == 0:
                raise InputError(f"Graph {graph.name!r} has no edges to learn from.")
            if val_pairs is not None:  # before training: a bad index would fail inside torch mid-fit
                val_pairs = check_index_pairs(val_pairs, graph.num_nodes)
            features = self.use_features and graph.x is not None
            if features and self.normalize_features:
                graph = graph.normalize_features()
            device = resolve_device(self.device)
            group = distributed.context(device)  # None: this process trains alone
            if group is not None:
                device = group.device
            in_channels = graph.x.shape[1] if features else graph.num_nodes
            check_model_size(self, in_channels, graph.num_nodes, device)  # before allocating the model
            # Initial parameters alike on every rank (DDP broadcasts rank 0's anyway); sampling per rank.
            init, noise = torch.Generator(), torch.Generator(device=device)
            seeds = distributed.fit_seeds(self.random_state, 0 if group is None else group.rank)
            for gen, seed in zip((init, noise), seeds, strict=True):
                gen.seed() if seed is None else gen.manual_seed(int(seed))
            with cpu_threads(self.threads):
                data = GraphTensors.from_graph(graph, device=device, features=features)
                # build_module may read these: whether in_channels counts features or nodes.
                self.features_used_, self.in_channels_ = features, data.in_channels
                module = self.build_module(data.in_channels, init).to(device)
                saver, state = checkpointing(
                    self, graph, features, val_pairs, checkpoint, checkpoint_every, resume
                )
                start = 0 if state is None else int(state["epoch"])
                progress = (
                    EpochProgress("training", self.epochs, then=callback, start=start)
                    if self.verbose and (group is None or group.is_main)
                    else callback
                )
                objective = self.build_objective()
                result = train(
                    module,
                    data,
                    objective,
                    epochs=self.epochs,
                    generator=noise,
                    val_pairs=val_pairs,
                    eval_every=self.eval_every,
                    select_best=self.select_best,
                    patience=self.patience,
                    callback=progress,
                    checkpoint=saver,
                    resume=state,
                    distributed=group,
                )
                embedding = embed(module, data).cpu().numpy()
            if not np.isfinite(embedding).all():
                raise NonFiniteLossError(
                    "Training ended with non-finite embeddings; try a smaller learning rate and check the features."
                )
            if saver is not None:
                saver.path.unlink(missing_ok=True)
            self.module_ = module.cpu()
            self.embedding_ = embedding
            self.graph_ = graph
            self.history_ = result.history
            self.loss_ = getattr(objective, "resolved_loss", None) or self.loss_for(graph.num_nodes)
            self.best_epoch_ = result.best_epoch
            self.train_seconds_ = result.train_seconds
            self.node_ids_ = graph.node_ids if graph.node_ids is not None else np.arange(graph.num_nodes)
            return self

    def _validate_params(self) -> None:
        validate_params(type(self).__name__, self.get_params(deep=False), self._parameter_constraints)
        try:
            resolve_device(self.device)
        except InputError as err:
            raise ParameterError(f"{err} (the 'device' parameter of {type(self).__name__})") from None

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
        if self.features_used_ and graph.x is None:
            raise InputError("The fitted model uses node features; the graph given has none.")
        if not self.features_used_ and graph.num_nodes != self.in_channels_:
            raise InputError(
                f"A featureless model embeds graphs of exactly {self.in_channels_} nodes. Got {graph.num_nodes}."
            )
        if self.features_used_ and self.normalize_features:
            graph = graph.normalize_features()
        data = GraphTensors.from_graph(graph, features=self.features_used_)
        return embed(self.module_, data).numpy()

    def fit_transform(self, graph: Any, y: Any = None, **fit_params: Any) -> np.ndarray:
        """``fit(graph)`` then ``transform()``."""
        return self.fit(graph, **fit_params).embedding_

    # Persistence ---------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Save to a model folder (see :mod:`graphae.runfolder`); nothing in it is executable."""
        self._check_fitted()
        runfolder.write_model(path, to_saved(self))

    @classmethod
    def load(cls, path: str | os.PathLike, legacy: bool = False) -> GraphAutoencoderEstimator:
        """Load a model folder, executing nothing from its files.

        ``legacy=True`` also loads a folder saved without checksums (graphae 0.2 or older).

        Raises:
            MissingFileError: If the folder or one of its files is missing.
            InputError: If the folder is damaged, holds a model that is not a ``cls``
                (:func:`graphae.load` loads any), or one that is not registered here.
        """
        return from_saved(runfolder.read_model(path, legacy), path, expected=cls)


def load(path: str | os.PathLike, legacy: bool = False) -> GraphAutoencoderEstimator:
    """Load any saved graphae model (its registered name says which class it is).

    Args:
        path: A model folder (``estimator.save``, ``graphae train --out``).
        legacy: Also load a folder saved without checksums (graphae 0.2 or older); nothing
            then shows that its files are the ones graphae wrote.
    """
    return from_saved(runfolder.read_model(path, legacy), path)
