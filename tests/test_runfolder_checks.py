"""Model folders checked on load: checksums, counts, shapes, dtypes, metadata keys and types."""

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import graphae.runfolder as runfolder
from graphae import GAE, load
from graphae.data import make_communities
from graphae.errors import InputError
from graphae.graph import Graph
from graphae.io import sha256
from graphae.runfolder import METADATA, read_model

LEGACY = Path(__file__).parent / "data" / "legacy-0.1-vgae"


@pytest.fixture(scope="module")
def graph() -> Graph:
    return make_communities(num_nodes=40, num_communities=2, random_state=0)


@pytest.fixture(scope="module")
def fitted(graph: Graph) -> GAE:
    return GAE(epochs=2, hidden_channels=8, out_channels=4, random_state=0, device="cpu").fit(graph)


@pytest.fixture
def saved(tmp_path: Path, fitted: GAE) -> Path:
    fitted.save(tmp_path / "m")
    return tmp_path / "m"


def _meta(folder: Path) -> dict:
    return json.loads((folder / METADATA).read_text())


def _write_meta(folder: Path, meta: dict) -> None:
    runfolder.write_metadata(folder, meta)  # as an attacker would: with a checksum of its own


def _reseal(folder: Path) -> None:
    """Record the current files' checksums: the structural checks must hold on their own."""
    meta = _meta(folder)
    meta["files"] = runfolder.checksums(folder, tuple(meta["files"]))
    _write_meta(folder, meta)


# checksums ------------------------------------------------------------------------
def test_metadata_records_size_and_sha256_of_every_file(saved: Path) -> None:
    files = _meta(saved)["files"]
    kept = [name for name in runfolder.FEATURES if (saved / name).is_file()]  # the features it was trained on
    assert len(kept) == 1
    assert sorted(files) == sorted(
        ["model.pt", "embeddings.npy", "node_ids.txt", "adjacency.npz", "history.json", *kept]
    )
    for name, entry in files.items():
        assert entry["bytes"] == (saved / name).stat().st_size
        assert entry["sha256"] == sha256(saved / name)


