"""``graphae embed``, ``predict``, ``recommend``, ``plot`` and ``models``: using what was trained."""

from __future__ import annotations

import argparse
import csv
import sys
from typing import Any

import numpy as np

from graphae.cli.common import UserError, parse_id, positive_int, write_table


def add_commands(sub: Any) -> None:
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
    rec.add_argument("-k", type=positive_int, default=10, help="neighbours per node (default 10)")
    rec.add_argument("--include-existing", action="store_true", help="also list existing neighbours")
    rec.set_defaults(handler=cmd_recommend)

    plot = sub.add_parser("plot", help="training curves, ROC/PR curves, embedding map and report.html")
    plot.add_argument("run", metavar="DIR", help="folder written by `graphae train --out`")
    plot.add_argument(
        "--method", choices=["auto", "tsne", "pca"], default="auto", help="2-D map of the embeddings"
    )
    plot.add_argument("--seed", type=int, default=0)
    plot.set_defaults(handler=cmd_plot)

    models = sub.add_parser("models", help="list the models graphae can train")
    models.set_defaults(handler=cmd_models)


def _load(folder: str) -> Any:
    from graphae.estimator import load

    return load(folder)


def cmd_embed(args: argparse.Namespace) -> int:
    model = _load(args.model)
    z = model.embedding_
    header = ["id"] + [f"z{k}" for k in range(z.shape[1])]
    rows = [[node, *map(float, vec)] for node, vec in zip(model.node_ids_.tolist(), z, strict=True)]
    write_table(args.out, header, rows)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from graphae.data.files import read_pairs

    model = _load(args.model)
    pairs = read_pairs(args.pairs)
    ids = model.node_ids_
    pairs = [
        (parse_id(ids, a, f"{args.pairs}:{n}"), parse_id(ids, b, f"{args.pairs}:{n}"), n) for a, b, n in pairs
    ]
    lookup = model.id_index()
    for a, b, line in pairs:
        for node in (a, b):
            if node not in lookup:
                raise UserError(f"{args.pairs}:{line}: unknown node id {node!r}")
    probs = model.predict_proba([(a, b) for a, b, _ in pairs]) if pairs else np.empty(0)
    rows = [[a, b, float(p)] for (a, b, _), p in zip(pairs, probs, strict=True)]
    write_table(args.out, ["source", "target", "probability"], rows)
    return 0


def cmd_recommend(args: argparse.Namespace) -> int:
    model = _load(args.model)
    nodes = [parse_id(model.node_ids_, text, "--node") for text in args.node]
    lookup = model.id_index()
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

    print(make_report(args.run, method=args.method, random_state=args.seed))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from graphae.registry import models

    entries = models()
    width = max(len(entry.name) for entry in entries)
    for entry in entries:
        print(f"{entry.name:<{width}}  {entry.description}")
    return 0
