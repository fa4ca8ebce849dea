"""OGB link-prediction data sets: the reader of OGB's layout, on tiny files and on the real ogbl-ddi.

The real ogbl-collab, ogbl-ppa and ogbl-citation2 are not on our machines; their layouts are
checked on the small files of ``tests/ogb_helpers.py``.
"""

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from graphae.data import DATASETS, load_dataset
from graphae.data import ogb as ogb_module
from graphae.data.ogb import load_ogbl, resolve_ogb_root
from graphae.data.torchfile import read_torch_arrays
from graphae.errors import InputError
from graphae.pairs import pair_keys
from graphae.split_official import OfficialSplit
from ogb_helpers import NUM_NODES, save_pt, write_ogbl


@pytest.mark.parametrize(
    ("name", "metric", "directed", "features"),
    [
        ("ogbl-ddi", "hits@20", False, False),
        ("ogbl-collab", "hits@50", False, True),
        ("ogbl-ppa", "hits@100", False, True),
        ("ogbl-citation2", "mrr", True, True),
    ],
)
def test_each_layout_gives_the_training_graph_and_its_official_split(
    tmp_path, name, metric, directed, features
):
    write_ogbl(tmp_path, name)
    graph = load_dataset(name, tmp_path)
    split = graph.official_split
    assert name in DATASETS
    assert isinstance(split, OfficialSplit)
    assert (graph.name, split.name, split.metric, graph.directed) == (name, name, metric, directed)
    assert graph.num_nodes == NUM_NODES
    assert (graph.x is not None) == features
    # The graph is the training edges, and nothing else.
    train = pair_keys(split.train, NUM_NODES, directed)
    assert np.array_equal(graph.edge_keys(), np.unique(train))
    for pos in (split.valid_pos, split.test_pos):
        assert not np.isin(pair_keys(pos, NUM_NODES, directed), train).any()
    assert split.valid_pos.shape == split.test_pos.shape == (2, 25)
    if metric == "mrr":
        assert split.negatives_per_positive("valid") == split.negatives_per_positive("test") == 20
        # Negatives come positive by positive, each sharing its positive's source.
        assert np.array_equal(split.test_neg[0], np.repeat(split.test_pos[0], 20))
    else:
        assert split.negatives_per_positive() == 0
        assert split.valid_neg.shape == split.test_neg.shape == (2, 150)


def test_collab_weights_and_years_are_kept(tmp_path):
    for train_pt in (True, False):  # from train.pt, or from raw/edge_weight.csv.gz and edge_year
        write_ogbl(tmp_path / str(train_pt), "ogbl-collab", train_pt=train_pt)
        split = load_ogbl("ogbl-collab", tmp_path / str(train_pt)).official_split
        assert split.train_weight.shape == split.train_year.shape == (split.train.shape[1],)
        assert set(np.unique(split.train_weight)) <= {1, 2, 3}
        assert 2000 <= split.train_year.min() and split.train_year.max() < 2020


def test_without_train_pt_the_training_edges_are_raw_edges(tmp_path):
    with_pt = load_ogbl("ogbl-ppa", write_ogbl(tmp_path / "a", "ogbl-ppa", train_pt=True).parent)
    without = load_ogbl("ogbl-ppa", write_ogbl(tmp_path / "b", "ogbl-ppa", train_pt=False).parent)
    assert np.array_equal(with_pt.official_split.train, without.official_split.train)
    assert np.array_equal(with_pt.adj.toarray(), without.adj.toarray())


def test_features_false_skips_node_features(tmp_path):
    write_ogbl(tmp_path, "ogbl-collab")
    assert load_ogbl("ogbl-collab", tmp_path, features=False).x is None


def test_root_is_data_dir_then_graphae_data_then_the_user_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GRAPHAE_DATA", str(tmp_path / "shared"))
    assert resolve_ogb_root(tmp_path / "mine") == tmp_path / "mine"
    assert resolve_ogb_root(None) == tmp_path / "shared" / "ogb"
    monkeypatch.delenv("GRAPHAE_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert resolve_ogb_root(None) == tmp_path / "cache" / "graphae" / "ogb"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_ogb_root(None) == tmp_path / "home" / ".cache" / "graphae" / "ogb"
    write_ogbl(tmp_path / "home" / ".cache" / "graphae" / "ogb", "ogbl-ddi")
    assert load_dataset("ogbl-ddi").num_nodes == NUM_NODES


def _zip_of(folder: Path, archive: Path, inside: str) -> None:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, f"{inside}/{path.relative_to(folder)}")