@pytest.mark.parametrize(
    "name", ["model.pt", "embeddings.npy", "node_ids.txt", "adjacency.npz", "history.json"]
)
def test_a_changed_byte_in_any_file_is_refused(saved: Path, name: str) -> None:
    data = bytearray((saved / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (saved / name).write_bytes(bytes(data))
    with pytest.raises(InputError, match=rf"{name}: the file is damaged or was changed since it was saved"):
        load(saved)


def test_a_truncated_file_is_refused_by_its_size(saved: Path) -> None:
    data = (saved / "embeddings.npy").read_bytes()
    (saved / "embeddings.npy").write_bytes(data[:-16])
    with pytest.raises(
        InputError, match=rf"embeddings.npy: .*\({len(data) - 16} bytes; metadata.json records"
    ):
        load(saved)


def test_a_file_without_a_recorded_checksum_is_refused(saved: Path) -> None:
    meta = _meta(saved)
    del meta["files"]["node_ids.txt"]
    _write_meta(saved, meta)
    with pytest.raises(InputError, match=r"node_ids.txt: metadata.json records no checksum for this file"):
        load(saved)


def test_a_folder_saved_before_checksums_loads_only_when_asked(saved: Path, fitted: GAE) -> None:
    meta = _meta(saved)
    del meta["files"], meta["checksum"]
    (saved / METADATA).write_text(json.dumps(meta))
    with pytest.raises(
        runfolder.LegacyFolderError, match=r"metadata.json: saved without checksums.*--legacy"
    ):
        load(saved)
    np.testing.assert_array_equal(load(saved, legacy=True).embedding_, fitted.embedding_)


@pytest.mark.parametrize("key", ["files", "checksum"])
def test_removing_the_checksums_does_not_switch_them_off(saved: Path, key: str) -> None:
    meta = _meta(saved)
    del meta[key]
    (saved / METADATA).write_text(json.dumps(meta))
    with pytest.raises(runfolder.LegacyFolderError, match="saved without checksums"):
        load(saved)


def test_an_edited_metadata_file_is_refused(saved: Path, fitted: GAE) -> None:
    meta = _meta(saved)
    assert meta["model"] == "gae"
    meta["model"] = "gravity_gae"  # loads, and would give other probabilities, without the checksum
    (saved / METADATA).write_text(json.dumps(meta, indent=2))
    with pytest.raises(InputError, match=r"metadata.json: changed since it was saved"):
        load(saved)
    with pytest.raises(InputError, match=r"metadata.json: changed since it was saved"):
        load(saved, legacy=True)  # a checksum that is there is always checked


def test_the_checksum_does_not_depend_on_the_layout_of_the_json(saved: Path, fitted: GAE) -> None:
    meta = _meta(saved)
    (saved / METADATA).write_text(json.dumps(dict(reversed(list(meta.items())))))
    np.testing.assert_array_equal(load(saved).embedding_, fitted.embedding_)


def test_the_graphae_0_1_fixture_loads_as_legacy() -> None:
    with pytest.raises(runfolder.LegacyFolderError, match="estimator.json: saved without checksums"):
        load(LEGACY)
    assert load(LEGACY, legacy=True).embedding_.shape == (30, 2)


# counts, shapes, dtypes -----------------------------------------------------------------
def test_duplicate_node_ids_are_refused(saved: Path) -> None:
    lines = (saved / "node_ids.txt").read_text().splitlines()
    lines[5] = lines[2]
    (saved / "node_ids.txt").write_text("\n".join(lines) + "\n")
    _reseal(saved)
    with pytest.raises(InputError, match=r"node_ids.txt: the id 2 appears twice \(positions 3 and 6\)"):
        load(saved)


def test_fewer_embedding_rows_than_ids_are_refused(saved: Path) -> None:
    np.save(saved / "embeddings.npy", np.zeros((39, 4), dtype=np.float32))
    _reseal(saved)
    with pytest.raises(
        InputError, match=r"one row of floats per node id \(40 rows\); got an array of shape \(39, 4\)"
    ):
        load(saved)


def test_non_finite_embeddings_are_refused(saved: Path, fitted: GAE) -> None:
    embedding = fitted.embedding_.copy()
    embedding[3, 1] = np.nan
    np.save(saved / "embeddings.npy", embedding)
    _reseal(saved)
    with pytest.raises(InputError, match=r"embeddings.npy: holds NaN or infinite values"):
        load(saved)


def test_an_npy_header_larger_than_its_file_is_refused_before_allocating(saved: Path) -> None:
    # A header claiming 10^12 x 4 float32 values (16 TB) over 640 bytes of data.
    data = (saved / "embeddings.npy").read_bytes()
    header = data[: data.index(b"\n") + 1].replace(b"(40, 4)", b"(1000000000000, 4)")
    (saved / "embeddings.npy").write_bytes(header + data[len(header) - 11 :])
    _reseal(saved)
    with pytest.raises(InputError, match=r"embeddings.npy: its header says \(1000000000000, 4\) values"):
        load(saved)


def test_a_tampered_node_count_is_refused(saved: Path) -> None:
    meta = _meta(saved)
    meta["graph"]["num_nodes"] = 10**12
    _write_meta(saved, meta)
    with pytest.raises(
        InputError, match=r"40 node ids, but metadata.json says the graph has 1000000000000 nodes"
    ):
        load(saved)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [("fit", "in_channels", 10**12), ("params", "hidden_channels", 10**9), ("params", "out_channels", 10**9)],
)
def test_tampered_sizes_are_refused_before_allocating(
    saved: Path, section: str, key: str, value: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    meta = _meta(saved)
    meta[section][key] = value
    _write_meta(saved, meta)
    built_on = []  # the default device of each build_module call: "meta" builds shapes, no storage
    build_module = GAE.build_module

    def recording(self, *args, **kwargs):
        built_on.append(torch.empty(0).device.type)
        return build_module(self, *args, **kwargs)

    monkeypatch.setattr(GAE, "build_module", recording)
    if key == "in_channels":  # the kept features are read first, and their width no longer fits
        message = (
            r"features.np[yz]: a 40 x \d+ matrix, but node_ids.txt has 40 ids and the model 1000000000000"
        )
    else:
        message = r"the weights in model.pt do not fit a GAE .* save the model again"
    with pytest.raises(InputError, match=message):
        load(saved)
    assert built_on == ([] if key == "in_channels" else ["meta"])  # nothing of that size was allocated


def test_a_featureless_model_needs_one_input_per_node(tmp_path: Path, graph: Graph) -> None:
    GAE(epochs=1, use_features=False, out_channels=4, device="cpu", random_state=0).fit(graph).save(tmp_path)
    meta = _meta(tmp_path)
    meta["fit"]["in_channels"] = 41
    _write_meta(tmp_path, meta)
    with pytest.raises(
        InputError, match=r"'fit.in_channels' is 41, but a model without features has one input"
    ):
        load(tmp_path)


# metadata.json keys and types --------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("fit", "in_channels"), "500", r"'fit.in_channels' must be an integer; got \"500\" \(a string\)"),
        (("fit", "in_channels"), True, r"'fit.in_channels' must be an integer; got true \(a boolean\)"),
        (("fit", "in_channels"), 0, r"'fit.in_channels' must be >= 1; got 0"),
        (("fit", "features_used"), "yes", r"'fit.features_used' must be a boolean"),
        (("graph", "directed"), 1, r"'graph.directed' must be a boolean; got 1 \(an integer\)"),
        (
            ("graph", "node_id_type"),
            "complex",
            r"'graph.node_id_type' must be one of \['int', 'float', 'str'\]",
        ),
        (("graph", "num_nodes"), 40.5, r"'graph.num_nodes' must be an integer"),
        (("model",), 7, r"'model' must be a string"),
        (("params",), [], r"'params' must be a JSON object; got \[\] \(a list\)"),
        (("learned",), "no", r"'learned' must be a boolean"),
        (
            ("files", "model.pt"),
            {"sha256": "00", "bytes": 1},
            r"'files.model.pt' must be \{\"sha256\": 64 hex",
        ),
    ],
)
def test_wrong_types_in_metadata_name_the_key(saved: Path, path: tuple, value, message: str) -> None:
    meta = _meta(saved)
    table = meta
    for key in path[:-1]:
        table = table[key]
    table[path[-1]] = value
    _write_meta(saved, meta)
    with pytest.raises(InputError, match=rf"{METADATA}: {message}"):
        load(saved)


