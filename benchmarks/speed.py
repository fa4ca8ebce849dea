"""Side-by-side speed of graphae, PyTorch Geometric and a plain dense PyTorch exact loss.

Every measurement runs in a fresh worker process (so its peak RSS is its own),
the implementations are interleaved, and each is repeated; the median is reported.
All share one link split (graphae's ``split_edges``, seed 0), the thread count and
the number of epochs; the training loop alone is timed (no per-epoch evaluation).

    pip install -e ".[bench]"
    GRAPHAE_DATA=../shared/data python benchmarks/speed.py [--reps 5] [--threads 2]
        [--models gae,vgae,linear_gae,linear_vgae]

``--models`` picks the models of the table (default ``gae,vgae``); rows of earlier runs
stay in ``benchmarks/results/speed.json`` and the table shows every model measured there.

Implementations:
- ``graphae``: the registry's estimator (``gae``, ``vgae``, ``linear_gae``,
  ``linear_vgae``) with ``loss="sampled"`` or ``loss="exact"``.
- ``pyg``: PyTorch Geometric's ``GAE``/``VGAE`` set up as in its
  ``examples/autoencoder.py`` (GCNConv 2*16 -> 16, or one GCNConv -> 16 for its
  ``--linear`` encoders; ``NormalizeFeatures``, ``recon_loss`` with fresh negatives,
  ``kl_loss / N``), identity features as ``torch.eye(N)`` when featureless.
- ``dense``: the paper's exact loss written plainly in PyTorch: graphae's own featureless
  encoder of the model, ``z @ z.T`` and ``binary_cross_entropy_with_logits(..., pos_weight)``
  against a dense ``A + I`` label matrix.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _common import machine, replace_section

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "speed.json"
BEGIN, END = "<!-- speed:begin -->", "<!-- speed:end -->"
# Models the table can hold, in table order, and how a row names them.
MODELS = ("gae", "vgae", "linear_gae", "linear_vgae")
DEFAULT_MODELS = ("gae", "vgae")
LABELS = {"gae": "GAE", "vgae": "VGAE", "linear_gae": "Linear GAE", "linear_vgae": "Linear VGAE"}
# Models of the "exact loss with features" list: the non-variational ones.
FEATURED_EXACT = ("gae", "linear_gae")


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# Workers -----------------------------------------------------------------------
def load(dataset: str, features: bool):
    from graphae.data import load_dataset
    from graphae.split import split_edges

    graph = load_dataset(dataset, features=features)
    return graph, split_edges(graph, random_state=0)


def worker_graphae(dataset, model, features, loss, epochs, threads):
    from graphae.experiment import make_estimator
    from graphae.metrics import auc_ap

    graph, split = load(dataset, features)
    est = make_estimator(
        model, loss=loss, epochs=epochs, use_features=features, random_state=0, device="cpu", threads=threads
    )
    est.fit(split.train)
    auc, ap = auc_ap(est.pair_logits(split.test_pos), est.pair_logits(split.test_neg))
    return {"seconds": est.train_seconds_, "auc": auc, "ap": ap}


def worker_pyg(dataset, model, features, loss, epochs, threads):
    import torch
    from torch_geometric.nn import GAE, VGAE, GCNConv

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    graph, split = load(dataset, features)
    n = graph.num_nodes
    if features:
        x = torch.from_numpy(graph.x.toarray())
        x = x / x.sum(1, keepdim=True).clamp(min=1)  # T.NormalizeFeatures()
    else:
        x = torch.eye(n)
    train_edges = torch.from_numpy(split.train.edges())
    edge_index = torch.cat([train_edges, train_edges.flip(0)], 1)

    class Encoder(torch.nn.Module):
        # linear: the example's LinearEncoder / VariationalLinearEncoder, one GCNConv per head.
        def __init__(self, cin, cout, variational, linear):
            super().__init__()
            self.variational = variational
            self.conv1 = None if linear else GCNConv(cin, 2 * cout)
            width = cin if linear else 2 * cout
            self.conv_mu = GCNConv(width, cout)
            if variational:
                self.conv_logstd = GCNConv(width, cout)

        def forward(self, x, edge_index):
            h = x if self.conv1 is None else self.conv1(x, edge_index).relu()
            if self.variational:
                return self.conv_mu(h, edge_index), self.conv_logstd(h, edge_index)
            return self.conv_mu(h, edge_index)

    variational = model in ("vgae", "linear_vgae")
    encoder = Encoder(x.shape[1], 16, variational, linear=model.startswith("linear"))
    net = (VGAE if variational else GAE)(encoder)
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    start = time.perf_counter()
    for _ in range(epochs):
        net.train()
        opt.zero_grad()
        z = net.encode(x, edge_index)
        value = net.recon_loss(z, train_edges)
        if variational:
            value = value + (1 / n) * net.kl_loss()
        value.backward()
        opt.step()
    seconds = time.perf_counter() - start
    net.eval()
    with torch.no_grad():
        z = net.encode(x, edge_index)
        auc, ap = net.test(z, torch.from_numpy(split.test_pos), torch.from_numpy(split.test_neg))
    return {"seconds": seconds, "auc": float(auc), "ap": float(ap)}


def worker_dense(dataset, model, features, loss, epochs, threads):
    import torch
    import torch.nn.functional as F

    from graphae.experiment import make_estimator
    from graphae.losses import vgae_kl_term
    from graphae.training import GraphTensors

    torch.set_num_threads(threads)
    graph, split = load(dataset, False)
    data = GraphTensors.from_graph(split.train, features=False)
    n = data.num_nodes
    net = make_estimator(model).build_module(n, generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    adj = torch.from_numpy(split.train.adj.toarray())
    labels = adj + torch.eye(n)
    pos = float(adj.sum())
    pos_weight = torch.tensor((n * n - pos) / pos)
    norm = n * n / (2 * (n * n - pos))
    noise = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(epochs):
        opt.zero_grad()
        out = net(None, data.adj, noise)
        value = norm * F.binary_cross_entropy_with_logits(out.z @ out.z.T, labels, pos_weight=pos_weight)
        if out.logstd is not None:
            value = value + vgae_kl_term(out.mu, out.logstd)
        value.backward()
        opt.step()
    seconds = time.perf_counter() - start
    net.eval()
    with torch.no_grad():
        z = net(None, data.adj).mu
    from graphae.metrics import auc_ap

    def s(p):
        return (z[p[0]] * z[p[1]]).sum(1).numpy()

    auc, ap = auc_ap(s(split.test_pos), s(split.test_neg))
    return {"seconds": seconds, "auc": auc, "ap": ap}


WORKERS = {"graphae": worker_graphae, "pyg": worker_pyg, "dense": worker_dense}


def run_worker(argv: list[str]) -> None:
    impl, dataset, model, features, loss, epochs, threads = argv
    result = WORKERS[impl](dataset, model, features == "1", loss, int(epochs), int(threads))
    result["peak_rss_mib"] = peak_rss_mib()
    print(json.dumps(result))


# Driver ------------------------------------------------------------------------
def cases(pubmed_epochs: int, models: tuple[str, ...] = DEFAULT_MODELS) -> list[dict]:
    """Every measurement of the table for ``models`` (Pubmed's exact-loss row only with ``gae``)."""
    models = tuple(m for m in MODELS if m in models)
    out = []
    for dataset in ("cora", "citeseer"):
        for features in (True, False):
            for model in models:
                for impl in ("pyg", "graphae"):
                    out.append(
                        dict(
                            impl=impl,
                            dataset=dataset,
                            model=model,
                            features=features,
                            loss="sampled",
                            epochs=200,
                        )
                    )
        for model in models:
            for impl in ("dense", "graphae"):
                out.append(
                    dict(impl=impl, dataset=dataset, model=model, features=False, loss="exact", epochs=200)
                )
        for model in (m for m in models if m in FEATURED_EXACT):
            out.append(
                dict(impl="graphae", dataset=dataset, model=model, features=True, loss="exact", epochs=200)
            )
    if "gae" in models:
        for impl in ("dense", "graphae"):
            out.append(
                dict(
                    impl=impl,
                    dataset="pubmed",
                    model="gae",
                    features=False,
                    loss="exact",
                    epochs=pubmed_epochs,
                )
            )
    return out


def key_model(k: str) -> str:
    """The model of a result key (see :func:`key`)."""
    return k.split("|")[2]


def key(c: dict) -> str:
    return f"{c['impl']}|{c['dataset']}|{c['model']}|{int(c['features'])}|{c['loss']}|{c['epochs']}"


def measure(c: dict, threads: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        c["impl"],
        c["dataset"],
        c["model"],
        str(int(c["features"])),
        c["loss"],
        str(c["epochs"]),
        str(threads),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{key(c)} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict]) -> dict:
    return {k: statistics.median(r[k] for r in runs) for k in ("seconds", "peak_rss_mib", "auc", "ap")} | {
        "reps": len(runs)
    }


