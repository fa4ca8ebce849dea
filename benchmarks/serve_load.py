"""Load test of ``graphae serve``: many requests at a fixed concurrency, throughput and latency.

Starts the real service (``python -m graphae serve --model DIR --quiet`` on a free port of
127.0.0.1, in a subprocess, as a user would), waits for ``/health``, then sends
``--requests`` (10,000) requests with ``--concurrency`` (16) clients in flight at all times
(httpx's asyncio client, one connection per client), and stops the service with SIGTERM.
Each request is ``POST /recommend {"ids": [one seeded random node], "k": 10}`` (``--endpoint
predict``: one random pair; ``embed``: one random id; ``mix``: the three in turn). It reports
throughput (requests per second over the whole run), the median (p50), p99 and largest
latency, the errors (any status but 200, or a failed connection: there must be none) and
the service's exit status after SIGTERM (0).

The node ids come from the model folder (``graphae.load``, before the service starts).
The two models of the issue:

    graphae train --dataset cora --out runs/cora                       # Cora
    PYTHONPATH=src python benchmarks/serve_load.py --make 1M --out runs/1m   # a 1M-node model
    PYTHONPATH=src python benchmarks/serve_load.py --model runs/cora
    PYTHONPATH=src python benchmarks/serve_load.py --model runs/1m

``--make N`` saves the model of ``benchmarks/topk.py`` for ``N`` nodes (a GAE shell with a
random embedding; ``--fit``: a GAE fitted for ``--epochs``) into ``--out`` (with its top-k
index, built on saving from 100,000 nodes on) and exits. ``--server-threads`` (2) sets
``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` of the service. Results go to
``benchmarks/results/serve_load.json`` (one row per model folder, the latest run of each)
and the "Serving load test" section of BENCHMARKS.md (``--no-write``: printed only). Run it
alone on the machine: timings beside other busy processes say nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, write_results

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "serve_load.json"
BEGIN, END = "<!-- serve-load:begin -->", "<!-- serve-load:end -->"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(folder: str, port: int, threads: int, log) -> subprocess.Popen:
    import httpx

    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    argv = [sys.executable, "-m", "graphae", "serve", "--model", folder, "--port", str(port), "--quiet"]
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 600  # a 1M-node model takes a while to load and check
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the service exited with status {proc.returncode}; see {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the service did not answer /health within 10 minutes; see {log.name}")


def bodies(ids: list, endpoint: str, count: int, seed: int) -> list[tuple[str, dict]]:
    """The requests, seeded: ``(path, body)``."""
    import numpy as np

    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(ids), size=(count, 2))
    kinds = ["recommend", "predict", "embed"] if endpoint == "mix" else [endpoint]
    out = []
    for i, (a, b) in enumerate(picks.tolist()):
        kind = kinds[i % len(kinds)]
        if kind == "recommend":
            out.append(("/recommend", {"ids": [ids[a]], "k": 10}))
        elif kind == "predict":
            out.append(("/predict", {"pairs": [[ids[a], ids[b]]]}))
        else:
            out.append(("/embed", {"ids": [ids[a]]}))
    return out


async def load(
    url: str, requests: list[tuple[str, dict]], concurrency: int
) -> tuple[list[float], list[str], float]:
    """Send every request, ``concurrency`` at a time; latencies (s), errors, and the wall time (s)."""
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    queue = iter(requests)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:

        async def client_loop() -> None:
            for path, body in queue:  # the shared iterator hands each request to one client
                start = time.perf_counter()
                try:
                    answer = await client.post(path, json=body)
                    if answer.status_code != 200:
                        errors.append(f"{path} {answer.status_code}: {answer.text[:200]}")
                except httpx.HTTPError as err:
                    errors.append(f"{path}: {type(err).__name__}: {err}")
                latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        await asyncio.gather(*(client_loop() for _ in range(concurrency)))
        wall = time.perf_counter() - start
    return latencies, errors, wall


def run(args: argparse.Namespace) -> dict:
    import numpy as np

    import graphae

    model = graphae.load(args.model)
    ids = [v.item() if hasattr(v, "item") else v for v in model.node_ids_.tolist()]
    nodes, edges, name = model.graph_.num_nodes, model.graph_.num_edges, model.model_name
    del model
    requests = bodies(ids, args.endpoint, args.requests, args.seed)
    del ids
    port = free_port()
    with tempfile.NamedTemporaryFile("w+b", prefix="serve-load-", suffix=".log", delete=False) as log:
        started = time.perf_counter()
        proc = start_server(args.model, port, args.server_threads, log)
        startup_s = time.perf_counter() - started
        try:
            latencies, errors, wall = asyncio.run(
                load(f"http://127.0.0.1:{port}", requests, args.concurrency)
            )
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            status = proc.wait(timeout=60)
    for line in errors[:5]:
        print(f"error: {line}", file=sys.stderr)
    ms = np.array(latencies) * 1e3
    return {
        "model": str(args.model),
        "name": name,
        "nodes": int(nodes),
        "edges": int(edges),
        "endpoint": args.endpoint,
        "requests": len(requests),
        "concurrency": args.concurrency,
        "server_threads": args.server_threads,
        "startup_s": round(startup_s, 2),
        "wall_s": round(wall, 2),
        "throughput_rps": round(len(requests) / wall, 1),
        "p50_ms": round(float(statistics.median(ms)), 2),
        "p99_ms": round(float(np.quantile(ms, 0.99)), 2),
        "max_ms": round(float(ms.max()), 2),
        "errors": len(errors),
        "exit_status_after_sigterm": status,
        "server_log": log.name,
    }


def make(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from topk import make_model, parse_count

    if args.out is None:
        raise SystemExit("--make needs --out DIR (the model folder to write)")
    model = make_model(parse_count(args.make), args.fit, args.epochs, args.server_threads)
    model.save(args.out)
    print(f"saved a {model.graph_.num_nodes:,}-node model to {args.out}")


def table(rows: list[dict], cpu: str) -> str:
    lines = [
        f"`graphae serve` on {cpu}, loaded by `benchmarks/serve_load.py` from the same machine "
        "(httpx, asyncio, one connection per client). Latency: from sending a request to reading "
        "its whole answer.",
        "",
        "| model | nodes | endpoint | requests | concurrency | service threads | throughput req/s "
        "| p50 ms | p99 ms | max ms | errors | exit after SIGTERM |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['name']} (`{r['model']}`) | {r['nodes']:,} | {r['endpoint']} | {r['requests']:,} "
            f"| {r['concurrency']} | {r['server_threads']} | {r['throughput_rps']} | {r['p50_ms']} "
            f"| {r['p99_ms']} | {r['max_ms']} | {r['errors']} | {r['exit_status_after_sigterm']} |"
        )
    lines += ["", "Commands: " + "; ".join(f"`{r['command']}`" for r in rows)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model folder to serve")
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--endpoint", choices=["recommend", "predict", "embed", "mix"], default="recommend")
    parser.add_argument("--server-threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--make", metavar="N", help="save the benchmarks/topk.py model of N nodes, then exit")
    parser.add_argument("--out", metavar="DIR", help="with --make: the folder to write")
    parser.add_argument("--fit", action="store_true", help="with --make: a fitted GAE, not a shell")
    parser.add_argument("--epochs", type=int, default=1, help="with --make --fit")
    args = parser.parse_args()
    if args.make is not None:
        make(args)
        return
    if args.model is None:
        parser.error("give --model DIR (or --make N --out DIR)")
    row = run(args)
    row["command"] = "PYTHONPATH=src python benchmarks/serve_load.py " + " ".join(sys.argv[1:])
    print(json.dumps(row), flush=True)
    rows = [row]
    if RESULTS.exists():  # the latest run of each other model folder and endpoint stays
        old = json.loads(RESULTS.read_text())["rows"]
        rows = [r for r in old if (r["model"], r["endpoint"]) != (row["model"], row["endpoint"])] + rows
    body = table(rows, machine())
    print(body)
    if not args.no_write:
        write_results(RESULTS, rows, body, BEGIN, END, "Serving load test")


if __name__ == "__main__":
    main()
