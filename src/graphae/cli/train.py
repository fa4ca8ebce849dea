"""``graphae train``: split, train, score the held-out links, save the run; resumable."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from graphae.cli import config, modelopts, partition_resume
from graphae.cli.common import (
    UserError,
    check_seeds,
    non_negative_int,
    positive_float,
    positive_int,
    recall_target,
    seed,
)
from graphae.cli.outdir import check_out
from graphae.cli.runs import RunSession
from graphae.data import DATASETS, DEFAULT_DATASET, load_dataset
from graphae.errors import InputError
from graphae.evaluation import RANKING_SAMPLE_SIZE
from graphae.graph import Graph
from graphae.split_directed import TASKS
from graphae.topk import CALIBRATION_QUERIES, EXACT_BELOW, TARGET_RECALL
from graphae.training import LOSSES, distributed, resolve_device
from graphae.training.fastgae import DEFAULT_ALPHA, DEFAULT_NODES

# Options a resumed run may change: how it runs, not what it computes.
RUNTIME_OPTIONS = ("--quiet", "--threads", "--device")


def _batch_size(text: str) -> int | str | None:
    if text.strip().lower() in ("auto", "none"):
        return text.strip().lower()  # "none" stays a word here: None means "not given"
    try:
        return positive_int(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected auto, none or a positive integer, got {text!r}") from None


def add_command(sub: Any) -> None:
    from graphae.registry import model_names

    train = sub.add_parser(
        "train",
        help="train a model and score link prediction on held-out edges",
        description="An ogbl-* data set is scored by OGB's protocol: its official split (never re-split), "
        "training on its training edges, selection (--select-best, --patience) on its validation metric "
        "(Hits@20 ddi, Hits@50 collab, Hits@100 ppa, MRR citation2), the test pairs scored once.",
    )
    train.prepare = config.prepare  # the chosen model's options, the --config file's values
    train.add_argument(
        "--config",
        metavar="FILE",
        help="read the options from a TOML file with sections [data], [model], [training] and [output], "
        "keys named as the options (reverse_edges = true); options given here override it. Every "
        "run folder keeps its options as config.toml",
    )
    src = train.add_argument_group("data")
    src.add_argument(
        "--dataset",
        help=f"built-in data set ({', '.join(DATASETS)}) or a path to a .npz graph "
        f"(default: {DEFAULT_DATASET}, generated offline)",
    )
    src.add_argument(
        "--edges", metavar="FILE", help="your own edge list: CSV, TSV, whitespace text or Parquet"
    )
    for end, example in (("source", "source, src, from, u, ..."), ("target", "target, dst, to, v, ...")):
        src.add_argument(
            f"--{end}-col",
            metavar="NAME",
            help=f"--edges with a header: the {end} column (default: one named {example})",
        )
    src.add_argument(
        "--weight-col",
        metavar="NAME",
        help="--edges with a header: the weight column, checked and dropped (default: one named weight)",
    )
    src.add_argument(
        "--partitions",
        metavar="DIR",
        help="train on the parts `graphae partition` wrote, one per process (torchrun --nproc-per-node P): "
        "each process holds only its part",
    )
    src.add_argument(
        "--features", metavar="FILE", help="node features keyed by id: CSV/TSV/Parquet, .npy or .npz"
    )
    src.add_argument(
        "--directed",
        action="store_true",
        help="keep the direction of each edge (default: make the graph undirected)",
    )
    src.add_argument(
        "--reverse-edges",
        action="store_true",
        help="each row of --edges is target,source (e.g. cora.cites is cited<TAB>citing): "
        "reverse every edge; needs --directed",
    )
    src.add_argument(
        "--data-dir",
        metavar="DIR",
        help="folder of the Planetoid ind.* files (default: $GRAPHAE_DATA/planetoid, else a user cache); "
        "for ogbl-* the folder holding ogbl_<name>/ (default: $GRAPHAE_DATA/ogb, else ~/.cache/graphae/ogb)",
    )
    src.add_argument(
        "--download",
        action="store_true",
        help="download missing Planetoid files, or OGB's archive of an ogbl-* data set",
    )
    model = train.add_argument_group("model")
    model.add_argument(
        "--model",
        choices=model_names(),
        default="gae",
        help="see `graphae models`; `graphae train --model NAME --help` lists its parameters",
    )
    model.add_argument(
        "--no-features", action="store_true", help="ignore node features (the paper's GAE*/VGAE*)"
    )
    model.add_argument(
        "--normalize-features", action="store_true", help="divide each feature row by its sum (L1) first"
    )
    model.add_argument(
        "--loss",
        choices=list(LOSSES),
        help="(default: auto) auto: exact up to 50,000 nodes, else sampled; exact: the paper's loss over "
        "all N^2 pairs (warns with the time per epoch above 50,000 nodes); sampled: one negative per edge; "
        "fastgae: the exact loss on a subgraph of --fastgae-nodes nodes drawn by degree each epoch",
    )
    model.add_argument(
        "--fastgae-nodes",
        type=_at_least_two,
        default=DEFAULT_NODES,
        metavar="N",
        help=f"--loss fastgae: nodes per subgraph (default {DEFAULT_NODES}; all nodes: the exact loss)",
    )
    model.add_argument(
        "--fastgae-alpha",
        type=_non_negative_float,
        default=DEFAULT_ALPHA,
        metavar="A",
        help=f"--loss fastgae: draw nodes with probability ~ degree^A (default {DEFAULT_ALPHA:g}; 0 uniform)",
    )
    model.add_argument(
        "--batch-size",
        type=_batch_size,
        metavar="B",
        help="edges scored at a time by the sampled loss: auto (default: all at once up to 8M edges, "
        "else chunks of max(4M, nodes)), none, or a number (implies --loss sampled under auto); "
        "chunks bound memory, and each epoch is still one step on all edges",
    )
    # Defaults are each model's own (its paper's settings), as `graphae models` lists them.
    model.add_argument("--epochs", type=positive_int, help="(default: the model's; 200 for gae)")
    model.add_argument(
        "--lr", type=positive_float, help="Adam learning rate (default: the model's; 0.01 for gae)"
    )
    model.add_argument(
        "--hidden", type=positive_int, help="first layer width (default: the model's; 32 for gae)"
    )
    model.add_argument(
        "--latent", type=positive_int, help="latent dimension (default: the model's; 16 for gae)"
    )
    run = train.add_argument_group("runs")
    run.add_argument("--runs", type=positive_int, default=1, help="run i uses seed SEED+i")
    run.add_argument("--seed", type=seed, default=0)
    run.add_argument(
        "--task",
        choices=TASKS,
        help="directed link prediction (needs --directed; Salha et al. 2019): general (default: held-out "
        "edges against non-edges), biased (against their reverses), bidirectional (pairs linked both "
        "ways against pairs linked one way)",
    )
    run.add_argument("--eval-every", type=positive_int, default=1, help="validation interval in epochs")
    run.add_argument(
        "--select-best",
        action="store_true",
        help="keep the epoch with the best validation score (AUC; MRR with --negatives heart; "
        "an OGB set's official metric)",
    )
    run.add_argument(
        "--patience",
        type=positive_int,
        help="stop after N validation scores without a new best, keeping the best epoch",
    )
    run.add_argument(
        "--ranking-negatives",
        type=non_negative_int,
        metavar="K",
        help="negatives per test edge for Hits@K and MRR (default 100, or 500 with --negatives heart; "
        "0: shared negatives only)",
    )
    run.add_argument(
        "--ranking-sample",
        type=non_negative_int,
        metavar="S",
        help="test edges ranked against their own negatives: a seeded sample of S when there are more "
        f"(default {RANKING_SAMPLE_SIZE:,}; 0: every test edge); metrics.json says how many were ranked",
    )
    run.add_argument(
        "--negatives",
        choices=("random", "heart"),
        default="random",
        help="each test edge's own negatives: random pairs (s, t') (default), or heart: HeaRT's hard "
        "pairs (s, t') and (s', t) chosen by heuristics on the training graph (Li et al. 2023); "
        "validation edges then get their own too, and validation is scored by MRR",
    )
    run.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    run.add_argument("--threads", type=positive_int, help="CPU threads for torch")
    out = train.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", help="folder for metrics, embeddings and the fitted model")
    out.add_argument(
        "--overwrite", action="store_true", help="replace the outputs in an existing --out folder"
    )
    out.add_argument("--report", action="store_true", help="also draw the plots and report.html into --out")
    out.add_argument(
        "--checkpoint-every",
        type=positive_int,
        metavar="K",
        help="save the training state into --out every K epochs, for --resume",
    )
    out.add_argument(
        "--resume",
        metavar="DIR",
        help="continue the unfinished run in DIR (its other options come from DIR)",
    )
    out.add_argument(
        "--index",
        action="store_true",
        help="build recommend's top-k index now and keep it in --out (index.faiss); without it, "
        "recommend and serve build it in memory at each start on graphs from "
        f"{EXACT_BELOW:,} nodes on",
    )
    out.add_argument(
        "--target-recall",
        type=recall_target,
        metavar="R",
        help="with --index: the recall@10 against exact scoring its search width is calibrated to, "
        f"on {CALIBRATION_QUERIES} sampled nodes (default {TARGET_RECALL}; kept in metadata.json)",
    )
    out.add_argument("--quiet", action="store_true", help="print only the summary")
    train.set_defaults(handler=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    """Train and score; under torchrun, one model with every process, rank 0 printing and writing."""
    if args.resume is not None and partition_resume.is_partitioned(args.resume):  # checks the options first
        args = partition_resume.resumed_args(args, _runtime_overrides(args))
    elif args.resume is not None:
        _runtime_overrides(args)  # --resume beside --partitions too
    if getattr(args, "partitions", None):
        from graphae.cli.partition import train_partitions

        return train_partitions(args, fresh_parser(args.model))
    group = None
    if distributed.launched():
        try:
            device = resolve_device(args.device)
        except InputError as err:
            raise UserError(f"--device: {err}") from None
        group = distributed.context(device)  # joins the other processes
    try:
        return _train(args, main=group is None or group.is_main)
    finally:
        distributed.shutdown()


def _train(args: argparse.Namespace, main: bool) -> int:
    if not main:
        args.quiet = True  # rank 0 alone prints, logs and writes
    if args.resume is not None:
        session = RunSession.resume(Path(args.resume), _runtime_overrides(args), main=main)
        args = session.args
    else:
        _check_direction_options(args)
        modelopts.refuse_given(args, fresh_parser(args.model))  # before anything is read
        check_seeds(args.seed, args.runs, "--seed")
        out = check_out(args.out, args.overwrite)
        if args.checkpoint_every is not None and out is None:
            raise UserError("--checkpoint-every needs --out DIR (the checkpoints go there)")
        if args.target_recall is not None and not args.index:
            raise UserError("--target-recall needs --index (it calibrates the index that --index builds)")
        session = RunSession.start(out, args, main=main)
    if args.report:
        if args.out is None:
            raise UserError("--report needs --out DIR")
        from graphae.plotting import require_matplotlib

        require_matplotlib()  # fail before training, not after
    try:
        device = resolve_device(args.device)
    except InputError as err:
        raise UserError(f"--device: {err}") from None
    with session.phases("read"):
        graph = load_training_graph(args)
    session.config_keys = config_keys(session.args.model)
    session.run(graph, device)
    return 0


def config_keys(model: str) -> config.Layout:
    """The keys of a config file for ``model``: those of a train parser with that model's options."""
    return config.layout(fresh_parser(model))


