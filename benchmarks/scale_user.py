"""Scale, the user's path: `graphae train` on Parquet files, and `run_link_prediction`, phase by phase.

``benchmarks/scale.py`` times ``fit`` on a graph already split; a user runs more: reading
the files, the split, the ranking negatives, the training, the evaluation, writing the run
folder. For each size ``N:E`` (nodes, edge draws):

- ``--mode train`` (default): a worker process generates
  :func:`graphae.data.make_planted_partition` (100 blocks, p_in 0.8, 64 Gaussian
  features, seed 0) and writes ``edges.parquet`` (``source``, ``target``) and
  ``features.parquet`` (``id`` and 64 float32 columns); then
  ``python -m graphae train --edges edges.parquet --features features.parquet --out run``
  runs as its own process, with the given ``--epochs`` and otherwise graphae's defaults.
- ``--mode api``: a worker generates the same graph and calls
  ``run_link_prediction(graph, GAE(epochs=...))`` with its defaults.

Reported per phase: wall seconds and the peak RSS of the process at its end (graphae records
both in ``metrics.json`` ``phases`` and on the ``wrote`` line; ``RunResult.phases`` in Python),
then the whole command's wall seconds and peak RSS (``wait4``), and the seconds outside the
training steps. Nothing is written to BENCHMARKS.md: paste the printed tables there. Needs
pyarrow (the ``parquet`` extra) for ``--mode train``, and ``PYTHONPATH=src``:

    PYTHONPATH=src python benchmarks/scale_user.py [--sizes 1M:10M] [--mode train|api]
        [--epochs 3] [--threads T] [--work DIR] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scale import label, parse_sizes

GIB = 1024**3
NUM_FEATURES = 64
_WROTE = re.compile(r"^wrote .* \((?P<seconds>[\d.]+) s(, peak RSS (?P<rss>[\d.]+) GiB)?\)$")


# Workers (separate processes, so that the graph never sits in the measured one) ---------
def worker_files(num_nodes: int, num_edges: int, folder: str) -> None:
    """Generate the graph and write it as the two Parquet files a user would have."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from graphae.data import make_planted_partition

    graph = make_planted_partition(num_nodes, num_edges, num_features=NUM_FEATURES, random_state=0)
    edges = graph.edges()
    pq.write_table(pa.table({"source": edges[0], "target": edges[1]}), Path(folder) / "edges.parquet")
    del edges
    columns = {"id": np.arange(graph.num_nodes, dtype=np.int64)}
    columns.update({f"f{j}": np.ascontiguousarray(graph.x[:, j]) for j in range(graph.x.shape[1])})
    pq.write_table(pa.table(columns), Path(folder) / "features.parquet")
    print(json.dumps({"nodes": graph.num_nodes, "edges": graph.num_edges}))


def worker_api(num_nodes: int, num_edges: int, epochs: int, threads: int) -> None:
    """``run_link_prediction`` with its defaults on the generated graph; its phases as JSON."""
    import torch

    from graphae import GAE
    from graphae.data import make_planted_partition
    from graphae.experiment import run_link_prediction
    from graphae.phases import Phases

    torch.set_num_threads(threads)
    phases = Phases()
    with phases("generate"):
        graph = make_planted_partition(num_nodes, num_edges, random_state=0)
    result = run_link_prediction(graph, GAE(epochs=epochs, threads=threads), phases=phases)
    summary = {
        "nodes": graph.num_nodes,
        "edges": graph.num_edges,
        "phases": phases.records,
        "evaluation": result.evaluation.describe(),
        "test_auc": result.test_auc,
    }
    print(json.dumps(summary))


