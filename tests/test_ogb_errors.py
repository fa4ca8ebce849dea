"""Bad OGB input: one line naming the file, never a traceback, never code run from a pickle."""

import gzip
import os
import pickle

import numpy as np
import pytest

from cli_helpers import user_error
from graphae.data import load_ogbl
from graphae.data.torchfile import LEGACY_MAGIC, LEGACY_PROTOCOL
from graphae.errors import InputError, MissingFileError
from ogb_helpers import NUM_NODES, save_pt, write_ogbl


def _train_argv(root) -> list[str]:
    return ["train", "--dataset", "ogbl-ddi", "--data-dir", str(root), "--epochs", "1", "--quiet"]


def test_a_missing_file_is_named(tmp_path, capsys):
    folder = write_ogbl(tmp_path, "ogbl-ddi")
    (folder / "split" / "target" / "valid.pt").unlink()
    with pytest.raises(
        MissingFileError, match=r"ogbl_ddi/split/target/valid\.pt: no such file \(OGB's ogbl-ddi: "
    ):
        load_ogbl("ogbl-ddi", tmp_path)
    line = user_error(capsys, _train_argv(tmp_path))
    assert line == (
        f"graphae: error: {folder}/split/target/valid.pt: no such file (OGB's ogbl-ddi: move ogbl_ddi/ away and "
        "pass download=True, CLI --download, to fetch http://snap.stanford.edu/ogb/data/linkproppred/ddi.zip again)"
    )


def test_a_missing_folder_says_how_to_get_it(tmp_path, capsys):
    line = user_error(capsys, _train_argv(tmp_path))
    assert line == (
        f"graphae: error: {tmp_path}/ogbl_ddi: no such folder (OGB's ogbl-ddi: pass "
        "download=True, CLI --download, to fetch http://snap.stanford.edu/ogb/data/linkproppred/ddi.zip; "
        "or point root, CLI --data-dir, at the folder holding ogbl_ddi/)"
    )


def test_a_damaged_gz_is_named(tmp_path, capsys):
    folder = write_ogbl(tmp_path, "ogbl-ddi")
    edges = folder / "raw" / "edge.csv.gz"
    edges.write_bytes(edges.read_bytes()[:40])  # truncated
    with pytest.raises(
        InputError,
        match=r"raw/edge\.csv\.gz: is truncated or not a readable gzip file \(Compressed file ended",
    ):
        load_ogbl("ogbl-ddi", tmp_path)
    assert "raw/edge.csv.gz: is truncated or not a readable gzip file" in user_error(
        capsys, _train_argv(tmp_path)
    )
    edges.write_bytes(b"0,1\n1,2\n")  # not gzip at all
    with pytest.raises(
        InputError, match=r"raw/edge\.csv\.gz: is truncated or not a readable gzip file \(Not a gzipped file"
    ):
        load_ogbl("ogbl-ddi", tmp_path)


def test_a_gz_that_is_not_numbers_is_named(tmp_path):
    folder = write_ogbl(tmp_path, "ogbl-ddi")
    with gzip.open(folder / "raw" / "edge.csv.gz", "wt") as f:
        f.write("0,1\n1,x\n")
    with pytest.raises(
        InputError, match=r"raw/edge\.csv\.gz: could not convert string 'x' to int64 at row 1"
    ):
        load_ogbl("ogbl-ddi", tmp_path)


def test_a_damaged_pt_is_named(tmp_path, capsys):
    folder = write_ogbl(tmp_path, "ogbl-ddi")
    valid = folder / "split" / "target" / "valid.pt"
    valid.write_bytes(valid.read_bytes()[:-300])  # truncated inside the arrays
    with pytest.raises(InputError, match=r"^Could not unpickle .*split/target/valid\.pt: UnpicklingError: "):
        load_ogbl("ogbl-ddi", tmp_path)
    assert "split/target/valid.pt" in user_error(capsys, _train_argv(tmp_path))
    valid.write_bytes(pickle.dumps(12345) * 3)  # pickles, but not torch's header
    with pytest.raises(
        InputError, match=r"valid\.pt: not a torch\.save file \(its header is not torch's\)\."
    ):
        load_ogbl("ogbl-ddi", tmp_path)


