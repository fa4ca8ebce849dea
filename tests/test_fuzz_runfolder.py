"""Fuzzing the model-folder reader: whatever the bytes, ``load`` works or raises graphae's own error.

Random JSON mutations of ``metadata.json`` (and of graphae 0.1's ``estimator.json``),
truncations, random bytes and flipped bytes of every file. The checksums catch a changed
file at once, so file damage is also tried with the checksums recomputed (a forged
folder) or removed (an older folder): the readers behind them must hold on their own.
A loaded model must then answer (``recommend``) or refuse with graphae's error. Bounded
example counts keep the whole module well under a minute; ``GRAPHAE_FUZZ_EXAMPLES=500``
runs a longer, randomised search.
"""

import json
import os
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import graphae.runfolder as runfolder  # noqa: E402
from graphae import GAE, load  # noqa: E402
from graphae.data import make_communities  # noqa: E402
from graphae.errors import GraphaeError  # noqa: E402

LEGACY = Path(__file__).parent / "data" / "legacy-0.1-vgae"
FILES = ("model.pt", "embeddings.npy", "node_ids.txt", "adjacency.npz", "history.json")
_EXAMPLES = os.environ.get("GRAPHAE_FUZZ_EXAMPLES")
FUZZ = settings(
    max_examples=int(_EXAMPLES or 25),
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    derandomize=_EXAMPLES is None,  # by default the same examples on every run: CI failures reproduce
)


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The bytes of every file of a small saved model."""
    folder = tmp_path_factory.mktemp("model")
    graph = make_communities(
        num_nodes=12, num_communities=2, avg_degree=4.0, num_features=6, features_per_node=2.0, random_state=0
    )
    GAE(epochs=1, hidden_channels=4, out_channels=2, random_state=0, device="cpu").fit(graph).save(folder)
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def _load_or_refuse(files: dict[str, bytes]) -> None:
    """Write ``files`` to a fresh folder; loading and using it works or raises GraphaeError."""
    folder = Path(tempfile.mkdtemp(prefix="graphae-fuzz-"))
    try:
        for name, data in files.items():
            (folder / name).write_bytes(data)
        try:
            model = load(folder)
            model.recommend(model.node_ids_[0], k=2)
        except GraphaeError as err:
            assert str(err).strip(), "an error without a message"
    finally:
        shutil.rmtree(folder)


# JSON mutations ---------------------------------------------------------------------------
_SCALARS = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def _mutate(data: st.DataObject, value: Any, depth: int = 0) -> Any:
    """``value`` with one random change somewhere inside: a key removed, added or replaced."""
    containers = isinstance(value, (dict, list)) and len(value) > 0
    action = data.draw(
        st.sampled_from(["descend", "replace", "delete", "add"] if containers else ["replace"])
    )
    if action == "replace" or depth > 4:
        return data.draw(_JSON)
    if isinstance(value, dict):
        key = data.draw(st.sampled_from(sorted(value)))
        out = dict(value)
        if action == "descend":
            out[key] = _mutate(data, value[key], depth + 1)
        elif action == "delete":
            del out[key]
        else:
            out[data.draw(st.text(max_size=8))] = data.draw(_JSON)
        return out
    index = data.draw(st.integers(0, len(value) - 1))
    out = list(value)
    if action == "descend":
        out[index] = _mutate(data, value[index], depth + 1)
    elif action == "delete":
        del out[index]
    else:
        out.insert(index, data.draw(_JSON))
    return out


@FUZZ
@given(data=st.data())
def test_random_metadata_mutations(original: dict[str, bytes], data: st.DataObject) -> None:
    metadata = _mutate(data, json.loads(original["metadata.json"]))
    _load_or_refuse({**original, "metadata.json": json.dumps(metadata).encode()})


@FUZZ
@given(data=st.data())
def test_random_mutations_of_a_graphae_0_1_estimator_json(data: st.DataObject) -> None:
    files = {p.name: p.read_bytes() for p in LEGACY.iterdir()}
    state = _mutate(data, json.loads(files["estimator.json"]))
    _load_or_refuse({**files, "estimator.json": json.dumps(state).encode()})


# damaged files ----------------------------------------------------------------------------------
def _with_checksums(files: dict[str, bytes], how: str) -> dict[str, bytes]:
    """``files`` with ``metadata.json`` recording their checksums as they are now, or none."""
    metadata = json.loads(files["metadata.json"])
    if how == "removed":
        metadata.pop("files")
    elif how == "forged":
        folder = Path(tempfile.mkdtemp(prefix="graphae-sums-"))
        try:
            for name in FILES:
                (folder / name).write_bytes(files[name])
            metadata["files"] = runfolder.checksums(folder, FILES)
        finally:
            shutil.rmtree(folder)
    return {**files, "metadata.json": json.dumps(metadata).encode()}


_CHECKSUMS = st.sampled_from(["kept", "forged", "removed"])


@FUZZ
@given(name=st.sampled_from(("metadata.json", *FILES)), cut=st.floats(0, 1), checksums=_CHECKSUMS)
def test_truncated_files(original: dict[str, bytes], name: str, cut: float, checksums: str) -> None:
    files = {**original, name: original[name][: int(cut * len(original[name]))]}
    _load_or_refuse(files if name == "metadata.json" else _with_checksums(files, checksums))


@FUZZ
@given(name=st.sampled_from(("metadata.json", *FILES)), junk=st.binary(max_size=600), checksums=_CHECKSUMS)
def test_random_bytes(original: dict[str, bytes], name: str, junk: bytes, checksums: str) -> None:
    files = {**original, name: junk}
    _load_or_refuse(files if name == "metadata.json" else _with_checksums(files, checksums))


@FUZZ
@given(
    name=st.sampled_from(FILES),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)), min_size=1, max_size=4),
    checksums=st.sampled_from(["forged", "removed"]),
)
def test_flipped_bytes(original: dict[str, bytes], name: str, flips: list, checksums: str) -> None:
    data = bytearray(original[name])
    for where, mask in flips:
        data[int(where * len(data))] ^= mask
    _load_or_refuse(_with_checksums({**original, name: bytes(data)}, checksums))
