"""``graphae recommend``: the most likely new neighbours of nodes."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

from graphae.cli.common import (
    UserError,
    add_legacy_option,
    add_model_option,
    load_model,
    parse_id,
    positive_int,
)
from graphae.topk import EXACT_BELOW


def add_command(sub: Any) -> None:
    rec = sub.add_parser("recommend", help="the most likely new neighbours of a node")
    add_model_option(rec)
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
    rec.add_argument(
        "--edges",
        metavar="FILE",
        help="edges of nodes the model has not seen (to nodes it knows or to each other): append them to "
        "the fitted graph, embed it with the trained encoder (weights unchanged) and recommend on it, "
        "scoring every node; --node may then name a new node",
    )
    rec.add_argument("--features", metavar="FILE", help="with --edges: the new nodes' features, keyed by id")
    add_legacy_option(rec)
    rec.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model, args.legacy)
    nodes = [parse_id(model.node_ids_, text, "--node") for text in args.node]
    if args.edges is not None:
        lists = _recommend_new(model, nodes, args)
    else:
        if args.features is not None:
            raise UserError("--features needs --edges FILE (the new nodes to recommend for)")
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


def _recommend_new(model: Any, nodes: list[Any], args: argparse.Namespace) -> list:
    """Recommendations on the fitted graph enlarged with the nodes of ``--edges``."""
    from graphae.data.files import load_graph
    from graphae.inductive import check_inductive

    check_inductive(model)  # before reading the files: say at once when it cannot be done
    edges = load_graph(args.edges, directed=model.graph_.directed)
    return model.recommend_new_nodes(
        nodes, edges, features=args.features, k=args.k, exclude_edges=not args.include_existing
    )
