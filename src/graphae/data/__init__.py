"""Data sets: loaders that return a :class:`~graphae.graph.Graph`."""

from __future__ import annotations

import os

from graphae.data.convert import as_graph
from graphae.data.edgelist import read_edgelist
from graphae.data.features import read_features
from graphae.data.files import load_graph
from graphae.data.npz import load_npz_graph
from graphae.data.ogb import OGBL_NAMES, load_ogbl
from graphae.data.planetoid import PLANETOID_NAMES, load_planetoid
from graphae.data.planted import make_planted_partition
from graphae.data.powerlaw import make_powerlaw
from graphae.data.synthetic import make_communities
from graphae.data.text import GraphFileError
from graphae.errors import InputError
from graphae.graph import Graph

DEFAULT_DATASET = "synthetic"
DATASETS = (DEFAULT_DATASET, *PLANETOID_NAMES, *OGBL_NAMES)


def load_dataset(
    name: str = DEFAULT_DATASET,
    root: str | os.PathLike | None = None,
    *,
    features: bool = True,
    download: bool = False,
) -> Graph:
    """A built-in data set by name.

    Args:
        name: ``"synthetic"`` (generated, offline), a Planetoid name
            (``"cora"``, ``"citeseer"``, ``"pubmed"``) or an OGB link-prediction data set
            (``"ogbl-ddi"``, ``"ogbl-collab"``, ``"ogbl-ppa"``, ``"ogbl-citation2"``: the
            training graph, carrying its official split; see :func:`~graphae.data.ogb.load_ogbl`).
        root: Folder of the Planetoid files (see
            :func:`~graphae.data.planetoid.resolve_root`), or for OGB the folder holding
            ``ogbl_<name>/`` (see :func:`~graphae.data.ogb.resolve_ogb_root`).
        features: Load node features (``False`` skips them).
        download: Fetch missing files from their public source.

    Raises:
        InputError: On an unknown name.
        MissingFileError: If a needed file is missing and not downloaded.
    """
    key = name.lower()
    if key == DEFAULT_DATASET:
        graph = make_communities()
        return graph if features else graph.replace(x=None)
    if key in PLANETOID_NAMES:
        return load_planetoid(key, root, features=features, download=download)
    if key in OGBL_NAMES:
        return load_ogbl(key, root, features=features, download=download)
    raise InputError(f"Unknown data set {name!r}: expected one of {', '.join(DATASETS)}.")


__all__ = [
    "DATASETS",
    "DEFAULT_DATASET",
    "GraphFileError",
    "as_graph",
    "load_dataset",
    "load_graph",
    "load_npz_graph",
    "load_ogbl",
    "load_planetoid",
    "make_communities",
    "make_planted_partition",
    "make_powerlaw",
    "read_edgelist",
    "read_features",
]
