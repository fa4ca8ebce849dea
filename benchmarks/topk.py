"""Top-k at scale: ``recommend`` with the faiss index (graphae.topk) against exact scoring.

For each size ``N`` a fresh worker process (so its peak RSS is its own) makes a fitted
model of ``N`` nodes, in one of two ways:

- the default, a *shell*: a GAE fitted for 1 epoch on a 2,000-node planted-partition
  graph, given the graph of ``N`` nodes (:func:`graphae.data.make_planted_partition`,
  ``5 N`` edge draws, 100 blocks, 8 features, seed 0) and a seeded random Gaussian
  embedding of width 16: the hardest case for the index (no structure to exploit);
- ``--fit``: ``GAE(loss="sampled", out_channels=16)`` fitted for ``--epochs`` (1) on that
  graph, so the embedding is a trained one.

Then, with ``--threads`` (2) threads for torch and faiss:

- index build: seconds of ``model.topk_index(target_recall)`` (the HNSW graph, of inner
  products or, where that falls short of the target, of the L2 reduction, then its
  efSearch calibrated: doubled from ``graphae.topk.EF_START`` until the mean recall@10 of
  ``recommend``, neighbours excluded, against exact scoring on 200 seeded nodes reaches
  ``--target-recall``, default ``graphae.topk.TARGET_RECALL``), the efSearch chosen and the
  recall it measured, the index's size (``index.faiss`` bytes) and the worker's peak RSS
  before and after;
- recommend latency: median and p95 of ``model.recommend(node, k=10)`` over
  ``--queries`` (200) seeded random nodes, with the index (``exact=False``) and exact
  (``exact=True``, over 20 nodes: it is the slow side);
- recall@10 of the index against exact scoring over 100 other seeded random nodes;
- save and load: ``model.save`` (which writes ``index.faiss``), ``graphae.load`` and its
  first ``recommend`` (which reads the index, checked against its checksum).

Results go to ``benchmarks/results/topk.json`` and the "Top-k at scale" section of
BENCHMARKS.md (``--no-write``: printed only). Run it alone on the machine: timings taken
beside other busy processes say nothing. Needs only ``PYTHONPATH=src`` and faiss-cpu:

    PYTHONPATH=src python benchmarks/topk.py [--sizes 100k,1M] [--fit] [--epochs 1]
        [--threads 2] [--queries 200] [--target-recall 0.95] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, write_results

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "topk.json"
BEGIN, END = "<!-- topk:begin -->", "<!-- topk:end -->"
GIB = 1024**3
RECALL_QUERIES = 100
EXACT_QUERIES = 20


def parse_count(text: str) -> int:
    """``"100k"`` -> 100000, ``"1M"`` -> 1000000."""
    units = {"": 1, "k": 10**3, "m": 10**6}
    text = text.strip().lower()
    unit = text[-1] if text[-1] in units else ""
    return int(float(text[: len(text) - len(unit)]) * units[unit])


def peak_rss() -> int:
    """Peak resident memory of this process, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def make_model(n: int, fit: bool, epochs: int, threads: int):
    import numpy as np

    from graphae import GAE
    from graphae.data import make_planted_partition

    graph = make_planted_partition(n, 5 * n, num_blocks=100, num_features=8, random_state=0)
    if fit:
        return GAE(loss="sampled", out_channels=16, epochs=epochs, threads=threads, random_state=0).fit(graph)
    small = make_planted_partition(2000, 10_000, num_blocks=100, num_features=8, random_state=0)
    model = GAE(out_channels=16, epochs=1, threads=threads, random_state=0).fit(small)
    model.graph_ = graph
    model.node_ids_ = np.arange(n) if graph.node_ids is None else graph.node_ids
    model.embedding_ = np.random.default_rng(0).standard_normal((n, 16)).astype(np.float32)
    return model