def fresh_parser(model: str) -> argparse.ArgumentParser:
    """A train parser with ``model``'s options, its defaults its own (no --config file's)."""
    from graphae.cli.modelopts import add_options
    from graphae.registry import get_model

    sub = argparse.ArgumentParser(add_help=False).add_subparsers()
    add_command(sub)
    train = sub.choices["train"]
    add_options(train, model, get_model(model).estimator)
    return train


def _runtime_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The options given beside ``--resume``; only those that do not change results are allowed."""
    given = {a.split("=")[0] for a in args.argv if a.startswith("--")}
    extra = sorted(given - {*RUNTIME_OPTIONS, "--resume"})
    if extra:
        raise UserError(
            f"--resume takes the run's options from its folder; only {', '.join(RUNTIME_OPTIONS)} "
            f"may be given beside it. Got {', '.join(extra)}"
        )
    return {"quiet": args.quiet, "threads": args.threads, "device": args.device}


def _check_direction_options(args: argparse.Namespace) -> None:
    if args.task is not None and not args.directed:
        raise UserError("--task needs a directed graph (--directed)")
    if args.reverse_edges and not args.edges:
        raise UserError("--reverse-edges needs --edges FILE")
    if args.reverse_edges and not args.directed:
        raise UserError("--reverse-edges needs --directed (an undirected graph has no direction to reverse)")


def _at_least_two(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def load_training_graph(args: argparse.Namespace) -> Graph:
    """The graph the train options describe."""
    features = not args.no_features
    if args.edges and args.dataset:
        raise UserError("give either --dataset or --edges, not both")
    if args.features and not args.edges:
        raise UserError("--features needs --edges (built-in data sets carry their own features)")
    # runs.json of older versions lacks the newer options.
    columns = {f"{c}_col": getattr(args, f"{c}_col", None) for c in ("source", "target", "weight")}
    given = [f"--{k.replace('_', '-')}" for k, v in columns.items() if v is not None]
    if given and not args.edges:
        raise UserError(f"{', '.join(given)} needs --edges FILE (the columns of your edge list)")
    if args.edges:
        from graphae.data.files import load_graph

        return load_graph(
            args.edges,
            features=args.features if features else None,
            directed=args.directed,
            reverse=getattr(args, "reverse_edges", False),
            **columns,
        )
    name = args.dataset or DEFAULT_DATASET
    if Path(name).suffix == ".npz":
        from graphae.data.files import load_npz_graph

        graph = load_npz_graph(name, directed=args.directed)
        return graph if features else graph.replace(x=None)
    if args.directed:
        raise UserError(
            f"--directed: the built-in data set {name!r} is undirected; give a directed --edges file"
        )
    return load_dataset(name, args.data_dir, features=features, download=args.download)