class _Exploit:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("fmt", ["legacy", "zip"])
def test_a_pickle_that_asks_for_code_is_refused_and_never_run(tmp_path, capsys, fmt):
    folder = write_ogbl(tmp_path, "ogbl-ddi")
    marker = tmp_path / "pwned"
    valid = folder / "split" / "target" / "valid.pt"
    evil = {"edge": np.zeros((1, 2), dtype=np.int64), "edge_neg": _Exploit(str(marker))}
    if fmt == "legacy":
        with valid.open("wb") as f:
            for part in (LEGACY_MAGIC, LEGACY_PROTOCOL, {"protocol_version": LEGACY_PROTOCOL}, evil, []):
                pickle.dump(part, f, protocol=2)
    else:
        import torch

        torch.save(evil, valid)
    system = f"{os.system.__module__}.system"  # posix.system
    with pytest.raises(
        InputError, match=rf"Refusing to load .*valid\.pt: it asks for {system}, which is not"
    ):
        load_ogbl("ogbl-ddi", tmp_path)
    line = user_error(capsys, _train_argv(tmp_path))
    assert f"valid.pt: it asks for {system}" in line
    assert not marker.exists()


def test_torch_tensors_are_refused(tmp_path):
    import torch

    folder = write_ogbl(tmp_path, "ogbl-ddi")
    save_pt(folder / "split" / "target" / "test.pt", {"edge": torch.zeros(3, 2, dtype=torch.long)})
    with pytest.raises(InputError, match=r"test\.pt: it asks for torch\._utils\._rebuild_tensor_v2"):
        load_ogbl("ogbl-ddi", tmp_path)


def test_a_split_index_out_of_range_is_named(tmp_path, capsys):
    folder = write_ogbl(tmp_path, "ogbl-ddi")
    test = folder / "split" / "target" / "test.pt"
    save_pt(test, {"edge": np.array([[0, 1], [2, NUM_NODES]]), "edge_neg": np.array([[0, 2]])})
    message = (
        f"'edge' holds node index {NUM_NODES}, outside [0, {NUM_NODES}) (the graph has {NUM_NODES} nodes)."
    )
    with pytest.raises(InputError, match=r"split/target/test\.pt: 'edge' holds node index 60, outside"):
        load_ogbl("ogbl-ddi", tmp_path)
    assert user_error(capsys, _train_argv(tmp_path)) == f"graphae: error: {test}: {message}"
    save_pt(test, {"edge": np.array([[0, 1]]), "edge_neg": np.array([[-1, 2]])})
    with pytest.raises(InputError, match=r"test\.pt: 'edge_neg' holds node index -1, outside \[0, 60\)"):
        load_ogbl("ogbl-ddi", tmp_path)


def test_a_raw_edge_out_of_range_and_malformed_splits_are_named(tmp_path):
    folder = write_ogbl(tmp_path / "a", "ogbl-ddi")
    with gzip.open(folder / "raw" / "edge.csv.gz", "wt") as f:
        f.write(f"0,1\n1,{NUM_NODES + 5}\n")
    with pytest.raises(InputError, match=r"raw/edge\.csv\.gz: holds node index 65, outside \[0, 60\)"):
        load_ogbl("ogbl-ddi", tmp_path / "a")
    folder = write_ogbl(tmp_path / "b", "ogbl-ddi")
    save_pt(folder / "split" / "target" / "test.pt", {"edge": np.zeros((3, 3), dtype=np.int64)})
    with pytest.raises(
        InputError, match=r"test\.pt: 'edge' must be an integer array \[k, 2\]\. Got shape \[3, 3\]\."
    ):
        load_ogbl("ogbl-ddi", tmp_path / "b")
    save_pt(folder / "split" / "target" / "test.pt", [1, 2])
    with pytest.raises(InputError, match=r"test\.pt: expected a dict of arrays \(OGB's split\), got list\."):
        load_ogbl("ogbl-ddi", tmp_path / "b")
