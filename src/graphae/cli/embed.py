"""``graphae embed``: the node embeddings of a trained model, keyed by node id."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from graphae.cli.common import UserError, check_out_file, load_model, write_columns


def add_command(sub: Any) -> None:
    embed = sub.add_parser("embed", help="write the node embeddings of a trained model, keyed by node id")
    embed.add_argument(
        "--model", required=True, metavar="DIR", help="folder written by `graphae train --out`"
    )
    embed.add_argument("--out", metavar="FILE", help=".csv, .tsv or .parquet (default: CSV on stdout)")
    embed.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_out_file(args.out)
    model = load_model(args.model)
    if not model.learned:
        raise UserError(
            f"--model {args.model}: {model.model_name} is a link-prediction heuristic and has no node "
            "embeddings; use `graphae predict` or `graphae recommend` with it"
        )
    z = model.embedding_
    header = ["id"] + [f"z{k}" for k in range(z.shape[1])]
    # One column per dimension, as float64 (the values Python floats have always written).
    dims = np.ascontiguousarray(z.T, dtype=np.float64)
    write_columns(args.out, header, [model.node_ids_, *dims])
    return 0
