"""Fast input and output: a 10M-edge CSV with string ids read, embeddings written.

Writes a seeded edge list into a temporary folder: ``--edges`` rows (default 10M) of
``source,target,weight`` with string ids ``user_<k>``, ``k`` uniform in
``[0, edges / 10)`` (seed 0; the header quoted as pyarrow writes it, the rows not),
and a Parquet copy of the same table. Then times, each the median of ``--reps`` runs:

- ``graphae.data.read_edgelist`` on the CSV and on the Parquet file (the whole call:
  parsing, ids, the directed-list check and the graph's CSR adjacency);
- the embedding writers on ``--nodes`` x ``--dim`` float32 values (default 1M x 16) with
  string ids: ``graphae.io.write_npy`` (a run folder's ``embeddings.npy``) and the
  table writer of ``graphae embed --out`` to ``.parquet`` and ``.csv``.

``--baseline`` also times the code these replace: the Python row-by-row text reader,
numpy's sort-based id mapping for Parquet, and the row-by-row embedding table.

Results go to ``benchmarks/results/io.json`` and the "Fast input and output" section of
BENCHMARKS.md. Needs pyarrow and only ``PYTHONPATH=src`` (no install):

    PYTHONPATH=src python benchmarks/io.py [--edges 10000000] [--nodes 1000000] [--dim 16]
        [--reps 3] [--baseline] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from _common import machine, replace_section

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "io.json"
BEGIN, END = "<!-- io:begin -->", "<!-- io:end -->"
TARGET_S = 10.0  # the target for reading 10M edges


def string_ids(pa: Any, pc: Any, k: np.ndarray) -> Any:
    """``user_<k>`` as an Arrow string array, built without Python strings."""
    return pc.binary_join_element_wise("user", pc.cast(pa.array(k), pa.string()), "_")


def write_edges(folder: Path, edges: int) -> tuple[Path, Path]:
    """The seeded CSV and its Parquet copy."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    nodes = max(edges // 10, 2)
    table = pa.table(
        {
            "source": string_ids(pa, pc, rng.integers(0, nodes, edges)),
            "target": string_ids(pa, pc, rng.integers(0, nodes, edges)),
            "weight": pa.array(np.round(rng.uniform(0.5, 2.0, edges), 3)),
        }
    )
    csv_path, parquet_path = folder / "edges.csv", folder / "edges.parquet"
    pacsv.write_csv(table, csv_path, pacsv.WriteOptions(quoting_style="none"))
    pq.write_table(table, parquet_path)
    return csv_path, parquet_path


def timed(fn: Callable[[], Any], reps: int) -> tuple[float, Any]:
    """Median seconds of ``reps`` calls, and the last call's result."""
    seconds, result = [], None
    for _ in range(reps):
        result = None  # free the previous result before the next call
        start = time.perf_counter()
        result = fn()
        seconds.append(time.perf_counter() - start)
    return statistics.median(seconds), result


@contextmanager
def baseline_readers() -> Iterator[None]:
    """The readers as they were: Python rows for text, numpy's ``np.unique`` for Parquet ids."""
    import graphae.data.edgelist as edgelist

    saved = edgelist.fast_text_edges, edgelist._encode_arrow_ids
    edgelist.fast_text_edges = lambda *args: None
    edgelist._encode_arrow_ids = lambda *args: None
    try:
        yield
    finally:
        edgelist.fast_text_edges, edgelist._encode_arrow_ids = saved


@contextmanager
def python_rows_used() -> Iterator[list[int]]:
    """Counts the calls of the Python row-by-row text reader (the fast path's fallback)."""
    import graphae.data.edgelist as edgelist

    calls, saved = [0], edgelist._read_text_rows

    def counted(*args: Any) -> Any:
        calls[0] += 1
        return saved(*args)

    edgelist._read_text_rows = counted
    try:
        yield calls
    finally:
        edgelist._read_text_rows = saved


def measure_reads(paths: dict[str, Path], reps: int, baseline: bool) -> dict[str, dict]:
    from graphae.data import read_edgelist

    results = {}
    for kind, path in paths.items():
        with python_rows_used() as calls:
            seconds, graph = timed(lambda p=path: read_edgelist(p), reps)
        r = {
            "seconds": seconds,
            "file_mb": path.stat().st_size / 1e6,
            "nodes": graph.num_nodes,
            "edges": graph.num_edges,
        }
        if path.suffix == ".csv":
            r["python_rows"] = bool(calls[0])  # True: the fast path declined the file
        del graph
        if baseline:
            with baseline_readers():
                r["baseline_seconds"], _ = timed(lambda p=path: read_edgelist(p), 1)
        results[f"read {kind}"] = r
        print(f"read {kind}: {_summary(r)}", flush=True)
    return results


