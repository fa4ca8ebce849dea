"""``graphae recommend``: the most likely new neighbours of nodes."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from graphae.cli.common import UserError, add_legacy_option, load_model, parse_id, positive_int
from graphae.topk import EXACT_BELOW


def add_command(sub: Any) -> None:
    rec = sub.add_parser("recommend", help="the most likely new neighbours of a node")
    rec.add_argument("--model", required=True, metavar="DIR")
    rec.add_argument(
        "--node", required=True, action="append", metavar="ID", help="node id (repeat for several)"
    )
    rec.add_argument("-k", type=positive_int, default=10, help="neighbours per node (default 10)")
    rec.add_argument("--include-existing", action="store_true", help="also list existing neighbours")
    rec.add_argument(
        "--exact",
        action="store_true",
        help=f"score every node (default: the model's top-k index from {EXACT_BELOW:,} nodes on, for "
        "inner-product models, when faiss is installed)",
    )
    add_legacy_option(rec)
    rec.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model, args.legacy)
    nodes = [parse_id(model.node_ids_, text, "--node") for text in args.node]
    lookup = model.id_index()
    for node in nodes:
        if node not in lookup:
            raise UserError(f"--node {node!r}: unknown node id")
    lists = model.recommend(
        nodes, k=args.k, exclude_edges=not args.include_existing, exact=True if args.exact else None
    )
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["node", "rank", "neighbour", "probability"])
    for node, recs in zip(nodes, lists, strict=True):
        for rank, (other, prob) in enumerate(recs, start=1):
            writer.writerow([node, rank, other, f"{prob:.6f}"])
    return 0
