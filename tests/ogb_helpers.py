"""Tiny OGB link-prediction data sets, written in OGB's on-disk layout for the tests.

The real ogbl-collab, ogbl-ppa and ogbl-citation2 are not on our machines (only ogbl-ddi
is, under GRAPHAE_DATA/ogb): the readers for their layouts are tested on these files,
which follow what OGB's downloader writes (``raw/*.csv.gz``, ``split/<split>/*.pt`` saved
by ``torch.save`` in its legacy format, holding numpy arrays).
"""

import gzip
from pathlib import Path

import numpy as np
import torch

NUM_NODES = 60
SPLIT_DIRS = {"ogbl-ddi": "target", "ogbl-collab": "time", "ogbl-ppa": "throughput", "ogbl-citation2": "time"}


def write_csv_gz(path: Path, table: np.ndarray, fmt: str = "%d") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        np.savetxt(f, np.asarray(table).reshape(len(table), -1), fmt=fmt, delimiter=",")


def save_pt(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path, _use_new_zipfile_serialization=False)  # OGB's files are legacy ones


def community_edges(rng: np.random.Generator, num_nodes: int = NUM_NODES) -> np.ndarray:
    """Distinct undirected pairs ``[E, 2]`` (i < j) of a graph with four communities."""
    block = np.arange(num_nodes) % 4
    i, j = np.triu_indices(num_nodes, 1)
    p = np.where(block[i] == block[j], 0.5, 0.03)
    keep = rng.random(len(i)) < p
    return np.stack([i[keep], j[keep]], axis=1)


def write_ogbl(root: Path, name: str = "ogbl-ddi", *, seed: int = 0, train_pt: bool | None = None) -> Path:
    """Write ``root/ogbl_<name>/`` in OGB's layout and return it.

    ``ogbl-ddi`` (like our copy): no ``train.pt``, the training edges in ``raw/edge.csv.gz``.
    ``ogbl-collab``: weights and years, in raw/ and in the split files; node features.
    ``ogbl-ppa``: ``edge``/``edge_neg`` splits with ``train.pt``; one-hot node features.
    ``ogbl-citation2``: directed edges, ``source_node``/``target_node`` splits, 20
    per-source negatives ``target_node_neg [P, 20]``; node features.
    """
    rng = np.random.default_rng(seed)
    folder = root / name.replace("-", "_")
    raw, split = folder / "raw", folder / "split" / SPLIT_DIRS[name]
    edges = community_edges(rng)
    if name == "ogbl-citation2":
        flip = rng.random(len(edges)) < 0.5
        edges[flip] = edges[flip][:, ::-1]
    edges = edges[rng.permutation(len(edges))]
    n_valid = n_test = len(edges) // 10
    train = edges[n_valid + n_test :]
    write_csv_gz(raw / "num-node-list.csv.gz", np.array([[NUM_NODES]]))
    write_csv_gz(raw / "edge.csv.gz", train)
    if name != "ogbl-ddi":
        x = np.eye(NUM_NODES, 8) if name == "ogbl-ppa" else rng.normal(size=(NUM_NODES, 8))
        write_csv_gz(raw / "node-feat.csv.gz", x, fmt="%.6f")
    extra = {}
    if name == "ogbl-collab":
        weight, year = rng.integers(1, 4, len(edges)), rng.integers(2000, 2020, len(edges))
        write_csv_gz(raw / "edge_weight.csv.gz", weight[n_valid + n_test :])
        write_csv_gz(raw / "edge_year.csv.gz", year[n_valid + n_test :])
        extra = {"weight": weight, "year": year}
    parts = {
        "train": slice(n_valid + n_test, None),
        "valid": slice(0, n_valid),
        "test": slice(n_valid, n_valid + n_test),
    }
    for part, rows in parts.items():
        if part == "train" and not (train_pt if train_pt is not None else name != "ogbl-ddi"):
            continue
        if name == "ogbl-citation2":
            obj = {"source_node": edges[rows, 0], "target_node": edges[rows, 1]}
            if part != "train":
                obj["target_node_neg"] = rng.integers(0, NUM_NODES, (len(obj["source_node"]), 20))
        else:
            obj = {"edge": edges[rows]}
            obj.update({key: values[rows] for key, values in extra.items()})
            if part != "train":
                obj["edge_neg"] = _non_edges(rng, edges, 150)
        save_pt(split / f"{part}.pt", obj)
    return folder


def _non_edges(rng: np.random.Generator, edges: np.ndarray, count: int) -> np.ndarray:
    keys = set(map(tuple, np.sort(edges, axis=1).tolist()))
    out = []
    while len(out) < count:
        i, j = sorted(rng.integers(0, NUM_NODES, 2).tolist())
        if i != j and (i, j) not in keys:
            out.append((i, j))
    return np.array(out, dtype=np.int64)
