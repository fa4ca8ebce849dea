"""The model zoo against its papers: ARGA/ARVGA, linear, directed and FastGAE rows of BENCHMARKS.md.

Every row runs ``run_link_prediction`` with seeds 0..R-1 (seed ``s`` gives the split and the
initialisation, so rows of one data set and task share their splits) and the model's own
defaults, which are its paper's settings, except where a row says otherwise (the directed
rows take the per-task settings of deezer/gravity_graph_autoencoders' README). Groups:

- ``arga``: ARGA, ARVGA, GAE, VGAE on Cora and Citeseer with features.
- ``linear``: linear GAE/VGAE on Cora and Citeseer with features and on Pubmed without.
- ``directed``: gravity and source/target GAE/VGAE and the symmetric GAE on ``cora.cites``
  (edges reversed to point citing -> cited, as the paper's code does) for the three tasks.
- ``fastgae``: GAE on Pubmed without features, exact loss against FastGAE (200 epochs).

Usage::

    GRAPHAE_DATA=../shared/data python benchmarks/zoo.py [--only arga,linear,directed,fastgae]
        [--datasets cora,citeseer,pubmed,cora.cites] [--runs 10] [--pubmed-runs 10] [--device cpu] [--resume]

Results are merged into ``benchmarks/results/zoo.json`` by row (re-running one group keeps
the others) and the table in BENCHMARKS.md is rewritten between its markers from all of them.
``--epochs-scale 0.05 --runs 1`` is a smoke test (its rows say how many epochs ran).
``--resume`` extends a row's earlier runs on seeds 0..k-1 to seeds 0..R-1 when they ran with the
same settings, device and thread count (Pubmed's exact-loss rows take minutes per run); the
"vs graphae GAE" column compares over the seeds both rows ran.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from _common import machine, replace_section
from graphae.data import load_dataset, load_graph
from graphae.experiment import make_estimator, resolve_device, run_link_prediction

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "zoo.json"
BEGIN, END = "<!-- zoo:begin -->", "<!-- zoo:end -->"
GROUPS = ("arga", "linear", "directed", "fastgae")
TASKS = ("general", "biased", "bidirectional")
DATASETS = ("cora", "citeseer", "pubmed", "cora.cites")
DIRECTED_FILE = "directed/cora.cites"
# Validation pairs held out per task: the gravity code holds out none for tasks 2 and 3.
VAL_RATIO = {"general": 0.05, "biased": 0.0, "bidirectional": 0.0}


@dataclass(frozen=True)
class Row:
    """One table row: a model with its settings on a data set (and task)."""

    group: str
    model: str
    dataset: str
    features: bool = True
    task: str = "general"
    params: dict = field(default_factory=dict)
    label: str = ""  # a variant's name when a model appears twice (FastGAE sizes)

    @property
    def name(self) -> str:
        data = self.dataset + ("" if self.features else "*")
        return "/".join(p for p in (self.group, self.model, data, self.task, self.label) if p)

    @property
    def baseline(self) -> str | None:
        """Name of the graphae GAE/VGAE row run on the same splits, to compare with."""
        if self.model in ("gae", "vgae"):
            return None
        if self.group == "directed":
            return Row("directed", "gae", self.dataset, self.features, self.task).name
        if self.dataset == "pubmed":
            return Row("fastgae", "gae", "pubmed", False, label="exact").name
        base = "vgae" if self.model in ("arvga", "linear_vgae") else "gae"
        return Row("arga", base, self.dataset, self.features).name


def _rows() -> list[Row]:
    rows = [
        Row("arga", model, data)
        for data in ("cora", "citeseer")
        for model in ("gae", "vgae", "arga", "arvga")
    ]
    rows += [
        Row("linear", model, data) for data in ("cora", "citeseer") for model in ("linear_gae", "linear_vgae")
    ]
    rows += [Row("linear", model, "pubmed", False) for model in ("linear_gae", "linear_vgae")]
    # Settings of the README of deezer/gravity_graph_autoencoders for Cora, per task. The
    # symmetric GAE keeps graphae's (Kipf & Welling's) settings: at the gravity code's lr 0.1
    # its ReLUs all die within two epochs and every score is 0.5 (see BENCHMARKS.md).
    biased = {
        "gravity_gae": {"gravity_lambda": 0.05, "gravity_normalize": True},
        "gravity_vgae": {"gravity_lambda": 0.05},
        "source_target_gae": {"out_channels": 64},
    }
    for task in TASKS:
        for model in ("gravity_gae", "gravity_vgae", "source_target_gae", "source_target_vgae", "gae"):
            params = biased.get(model, {}) if task == "biased" else {}
            rows.append(Row("directed", model, "cora.cites", True, task, params))
    rows.append(Row("fastgae", "gae", "pubmed", False, label="exact"))
    for nodes in (5000, 1000):
        params = {"loss": "fastgae", "fastgae_nodes": nodes, "fastgae_alpha": 1.0}
        rows.append(Row("fastgae", "gae", "pubmed", False, params=params, label=f"fastgae-{nodes}"))
    return rows


ROWS = _rows()

# Where the papers' numbers come from: a short tag in the table, the full reference below it.
SOURCES = {
    "K16": "Kipf & Welling 2016 (arXiv 1611.07308), Table 1.",
    "P18": "Pan et al., IJCAI 2018 (arXiv 1802.04407), link-prediction table: ARGA as quoted in issue 8 "
    "(the Citeseer pair, 91.9 / 93, also in the Papers-with-Code archive entry of the paper, "
    "paperswithcode2.com/paper/10404); the table itself could not be read here, so ARVGA's rows have "
    'no paper figure (what was searched: "The papers\' tables" below).',
    "S20": "Salha et al., ECML-PKDD 2020 (arXiv 2001.07614), link-prediction tables: not readable here "
    '(what was searched, and an unconfirmed secondary figure: "The papers\' tables" below).',
    "S19": "Salha et al., CIKM 2019 (arXiv 1905.09570), Cora table: not readable here (what was searched: "
    '"The papers\' tables" below).',
    "S21": "Salha et al., Neural Networks 2021 (arXiv 2002.01910), Table 2 (Pubmed), read from the image "
    "of it in deezer/fastgae's README; times are the paper's machine's, only ratios compare.",
}
# The papers' numbers, (AUC, AP, train seconds or None, source tag), by row name. Only
# numbers read in the source named are here; every other row says "not found" in the table.
PAPER: dict[str, tuple[float, float, float | None, str]] = {
    "arga/gae/cora/general": (91.0, 92.0, None, "K16"),
    "arga/vgae/cora/general": (91.4, 92.6, None, "K16"),
    "arga/gae/citeseer/general": (89.5, 89.9, None, "K16"),
    "arga/vgae/citeseer/general": (90.8, 92.0, None, "K16"),
    "arga/arga/cora/general": (92.4, 93.2, None, "P18"),
    "arga/arga/citeseer/general": (91.9, 93.0, None, "P18"),
    # Standard Graph AE 82.51 ± 0.64 / 87.42 ± 0.38 in 811.43 s; FastGAE, degree sampling
    # alpha = 1: 5,000 nodes 84.82 ± 0.32 / 88.19 ± 0.23 in 14.42 s (x 56.27);
    # 1,000 nodes 83.53 ± 0.41 / 86.12 ± 0.32 in 3.15 s (x 257.60).
    "fastgae/gae/pubmed*/general/exact": (82.51, 87.42, 811.43, "S21"),
    "fastgae/gae/pubmed*/general/fastgae-5000": (84.82, 88.19, 14.42, "S21"),
    "fastgae/gae/pubmed*/general/fastgae-1000": (83.53, 86.12, 3.15, "S21"),
}
# The paper a row without numbers was looked up in.
LOOKED_UP = {"arga": "P18", "linear": "S20", "directed": "S19"}


def load(row: Row, cache: dict) -> object:
    """The row's graph (cached by data set and features)."""
    key = (row.dataset, row.features)
    if key not in cache:
        if row.dataset == "cora.cites":
            path = Path(os.environ.get("GRAPHAE_DATA", "../shared/data")) / DIRECTED_FILE
            cache[key] = load_graph(path, directed=True, reverse=True)
        else:
            cache[key] = load_dataset(row.dataset, features=row.features)
    return cache[key]


