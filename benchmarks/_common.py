"""Shared by the benchmark scripts: machine facts, results files and BENCHMARKS.md sections."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def machine() -> str:
    """CPU model and core count, e.g. ``"AMD EPYC 9B14, 2 cores"``."""
    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} cores"


def replace_section(begin: str, end: str, body: str, heading: str) -> None:
    """Put ``begin + body + end`` into BENCHMARKS.md, replacing the old section or appending one."""
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    block = f"{begin}\n{body}\n{end}"
    if begin in text:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip() + f"\n\n## {heading}\n\n{block}\n"
    # Write then rename: a benchmark killed by a time limit mid-write must not leave a truncated file.
    tmp = BENCHMARKS.with_name(f".{BENCHMARKS.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, BENCHMARKS)


def write_results(results: Path, rows: list[dict], body: str, begin: str, end: str, heading: str) -> None:
    """Save ``rows`` as the JSON file ``results`` (with the date and the machine), ``body`` as a BENCHMARKS.md section."""
    results.parent.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    results.write_text(json.dumps({"date": stamp, "machine": machine(), "rows": rows}, indent=1) + "\n")
    replace_section(begin, end, body, heading)


def run_graphae(cmd: list[str]) -> tuple[dict, list[dict], float]:
    """Run ``cmd`` (``["graphae", ...]``, without ``--out``) through this interpreter's graphae,
    whether or not its environment is activated; its metrics.json, history.json and wall seconds."""
    print(" ".join(cmd), flush=True)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", *cmd, "--out", out], check=True)
        wall = time.perf_counter() - start
        metrics = json.loads((Path(out) / "metrics.json").read_text())
        history_file = Path(out) / "history.json"
        history = json.loads(history_file.read_text()) if history_file.is_file() else []
    return metrics, history, wall