@pytest.mark.parametrize(
    ("section", "key"), [("graph", "directed"), ("graph", "node_id_type"), ("fit", "in_channels")]
)
def test_missing_keys_in_metadata_name_the_key(saved: Path, section: str, key: str) -> None:
    meta = _meta(saved)
    del meta[section][key]
    _write_meta(saved, meta)
    with pytest.raises(InputError, match=rf"{METADATA}: '{section}.{key}' is missing"):
        load(saved)


def test_invalid_parameters_in_metadata_name_the_file(saved: Path) -> None:
    meta = _meta(saved)
    meta["params"]["lr"] = -1
    _write_meta(saved, meta)
    with pytest.raises(
        InputError, match=r"metadata.json 'params': The 'lr' parameter of GAE must be a float > 0. Got -1."
    ):
        load(saved)


# node ids -------------------------------------------------------------------------
def test_float_node_ids_survive_save_and_load(tmp_path: Path, graph: Graph) -> None:
    ids = np.array([0.1 * i for i in range(graph.num_nodes)]) + 1e-9
    ids[7] = 1e20
    fitted = GAE(epochs=1, out_channels=4, device="cpu", random_state=0).fit(graph.replace(node_ids=ids))
    fitted.save(tmp_path)
    assert _meta(tmp_path)["graph"]["node_id_type"] == "float"
    loaded = load(tmp_path)
    assert loaded.node_ids_.dtype == np.float64
    np.testing.assert_array_equal(loaded.node_ids_, ids)  # bit for bit: repr() round-trips
    assert loaded.predict_proba([(ids[0], ids[7])]) == pytest.approx(fitted.predict_proba([(ids[0], ids[7])]))


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (["a", "b\nc"], r"Node id 'b\\nc' contains a line break"),
        (["a", "b\r"], r"Node id 'b\\r' contains a line break"),
        ([0.5, float("nan")], r"Node id nan is not a valid id"),
        ([1, "1"], r"Node ids: the id '1' appears twice \(positions 1 and 2\)"),
        ([0.0, -0.0], r"Node ids: the id -0.0 appears twice"),
    ],
    ids=["newline", "carriage-return", "nan", "int-and-str", "signed-zero"],
)
def test_node_ids_that_would_not_read_back_are_refused(ids: list, message: str) -> None:
    array = np.empty(len(ids), dtype=object)
    array[:] = ids
    if all(isinstance(v, float) for v in ids):
        array = array.astype(np.float64)
    with pytest.raises(InputError, match=message):
        runfolder.node_id_lines(array)


def test_ids_with_unusual_separators_read_back(tmp_path: Path, graph: Graph) -> None:
    # str.splitlines() would split these; node_ids.txt is split on "\n" alone.
    ids = np.array(
        [f"n{i}\x1c\x0b\u2028" if i % 2 else f" n{i} " for i in range(graph.num_nodes)], dtype=object
    )
    GAE(epochs=1, out_channels=4, device="cpu", random_state=0).fit(graph.replace(node_ids=ids)).save(
        tmp_path
    )
    assert load(tmp_path).node_ids_.tolist() == ids.tolist()


# weights ------------------------------------------------------------------------------
def test_weights_that_are_not_a_state_dict_are_refused(saved: Path) -> None:
    torch.save([torch.zeros(2)], saved / "model.pt")
    _reseal(saved)
    with pytest.raises(InputError, match=r"model.pt: expected a dict of tensors \(a state dict\)"):
        read_model(saved)