def test_download_fetches_ogbs_archive_and_unpacks_it(tmp_path, monkeypatch):
    source = write_ogbl(tmp_path / "src", "ogbl-ddi")
    _zip_of(source, tmp_path / "ddi.zip", "ddi")  # OGB's zip unpacks to ddi/
    urls = []

    def fetch(url, dest):
        urls.append(url)
        dest.write_bytes((tmp_path / "ddi.zip").read_bytes())

    monkeypatch.setattr(ogb_module, "_fetch", fetch)
    root = tmp_path / "root"
    graph = load_ogbl("ogbl-ddi", root, download=True)
    assert urls == ["http://snap.stanford.edu/ogb/data/linkproppred/ddi.zip"]
    assert graph.num_edges == load_ogbl("ogbl-ddi", tmp_path / "src").num_edges
    assert sorted(p.name for p in root.iterdir()) == ["ogbl_ddi"]  # no archive or temporary left
    load_ogbl("ogbl-ddi", root, download=True)  # present: nothing fetched again
    assert len(urls) == 1


def test_download_refuses_an_archive_that_escapes_its_folder(tmp_path, monkeypatch):
    with zipfile.ZipFile(tmp_path / "evil.zip", "w") as zf:
        zf.writestr("../../escaped.txt", "x")
    monkeypatch.setattr(
        ogb_module, "_fetch", lambda url, dest: dest.write_bytes((tmp_path / "evil.zip").read_bytes())
    )
    with pytest.raises(InputError, match=r"ddi\.zip: member '\.\./\.\./escaped\.txt' would unpack outside"):
        load_ogbl("ogbl-ddi", tmp_path / "root" / "sub", download=True)
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path / "root" / "escaped.txt").exists()


def test_torch_files_of_arrays_are_read_in_both_formats(tmp_path):
    import torch

    value = {"edge": np.arange(6, dtype=np.int64).reshape(3, 2), "w": np.array([0.5, 1.5])}
    save_pt(tmp_path / "legacy.pt", value)
    torch.save(value, tmp_path / "zip.pt")
    for path in (tmp_path / "legacy.pt", tmp_path / "zip.pt"):
        got = read_torch_arrays(path)
        assert got.keys() == value.keys()
        assert all(np.array_equal(got[k], value[k]) for k in value)


def _ddi_root() -> Path:
    root = os.environ.get("GRAPHAE_DATA")
    if not root or not (Path(root) / "ogb" / "ogbl_ddi" / "raw" / "edge.csv.gz").is_file():
        pytest.skip("GRAPHAE_DATA does not point at a folder with ogb/ogbl_ddi/")
    return Path(root) / "ogb"


@pytest.mark.slow
def test_real_ogbl_ddi_has_the_published_counts():
    graph = load_dataset("ogbl-ddi", _ddi_root())
    split = graph.official_split
    assert (graph.num_nodes, graph.num_edges, graph.x, graph.directed) == (4267, 1067911, None, False)
    assert split.metric == "hits@20"
    assert split.train.shape == (2, 1067911)
    assert split.valid_pos.shape == (2, 133489) and split.valid_neg.shape == (2, 101882)
    assert split.test_pos.shape == (2, 133489) and split.test_neg.shape == (2, 95599)
    train = graph.edge_keys()
    for pairs in (split.valid_pos, split.test_pos, split.valid_neg, split.test_neg):
        assert not np.isin(pair_keys(pairs, graph.num_nodes, False), train).any()


def test_a_graph_checks_the_official_split_it_carries(tmp_path):
    graph = load_ogbl("ogbl-ddi", write_ogbl(tmp_path, "ogbl-ddi").parent)
    split = graph.official_split
    bad = OfficialSplit(
        split.name,
        split.metric,
        split.train,
        split.valid_pos,
        split.valid_neg,
        split.test_pos,
        split.test_neg + 100,
    )
    with pytest.raises(
        InputError, match=r"OfficialSplit\.test_neg holds node index 1\d\d, outside \[0, 60\)\."
    ):
        graph.replace(official_split=bad)
    with pytest.raises(
        InputError, match=r"OfficialSplit\.valid_pos must be a \[2, k\] integer array\. Got \(25, 2\)\."
    ):
        OfficialSplit(
            split.name,
            split.metric,
            split.train,
            split.valid_pos.T,
            split.valid_neg,
            split.test_pos,
            split.test_neg,
        )
    with pytest.raises(
        InputError, match=r"the same number of negatives for each of the 25 positives \(MRR\)"
    ):
        OfficialSplit(
            split.name,
            "mrr",
            split.train,
            split.valid_pos,
            split.valid_neg[:, :51],
            split.test_pos,
            split.test_neg,
        )
    with pytest.raises(TypeError, match=r"Graph\.official_split must be an OfficialSplit or None\. Got 3\."):
        graph.replace(official_split=3)


def test_download_of_a_damaged_archive_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(ogb_module, "_fetch", lambda url, dest: dest.write_bytes(b"PK\x03\x04 half a zip"))
    with pytest.raises(InputError, match=r"^ddi\.zip: damaged zip archive \(File is not a zip file\)\.$"):
        load_ogbl("ogbl-ddi", tmp_path / "root", download=True)
    assert list((tmp_path / "root").iterdir()) == []
