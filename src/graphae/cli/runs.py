"""The runs of one ``graphae train``: seeds, checkpoints, resuming, and the run folder."""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graphae import runfolder
from graphae.cli import config, modelopts
from graphae.cli.common import UserError, log
from graphae.cli.runmetrics import heart_metrics, official_metrics
from graphae.cli.scores import headline, mean_scores, summary
from graphae.errors import InputError, NonFiniteLossError
from graphae.estimator import GraphAutoencoderEstimator, load
from graphae.evaluation import METRICS, EvaluationSplit
from graphae.experiment import make_estimator, official_keys, run_link_prediction
from graphae.graph import Graph
from graphae.io import atomic_write, write_json, write_npy
from graphae.phases import LOUD_EDGES, Phases, describe
from graphae.sizing import check_model_size
from graphae.training import EpochProgress, distributed, load_checkpoint

STATE = runfolder.RUN_STATE  # in runfolder.CHECKPOINT_DIR: the options and the finished runs
FIRST = "first-run"  # in runfolder.CHECKPOINT_DIR: the first run's model, once finished
# Train options stored as paths: made absolute so that --resume works from any folder.
_PATH_OPTIONS = ("edges", "features", "data_dir")


def resumed_args(recorded: dict[str, Any], overrides: dict[str, Any]) -> argparse.Namespace:
    """The options a run recorded, with the runtime ``overrides`` given beside ``--resume``.

    How the resumed run shows progress is the new command's choice; threads and device stay
    as they were unless given again.
    """
    args = argparse.Namespace(**recorded)
    args.quiet = overrides["quiet"]
    if overrides["threads"] is not None:
        args.threads = overrides["threads"]
    if overrides["device"] != "auto":
        args.device = overrides["device"]
    return args


@dataclass
class FirstRun:
    """What the run folder keeps of the first run."""

    estimator: GraphAutoencoderEstimator
    pos_scores: np.ndarray
    neg_scores: np.ndarray
    evaluation: EvaluationSplit


