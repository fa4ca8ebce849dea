"""OGB's link-prediction data sets (``ogbl-ddi``, ``ogbl-collab``, ``ogbl-ppa``, ``ogbl-citation2``).

Read from the folder OGB's own downloader writes, ``<root>/ogbl_<name>/``:

- ``raw/num-node-list.csv.gz`` (the node count), ``raw/edge.csv.gz`` (the training graph,
  ``i,j`` per line), ``raw/node-feat.csv.gz`` (node features, where the data set has them),
  ``raw/edge_weight.csv.gz`` and ``raw/edge_year.csv.gz`` (ogbl-collab);
- ``split/<split>/{train,valid,test}.pt``: the official split, dicts of numpy arrays
  written by ``torch.save``, read without torch and without running any code they hold
  (:mod:`graphae.data.torchfile`). ``train.pt`` may be absent: the training edges are
  then those of ``raw/edge.csv.gz`` (in OGB the graph *is* the training edges).

The graph returned is the training graph and carries the split as
``Graph.official_split`` (:class:`~graphae.split_official.OfficialSplit`), with OGB's
metric: Hits@20 (ddi), Hits@50 (collab), Hits@100 (ppa), MRR (citation2, whose graph is
directed and whose positives have 1,000 negatives each).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from graphae.data.ogb_files import read_csv_gz, read_split_part
from graphae.data.planetoid import data_folder
from graphae.errors import InputError, MissingFileError
from graphae.graph import Graph
from graphae.split_official import OfficialSplit

__all__ = ["OGBL_NAMES", "OgbInfo", "load_ogbl", "resolve_ogb_root"]

logger = logging.getLogger(__name__)
_TIMEOUT_S = 60
OGB_URL = "http://snap.stanford.edu/ogb/data/linkproppred/"


@dataclass(frozen=True)
class OgbInfo:
    """What OGB's ``master.csv`` says of a data set: its split folder, metric and archive."""

    split: str
    metric: str
    archive: str  # the zip's name and the folder it unpacks to
    directed: bool

    @property
    def url(self) -> str:
        return f"{OGB_URL}{self.archive}.zip"


OGBL = {
    "ogbl-ddi": OgbInfo("target", "hits@20", "ddi", False),
    "ogbl-collab": OgbInfo("time", "hits@50", "collab", False),
    "ogbl-ppa": OgbInfo("throughput", "hits@100", "ppassoc", False),
    "ogbl-citation2": OgbInfo("time", "mrr", "citation-v2", True),
}
OGBL_NAMES = tuple(OGBL)


def resolve_ogb_root(root: str | os.PathLike[str] | None) -> Path:
    """The folder holding ``ogbl_<name>/``: ``root``, else ``$GRAPHAE_DATA/ogb``, else ``~/.cache/graphae/ogb``."""
    return data_folder("ogb", root)


def load_ogbl(
    name: str,
    root: str | os.PathLike[str] | None = None,
    *,
    features: bool = True,
    download: bool = False,
) -> Graph:
    """An OGB link-prediction data set: its training graph, carrying its official split.

    Args:
        name: ``"ogbl-ddi"``, ``"ogbl-collab"``, ``"ogbl-ppa"`` or ``"ogbl-citation2"``.
        root: The folder holding ``ogbl_<name>/`` (see :func:`resolve_ogb_root`).
        features: Read ``raw/node-feat.csv.gz`` where the data set has one.
        download: Fetch and unpack OGB's archive when ``ogbl_<name>/`` is missing.

    Returns:
        The graph of the training edges, with ``official_split`` set.

    Raises:
        InputError: On an unknown name, or a damaged or malformed file (named).
        MissingFileError: If a needed file is missing (named).
    """
    key = name.lower()
    if key not in OGBL:
        raise InputError(f"Unknown OGB data set {name!r}: expected one of {', '.join(OGBL_NAMES)}.")
    info = OGBL[key]
    folder = resolve_ogb_root(root) / key.replace("-", "_")
    if download and not folder.exists():
        download_ogbl(key, folder.parent)
    hint = (
        f" (OGB's {key}: pass download=True, CLI --download, to fetch {info.url}; or point root, "
        f"CLI --data-dir, at the folder holding {folder.name}/)"
    )
    if not folder.is_dir():
        raise MissingFileError(f"{folder}: no such folder{hint}")
    # The folder is there but incomplete: --download leaves an existing folder alone.
    hint = f" (OGB's {key}: move {folder.name}/ away and pass download=True, CLI --download, to fetch {info.url} again)"
    raw, split_dir = folder / "raw", folder / "split" / info.split
    num_nodes = _num_nodes(raw / "num-node-list.csv.gz", hint)
    parts = {part: split_dir / f"{part}.pt" for part in ("train", "valid", "test")}
    for part in ("valid", "test"):
        if not parts[part].is_file():
            raise MissingFileError(f"{parts[part]}: no such file{hint}")
    if parts["train"].is_file():
        train = read_split_part(parts["train"], num_nodes)
        train_edges, weight, year = train.pos, train.weight, train.year
    else:
        train_edges = _raw_edges(raw / "edge.csv.gz", num_nodes, hint)
        weight = _optional_column(raw / "edge_weight.csv.gz", train_edges.shape[1])
        year = _optional_column(raw / "edge_year.csv.gz", train_edges.shape[1])
    valid, test = (read_split_part(parts[p], num_nodes) for p in ("valid", "test"))
    for part, read in (("valid", valid), ("test", test)):
        if read.neg is None:
            raise InputError(f"{parts[part]}: holds no negatives ('edge_neg' or 'target_node_neg').")
        if read.per_source != (info.metric == "mrr"):
            want = "'target_node_neg'" if info.metric == "mrr" else "'edge' and 'edge_neg'"
            raise InputError(f"{parts[part]}: {key} splits hold {want}.")
    split = OfficialSplit(
        name=key,
        metric=info.metric,
        train=train_edges,
        valid_pos=valid.pos,
        valid_neg=valid.neg,
        test_pos=test.pos,
        test_neg=test.neg,
        train_weight=weight,
        train_year=year,
    )
    x = None
    feat_path = raw / "node-feat.csv.gz"
    if features and feat_path.is_file():
        x = read_csv_gz(feat_path, np.float32)
        if x.shape[0] != num_nodes:
            raise InputError(f"{feat_path}: expected one row per node ({num_nodes}). Got {x.shape[0]} rows.")
    return Graph.from_edge_index(
        train_edges, num_nodes, directed=info.directed, x=x, name=key, official_split=split
    )


