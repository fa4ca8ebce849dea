"""Inductive link prediction: embed nodes held out of training from their edges, score the rest.

For each seed, 10% of the nodes are held out with all their edges and a GAE (the paper's
settings, node features, exact loss) is trained on the graph of the other nodes. The
held-out nodes are then embedded with ``embed_new_nodes`` from 90% of their edges to the
training nodes (the trained weights unchanged); the other 10% of those edges are withheld
and scored against as many non-edges between the same held-out nodes and training nodes.
Beside it: the transductive test AUC of ``run_link_prediction`` on the whole graph with
the same seed (the paper's protocol). No test score chooses anything here.

    GRAPHAE_DATA=../shared/data python benchmarks/inductive.py [--datasets cora citeseer] [--seeds 5]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from graphae import GAE
from graphae.data import load_dataset
from graphae.experiment import run_link_prediction
from graphae.metrics import auc_ap

RESULTS = Path(__file__).parent / "results" / "inductive.json"


def inductive_run(graph, seed: int, held_out: float = 0.1, withheld: float = 0.1) -> dict:
    rng = np.random.default_rng(seed)
    n = graph.num_nodes
    out = np.zeros(n, dtype=bool)
    out[rng.choice(n, size=int(round(held_out * n)), replace=False)] = True
    keep = np.flatnonzero(~out)
    train = graph.subgraph(keep) if hasattr(graph, "subgraph") else None
    if train is None:
        adj = graph.adj[keep][:, keep]
        x = graph.x[keep]
        train = graph.replace(adj=adj.tocsr(), x=x, y=None, node_ids=keep.astype(np.int64), label_split=None)
    model = GAE(random_state=seed).fit(train)
    # Edges between a held-out node and a training node: 90% given, 10% withheld for scoring.
    coo = sp.triu(graph.adj, k=1).tocoo()
    cross = out[coo.row] != out[coo.col]
    new = np.where(out[coo.row[cross]], coo.row[cross], coo.col[cross])
    old = np.where(out[coo.row[cross]], coo.col[cross], coo.row[cross])
    order = rng.permutation(len(new))
    k = max(1, int(round(withheld * len(new))))
    scored, given = order[:k], order[k:]
    # Held-out nodes without a given edge come in isolated, embedded from their features alone.
    new_ids = np.flatnonzero(out)
    ids, z = model.embed_new_nodes(
        np.stack([new[given], old[given]], axis=1), features=(new_ids, graph.x[new_ids])
    )
    row = {int(v): i for i, v in enumerate(ids.tolist())}
    z_new = torch.as_tensor(z)
    z_old = torch.as_tensor(model.embedding_)
    trained = {int(v): i for i, v in enumerate(model.node_ids_.tolist())}
    # Non-edges of the same held-out nodes, to training nodes, as many as the withheld edges.
    edges = set(zip(coo.row.tolist(), coo.col.tolist(), strict=True))
    negatives = []
    while len(negatives) < k:
        a, b = int(rng.choice(new_ids)), int(rng.choice(keep))
        if (min(a, b), max(a, b)) not in edges:
            negatives.append((a, b))
    pos = np.stack([new[scored], old[scored]], axis=1)
    neg = np.asarray(negatives)
    decoder = model.module_.decoder

    def scores(pairs: np.ndarray) -> np.ndarray:
        zi = z_new[[row[int(a)] for a in pairs[:, 0]]]
        zj = z_old[[trained[int(b)] for b in pairs[:, 1]]]
        z_pair = torch.cat([zi, zj])
        index = torch.stack([torch.arange(len(pairs)), torch.arange(len(pairs)) + len(pairs)])
        with torch.no_grad():
            return torch.sigmoid(decoder(z_pair, index)).numpy()

    auc, ap = auc_ap(scores(pos), scores(neg))
    return {"auc": auc, "ap": ap, "withheld_edges": int(k), "held_out_nodes": int(out.sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["cora", "citeseer"])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for name in args.datasets:
        graph = load_dataset(name, features=True)
        rows = []
        for seed in range(args.seeds):
            ind = inductive_run(graph, seed)
            trans = run_link_prediction(graph, GAE(), seed=seed, ranking_negatives=0)
            rows.append(
                {"seed": seed, **ind, "transductive_auc": trans.test_auc, "transductive_ap": trans.test_ap}
            )
            print(name, rows[-1], flush=True)
        results[name] = rows
        RESULTS.write_text(json.dumps(results, indent=1))
        a = 100 * np.array([r["auc"] for r in rows])
        t = 100 * np.array([r["transductive_auc"] for r in rows])
        print(
            f"{name}: inductive AUC {a.mean():.1f} ± {a.std():.1f}, transductive {t.mean():.1f} ± {t.std():.1f}"
        )


if __name__ == "__main__":
    main()