def _estimator(row: Row, device: str, epochs_scale: float):
    """The row's estimator: the model's defaults, the row's settings, its epochs scaled."""
    est = make_estimator(row.model, **row.params, use_features=row.features, device=device)
    return est.set_params(epochs=max(1, round(est.epochs * epochs_scale)))


def run(
    row: Row, graph: object, runs: int, device: str, epochs_scale: float, before: dict | None = None
) -> dict:
    """Seeds 0..runs-1 of ``row``; with ``before`` (an earlier result of the same settings on
    seeds 0..k-1) only seeds k..runs-1 run and are appended to it."""
    est = _estimator(row, device, epochs_scale)
    auc, ap, seconds = [], [], []
    if before is not None:
        auc, ap, seconds = (list(before[k][:runs]) for k in ("test_auc", "test_ap", "train_seconds"))
    for seed in range(len(auc), runs):
        result = run_link_prediction(
            graph, est, seed=seed, task=row.task, val_ratio=VAL_RATIO[row.task], ranking_negatives=0
        )
        auc.append(result.test_auc)
        ap.append(result.test_ap)
        seconds.append(result.train_seconds)
        print(
            f"{row.name} seed {seed}: AUC {100 * auc[-1]:.1f} AP {100 * ap[-1]:.1f} {seconds[-1]:.1f}s",
            flush=True,
        )
    today = dt.date.today().isoformat()
    dates = sorted({*(before.get("dates") or [before["date"]]), today} if before else {today})
    resolved = resolve_device(device)
    where = str(resolved) + (f" ({torch.cuda.get_device_name(resolved)})" if resolved.type == "cuda" else "")
    return {
        "group": row.group,
        "model": row.model,
        "dataset": row.dataset,
        "features": row.features,
        "task": row.task,
        "label": row.label,
        "val_ratio": VAL_RATIO[row.task],
        "params": _plain(est.get_params()),
        "runs": runs,
        "seeds": list(range(runs)),
        "device": where,
        "threads": torch.get_num_threads(),
        "test_auc": auc,
        "test_ap": ap,
        "train_seconds": seconds,
        "date": today,
        "dates": dates,
        "machine": machine(),
        "torch": torch.__version__,
    }


