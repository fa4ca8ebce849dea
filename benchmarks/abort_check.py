"""Count the runs that abort at exit (apache/arrow#34314) in fresh processes.

torch in the same process as pyarrow's threaded CSV reader made an exit abort now and
then (``terminate called without an active exception``, exit 134) after correct output.
graphae reads edge lists with ``use_threads=False`` (``arrow_edges.csv_read_options``).
Each case below is run ``--runs`` times, each in a new interpreter, and the non-zero
exits are counted; a count, not a timing.

- ``minimal``: torch imported, one small CSV read with graphae's reader options;
- ``minimal-threaded``: the same with pyarrow's default (threaded) options, the old code;
- ``reader``: torch imported, ``graphae.data.load_graph`` of a 3-column CSV;
- ``train``: ``graphae train --edges e.csv --epochs 1`` on a 3-column CSV.

    PYTHONPATH=src python benchmarks/abort_check.py --case train --runs 100
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

_READ = (
    "import torch, pyarrow as pa, pyarrow.csv as c; c.read_csv(pa.BufferReader(b'1,2\\n3,4\\n'), {options})"
)
CASES = {
    "minimal": _READ.format(
        options="read_options=__import__('graphae.data.arrow_edges').data.arrow_edges.csv_read_options(c, ['a', 'b'])"
    ),
    "minimal-threaded": _READ.format(options="read_options=c.ReadOptions(column_names=['a', 'b'])"),
    "reader": "import torch; from graphae.data import load_graph; load_graph({edges!r})",
}


def _edges(folder: Path) -> Path:
    """A 3-column CSV of 40 nodes (a header, source,target,weight), written once."""
    path = folder / "e.csv"
    rows = [f"{i},{(i * 7 + 3) % 40},{1 + i % 3}" for i in range(40)]
    rows += [f"{i},{(i + 1) % 40},1" for i in range(40)]
    path.write_text("source,target,weight\n" + "\n".join(rows) + "\n")
    return path


def _command(case: str, folder: Path, edges: Path, run: int) -> list[str]:
    if case == "train":
        out = folder / f"run-{run}"
        return [sys.executable, "-m", "graphae", "train", "--edges", str(edges), "--epochs", "1",
                "--quiet", "--out", str(out)]  # fmt: skip
    return [sys.executable, "-c", CASES[case].format(edges=str(edges))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=[*CASES, "train"], default="train")
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    codes: collections.Counter[int] = collections.Counter()
    messages: collections.Counter[str] = collections.Counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        edges = _edges(folder)
        for run in range(args.runs):
            done = subprocess.run(_command(args.case, folder, edges, run), capture_output=True, text=True)
            codes[done.returncode] += 1
            if done.returncode:
                messages[(done.stderr.strip().splitlines() or [""])[-1]] += 1
    failed = args.runs - codes[0]
    print(
        f"{args.case}: {failed} of {args.runs} runs exited non-zero; exit codes {dict(sorted(codes.items()))}"
    )
    for message, count in messages.most_common():
        print(f"  {count} x {message}")


if __name__ == "__main__":
    main()
