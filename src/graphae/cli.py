"""The ``graphae`` command line: thin wrappers over the public functions."""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from graphae import __version__
from graphae.data import DATASETS, DEFAULT_DATASET, load_dataset
from graphae.experiment import ModelConfig, RunResult, resolve_device, run_link_prediction
from graphae.io import save_model, write_json, write_npy
from graphae.training import LOSSES


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="graphae", description="Graph autoencoders (GAE, VGAE) for link prediction and node embeddings."
    )
    parser.add_argument("--version", action="version", version=f"graphae {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train GAE/VGAE on a data set and score link prediction")
    train.add_argument(
        "--dataset",
        default=DEFAULT_DATASET,
        help=f"built-in data set: {', '.join(DATASETS)} (default: {DEFAULT_DATASET}, generated offline)",
    )
    train.add_argument("--model", choices=["gae", "vgae"], default="gae")
    train.add_argument(
        "--no-features", action="store_true", help="ignore node features (the paper's GAE*/VGAE*)"
    )
    train.add_argument(
        "--loss",
        choices=list(LOSSES),
        default="exact",
        help="exact: paper loss over all pairs; sampled: one negative per edge",
    )
    train.add_argument("--epochs", type=_positive_int, default=200)
    train.add_argument("--lr", type=float, default=0.01)
    train.add_argument("--hidden", type=_positive_int, default=32, help="first GCN layer width")
    train.add_argument("--latent", type=_positive_int, default=16, help="latent dimension")
    train.add_argument("--runs", type=_positive_int, default=1, help="run i uses seed SEED+i")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--eval-every", type=_positive_int, default=1, help="validation interval in epochs")
    train.add_argument(
        "--select-best", action="store_true", help="keep the epoch with the best validation AUC"
    )
    train.add_argument(
        "--data-dir",
        help="folder of the Planetoid ind.* files (default: $GRAPHAE_DATA/planetoid, else a user cache)",
    )
    train.add_argument("--download", action="store_true", help="download missing Planetoid files")
    train.add_argument("--out", help="folder for metrics.json, embeddings.npy and the model")
    train.add_argument(
        "--overwrite", action="store_true", help="replace the outputs in an existing --out folder"
    )
    train.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    train.add_argument("--threads", type=_positive_int, help="CPU threads for torch")
    train.add_argument("--quiet", action="store_true", help="print only the summary")
    train.set_defaults(handler=cmd_train)
    return parser


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
    if path.is_dir() and any(path.iterdir()) and not overwrite:
        raise UserError(f"--out {out}: folder is not empty; pass --overwrite to replace its graphae outputs")
    return path


def cmd_train(args: argparse.Namespace) -> int:
    out = _check_out(args.out, args.overwrite)
    try:
        device = resolve_device(args.device)
    except ValueError as err:
        raise UserError(f"--device: {err}") from None
    if args.threads:
        torch.set_num_threads(args.threads)
    features = not args.no_features
    graph = load_dataset(args.dataset, args.data_dir, features=features, download=args.download)
    config = ModelConfig(
        model=args.model,
        features=features,
        loss=args.loss,
        epochs=args.epochs,
        lr=args.lr,
        hidden_channels=args.hidden,
        out_channels=args.latent,
    )
    _log(args.quiet, f"{graph!r}; {args.model.upper()}{'' if features else '*'}, {args.loss} loss, {device}")
    results: list[RunResult] = []
    log_every = max(1, args.epochs // 10)
    for i in range(args.runs):
        seed = args.seed + i

        def progress(rec: dict[str, float], i: int = i) -> None:
            if rec["epoch"] % log_every and rec["epoch"] != args.epochs:
                return
            val = (
                f"  val AUC {100 * rec['val_auc']:.1f} AP {100 * rec['val_ap']:.1f}"
                if "val_auc" in rec
                else ""
            )
            _log(args.quiet, f"run {i + 1}/{args.runs}  epoch {rec['epoch']:>4}  loss {rec['loss']:.4f}{val}")

        result = run_link_prediction(
            graph,
            config,
            seed=seed,
            device=device,
            eval_every=args.eval_every,
            select_best=args.select_best,
            callback=progress,
        )
        _log(
            args.quiet,
            f"run {i + 1}/{args.runs}  seed {seed}  test AUC {100 * result.test_auc:.1f} "
            f"AP {100 * result.test_ap:.1f}  ({result.train_seconds:.2f} s)",
        )
        results.append(result)
    aucs = [r.test_auc for r in results]
    aps = [r.test_ap for r in results]
    print(f"test AUC {_percent(aucs)}  AP {_percent(aps)}  ({args.runs} run{'s' if args.runs > 1 else ''})")
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
            "device": str(device),
            "graphae_version": __version__,
        }
        _write_outputs(out, metrics, results[0], config)
        _log(args.quiet, f"wrote {out}/metrics.json, embeddings.npy, model.pt, model.json, history.json")
    return 0


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "mean": float(np.mean(values)),
        "std": float(np.std(values)),
        "values": [float(v) for v in values],
    }


def _write_outputs(out: Path, metrics: dict[str, Any], first: RunResult, config: ModelConfig) -> None:
    """Write every output into a temporary folder first, then move the files in."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out, prefix=".staging-"))
    try:
        write_json(staging / "metrics.json", metrics)
        write_json(staging / "history.json", first.history)
        write_npy(staging / "embeddings.npy", first.embedding)
        model_config = {
            **config.to_dict(),
            "in_channels": first.in_channels,
            "dataset": metrics["dataset"],
            "seed": first.seed,
            "graphae_version": __version__,
        }
        save_model(first.model, model_config, staging)
        for item in staging.iterdir():
            item.replace(out / item.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``graphae`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (UserError, ValueError, TypeError, FileNotFoundError) as err:
        print(f"graphae: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("graphae: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