def _pct(values: list[float]) -> str:
    arr = 100 * np.asarray(values)
    return f"{arr.mean():.1f} ± {arr.std():.1f}"


def _mean(values: list[float], scale: float = 100.0) -> float:
    return scale * float(np.mean(values))


def settings(r: dict) -> str:
    """The settings that ran, compactly: widths, lr, epochs, and the row's own overrides."""
    p = r["params"]
    width = (
        f"{p['out_channels']}"
        if r["model"].startswith("linear")
        else f"{p['hidden_channels']}-{p['out_channels']}"
    )
    parts = [width, f"lr {p['lr']:g}", f"{p['epochs']} ep"]
    if p.get("loss") == "fastgae":
        parts.append(f"FastGAE n {p['fastgae_nodes']}, α {p['fastgae_alpha']:g}")
    elif p.get("loss", "exact") != "exact":
        parts.append(f"{p['loss']} loss")
    if r["model"].startswith("gravity"):
        parts.append(f"λ {p['gravity_lambda']:g}" + (", normalized" if p["gravity_normalize"] else ""))
    if r["model"] in ("arga", "arvga"):
        parts.append(f"disc. lr {p['discriminator_lr']:g}")
    return ", ".join(parts)


def _paper_cells(row: Row, r: dict) -> list[str]:
    if row.name in PAPER:
        p_auc, p_ap, _, source = PAPER[row.name]
        auc, ap = _mean(r["test_auc"]), _mean(r["test_ap"])
        return [f"{p_auc:.1f}", f"{p_ap:.1f}", f"{auc - p_auc:+.1f}", f"{ap - p_ap:+.1f}", source]
    return ["–", "–", "–", "–", f"not found ({LOOKED_UP[row.group]})"]


