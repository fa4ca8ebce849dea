"""Partitioning a graph for training across processes: ``graphae partition``.

:func:`partition_graph` splits the edges into training, validation and test (seeded, once,
so that every rank agrees), assigns every node an owner (METIS or a hash of its id), and
writes one folder per part with what its rank needs and nothing more: its nodes, their
training rows, their features, the halo (neighbours owned elsewhere, with their owners and
degrees) and the held-out pairs whose first node it owns (see :mod:`graphae.partition.files`).
:func:`read_part` loads one part as a :class:`~graphae.training.partitioned.LocalPart`;
:func:`load_embeddings` reads the embedding shards a partitioned run wrote (node ids and ``z``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from graphae.errors import InputError
from graphae.graph import Graph
from graphae.io import replace_folder, write_text
from graphae.partition.assign import METHODS, cut_statistics, halo_of, owners
from graphae.partition.files import (
    FEATURES,
    MANIFEST,
    NODE_IDS,
    PART_FILES,
    check_out,
    file_records,
    part_dir,
    read_arrays,
    read_manifest,
    write_arrays,
    write_manifest,
)
from graphae.runfolder.partitioned import load_embeddings
from graphae.runfolder.readers import node_id_lines as node_lines
from graphae.runfolder.readers import node_id_type
from graphae.split import split_edges
from graphae.training.partitioned import LocalPart

__all__ = ["MANIFEST", "METHODS", "load_embeddings", "partition_graph", "read_manifest", "read_part"]


def partition_graph(
    graph: Graph,
    parts: int,
    method: str,
    out: str | os.PathLike,
    *,
    seed: int = 0,
    val_ratio: float = 0.05,
    test_ratio: float = 0.10,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Split ``graph``'s edges, partition its training graph into ``parts``, write them to ``out``.

    Args:
        graph: An undirected graph, held whole by this one process.
        parts: Number of parts ``P`` (one per rank of the training run).
        method: ``"metis"`` (pymetis: few cut edges) or ``"hash"`` (no dependency, O(N)).
        out: The folder to write; replaced only when it holds a graphae partition and
            ``overwrite`` is true.
        seed: Seed of the edge split and of METIS.
        val_ratio, test_ratio: Fractions of edges held out (as :func:`graphae.split.split_edges`).
        overwrite: Replace a partition folder graphae wrote.

    Returns:
        The manifest written (sizes, cut statistics, checksums).

    Raises:
        InputError: On a directed graph, bad ``parts``/``method``, or an ``out`` graphae may not write.
    """
    if graph.directed:
        raise InputError("graphae partition: directed graphs are not supported yet; drop --directed.")
    if method not in METHODS:
        raise InputError(f"The 'method' parameter must be one of {', '.join(METHODS)}. Got {method!r}.")
    owned = check_out(out, overwrite)
    split = split_edges(graph, val_ratio, test_ratio, random_state=seed)
    adj = split.train.adj
    owner = owners(adj, parts, method, seed)
    row_of = np.empty(adj.shape[0], dtype=np.int64)
    for p in range(parts):
        members = np.flatnonzero(owner == p)
        row_of[members] = np.arange(members.size)
    held_out = {
        "val": _labelled(split.val_pos, split.val_neg),
        "test": _labelled(split.test_pos, split.test_neg),
    }
    stats = cut_statistics(adj, owner, parts)
    features = graph.x
    ids = np.arange(adj.shape[0]) if graph.node_ids is None else graph.node_ids

    def write(root: Path) -> None:
        names = []
        for p in range(parts):
            arrays = _part_arrays(adj, owner, row_of, p, held_out, features)
            write_arrays(root / part_dir(p), arrays)
            # A bad id (a line break) stops here, and replace_folder leaves `out` as it was.
            write_text(
                root / part_dir(p) / NODE_IDS, "".join(f"{t}\n" for t in node_lines(ids[arrays["nodes"]]))
            )
            names += [
                f"{part_dir(p)}/{name}"
                for name in (*PART_FILES, NODE_IDS, *([FEATURES] if features is not None else []))
            ]
        write_manifest(root, {**manifest, "files": file_records(root, names)})

    manifest = {
        "parts": int(parts),
        "method": method,
        "seed": int(seed),
        "graph": graph.name,
        "num_nodes": int(adj.shape[0]),
        "node_id_type": node_id_type(ids),
        "num_features": 0 if features is None else int(features.shape[1]),
        "num_train_edges": int(adj.nnz // 2),
        "num_val_pairs": int(held_out["val"].shape[1]),
        "num_test_pairs": int(held_out["test"].shape[1]),
        "val_ratio": float(val_ratio),
        "test_ratio": float(test_ratio),
        "cut": stats,
    }
    replace_folder(out, write, owned)
    return read_manifest(out)


def read_part(root: str | os.PathLike, part: int) -> LocalPart:
    """Part ``part`` of the partition folder ``root``, every file checked against the manifest.

    Raises:
        InputError: If ``part`` is not one of the folder's parts, or a file is damaged.
    """
    manifest = read_manifest(root)
    if not 0 <= part < manifest["parts"]:
        raise InputError(
            f"{root}: holds {manifest['parts']} parts, so it trains with {manifest['parts']} processes; "
            f"got part {part} (run torchrun --nproc-per-node {manifest['parts']})."
        )
    arrays = read_arrays(root, part, manifest)
    return LocalPart(
        rank=part,
        part_nodes=tuple(manifest["cut"]["part_nodes"]),
        num_nodes=manifest["num_nodes"],
        nodes=arrays["nodes"],
        indptr=arrays["indptr"],
        indices=arrays["indices"],
        halo=arrays["halo"],
        features=arrays.get("features"),
        val=arrays["val"],
        test=arrays["test"],
    )


def _labelled(pos: np.ndarray, neg: np.ndarray) -> np.ndarray:
    """``[3, k]``: the pairs of ``pos`` then ``neg`` with their labels."""
    labels = np.concatenate([np.ones(pos.shape[1], np.int64), np.zeros(neg.shape[1], np.int64)])
    return np.vstack([np.hstack([pos, neg]).astype(np.int64), labels])


def _part_arrays(
    adj: sp.csr_matrix,
    owner: np.ndarray,
    row_of: np.ndarray,
    part: int,
    held_out: dict[str, np.ndarray],
    features: Any,
) -> dict[str, np.ndarray]:
    nodes = np.flatnonzero(owner == part).astype(np.int64)
    rows = adj[nodes]
    halo = halo_of(adj, owner, part).astype(np.int64)
    halo = halo[np.lexsort((halo, owner[halo]))]
    degree = np.diff(adj.indptr)
    arrays = {
        "nodes": nodes,
        "indptr": rows.indptr.astype(np.int64),
        "indices": rows.indices.astype(np.int64),
        "halo": np.vstack([halo, owner[halo], row_of[halo], degree[halo]]).astype(np.int64),
    }
    for name, pairs in held_out.items():
        mine = pairs[:, owner[pairs[0]] == part]
        v = mine[1]
        arrays[name] = np.vstack([mine[0], v, owner[v], row_of[v], mine[2]]).astype(np.int64)
    if features is not None:
        own = features[nodes]
        arrays[FEATURES.removesuffix(".npy")] = np.asarray(
            own.toarray() if sp.issparse(own) else own, np.float32
        )
    return arrays
