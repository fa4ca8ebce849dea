"""Scale: GAE with the sampled loss on planted-partition graphs of a million edges and more.

For each size ``N:E`` (nodes, edge draws) a fresh worker process (so its peak RSS is its
own) generates :func:`graphae.data.make_planted_partition` (100 blocks, p_in 0.8,
64 Gaussian features, seed 0), splits it as ``run_link_prediction`` does
(:func:`graphae.split.split_edges`: 85/5/10, seed 0), fits ``graphae.GAE(loss="sampled")``
on the training edges and scores the test split once through the decoder. The estimator
is driven directly (not through ``run_link_prediction``) so that each phase can be
timed; the full graph is dropped after the split. Reported per size:

- generation: ``make_planted_partition``;
- set-up: the split, then the fit's work before its first step (tensors on the device,
  normalized adjacency, the negative sampler's edge index);
- s/epoch: median of the epochs after the first (one full-batch step each);
  training edges/s: training edges over s/epoch;
- peak RSS of the worker, and peak GPU memory (``torch.cuda.max_memory_allocated``);
- test AUC after ``--epochs`` epochs.

``--pyg`` adds PyTorch Geometric side by side on the same split: ``GAE`` with two
``GCNConv(cached=True)`` layers 64 -> 32 -> 16 and its ``recon_loss`` (fresh
``negative_sampling`` every epoch), same epochs, threads and device. ``--profile`` times
the phases of one more graphae step (encoder, negative sampling, pair scoring, loss,
backward, Adam) and prints torch.profiler's table of its operators.

Results go to ``benchmarks/results/scale-<device>.json`` (one file per device, so a CUDA
run never erases the CPU results) and the "Scale" section of BENCHMARKS.md, which shows
every device's table. Needs only ``PYTHONPATH=src`` (no install):

    PYTHONPATH=src python benchmarks/scale.py [--sizes 100k:1M,1M:10M] [--device cpu|cuda]
        [--threads T] [--epochs 3] [--pyg] [--profile] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import machine, replace_section

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
BEGIN, END = "<!-- scale:begin -->", "<!-- scale:end -->"
DEFAULT_SIZES = "100k:1M,1M:10M"
DEVICES = ("cpu", "cuda")
_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "b": 10**9}
GIB = 1024**3


def parse_count(text: str) -> int:
    """``"100k"`` -> 100000, ``"1M"`` -> 1000000, ``"2.5M"`` -> 2500000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGbB]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"expected a count such as 100k or 1M. Got {text!r}.")
    return round(float(match.group(1)) * _UNITS[match.group(2).lower()])


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``"100k:1M,1M:10M"`` -> ``[(100000, 1000000), (1000000, 10000000)]``."""
    sizes = []
    for item in text.split(","):
        parts = item.split(":")
        if len(parts) != 2:
            raise argparse.ArgumentTypeError(f"expected sizes as NODES:EDGES[,NODES:EDGES...]. Got {item!r}.")
        sizes.append((parse_count(parts[0]), parse_count(parts[1])))
    return sizes


def label(num: int) -> str:
    for suffix, unit in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if num >= unit and num % (unit // 10) == 0:
            return f"{num / unit:g}{suffix}"
    return str(num)


# Workers -----------------------------------------------------------------------
def peak_rss_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / GIB


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def _generate_and_split(num_nodes: int, num_edges: int):
    from graphae.data import make_planted_partition
    from graphae.split import split_edges

    tick = time.perf_counter()
    graph = make_planted_partition(num_nodes, num_edges, random_state=0)
    generation = time.perf_counter() - tick
    tick = time.perf_counter()
    split = split_edges(graph, random_state=0)
    return graph.num_edges, split, generation, time.perf_counter() - tick


def worker_graphae(num_nodes: int, num_edges: int, device: str, threads: int, epochs: int, profile: bool):
    import torch

    from graphae import GAE
    from graphae.metrics import auc_ap

    torch.set_num_threads(threads)
    edges, split, generation, split_s = _generate_and_split(num_nodes, num_edges)
    est = GAE(loss="sampled", epochs=epochs, device=device, threads=threads, random_state=0)
    stamps: list[float] = []
    start = time.perf_counter()
    # Each step ends with float(loss), a device sync: the stamps close their epochs.
    est.fit(split.train, callback=lambda record: stamps.append(time.perf_counter()))
    later = [b - a for a, b in zip(stamps, stamps[1:], strict=False)]
    first = est.train_seconds_ - sum(later)
    auc, ap = auc_ap(est.pair_logits(split.test_pos), est.pair_logits(split.test_neg))
    result = {
        "edges": edges,
        "train_edges": split.train.num_edges,
        "generation_s": generation,
        "split_s": split_s,
        "tensors_s": stamps[0] - start - first,
        "first_epoch_s": first,
        "epoch_s": statistics.median(later) if later else first,
        "auc": auc,
        "ap": ap,
    }
    if profile:
        result["profile"] = profile_step(est, split.train, device)
    return result


def profile_step(est, train_graph, device: str) -> dict[str, dict[str, float]]:
    """Phase times of one more sampled-loss step (the objective's code, spelled out).

    Returns wall seconds (``"wall"``) and this process's CPU seconds (``"cpu"``, all
    threads together: on a loaded machine the one to trust with one thread).
    """
    import torch

    from graphae.losses import negative_sampling_loss
    from graphae.training import GraphTensors

    data = GraphTensors.from_graph(train_graph, device=device)
    model = est.module_.to(device)
    objective = est.build_objective()
    objective.setup(model, data)
    optimizer = objective.configure_optimizers(model)["model"]
    generator = torch.Generator(device=device).manual_seed(1)
    objective.step(model, data, {"model": optimizer}, generator)  # warm-up
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    clock = [time.perf_counter(), time.process_time()]

    def lap(name: str) -> None:
        _sync(device)
        now = [time.perf_counter(), time.process_time()]
        wall[name], cpu[name] = now[0] - clock[0], now[1] - clock[1]
        clock[:] = now

    optimizer.zero_grad(set_to_none=True)
    z = model(data.x, data.adj, generator).z
    lap("encoder forward")
    pos = data.edge_index
    neg = objective.sampler.sample(pos.shape[1], generator)
    lap("negative sampling")
    logits = model.decoder(z, torch.cat([pos, neg], dim=1))
    lap("pair scoring forward")
    value = negative_sampling_loss(*logits.split([pos.shape[1], neg.shape[1]]))
    lap("loss")
    value.backward()
    lap("backward")
    optimizer.step()
    lap("Adam step")

    activities = [torch.profiler.ProfilerActivity.CPU]
    if device == "cuda":
        activities.append(torch.profiler.ProfilerActivity.CUDA)
    with torch.profiler.profile(activities=activities) as prof:
        objective.step(model, data, {"model": optimizer}, generator)
        _sync(device)
    sort = "self_device_time_total" if device == "cuda" else "self_cpu_time_total"
    print(prof.key_averages().table(sort_by=sort, row_limit=20), file=sys.stderr)
    return {"wall": wall, "cpu": cpu}


def worker_pyg(num_nodes: int, num_edges: int, device: str, threads: int, epochs: int, profile: bool):
    import torch
    from torch_geometric.nn import GAE, GCNConv

    from graphae.metrics import auc_ap

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    edges, split, generation, split_s = _generate_and_split(num_nodes, num_edges)
    start = time.perf_counter()
    x = torch.from_numpy(split.train.x).to(device)
    train_edges = torch.from_numpy(split.train.edges()).to(device)
    edge_index = torch.cat([train_edges, train_edges.flip(0)], 1)

    class Encoder(torch.nn.Module):
        def __init__(self, cin: int) -> None:
            super().__init__()
            self.conv1 = GCNConv(cin, 32, cached=True)
            self.conv2 = GCNConv(32, 16, cached=True)

        def forward(self, x, edge_index):
            return self.conv2(self.conv1(x, edge_index).relu(), edge_index)

    net = GAE(Encoder(x.shape[1])).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    tensors = time.perf_counter() - start
    times = []
    for _ in range(epochs):
        tick = time.perf_counter()
        net.train()
        opt.zero_grad()
        value = net.recon_loss(net.encode(x, edge_index), train_edges)
        value.backward()
        opt.step()
        _sync(device)
        times.append(time.perf_counter() - tick)
    net.eval()
    with torch.no_grad():
        z = net.encode(x, edge_index)

        def score(pairs):
            p = torch.from_numpy(pairs).to(device)
            return net.decoder(z, p, sigmoid=False).cpu().numpy()

        auc, ap = auc_ap(score(split.test_pos), score(split.test_neg))
    return {
        "edges": edges,
        "train_edges": split.train.num_edges,
        "generation_s": generation,
        "split_s": split_s,
        "tensors_s": tensors,
        "first_epoch_s": times[0],
        "epoch_s": statistics.median(times[1:]) if len(times) > 1 else times[0],
        "auc": auc,
        "ap": ap,
    }


WORKERS = {"graphae": worker_graphae, "pyg": worker_pyg}


def run_worker(argv: list[str]) -> None:
    impl, num_nodes, num_edges, device, threads, epochs, profile = argv
    import torch

    # The first optimizer of a process imports torch._dynamo (seconds, whatever the graph):
    # paid here, so that the set-up times are the graph's.
    torch.optim.Adam([torch.zeros(1, requires_grad=True)])
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    result = WORKERS[impl](int(num_nodes), int(num_edges), device, int(threads), int(epochs), profile == "1")
    result["peak_rss_gib"] = peak_rss_gib()
    if device == "cuda":
        result["peak_gpu_gib"] = torch.cuda.max_memory_allocated() / GIB
    result["edges_per_s"] = result["train_edges"] / result["epoch_s"]
    print(json.dumps(result))


# Driver ------------------------------------------------------------------------
def key(impl: str, num_nodes: int, num_edges: int) -> str:
    return f"{impl}|{num_nodes}|{num_edges}"


def measure(impl: str, size: tuple[int, int], args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--worker", impl, str(size[0]), str(size[1]), args.device]
    cmd += [str(args.threads), str(args.epochs), str(int(args.profile and impl == "graphae"))]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=args.timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"stopped after {args.timeout} s"}
    if args.profile and proc.stderr:
        print(proc.stderr, file=sys.stderr)
    if proc.returncode != 0:
        tail = proc.stderr.strip().splitlines()[-1:] or [f"exit status {proc.returncode}"]
        killed = " (killed: out of memory?)" if proc.returncode in (-9, 137) else ""
        return {"error": f"{tail[0][:200]}{killed}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _order(item: tuple[str, dict]) -> tuple[int, int, str]:
    impl, n, e = item[0].split("|")
    return int(n), int(e), impl


def render_device(device: str, data: dict) -> list[str]:
    meta, results = data["meta"], data["results"]
    gpu = device == "cuda"
    where = meta["machine"] + (f", {meta['gpu']}" if gpu and meta.get("gpu") else "")
    lines = [
        f"### {device.upper()}",
        "",
        f"Measured {meta['date']} on {where}; torch {meta['torch']}, torch_geometric {meta['pyg']}, "
        f"{meta['threads']} threads, {meta['epochs']} epochs. Command: `{meta['command']}`.",
    ]
    earlier = sorted(
        {(r["date"], r["command"]) for r in results.values() if r.get("command") != meta["command"]}
    )
    lines += [f"Rows kept from an earlier run: {date}, `{command}`." for date, command in earlier]
    lines += [
        "",
        "| graph | implementation | generation s | set-up s (split + tensors) | first epoch s | s/epoch "
        "| training edges/s | peak RSS GiB |" + (" peak GPU GiB |" if gpu else "") + " test AUC |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |" + (" --- |" if gpu else "") + " --- |",
    ]
    for k, r in sorted(results.items(), key=_order):
        impl, n, e = k.split("|")
        graph = f"{label(int(n))} nodes / {label(int(e))} edges"
        name = {"graphae": "graphae", "pyg": "PyG"}[impl]
        if "error" in r:
            lines.append(f"| {graph} | {name} | failed: {r['error']} |" + " |" * (6 + gpu))
            continue
        lines.append(
            f"| {graph} | {name} | {r['generation_s']:.1f} | {r['split_s'] + r['tensors_s']:.1f} "
            f"({r['split_s']:.1f} + {r['tensors_s']:.1f}) | {r['first_epoch_s']:.2f} | {r['epoch_s']:.2f} | "
            f"{r['edges_per_s'] / 1e6:.2f}M | {r['peak_rss_gib']:.2f} |"
            + (f" {r['peak_gpu_gib']:.2f} |" if gpu else "")
            + f" {100 * r['auc']:.1f} |"
        )
    profiled = [(k, r["profile"]) for k, r in sorted(results.items(), key=_order) if "profile" in r]
    if profiled:
        lines += ["", "Phases of one more graphae step (`--profile`), seconds:", ""]
        names = list(profiled[0][1]["wall"])
        lines += ["| graph | " + " | ".join(names) + " |", "| --- |" + " --- |" * len(names)]
        for k, phases in profiled:
            _, n, e = k.split("|")
            cells = " | ".join(f"{phases['wall'][name]:.3f}" for name in names)
            lines.append(f"| {label(int(n))} / {label(int(e))} | {cells} |")
    return lines


def render() -> str:
    lines = [
        "Seeded planted-partition graphs (`graphae.data.make_planted_partition`: 100 equal blocks, "
        "p_in 0.8, 64 Gaussian features); GAE with the sampled loss, one full-batch step per epoch; "
        "PyG: `GAE` with two `GCNConv(cached=True)` and its `recon_loss`. Each size and implementation "
        "runs in a fresh process. Edges are counted once (the generator drops repeated draws).",
    ]
    for device in DEVICES:
        path = RESULTS / f"scale-{device}.json"
        if path.exists():
            lines += [""] + render_device(device, json.loads(path.read_text()))
    return "\n".join(lines)


def _rounded(profile: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    return {kind: {k: round(v, 3) for k, v in times.items()} for kind, times in profile.items()}


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        run_worker(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES), metavar="N:E,...")
    parser.add_argument("--device", choices=DEVICES, default="cpu")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--pyg", action="store_true", help="run PyTorch Geometric side by side")
    parser.add_argument("--profile", action="store_true", help="time the phases of one graphae step")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per worker before giving up")
    parser.add_argument("--no-write", action="store_true", help="print only (smoke runs)")
    args = parser.parse_args()
    if args.epochs < 1 or args.threads < 1:
        parser.error("--epochs and --threads must be >= 1")
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: CUDA is not available here.", file=sys.stderr)
        return 2
    impls = ["graphae"]
    try:
        import torch_geometric

        pyg = torch_geometric.__version__
        impls += ["pyg"] if args.pyg else []
    except ImportError:
        pyg = "absent"
        if args.pyg:
            print("--pyg: PyTorch Geometric is not importable; running graphae alone.", file=sys.stderr)
    path = RESULTS / f"scale-{args.device}.json"
    saved = json.loads(path.read_text()) if path.exists() and not args.no_write else {"results": {}}
    saved["meta"] = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "gpu": torch.cuda.get_device_name() if args.device == "cuda" else None,
        "torch": torch.__version__,
        "pyg": pyg,
        "threads": args.threads,
        "epochs": args.epochs,
        "command": "PYTHONPATH=src python benchmarks/scale.py " + " ".join(sys.argv[1:]),
    }
    for size in args.sizes:
        for impl in impls:
            r = measure(impl, size, args)
            r["date"], r["command"] = saved["meta"]["date"], saved["meta"]["command"]
            saved["results"][key(impl, *size)] = r
            if "error" in r:
                print(f"{impl} {label(size[0])}/{label(size[1])}: failed: {r['error']}", flush=True)
            else:
                print(
                    f"{impl} {label(size[0])}/{label(size[1])}: generation {r['generation_s']:.1f} s, "
                    f"set-up {r['split_s']:.1f} + {r['tensors_s']:.1f} s, first epoch {r['first_epoch_s']:.2f} s, "
                    f"{r['epoch_s']:.2f} s/epoch, {r['edges_per_s'] / 1e6:.2f}M edges/s, "
                    f"RSS {r['peak_rss_gib']:.2f} GiB, AUC {100 * r['auc']:.1f}"
                    + (f", profile {json.dumps(_rounded(r['profile']))}" if "profile" in r else ""),
                    flush=True,
                )
            if not args.no_write:  # after every worker, so an interrupted run keeps what it measured
                RESULTS.mkdir(parents=True, exist_ok=True)
                path.write_text(json.dumps(saved, indent=1))
    if not args.no_write:
        replace_section(BEGIN, END, render(), "Scale: graphs of millions of edges")
    return 0


if __name__ == "__main__":
    sys.exit(main())