class RunSession:
    """Runs ``--runs`` link-prediction runs, checkpointing into ``--out`` when asked.

    With ``--checkpoint-every K``, ``OUT/checkpoint/`` holds the options (``runs.json``),
    the scores of the finished runs, the first run's model and the checkpoint of the
    run in progress; ``graphae train --resume OUT`` carries on from there and ends
    with the same scores as an uninterrupted run.
    """

    def __init__(
        self,
        out: Path | None,
        args: argparse.Namespace,
        completed: list[dict[str, Any]],
        *,
        main: bool = True,
    ) -> None:
        # Under torchrun every rank knows the folder (its checkpoints are read by all), rank 0
        # alone writes there (see out).
        self.folder, self.main = out, main
        self.args, self.completed = args, completed
        self.first: FirstRun | None = None
        self.fresh = False  # a new run: its checkpoint folder is made once the checks have passed
        self.loss: str | None = None
        self.official: tuple[str, ...] = ()  # valid_hits@20, test_hits@20 on a graph with an official split
        self.config_keys: config.Layout | None = None  # the keys of config.toml (None: not written)
        self.parameters: dict[str, Any] = {}  # the model's parameters that ran, for metrics.json
        self.phases = Phases()  # wall seconds and peak RSS of each phase, for metrics.json

    # Starting and resuming -------------------------------------------------------
    @staticmethod
    def unfinished(out: Path) -> bool:
        return (out / runfolder.CHECKPOINT_DIR / STATE).is_file()

    @staticmethod
    def diverged(out: Path) -> str | None:
        """The error of the run that diverged in ``out``'s unfinished runs, if one did."""
        try:
            state = runfolder.read_json(out / runfolder.CHECKPOINT_DIR / STATE)
        except (OSError, InputError):
            return None
        reason = state.get("diverged") if isinstance(state, dict) else None
        return reason if isinstance(reason, str) else None

    @classmethod
    def start(cls, out: Path | None, args: argparse.Namespace, *, main: bool = True) -> RunSession:
        session = cls(out, args, [], main=main)
        session.fresh = True
        return session

    @classmethod
    def resume(cls, out: Path, overrides: dict[str, Any], *, main: bool = True) -> RunSession:
        if out.exists() and not out.is_dir():
            raise UserError(
                f"--resume {out}: a file, not a folder; expected the --out folder of a run started with --checkpoint-every K"
            )
        if not out.is_dir():
            raise UserError(f"--resume {out}: no such folder")
        path = out / runfolder.CHECKPOINT_DIR / STATE
        if not path.is_file():
            raise UserError(
                f"--resume {out}: no unfinished run there (no {runfolder.CHECKPOINT_DIR}/{STATE}); "
                f"start one with `graphae train ... --out {out} --checkpoint-every K`"
            )
        state = runfolder.read_state(path)  # checksummed: what a resumed run does comes from graphae alone
        if isinstance(state.get("diverged"), str):
            raise UserError(
                f"--resume {out}: {state['diverged']} Resuming would repeat the same training; "
                f"start over with other options and --overwrite (`graphae train ... --out {out} --overwrite`)."
            )
        args = resumed_args(state["args"], overrides)
        args.out, args.resume, args.overwrite = str(out), None, True
        return cls(out, args, list(state.get("completed", [])), main=main)

    @property
    def out(self) -> Path | None:
        """The folder this process writes: ``None`` without ``--out`` and on ranks other than 0."""
        return self.folder if self.main else None

    @property
    def checkpoint_dir(self) -> Path | None:
        if self.folder is None or self.args.checkpoint_every is None:
            return None
        return self.folder / runfolder.CHECKPOINT_DIR

    def _options(self) -> dict[str, Any]:
        """The options of the run, paths made absolute (for runs.json and config.toml)."""
        options = {k: v for k, v in vars(self.args).items() if k not in ("handler", "argv")}
        for key in _PATH_OPTIONS:
            if options.get(key) is not None:
                options[key] = str(Path(options[key]).absolute())
        if options.get("dataset") and Path(options["dataset"]).suffix == ".npz":
            options["dataset"] = str(Path(options["dataset"]).absolute())
        return options

    def _save_state(self, diverged: str | None = None) -> None:
        state: dict[str, Any] = {"args": self._options(), "completed": self.completed}
        if diverged is not None:
            state["diverged"] = diverged  # resuming would diverge again: --resume refuses
        runfolder.write_state(self.checkpoint_dir / STATE, state)

    # Running ---------------------------------------------------------------------
    def run(self, graph: Graph, device: torch.device) -> None:
        from graphae.registry import get_model

        args = self.args
        entry = get_model(args.model)
        if graph.official_split is not None:
            self.official = official_keys(graph.official_split.metric)
        features = entry.learned and not args.no_features and graph.x is not None
        if not entry.learned:
            device = torch.device("cpu")  # heuristics are computed with scipy, on the CPU
            if args.report:
                raise UserError(
                    f"--report: {args.model} is a heuristic without node embeddings to draw; "
                    "leave out --report (metrics.json and test_scores.npz hold its scores)"
                )
        options = {
            "hidden_channels": args.hidden,
            "out_channels": args.latent,
            "loss": args.loss,
            **{k: getattr(args, k) for k in ("fastgae_nodes", "fastgae_alpha") if hasattr(args, k)},
            "batch_size": getattr(args, "batch_size", None),  # "none" is turned into None below
            "epochs": args.epochs,
            "lr": args.lr,
            "use_features": features,
            "normalize_features": args.normalize_features,
            "eval_every": args.eval_every,
            "select_best": args.select_best,
            "patience": args.patience,
            "device": str(device),
            "threads": args.threads,
        }
        # Only the options the model declares (a heuristic takes none of the training ones),
        # and only those given: the others keep the model's own defaults (its paper's settings).
        declared = entry.estimator._get_param_names()
        if getattr(args, "batch_size", None) is not None and "batch_size" not in declared:
            raise UserError(
                f"--batch-size: {args.model} does not take it (it chunks the sampled reconstruction loss "
                "of the autoencoders that have one); leave it out"
            )
        modelopts.refuse_ignored(args, entry.estimator, learned=entry.learned)
        # The parameters given as options of their own (--gravity-lambda), checked by the model's
        # constraints when parsed; None among them is a value given (--walk-length none).
        own = {k: v for k, v in modelopts.given(args, entry.estimator).items() if k not in options}
        estimator = make_estimator(
            args.model, **{k: v for k, v in options.items() if k in declared and v is not None}, **own
        )
        if options["batch_size"] == "none":
            estimator.set_params(batch_size=None)
        params = estimator.get_params()
        self.parameters = modelopts.record(args, params, set_by_command=options)
        for _, option, name in modelopts.COMMAND_OPTIONS:
            # What runs, for logs, metrics, runs.json and config.toml (None: the model has no such
            # parameter, and the option was not given: refused above).
            setattr(args, option, params.get(name))
        # What can fail after training is checked before it: the ids must survive node_ids.txt,
        # the model must fit in memory.
        if self.out is not None and graph.node_ids is not None:
            runfolder.node_id_lines(graph.node_ids)
        if entry.learned:
            in_channels = graph.x.shape[1] if features else graph.num_nodes
            check_model_size(estimator, in_channels, graph.num_nodes, device)
        # A barrier: every rank has checked --out before rank 0 makes anything in it.
        distributed.rank_0s(None)
        if self.fresh and self.checkpoint_dir is not None and self.main:
            shutil.rmtree(self.checkpoint_dir, ignore_errors=True)
            self.checkpoint_dir.mkdir(parents=True)
            self._save_state()
        # The loss that runs ("auto" resolved); args.loss keeps what was asked, for --resume.
        self.loss = estimator.loss_for(graph.num_nodes) if entry.learned else None
        if entry.learned:
            label = f"{args.model.upper()}{'' if features else '*'}"
            size = distributed.world_size()
            processes = f" x {size} processes" if size > 1 else ""
            asked = f" ({args.loss})" if args.loss != self.loss else ""
            log(args.quiet, f"{graph!r}; {label}, {self.loss} loss{asked}, {device}{processes}")
        else:
            log(args.quiet, f"{graph!r}; {args.model}, a heuristic: nothing to train")
        self.phases.verbose = not args.quiet and graph.num_edges >= LOUD_EDGES
        for i in range(len(self.completed), args.runs):
            self._run_one(i, graph, estimator)
        runs = f"{args.runs} run{'s' if args.runs > 1 else ''}"
        if distributed.rank() == 0:  # under torchrun, rank 0 alone prints (and writes: self.out)
            means = mean_scores(self.completed, self.official)
            print(f"{headline(means, self.official, spread=self.completed)}  ({runs})", flush=True)
        if self.out is not None:
            self.phases.run = None
            with self.phases("write", f"writing {self.out}"):
                self._write_outputs(graph, features, device)
            if self.checkpoint_dir is not None:
                shutil.rmtree(self.checkpoint_dir, ignore_errors=True)
            log(args.quiet, f"wrote {self.out} ({describe(self.phases.records[-1])})")
            if args.report:
                from graphae.plotting import make_report

                log(args.quiet, f"wrote {make_report(self.out, random_state=args.seed)}")

    def _run_one(self, i: int, graph: Graph, estimator: GraphAutoencoderEstimator) -> None:
        args = self.args
        ckpt = None if self.checkpoint_dir is None else self.checkpoint_dir / f"run-{i + 1}.pt"
        # Rank 0's answer on every rank (once it has prepared the folder, the others read it).
        resume = distributed.rank_0s(ckpt is not None and ckpt.is_file())
        start = 0
        if resume:
            start = int(load_checkpoint(ckpt)[1]["epoch"])
            log(args.quiet, f"resuming run {i + 1}/{args.runs} from epoch {start}")
        progress = EpochProgress(f"run {i + 1}/{args.runs}", args.epochs, quiet=args.quiet, start=start)
        self.phases.run, self.phases.label = i + 1, f"run {i + 1}/{args.runs}"
        try:
            result = run_link_prediction(
                graph,
                estimator,
                seed=args.seed + i,
                callback=progress,
                checkpoint=ckpt,
                checkpoint_every=args.checkpoint_every,
                resume=resume,
                ranking_negatives=getattr(args, "ranking_negatives", 100),  # runs.json of 0.2 lacks it
                task=_task(args),
                negatives=_negatives(args),
                ranking_sample=getattr(args, "ranking_sample", None),  # runs.json of older versions lacks it
                phases=self.phases,
            )
        except NonFiniteLossError as err:
            if self.checkpoint_dir is not None and self.main:
                self._save_state(diverged=str(err))
            raise
        finally:
            progress.close()
        # The model keeps the training graph it was fitted on; recommendations skip every edge
        # of the user's graph, held-out ones included.
        result.estimator.set_known_edges(graph)
        if i == 0:
            self.first = FirstRun(
                result.estimator, result.test_pos_scores, result.test_neg_scores, result.evaluation
            )
            if self.checkpoint_dir is not None and self.main:
                _save_first(self.first, self.checkpoint_dir / FIRST)
        record = {"seed": result.seed, **result.scores, "train_seconds": result.train_seconds}
        if resume:
            record["resumed_from_epoch"] = start  # for metrics.json: this run was interrupted and carried on
        self.completed.append(record)
        if self.checkpoint_dir is not None and self.main:
            self._save_state()
        log(
            args.quiet,
            f"run {i + 1}/{args.runs}  seed {result.seed}  {headline(result.scores, self.official)}  "
            f"({result.train_seconds:.2f} s)",
        )

    # Output ----------------------------------------------------------------------
    def _write_outputs(self, graph: Graph, features: bool, device: torch.device) -> None:
        from graphae import __version__

        args = self.args
        first = self.first if self.first is not None else _load_first(self.checkpoint_dir / FIRST)
        seconds = [r["train_seconds"] for r in self.completed]
        metrics = {
            "dataset": graph.name,
            "model": args.model,
            "features": features,
            "loss": self.loss,
            "epochs": args.epochs,
            "runs": args.runs,
            "seed": args.seed,
            "directed": graph.directed,
            "task": _task(args),
            **heart_metrics(_negatives(args), self.completed),
            "parameters": self.parameters,
            **{name: summary([r.get(name) for r in self.completed]) for name in (*METRICS, *self.official)},
            **official_metrics(graph, first.estimator),
            "train_seconds": {"mean": float(np.mean(seconds)), "values": seconds},
            # The runs carried on by --resume, and from which epoch (their train_seconds add the
            # steps up to that checkpoint, kept in it, to those after the resume).
            "resumed": [
                {"run": k + 1, "seed": r["seed"], "from_epoch": r["resumed_from_epoch"]}
                for k, r in enumerate(self.completed)
                if "resumed_from_epoch" in r
            ],
            "evaluation": first.evaluation.describe(),  # what was scored, samples included
            "phases": self.phases.records,  # seconds and peak RSS: read, split, ..., evaluation
            "num_nodes": graph.num_nodes,
            "num_edges": graph.num_edges,
            "device": str(device),
            "world_size": distributed.world_size(),
            "graphae_version": __version__,
        }

        def write(staging: Path) -> None:
            if getattr(self.args, "index", False):  # older runs.json files lack these
                first.estimator.topk_index(getattr(self.args, "target_recall", None))
            first.estimator.save(staging)
            write_json(staging / runfolder.METRICS, metrics)
            _write_scores(staging, first)
            if graph.y is not None:
                write_npy(staging / runfolder.LABELS, np.asarray(graph.y))
            checked = (runfolder.METRICS, runfolder.TEST_SCORES, runfolder.SPLIT, runfolder.LABELS)
            if self.config_keys is not None:
                config.write(staging / runfolder.CONFIG, self._options(), self.config_keys)
                checked = (*checked, runfolder.CONFIG)
            runfolder.seal(staging, checked)

        runfolder.publish(self.out, write)


