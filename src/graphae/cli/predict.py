"""``graphae predict``: link probabilities of node-id pairs read from a file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from graphae.cli.common import (
    UserError,
    add_legacy_option,
    add_model_option,
    check_out_file,
    load_model,
    parse_id,
    write_table,
)


def add_command(sub: Any) -> None:
    predict = sub.add_parser("predict", help="link probabilities of node-id pairs")
    add_model_option(predict)
    predict.add_argument(
        "--pairs",
        required=True,
        metavar="FILE",
        help="two columns of node ids (CSV/TSV/whitespace, or Parquet as for train --edges)",
    )
    predict.add_argument("--out", metavar="FILE", help=".csv, .tsv or .parquet (default: CSV on stdout)")
    add_legacy_option(predict)
    predict.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from graphae.data.files import read_pairs
    from graphae.data.parquet import PARQUET_SUFFIXES
    from graphae.data.parquet_pairs import read_parquet_pairs

    check_out_file(args.out)
    model = load_model(args.model, args.legacy)
    if Path(args.pairs).suffix.lower() in PARQUET_SUFFIXES:
        pairs, at = read_parquet_pairs(args.pairs), f"{args.pairs}: row "
    else:
        pairs, at = read_pairs(args.pairs), f"{args.pairs}:"
    ids = model.node_ids_
    pairs = [(parse_id(ids, a, f"{at}{n}"), parse_id(ids, b, f"{at}{n}"), n) for a, b, n in pairs]
    lookup = model.id_index()
    for a, b, line in pairs:
        for node in (a, b):
            if node not in lookup:
                raise UserError(f"{at}{line}: unknown node id {node!r}")
    probs = model.predict_proba([(a, b) for a, b, _ in pairs]) if pairs else np.empty(0)
    rows = [[a, b, float(p)] for (a, b, _), p in zip(pairs, probs, strict=True)]
    write_table(args.out, ["source", "target", "probability"], rows)
    return 0
