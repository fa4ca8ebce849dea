"""``graphae plot``: training curves, ROC/PR curves, the embedding map and report.html."""

from __future__ import annotations

import argparse
from typing import Any

from graphae.cli.common import add_legacy_option, seed


def add_command(sub: Any) -> None:
    plot = sub.add_parser("plot", help="training curves, ROC/PR curves, embedding map and report.html")
    plot.add_argument("run", metavar="DIR", help="folder written by `graphae train --out`")
    plot.add_argument(
        "--method", choices=["auto", "tsne", "pca"], default="auto", help="2-D map of the embeddings"
    )
    plot.add_argument("--seed", type=seed, default=0, help="seed of the embedding map (t-SNE)")
    add_legacy_option(plot)
    plot.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from graphae.plotting import make_report

    print(make_report(args.run, method=args.method, random_state=args.seed, legacy=args.legacy))
    return 0