def _num_nodes(path: Path, hint: str) -> int:
    table = read_csv_gz(path, np.int64, hint=hint)
    if table.shape != (1, 1) or table[0, 0] < 1:
        raise InputError(f"{path}: expected one positive number of nodes. Got {table.ravel()[:3].tolist()}.")
    return int(table[0, 0])


def _raw_edges(path: Path, num_nodes: int, hint: str) -> np.ndarray:
    table = read_csv_gz(path, np.int64, hint=hint)
    if table.size and table.shape[1] != 2:
        raise InputError(f"{path}: expected two node indices per line. Got {table.shape[1]} columns.")
    table = table.reshape(-1, 2)
    if table.size and (table.min() < 0 or table.max() >= num_nodes):
        bad = table.min() if table.min() < 0 else table.max()
        raise InputError(
            f"{path}: holds node index {int(bad)}, outside [0, {num_nodes}) (see num-node-list)."
        )
    return np.ascontiguousarray(table.T)


def _optional_column(path: Path, count: int) -> np.ndarray | None:
    if not path.is_file():
        return None
    table = read_csv_gz(path, np.float64)
    if table.shape != (count, 1):
        raise InputError(
            f"{path}: expected one value per edge of raw/edge.csv.gz ({count}). Got {table.shape}."
        )
    return table.ravel()


# Downloading -----------------------------------------------------------------------
def download_ogbl(name: str, root: Path) -> Path:
    """Fetch OGB's archive of ``name`` and unpack it as ``root/ogbl_<name>/``.

    Nothing is overwritten: an existing ``ogbl_<name>/`` is left as it is.

    Raises:
        OSError: If the download fails.
        InputError: If the archive is damaged or unpacks outside its folder.
    """
    info = OGBL[name]
    dest = root / name.replace("-", "_")
    if dest.exists():
        return dest
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{dest.name}.") as tmp_name:
        tmp = Path(tmp_name)
        archive = tmp / f"{info.archive}.zip"
        logger.info("Downloading %s to %s", info.url, dest)
        try:
            _fetch(info.url, archive)
        except OSError as err:
            raise OSError(
                f"Could not download {info.url}: {err}. Check the network connection, or unpack "
                f"the archive by hand as {dest}."
            ) from err
        _unpack(archive, tmp)
        unpacked = tmp / info.archive
        if not unpacked.is_dir():
            raise InputError(f"{info.url}: the archive holds no folder {info.archive}/.")
        os.replace(unpacked, dest)
    return dest


def _unpack(archive: Path, into: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            base = into.resolve()
            for member in zf.namelist():
                if not (into / member).resolve().is_relative_to(base):
                    raise InputError(f"{archive.name}: member {member!r} would unpack outside its folder.")
            zf.extractall(into)
    except (zipfile.BadZipFile, EOFError) as err:
        raise InputError(f"{archive.name}: damaged zip archive ({err}).") from None


def _fetch(url: str, dest: Path) -> None:
    """Write the body of ``url`` to ``dest``; tests replace this function."""
    with urllib.request.urlopen(url, timeout=_TIMEOUT_S) as response, dest.open("wb") as out:
        shutil.copyfileobj(response, out)