def measure_writes(folder: Path, nodes: int, dim: int, reps: int, baseline: bool) -> dict[str, dict]:
    import pyarrow as pa
    import pyarrow.compute as pc

    from graphae.cli.common import write_columns, write_table
    from graphae.io import write_npy

    rng = np.random.default_rng(0)
    z = rng.standard_normal((nodes, dim), dtype=np.float32)
    ids = string_ids(pa, pc, np.arange(nodes)).to_numpy(zero_copy_only=False)
    header = ["id"] + [f"z{k}" for k in range(dim)]

    def table(path: Path) -> None:  # as `graphae embed --out` calls it
        write_columns(str(path), header, [ids, *np.ascontiguousarray(z.T, dtype=np.float64)])

    def rows(path: Path) -> None:  # `graphae embed` before write_columns
        write_table(str(path), header, [[i, *map(float, v)] for i, v in zip(ids.tolist(), z, strict=True)])

    writers = {
        "npy": (lambda p: write_npy(p, z), None),
        "parquet": (table, rows),
        "csv": (table, rows),
    }
    results = {}
    for kind, (write, before) in writers.items():
        path = folder / f"embeddings.{kind}"
        seconds, _ = timed(lambda w=write, p=path: w(p), reps)
        r = {"seconds": seconds, "file_mb": path.stat().st_size / 1e6, "rows": nodes, "dim": dim}
        if baseline and before is not None:
            r["baseline_seconds"], _ = timed(lambda b=before, p=path: b(p), 1)
        results[f"write {kind}"] = r
        print(f"write {kind}: {_summary(r)}", flush=True)
    return results


def _summary(r: dict) -> str:
    text = f"{r['seconds']:.2f} s, {r['file_mb']:.1f} MB" + (", Python rows" if r.get("python_rows") else "")
    return text + (f" (before: {r['baseline_seconds']:.2f} s)" if "baseline_seconds" in r else "")


def _count(num: int) -> str:
    for suffix, unit in (("M", 10**6), ("k", 10**3)):
        if num >= unit:
            return f"{num / unit:.4g}{suffix}"
    return str(num)


def render(data: dict) -> str:
    meta, results = data["meta"], data["results"]
    what = {
        "read csv": f"`read_edgelist`, CSV, {_count(meta['edges'])} rows, string ids",
        "read parquet": f"`read_edgelist`, Parquet, {_count(meta['edges'])} rows, string ids",
        "write npy": f"`write_npy`, {_count(meta['nodes'])} x {meta['dim']} float32",
        "write parquet": f"`graphae embed --out .parquet`, {_count(meta['nodes'])} x {meta['dim']}",
        "write csv": f"`graphae embed --out .csv`, {_count(meta['nodes'])} x {meta['dim']}",
    }
    baseline = any("baseline_seconds" in r for r in results.values())
    lines = [
        f"Measured {meta['date']} on {meta['machine']}; Python {meta['python']}, numpy {meta['numpy']}, "
        f"pyarrow {meta['pyarrow']}, median of {meta['reps']} runs"
        + (", the code replaced timed once" if baseline else "")
        + f". Command: `{meta['command']}`.",
        f"Seeded edge list: ids `user_<k>`, k uniform over {_count(max(meta['edges'] // 10, 2))} values, "
        f"a weight column; the read graph has {_count(results['read csv']['nodes'])} nodes and "
        f"{_count(results['read csv']['edges'])} edges. Target: reading 10M edges in ≤ {TARGET_S:g} s.",
        "",
        "| step | seconds | " + ("before (s) | " if baseline else "") + "file MB |",
        "| --- | --- | " + ("--- | " if baseline else "") + "--- |",
    ]
    for key, r in results.items():
        before = (
            f"{r['baseline_seconds']:.2f} | " if "baseline_seconds" in r else ("– | " if baseline else "")
        )
        name = what.get(key, key) + (
            " (read by the Python rows: the fast path declined)" if r.get("python_rows") else ""
        )
        lines.append(f"| {name} | {r['seconds']:.2f} | {before}{r['file_mb']:.1f} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", type=int, default=10_000_000, help="rows of the edge list")
    parser.add_argument("--nodes", type=int, default=1_000_000, help="rows of the embedding matrix")
    parser.add_argument("--dim", type=int, default=16, help="columns of the embedding matrix")
    parser.add_argument("--reps", type=int, default=3, help="runs per measurement (the median is kept)")
    parser.add_argument("--baseline", action="store_true", help="also time the code this replaces, once")
    parser.add_argument("--no-write", action="store_true", help="print only (smoke runs)")
    args = parser.parse_args()
    if min(args.edges, args.nodes, args.dim, args.reps) < 1:
        parser.error("--edges, --nodes, --dim and --reps must be >= 1")
    try:
        import pyarrow
    except ImportError:
        print('benchmarks/io.py needs pyarrow: pip install "graphae[parquet]"', file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="graphae-io-") as tmp:
        folder = Path(tmp)
        csv_path, parquet_path = write_edges(folder, args.edges)
        results = measure_reads({"csv": csv_path, "parquet": parquet_path}, args.reps, args.baseline)
        results.update(measure_writes(folder, args.nodes, args.dim, args.reps, args.baseline))
    data = {
        "meta": {
            "date": dt.date.today().isoformat(),
            "machine": machine(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "pyarrow": pyarrow.__version__,
            "edges": args.edges,
            "nodes": args.nodes,
            "dim": args.dim,
            "reps": args.reps,
            "command": "PYTHONPATH=src python benchmarks/io.py " + " ".join(sys.argv[1:]),
        },
        "results": {
            k: {n: round(v, 4) if isinstance(v, float) else v for n, v in r.items()}
            for k, r in results.items()
        },
    }
    table = render(data)
    print("\n" + table)
    if not args.no_write:
        RESULTS.write_text(json.dumps(data, indent=1) + "\n")
        replace_section(BEGIN, END, table, "Fast input and output")
    return 0


if __name__ == "__main__":
    sys.exit(main())
