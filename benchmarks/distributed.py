"""Distributed training: Cora GAE on one process and on P processes under torchrun.

Each row runs the CLI as a user would, with the paper's settings except the loss
(``--loss sampled``: the one that is split between processes): one process without
torchrun (the baseline), then ``torchrun --nproc-per-node P`` for each P, each with
``--runs R`` seeds 0..R-1 and ``--threads T`` per process. Reported: test AUC/AP
(mean ± std over the runs), seconds per epoch of the training loop (rank 0's; the ranks
step in lockstep) and throughput in training edges per second (edges x epochs /
training seconds). The section "Distributed training" of BENCHMARKS.md is rewritten.

    GRAPHAE_DATA=../shared/data python benchmarks/distributed.py [--runs 10] [--processes 1 2] [--threads 1]

Smoke run (writes nothing): ``--runs 1 --epochs 5 --no-write``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from _common import machine, replace_section

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "distributed.json"
BEGIN, END = "<!-- distributed:begin -->", "<!-- distributed:end -->"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def train_edges(dataset: str) -> int:
    """Training edges of the CLI's split (``--task general``; the count is the same for every seed)."""
    from graphae.data import load_dataset
    from graphae.split_directed import split_for_task

    graph = load_dataset(dataset, features=False)
    return split_for_task(graph, "general", val_ratio=0.05, test_ratio=0.10, random_state=0).train.num_edges


def run_row(processes: int, args: argparse.Namespace) -> dict:
    """``processes == 0``: one plain process, without torchrun."""
    launcher = [sys.executable, "-m", "graphae"]
    if processes:
        launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes)]
        launcher += ["--master-addr", "127.0.0.1", "--master-port", str(free_port()), "-m", "graphae"]
    with tempfile.TemporaryDirectory() as out:
        options = ["train", "--dataset", args.dataset, "--model", "gae", "--loss", "sampled"]
        options += ["--epochs", str(args.epochs), "--runs", str(args.runs), "--seed", "0"]
        options += ["--threads", str(args.threads), "--device", "cpu", "--quiet"]
        print(" ".join([*launcher, *options]), flush=True)
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        start = time.perf_counter()
        subprocess.run([*launcher, *options, "--out", out], check=True, env=env)
        wall = time.perf_counter() - start
        metrics = json.loads((Path(out) / "metrics.json").read_text())
    metrics["wall_seconds"] = wall
    return metrics


def render(results: dict[str, dict], meta: dict) -> str:
    lines = [
        f"Measured {meta['date']} on {meta['machine']}, torch {meta['torch']}, {meta['threads']} thread(s) "
        f"per process, GAE on {meta['dataset']} with the paper's settings but `--loss sampled`, "
        f"{meta['epochs']} epochs, seeds 0..{meta['runs'] - 1}, {meta['train_edges']} training edges.",
        "Command: `GRAPHAE_DATA=../shared/data python benchmarks/distributed.py`; each row ran",
        "`[torchrun --nproc-per-node P] graphae train --dataset cora --loss sampled --runs R --threads T`.",
        "Mean ± standard deviation over runs, scores in percent; s/epoch is the training loop alone",
        "(rank 0's); edges/s is training edges x epochs / training seconds.",
        "",
        "| Processes | world_size | test AUC | test AP | s/epoch | training edges/s | wall s (all runs) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in results.items():
        seconds = m["train_seconds"]["mean"]
        lines.append(
            f"| {name} | {m['world_size']} | {100 * m['test_auc']['mean']:.1f} ± {100 * m['test_auc']['std']:.1f} | "
            f"{100 * m['test_ap']['mean']:.1f} ± {100 * m['test_ap']['std']:.1f} | {seconds / m['epochs']:.4f} | "
            f"{meta['train_edges'] * m['epochs'] / seconds:,.0f} | {m['wall_seconds']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="cora")
    parser.add_argument("--runs", type=int, default=10, help="seeds 0..RUNS-1 per row")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="torchrun --nproc-per-node")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per process")
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--no-write", action="store_true", help="print only (smoke runs)")
    args = parser.parse_args(argv)
    results: dict[str, dict] = {}
    for processes in [0, *args.processes]:
        name = f"torchrun, P = {processes}" if processes else "1, no torchrun"
        results[name] = m = run_row(processes, args)
        print(
            f"{name}: AUC {100 * m['test_auc']['mean']:.1f} AP {100 * m['test_ap']['mean']:.1f}  "
            f"{m['train_seconds']['mean'] / m['epochs']:.4f} s/epoch",
            flush=True,
        )
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "torch": torch.__version__,
        "threads": args.threads,
        "dataset": args.dataset,
        "epochs": args.epochs,
        "runs": args.runs,
        "train_edges": train_edges(args.dataset),
    }
    body = render(results, meta)
    print(body)
    if not args.no_write:
        RESULTS.write_text(json.dumps({"meta": meta, "rows": results}, indent=1))
        replace_section(BEGIN, END, body, "Distributed training")
    return 0


if __name__ == "__main__":
    sys.exit(main())
