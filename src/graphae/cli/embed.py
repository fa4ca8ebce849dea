"""``graphae embed``: the node embeddings of a trained model, keyed by node id; also of new nodes."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from graphae.cli.common import (
    UserError,
    add_legacy_option,
    add_model_option,
    check_out_file,
    load_model,
    write_columns,
)


def add_command(sub: Any) -> None:
    embed = sub.add_parser("embed", help="write the node embeddings of a trained model, keyed by node id")
    add_model_option(embed)
    embed.add_argument("--out", metavar="FILE", help=".csv, .tsv or .parquet (default: CSV on stdout)")
    embed.add_argument(
        "--edges",
        metavar="FILE",
        help="edges of nodes the model has not seen (to nodes it knows or to each other): embed those "
        "nodes with the trained encoder, its weights unchanged",
    )
    embed.add_argument(
        "--features", metavar="FILE", help="with --edges: the new nodes' features, keyed by id"
    )
    embed.add_argument("--all", action="store_true", help="with --edges: write every node, not only the new")
    add_legacy_option(embed)
    embed.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    check_out_file(args.out)
    model = load_model(args.model, args.legacy)
    if not model.learned:
        raise UserError(
            f"--model {args.model}: {model.model_name} is a link-prediction heuristic and has no node "
            "embeddings; use `graphae predict` or `graphae recommend` with it"
        )
    if args.edges is None:
        for option in ("features", "all"):
            if getattr(args, option):
                raise UserError(f"--{option} needs --edges FILE (the new nodes to embed)")
        ids, z = model.node_ids_, model.embedding_
    else:
        from graphae.data.files import load_graph
        from graphae.inductive import check_inductive

        check_inductive(model)  # before reading the files: say at once when it cannot be done
        edges = load_graph(args.edges, directed=model.graph_.directed)
        ids, z = model.embed_new_nodes(edges, features=args.features, include_fitted=args.all)
    header = ["id"] + [f"z{k}" for k in range(z.shape[1])]
    # One column per dimension, as float64 (the values Python floats have always written).
    dims = np.ascontiguousarray(z.T, dtype=np.float64)
    write_columns(args.out, header, [ids, *dims])
    return 0