def _dates(results: dict) -> dict[str, list[str]]:
    """The models measured on each date, in table order."""
    out: dict[str, list[str]] = {}
    for model in MODELS:
        for date in sorted({v["date"] for k, v in results.items() if key_model(k) == model}):
            out.setdefault(date, []).append(model)
    return dict(sorted(out.items()))


def _when(results: dict) -> str:
    dates = _dates(results)
    if len(dates) == 1:
        return next(iter(dates))
    return " and ".join(
        f"{date} ({', '.join(LABELS[m] for m in models)} rows)" for date, models in dates.items()
    )


def _commands(results: dict) -> str:
    """One command per date, each with the ``--models`` it ran."""
    out = []
    for models in _dates(results).values():
        flag = "" if tuple(models) == DEFAULT_MODELS else f" --models {','.join(models)}"
        out.append(f"`GRAPHAE_DATA=../shared/data python benchmarks/speed.py{flag}`")
    return " and ".join(out)


def render(results: dict, meta: dict) -> str:
    def get(impl, dataset, model, features, loss, epochs):
        return results.get(
            key(dict(impl=impl, dataset=dataset, model=model, features=features, loss=loss, epochs=epochs))
        )

    lines = [
        f"Measured {_when(results)} on {meta['machine']}; torch {meta['torch']}, torch_geometric "
        f"{meta['pyg']}, {meta['threads']} threads, median of {meta['reps']} interleaved repetitions, "
        f"each in a fresh process. Command: {_commands(results)}.",
        "Seconds are the training loop alone (no evaluation); AUC/AP on the test split of seed 0;",
        "peak RSS is the worker process's maximum resident set (torch itself is about 300 MiB).",
        "",
        "### Sampled loss (one negative per edge), 200 epochs: graphae vs PyTorch Geometric",
        "",
        "| Data set | Model | PyG s | graphae s | speed-up | PyG AUC / AP | graphae AUC / AP | PyG RSS MiB | graphae RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for dataset in ("cora", "citeseer"):
        for features in (True, False):
            for model in MODELS:
                p = get("pyg", dataset, model, features, "sampled", 200)
                g = get("graphae", dataset, model, features, "sampled", 200)
                if not (p and g):
                    continue
                label = LABELS[model] + ("" if features else "*")
                lines.append(
                    f"| {dataset} | {label} | {p['seconds']:.2f} | {g['seconds']:.2f} | "
                    f"{p['seconds'] / g['seconds']:.1f}× | {100 * p['auc']:.1f} / {100 * p['ap']:.1f} | "
                    f"{100 * g['auc']:.1f} / {100 * g['ap']:.1f} | {p['peak_rss_mib']:.0f} | {g['peak_rss_mib']:.0f} |"
                )
    # "GCN" while the exact-loss table holds GCN models only, as before the linear rows.
    linear_rows = any(key_model(k).startswith("linear") and "|0|exact|" in k for k in results)
    encoders = "encoders" if linear_rows else "GCN"
    lines += [
        "",
        f"### Exact (paper) loss over all N² pairs: graphae vs plain dense PyTorch (featureless {encoders})",
        "",
        "| Data set | Model | epochs | dense ms/epoch | graphae ms/epoch | speed-up | dense AUC / AP | graphae AUC / AP | dense RSS MiB | graphae RSS MiB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for dataset, epochs in (("cora", 200), ("citeseer", 200), ("pubmed", meta["pubmed_epochs"])):
        for model in MODELS:
            d = get("dense", dataset, model, False, "exact", epochs)
            g = get("graphae", dataset, model, False, "exact", epochs)
            if not (d and g):
                continue
            dm, gm = 1000 * d["seconds"] / epochs, 1000 * g["seconds"] / epochs
            lines.append(
                f"| {dataset} | {LABELS[model]}* | {epochs} | {dm:.1f} | {gm:.1f} | {dm / gm:.1f}× | "
                f"{100 * d['auc']:.1f} / {100 * d['ap']:.1f} | {100 * g['auc']:.1f} / {100 * g['ap']:.1f} | "
                f"{d['peak_rss_mib']:.0f} | {g['peak_rss_mib']:.0f} |"
            )
    featured = [m for m in FEATURED_EXACT if get("graphae", "cora", m, True, "exact", 200)]
    names = " and ".join(LABELS[m] for m in featured) or LABELS["gae"]
    lines += ["", f"Exact loss with features ({names}, 200 epochs):", ""]
    for model in FEATURED_EXACT:
        for dataset in ("cora", "citeseer"):
            g = get("graphae", dataset, model, True, "exact", 200)
            if g:
                # The GAE lines keep their old form; other models name themselves.
                where = dataset if model == "gae" else f"{dataset}, {LABELS[model]}"
                lines.append(
                    f"- {where}: {g['seconds']:.2f} s for 200 epochs, AUC {100 * g['auc']:.1f}, "
                    f"AP {100 * g['ap']:.1f}, peak RSS {g['peak_rss_mib']:.0f} MiB"
                )
    if meta["pubmed_epochs"] < 200:
        lines += [
            "",
            f"Pubmed timings use {meta['pubmed_epochs']} epochs (the dense baseline needs minutes per "
            "200); its AUC/AP after so few epochs are not meaningful: see the Table 1 reproduction "
            "for 200-epoch quality.",
        ]
    return "\n".join(lines)


def _models(text: str) -> tuple[str, ...]:
    items = tuple(t.strip() for t in text.split(",") if t.strip())
    bad = [t for t in items if t not in MODELS]
    if bad or not items:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {list(MODELS)}; got {text!r}")
    return tuple(m for m in MODELS if m in items)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        run_worker(sys.argv[2:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--pubmed-epochs", type=int, default=10)
    parser.add_argument("--only", help="substring filter on the case key, e.g. 'cora|gae'")
    parser.add_argument(
        "--models",
        type=_models,
        default=DEFAULT_MODELS,
        help=f"comma-separated models of the table, among {','.join(MODELS)} (default: gae,vgae)",
    )
    args = parser.parse_args()
    import torch

    try:
        import torch_geometric

        pyg = torch_geometric.__version__
    except ImportError:
        print('PyTorch Geometric is missing: pip install -e ".[bench]"', file=sys.stderr)
        return 2
    todo = [c for c in cases(args.pubmed_epochs, args.models) if not args.only or args.only in key(c)]
    meta = {
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "torch": torch.__version__,
        "pyg": pyg,
        "threads": args.threads,
        "reps": args.reps,
        "pubmed_epochs": args.pubmed_epochs,
    }
    runs: dict[str, list[dict]] = {}
    for rep in range(args.reps):
        for c in todo:
            r = measure(c, args.threads)
            runs.setdefault(key(c), []).append(r)
            print(
                f"rep {rep + 1}/{args.reps} {key(c)}: {r['seconds']:.3f} s, AUC {100 * r['auc']:.1f}, "
                f"RSS {r['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
        # Saved after every repetition, so an interrupted run keeps what it measured.
        save(runs, meta)
    return 0


def save(runs: dict[str, list[dict]], meta: dict) -> None:
    """Merge the medians of ``runs`` into the results file and rewrite the table."""
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results.update({k: summarise(v) | {"date": meta["date"]} for k, v in runs.items()})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=1))
    replace_section(
        BEGIN, END, render(results, meta), "Speed: graphae vs PyTorch Geometric and dense PyTorch"
    )


if __name__ == "__main__":
    sys.exit(main())
