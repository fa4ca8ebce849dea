"""The ``graphae`` command line: thin wrappers over the public functions."""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from graphae import __version__
from graphae.data import DATASETS, DEFAULT_DATASET, load_dataset
from graphae.estimator import _GraphAutoencoderEstimator, load
from graphae.experiment import RunResult, make_estimator, resolve_device, run_link_prediction
from graphae.graph import Graph
from graphae.io import atomic_write, write_json, write_npy
from graphae.training import LOSSES, EpochProgress


class UserError(Exception):
    """An error caused by the user's input: reported in one line, no traceback."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphae",
        description="Graph autoencoders (GAE, VGAE) for link prediction and node embeddings.",
    )
    parser.add_argument("--version", action="version", version=f"graphae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_train(sub)
    embed = sub.add_parser("embed", help="write the node embeddings of a trained model, keyed by node id")
    embed.add_argument(
        "--model", required=True, metavar="DIR", help="folder written by `graphae train --out`"
    )
    embed.add_argument("--out", metavar="FILE", help=".csv, .tsv or .parquet (default: CSV on stdout)")
    embed.set_defaults(handler=cmd_embed)
    predict = sub.add_parser("predict", help="link probabilities of node-id pairs")
    predict.add_argument("--model", required=True, metavar="DIR")
    predict.add_argument(
        "--pairs", required=True, metavar="FILE", help="two columns of node ids (CSV/TSV/whitespace)"
    )
    predict.add_argument("--out", metavar="FILE", help=".csv, .tsv or .parquet (default: CSV on stdout)")
    predict.set_defaults(handler=cmd_predict)
    rec = sub.add_parser("recommend", help="the most likely new neighbours of a node")
    rec.add_argument("--model", required=True, metavar="DIR")
    rec.add_argument(
        "--node", required=True, action="append", metavar="ID", help="node id (repeat for several)"
    )
    rec.add_argument("-k", type=_positive_int, default=10, help="neighbours per node (default 10)")
    rec.add_argument("--include-existing", action="store_true", help="also list existing neighbours")
    rec.set_defaults(handler=cmd_recommend)
    plot = sub.add_parser("plot", help="training curves, ROC/PR curves, embedding map and report.html")
    plot.add_argument("run", metavar="DIR", help="folder written by `graphae train --out`")
    plot.add_argument(
        "--method", choices=["auto", "tsne", "pca"], default="auto", help="2-D map of the embeddings"
    )
    plot.add_argument("--seed", type=int, default=0)
    plot.set_defaults(handler=cmd_plot)
    return parser


def _add_train(sub: Any) -> None:
    train = sub.add_parser("train", help="train GAE/VGAE and score link prediction on held-out edges")
    src = train.add_argument_group("data")
    src.add_argument(
        "--dataset",
        help=f"built-in data set ({', '.join(DATASETS)}) or a path to a .npz graph "
        f"(default: {DEFAULT_DATASET}, generated offline)",
    )
    src.add_argument(
        "--edges", metavar="FILE", help="your own edge list: CSV, TSV, whitespace text or Parquet"
    )
    src.add_argument(
        "--features", metavar="FILE", help="node features keyed by id: CSV/TSV/Parquet, .npy or .npz"
    )
    src.add_argument(
        "--data-dir",
        help="folder of the Planetoid ind.* files (default: $GRAPHAE_DATA/planetoid, else a user cache)",
    )
    src.add_argument("--download", action="store_true", help="download missing Planetoid files")
    model = train.add_argument_group("model")
    model.add_argument("--model", choices=["gae", "vgae"], default="gae")
    model.add_argument(
        "--no-features", action="store_true", help="ignore node features (the paper's GAE*/VGAE*)"
    )
    model.add_argument(
        "--loss",
        choices=list(LOSSES),
        default="exact",
        help="exact: the paper's loss over all pairs; sampled: one negative per edge",
    )
    model.add_argument("--epochs", type=_positive_int, default=200)
    model.add_argument("--lr", type=_positive_float, default=0.01)
    model.add_argument("--hidden", type=_positive_int, default=32, help="first GCN layer width")
    model.add_argument("--latent", type=_positive_int, default=16, help="latent dimension")
    run = train.add_argument_group("runs")
    run.add_argument("--runs", type=_positive_int, default=1, help="run i uses seed SEED+i")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--eval-every", type=_positive_int, default=1, help="validation interval in epochs")
    run.add_argument("--select-best", action="store_true", help="keep the epoch with the best validation AUC")
    run.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    run.add_argument("--threads", type=_positive_int, help="CPU threads for torch")
    out = train.add_argument_group("output")
    out.add_argument("--out", metavar="DIR", help="folder for metrics, embeddings and the fitted model")
    out.add_argument(
        "--overwrite", action="store_true", help="replace the outputs in an existing --out folder"
    )
    out.add_argument("--report", action="store_true", help="also draw the plots and report.html into --out")
    out.add_argument("--quiet", action="store_true", help="print only the summary")
    train.set_defaults(handler=cmd_train)


def _log(quiet: bool, message: str) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)


def _percent(values: list[float]) -> str:
    arr = 100 * np.asarray(values)
    return f"{arr.mean():.1f} ± {arr.std():.1f}"


def _check_out(out: str | None, overwrite: bool) -> Path | None:
    if out is None:
        return None
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {out}: exists and is not a folder")
    ancestor = path.absolute().parent
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise UserError(f"--out {out}: {ancestor} is not a folder")
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise UserError(f"--out {out}: folder is not empty; pass --overwrite to replace its graphae outputs")
    return path


def _load_training_graph(args: argparse.Namespace) -> Graph:
    features = not args.no_features
    if args.edges and args.dataset:
        raise UserError("give either --dataset or --edges, not both")
    if args.features and not args.edges:
        raise UserError("--features needs --edges (built-in data sets carry their own features)")
    if args.edges:
        from graphae.data.files import load_graph

        return load_graph(args.edges, features=args.features if features else None)
    name = args.dataset or DEFAULT_DATASET
    if name.endswith(".npz") or Path(name).suffix == ".npz":
        from graphae.data.files import load_npz_graph

        graph = load_npz_graph(name)
        return graph if features else graph.replace(x=None)
    return load_dataset(name, args.data_dir, features=features, download=args.download)


def cmd_train(args: argparse.Namespace) -> int:
    out = _check_out(args.out, args.overwrite)
    if args.report:
        if out is None:
            raise UserError("--report needs --out DIR")
        from graphae.plotting import require_matplotlib

        require_matplotlib()  # fail before training, not after
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        raise UserError(f"--device: {err}") from None
    graph = _load_training_graph(args)
    features = not args.no_features and graph.x is not None
    estimator = make_estimator(
        args.model,
        hidden_channels=args.hidden,
        out_channels=args.latent,
        loss=args.loss,
        epochs=args.epochs,
        lr=args.lr,
        use_features=features,
        eval_every=args.eval_every,
        select_best=args.select_best,
        device=str(device),
        threads=args.threads,
    )
    label = f"{args.model.upper()}{'' if features else '*'}"
    _log(args.quiet, f"{graph!r}; {label}, {args.loss} loss, {device}")
    results: list[RunResult] = []
    for i in range(args.runs):
        progress = EpochProgress(f"run {i + 1}/{args.runs}", args.epochs, quiet=args.quiet)
        try:
            result = run_link_prediction(graph, estimator, seed=args.seed + i, callback=progress)
        finally:
            progress.close()
        _log(
            args.quiet,
            f"run {i + 1}/{args.runs}  seed {result.seed}  test AUC {100 * result.test_auc:.1f} "
            f"AP {100 * result.test_ap:.1f}  ({result.train_seconds:.2f} s)",
        )
        results.append(result)
    aucs = [r.test_auc for r in results]
    aps = [r.test_ap for r in results]
    runs = f"{args.runs} run{'s' if args.runs > 1 else ''}"
    print(f"test AUC {_percent(aucs)}  AP {_percent(aps)}  ({runs})")
    if out is not None:
        metrics = {
            "dataset": graph.name,
            "model": args.model,
            "features": features,
            "loss": args.loss,
            "epochs": args.epochs,
            "runs": args.runs,
            "seed": args.seed,
            "test_auc": _summary(aucs),
            "test_ap": _summary(aps),
            "train_seconds": {
                "mean": float(np.mean([r.train_seconds for r in results])),
                "values": [r.train_seconds for r in results],
            },
            "num_nodes": graph.num_nodes,
            "num_edges": graph.num_edges,
            "device": str(device),
            "graphae_version": __version__,
        }
        _write_run(out, metrics, results[0], graph)
        _log(args.quiet, f"wrote {out}")
        if args.report:
            from graphae.plotting import make_report

            _log(args.quiet, f"wrote {make_report(out, random_state=args.seed)}")
    return 0


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "values": [float(v) for v in values],
    }


def _write_run(out: Path, metrics: dict[str, Any], first: RunResult, graph: Graph) -> None:
    """Write every output into a staging folder first, then move the files in."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".staging-"))
    # Recommendations must skip every edge of the user's graph, held-out test edges included.
    first.estimator.graph_ = graph
    try:
        first.estimator.save(staging)
        write_json(staging / "metrics.json", metrics)
        write_json(staging / "history.json", first.history)
        atomic_write(
            staging / "test_scores.npz",
            lambda f: np.savez(f, pos_scores=first.test_pos_scores, neg_scores=first.test_neg_scores),
        )
        if graph.y is not None:
            write_npy(staging / "labels.npy", np.asarray(graph.y))
        _move_all(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_all(staging: Path, out: Path) -> None:
    """Move the staged files into ``out``; on failure, put the old files back.

    Old files are parked in a ``.backup-*`` folder while the new ones move in; that
    folder is removed only once the move succeeded or the old files are restored.
    """
    backup = Path(tempfile.mkdtemp(dir=out, prefix=".backup-"))
    moved: list[Path] = []
    parked: list[str] = []
    try:
        for item in sorted(staging.iterdir()):
            target = out / item.name
            if target.exists():
                os.replace(target, backup / item.name)
                parked.append(item.name)
            os.replace(item, target)
            moved.append(target)
    except BaseException:
        for target in moved:
            target.unlink(missing_ok=True)
        for name in parked:
            os.replace(backup / name, out / name)
        backup.rmdir()
        raise
    shutil.rmtree(backup)


def _parse_id(model: _GraphAutoencoderEstimator, text: str) -> Any:
    """A node id typed on the command line, converted to the model's id type."""
    if np.issubdtype(model.node_ids_.dtype, np.integer):
        try:
            return int(text)
        except ValueError:
            raise UserError(f"unknown node id {text!r}: this model's node ids are integers") from None
    return text


def _write_table(path: str | None, header: list[str], rows: list[list[Any]]) -> None:
    """Rows as CSV on stdout, or atomically to a .csv/.tsv/.parquet file."""
    if path is None:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        return
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise UserError('writing Parquet needs pyarrow: pip install "graphae[parquet]"') from None
        columns = list(zip(*rows, strict=True)) if rows else [[] for _ in header]
        table = pa.table({name: list(col) for name, col in zip(header, columns, strict=True)})
        atomic_write(path, lambda f: pq.write_table(table, f))
        return
    if suffix not in (".csv", ".tsv", ".txt"):
        raise UserError(f"--out {path}: expected a .csv, .tsv or .parquet file name")
    delimiter = "\t" if suffix == ".tsv" else ","

    def write(f: Any) -> None:
        writer = csv.writer(f, delimiter=delimiter, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)

    atomic_write(path, write, mode="w")


def cmd_embed(args: argparse.Namespace) -> int:
    model = load(args.model)
    z = model.embedding_
    header = ["id"] + [f"z{k}" for k in range(z.shape[1])]
    rows = [[node, *map(float, vec)] for node, vec in zip(model.node_ids_.tolist(), z, strict=True)]
    _write_table(args.out, header, rows)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from graphae.data.files import read_pairs

    model = load(args.model)
    pairs = read_pairs(args.pairs)
    if np.issubdtype(model.node_ids_.dtype, np.integer):
        pairs = [(_as_int(a, args.pairs, line), _as_int(b, args.pairs, line), line) for a, b, line in pairs]
    lookup = model._id_lookup()
    for a, b, line in pairs:
        for node in (a, b):
            if node not in lookup:
                raise UserError(f"{args.pairs}:{line}: unknown node id {node!r}")
    probs = model.predict_proba([(a, b) for a, b, _ in pairs]) if pairs else np.empty(0)
    rows = [[a, b, float(p)] for (a, b, _), p in zip(pairs, probs, strict=True)]
    _write_table(args.out, ["source", "target", "probability"], rows)
    return 0


def _as_int(text: Any, path: str, line: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        raise UserError(
            f"{path}:{line}: unknown node id {text!r}: this model's node ids are integers"
        ) from None


def cmd_recommend(args: argparse.Namespace) -> int:
    model = load(args.model)
    nodes = [_parse_id(model, text) for text in args.node]
    lookup = model._id_lookup()
    for node in nodes:
        if node not in lookup:
            raise UserError(f"--node {node!r}: unknown node id")
    lists = model.recommend(nodes, k=args.k, exclude_edges=not args.include_existing)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["node", "rank", "neighbour", "probability"])
    for node, recs in zip(nodes, lists, strict=True):
        for rank, (other, prob) in enumerate(recs, start=1):
            writer.writerow([node, rank, other, f"{prob:.6f}"])
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from graphae.plotting import make_report

    report = make_report(args.run, method=args.method, random_state=args.seed)
    print(report)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``graphae`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_notice
            return args.handler(args)
    except (UserError, ValueError, TypeError, OSError, ImportError) as err:
        print(f"graphae: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("graphae: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout went away (e.g. `| head`): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


def _show_notice(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """Warnings from the library, shown as one line each instead of with source lines."""
    print(f"graphae: notice: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
