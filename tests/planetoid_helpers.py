"""A tiny valid Planetoid set, for tests that damage one of its files."""

import pickle
from collections import defaultdict
from pathlib import Path

import numpy as np
import scipy.sparse as sp


def tiny_planetoid(root: Path, name: str = "cora") -> dict[str, bytes]:
    """Write a valid 5-node set (3 'all' nodes, test nodes 4 and 3) into ``root``; return each file's bytes."""
    root.mkdir(parents=True, exist_ok=True)
    onehot = np.eye(2, dtype=np.int32)[[0, 1, 0]]
    objects = {
        "x": sp.csr_matrix(np.ones((2, 3), dtype=np.float32)),
        "y": onehot[:2],
        "allx": sp.csr_matrix(np.arange(9, dtype=np.float32).reshape(3, 3)),
        "ally": onehot,
        "tx": sp.csr_matrix(np.eye(2, 3, dtype=np.float32)),
        "ty": np.eye(2, dtype=np.int32),
        "graph": defaultdict(list, {0: [1, 2], 1: [0], 2: [0, 3], 3: [2, 4], 4: [3]}),
    }
    files = {part: pickle.dumps(obj, protocol=4) for part, obj in objects.items()}
    files["test.index"] = b"4\n3\n"
    for part, raw in files.items():
        (root / f"ind.{name}.{part}").write_bytes(raw)
    return files