def _versus_gae(row: Row, results: dict) -> str:
    """Mean AUC difference with the baseline row over the seeds both ran (the same splits)."""
    base = results.get(row.baseline or "")
    if base is None:
        return "–"
    mine = results[row.name]
    n = min(len(mine["test_auc"]), len(base["test_auc"]))
    if mine["seeds"][:n] != base["seeds"][:n]:
        return "–"
    gap = _mean(mine["test_auc"][:n]) - _mean(base["test_auc"][:n])
    seeds = "" if n == len(mine["test_auc"]) else f", seeds 0–{n - 1}"
    return f"{gap:+.1f} ({base['model'].upper()}{seeds})"


def render_models(rows: list[Row], results: dict) -> list[str]:
    lines = [
        "| Model | Data set | Task | Settings | AUC | AP | train s/run | device | runs | Paper AUC | "
        "Paper AP | Δ AUC | Δ AP | Source | Δ AUC vs graphae GAE, same splits |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        r = results[row.name]
        data = row.dataset + ("" if row.features else "*")
        cells = [
            row.model,
            data,
            row.task,
            settings(r),
            _pct(r["test_auc"]),
            _pct(r["test_ap"]),
            f"{_mean(r['train_seconds'], 1.0):.2f}",
            r["device"],
            str(r["runs"]),
            *_paper_cells(row, r),
            _versus_gae(row, results),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def render_fastgae(rows: list[Row], results: dict) -> list[str]:
    exact = results.get(Row("fastgae", "gae", "pubmed", False, label="exact").name)
    lines = [
        "| Loss | Settings | AUC | AP | Δ AUC vs exact | train s/run | speed-up | device | runs | Paper AUC | Paper AP | "
        "Paper s/run | Paper speed-up | Source |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    paper_exact = PAPER["fastgae/gae/pubmed*/general/exact"][2]
    for row in rows:
        r = results[row.name]
        secs = _mean(r["train_seconds"], 1.0)
        same = exact is not None and exact["device"] == r["device"]
        speedup = (
            f"× {_mean(exact['train_seconds'], 1.0) / secs:.1f}" if same and row.label != "exact" else "–"
        )
        p_auc, p_ap, p_secs, source = PAPER[row.name]
        p_speedup = f"× {paper_exact / p_secs:.1f}" if row.label != "exact" else "–"
        gap = "–"
        if exact is not None and row.label != "exact" and exact["runs"] == r["runs"]:
            gap = f"{_mean(r['test_auc']) - _mean(exact['test_auc']):+.1f}"
        cells = [row.label, settings(r), _pct(r["test_auc"]), _pct(r["test_ap"]), gap, f"{secs:.2f}", speedup]
        cells += [
            r["device"],
            str(r["runs"]),
            f"{p_auc:.2f}",
            f"{p_ap:.2f}",
            f"{p_secs:.2f}",
            p_speedup,
            source,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


HEADINGS = {
    "arga": "Adversarial: ARGA and ARVGA beside GAE and VGAE (with features)",
    "linear": "Linear GAE and VGAE (Cora, Citeseer with features; Pubmed structure only)",
    "directed": "Directed: `cora.cites`, edges citing → cited, the three tasks of Salha et al. (2019)",
    "fastgae": "FastGAE against the exact loss: GAE on Pubmed, structure only, 200 epochs",
}


def render(results: dict) -> str:
    lines = [
        "Command: `GRAPHAE_DATA=../shared/data python benchmarks/zoo.py` (groups can be run apart "
        "with `--only`; rows merge in `benchmarks/results/zoo.json`). Each row: `run_link_prediction` "
        "with seeds 0..R-1 (split 85/5/10, the test split scored once; the biased and bidirectional "
        "tasks hold out no validation pairs, as the gravity code), the model's defaults unless its "
        "settings say otherwise, the exact loss over all pairs unless FastGAE. Percent, mean ± std "
        "over runs; 'train s/run' is the training loop alone. '*': no node features. 'Δ AUC vs "
        "graphae GAE' compares with graphae's GAE (VGAE for variational rows) on the same splits. "
        "Dates, machines and torch versions of each row are in `benchmarks/results/zoo.json`.",
    ]
    for group in GROUPS:
        rows = [row for row in ROWS if row.group == group and row.name in results]
        if not rows:
            continue
        lines += ["", f"**{HEADINGS[group]}**", ""]
        lines += render_fastgae(rows, results) if group == "fastgae" else render_models(rows, results)
        used = dict.fromkeys(PAPER[row.name][3] if row.name in PAPER else LOOKED_UP[group] for row in rows)
        lines += [""] + [
            f"{tag}: {SOURCES[tag]}" + ("  " if i < len(used) - 1 else "") for i, tag in enumerate(used)
        ]
    dates = sorted({r["date"] for r in results.values()})
    machines = sorted({r["machine"] for r in results.values()})
    lines += ["", f"Measured {', '.join(dates)} on {'; '.join(machines)}."]
    return "\n".join(lines)


def _resumable(before: dict | None, row: Row, device: str, epochs_scale: float) -> dict | None:
    """``before`` if its runs can be extended: the same settings, device and threads, on seeds
    0..k-1. A parameter added to the estimators after the earlier runs must be at its default."""
    if before is None:
        return None
    now = _plain(_estimator(row, device, epochs_scale).get_params())
    defaults = _plain(make_estimator(row.model).get_params())
    same = (
        set(before["params"]) <= set(now)
        and all(now[k] == before["params"].get(k, defaults[k]) for k in now)
        and before["seeds"] == list(range(len(before["seeds"])))
        and before["device"].split(" ")[0] == str(resolve_device(device))
        and before["threads"] == torch.get_num_threads()
    )
    if not same:
        print(
            f"{row.name}: earlier runs differ (settings, device or threads); running every seed", flush=True
        )
        return None
    return before


def _plain(params: dict) -> dict:
    """Parameters as the results file holds them (JSON values, without seed and verbosity)."""
    return json.loads(json.dumps({k: v for k, v in params.items() if k not in ("random_state", "verbose")}))


def _csv(choices: tuple[str, ...]):
    def parse(text: str) -> list[str]:
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(
                f"expected a comma-separated subset of {list(choices)}; got {text!r}"
            )
        return items

    return parse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", type=_csv(GROUPS), default=list(GROUPS), help="groups to run (default: all)"
    )
    parser.add_argument("--datasets", type=_csv(DATASETS), default=list(DATASETS), help="data sets to run")
    parser.add_argument("--runs", type=int, default=10, help="runs per row (seeds 0..R-1), except Pubmed")
    parser.add_argument(
        "--pubmed-runs",
        type=int,
        default=10,
        help="runs per Pubmed row (each exact-loss run: ~4 min on 2 CPU threads)",
    )
    parser.add_argument(
        "--device", default="cpu", help="device of the Pubmed rows (e.g. cuda); others run on the CPU"
    )
    parser.add_argument(
        "--tasks",
        type=_csv(TASKS),
        default=list(TASKS),
        help="directed tasks to run (default: all); the rows of several processes merge by hand",
    )
    parser.add_argument(
        "--epochs-scale", type=float, default=1.0, help="multiply every model's epochs (smoke tests)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep a row's earlier runs of the same settings and run only the seeds it lacks",
    )
    args = parser.parse_args(argv)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    cache: dict = {}
    for row in ROWS:
        if row.group not in args.only or row.dataset not in args.datasets or row.task not in args.tasks:
            continue
        pubmed = row.dataset == "pubmed"
        start = time.perf_counter()
        runs = args.pubmed_runs if pubmed else args.runs
        device = args.device if pubmed else "cpu"
        before = _resumable(results.get(row.name), row, device, args.epochs_scale) if args.resume else None
        results[row.name] = run(row, load(row, cache), runs, device, args.epochs_scale, before)
        print(f"{row.name}: {time.perf_counter() - start:.0f}s", flush=True)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1))
    replace_section(BEGIN, END, render(results), "Model zoo")
    return 0


if __name__ == "__main__":
    sys.exit(main())