def _task(args: argparse.Namespace) -> str:
    """The link-prediction task of the runs (``--task``; older runs.json files lack it)."""
    return getattr(args, "task", None) or "general"


def _negatives(args: argparse.Namespace) -> str:
    """The test edges' own negatives (``--negatives``; older runs.json files lack it)."""
    return getattr(args, "negatives", None) or "random"


def _write_scores(folder: Path, first: FirstRun) -> None:
    atomic_write(
        folder / runfolder.TEST_SCORES,
        lambda f: np.savez(f, pos_scores=first.pos_scores, neg_scores=first.neg_scores),
    )
    first.evaluation.save(folder / runfolder.SPLIT)


def _save_first(first: FirstRun, folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)  # graphae's own, of an interrupted session
    first.estimator.save(folder)
    _write_scores(folder, first)
    runfolder.seal(folder, _FIRST_SCORES)


_FIRST_SCORES = (runfolder.TEST_SCORES, runfolder.SPLIT)


def _load_first(folder: Path) -> FirstRun:
    estimator = load(folder)
    runfolder.verify_run_files(folder, _FIRST_SCORES)
    evaluation = EvaluationSplit.load(folder / runfolder.SPLIT, len(estimator.node_ids_))
    with np.load(folder / runfolder.TEST_SCORES, allow_pickle=False) as scores:
        return FirstRun(estimator, scores["pos_scores"], scores["neg_scores"], evaluation)
