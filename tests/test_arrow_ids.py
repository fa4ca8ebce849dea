"""encode_endpoints numbers ids in order of first appearance in s0, t0, s1, t1, ..., as Python does."""

import numpy as np
import pytest

import graphae.data.arrow_ids as arrow_ids
from graphae.data.arrow_ids import encode_endpoints

pa = pytest.importorskip("pyarrow")


def _reference(source: list, target: list) -> tuple[list, list[int], list[int]]:
    """The Python reader's numbering: a dict filled in interleaved order."""
    index: dict = {}
    for u, v in zip(source, target, strict=True):
        index.setdefault(u, len(index))
        index.setdefault(v, len(index))
    return list(index), [index[u] for u in source], [index[v] for v in target]


def _chunked(values: list, kind, rng: np.random.Generator):
    """``values`` as a chunked array cut at random places (empty chunks included)."""
    cuts = np.sort(rng.integers(0, len(values) + 1, int(rng.integers(0, 4))))
    bounds = [0, *cuts.tolist(), len(values)]
    return pa.chunked_array([values[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)], kind)


def _check(got: tuple, expected: tuple) -> None:
    ids, src, dst = got
    assert ids.to_pylist() == expected[0]
    assert src.dtype == dst.dtype == np.int64
    assert src.tolist() == expected[1]
    assert dst.tolist() == expected[2]


def test_ids_follow_the_interleaved_first_appearance() -> None:
    # s0 t0 s1 t1 s2 t2 = c a a d b c: ids c a d b.
    got = encode_endpoints(pa.array(["c", "a", "b"]), pa.array(["a", "d", "c"]))
    _check(got, (["c", "a", "d", "b"], [0, 1, 3], [1, 2, 0]))


@pytest.mark.parametrize("threads", [False, True], ids=["one-thread", "threads"])
@pytest.mark.parametrize("kind", ["string", "large_string", "int64", "int32"])
@pytest.mark.parametrize("seed", range(15))
def test_random_columns_are_numbered_as_python_does(seed: int, kind: str, threads: bool) -> None:
    rng = np.random.default_rng(seed)
    n, pool = int(rng.integers(1, 60)), int(rng.integers(1, 25))
    draw = rng.integers(0, pool, (2, n)).tolist()
    if kind.endswith("string"):
        draw = [[f"n{k}" for k in row] for row in draw]
    source, target = draw
    arrow_type = getattr(pa, kind)()
    got = encode_endpoints(
        _chunked(source, arrow_type, rng), _chunked(target, arrow_type, rng), threads=threads
    )
    assert got[0].type == (pa.string() if kind.endswith("string") else arrow_type)
    _check(got, _reference(source, target))


def test_string_and_large_string_columns_are_one_type() -> None:
    source, target = ["x", "y", "x"], ["y", "z", "w"]
    got = encode_endpoints(pa.array(source, pa.large_string()), pa.array(target, pa.string()))
    _check(got, _reference(source, target))


def test_text_past_32_bit_offsets_is_grouped_as_large_string(monkeypatch) -> None:
    monkeypatch.setattr(arrow_ids, "_STRING_BYTES", 0)
    source, target = ["b", "a"], ["a", "c"]
    got = encode_endpoints(pa.array(source), pa.array(target))
    assert got[0].type == pa.large_string()
    _check(got, _reference(source, target))


def test_empty_columns_give_no_ids() -> None:
    _check(
        encode_endpoints(pa.chunked_array([], pa.string()), pa.chunked_array([], pa.string())), ([], [], [])
    )


def test_grouping_on_several_threads_numbers_as_python_does() -> None:
    # Enough rows in enough chunks for Arrow to group on several threads and merge, in any order.
    rng = np.random.default_rng(0)
    source, target = (rng.integers(0, 50_000, 200_000).astype(str).tolist() for _ in range(2))
    chunks = [
        pa.chunked_array([values[i : i + 10_000] for i in range(0, len(values), 10_000)])
        for values in (source, target)
    ]
    before = pa.cpu_count()
    pa.set_cpu_count(4)
    try:
        got = encode_endpoints(*chunks, threads=True)
    finally:
        pa.set_cpu_count(before)
    _check(got, _reference(source, target))