def _timed(fn, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def worker(n: int, fit: bool, epochs: int, threads: int, queries: int, target: float) -> dict:
    """One size, in this process: the figures of the module docstring."""
    import faiss
    import numpy as np
    import torch

    import graphae

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    setup_s, model = _timed(make_model, n, fit, epochs, threads)
    ids = model.node_ids_
    model.id_index()  # the id lookup is built once per model: not part of a query
    rss_before = peak_rss()
    build_s, index = _timed(model.topk_index, target)  # built, then its efSearch calibrated
    index_bytes = len(index.to_bytes())
    rss_after = peak_rss()
    rng = np.random.default_rng(1)
    nodes = ids[rng.choice(n, queries, replace=False)].tolist()
    latency = [_timed(model.recommend, node, k=10, exact=False)[0] for node in nodes]
    exact_latency = [_timed(model.recommend, node, k=10, exact=True)[0] for node in nodes[:EXACT_QUERIES]]
    probe = ids[np.random.default_rng(2).choice(n, RECALL_QUERIES, replace=False)].tolist()
    exact = model.recommend(probe, k=10, exact=True)
    approx = model.recommend(probe, k=10, exact=False)
    recall = [len({a for a, _ in e} & {a for a, _ in p}) / 10 for e, p in zip(exact, approx, strict=True)]
    with tempfile.TemporaryDirectory() as tmp:
        save_s, _ = _timed(model.save, Path(tmp) / "m")
        load_s, loaded = _timed(graphae.load, Path(tmp) / "m")
        first_s, _ = _timed(loaded.recommend, nodes[0], k=10, exact=False)
    return {
        "nodes": n,
        "edges": int(model.graph_.num_edges),
        "embedding": "fitted" if fit else "random",
        "threads": threads,
        "setup_s": round(setup_s, 2),
        "build_s": round(build_s, 2),
        "target_recall": target,
        "metric": index.metric,
        "ef_search": index.ef_search,
        "calibration_recall_at_10": round(index.calibration["recall_at_10"], 4),
        "calibration_queries": index.calibration["queries"],
        "index_mib": round(index_bytes / 2**20, 1),
        "peak_rss_gib_before_build": round(rss_before / GIB, 2),
        "peak_rss_gib_after_build": round(rss_after / GIB, 2),
        "index_ms_median": round(1e3 * statistics.median(latency), 3),
        "index_ms_p95": round(1e3 * float(np.quantile(latency, 0.95)), 3),
        "exact_ms_median": round(1e3 * statistics.median(exact_latency), 3),
        "recall_at_10": round(float(np.mean(recall)), 4),
        "recall_at_10_min": round(float(np.min(recall)), 2),
        "save_s": round(save_s, 2),
        "load_s": round(load_s, 2),
        "first_recommend_after_load_s": round(first_s, 2),
    }


def table(rows: list[dict], cpu: str, command: str) -> str:
    from graphae import topk

    lines = [
        f"`{command}` on {cpu}; faiss HNSW (M={topk.HNSW_M}, efConstruction={topk.EF_CONSTRUCTION}) "
        "of inner products, or of the L2 reduction where that one falls short of the target "
        "(graphae.topk), k=10, exclusions of existing neighbours on. "
        "efSearch is calibrated when the index is built (build s includes it): doubled from "
        f"{topk.EF_START} (at most {topk.EF_MAX}) until the mean recall@10 of recommend against exact "
        f"scoring on {topk.CALIBRATION_QUERIES} seeded nodes reaches the target (--target-recall); "
        "a search asks for at least k + degree + 1 + "
        f"{topk.MARGIN} candidates, which widens it beyond efSearch. Recall@10 against exact scoring "
        f"over {RECALL_QUERIES} other nodes; exact latency over {EXACT_QUERIES} nodes.",
        "",
        "| nodes | embedding | threads | build s | graph, efSearch (target: calibration recall) | index MiB "
        "| peak RSS GiB (before → after build) "
        "| index ms median (p95) | exact ms median | recall@10 (min) | save s | load s + first query s |",
        "|---:|---|---:|---:|---|---:|---|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['nodes']:,} | {r['embedding']} | {r['threads']} | {r['build_s']} "
            f"| {r['metric']}, {r['ef_search']} ({r['target_recall']}: {r['calibration_recall_at_10']}) "
            f"| {r['index_mib']} "
            f"| {r['peak_rss_gib_before_build']} → {r['peak_rss_gib_after_build']} "
            f"| {r['index_ms_median']} ({r['index_ms_p95']}) | {r['exact_ms_median']} "
            f"| {r['recall_at_10']} ({r['recall_at_10_min']}) | {r['save_s']} "
            f"| {r['load_s']} + {r['first_recommend_after_load_s']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M", help="node counts, comma-separated (default 1M)")
    parser.add_argument("--fit", action="store_true", help="fit a GAE instead of a random embedding")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument(
        "--target-recall", type=float, default=None, help="recall@10 efSearch is calibrated to (default 0.95)"
    )
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument(
        "--merge", action="store_true", help="keep the earlier rows of other sizes/embeddings/targets"
    )
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        from graphae.topk import TARGET_RECALL

        target = TARGET_RECALL if args.target_recall is None else args.target_recall
        print(json.dumps(worker(args.worker, args.fit, args.epochs, args.threads, args.queries, target)))
        return
    rows = []
    for n in (parse_count(s) for s in args.sizes.split(",")):
        cmd = [sys.executable, __file__, "--worker", str(n), "--epochs", str(args.epochs)]
        cmd += ["--threads", str(args.threads), "--queries", str(args.queries)] + (
            ["--fit"] if args.fit else []
        )
        cmd += [] if args.target_recall is None else ["--target-recall", str(args.target_recall)]
        out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    command = (
        "PYTHONPATH=src python benchmarks/topk.py " + " ".join(a for a in sys.argv[1:] if a != "--merge")
    ).strip()
    for row in rows:
        row["command"], row["date"] = command, dt.date.today().isoformat()
    if args.merge and RESULTS.exists():  # earlier rows of another size, embedding or target stay
        key = lambda r: (r["nodes"], r["embedding"], r.get("target_recall"))  # noqa: E731
        ours = {key(r) for r in rows}
        earlier = [
            r for r in json.loads(RESULTS.read_text())["rows"] if "metric" in r
        ]  # not the uncalibrated ones
        rows = [r for r in earlier if key(r) not in ours] + rows
    commands = "`; `".join(dict.fromkeys(r.get("command", command) for r in rows))
    body = table(rows, machine(), commands)
    print(body)
    if not args.no_write:
        write_results(RESULTS, rows, body, BEGIN, END, "Top-k at scale")


if __name__ == "__main__":
    main()