# Driver ---------------------------------------------------------------------------------
def run_measured(cmd: list[str], env: dict[str, str], timeout: float) -> tuple[int, float, float, str, str]:
    """Run ``cmd``; its exit status, wall seconds, peak RSS (GiB, from ``wait4``), stdout, stderr."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        tick = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, text=True)
        deadline = tick + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        wall = time.perf_counter() - tick
        out.seek(0)
        err.seek(0)
        return proc.returncode, wall, usage.ru_maxrss * 1024 / GIB, out.read(), err.read()


def _env(threads: int) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": str(threads)}


def measure_train(size: tuple[int, int], args: argparse.Namespace, work: Path) -> dict:
    folder = work / f"{label(size[0])}-{label(size[1])}"
    folder.mkdir(parents=True, exist_ok=True)
    gen = [sys.executable, __file__, "--worker", "files", str(size[0]), str(size[1]), str(folder)]
    rc, gen_wall, gen_rss, out, err = run_measured(gen, _env(args.threads), args.timeout)
    if rc != 0:
        return {"error": f"generating the files: {(err.strip().splitlines() or [rc])[-1]}"}
    info = json.loads(out.strip().splitlines()[-1])
    run_dir = folder / "run"
    cmd = [sys.executable, "-m", "graphae", "train", "--edges", str(folder / "edges.parquet")]
    cmd += ["--features", str(folder / "features.parquet"), "--epochs", str(args.epochs)]
    cmd += ["--device", "cpu", "--threads", str(args.threads), "--out", str(run_dir), "--overwrite"]
    rc, wall, rss, out, err = run_measured(cmd, _env(args.threads), args.timeout)
    result = {**info, "command": " ".join(["graphae", *cmd[3:]]), "wall_s": wall, "peak_rss_gib": rss}
    result["generate"] = {"seconds": gen_wall, "peak_rss_gib": gen_rss}
    if rc != 0:
        killed = " (killed: out of memory?)" if rc in (-9, 137) else ""
        result["error"] = f"{(err.strip().splitlines() or [f'exit status {rc}'])[-1][:300]}{killed}"
        return result
    metrics = json.loads((run_dir / "metrics.json").read_text())
    phases = list(metrics["phases"])
    for line in err.splitlines():
        match = _WROTE.match(line.strip())
        if match:
            rss_text = match.group("rss")
            phases.append(
                {
                    "phase": "write",
                    "seconds": float(match.group("seconds")),
                    "peak_rss_gib": float(rss_text) if rss_text else None,
                }
            )
    result.update(phases=phases, evaluation=metrics["evaluation"], test_auc=metrics["test_auc"]["mean"])
    # The run folder loads in a fresh process (checksums verified), as a user would load it.
    load = [sys.executable, "-c", f"import graphae; print(graphae.load({str(run_dir)!r}).embedding_.shape)"]
    rc, load_wall, load_rss, out, err = run_measured(load, _env(args.threads), args.timeout)
    result["load"] = {
        "ok": rc == 0,
        "seconds": load_wall,
        "peak_rss_gib": load_rss,
        "shape": out.strip()[-40:],
    }
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def measure_api(size: tuple[int, int], args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", "api", str(size[0]), str(size[1])]
    cmd += [str(args.epochs), str(args.threads)]
    rc, wall, rss, out, err = run_measured(cmd, _env(args.threads), args.timeout)
    if rc != 0:
        killed = " (killed: out of memory?)" if rc in (-9, 137) else ""
        return {"error": f"{(err.strip().splitlines() or [f'exit status {rc}'])[-1][:300]}{killed}"}
    return {**json.loads(out.strip().splitlines()[-1]), "wall_s": wall, "peak_rss_gib": rss}


def render(size: tuple[int, int], result: dict, mode: str) -> str:
    """A Markdown table of the phases of one size."""
    head = f"{label(size[0])} nodes / {label(size[1])} edge draws, --mode {mode}"
    if "phases" not in result:
        return f"{head}: {result.get('error', 'no result')}\n"
    lines = [f"{head} ({result['nodes']:,} nodes, {result['edges']:,} edges)", ""]
    if "command" in result:
        lines += [f"`{result['command']}`", ""]
    lines += ["| phase | s | peak RSS GiB |", "| --- | ---: | ---: |"]
    steps = 0.0
    for rec in result["phases"]:
        rss = rec.get("peak_rss_gib")
        name = rec["phase"] + (f" (run {rec['run']})" if rec.get("run", 1) != 1 else "")
        lines.append(f"| {name} | {rec['seconds']:.1f} | {'?' if rss is None else f'{rss:.2f}'} |")
        if "steps_seconds" in rec:
            steps += rec["steps_seconds"]
            lines.append(f"| - of it, the training steps | {rec['steps_seconds']:.1f} | |")
    other = result["wall_s"] - sum(rec["seconds"] for rec in result["phases"])
    lines.append(f"| the rest (start-up: imports, checks) | {other:.1f} | |")
    lines.append(f"| **whole command** | {result['wall_s']:.1f} | {result['peak_rss_gib']:.2f} |")
    lines.append(f"| outside the training steps | {result['wall_s'] - steps:.1f} | |")
    ranking = result["evaluation"]["ranking"]
    lines += ["", f"Ranked {ranking['ranked_test_edges']:,} of {ranking['test_edges']:,} test edges; "]
    lines[-1] += f"test AUC {100 * result['test_auc']:.1f}." + (
        f" Error: {result['error']}" if "error" in result else ""
    )
    if "load" in result:
        load = result["load"]
        state = "loads" if load["ok"] else "does NOT load"
        lines += ["", f"The run folder {state} with `graphae.load` in a fresh process "]
        lines[-1] += (
            f"({load['seconds']:.1f} s, peak RSS {load['peak_rss_gib']:.2f} GiB; embedding {load['shape']})."
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        kind, rest = sys.argv[2], sys.argv[3:]
        if kind == "files":
            worker_files(int(rest[0]), int(rest[1]), rest[2])
        else:
            worker_api(int(rest[0]), int(rest[1]), int(rest[2]), int(rest[3]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1M:10M"), help="NODES:EDGES,...")
    parser.add_argument("--mode", choices=("train", "api"), default="train")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per command")
    parser.add_argument(
        "--work", type=Path, help="folder for the files and run folders (default: a temporary one)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the Parquet files and run folders")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="graphae-scale-") as tmp:
        work = args.work or Path(tmp)
        for size in args.sizes:
            result = measure_train(size, args, work) if args.mode == "train" else measure_api(size, args)
            results[f"{size[0]}:{size[1]}"] = result
            print(render(size, result, args.mode), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
